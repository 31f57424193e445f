"""Least-squares fit (neurobone.fit.lsq, `neurobone fit`): data simulated at known
parameter values are fitted back within their 95 % profile intervals; a parameter no
state reads is reported not identifiable, with open sides and a null-space direction;
the Jacobian is one batched engine call; bad input is one line (exit code 2 on the
command line, nothing written).

A two-week mouse treadmill scenario keeps each fit to a few seconds."""

import json

import numpy as np
import pandas as pd
import pytest

from neurobone.engine.kernels import compile_model
from neurobone.errors import InputError
from neurobone.fit import lsq
from neurobone.fit.batch import evaluate
from neurobone.fit.lsq import THRESHOLD, fit
from neurobone.scenario.compile import model_for
from neurobone.scenario.run import as_scenario

SCENARIO = {"species": "mouse", "duration_days": 14,
            "exercise": [{"modality": "treadmill", "minutes": 45, "days_per_week": 5}],
            "outputs": ["bv_tv", "p1np"]}
OUTPUTS = ["bv_tv", "p1np", "connectivity"]
DAYS = [2.0, 4.0, 7.0, 10.0, 14.0]
#: the hip-fracture gradient of women: no state equation reads it (tests/test_sensitivity.py)
DUMMY = "fx_gr_hip_w"
#: the truth: the trabecular remodelling rate and the circuit's growth rate, moved from
#: the model's values (0.02, 0.187)
TRUTH = {"k_tb": 0.03, "k_grow": 0.26}


def synthetic(truth=TRUTH, cv=0.02, replicates=2, seed=1) -> pd.DataFrame:
    scn = as_scenario(SCENARIO)
    cm = compile_model(model_for(scn))
    names = list(truth)
    v, failure, _ = evaluate(scn, cm, names, np.array([list(truth.values())]), OUTPUTS, DAYS)
    assert not any(failure)
    rng = np.random.default_rng(seed)
    rows = [{"subject": s, "arm": "run", "day": d, "output": o,
             "value": v[0, i, k] * (1 + cv * rng.standard_normal()), "sd": cv * abs(v[0, i, k])}
            for s in range(replicates) for i, o in enumerate(OUTPUTS) for k, d in enumerate(DAYS)]
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def data():
    return synthetic()


@pytest.fixture(scope="module")
def data_file(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("fit") / "data.csv"
    data.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    import yaml

    path = tmp_path_factory.mktemp("fit") / "mouse14.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


@pytest.fixture(scope="module")
def fitted(data):
    return fit(data, SCENARIO, list(TRUTH), n_starts=1, seed=0)


@pytest.fixture(scope="module")
def with_dummy(data):
    return fit(data, SCENARIO, ["k_grow", DUMMY], n_starts=0)


def test_estimates_close_to_the_truth_and_inside_their_intervals(fitted):
    tab = fitted.table().set_index("parameter")
    for p, true in TRUTH.items():
        row = tab.loc[p]
        assert row.identifiable
        assert row.low < row.estimate < row.high
        assert row.low < true < row.high, (p, true, row.to_dict())
    assert tab.loc["k_grow", "estimate"] == pytest.approx(TRUTH["k_grow"], rel=0.05)
    assert tab.loc["k_tb", "estimate"] == pytest.approx(TRUTH["k_tb"], rel=0.3)
    # not a vacuous interval: narrower than the bounds (a factor of 10 either way)
    assert tab.loc["k_grow", "high"] / tab.loc["k_grow", "low"] < 1.5
    assert fitted.diagnostics["rank"] == 2 and fitted.diagnostics["unidentifiable_directions"] == []
    # the objective is a chi-squared of 30 data: of the order of its degrees of freedom
    assert 5 < fitted.objective < 60


def test_the_interval_ends_where_the_profile_crosses_the_threshold(fitted):
    for p in TRUTH:
        prof = fitted.profiles[p]
        rise = prof["objective"] - fitted.objective
        assert rise.min() > -1e-6
        lo, hi = fitted.low[p], fitted.high[p]
        inside = prof[(prof.value > lo) & (prof.value < hi)]
        outside = prof[(prof.value <= lo) | (prof.value >= hi)]
        assert (inside["objective"] - fitted.objective < THRESHOLD).all()
        assert (outside["objective"] - fitted.objective >= THRESHOLD - 0.05).all()
        assert len(outside) >= 2  # grid points past each end
        # the crossings are located, not interpolated on a coarse grid: at each end the
        # rise is the threshold (a quadratic-in-root interpolation between refined points)
        for end in (lo, hi):
            near = prof.iloc[(np.log(prof.value) - np.log(end)).abs().argsort()[:1]]
            assert float(near.objective.iloc[0] - fitted.objective) == pytest.approx(
                THRESHOLD, abs=0.3)


def test_a_parameter_no_state_reads_is_not_identifiable(with_dummy):
    res = with_dummy
    assert res.identifiable("k_grow")
    assert not res.identifiable(DUMMY)
    assert res.low[DUMMY] is None and res.high[DUMMY] is None
    assert res.diagnostics["rank"] == 1
    assert res.diagnostics["unidentifiable_directions"] == [{DUMMY: 1.0}]
    # its profile is flat to both bounds
    prof = res.profiles[DUMMY]
    lo, hi = res.diagnostics["bounds"][DUMMY]
    assert prof.value.min() == pytest.approx(lo) and prof.value.max() == pytest.approx(hi)
    assert np.ptp(prof.objective) < 1e-9
    assert "not identifiable" in repr(res) and "open" in repr(res)


def test_a_parameter_that_changes_nothing_does_not_change_the_others_interval(with_dummy,
                                                                             data):
    alone = fit(data, SCENARIO, ["k_grow"], n_starts=0)
    assert with_dummy.estimates["k_grow"] == pytest.approx(alone.estimates["k_grow"], rel=1e-3)
    assert with_dummy.low["k_grow"] == pytest.approx(alone.low["k_grow"], rel=2e-3)
    assert with_dummy.high["k_grow"] == pytest.approx(alone.high["k_grow"], rel=2e-3)


def test_json_shape(with_dummy):
    doc = json.loads(json.dumps(with_dummy.to_json()))
    assert set(doc) == {"method", "parameters", "objective", "diagnostics"}
    assert doc["method"] == "lsq" and list(doc["parameters"]) == ["k_grow", DUMMY]
    for v in doc["parameters"].values():
        assert set(v) == {"estimate", "low", "high", "identifiable"}
    assert doc["parameters"][DUMMY] == {"estimate": doc["parameters"][DUMMY]["estimate"],
                                        "low": None, "high": None, "identifiable": False}
    assert doc["diagnostics"]["rank"] == 1


def test_the_jacobian_is_one_batched_call(monkeypatch, data):
    calls = []

    def counting(scn, cm, names, X, outputs, days, **kw):
        calls.append(len(X))
        return evaluate(scn, cm, names, X, outputs, days, **kw)

    import neurobone.fit.data as fit_data

    monkeypatch.setattr(fit_data, "evaluate", counting)
    model = lsq._Model(lsq.prepare(data, SCENARIO, list(TRUTH), None, 10.0, 0.05))
    theta = np.log(list(TRUTH.values()))
    J = model.jacobian(theta, theta + 1)
    assert calls == [3] and J.shape == (len(data), 2) and np.abs(J).min(axis=0).all() >= 0
    assert (np.abs(J).sum(axis=0) > 0).all()


def test_plot(fitted):
    import matplotlib

    matplotlib.use("Agg")
    fig = fitted.plot()
    assert len([ax for ax in fig.axes if ax.get_visible()]) == len(OUTPUTS) + len(TRUTH)


@pytest.mark.parametrize("change, kwargs, needle", [
    (None, dict(parameters=["nope"]), "unknown parameter 'nope'"),
    ("output", {}, "unknown output 'nope'"),
    ("day", {}, "day 99 is outside the scenario (days 0 to 14)"),
    ("nan", {}, "non-finite"),
    ("short", dict(parameters=["k_tb", "k_grow"]), "1 measurement(s) for 2 parameters"),
    ("nocol", {}, "missing column(s) value"),
    (None, dict(bounds={"k_tb": (2, 1)}), "0 < low < high"),
    (None, dict(bounds={"g_T": (1, 2)}), "not among the varied parameters"),
    (None, dict(n_starts=-1), "n_starts"),
])
def test_bad_input_is_one_line(data, change, kwargs, needle):
    df = data.copy()
    if change == "output":
        df.loc[3, "output"] = "nope"
    elif change == "day":
        df.loc[0, "day"] = 99
    elif change == "nan":
        df.loc[2, "value"] = np.nan
    elif change == "short":
        df = df.iloc[:1]
    elif change == "nocol":
        df = df.drop(columns="value")
    kwargs = {"parameters": ["k_tb"], **kwargs}
    with pytest.raises(InputError) as info:
        fit(df, SCENARIO, kwargs.pop("parameters"), **kwargs)
    assert needle in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("args, needle", [
    (["--params", "nope"], "unknown parameter 'nope'"),
    (["--params", ","], "--params: give names"),
    (["--params", "k_tb", "--bounds", "k_tb=1"], "NAME=LOW:HIGH"),
    (["--params", "k_tb", "--bounds", "k_tb=2:1"], "0 < low < high"),
    (["--params", "k_tb", "--starts", "-1"], "n_starts"),
    (["--params", "k_tb", "--plot", "PLOT.xyz"], "unknown figure format"),
])
def test_cli_errors_are_one_line_and_write_nothing(cli, data_file, scenario_file, tmp_path,
                                                   args, needle, one_line_error):
    out = tmp_path / "fit.csv"
    args = [a.replace("PLOT", str(tmp_path / "fig")) for a in args]
    code, _, err = cli("fit", data_file, "--scenario", scenario_file, *args, "-o", out)
    one_line_error(code, err, needle)
    assert list(tmp_path.iterdir()) == []


def test_cli_missing_data_and_bad_data(cli, scenario_file, tmp_path, one_line_error):
    code, _, err = cli("fit", tmp_path / "missing.csv", "--scenario", scenario_file,
                       "--params", "k_tb")
    one_line_error(code, err, "does not exist")
    bad = tmp_path / "bad.csv"
    bad.write_text("day,output,value\n99,bv_tv,9\n")
    code, _, err = cli("fit", bad, "--scenario", scenario_file, "--params", "k_tb",
                       "-o", tmp_path / "out.csv")
    one_line_error(code, err, "outside the scenario")
    assert not (tmp_path / "out.csv").exists()


def test_cli_json_csv_and_plot(cli, data_file, scenario_file, tmp_path):
    out, fig = tmp_path / "fit.csv", tmp_path / "fig.png"
    code, stdout, err = cli("fit", data_file, "--scenario", scenario_file, "--params", "k_grow",
                            "--starts", "0", "--json", "-o", out, "--plot", fig)
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["method"] == "lsq" and list(doc["parameters"]) == ["k_grow"]
    k = doc["parameters"]["k_grow"]
    assert k["identifiable"] is True and k["low"] < k["estimate"] < k["high"]
    assert k["estimate"] == pytest.approx(TRUTH["k_grow"], rel=0.1)
    assert "subject, arm ignored" in err
    df = pd.read_csv(out)
    assert list(df.columns) == ["parameter", "estimate", "low", "high", "identifiable"]
    assert df.estimate[0] == pytest.approx(k["estimate"])
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_profile_intervals_cover_the_truth_at_close_to_nominal_rate():
    """Twenty synthetic data sets (new noise each seed) fitted back: each parameter's
    95 % profile interval holds the value that made the data in at least 16 of 20 (the
    nominal 19 of 20, less about two binomial SDs)."""
    inside = {p: 0 for p in TRUTH}
    seeds = range(100, 120)
    for seed in seeds:
        res = fit(synthetic(seed=seed), SCENARIO, list(TRUTH), n_starts=0, seed=0)
        for p, v in TRUTH.items():
            lo, hi = res.low[p], res.high[p]
            inside[p] += int(lo is not None and hi is not None and lo < v < hi)
    assert all(k >= 16 for k in inside.values()), inside
