"""Virtual trials (neurobone trial, issue 17 item 4), the drugs' calibration/validation
bookkeeping, and the attribution of a drug-and-exercise effect (item 3)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurobone.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
COMBINATION = ROOT / "examples" / "human_denosumab_lifting.yaml"
WOMAN = {"sex": "female", "age_years": 70, "t_score_spine": -2.5}
LIFTING = {"modality": "hiit_resistance_impact", "minutes": 30, "days_per_week": 2}
DENOSUMAB = {"name": "denosumab", "dose_mg": 60, "every_days": 182}


def test_every_trial_loads_and_its_published_rows_are_booked():
    from neurobone.study.trial import load_trial, published_values, trial_names

    names = trial_names()
    assert {"freedom", "neer2001", "frame", "horizon_pft", "khosla2018",
            "grey_zoledronate", "fosit"} <= set(names)
    pub = published_values()
    assert set(pub["trial"]) <= set(names)
    assert set(pub["role"]) <= {"calibration", "validation"}
    assert pub["source"].str.len().gt(20).all()
    # a calibration row names what was fitted to it; a validation row names nothing
    cal = pub[pub["role"] == "calibration"]
    assert cal["fitted_parameter"].notna().all()
    assert pub[pub["role"] == "validation"]["fitted_parameter"].isna().all()
    for name in names:
        t = load_trial(name)
        arms = [a["name"] for a in t.arms]
        assert set(published_values(name)["arm"]) <= set(arms)
        assert t.visits_months[0] == 0


def test_calibration_rows_are_what_calibrate_drugs_fits():
    """The bookkeeping matches the script: each (drug parameter, figure) it fits is a
    calibration row with that figure, and nothing else of those trials is."""
    import importlib.util

    from neurobone.model.components.pharmacology import PREFIX
    from neurobone.study.trial import load_trial, published_values, trial_names

    spec = importlib.util.spec_from_file_location("calibrate_drugs",
                                                  ROOT / "scripts" / "calibrate_drugs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pub = published_values()
    drug_of = {n: load_trial(n).drug for n in trial_names()}
    fitted = {f"{PREFIX[t[0]]}_{t[1]}": t for t in mod.TARGETS}
    drug_rows = pub[pub["fitted_parameter"].isin(fitted)]
    assert sorted(drug_rows["fitted_parameter"]) == sorted(fitted)  # each once
    for r in drug_rows.itertuples():
        drug, _parameter, _regimen, day, target, _bracket = fitted[r.fitted_parameter]
        assert r.role == "calibration" and drug_of[r.trial] == drug
        assert r.value == pytest.approx(target) and r.output == "abmd_ls"
        assert round(r.month * 365.25 / 12) == pytest.approx(day, abs=2)
    # every other row of a trial of those drugs was never fitted
    others = pub[pub["trial"].map(drug_of).isin([t[0] for t in mod.TARGETS])
                 & ~pub["fitted_parameter"].isin(fitted)]
    assert (others["role"] == "validation").all()


def test_unknown_trial_names_the_valid_ones():
    from neurobone.study.trial import load_trial

    with pytest.raises(InputError, match="trials: active2016, fosit, frame, freedom"):
        load_trial("fit")


def test_trial_cli_lists_and_rejects(cli, one_line_error, tmp_path):
    code, out, err = cli("trial")
    assert code == 0, err
    lines = out.strip().splitlines()
    freedom = [x for x in lines if x.startswith("freedom ")]
    assert len(lines) >= 7 and len(freedom) == 1 and "denosumab" in freedom[0]
    code, _, err = cli("trial", "nope", "-o", tmp_path / "r")
    one_line_error(code, err, "unknown trial 'nope'; trials: active2016, fosit, frame, freedom")
    code, _, err = cli("trial", "frame", "--n", "1", "-o", tmp_path / "r")
    one_line_error(code, err, "--n: at least 2")
    assert not (tmp_path / "r").exists()


def test_validation_summary_counts_only_judged_rows():
    from neurobone.study.trial import validation_markdown, validation_summary

    t = pd.DataFrame({
        "trial": ["a"] * 5, "arm": ["x"] * 5, "output": ["abmd_ls"] * 5,
        "month": [12] * 5, "kind": ["difference_vs_placebo"] * 5,
        "role": ["calibration", "validation", "validation", "validation", "validation"],
        "fitted_parameter": ["p", None, None, None, None],
        "value": [9.0, 3.0, 5.0, np.nan, 2.0],
        "ci_low": [np.nan, 2.5, 4.0, np.nan, np.nan],
        "ci_high": [np.nan, 3.5, 6.0, np.nan, np.nan],
        "simulated": [8.0, 2.0, 1.0, 1.0, 1.0], "sim_ci_low": [7.0, 1.0, 0.0, 0.0, 0.0],
        "sim_ci_high": [10.0, 4.0, 2.0, 2.0, 3.0],
        "published_in_ci": ["yes", "yes", "no", "", "yes"],
        "simulated_in_published_ci": ["", "no", "no", "", ""],
        "use": ["target", "target", "target", "none", "unverified"], "source": ["s"] * 5})
    s = validation_summary(t).set_index("role")
    assert s.loc["calibration"].tolist() == [1, 1, 1, 0, 0]
    # the unverified and the empty rows are not judged
    assert s.loc["validation"].tolist() == [4, 2, 1, 2, 0]
    md = validation_markdown(t)
    assert "validation rows: 4; judged (a published value read in its source): 2" in md
    assert "inside the simulated 95 % CI: 1 of 2; simulated mean inside the published" in md
    assert "| +3 (+2.5, +3.5) | +2.0 (+1.0, +4.0) | yes | no |" in md


def test_a_small_trial_runs_with_published_beside(tmp_path):
    """Khosla 2018 (20 weeks, five arms) with 3 women per arm: every visit compared with
    placebo, the published rows carry a simulated value, the report folder is written."""
    from neurobone.report import write_trial_report
    from neurobone.study.trial import run_trial

    res = run_trial("khosla2018", n_per_arm=3, seed=2)
    assert set(res.dxa["arm"]) == {"propranolol 40 mg", "propranolol 80 mg", "atenolol",
                                   "nebivolol"}
    assert (res.dxa["ci_low"] <= res.dxa["difference"]).all()
    judged = res.published[res.published["value"].notna()]
    assert judged["simulated"].notna().all()
    assert set(judged["published_in_ci"]) <= {"yes", "no"}
    text = str(res)
    assert "source: Khosla et al. 2018" in text and "[validation]" in text
    assert "[calibration of row E19" in text
    assert repr(res).startswith("<TrialResult khosla2018: 5 arms x 3 women")
    assert "nebivolol" in res._repr_html_()
    fig = res.plot()
    assert len(fig.axes) == 3
    index = write_trial_report(res, tmp_path / "r")
    assert index.is_file() and (tmp_path / "r" / "trial.png").is_file()
    assert "trial_published.csv" in index.read_text()
    pub = pd.read_csv(tmp_path / "r" / "trial_published.csv")
    assert {"role", "source", "simulated", "published_in_ci", "ci_low",
            "simulated_in_published_ci"} <= set(pub.columns)


def test_attribute_parts_are_the_runs_they_name():
    """The drug, neural and mechanical parts are the differences of independent runs
    (the scenario without exercise; without drugs, with one path switched off), and the
    parts with the interaction add up to the combination's effect."""
    from neurobone.scenario.run import attribute, run_scenario

    base = {"species": "human", "subject": WOMAN, "duration_days": 366,
            "outputs": ["abmd_ls"]}
    df = attribute({**base, "exercise": [LIFTING], "drugs": [DENOSUMAB]})
    r = df.iloc[0]

    def final(**kw):
        return run_scenario({**base, **kw})["abmd_ls"][-1]

    untreated = final()
    assert r["untreated"] == pytest.approx(untreated, rel=1e-8)
    assert r["drug"] == pytest.approx(final(drugs=[DENOSUMAB]) - untreated, rel=1e-6)
    assert r["mechanical"] == pytest.approx(
        final(exercise=[LIFTING], parameters={"neural_path": 0.0}) - untreated, rel=1e-6)
    assert r["neural"] == pytest.approx(
        final(exercise=[LIFTING], parameters={"mech_path": 0.0}) - untreated, rel=1e-6)
    assert r["effect"] == pytest.approx(
        final(exercise=[LIFTING], drugs=[DENOSUMAB]) - untreated, rel=1e-8)
    shares = r[["drug_share", "neural_share", "mechanical_share", "interaction_share"]]
    assert shares.sum() == pytest.approx(1.0)
    assert r["interaction"] == pytest.approx(r["drug_x_exercise"] + r["neural_x_mechanical"])
    assert r["drug"] > 0 and r["mechanical"] > 0
    assert r["combination"] == ("more" if r["drug_x_exercise"] > 0 else "less")


def test_attribute_refuses_what_it_cannot_split():
    from neurobone.scenario.run import attribute

    base = {"species": "human", "subject": WOMAN, "duration_days": 30}
    with pytest.raises(InputError, match="no drug"):
        attribute({**base, "exercise": [LIFTING]})
    with pytest.raises(InputError, match="no exercise"):
        attribute({**base, "drugs": [DENOSUMAB]})
    both = {**base, "drugs": [DENOSUMAB], "exercise": [LIFTING]}
    with pytest.raises(InputError, match="day: 40 is outside the scenario"):
        attribute(both, day=40)
    with pytest.raises(InputError, match="unknown output 'foo'; valid: "):
        attribute(both, outputs=["foo"])


def test_attribute_cli(cli, tmp_path):
    out = tmp_path / "a.csv"
    code, text, err = cli("attribute", COMBINATION, "--output", "abmd_ls", "--day", "365",
                          "-o", out)
    assert code == 0, err
    assert "drug" in text and "mechanical" in text and "abmd_ls on day 365" in text
    df = pd.read_csv(out)
    assert list(df["output"]) == ["abmd_ls"] and df["day"][0] == 365


@pytest.mark.slow
def test_every_trial_runs_and_the_docs_table_is_a_fresh_run():
    """Every built-in trial at its own size: each published value that can be judged has
    a simulated value and a verdict, and docs/trials.md's measured table is what
    scripts/trial_validation.py prints now (regenerate it with that script when the
    model or the trials change)."""
    import re

    from neurobone.study.trial import validation_markdown, validation_summary, validation_table

    table = validation_table()
    judged = table[(table["use"] == "target") & table["value"].notna()]
    assert judged["simulated"].notna().all()
    s = validation_summary(table).set_index("role")
    assert s.loc["validation", "with_published_ci"] >= 21
    text = (ROOT / "docs" / "trials.md").read_text()
    block = re.search(r"<!-- validation-table[^>]*-->\n(.*?)\n<!-- /validation-table -->",
                      text, flags=re.S).group(1)
    assert block == validation_markdown(table)


def test_a_study_attributes_its_drug_and_exercise_arm(tmp_path):
    """A study arm with a drug and exercise gets the attribution of its mean subject (the
    same table as attribute() on that arm's scenario), in the API, the findings and the
    report's attribution.csv; arms without both get none."""
    from neurobone.report import write_report
    from neurobone.report.text import findings
    from neurobone.scenario.run import attribute
    from neurobone.study.design import parse_study
    from neurobone.study.run import run_study

    study = parse_study({
        "name": "dmab-lifting", "species": "human", "subject": WOMAN, "duration_days": 183,
        "n_per_arm": 3, "seed": 4, "measurement_days": [0, 182], "outputs": ["abmd_ls"],
        "arms": [{"name": "placebo"}, {"name": "denosumab", "drugs": [DENOSUMAB]},
                 {"name": "both", "drugs": [DENOSUMAB], "exercise": [LIFTING]}]})
    res = run_study(study)
    att = res.attribution()
    assert list(att["arm"]) == ["both"] and list(att["output"]) == ["abmd_ls"]
    alone = attribute(study.scenario("both"), outputs=["abmd_ls"])
    assert att["drug_share"][0] == pytest.approx(alone["drug_share"][0], rel=1e-9)
    text = findings(res)["attribution"]
    assert len(text) == 1 and text[0].startswith("In the mean woman of arm 'both'")
    index = write_report(res, tmp_path / "r")
    table = pd.read_csv(tmp_path / "r" / "attribution.csv")
    assert table["mechanical_share"][0] == pytest.approx(att["mechanical_share"][0])
    assert "Drug, neural and mechanical parts" in index.read_text()
    assert run_study(study, decompose_paths=False).attribution().empty
