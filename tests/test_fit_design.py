"""Fits to the data of a design's arms (`neurobone fit --design`, a study as the fit's
scenario) and hierarchical fits of subjects (`--method mixed`, neurobone.fit.mixed).

A design fit runs each arm's own scenario with the shared parameters: data simulated at
known values in three arms of a two-week mouse study are fitted back within their
intervals; rows without an SD take the study's instrument CV; bad arms are one line. A
mixed fit of subjects with their own parameter values recovers the typical values and
the between-subject spread (a slow test holds the larger version)."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from neurobone.engine.kernels import compile_model
from neurobone.errors import InputError
from neurobone.fit import lsq, mixed
from neurobone.fit.batch import evaluate
from neurobone.fit.data import prepare
from neurobone.scenario.compile import model_for
from neurobone.study.design import parse_study

RUN = {"modality": "treadmill", "minutes": 45, "days_per_week": 5}
STUDY = {
    "name": "two-week design", "species": "mouse", "subject": {"sex": "female", "age_weeks": 12},
    "duration_days": 14, "n_per_arm": 3, "seed": 1, "outputs": ["bv_tv", "connectivity"],
    "arms": [
        {"name": "sedentary"},
        {"name": "exercise", "exercise": [RUN]},
        {"name": "exercise + circuit inhibition", "exercise": [RUN],
         "interventions": [{"kind": "circuit_inhibition", "start_day": 0, "end_day": 14}]},
    ],
}
OUTPUTS = ["bv_tv", "connectivity"]
DAYS = [3.0, 7.0, 10.0, 14.0]
TRUTH = {"k_tb": 0.03, "k_grow": 0.26}


def arm_values(study, arm, names, X, outputs=OUTPUTS, days=DAYS):
    scn = study.scenario(arm)
    cm = compile_model(model_for(scn))
    v, failure, _ = evaluate(scn, cm, names, np.asarray(X, float), outputs, days)
    assert not any(failure)
    return v


@pytest.fixture(scope="module")
def study():
    return parse_study(STUDY)


@pytest.fixture(scope="module")
def data(study):
    rng = np.random.default_rng(4)
    rows = []
    for arm in study.arm_names:
        v = arm_values(study, arm, list(TRUTH), [list(TRUTH.values())])
        for i, o in enumerate(OUTPUTS):
            for k, d in enumerate(DAYS):
                rows.append({"arm": arm, "day": d, "output": o,
                             "value": v[0, i, k] * (1 + 0.02 * rng.standard_normal()),
                             "sd": 0.02 * abs(v[0, i, k])})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def fitted(data, study):
    return lsq.fit(data, study, list(TRUTH), n_starts=0)


def test_each_arm_runs_its_own_scenario_and_the_truth_is_inside(fitted):
    for p, v in TRUTH.items():
        assert fitted.low[p] < v < fitted.high[p], (p, fitted.low[p], fitted.high[p])
    traj = fitted.trajectory
    assert set(traj["arm"]) == {"sedentary", "exercise", "exercise + circuit inhibition"}
    # the arms differ: circuit inhibition removes the connectivity gain of running
    end = traj[(traj["day"] == 14) & (traj["output"] == "connectivity")].set_index("arm")
    assert end.loc["exercise", "value"] > end.loc["exercise + circuit inhibition", "value"]
    assert fitted.diagnostics["reduced_chi2"] < 3
    assert "arm" in fitted.data.columns and np.isfinite(fitted.data["fitted"]).all()


def test_a_design_fit_plots_one_colour_per_arm(fitted):
    import matplotlib

    matplotlib.use("Agg")
    fig = fitted.plot()
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any(lbl.startswith("exercise: ") for lbl in labels)


def test_rows_without_sd_take_the_studys_instrument_cv(data, study):
    prob = prepare(data.drop(columns="sd"), study, ["k_tb"], None, 10.0, 0.3)
    cvs = study.observation_cvs()
    bv = prob.data[prob.data["output"] == "bv_tv"]
    assert np.allclose(bv["sd"], cvs["bv_tv"] * bv["value"].abs())
    # an output without an instrument takes cv
    conn = prob.data[prob.data["output"] == "connectivity"]
    expect = cvs.get("connectivity", 0.3)
    assert np.allclose(conn["sd"], expect * conn["value"].abs())


def test_replicates_give_the_sd_of_a_group_fit(data, study):
    """Rows of several subjects on one day take their spread (here 10 %, far above the
    instrument's), so a group fit weighs between-subject variation as it should."""
    rng = np.random.default_rng(0)
    reps = pd.concat([data.drop(columns="sd").assign(
        subject=k, value=data["value"] * (1 + 0.1 * rng.standard_normal(len(data))))
        for k in range(4)], ignore_index=True)
    prob = prepare(reps, study, ["k_tb"], None, 10.0, 0.05)
    one = prob.data[(prob.data["arm"] == "exercise") & (prob.data["output"] == "bv_tv")
                    & (prob.data["day"] == 14.0)]
    assert len(one) == 4 and np.allclose(one["sd"], one["value"].std())
    assert (prob.data["sd"] > 0.04 * prob.data["value"].abs()).mean() > 0.7


@pytest.mark.parametrize("change,needle", [
    (lambda d: d.drop(columns="arm"), "need an 'arm' column"),
    (lambda d: d.assign(arm=d["arm"].where(d.index != 5, "swimming")),
     "row 6 names arm 'swimming', not in the design; valid: sedentary, exercise"),
])
def test_bad_arms_are_one_line(data, study, change, needle):
    with pytest.raises(InputError, match=needle.replace("(", r"\(")) as e:
        lsq.fit(change(data), study, ["k_tb"], n_starts=0)
    assert "\n" not in str(e.value)


def test_cli_design_fit_json_and_errors(cli, data, tmp_path, one_line_error):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)
    code, stdout, err = cli("fit", csv, "--design", path, "--params", "k_grow", "--starts",
                            "0", "--json")
    assert code == 0, err
    out = json.loads(stdout)
    p = out["parameters"]["k_grow"]
    assert p["low"] < TRUTH["k_grow"] < p["high"]
    code, _, err = cli("fit", csv, "--design", path, "--scenario", path, "--params", "k_grow")
    one_line_error(code, err, "--scenario and --design")
    code, _, err = cli("fit", csv, "--design", "no-such-study", "--params", "k_grow")
    one_line_error(code, err, "no such study file or built-in study")


# --- hierarchical ------------------------------------------------------------------------

SCENARIO = {"species": "mouse", "duration_days": 14, "exercise": [RUN],
            "outputs": ["bv_tv", "p1np"]}
MIXED_OUT = ["bv_tv", "p1np", "connectivity"]
MIXED_DAYS = [2.0, 4.0, 7.0, 10.0, 14.0]


def subjects_data(n, mu, omega, seed, cv=0.02):
    from neurobone.scenario.run import as_scenario

    scn = as_scenario(SCENARIO)
    cm = compile_model(model_for(scn))
    rng = np.random.default_rng(seed)
    names = list(mu)
    X = np.array([[mu[p] * np.exp(omega[p] * rng.standard_normal()) for p in names]
                  for _ in range(n)])
    v, failure, _ = evaluate(scn, cm, names, X, MIXED_OUT, MIXED_DAYS)
    assert not any(failure)
    rows = [{"subject": f"m{s}", "day": d, "output": o,
             "value": v[s, i, k] * (1 + cv * rng.standard_normal()), "sd": cv * abs(v[s, i, k])}
            for s in range(n) for i, o in enumerate(MIXED_OUT) for k, d in enumerate(MIXED_DAYS)]
    return pd.DataFrame(rows), X


@pytest.fixture(scope="module")
def small_mixed():
    data, X = subjects_data(4, {"k_grow": 0.26}, {"k_grow": 0.3}, seed=2)
    return data, X, mixed.fit(data, SCENARIO, ["k_grow"], explore=6, converge=4, seed=0)


def test_mixed_result_shape(small_mixed):
    data, X, res = small_mixed
    t = res.table()
    assert list(t["parameter"]) == ["k_grow"]
    assert {"estimate", "low", "high", "omega", "omega_low", "omega_high", "cv_pct"} <= set(t)
    assert len(res.individual) == 4 and set(res.individual["subject"]) == {"m0", "m1", "m2", "m3"}
    assert len(res.trace) == 10
    assert set(res.trajectory["subject"]) == set(res.individual["subject"])
    assert np.isfinite(res.data["fitted"]).all()
    j = json.loads(json.dumps(res.to_json()))
    assert j["method"] == "saem" and "omega" in j["parameters"]["k_grow"]
    assert "MixedResult saem" in repr(res)
    # subjects' estimates follow their own values (k_grow is well informed by connectivity)
    r = np.corrcoef(np.log(res.individual["k_grow"]), np.log(X[:, 0]))[0, 1]
    assert r > 0.8


def test_mixed_is_reproducible_from_its_seed(small_mixed):
    data, _, res = small_mixed
    again = mixed.fit(data, SCENARIO, ["k_grow"], explore=6, converge=4, seed=0)
    assert again.mu == res.mu and again.omega == res.omega


def test_mixed_plot(small_mixed):
    import matplotlib

    matplotlib.use("Agg")
    assert len(small_mixed[2].plot().axes) >= 2


@pytest.mark.parametrize("change,kwargs,needle", [
    (lambda d: d.drop(columns="subject"), {}, "needs a 'subject' \\(or 'animal'\\) column"),
    (lambda d: d.assign(subject=None), {}, "column 'subject' is empty in row 1"),
    (lambda d: d.assign(subject="m0"), {}, "1 subject; a between-subject spread needs"),
    (lambda d: d, {"explore": 0}, "explore must be an integer of at least 1"),
])
def test_mixed_bad_input_is_one_line(small_mixed, change, kwargs, needle):
    data = small_mixed[0]
    with pytest.raises(InputError, match=needle) as e:
        mixed.fit(change(data.copy()), SCENARIO, ["k_grow"], **{"explore": 2, "converge": 2,
                                                                **kwargs})
    assert "\n" not in str(e.value)


def test_cli_mixed(cli, small_mixed, tmp_path):
    csv = tmp_path / "mice.csv"
    small_mixed[0].to_csv(csv, index=False)
    scn = tmp_path / "s.yaml"
    scn.write_text(yaml.safe_dump(SCENARIO))
    out = tmp_path / "fit.csv"
    code, stdout, err = cli("fit", csv, "--scenario", scn, "--params", "k_grow", "--method",
                            "mixed", "--explore", "3", "--converge", "2", "-o", out)
    assert code == 0, err
    assert "typical" in stdout and "omega" in stdout
    assert pd.read_csv(out)["parameter"].tolist() == ["k_grow"]
    assert len(pd.read_csv(tmp_path / "fit-subjects.csv")) == 4
    code, _, err = cli("fit", csv, "--scenario", scn, "--params", "k_grow", "--explore", "3")
    assert code == 2 and "--explore applies to --method mixed only" in err


@pytest.mark.slow
def test_mixed_recovers_typical_values_and_spread():
    """12 mice, two parameters with 30 % between-subject spread: the population's
    typical values and omegas lie in their 95 % intervals."""
    mu = {"k_tb": 0.03, "k_grow": 0.26}
    omega = {"k_tb": 0.3, "k_grow": 0.3}
    data, X = subjects_data(12, mu, omega, seed=3)
    res = mixed.fit(data, SCENARIO, list(mu), seed=1)  # the default iterations
    for p in mu:
        assert res.low[p] < mu[p] < res.high[p], (p, res.low[p], res.high[p])
        assert res.omega_low[p] < omega[p] < res.omega_high[p], (p, res.omega_low[p],
                                                                res.omega_high[p])
