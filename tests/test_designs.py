"""Study designs (arm covariates, paired, factorial, the compared day), the statistics of
established libraries (Welch ANOVA, ANCOVA, MixedLM, mediation) and a lab's own data."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.oneway import anova_oneway

from neurobone.errors import InputError
from neurobone.report import write_report
from neurobone.study import load_study, parse_study, run_study, stats
from neurobone.study.data import analyze_data

TREADMILL = {"modality": "treadmill", "speed_m_per_min": 12, "minutes": 45, "days_per_week": 5}
BLOCK = {"kind": "circuit_inhibition"}


def mouse(n=3, seed=7, arms=None, **kw):
    data = {"name": "designs", "species": "mouse", "subject": {"sex": "female", "age_weeks": 12},
            "duration_days": 28, "n_per_arm": n, "seed": seed,
            "arms": arms or [{"name": "sedentary"},
                             {"name": "exercise", "exercise": [TREADMILL]}]}
    data.update(kw)
    return parse_study(data)


@pytest.fixture(scope="module")
def paired():
    return run_study(mouse(n=4, paired=True, outputs=["bv_tv", "connectivity", "sympathetic_tone",
                                                      "p1np"]), decompose_paths=False)


@pytest.fixture(scope="module")
def factorial_result():
    arms = [{"name": "sedentary", "factors": {"exercise": "no", "block": "no"}},
            {"name": "exercise", "exercise": [TREADMILL],
             "factors": {"exercise": "yes", "block": "no"}},
            {"name": "block", "interventions": [BLOCK],
             "factors": {"exercise": "no", "block": "yes"}},
            {"name": "exercise + block", "exercise": [TREADMILL], "interventions": [BLOCK],
             "factors": {"exercise": "yes", "block": "yes"}}]
    return run_study(mouse(n=4, arms=arms, outputs=["bv_tv", "connectivity"]),
                     decompose_paths=False)


# ------------------------------------------------------------------ designs
def test_paired_design_gives_every_arm_the_same_subjects(paired):
    a = paired.animals
    # sympathetic tone on day 0 already feels the first session (an acute output)
    a0 = a[(a["day"] == 0) & (a["output"] != "sympathetic_tone")]
    for col in ("true", "measured"):
        base = a0.pivot_table(index=["output", "animal"], columns="arm", values=col)
        assert np.array_equal(base["sedentary"], base["exercise"])
    params = paired.parameters.drop(columns=["arm"], errors="ignore")
    n = paired.study.n_per_arm
    assert np.array_equal(params.iloc[:n].to_numpy(), params.iloc[n:].to_numpy())
    # the comparisons are paired t-tests of each subject's difference
    c = paired.comparisons(outputs=["bv_tv"]).iloc[0]
    last = a[(a["day"] == paired.day) & (a["output"] == "bv_tv")]
    x = last[last["arm"] == "exercise"].sort_values("animal")["change_pct"]
    y = last[last["arm"] == "sedentary"].sort_values("animal")["change_pct"]
    ref = sps.ttest_rel(x, y)
    assert c["p"] == pytest.approx(ref.pvalue) and c["df"] == 3
    assert c["diff"] == pytest.approx(np.mean(x.to_numpy() - y.to_numpy()))


def test_unpaired_arms_have_their_own_subjects():
    r = run_study(mouse(n=3), decompose_paths=False)
    a = r.animals
    base = a[(a["day"] == 0) & (a["output"] == "bv_tv")]
    assert not np.array_equal(base[base["arm"] == "sedentary"]["true"],
                              base[base["arm"] == "exercise"]["true"])


def test_arms_set_their_own_subject_covariates():
    s = mouse(arms=[{"name": "young"}, {"name": "old", "subject": {"age_weeks": 78}}])
    assert s.subject_of("young").age_weeks == 12 and s.subject_of("old").age_weeks == 78
    assert s.subject_of("old").sex == "female"
    assert s.scenario("old").subject.age_weeks == 78
    r = run_study(s.with_options(n_per_arm=2), decompose_paths=False)
    base = r.summary("true")
    base = base[(base["day"] == 0) & (base["output"] == "bv_tv")].set_index("arm")["mean"]
    assert base["old"] < base["young"]  # an aged mouse has lost trabecular bone
    # an arm naming one way of stating the menopause replaces the study's other way
    women = parse_study(dict(
        name="w", species="human", duration_days=30, n_per_arm=2, seed=1,
        subject=dict(sex="female", age_years=60, menopause_age_years=50),
        arms=[dict(name="a"), dict(name="b", subject=dict(years_since_menopause=2))]))
    assert women.subject_of("b").years_since_menopause == 2
    assert women.subject_of("b").menopause_age_years is None
    assert women.noun(True) == "women"
    men = women.model_dump()
    men["arms"][1]["subject"] = {"sex": "male", "years_since_menopause": None}
    with pytest.raises(InputError):
        parse_study({**men, "arms": [dict(name="a", subject={"sex": "male"}),
                                     dict(name="b", subject={"sex": "banana"})]})
    both = parse_study({**women.model_dump(exclude_none=True),
                        "subject": dict(sex="female", age_years=60),
                        "arms": [dict(name="a"), dict(name="b", subject={"sex": "male"})]})
    assert both.noun(True) == "participants" and mouse().noun(True) == "mice"


def test_factorial_design_reports_the_interaction(factorial_result):
    r = factorial_result
    f = r.factorial(outputs=["bv_tv"])
    assert list(f["term"]) == ["exercise", "block", "exercise:block"]
    inter = f.iloc[2]
    # the interaction contrast is the difference of differences of the arm means
    m = r.final(r.value_of("bv_tv"))
    m = m[m["output"] == "bv_tv"].set_index("arm")["mean"]
    dod = (m["exercise + block"] - m["block"]) - (m["exercise"] - m["sedentary"])
    assert inter["estimate"] == pytest.approx(dod)
    assert inter["ci_low"] < inter["estimate"] < inter["ci_high"] and 0 <= inter["p"] <= 1
    assert inter["df"] == 1 and inter["df_resid"] == 16 - 4


def test_factorial_design_errors():
    arms = [{"name": "a", "factors": {"x": "1", "y": "1"}},
            {"name": "b", "factors": {"x": "2", "y": "1"}},
            {"name": "c", "factors": {"x": "1", "y": "2"}}]
    with pytest.raises(InputError, match="one arm per combination"):
        mouse(arms=arms)
    with pytest.raises(InputError, match="gives no level of factor 'y'"):
        mouse(arms=[{"name": "a", "factors": {"x": "1", "y": "1"}},
                    {"name": "b", "factors": {"x": "2"}}])


def test_day_selects_the_compared_day(paired):
    c14 = paired.comparisons(day=14)
    assert (c14["day"] == 14).all()
    assert not np.allclose(c14["diff"], paired.comparisons()["diff"])
    with pytest.raises(InputError, match="day 13 was not measured; measured days: 0, 7, 14, 21"):
        paired.comparisons(day=13)
    s = mouse().with_options(day=14)
    assert s.comparison_day == 14


def test_cli_day_unknown_is_one_line_exit_2(cli, one_line_error, tmp_path):
    code, _, err = cli("run", "--n", "2", "--day", "13", "--out", tmp_path / "r")
    one_line_error(code, err, "measured days: 0, 7, 14, 21, 28, 35, 42, 49, 56")
    assert not (tmp_path / "r").exists()


# ------------------------------------------------------------------ statistics
@pytest.mark.parametrize("reps", [100, pytest.param(600, marks=pytest.mark.slow)])
def test_null_study_has_nominal_false_positive_rates(reps):
    """Two identical arms of a simulated study, split into many small studies: Welch,
    ANCOVA and Welch-ANOVA reject at alpha within Monte-Carlo error."""
    n_small = 4
    r = run_study(mouse(n=n_small * reps, seed=11, outputs=["bv_tv"],
                        arms=[{"name": "a"}, {"name": "b"}]), decompose_paths=False)
    a = r.animals[r.animals["output"] == "bv_tv"]
    rej = {"welch": 0, "ancova": 0, "welch_anova": 0}
    for k in range(reps):
        ids = range(k * n_small + 1, (k + 1) * n_small + 1)
        sub = a[a["animal"].isin(ids)].copy()
        sub.loc[sub["arm"] == "b", "animal"] += 10 ** 6  # unpaired animals
        c = stats.compare(sub, [("b", "a")], value="change_pct")
        rej["welch"] += c["p"].iloc[0] < 0.05
        rej["ancova"] += stats.ancova(sub, [("b", "a")])["p"].iloc[0] < 0.05
        rej["welch_anova"] += stats.anova(sub, value="change_pct")["p_welch"].iloc[0] < 0.05
    se = np.sqrt(0.05 * 0.95 / reps)
    for name, k in rej.items():
        assert abs(k / reps - 0.05) < 3.5 * se, (name, k / reps)


def test_welch_anova_is_statsmodels():
    rng = np.random.default_rng(1)
    groups = [rng.normal(0, s, n) for s, n in ((1, 6), (3, 9), (0.5, 5))]
    ref = anova_oneway(groups, use_var="unequal")
    got = stats.welch_anova(groups)
    assert got["F_welch"] == pytest.approx(ref.statistic)
    assert got["p_welch"] == pytest.approx(ref.pvalue)
    assert np.isnan(stats.welch_anova([np.ones(3), groups[0]])["p_welch"])


def _long(rng, n=8, days=(0, 7, 14, 21), slopes=(0.0, 0.05), sd_subject=1.0):
    rows = []
    for arm, slope in zip(("ref", "arm b"), slopes, strict=True):
        for k in range(n):
            u = rng.normal(0, sd_subject)
            for d in days:
                rows.append(dict(arm=arm, animal=k + 1, day=float(d), output="y",
                                 measured=10 + u + slope * d + rng.normal(0, 0.2)))
    return pd.DataFrame(rows)


def test_mixed_model_matches_statsmodels_mixedlm():
    d = _long(np.random.default_rng(3))
    got = stats.mixed(d, "ref").set_index("term")
    direct = d.assign(g=d["arm"] + "/" + d["animal"].astype(str))
    fit = smf.mixedlm("measured ~ C(arm, Treatment('ref')) * day", direct,
                      groups=direct["g"]).fit(reml=True)
    name = "C(arm, Treatment('ref'))[T.arm b]:day"
    assert got.loc["slope", "estimate"] == pytest.approx(fit.params[name])
    assert got.loc["slope", "p"] == pytest.approx(fit.pvalues[name])
    assert got.loc["slope", "ci_low"] < 0.05 < got.loc["slope", "ci_high"]
    assert got.loc["slope", "converged"] and got.loc["slope", "n_subjects"] == 16


def test_ancova_is_ols_on_baseline():
    d = _long(np.random.default_rng(4), slopes=(0.0, 0.1))
    got = stats.ancova(d, [("arm b", "ref")], day=21).iloc[0]
    w = d.pivot_table(index=["arm", "animal"], columns="day", values="measured").reset_index()
    w = w.rename(columns={0.0: "base", 21.0: "end"}).assign(t=lambda x: (x["arm"] == "arm b") * 1.0)
    fit = smf.ols("end ~ t + base", w).fit()
    assert got["diff"] == pytest.approx(fit.params["t"])
    assert got["p"] == pytest.approx(fit.pvalues["t"])
    assert got["ci_low"] < 2.1 < got["ci_high"]


def test_mediation_recovers_a_known_indirect_effect():
    rng = np.random.default_rng(5)
    n = 150
    x = np.repeat([0.0, 1.0], n)
    m = 2.0 * x + rng.normal(0, 1, 2 * n)             # a = 2
    y = 0.5 * m + 1.0 * x + rng.normal(0, 1, 2 * n)   # b = 0.5, direct 1: indirect 1
    res = stats.mediation(x, m, y, n_boot=400, seed=1)
    assert res["ci_low"] < 1.0 < res["ci_high"] and res["ci_low"] > 0
    assert res["indirect"] == pytest.approx(res["total"] - res["direct"])
    assert stats.mediation(x, m, y, n_boot=400, seed=1) == res  # seeded
    # no indirect path: the interval holds 0
    null = stats.mediation(x, rng.normal(0, 1, 2 * n), y, n_boot=400, seed=1)
    assert null["ci_low"] < 0 < null["ci_high"]


# ------------------------------------------------------------------ T-scores
def test_notes_of_a_human_study_name_its_subjects_not_animals():
    r = run_study(parse_study(dict(
        name="women", species="human", duration_days=28, n_per_arm=2, seed=1,
        subject=dict(sex="female", age_years=30), outputs=["abmd_ls"],
        arms=[dict(name="control"), dict(name="walking", exercise=[
            {"modality": "walking", "minutes": 30, "days_per_week": 5}])])),
        decompose_paths=False)
    # before the menopause no varied parameter sets a woman's baseline aBMD: the note
    # says so, of women
    assert any(n.startswith("every woman starts with the same true abmd_ls") for n in r.notes)
    assert not any("animal" in n for n in r.notes), r.notes


def test_t_score_is_analysed_as_absolute_change():
    r = run_study(parse_study(dict(
        name="women", species="human", duration_days=56, n_per_arm=3, seed=1,
        subject=dict(sex="female", age_years=60), outputs=["abmd_ls", "t_score"],
        arms=[dict(name="control"), dict(name="walking", exercise=[
            {"modality": "walking", "minutes": 30, "days_per_week": 5}])])),
        decompose_paths=False)
    c = r.comparisons().set_index("output")
    assert c.loc["t_score", "value"] == "change" and c.loc["abmd_ls", "value"] == "change_pct"
    a = r.animals[(r.animals["output"] == "t_score") & (r.animals["day"] == r.day)]
    ch = a.groupby("arm")["change"].mean()
    assert c.loc["t_score", "diff"] == pytest.approx(ch["walking"] - ch["control"])
    assert np.isnan(c.loc["t_score", "pct_diff"])
    first = r.animals[(r.animals["output"] == "t_score") & (r.animals["day"] == 0)]
    assert np.allclose(a["change"].to_numpy(), a["measured"].to_numpy()
                       - first["measured"].to_numpy())


# ------------------------------------------------------------------ a lab's own data
@pytest.fixture(scope="module")
def paired_report(paired, tmp_path_factory):
    return write_report(paired, tmp_path_factory.mktemp("paired") / "report").parent


def test_analyze_reproduces_the_runs_statistics(paired, paired_report, factorial_result,
                                                tmp_path):
    folder = paired_report
    for f in ("bv_tv_final.svg", "bv_tv_final.png", "ancova.csv", "mixed.csv", "mediation.csv"):
        assert (folder / f).is_file()
    html = (folder / "index.html").read_text()
    assert "mice" in html and "paired t-test" in html and "exploratory" in html
    assert f"seed {paired.study.seed}" in html and "study file" in html
    d = analyze_data(folder / "animals.csv", load_study(folder / "study.yaml"))
    # the factorial study: its animals table and design as the report writes them
    factorial_result.animals.to_csv(tmp_path / "animals.csv", index=False)
    f = analyze_data(tmp_path / "animals.csv", factorial_result.study)
    for r, a in ((paired, d), (factorial_result, f)):
        for table in ("comparisons", "anova", "ancova", "factorial", "mixed", "mediation"):
            x, y = getattr(r, table)(), getattr(a, table)()
            pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True),
                                          check_dtype=False, rtol=1e-9)
    assert len(f.factorial()) and len(d.mediation())


def test_cli_analyze(cli, one_line_error, paired_report, tmp_path):
    folder = paired_report
    code, text, err = cli("analyze", folder / "animals.csv", "--design", folder / "study.yaml",
                          "--out", tmp_path / "an", "--day", "14")
    assert code == 0, err
    assert "day 14" in text and (tmp_path / "an" / "index.html").is_file()
    html = (tmp_path / "an" / "index.html").read_text()
    assert "measured data" in html and "mice" in html and "between animals" not in html
    code, _, err = cli("analyze", folder / "animals.csv", "--design", folder / "study.yaml",
                       "--out", tmp_path / "an2", "--day", "3")
    one_line_error(code, err, "measured days: 0, 7, 14, 21, 28")
    bad = tmp_path / "bad.csv"
    pd.read_csv(folder / "animals.csv").assign(arm="nope").to_csv(bad, index=False)
    code, _, err = cli("analyze", bad, "--design", folder / "study.yaml", "--out",
                       tmp_path / "an3")
    one_line_error(code, err, "arm 'nope' is not in the design; arms: sedentary, exercise")


@pytest.mark.parametrize("change, needle", [
    (lambda d: d.drop(columns="measured"), "missing column(s) measured"),
    (lambda d: d.assign(output="bogus"), "unknown output 'bogus'"),
    (lambda d: d.assign(day=d["day"] + 100), "days must lie within the study"),
    (lambda d: pd.concat([d, d.iloc[:1]]), "two rows for arm"),
    (lambda d: d.astype({"measured": object}).assign(measured="x"), "not a number"),
    (lambda d: d[d["arm"] == "sedentary"], "no rows for arm 'exercise'"),
])
def test_bad_data_is_one_line_input_error(paired, change, needle):
    with pytest.raises(InputError) as exc:
        analyze_data(change(paired.animals), paired.study)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_marker_baselines_vary_between_subjects_and_cancel_in_the_change():
    """Serum markers vary between women beyond assay error (a set point per subject,
    CV 40 % for P1NP); the set point cancels in each woman's percent change."""
    def women(between):
        return run_study(parse_study(dict(
            name="markers", species="human", duration_days=28, n_per_arm=30, seed=3,
            subject=dict(sex="female", age_years=60), outputs=["p1np", "ctx"],
            measurement_days=[0, 28], between_subject=between,
            arms=[dict(name="a"), dict(name="b")])), decompose_paths=False)

    varied, flat = women({}), women({"p1np": 0, "ctx": 0})
    base = varied.animals[(varied.animals["day"] == 0) & (varied.animals["output"] == "p1np")]
    log_sd = np.std(np.log(base["true"]), ddof=1)
    assert abs(log_sd - np.sqrt(np.log1p(0.40 ** 2))) < 0.12   # 60 women: SE of the SD ~0.05
    flat_base = flat.animals[(flat.animals["day"] == 0) & (flat.animals["output"] == "p1np")]
    assert np.std(np.log(flat_base["true"])) < 0.02
    np.testing.assert_allclose(varied.animals["change_pct"], flat.animals["change_pct"],
                               rtol=1e-9, atol=1e-9)
    table = varied.instrument_table().set_index("output")
    assert table.loc["p1np", "between_subject_cv"] == 0.40
    assert "PMID 22348982" in table.loc["ctx", "between_subject_source"]
    with pytest.raises(InputError, match="between_subject.t_score: t_score can cross zero"):
        parse_study(dict(name="x", species="human", duration_days=28, n_per_arm=2, seed=1,
                         outputs=["t_score"], between_subject={"t_score": 0.1},
                         arms=[dict(name="a")]))


_rows = st.lists(st.fixed_dictionaries({
    "arm": st.sampled_from(["sedentary", "exercise", "other"]),
    "animal": st.integers(1, 4),
    "day": st.one_of(st.sampled_from([0.0, 7.0, 28.0]), st.floats(allow_nan=True)),
    "output": st.sampled_from(["bv_tv", "bv_tv", "p1np", "bogus"]),
    "measured": st.one_of(st.floats(0.1, 100), st.floats(allow_nan=True, allow_infinity=True)),
}), min_size=0, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows)
def test_analyze_any_table_is_a_result_or_one_input_error(rows):
    study = mouse(n=2)
    df = pd.DataFrame(rows, columns=["arm", "animal", "day", "output", "measured"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = analyze_data(df, study)
            r.comparisons()
            r.anova()
    except InputError as exc:
        assert "\n" not in str(exc)
