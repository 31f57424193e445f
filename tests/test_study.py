"""In-silico studies: study files, variability, measurement, statistics, report, CLI."""

import dataclasses
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from neurobone.engine.solvers import BDF
from neurobone.errors import InputError
from neurobone.model import brainbone
from neurobone.report import write_report
from neurobone.scenario.compile import compile_scenario
from neurobone.scenario.variability import draw_factors, draw_parameters
from neurobone.study import (
    article_study,
    default_comparisons,
    load_study,
    parse_study,
    run_study,
    stats,
)
from neurobone.study.measurement import INSTRUMENTS, Instrument, instruments_for

ROOT = Path(__file__).resolve().parents[1]
TREADMILL = {"modality": "treadmill", "speed_m_per_min": 12, "minutes": 45, "days_per_week": 5}
WALKING = {"modality": "walking", "minutes": 30, "days_per_week": 5}


def small(n=3, seed=7, **kw):
    """A small two-arm mouse study (fast)."""
    data = {"name": "small", "species": "mouse", "subject": {"sex": "female", "age_weeks": 12},
            "duration_days": 28, "n_per_arm": n, "seed": seed,
            "arms": [{"name": "sedentary"}, {"name": "exercise", "exercise": [TREADMILL]}]}
    data.update(kw)
    return parse_study(data)


def human(**kw):
    """A small two-arm study of 60-year-old women."""
    data = dict(name="women", species="human", subject={"sex": "female", "age_years": 60},
                duration_days=56, n_per_arm=3, seed=1,
                arms=[{"name": "control"}, {"name": "walking", "exercise": [WALKING]}])
    data.update(kw)
    return parse_study(data)


def _with_cv(model, cvs):
    params = tuple(dataclasses.replace(p, cv=cvs.get(p.name, 0.0)) for p in model.parameters)
    return dataclasses.replace(model, parameters=params)


@pytest.fixture
def turnover_varies(monkeypatch):
    """The brain-bone model with only ``k_tb`` (trabecular turnover) varying between
    animals (CV 25 %)."""
    build = brainbone.build
    monkeypatch.setattr(brainbone, "build",
                        lambda species="mouse", hypothesis="article":
                        _with_cv(build(species, hypothesis), {"k_tb": 0.25}))


@pytest.fixture(scope="module")
def article_small():
    calls = []
    r = run_study(article_study().with_options(n_per_arm=3),
                  progress=lambda done, total, stage: calls.append((done, total, stage)))
    return r, calls


# ----------------------------------------------------------------------------- study files
def test_article_study_is_consistent_with_its_rules():
    s = article_study()
    assert s.days == list(np.arange(0.0, s.duration_days + 1, 7.0))  # weekly to the end
    # the explicit comparisons are exactly what the default rule derives
    assert s.comparison_pairs == default_comparisons(s.arms)
    assert ("exercise + circuit inhibition", "exercise") in s.comparison_pairs
    # the explicit decomposition arm is the one the default rule picks
    by_rule = s.model_copy(update={"decomposition_arm": None})
    assert s.decomposition_arm_name == by_rule.decomposition_arm_name
    # every arm is a valid scenario of the study's subject
    for a in s.arm_names:
        plan = compile_scenario(s.scenario(a))
        assert plan.outputs == s.output_names and plan.duration == s.duration_days


def test_example_is_a_copy_of_the_packaged_study():
    packaged = ROOT / "src/neurobone/data/studies/article_mouse.yaml"
    example = ROOT / "examples/article_mouse_study.yaml"
    assert not example.is_symlink()
    assert example.read_text() == packaged.read_text()
    assert load_study(example).model_dump() == article_study().model_dump()


def test_default_measurement_days_include_the_end():
    assert small(duration_days=30).days == [0, 7, 14, 21, 28, 30]
    assert small(measurement_days=[28, 0, 14]).days == [0, 14, 28]


def test_design_defaults_come_from_the_model():
    mouse, women = small(), human()
    assert mouse.model.default_species == "mouse" and women.model.default_species == "human"
    assert mouse.primary == brainbone.PRIMARY_OUTPUT["mouse"]
    assert women.primary == brainbone.PRIMARY_OUTPUT["human"]
    assert mouse.output_names == list(brainbone.DEFAULT_OUTPUTS["mouse"])
    # the primary outcome comes first, whatever the list says
    assert small(primary_outcome="p1np").output_names[0] == "p1np"
    assert small(outputs=["ctx", "bv_tv"]).output_names == ["bv_tv", "ctx"]
    assert small(hypothesis="mechanical").model.parameter("g_T").value == 0.0


def test_outputs_that_cross_zero_are_analysed_as_absolute_change():
    change, endpoint = human(), human(analysis="endpoint")
    assert "t_score" in change.output_names and "t_score" in endpoint.output_names
    assert change.analysis_column("t_score") == "change"
    assert change.analysis_column("t_score_spine") == "change"
    assert change.analysis_column("abmd_ls") == "change_pct"
    assert endpoint.analysis_column("t_score") == "measured"
    chosen = human(primary_outcome="t_score", outputs=["abmd_ls", "t_score"])
    assert chosen.output_names == ["t_score", "abmd_ls"]


GOOD = """\
name: t
species: mouse
subject: {sex: female, age_weeks: 12}
duration_days: 28
n_per_arm: 3
seed: 1
arms:
  - name: sedentary
  - name: exercise
    exercise:
      - {modality: treadmill, speed_m_per_min: 12, minutes: 45, days_per_week: 5}
"""


@pytest.mark.parametrize("old, new, line, needle", [
    ("seed: 1", "seed: 1\ncolour: red", 7, "colour: unknown field"),
    ("n_per_arm: 3", "n_per_arm: 1", 5, "n_per_arm: Input should be greater than or equal to 2"),
    ("name: exercise", "name: sedentary", 9, "arms.1.name: arm name 'sedentary' is used twice"),
    ("seed: 1", "seed: 1\ncomparisons: [[exercise, nope]]", 7, "unknown arm 'nope'"),
    ("modality: treadmill", "modality: rowing", 11, "arms.1.exercise"),
    ("seed: 1", "seed: 1\noutputs: [bv_tv, bogus]", 7, "outputs.1: unknown output 'bogus'"),
    ("seed: 1", "seed: 1\nmeasurement_days: [0, 99]", 7, "day 99 is outside the study"),
    ("species: mouse", "species: fish", 2, "species: Input should be 'mouse' or 'human'"),
    ("seed: 1", "seed: 1\ndecomposition_arm: sedentary", 7, "has no exercise to decompose"),
    ("seed: 1", "seed: 1\nday: 5", 7, "day: day 5 is not a measurement day; measured days: "
     "0, 7, 14, 21, 28"),
    ("name: exercise", "name: exercise\n    subject: {age_years: 60}", 10,
     "arms.1.subject: subject.age_years is for humans"),
    ("name: exercise", "name: exercise\n    subject: {colour: red}", 10,
     "arms.1.subject.colour: unknown subject field"),
    # non-finite, boolean and out-of-range numbers (issue 13)
    ("seed: 1", "seed: 1\nmeasurement_days: []", 7, "measurement_days: give at least one day"),
    ("seed: 1", "seed: 1\nmeasurement_days: [0, .nan]", 7,
     "measurement_days.1: Input should be a finite number"),
    ("seed: 1", "seed: 1\nparameters: {tau_M: .nan}", 7,
     "parameters.tau_M: Input should be a finite number"),
    ("seed: 1", "seed: 1\nparameters: {tau_M: true}", 7, "parameters.tau_M: expected a number"),
    ("seed: 1", "seed: 1\nmeasurement: {bv_tv: .inf}", 7,
     "measurement.bv_tv: Input should be a finite number"),
    ("duration_days: 28", "duration_days: .inf", 4,
     "duration_days: Input should be a finite number"),
    ("seed: 1", "seed: true", 6, "seed: expected a number, got true"),
    ("n_per_arm: 3", "n_per_arm: false", 5, "n_per_arm: expected a number, got false"),
    ("age_weeks: 12", "age_weeks: .nan", 3, "subject.age_weeks: Input should be a finite number"),
    ("minutes: 45", "minutes: true", 11, "arms.1.exercise.0.minutes: expected a number, got true"),
    ("speed_m_per_min: 12", "speed_m_per_min: .nan", 11,
     "arms.1.exercise.0.speed_m_per_min: speed_m_per_min must be a finite number"),
    ("speed_m_per_min: 12", "speed_m_per_min: 1e300", 11,
     "arms.1.exercise.0.speed_m_per_min: speed_m_per_min must be within 0..50 for treadmill"),
    ("speed_m_per_min: 12", "speed_m_per_min: yes", 11,
     "arms.1.exercise.0.speed_m_per_min: speed_m_per_min must be a number"),
    ("speed_m_per_min: 12", "km_per_day: 5", 11,
     "arms.1.exercise.0.km_per_day: unknown field for treadmill"),
    # a name with a control character is shown as repr: the message stays one line
    ("seed: 1", 'seed: 1\n"co\\nlour": red', 7, "'co\\nlour': unknown field"),
    ("name: exercise", 'name: exercise\n    "\\e[2J": 1', 10, "arms.1.'\\x1b[2J': unknown field"),
])
def test_bad_study_files_give_one_line_errors(tmp_path, old, new, line, needle):
    path = tmp_path / "bad.yaml"
    text = GOOD.replace(old, new, 1)
    if "species: human" in new:
        text = text.replace("{modality: treadmill, speed_m_per_min: 12,", "{modality: walking,")
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        load_study(path)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:{line}: "), msg
    assert needle in msg, msg


def test_missing_and_malformed_study_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_study(tmp_path / "nope.yaml")
    p = tmp_path / "x.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_study(p)
    p.write_text("- a list\n")
    with pytest.raises(InputError, match="must be a YAML mapping"):
        load_study(p)


def test_command_line_options_are_validated():
    s = article_study()
    t = s.with_options(n_per_arm=4, seed=3, hypothesis="mechanical")
    assert (t.n_per_arm, t.seed, t.hypothesis) == (4, 3, "mechanical")
    assert t.arm_names == s.arm_names
    with pytest.raises(InputError, match="--n"):
        s.with_options(n_per_arm=1)
    with pytest.raises(InputError, match="--hypothesis"):
        s.with_options(hypothesis="telepathy")


def test_default_comparisons_rule():
    s = small(arms=[{"name": "sed"}, {"name": "ex", "exercise": [TREADMILL]},
                    {"name": "ex+bb", "exercise": [TREADMILL],
                     "interventions": [{"kind": "beta_blocker"}]},
                    {"name": "sed+bb", "interventions": [{"kind": "beta_blocker"}]}])
    assert s.comparison_pairs == [("ex", "sed"), ("ex+bb", "sed"), ("sed+bb", "sed"),
                                  ("ex+bb", "ex")]


# ----------------------------------------------------------------------------- variability
def test_population_is_median_preserving_log_normal():
    m = _with_cv(brainbone.build("mouse"), {"k_tb": 0.3})
    base = np.array([p.value for p in m.parameters])
    P = draw_parameters(base, m, seed=1, arm="a", n=20000)
    i = m.parameter_names.index("k_tb")
    x = P[:, i] / base[i]
    assert abs(np.median(x) - 1) < 0.01
    assert abs(np.std(x) / np.mean(x) - 0.3) < 0.01
    other = np.delete(P, i, axis=1)
    assert np.all(other == np.delete(base, i))


def test_animals_do_not_depend_on_arm_order_or_group_size():
    m = _with_cv(brainbone.build("mouse"), {"k_tb": 0.2, "g_T": 0.2})
    a = draw_factors(m, 5, "exercise", 10)
    assert np.array_equal(draw_factors(m, 5, "exercise", 3), a[:3])
    assert np.array_equal(draw_factors(m, 5, "exercise", 4, first=6), a[6:])
    assert not np.array_equal(draw_factors(m, 5, "sedentary", 10), a)
    assert not np.array_equal(draw_factors(m, 6, "exercise", 10), a)


def test_same_seed_same_animals_different_seed_different():
    a = run_study(small(), decompose_paths=False).animals
    b = run_study(small(), decompose_paths=False).animals
    pd.testing.assert_frame_equal(a, b)
    c = run_study(small(seed=8), decompose_paths=False).animals
    assert not np.allclose(a["measured"], c["measured"])
    # reversing the arms gives each arm the same animals
    d = run_study(small(arms=list(reversed(small().model_dump()["arms"]))),
                  decompose_paths=False).animals
    key = ["arm", "animal", "day", "output"]
    pd.testing.assert_frame_equal(a.sort_values(key).reset_index(drop=True),
                                  d.sort_values(key).reset_index(drop=True))


def test_variability_comes_from_the_models_cv(turnover_varies):
    r = run_study(small(n=4), decompose_paths=False)
    assert [v.name for v in r.variations] == ["k_tb"]
    assert list(r.variation_table().parameter) == ["k_tb"]
    t = r.animals[r.animals.output == "bv_tv"]
    day0 = t[t.day == 0]["true"]
    assert np.allclose(day0, day0.iloc[0])  # the varied parameter keeps the homeostasis
    end = t[(t.day == 28) & (t.arm == "exercise")]["true"]
    assert end.std() > 0  # but animals respond differently
    assert r.parameters["k_tb"].nunique() == 8
    assert any("baseline" in n for n in r.notes)  # the day-0 spread is instrument error only


def test_without_variability_the_spread_is_measurement_error(monkeypatch):
    build = brainbone.build
    monkeypatch.setattr(brainbone, "build", lambda species="mouse", hypothesis="article":
                        _with_cv(build(species, hypothesis), {}))
    r = run_study(small(n=4), decompose_paths=False)
    assert r.variations == [] and any("no parameter has cv > 0" in n for n in r.notes)
    for _, g in r.animals.groupby(["arm", "day", "output"]):
        assert np.ptp(g["true"]) < 1e-12 * max(1.0, abs(g["true"].iloc[0]))


def test_older_subjects_live_their_own_history(turnover_varies):
    r = run_study(human(outputs=["abmd_ls", "bv_tv_spine"]), decompose_paths=False)
    day0 = r.animals[(r.animals.day == 0) & (r.animals.output == "bv_tv_spine")]["true"]
    young = brainbone.build("human").parameter("bv_tv_spine_ref").value
    assert day0.std() > 0  # the 30-year histories differ between subjects
    assert day0.max() < young  # and every one lost bone since the young-adult reference
    assert any("menopause assumed at 51" in n for n in r.notes)


def test_compiled_and_reference_solvers_agree():
    a = run_study(small(n=2), decompose_paths=False)
    b = run_study(small(n=2), decompose_paths=False, solver=BDF())
    assert "BDF" in b.solver and "BDF" not in a.solver
    a, b = a.animals, b.animals
    assert np.allclose(a["true"], b["true"], rtol=1e-4)
    # the same noise draws: measured/true is solver-independent (log-normal instruments)
    ln = a["output"] != "connectivity"
    assert np.allclose((a["measured"] / a["true"])[ln], (b["measured"] / b["true"])[ln], rtol=1e-12)


def test_progress_reports_done_total_and_stage(article_small):
    _, calls = article_small
    done = [c[0] for c in calls]
    assert done == sorted(done) and calls[-1][0] == calls[-1][1]
    assert len({c[1] for c in calls}) == 1
    stages = " ".join(c[2] for c in calls)
    assert "integrating 15 animals" in stages and "path decomposition" in stages


# ----------------------------------------------------------------------------- measurement
def test_log_normal_instrument_has_its_cv_and_no_bias():
    inst = Instrument("x", "x", "lognormal", 0.1, "CV", "test")
    y = inst.measure(np.full(200_000, 5.0), np.random.default_rng(0))
    assert abs(np.mean(y) / 5.0 - 1) < 0.002
    assert abs(np.std(y) / np.mean(y) - 0.1) < 0.002


def test_counting_instrument_is_poisson():
    inst = INSTRUMENTS["connectivity"]
    y = inst.measure(np.full(100_000, 2.0), np.random.default_rng(0))
    counts = y * inst.value
    assert np.allclose(counts, np.round(counts))
    assert abs(np.mean(counts) - 2.0 * inst.value) < 0.5
    assert abs(np.var(counts) / np.mean(counts) - 1) < 0.02


def test_every_default_instrument_has_value_unit_and_source():
    for inst in INSTRUMENTS.values():
        assert inst.value > 0 and inst.unit and inst.source
    over = instruments_for(["bv_tv", "connectivity", "oba"],
                           {"bv_tv": 0.03, "connectivity": 0.2, "oba": 0.05})
    assert over["bv_tv"].value == 0.03
    assert abs(over["connectivity"].cv - 0.2) < 1e-12
    assert over["oba"].kind == "lognormal"
    assert instruments_for(["oba"])["oba"] is None  # no instrument: the model's value


# ----------------------------------------------------------------------------- statistics
def _animals(groups: dict[str, list[float]], day=56.0, output="bv_tv") -> pd.DataFrame:
    rows = [{"arm": a, "animal": i + 1, "day": day, "output": output, "true": v, "measured": v}
            for a, vs in groups.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows)


GROUPS = {"ctl": [8.1, 9.4, 7.7, 8.8, 9.9, 8.3], "ex": [10.2, 12.5, 9.8, 11.9, 13.1],
          "ex+inh": [8.9, 9.7, 10.4, 8.2, 9.1, 9.9, 10.8]}


def test_summary_matches_numpy():
    s = stats.summarize(_animals(GROUPS))
    for a, v in GROUPS.items():
        r = s[s.arm == a].iloc[0]
        assert r["n"] == len(v)
        assert r["mean"] == pytest.approx(np.mean(v))
        assert r["sd"] == pytest.approx(np.std(v, ddof=1))
        lo, hi = sps.t.interval(0.95, len(v) - 1, loc=np.mean(v), scale=sps.sem(v))
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))


def test_comparisons_match_scipy_and_statsmodels():
    from statsmodels.stats.multitest import multipletests

    pairs = [("ex", "ctl"), ("ex+inh", "ctl"), ("ex+inh", "ex")]
    c = stats.compare(_animals(GROUPS), pairs)
    for r, (a, b) in zip(c.itertuples(), pairs, strict=True):
        ref = sps.ttest_ind(GROUPS[a], GROUPS[b], equal_var=False)
        ci = ref.confidence_interval(0.95)
        assert r.diff == pytest.approx(np.mean(GROUPS[a]) - np.mean(GROUPS[b]))
        assert (r.ci_low, r.ci_high) == pytest.approx((ci.low, ci.high))
        assert r.p == pytest.approx(ref.pvalue)
        assert r.df == pytest.approx(ref.df)
        assert r.pct_diff == pytest.approx(100 * r.diff / np.mean(GROUPS[b]))
        assert r.pct_ci_low == pytest.approx(100 * ci.low / np.mean(GROUPS[b]))
    assert np.allclose(c["p_holm"], multipletests(c["p"], method="holm")[1])


def test_holm_matches_statsmodels_and_keeps_nan():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, np.nan])
    out = stats.holm(p)
    assert np.allclose(out[:5], multipletests(p[:5], method="holm")[1])
    assert np.isnan(out[5])


def test_welch_with_one_constant_group_matches_the_formula_without_warnings():
    x, y = [1.0, 1.0, 1.0], [2.0, 4.0, 5.0, 3.5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = stats.welch(x, y)
        v = stats.welch(y, x)
    se = np.std(y, ddof=1) / np.sqrt(len(y))  # Welch with var(x) = 0: df = n_y - 1
    h = sps.t.ppf(0.975, len(y) - 1) * se
    diff = 1.0 - np.mean(y)
    assert (w["diff"], w["se"], w["df"]) == pytest.approx((diff, se, len(y) - 1))
    assert (w["ci_low"], w["ci_high"]) == pytest.approx((diff - h, diff + h))
    assert w["t"] == pytest.approx(diff / se)
    assert w["p"] == pytest.approx(2 * sps.t.sf(abs(diff / se), len(y) - 1))
    assert (v["diff"], v["t"], v["ci_low"], v["ci_high"], v["p"]) == pytest.approx(
        (-diff, -w["t"], -w["ci_high"], -w["ci_low"], w["p"]))


@pytest.mark.parametrize("x, y", [([1.0], [2.0, 3.0]), ([2.0, 2.0], [5.0, 5.0, 5.0]),
                                  ([np.nan, 1.0], [1.0, 2.0])])
def test_welch_degenerate_groups_give_nan_without_warnings(x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = stats.welch(x, y)
    assert w["diff"] == pytest.approx(np.nanmean(x) - np.mean(y))
    assert all(np.isnan(w[k]) for k in ("se", "df", "ci_low", "ci_high", "t", "p"))


def test_welch_lets_scipy_warnings_reach_the_caller():
    # nearly identical values: SciPy warns of precision loss; the module must not hide it
    with pytest.warns(RuntimeWarning, match="[Pp]recision loss"):
        stats.welch([1.0, 1.0 + 1e-15, 1.0], [1.0, 1.0, 1.0 + 2e-16, 1.0])


def test_anova_matches_scipy():
    a = stats.anova(_animals(GROUPS)).iloc[0]
    ref = sps.f_oneway(*GROUPS.values())
    assert a["F"] == pytest.approx(ref.statistic)
    assert a["p"] == pytest.approx(ref.pvalue)
    assert (a["df_between"], a["df_within"]) == (2, sum(map(len, GROUPS.values())) - 3)


def test_anova_without_spread_is_nan_without_warnings():
    flat = _animals({"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = stats.anova(flat).iloc[0]
        one = stats.anova(_animals({"a": [1.0, 2.0, 3.0]})).iloc[0]
    assert np.isnan(a["F"]) and np.isnan(a["p"]) and (a["df_between"], a["df_within"]) == (1, 4)
    assert one["n_arms"] == 1 and np.isnan(one["F"])


def test_study_comparisons_are_welch_tests_of_the_change(article_small):
    """The comparisons a study reports are Welch tests of each animal's percent change."""
    r, _ = article_small
    assert r.analysis_value == "change_pct"
    c = r.comparisons(outputs=["bv_tv"]).set_index(["arm", "reference"])
    last = r.animals[(r.animals.day == r.last_day) & (r.animals.output == "bv_tv")]
    for a, b in r.study.comparison_pairs:
        x = last[last.arm == a]["change_pct"]
        y = last[last.arm == b]["change_pct"]
        ref = sps.ttest_ind(x, y, equal_var=False)
        assert c.loc[(a, b), "diff"] == pytest.approx(x.mean() - y.mean())
        assert c.loc[(a, b), "p"] == pytest.approx(ref.pvalue)


# ----------------------------------------------------------------------------- result, report
def test_result_tables_and_display(article_small):
    r, _ = article_small
    assert set(r.animals.columns) == {"arm", "animal", "day", "output", "true", "measured",
                                      "change", "change_pct"}
    assert r.outputs == r.study.output_names and r.primary == "bv_tv"
    first = r.animals[r.animals.day == 0].set_index(["arm", "animal", "output"])["measured"]
    last = r.animals[r.animals.day == r.last_day].set_index(["arm", "animal", "output"])
    np.testing.assert_allclose(last["change_pct"], 100 * (last["measured"] / first - 1))
    assert len(r.animals) == 5 * 3 * 9 * len(r.outputs)
    f = r.final()
    assert set(f["arm"]) == set(r.arms) and (f["n"] == 3).all()
    c = r.comparisons(outputs=["bv_tv"])
    assert len(c) == len(r.study.comparison_pairs)
    assert set(r.anova()["output"]) == set(r.outputs)
    d = r.decomposition()
    assert set(d["arm"]) == {"exercise"} and "connectivity" not in set(d["output"])
    row = d[d.output == "bv_tv"].iloc[0]
    # the article hypothesis: both paths carry a sizeable share (docs/calibration.md)
    assert 0.25 < row.neural_share < 0.85 and 0.15 < row.mechanical_share < 0.75
    assert "article_mouse" in repr(r) and "sedentary" in repr(r)
    assert "<table" in r._repr_html_()


def test_the_studys_biology(article_small):
    """The article's claims, seen in the study's true values on the last day."""
    r, _ = article_small
    t = r.animals[(r.animals.day == r.last_day)].groupby(["output", "arm"])["true"].mean()
    bv = t["bv_tv"]
    assert bv["exercise"] > bv["sedentary"]
    assert bv["exercise + circuit inhibition"] < bv["exercise"]
    assert bv["sedentary + circuit activation"] > bv["sedentary"]
    assert t["connectivity"]["exercise + circuit inhibition"] == pytest.approx(1.0)


def test_report_folder(article_small, tmp_path):
    r, _ = article_small
    index = write_report(r, tmp_path / "rep")
    folder = index.parent
    for name in ["index.html", "bv_tv_final.png", "path_decomposition.png", "results.csv",
                 "comparisons.csv", "anova.csv", "animals.csv", "decomposition.csv",
                 "parameters.csv", "instruments.csv", "study.yaml",
                 *(f"{o}_timecourse.png" for o in r.outputs)]:
        assert (folder / name).stat().st_size > 0, name
    assert (folder / "bv_tv_final.png").read_bytes()[:4] == b"\x89PNG"
    html = index.read_text()
    assert f"seed {r.study.seed}" in html and r.version in html and "article" in html
    assert r.solver.split("(")[0] in html
    # the findings are generated from this run's numbers
    c = r.comparisons(outputs=["bv_tv"]).iloc[0]
    direction = "higher" if c["diff"] > 0 else "lower"
    assert f"{abs(c['diff']):.1f} percentage points {direction}" in html
    animals = pd.read_csv(folder / "animals.csv")
    assert len(animals) == len(r.animals)
    assert load_study(folder / "study.yaml").n_per_arm == 3


def test_report_refuses_a_file_as_folder(article_small, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        write_report(article_small[0], tmp_path / "f")


def test_study_result_has_no_report_method(article_small):
    """The study layer does not import the report layer (write_report moved there)."""
    assert not hasattr(article_small[0], "write_report")
    code = ("import sys, neurobone.study.run, neurobone.study.design; "
            "print(any(m.startswith('neurobone.report') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_cli_run_small_study(cli, tmp_path):
    out = tmp_path / "tmp"
    code, text, err = cli("run", "--n", "3", "--out", out)
    assert code == 0, err
    assert "mean ± SD" in text and "exercise + circuit inhibition" in text
    assert "Comparisons" in text and "95 % CI" in text
    assert (out / "index.html").exists() and (out / "bv_tv_timecourse.png").exists()


@pytest.mark.parametrize("args, needle", [
    (["run", "nonexistent.yaml"], "does not exist"),
    (["run", "--n", "1"], "--n"),
    (["run", "--hypothesis", "telepathy"], "--hypothesis"),
    (["run", "--n", "many"], "--n"),
])
def test_cli_run_bad_input_is_one_line_exit_2(cli, one_line_error, tmp_path, monkeypatch, args,
                                              needle):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(*args)
    one_line_error(code, err, needle)


def test_the_mouse_bone_outputs_have_instruments():
    from neurobone.model import brainbone
    from neurobone.study.measurement import instruments_for

    outs = brainbone.build("mouse").outputs_for("mouse")
    bone = [o for o in outs if o in ("bv_tv", "bv_tv_spine", "ct_th")]
    assert len(bone) == 3
    assert all(i is not None and 0 < i.cv <= 0.03 for i in instruments_for(bone).values())


def test_a_one_arm_human_study_reports_without_comparisons(tmp_path):
    from neurobone.study.design import parse_study

    r = run_study(parse_study(dict(
        name="one arm", species="human", duration_days=30, n_per_arm=3, seed=4,
        subject=dict(sex="female", age_years=60), arms=[dict(name="control")])))
    assert r.comparisons().empty and "output" in r.comparisons().columns
    html = write_report(r, tmp_path / "rep").read_text()
    assert "no comparisons between arms" in html and "ANOVA across arms not available" not in html
    assert "women" in html and "mean animal" not in html
    assert "between animals" not in html
