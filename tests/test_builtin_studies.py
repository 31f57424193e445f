"""The built-in studies (issue 16, item 5): listed, run by name from Python and the
command line, under one or every hypothesis, with conclusions computed from the numbers.
Fast tests use 3 subjects per arm; the full studies and their answers are slow tests."""

import re

import numpy as np
import pandas as pd
import pytest

import neurobone as nb
from neurobone.errors import InputError
from neurobone.report.text import conclusions
from neurobone.study import packaged_study, questions
from tests.conftest import assert_one_line_error

QUESTIONS = ["age", "detraining", "early-intervention", "exercise-types", "regularity",
             "time-course"]


def small(name: str, n: int = 3):
    return packaged_study(name).with_options(n_per_arm=n)


# ------------------------------------------------------------------ listing and names
def test_list_studies_names_every_builtin_with_its_question():
    t = nb.list_studies()
    assert set(QUESTIONS) | {"article-mouse"} == set(t["name"])
    assert (t["question"].str.len() > 10).all()
    for name in QUESTIONS:
        s = packaged_study(name)
        assert s.conclusions == name and s.question
        assert s.run_seconds is not None and s.run_seconds < 60
    # the file stem works as well as the name
    assert packaged_study("time_course").name == packaged_study("time-course").name


def test_unknown_study_and_hypothesis_are_input_errors():
    with pytest.raises(InputError, match="built-in studies: age, article-mouse"):
        nb.run_study("no-such-study")
    with pytest.raises(InputError, match="valid: article, interoceptive, mechanical or all"):
        nb.run_hypotheses("regularity", "article,bogus")
    assert nb.study.hypothesis_names("all") == ["article", "interoceptive", "mechanical"]
    assert nb.study.hypothesis_names("mechanical, article,mechanical") == ["mechanical",
                                                                           "article"]
    assert nb.study.hypothesis_names(None) == [None]


def test_cli_lists_studies_and_rejects_an_unknown_name(cli):
    code, out, err = cli("studies")
    assert code == 0, err
    for name in QUESTIONS:
        assert name in out
    code, out, err = cli("run", "nosuch")
    assert_one_line_error(code, err, "unknown study 'nosuch'")
    assert "built-in studies: age, article-mouse, detraining" in err
    code, out, err = cli("run", "regularity", "--hypothesis", "bogus")
    assert_one_line_error(code, err, "unknown hypothesis 'bogus'")


# ------------------------------------------------------------------ the numbers behind the text
def test_half_time_of_an_exponential_approach():
    tau = 10.0
    days = np.arange(0.0, 200.0, 0.5)
    t, peak, peak_day = questions.half_time(days, 3.0 * (1 - np.exp(-days / tau)))
    assert t == pytest.approx(tau * np.log(2), rel=2e-3)
    assert peak == pytest.approx(3.0, rel=1e-6)
    # a falling response: the half-time of its absolute value, its peak signed
    t, peak, _ = questions.half_time(days, -2.0 * (1 - np.exp(-days / tau)))
    assert t == pytest.approx(tau * np.log(2), rel=2e-3) and peak < 0
    assert np.isnan(questions.half_time(days, np.zeros_like(days))[0])


def test_detraining_reads_kept_share_and_half_life_from_the_curves():
    r = nb.run_study(small("detraining"))
    t = questions.detraining(r).set_index("output")
    # the values of the table are the mean curves' (true values, stopped minus never)
    c = questions.effect_curve(r, "stopped after a year", "never", "abmd_ls")
    stop = c[c["day"] <= 364].iloc[-1]
    assert t.loc["abmd_ls", "at_stop"] == pytest.approx(stop["delta"])
    assert t.loc["abmd_ls", "last"] == pytest.approx(c["delta"].iloc[-1])
    assert t.loc["abmd_ls", "kept"] == pytest.approx(
        c["delta"].iloc[-1] / stop["delta"])
    # the circuit's gain goes within the study; its half-life is observed, after the stop
    assert t.loc["connectivity", "half_life_kind"] == "observed"
    assert 0 < t.loc["connectivity", "half_life_days"] < 364
    # the sentences carry those numbers
    text = " ".join(conclusions(r))
    hl = t.loc["connectivity", "half_life_days"]
    assert f"half of it was lost {hl:.3g} days after the stop" in text
    assert f"{100 * t.loc['abmd_ls', 'kept']:.0f} % of it kept" in text


def test_age_slope_is_the_mean_of_each_womans_own_slope():
    r = nb.run_study(small("age"))
    rows, fits = questions.benefit_by_age(r, ["abmd_ls"])
    assert list(rows["age_years"]) == [30, 45, 60, 75]
    f = fits.iloc[0]
    # paired: the slope of the mean benefits is the mean of the subjects' own slopes,
    # so it lies inside their interval
    assert f.slope_ci_low <= f.slope_per_decade <= f.slope_ci_high
    x, y = rows["age_years"].to_numpy(float), rows["diff"].to_numpy(float)
    assert f.slope_per_decade == pytest.approx(10 * np.polyfit(x, y, 1)[0])
    word = "shrank" if f.slope_per_decade * np.sign(y[0]) < 0 else "grew"
    line = [s for s in conclusions(r) if s.startswith("The benefit on lumbar spine")][0]
    assert word in line or "did not change clearly" in line
    assert f"{f.slope_per_decade:+.3g}" in line


def test_an_output_the_mechanism_does_not_move_is_said_to_be_unchanged():
    """Under the mechanical hypothesis exercise does not act on sympathetic tone: its
    differences are the integrator's rounding (~1e-13), not an effect shrinking with age."""
    r = nb.run_study(packaged_study("age").with_options(n_per_arm=2, hypothesis="mechanical"))
    lines = [s for s in conclusions(r) if "sympathetic tone" in s]
    assert lines == ["The programme did not change sympathetic tone to bone (× young adult) at "
                     "any age under the mechanical hypothesis (every difference and interval "
                     "bound below 1e-09 percentage points)."]
    assert any(s.startswith("The benefit on lumbar spine") for s in conclusions(r))


def test_early_intervention_compares_values_at_65_not_percent_changes():
    r = nb.run_study(small("early-intervention"))
    assert r.value_of("hip_fracture_10y") == "measured"
    t = questions.start_value(r)
    ten = t[(t["arm"] == "from 50") & (t["reference"] == "from 60")]
    assert ten["years_earlier"].to_numpy() == pytest.approx(10, abs=0.01)
    assert ten["age_at_day"].to_numpy() == pytest.approx(65, abs=0.01)
    text = " ".join(conclusions(r))
    assert "percent change" not in text and "Starting at 50 instead of 60" in text


def test_ranking_orders_the_arms_by_their_difference():
    r = nb.run_study(small("regularity"))
    t = questions.ranking(r, ["abmd_ls", "abmd_fn"])
    for _, g in t.groupby("output"):
        assert list(g["rank"]) == list(range(1, len(g) + 1))
        assert (np.diff(g["diff"].to_numpy()) <= 0).all()
        assert set(g["reference"]) == {"control"}
        # every schedule's effect was split into paths
        assert g["neural_share"].notna().all()
    assert questions.sessions(r, "3 x 50 min") == (3, 150.0)
    # the spread between schedules set against one DXA scan pair's chance difference
    g = t[t["output"] == "abmd_ls"]
    spread = g["diff"].max() - g["diff"].min()
    lsc = 1.96 * np.sqrt(2) * 100 * r.instruments["abmd_ls"].cv
    line = [x for x in conclusions(r) if "can differ by chance" in x][0]
    assert line.startswith("lumbar spine aBMD") and f"{100 * spread / lsc:.3g} % of" in line


def test_time_course_runs_its_mouse_companion(tmp_path):
    r = nb.run_study(small("time-course"))
    assert r.companion is not None and r.companion.study.species == "mouse"
    assert r.companion.study.n_per_arm == 3 and r.companion.study.seed == r.study.seed
    h, m = questions.half_times(r), questions.half_times(r.companion)
    assert set(h["species"]) == {"human"} and set(m["species"]) == {"mouse"}
    text = conclusions(r)
    assert text[-1].startswith("Uncertainty of carrying kinetics across species")
    th = h.set_index("output").loc["connectivity", "t_half_days"]
    tm = m.set_index("output").loc["connectivity", "t_half_days"]
    assert any(f"{th / tm:.2g} times" in s for s in text)
    # the report's copy of the study runs again, companion and all
    nb.write_report(r, tmp_path / "rep")
    again = nb.run_study(tmp_path / "rep" / "study.yaml")
    assert again.companion is not None
    assert conclusions(again) == text


def test_cli_runs_a_builtin_study_under_two_hypotheses(cli, tmp_path):
    out = tmp_path / "rep"
    code, text, err = cli("run", "regularity", "--n", "3", "--hypothesis",
                          "article,mechanical", "-o", out)
    assert code == 0, err
    for h in ("article", "mechanical"):
        assert (out / h / "index.html").is_file()
        assert re.search(rf"hypothesis:\s*{h}\b", (out / h / "study.yaml").read_text())
        assert f"Conclusions under {h}:" in text
    assert "one column per hypothesis" in text
    assert not (out / "interoceptive").exists()
    html = (out / "article" / "index.html").read_text()
    assert "<h3>Conclusions</h3>" in html and "Question:" in html


def test_run_hypotheses_gives_one_result_per_hypothesis_with_the_same_subjects():
    res = nb.run_hypotheses("detraining", "all", n_per_arm=2)
    assert list(res) == ["article", "interoceptive", "mechanical"]
    assert [r.study.hypothesis for r in res.values()] == list(res)
    # the same draws under every hypothesis: each subject's parameters are its own factors
    # on the hypothesis's reference values, so their ratios between subjects agree (the
    # reference values, life histories and states at the start differ with the mechanism)
    ratios = []
    for r in res.values():
        p = r.parameters.drop(columns=["arm", "animal"]).to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratios.append(p / p[0])
    for x in ratios[1:]:
        ok = np.isfinite(x) & np.isfinite(ratios[0])
        assert ok.sum() >= ratios[0].size // 2
        assert np.allclose(x[ok], ratios[0][ok], rtol=1e-9)
    assert all(isinstance(r.comparisons(), pd.DataFrame) for r in res.values())


# ------------------------------------------------------------------ the full studies
@pytest.mark.slow
@pytest.mark.parametrize("name", QUESTIONS)
def test_each_builtin_study_gives_its_answer(name):
    r = nb.run_study(name)
    assert conclusions(r)
    if name == "time-course":
        h = questions.half_times(r).set_index("output")["t_half_days"]
        m = questions.half_times(r.companion).set_index("output")["t_half_days"]
        assert h["abmd_ls"] > 5 * m["bv_tv"]            # bone comes much slower in women
        assert h["connectivity"] < 30 and m["connectivity"] < 30   # the circuit in days
    elif name == "exercise-types":
        t = questions.ranking(r, ["abmd_fn"]).set_index("arm")
        assert t.loc["HIIT (LIFTMOR-like)", "diff"] > t.loc["walking", "diff"]
        assert t.loc["swimming", "mechanical_share"] == pytest.approx(0, abs=0.01)
    elif name == "age":
        _, fits = questions.benefit_by_age(r, ["abmd_ls"])
        assert fits["slope_ci_high"].iloc[0] < 0 and fits["benefit_oldest"].iloc[0] > 0
    elif name == "early-intervention":
        t = questions.start_value(r, ["abmd_fn"]).set_index(["arm", "reference"])
        assert t.loc[("from 60", "never"), "ci_low"] > 0
        assert 0 < t.loc[("from 50", "from 60"), "diff"] < t.loc[("from 60", "never"), "diff"]
    elif name == "detraining":
        t = questions.detraining(r).set_index("output")
        assert 0 < t.loc["abmd_ls", "kept"] < 1
        assert t.loc["connectivity", "half_life_days"] < t.loc["abmd_ls", "half_life_days"]
    elif name == "regularity":
        t = questions.ranking(r, ["abmd_ls"])
        assert t["arm"].iloc[0] == "5 x 30 min" and t["arm"].iloc[-1] == "1 x 150 min"


def test_implausible_abmd_is_flagged_in_the_notes():
    """A woman whose spine aBMD lies more than 4 young-adult SDs above the young-adult
    mean is named in a note (the model outside its calibrated range), others are not."""
    import pandas as pd

    from neurobone.study import as_study
    from neurobone.study.run import IMPLAUSIBLE, implausible

    study = as_study("age")
    model = study.model
    m, s = model.parameter("ls_young_mean").value, model.parameter("ls_young_sd").value
    animals = pd.DataFrame({"arm": ["30, training"] * 2 + ["30, control"] * 2,
                            "animal": [1, 2, 1, 2], "day": 364.0, "output": "abmd_ls",
                            "true": [m + 4.5 * s, m, m + 3.9 * s, m]})
    notes = implausible(animals, model, study)
    assert len(notes) == 1 and notes[0].startswith(IMPLAUSIBLE)
    assert "1 woman of arm '30, training'" in notes[0] and "30, control" not in notes[0]
    assert implausible(animals.assign(true=m), model, study) == []
