"""The one subject initialisation (``neurobone.scenario.subjects.initialise_subjects``)
and the model's subject rules, as every caller uses them: one scenario (N = 1), a study's
arms, a cohort's chunks."""

import dataclasses

import numpy as np
import pytest

from neurobone.cohort import query, run_cohort
from neurobone.engine.kernels import compile_model
from neurobone.engine.platform import lanes_available
from neurobone.engine.solvers import Lanes
from neurobone.model import brainbone
from neurobone.model.subjects import Covariates
from neurobone.scenario import population as popmod
from neurobone.scenario.compile import compile_scenario
from neurobone.scenario.run import run_scenario
from neurobone.scenario.schema import Subject, parse_scenario
from neurobone.scenario.subjects import (
    covariates_of_frame,
    covariates_of_subject,
    initialise_subjects,
    reference,
)
from neurobone.scenario.variability import apply_factors, draw_factors
from neurobone.study import parse_study, run_study

YEAR = 365.25
WEEK = 7.0


@pytest.fixture(scope="module")
def human():
    cm = compile_model(brainbone.build("human"))
    return cm, reference(cm, cm.parameter_vector())


@pytest.fixture(scope="module")
def mouse():
    cm = compile_model(brainbone.build("mouse"))
    return cm, reference(cm, cm.parameter_vector())


def _women(n: int) -> Covariates:
    """``n`` different subjects: women before, around and long after menopause (given
    or by the rule), a man, subjects younger than the reference or of no stated age,
    DXA anchors, habitual activity above and below the reference."""
    kinds = [
        dict(sex="female", age_days=60 * YEAR, menopause_age_days=50 * YEAR, t_score=-1.5),
        dict(sex="female", age_days=25 * YEAR),                                # younger
        dict(sex="male", age_days=70 * YEAR, activity=0.8),
        dict(sex="female"),                                                    # the reference age
        dict(sex="female", age_days=50 * YEAR, menopause_age_days=50.5 * YEAR,  # menopause ahead
             activity=1.2),
        dict(sex="female", age_days=80 * YEAR, t_score=-2.6, abmd_ls=0.8),       # menopause by rule
        dict(sex="female", age_days=45 * YEAR, menopause_age_days=44 * YEAR, abmd_th=0.85),
    ]
    rows = [kinds[i % len(kinds)] for i in range(n)]
    names = ["age_days", "menopause_age_days", "t_score", "abmd_ls", "abmd_th"]
    cols = {k: [r.get(k, np.nan) + (i // len(kinds)) * 200.0 * (k == "age_days")
                for i, r in enumerate(rows)] for k in names}
    return Covariates.of(n, sex=[r["sex"] for r in rows],
                         activity=[r.get("activity", 1.0) for r in rows], **cols)


# ----------------------------------------------------------------------------- N = 1
@pytest.mark.parametrize("solver", [
    None, pytest.param(Lanes(rtol=1e-6), marks=pytest.mark.skipif(
        not lanes_available(), reason="no AVX2/AVX-512 libmvec lanes here"))],
    ids=["default", "lanes"])
def test_subjects_initialised_together_equal_each_alone(human, solver):
    """A subject's start depends on its own covariates and parameters only: bit for bit
    the same alone (N = 1) or among others (each history has its own end day and steps),
    with the default solver and with the cohort's lanes."""
    cm, ref = human
    n = 20  # more than a lane width, so the lanes take subjects one after another
    cov = _women(n)
    P = apply_factors(ref.p, cm.model, draw_factors(cm.model, 1, "subjects", n))
    together = initialise_subjects(cm, cov, ref=ref, P=P, days=365, solver=solver)
    assert (together.status == 0).all() and together.n == n
    spine = together.initial[:, cm.state_index("Vtb_ax")]
    assert len({float(x) for x in spine}) > 10  # they differ
    for i in range(n):
        alone = initialise_subjects(cm, cov.take([i]), ref=ref, P=P[[i]], days=365, solver=solver)
        np.testing.assert_array_equal(alone.initial[0], together.initial[i], err_msg=f"subject {i}")
        np.testing.assert_array_equal(alone.parameters[0], together.parameters[i])
        assert alone.rows[0] == together.rows[i]
    # the caller's parameter matrix is not edited in place
    np.testing.assert_array_equal(P,
                                  apply_factors(ref.p, cm.model,
                                                draw_factors(cm.model, 1, "subjects", n)))


def test_the_reference_subject_needs_no_history(human, mouse):
    # a woman of the reference age has her menopause (at 51 by the rule) ahead of her
    rule = ["menopause assumed at 51 years (age at menopause not given)"]
    for (cm, ref), notes in ((human, rule), (mouse, [])):
        s = initialise_subjects(cm, Covariates.of(2), ref=ref)
        np.testing.assert_array_equal(s.initial, np.tile(ref.y, (2, 1)))
        assert s.rows == [[], []] and s.notes == notes
        for v in ("Vtb_ax", "Vct_ax", "Vtb_ap", "Vct_ap"):
            assert ref.y[cm.state_index(v)] == 1.0
        for site in ("ls", "th", "fn"):  # the reference's mineral index at each DXA site
            start = s.parameters[0, cm.param_index(f"bmc_{site}_start")]
            assert start == pytest.approx(1.0, rel=1e-12)


# ----------------------------------------------------------------------------- menopause
def _estrogen_run(subject, **extra):
    scn = {"species": "human", "subject": subject, "duration_days": 365,
           "outputs": ["estrogen", "abmd_ls"], **extra}
    return run_scenario(scn)


def test_a_menopause_ahead_happens_during_the_scenario():
    day = 0.5 * YEAR  # 182.6: the woman is 50 and reaches menopause at 50.5
    res = _estrogen_run({"age_years": 50, "menopause_age_years": 50.5})
    e = res["estrogen"]
    # estrogen's course is a function of age (systemic.py): no override sets it, it
    # falls throughout the transition, fastest within days of the menopause
    # (Randolph 2011), and by more than a fifth over the year
    assert not any(o.name in ("meno_day", "ovx") for o in res.plan.overrides)
    assert np.all(np.diff(e) < 0) and e[-1] < 0.8 * e[0]
    assert abs(int(np.argmin(np.diff(e))) - day) < 14
    # the faster bone loss follows
    ls = res["abmd_ls"]
    assert (ls[-1] - ls[int(day)]) < (ls[int(day)] - ls[0])
    # a menopause after the scenario happens in it only as the start of the transition
    # (the decline starts about 2 years before the menopause): less than ahead of it,
    # and nothing worth the name when it is years away
    later = _estrogen_run({"age_years": 50, "menopause_age_years": 52})["estrogen"]
    assert 0 < later[0] - later[-1] < 0.5 * (e[0] - e[-1])
    far = _estrogen_run({"age_years": 50, "menopause_age_years": 56})["estrogen"]
    assert np.ptp(far) < 1e-3 * far[0]


def test_a_past_menopause_is_lived_in_the_history():
    res = _estrogen_run({"age_years": 50, "menopause_age_years": 49})
    assert res["estrogen"][0] < 0.9  # already falling at the start
    # no override during it
    assert not any(o.name in ("meno_day", "ovx") for o in res.plan.overrides)
    same = _estrogen_run({"age_years": 50, "years_since_menopause": 1})
    np.testing.assert_allclose(same["estrogen"], res["estrogen"], rtol=1e-12)


def test_estradiol_wins_over_a_natural_menopause():
    subject = {"age_years": 50, "menopause_age_years": 50.5}
    natural = _estrogen_run(subject)["estrogen"]
    treated = _estrogen_run(subject, interventions=[{"kind": "estradiol"}])["estrogen"]
    # the transition has begun at the start (50, menopause at 50.5); estradiol brings
    # estrogen to the intact level within weeks and holds it there through the menopause
    assert treated[0] == pytest.approx(natural[0]) and natural[0] < 0.9
    np.testing.assert_allclose(treated[60:], 1.0, rtol=1e-6)
    # started after the menopause, estradiol brings estrogen back up
    estradiol_late = [{"kind": "estradiol", "start_day": 250}]
    late = _estrogen_run(subject, interventions=estradiol_late)["estrogen"]
    # the same course until then (estrogen is falling: to the solver's tolerance, as its
    # steps differ on the way to the start of the treatment)
    np.testing.assert_allclose(late[:250], natural[:250], rtol=1e-6)
    assert late[-1] > late[250] and late[-1] > natural[-1] + 0.1


def test_estradiol_wins_in_a_cohort_too(tmp_path):
    """The cohort composes the subject's own overrides with the shared protocol
    differently from a scenario; the protocol must still win."""
    base = {"species": "human", "duration_days": 365, "outputs": ["estrogen"],
            "population": {"variability": False, "age_years": 50, "menopause_age_years": 50.5}}
    run_cohort(base, 2, 1, tmp_path / "n", 2)
    run_cohort({**base, "interventions": [{"kind": "estradiol"}]}, 2, 1, tmp_path / "e", 2,
               rtol=1e-8)
    natural = query(tmp_path / "n", "SELECT * FROM summary ORDER BY subject")
    treated = query(tmp_path / "e", "SELECT * FROM summary ORDER BY subject")
    assert (natural.estrogen_end < 0.8 * natural.estrogen_base).all()
    np.testing.assert_allclose(treated.estrogen_end, 1.0, rtol=1e-6)  # the intact level


def test_menopause_rule_for_women_without_an_age_at_menopause(human):
    """Menopause at 51 years when a woman's age at menopause is not given (Gold 2013):
    estrogen is intact years before it and falls through and after it; men follow their
    own slow course and no rule is noted."""
    cm, ref = human
    cov = Covariates.of(4, age_days=[40 * YEAR, 51.5 * YEAR, 52 * YEAR, 60 * YEAR])
    s = initialise_subjects(cm, cov, ref=ref, days=365)
    e2 = s.initial[:, cm.state_index("E2")]
    e2_ref = ref.y[cm.state_index("E2")]
    assert e2[0] == pytest.approx(e2_ref, rel=1e-3)  # 11 years before: intact
    assert e2[1] < 0.9 * e2_ref and e2[2] < e2[1] and e2[3] < e2[2]
    assert any("menopause assumed at 51" in n for n in s.notes)
    men = initialise_subjects(cm, Covariates.of(1, sex="male", age_days=60 * YEAR), ref=ref)
    a_e2m = cm.model.parameter("a_E2m").value  # Khosla 1998
    assert men.initial[0, cm.state_index("E2")] == pytest.approx(
        e2_ref * np.exp(-a_e2m * 30 * YEAR), rel=1e-3) and men.notes == []


# ----------------------------------------------------------------------------- ages
@pytest.mark.parametrize("species, age, unit", [("human", 25, YEAR), ("mouse", 8, WEEK)])
def test_subjects_younger_than_the_reference_start_at_their_own_age(species, age, unit, human,
                                                                    mouse):
    cm, ref = human if species == "human" else mouse
    block = {"age_years": age} if species == "human" else {"age_weeks": age}
    plan = compile_scenario(parse_scenario({"species": species, "subject": block,
                                            "duration_days": 7}))
    k = cm.state_index("age")
    assert plan.initial[k] == pytest.approx(age * unit)
    others = np.arange(cm.n_states) != k
    np.testing.assert_array_equal(plan.initial[others], ref.y[others])  # the reference state
    assert any("younger than the reference" in n for n in plan.notes)
    # and they age from there: the age state runs with the days
    res = plan.run(outputs=["age"])
    assert res["age"][0, -1] == pytest.approx(age * unit + 7)


# ----------------------------------------------------------------------------- covariates
def test_covariates_of_subject_for_mice_and_humans():
    m = covariates_of_subject(Subject(age_weeks=8), "mouse", n=3)
    assert m.n == 3 and list(m.sex) == ["female"] * 3
    np.testing.assert_array_equal(m.age_days, [56.0] * 3)
    assert np.isnan(m.menopause_age_days).all() and np.isnan(m.t_score).all()
    np.testing.assert_array_equal(m.activity, [1.0] * 3)
    assert np.isnan(covariates_of_subject(Subject(), "mouse").age_days[0])  # the reference age

    h = covariates_of_subject(Subject(sex="female", age_years=60, years_since_menopause=5,
                                      t_score=-1.2, abmd_ls=0.9, abmd_th=0.8), "human")
    assert h.age_days[0] == pytest.approx(60 * YEAR)
    assert h.menopause_age_days[0] == pytest.approx(55 * YEAR)
    assert (h.t_score[0], h.abmd_ls[0], h.abmd_th[0]) == (-1.2, 0.9, 0.8)
    ahead = covariates_of_subject(Subject(age_years=48, menopause_age_years=51), "human")
    assert ahead.menopause_age_days[0] == pytest.approx(51 * YEAR)
    man = covariates_of_subject(Subject(sex="male", age_years=70), "human")
    assert man.sex[0] == "male" and np.isnan(man.menopause_age_days[0])


def population_of(block: dict) -> dict:
    """A population block that samples nothing the subject block does not give (a T-score
    left out of both would be drawn from NHANES)."""
    return {"variability": False, **({} if "t_score" in block else {"t_score": None})}


# ages of whole days: a cohort rounds sampled ages to whole days (docs/cohorts.md)
@pytest.mark.parametrize("block", [
    {"sex": "female", "age_years": 60, "menopause_age_years": 50, "t_score": -1.5},
    {"sex": "female", "age_years": 60, "years_since_menopause": 10, "abmd_ls": 0.9},
    {"sex": "female", "age_years": 48, "menopause_age_years": 51, "abmd_th": 0.8},
    {"sex": "male", "age_years": 68},
])
def test_a_population_of_one_subject_block_has_its_covariates(block):
    """The cohort's route (population table -> covariates_of_frame) and the scenario's
    (covariates_of_subject) read a subject block the same way."""
    scn = parse_scenario({"species": "human", "duration_days": 1, "subject": block,
                          "population": population_of(block)})
    spec = popmod.resolve(scn.population, "human", scn.subject)
    frame = covariates_of_frame(popmod.sample_covariates(spec, "human", 1, 0, 4, 30 * YEAR))
    one = covariates_of_subject(scn.subject, "human", n=4)
    for f in dataclasses.fields(Covariates):
        a, b = getattr(frame, f.name), getattr(one, f.name)
        if f.name == "sex":
            assert list(a) == list(b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, equal_nan=True, err_msg=f.name)


# ----------------------------------------------------------------------------- three callers
@pytest.fixture
def no_variability(monkeypatch):
    """The brain-bone model with no parameter varying between subjects (a study always
    draws its animals' parameters from the model's CVs)."""
    build = brainbone.build

    def fixed(species="mouse", hypothesis="article"):
        m = build(species, hypothesis)
        return dataclasses.replace(m, parameters=tuple(dataclasses.replace(p, cv=0.0)
                                                       for p in m.parameters))

    monkeypatch.setattr(brainbone, "build", fixed)


HUMAN_OUTPUTS = ["abmd_ls", "abmd_th", "abmd_fn", "t_score", "t_score_spine", "bv_tv_spine",
                 "oba", "oca", "estrogen", "sympathetic_tone", "connectivity", "p1np"]
MOUSE_OUTPUTS = ["bv_tv", "bv_tv_spine", "ct_th", "oba", "oca", "estrogen", "sympathetic_tone",
                 "connectivity"]


@pytest.mark.parametrize("species, block, outputs", [
    ("human", {"sex": "female", "age_years": 60, "menopause_age_years": 50, "t_score": -1.5},
     HUMAN_OUTPUTS),
    ("human", {"sex": "female", "age_years": 60, "menopause_age_years": 60.1}, HUMAN_OUTPUTS),
    ("mouse", {"sex": "female", "age_weeks": 40}, MOUSE_OUTPUTS),
], ids=["postmenopausal", "menopause-ahead", "aged-mouse"])
def test_scenario_study_and_cohort_give_the_same_start(no_variability, tmp_path, species, block,
                                                       outputs):
    days = 28
    res = run_scenario({"species": species, "subject": block, "duration_days": days,
                        "outputs": outputs})
    start = {o: res[o][0] for o in outputs}

    study = run_study(parse_study(dict(
        name="one-arm", species=species, subject=block, duration_days=days, n_per_arm=3, seed=1,
        analysis="endpoint", outputs=outputs, arms=[{"name": "control"}],
        # the markers' own set points (between-subject CV) off: the model's values compared
        between_subject={o: 0 for o in ("p1np", "ctx") if o in outputs})),
        decompose_paths=False)
    assert study.variations == []
    day0 = study.animals[study.animals.day == 0]
    for o in outputs:
        true = day0[day0.output == o]["true"].to_numpy()
        assert len(true) == 3
        # the same initialisation and solver as the scenario's: equal to round-off
        np.testing.assert_allclose(true, start[o], rtol=1e-12, atol=1e-14, err_msg=o)

    run_cohort({"species": species, "subject": block, "duration_days": days, "outputs": outputs,
                "population": population_of(block) if species == "human"
                else {"variability": False}},
               1, 1, tmp_path / "c", 1, trajectory_every=1, rtol=1e-8)
    row = query(tmp_path / "c", "SELECT * FROM summary").iloc[0]
    assert row.status == 0
    for o in outputs:
        # at the scenario's tolerance the cohort's history solver is the scenario's
        assert row[f"{o}_base"] == pytest.approx(start[o], rel=1e-10, abs=1e-12), o
    # and after the scenario (the cohort's lanes against the scenario's switching solver)
    for o in outputs:
        assert row[f"{o}_end"] == pytest.approx(res[o][-1], rel=1e-6, abs=1e-8), o


# ----------------------------------------------------------------------------- bad numbers
SCENARIO = """\
species: mouse
subject: {sex: female, age_weeks: 12}
duration_days: 14
parameters: {tau_M: 1.0}
exercise:
  - {modality: treadmill, speed_m_per_min: 12, minutes: 45, days_per_week: 5}
interventions:
  - {kind: circuit_inhibition, start_day: 0, end_day: 14}
"""


@pytest.mark.parametrize("old, new, line, needle", [
    # non-finite numbers wherever a number is read
    ("tau_M: 1.0", "tau_M: .nan", 4, "parameters.tau_M: Input should be a finite number"),
    ("tau_M: 1.0", "tau_M: -.inf", 4, "parameters.tau_M: Input should be a finite number"),
    ("duration_days: 14", "duration_days: .nan", 3,
     "duration_days: Input should be a finite number"),
    ("age_weeks: 12", "age_weeks: .inf", 2, "subject.age_weeks: Input should be a finite number"),
    ("speed_m_per_min: 12", "speed_m_per_min: .nan", 6,
     "exercise.0.speed_m_per_min: speed_m_per_min must be a finite number"),
    ("speed_m_per_min: 12", "speed_m_per_min: .inf", 6,
     "exercise.0.speed_m_per_min: speed_m_per_min must be a finite number"),
    ("speed_m_per_min: 12", "speed_m_per_min: 1e300", 6,
     "exercise.0.speed_m_per_min: speed_m_per_min must be within 0..50 for treadmill"),
    ("speed_m_per_min: 12", "speed_m_per_min: -3", 6, "must be within 0..50"),
    ("start_day: 0, end_day: 14", "start_day: .nan", 8,
     "interventions.0.start_day: Input should be a finite number"),
    ("start_day: 0, end_day: 14", "start_day: 0, end_day: 1e300", 8,
     "interventions.0.end_day: Input should be less than or equal to 21915"),
    # strict numbers: a boolean is not 1 or 0
    ("minutes: 45", "minutes: true", 6, "exercise.0.minutes: expected a number, got true"),
    ("days_per_week: 5", "days_per_week: true", 6, "exercise.0.days_per_week: expected a number"),
    ("tau_M: 1.0", "tau_M: false", 4, "parameters.tau_M: expected a number, got false"),
    ("speed_m_per_min: 12", "speed_m_per_min: true", 6, "speed_m_per_min must be a number"),
    # sizes: a mouse of 10^300 weeks would live its history for ever
    ("age_weeks: 12", "age_weeks: 1e300", 2,
     "subject.age_weeks: Input should be less than or equal to 260"),
    # names, located
    ("tau_M: 1.0", "tau_X: 1.0", 4, "parameters.tau_X: unknown parameter 'tau_X'"),
    ("modality: treadmill", "modality: rowing", 6,
     "exercise.0.modality: unknown mouse exercise modality"),
    ("speed_m_per_min: 12", "km_per_day: 5", 6,
     "exercise.0.km_per_day: unknown field for treadmill"),
    ("duration_days: 14", "duration_days: 14\nmodel: nope", 4, "model: unknown model 'nope'"),
    ("duration_days: 14", "duration_days: 14\noutputs: [bv_tv, nope]", 4,
     "outputs.1: unknown output 'nope'"),
    ("kind: circuit_inhibition", "kind: ovariectomy", 8,
     "interventions: ovariectomy needs a female subject"),
])
def test_bad_scenario_numbers_and_names_are_located(tmp_path, old, new, line, needle):
    from neurobone.errors import InputError
    from neurobone.scenario.schema import load_scenario

    text = SCENARIO.replace(old, new, 1)
    if "ovariectomy" in new:
        text = text.replace("sex: female", "sex: male")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:{line}: "), msg
    assert needle in msg, msg


@pytest.mark.parametrize("data", [
    {"duration_days": 5, "parameters": {"tau\nM": 1.0}},
    {"duration_days": 5, "exercise": [{"modality": "treadmill", "minutes": 30,
                                       "days_per_week": 3, "speed\nx": 1}]},
    {"duration_days": 5, "exercise": [{"modality": "tread\nmill", "minutes": 30,
                                       "days_per_week": 3}]},
    {"duration_days": 5, "colour\r\n": "red"},
    {"duration_days": 5, "subject": {"sex": "female", "\x1b[2J": 1}},
    {"duration_days": 5, "subject": {"sex": "fe\x07male"}},
    {"duration_days": 5, "outputs": ["bv_tv\n"]},
    {"duration_days": 5, "population": {"activity": {"dist": "x\ny"}}},  # echoed by Pydantic
])
def test_a_name_with_a_control_character_stays_on_one_line(tmp_path, data):
    import re

    import yaml

    from neurobone.errors import InputError
    from neurobone.scenario.schema import load_scenario

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert not re.search(r"[\x00-\x1f\x7f]", msg), msg  # shown as repr: one clean line
    assert msg.startswith(f"{path}:"), msg


def test_exercise_intensities_are_numbers_within_the_modalitys_range():
    from neurobone.errors import InputError
    from neurobone.model.brainbone import dosing

    for species in ("mouse", "human"):
        for modality in dosing.modalities(species):
            lo, hi = dosing.intensity_range(species, modality)
            assert 0 <= lo < hi < 1e3, modality
            ref = float(dosing.modality_table().set_index("modality").loc[modality,
                                                                         "reference_intensity"])
            assert lo <= ref <= hi, modality  # the default intensity is sensible
            assert dosing.check_intensity(species, modality, hi) == hi
            assert dosing.check_intensity(species, modality, str(lo)) == lo
            for bad in (float("nan"), float("inf"), hi * 1.01 + 1, -1, True, "fast", None, [1]):
                with pytest.raises(InputError):
                    dosing.check_intensity(species, modality, bad)
    with pytest.raises(InputError, match="minutes must be a positive number"):
        dosing.session_dose("mouse", "treadmill", float("nan"))
    with pytest.raises(InputError, match="minutes must be a positive number"):
        dosing.session_dose("mouse", "treadmill", True)


@pytest.mark.parametrize("block, needle", [
    ({"female_fraction": float("nan")},
     "population.female_fraction: Input should be a finite number"),
    ({"female_fraction": True}, "population.female_fraction: expected a number"),
    ({"variability": 1}, "population.variability: Input should be a valid boolean"),
    ({"variability": "no"}, "population.variability: Input should be a valid boolean"),
    ({"age_years": float("inf")}, "population.age_years"),
    ({"age_years": True}, "population.age_years"),
    ({"age_years": {"dist": "uniform", "low": 50, "high": float("inf")}}, "finite number"),
    ({"age_years": {"dist": "uniform", "low": 50, "high": 1e300}}, "outside 0..110"),
    ({"age_years": {"dist": "lognormal", "median": 1e300, "cv": 0.1}}, "centred at 1e+300"),
    ({"age_years": {"dist": "histogram", "edges": [50, float("nan")], "weights": [1]}},
     "finite number"),
    ({"t_score": {"dist": "normal", "mean": -60, "sd": 1}}, "outside -6..4"),
    ({"t_score": {"dist": "normal", "mean": 0, "sd": float("nan")}}, "finite number"),
    ({"abmd_ls": float("inf")}, "finite number"),
    ({"abmd_ls": 1e300}, "abmd_ls must be within 0..3"),
    ({"activity": {"dist": "truncnormal", "mean": 1, "sd": 0.1, "low": 0.5, "high": 1e9}},
     "outside 0..5"),
])
def test_bad_numbers_in_a_population_block_are_errors(block, needle):
    from neurobone.errors import InputError

    with pytest.raises(InputError) as exc:
        parse_scenario({"species": "human", "duration_days": 10, "population": block})
    msg = str(exc.value)
    assert needle in msg and "\n" not in msg, msg


def test_draws_of_unbounded_distributions_stay_within_the_covariates_range():
    scn = parse_scenario({"species": "human", "duration_days": 10, "population": {
        "age_years": {"dist": "lognormal", "median": 100, "cv": 3.0},
        "t_score": {"dist": "normal", "mean": 3.5, "sd": 5.0}}})
    spec = popmod.resolve(scn.population, "human", scn.subject)
    df = popmod.sample_covariates(spec, "human", 3, 0, 400, 30 * YEAR)
    assert df.age_years.max() == popmod.AGE_YEARS_MAX and df.age_years.min() > 0
    assert df.t_score.max() == 4.0 and df.t_score.min() >= -6.0
    assert (df.age_years > 100).any() and (df.t_score < 3.5).any()  # the distributions stay
