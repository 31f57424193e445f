"""The model's science against published findings.

Each test runs scenarios through the public API (``neurobone.run_scenario`` with a
mapping) and checks a direction or a range taken from the source named in its
docstring. None is true by construction: each compares two simulated subjects, or one
subject against a published range. The scenarios of a group run once per module
(module-scoped fixtures); the kernels are compiled once per species and cached
(``NEUROBONE_CACHE``).
"""

from __future__ import annotations

import math

import pytest

import neurobone as nb

#: days in a mean month and year
MONTH = 365.25 / 12
YEAR = 365.25
#: weeks in a mean month (mouse ages are given in weeks)
WEEKS_PER_MONTH = MONTH / 7

#: the article's running protocol (examples/mouse_treadmill.yaml; targets MC2)
TREADMILL = {"modality": "treadmill", "speed_m_per_min": 12, "minutes": 45,
             "days_per_week": 5, "start_day": 0, "end_day": 56}


def mouse(age_weeks: float = 12, days: float = 56, exercise=(), interventions=(),
          outputs=("bv_tv", "connectivity", "sympathetic_tone")) -> dict:
    """A sedentary (or exercising) female C57BL/6J mouse scenario."""
    return {"species": "mouse", "subject": {"sex": "female", "age_weeks": age_weeks},
            "duration_days": days, "exercise": list(exercise),
            "interventions": list(interventions), "outputs": list(outputs)}


def woman(subject: dict, days: float, exercise=(), interventions=(),
          outputs=("abmd_ls", "abmd_th", "abmd_fn")) -> dict:
    """A woman's scenario."""
    return {"species": "human", "subject": {"sex": "female", **subject},
            "duration_days": days, "exercise": list(exercise),
            "interventions": list(interventions), "outputs": list(outputs)}


def run(scenario: dict):
    return nb.run_scenario(scenario)


def pct(a: float, b: float) -> float:
    """Percent difference of ``a`` from ``b``."""
    return 100.0 * (a / b - 1.0)


# =============================================================== mice, 8 weeks from 12 weeks
@pytest.fixture(scope="module")
def mice8w():
    """12-week-old female mice over 8 weeks: sedentary, running, sensory denervation,
    running + denervation, circuit inhibition and activation without running."""
    den = [{"kind": "sensory_denervation", "start_day": 0}]
    return {
        "sedentary": run(mouse()),
        "running": run(mouse(exercise=[TREADMILL])),
        "denervated": run(mouse(interventions=den)),
        "running+denervated": run(mouse(exercise=[TREADMILL], interventions=den)),
        "inhibition": run(mouse(interventions=[{"kind": "circuit_inhibition", "start_day": 0}])),
        "activation": run(mouse(interventions=[{"kind": "circuit_activation", "start_day": 0}])),
    }


def at(res, output: str, day: float) -> float:
    return float(res.at(day)[output])


# ---------------------------------------------------------------- (1) sensory denervation
@pytest.mark.parametrize("day", [28, 56])
def test_sensory_denervation_lowers_bv_tv_in_sedentary_mice(mice8w, day):
    """Chen et al. 2019, Nat Commun 10:181 (doi 10.1038/s41467-018-08097-7): ablating
    the skeleton's sensory nerves (the PGE2/EP4 afferent) erodes trabecular bone in adult
    mice without any exercise. After 4 and 8 weeks, a denervated sedentary mouse has a
    lower trabecular BV/TV than an intact sedentary one."""
    den = at(mice8w["denervated"], "bv_tv", day)
    sed = at(mice8w["sedentary"], "bv_tv", day)
    assert den < sed, (f"day {day}: denervated {den:.4g} vs intact {sed:.4g} "
                       f"({pct(den, sed):+.2f} %)")


def test_sensory_denervation_raises_sympathetic_tone(mice8w):
    """Chen et al. 2019, Nat Commun 10:181 (doi 10.1038/s41467-018-08097-7): sympathetic
    tone is raised in sensory-denervation models (and propranolol rescues the loss).
    At 8 weeks the denervated sedentary mouse has the higher sympathetic tone."""
    den = at(mice8w["denervated"], "sympathetic_tone", 56)
    sed = at(mice8w["sedentary"], "sympathetic_tone", 56)
    assert den > sed, f"denervated {den:.4g} vs intact {sed:.4g}"


def test_sensory_denervation_blunts_the_running_gain(mice8w):
    """Chen et al. 2019, Nat Commun 10:181 (doi 10.1038/s41467-018-08097-7), and Gao et
    al. 2024, Bone Res (doi 10.1038/s41413-024-00316-w): the sensory PGE2/EP4 signal
    carries part of the skeleton's response to load (sensory EP4 or TrkA knock-out
    blunts load-induced formation). The BV/TV gain of 8 weeks of running over a
    sedentary twin is smaller in denervated mice (running+denervation vs denervation)
    than in intact mice (running vs sedentary)."""
    intact = at(mice8w["running"], "bv_tv", 56) - at(mice8w["sedentary"], "bv_tv", 56)
    denerv = at(mice8w["running+denervated"], "bv_tv", 56) - at(mice8w["denervated"], "bv_tv", 56)
    assert intact > 0, f"running gain in intact mice {intact:.4g} (should be a gain)"
    assert denerv < intact, f"running gain: denervated {denerv:.4g} vs intact {intact:.4g}"


# ---------------------------------------------------------------- (2) the circuit at rest
def test_circuit_inhibition_at_rest_lowers_bv_tv(mice8w):
    """Chen et al. 2019, Nat Commun 10:181 (doi 10.1038/s41467-018-08097-7): the skeletal
    interoceptive loop runs without exercise (a bone-density sensor; removing its
    afferent lowers bone mass in sedentary adults); the article's circuit is its central
    relay, lowering sympathetic outflow (docs/evidence.md, section e). So silencing the
    circuit in a sedentary mouse must change BV/TV, in the direction of denervation
    (more sympathetic tone, less bone): at 8 weeks at least 1 % below the intact
    sedentary mouse (1 %: well above solver noise, below what micro-CT resolves)."""
    inh = at(mice8w["inhibition"], "bv_tv", 56)
    sed = at(mice8w["sedentary"], "bv_tv", 56)
    assert inh < 0.99 * sed, f"inhibited {inh:.4g} vs sedentary {sed:.4g} ({pct(inh, sed):+.2f} %)"


def test_circuit_activation_at_rest_raises_bv_tv(mice8w):
    """The seed article (../shared/seed/article.txt; calibration row MC4): activating the
    circuit that lowers sympathetic outflow mimics the exercise signal, so daily
    chemogenetic activation without running raises trabecular BV/TV over 8 weeks
    compared with a sedentary mouse."""
    act = at(mice8w["activation"], "bv_tv", 56)
    sed = at(mice8w["sedentary"], "bv_tv", 56)
    assert act > sed, f"activated {act:.4g} vs sedentary {sed:.4g} ({pct(act, sed):+.2f} %)"


# ============================================================ (3) site differences by modality
#: 12-month programmes in a postmenopausal woman of 60 (the calibration scenarios
#: human_*.yaml: HC4 walking, HC5 swimming, E30 resistance)
PROGRAMMES = {
    "swimming": {"modality": "swimming", "intensity_0_1": 0.6, "minutes": 45, "days_per_week": 3},
    "jumping": {"modality": "jumping", "jumps_per_session": 50, "minutes": 10, "days_per_week": 3},
    "resistance": {"modality": "resistance", "percent_1rm": 75, "minutes": 45, "days_per_week": 3},
    "walking": {"modality": "walking", "speed_km_per_h": 6, "minutes": 30, "days_per_week": 5},
}
SITES = ("abmd_ls", "abmd_th", "abmd_fn")


@pytest.fixture(scope="module")
def women12m():
    """Percent change over 12 months of spine, total hip and femoral neck aBMD in a
    postmenopausal woman of 60: control and each programme."""
    subject = {"age_years": 60}
    out = {"control": run(woman(subject, YEAR))}
    for name, block in PROGRAMMES.items():
        out[name] = run(woman(subject, YEAR, exercise=[block]))
    return {k: {s: r.change(s) for s in SITES} for k, r in out.items()}


@pytest.fixture(scope="module")
def liftmor():
    """LIFTMOR (examples/human_liftmor.yaml): a woman of 65 with T-score -2.0, 8 months
    of high-intensity resistance and impact training twice a week, and her control."""
    subject = {"age_years": 65, "t_score": -2.0}
    block = {"modality": "hiit_resistance_impact", "percent_1rm": 85, "minutes": 30,
             "days_per_week": 2}
    res = {"control": run(woman(subject, 243)),
           "liftmor": run(woman(subject, 243, exercise=[block]))}
    return {k: {s: r.change(s) for s in SITES} for k, r in res.items()}


def gain(changes: dict, arm: str, site: str, control: str = "control") -> float:
    """Percentage points of ``arm`` over ``control`` at ``site``."""
    return changes[arm][site] - changes[control][site]


@pytest.mark.parametrize("programme", ["jumping", "resistance"])
@pytest.mark.parametrize("site", ["abmd_th", "abmd_fn"])
def test_impact_or_resistance_beats_swimming_at_the_hip(women12m, programme, site):
    """modalities.csv: jumping landings 3-5 BW (Bassey & Ramsdale 1994, Osteoporos Int
    4:72; Bassey et al. 1998, J Bone Miner Res 13:1805), resistance at 70-85 % 1RM ~1.5-2
    BW-equivalent (Kohrt et al. 2004, Med Sci Sports Exerc 36:1985), swimming ~0.1 BW
    (buoyancy; Gomez-Bruton et al. 2013, PLoS One 8:e70119, doi
    10.1371/journal.pone.0070119). Howe et al. 2011 (Cochrane CD000333, doi
    10.1002/14651858.CD000333.pub2): leg resistance training raises femoral-neck aBMD
    (+1.03 % vs control). Over 12 months the jumping and the resistance programme each
    change hip aBMD more than swimming does."""
    ours, swim = women12m[programme][site], women12m["swimming"][site]
    assert ours > swim, f"{site}: {programme} {ours:+.3f} % vs swimming {swim:+.3f} %"


@pytest.mark.parametrize("site", SITES)
def test_swimming_changes_abmd_no_more_than_control(women12m, site):
    """Gomez-Bruton et al. 2013, PLoS One 8:e70119 (doi 10.1371/journal.pone.0070119):
    swimmers' BMD is no higher than sedentary people's (non-weight-bearing); calibration
    row HC5 (lap swimming 45 min 3 days/week, 12 months: -0.5..+0.5 percentage points).
    At spine, total hip and femoral neck, |swimming - control| < 0.5 percentage points."""
    d = gain(women12m, "swimming", site)
    assert abs(d) < 0.5, f"{site}: swimming - control = {d:+.3f} percentage points"


@pytest.mark.xfail(strict=True, reason=(
    "known limitation (docs/calibration.md): the spine is more trabecular than the femoral neck, "
    "so for the same cell-level response its percent change is larger whatever the site load; "
    "walking's hip-first pattern is not reproduced. strict: a fix makes this test fail until "
    "the mark is removed"))
def test_site_order_differs_between_walking_and_liftmor(women12m, liftmor):
    """Walking acts at the hip, not the spine: Ma, Wu & He 2013, Menopause 20:1216 (doi
    10.1097/GME.0000000000000100: femoral neck +0.01 g/cm2 significant in trials over 6
    months, lumbar spine not significant) and Martyn-St James & Carroll 2008, Bone
    43:521 (cited in modalities.csv: walking barely changes spine aBMD). High-intensity
    resistance + impact acts most at the spine: Watson et al. 2018 (LIFTMOR), J Bone
    Miner Res 33:211 (doi 10.1002/jbmr.3284): spine +4.1, femoral neck +2.2 percentage
    points vs control. So the order of the sites differs between the two programmes:
    walking's femoral-neck gain over control exceeds its spine gain, LIFTMOR's spine gain
    exceeds its femoral-neck gain."""
    w_ls, w_fn = gain(women12m, "walking", "abmd_ls"), gain(women12m, "walking", "abmd_fn")
    l_ls, l_fn = gain(liftmor, "liftmor", "abmd_ls"), gain(liftmor, "liftmor", "abmd_fn")
    msg = (f"walking: spine {w_ls:+.3f}, FN {w_fn:+.3f} pp; "
           f"LIFTMOR: spine {l_ls:+.3f}, FN {l_fn:+.3f} pp")
    assert l_ls > l_fn, msg
    assert w_fn > w_ls, msg


@pytest.mark.parametrize("hip", ["abmd_th", "abmd_fn"])
def test_jumping_favours_the_hip_more_than_resistance(women12m, hip):
    """modalities.csv site loads: jumping loads the hip fully and the spine half
    (site_ap 1.0, site_ax 0.5; 'jumping programmes change hip more than spine aBMD'),
    resistance the spine fully and the hip at 0.7 ('squats, deadlifts and presses load
    the spine through muscle and axial compression'). Whatever the sizes of the two
    programmes' effects, the hip's share relative to the spine's, (hip gain)/(spine gain)
    over control, is larger for jumping than for resistance."""
    ratios = {}
    for p in ("jumping", "resistance"):
        ls, h = gain(women12m, p, "abmd_ls"), gain(women12m, p, hip)
        assert ls > 0, f"{p}: spine gain {ls:+.3f} pp (should be a gain)"
        ratios[p] = h / ls
    assert ratios["jumping"] > ratios["resistance"], (
        f"{hip}/spine gain ratio: jumping {ratios['jumping']:.3f}, "
        f"resistance {ratios['resistance']:.3f}")


# ============================================================================ (4) beta-blockers
KHOSLA_ARMS = {"propranolol 40": ("propranolol", 40.0), "propranolol 80": ("propranolol", 80.0),
               "atenolol 50": ("atenolol", 50.0), "nebivolol 5": ("nebivolol", 5.0)}


@pytest.fixture(scope="module")
def khosla():
    """Serum CTX after 20 weeks, percent vs placebo, in a postmenopausal woman of 63
    (Khosla 2018's mean age; the calibration scenarios human_<drug>.yaml)."""
    subject = {"age_years": 63}
    placebo = run(woman(subject, 140, outputs=["ctx"]))["ctx"][-1]
    out = {}
    for arm, (drug, dose) in KHOSLA_ARMS.items():
        iv = {"kind": "beta_blocker", "drug": drug, "dose_mg_per_day": dose, "start_day": 0}
        ctx = run(woman(subject, 140, interventions=[iv], outputs=["ctx"]))["ctx"][-1]
        out[arm] = pct(ctx, placebo)
    return out


@pytest.mark.parametrize("selective", ["atenolol 50", "nebivolol 5"])
@pytest.mark.parametrize("propranolol", ["propranolol 40", "propranolol 80"])
def test_beta1_selective_blockers_lower_ctx_more_than_propranolol(khosla, selective, propranolol):
    """Khosla et al. 2018, J Clin Invest 128:4832 (doi 10.1172/JCI122151): in
    postmenopausal women over 20 weeks, the beta1-selective atenolol (50 mg/day) and
    nebivolol (5 mg/day) lowered serum CTX vs placebo, propranolol (20 or 40 mg twice a
    day) did not. CTX falls vs placebo with the selective drug, and by more than with
    propranolol at either dose."""
    sel, prop = khosla[selective], khosla[propranolol]
    msg = f"CTX vs placebo: {selective} {sel:+.2f} %, {propranolol} {prop:+.2f} %"
    assert sel < 0, msg
    assert sel < prop, msg


# =============================================================================== (5) ageing mice
AGEING_START_MONTHS = 6


@pytest.fixture(scope="module")
def ageing():
    """A sedentary intact female C57BL/6J mouse from 6 to 24 months of age."""
    return run(mouse(age_weeks=AGEING_START_MONTHS * WEEKS_PER_MONTH,
                     days=(24 - AGEING_START_MONTHS) * MONTH, outputs=["bv_tv"]))


@pytest.mark.parametrize("months", [18, 20, 24])
def test_trabecular_bv_tv_falls_with_age_in_female_mice(ageing, months):
    """Glatt et al. 2007, J Bone Miner Res 22:1197 (doi 10.1359/jbmr.070507; female and
    male C57BL/6J to 20 months: trabecular BV/TV falls steadily after 6-8 weeks, more in
    females); Halloran et al. 2002, J Bone Miner Res 17:1044 (doi
    10.1359/jbmr.2002.17.6.1044; male C57BL/6J: metaphyseal BV/TV -60 % from 6 weeks to
    24 months); Holguin et al. 2014 (calibration row E01: -45 to -75 % in females from 5
    to 12 months). A sedentary intact female's trabecular BV/TV at 18, 20 and 24 months
    is below its 6-month value by at least 20 %."""
    start = at(ageing, "bv_tv", 0)
    late = at(ageing, "bv_tv", (months - AGEING_START_MONTHS) * MONTH)
    assert late < 0.8 * start, (f"BV/TV 6 months {start:.4g}, {months} months {late:.4g} "
                                f"({pct(late, start):+.2f} %)")


# =========================================================== (6) late post-menopausal loss rate
@pytest.fixture(scope="module")
def menopause_rates():
    """Lumbar spine aBMD loss, percent per year: a woman of 61, 10 years after a
    menopause at 51, over one year; a woman over the 2 years after her final menstrual
    period at 51 (per year, averaged)."""
    late = run(woman({"age_years": 61, "menopause_age_years": 51}, YEAR, outputs=["abmd_ls"]))
    early = run(woman({"age_years": 51, "menopause_age_years": 51}, 2 * YEAR, outputs=["abmd_ls"]))
    return {"late": -late.change("abmd_ls"), "early": -early.change("abmd_ls") / 2}


def test_late_postmenopausal_spine_loss_rate(menopause_rates):
    """Sowers et al. 2010, J Clin Endocrinol Metab 95:2155 (doi 10.1210/jc.2009-0659):
    lumbar spine loss 1.1 %/year from 2 to 7 years after the final menstrual period;
    Greendale et al. 2012, J Bone Miner Res 27:111 (doi 10.1002/jbmr.534): loss slows,
    but does not stop, 2 years after it. A woman of 61, 10 years after a menopause at
    51, loses 0.3-2 %/year of lumbar spine aBMD."""
    rate = menopause_rates["late"]
    assert 0.3 <= rate <= 2.0, f"spine loss at 61 (10 y after FMP): {rate:.3f} %/year"


def test_late_postmenopausal_loss_slower_than_early(menopause_rates):
    """Sowers et al. 2010, J Clin Endocrinol Metab 95:2155 (doi 10.1210/jc.2009-0659):
    3.3 %/year in the 2 years after the final menstrual period, 1.1 %/year from 2 to 7
    years; Greendale et al. 2012, J Bone Miner Res 27:111 (doi 10.1002/jbmr.534). A
    woman 10 years after menopause loses spine aBMD more slowly per year than in the
    first 2 years after her final menstrual period."""
    late, early = menopause_rates["late"], menopause_rates["early"]
    assert late < early, f"spine loss: 10 y after FMP {late:.3f} %/y, first 2 y {early:.3f} %/y"


# ===================================================================== (7) exercise and age
@pytest.fixture(scope="module")
def connectivity_gain():
    """Connectivity gain of 8 weeks of the article's running over a sedentary mouse of
    the same age, at 3 and at 20 months."""
    out = {}
    for label, months in (("young", 3), ("old", 20)):
        wk = months * WEEKS_PER_MONTH
        sed = run(mouse(age_weeks=wk, outputs=["connectivity"]))
        ran = run(mouse(age_weeks=wk, exercise=[TREADMILL], outputs=["connectivity"]))
        out[label] = at(ran, "connectivity", 56) - at(sed, "connectivity", 56)
    return out


def test_connectivity_gain_of_running_is_smaller_when_old(connectivity_gain):
    """Plasticity declines with age: running restores hippocampal neurogenesis in
    19-month-old mice only to about 50 % of young levels (van Praag et al. 2005, J
    Neurosci 25:8680; the seed article's open
    question on age; calibration row MC8); loading responses of bone are 45-63 % smaller
    at 12 and 22 months than at 5 (Holguin et al. 2014, Bone 65:83). The connectivity
    gain of the same running programme is smaller at 20 months than at 3."""
    young, old = connectivity_gain["young"], connectivity_gain["old"]
    assert young > 0, f"young gain {young:.4g} (should be a gain)"
    assert old < young, f"connectivity gain: 20 months {old:.4g}, 3 months {young:.4g}"


# ============================================================ (8) absolute fracture probability
#: FRAX-US, 65-year-old woman, femoral-neck T -2.3, no clinical risk factor: hip 2.2 %,
#: MOF 10 % (Endotext, "Osteoporosis: clinical evaluation", Figure 6), as in
#: tests/test_fracture.py and docs/fracture.md
FRAX_US_65 = {"t_score": -2.3, "hip_fracture_10y": 2.2, "mof_fracture_10y": 10.0}
FACTOR = 3.0


@pytest.mark.parametrize("t_score", [-2.5, FRAX_US_65["t_score"]])
def test_ten_year_fracture_probability_near_frax_us(t_score):
    """US FRAX (Kanis et al. 2008, Osteoporos Int 19:385, doi 10.1007/s00198-007-0543-5)
    published for a 65-year-old US woman with femoral-neck T -2.3 and no clinical risk
    factor: hip 2.2 %, MOF 10 % (Endotext, 'Osteoporosis: clinical evaluation', Figure 6;
    the case of tests/test_fracture.py and docs/fracture.md). A woman of 65 with
    femoral-neck T -2.5 (and, for the same-T comparison, -2.3) has finite 10-year
    probabilities, MOF at least hip (the MOF sites include the hip), each within a
    factor of 3 of the published figure. (At -2.5 the published -2.3 figures are a
    slight underestimate: the test is then a little stricter on the high side.)"""
    res = run(woman({"age_years": 65, "t_score": t_score}, 30,
                    outputs=["t_score", "hip_fracture_10y", "mof_fracture_10y"]))
    day0 = res.at(0)
    assert day0["t_score"] == pytest.approx(t_score, abs=1e-6)
    hip, mof = day0["hip_fracture_10y"], day0["mof_fracture_10y"]
    msg = f"T {t_score}: hip {hip:.3f} %, MOF {mof:.3f} % (FRAX-US at T -2.3: hip 2.2, MOF 10)"
    assert math.isfinite(hip) and math.isfinite(mof), msg
    assert mof >= hip, msg
    for name, value in (("hip_fracture_10y", hip), ("mof_fracture_10y", mof)):
        ref = FRAX_US_65[name]
        assert ref / FACTOR <= value <= ref * FACTOR, msg
