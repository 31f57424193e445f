"""Global sensitivity analysis (neurobone.fit.sensitivity, `neurobone sensitivity`): a
parameter the output cannot depend on gets exactly zero, an influential one a clearly
larger index; each sample is the scenario with those parameter values; same seed, same
table; bad input is one line (exit code 2 on the command line, nothing written).

A two-week mouse treadmill scenario and small designs keep every test to seconds."""

import json

import numpy as np
import pandas as pd
import pytest

from neurobone.engine.kernels import compile_model
from neurobone.errors import InputError, SolverError
from neurobone.fit import sensitivity as sens
from neurobone.fit.sensitivity import sensitivity
from neurobone.scenario.compile import base_parameters, model_for
from neurobone.scenario.run import as_scenario, run_scenario
from neurobone.scenario.subjects import reference

SCENARIO = {"species": "mouse", "duration_days": 14,
            "exercise": [{"modality": "treadmill", "minutes": 45, "days_per_week": 5}],
            "outputs": ["bv_tv", "p1np"]}
#: the hip-fracture gradient of women: it enters only the fracture-risk expressions,
#: which no state equation reads (checked below), so no mouse bone output depends on it
DUMMY = "fx_gr_hip_w"
#: the share of trabecular bone remodelled per day: sets the pace of the exercise response
INFLUENTIAL = "k_tb"


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    import yaml

    path = tmp_path_factory.mktemp("sens") / "mouse14.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


@pytest.fixture(scope="module")
def sobol():
    return sensitivity(SCENARIO, [INFLUENTIAL, "g_T", DUMMY], n=16, seed=1,
                       bounds={"g_T": (0.1, 0.2)})


def test_the_dummy_parameter_is_not_read_by_any_state_equation():
    scn = as_scenario(SCENARIO)
    cm = compile_model(model_for(scn))
    ref = reference(cm, base_parameters(cm, scn.parameters))
    p = ref.p.copy()
    p[cm.param_index(DUMMY)] *= 3.0
    n = cm.n_states
    a = np.array(cm.rhs(0.0, ref.y.copy(), ref.p.copy(), np.zeros(n)))
    b = np.array(cm.rhs(0.0, ref.y.copy(), p, np.zeros(n)))
    assert np.array_equal(a, b)


def test_sobol_zero_for_the_dummy_and_large_for_the_influential(sobol):
    df = sobol.table()
    assert list(df.columns) == ["output", "day", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert len(df) == 2 * 3 and set(df.day) == {14.0}
    assert sobol.evaluations == 16 * (3 + 2)
    for out in ("bv_tv", "p1np"):
        rows = df[df.output == out].set_index("parameter")
        assert rows.loc[DUMMY, "ST"] == 0.0 and rows.loc[DUMMY, "S1"] == 0.0
        assert rows.loc[INFLUENTIAL, "ST"] > 0.2
    bv = df[df.output == "bv_tv"].set_index("parameter")
    assert bv.loc[INFLUENTIAL, "ST"] > 0.5 and bv.loc[INFLUENTIAL, "S1"] > 0.5  # ~1.2 at n=16


def test_samples_are_log_uniform_within_their_ranges(sobol):
    ranges = {r.name: r for r in sobol.ranges}
    assert ranges["g_T"].low == 0.1 and ranges["g_T"].high == 0.2
    k = ranges[INFLUENTIAL]
    assert k.low == pytest.approx(k.value / 2) and k.high == pytest.approx(k.value * 2)
    for name, r in ranges.items():
        x = sobol.samples[name]
        assert x.min() >= r.low and x.max() <= r.high
    assert np.isfinite(sobol.values).all()


def test_morris_mu_star_zero_for_the_dummy():
    res = sensitivity(SCENARIO, [INFLUENTIAL, DUMMY], outputs=["bv_tv"], method="morris",
                      n=4, seed=0)
    df = res.table().set_index("parameter")
    assert list(res.table().columns) == ["output", "day", "parameter", "mu_star",
                                         "mu_star_conf", "sigma"]
    assert res.evaluations == 4 * 3
    assert df.loc[DUMMY, "mu_star"] == 0.0 and df.loc[DUMMY, "sigma"] == 0.0
    assert df.loc[INFLUENTIAL, "mu_star"] > 0.1


def test_a_sample_is_the_scenario_with_those_parameters():
    # k_res moves the homeostasis: each sample must have its own reference
    scn = as_scenario(SCENARIO)
    cm = compile_model(model_for(scn))
    names = ["k_res", INFLUENTIAL]
    X = np.array([[120.0, 0.03], [320.0, 0.012]])
    values, failure, _ = sens.evaluate(scn, cm, names, X, ["bv_tv", "p1np"], [7.0, 14.0])
    assert failure == ["", ""]
    for i in range(2):
        res = run_scenario({**SCENARIO, "parameters": dict(zip(names, X[i], strict=True))})
        expected = [[res["bv_tv"][7], res["bv_tv"][14]], [res["p1np"][7], res["p1np"][14]]]
        np.testing.assert_allclose(values[i], expected, rtol=1e-9)
    assert not np.allclose(values[0], values[1])


def test_same_seed_same_table_other_seed_another():
    def run(seed):
        return sensitivity(SCENARIO, [INFLUENTIAL, "g_T"], outputs=["bv_tv"], n=4,
                           seed=seed).table()

    a = run(3)
    pd.testing.assert_frame_equal(a, run(3))
    b = run(4)
    assert not np.allclose(a[["S1", "ST"]].to_numpy(), b[["S1", "ST"]].to_numpy())


def test_plot_and_repr(sobol):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = sobol.plot()
    try:
        assert len(fig.axes) == 2
    finally:
        plt.close(fig)
    text = repr(sobol)
    assert text.startswith("<SensitivityResult sobol n=16 seed=1") and "bv_tv day 14" in text
    assert "<table" in sobol._repr_html_()


@pytest.mark.parametrize("kwargs, needle", [
    (dict(parameters=["nope"]), "unknown parameter 'nope'"),
    (dict(parameters=[]), "give a list"),
    (dict(parameters=["k_tb", "k_tb"]), "more than once"),
    (dict(parameters=["OBa_ref"]), "cannot be varied"),
    (dict(parameters=["ex_load_ax"]), "give bounds"),
    (dict(n=6), "power of two"),
    (dict(n=1, method="morris"), "at least 2"),
    (dict(method="fast"), "sobol, morris"),
    (dict(spread=1.0), "above 1"),
    (dict(bounds={"k_tb": (0.04, 0.01)}), "0 < low < high"),
    (dict(bounds={"k_tb": (-1, 0.01)}), "0 < low < high"),
    (dict(bounds={"g_T": (0.1, 0.2)}), "not among the varied"),
    (dict(outputs=["nope"]), "unknown output 'nope'"),
    (dict(days=15), "within the scenario, 0 to 14"),
    (dict(days=-1), "within the scenario"),
    (dict(seed=-1), "non-negative"),
])
def test_bad_input_is_one_line(kwargs, needle):
    kwargs = {"parameters": ["k_tb"], **kwargs}
    with pytest.raises(InputError) as info:
        sensitivity(SCENARIO, kwargs.pop("parameters"), **kwargs)
    text = str(info.value)
    assert needle in text and "\n" not in text


def test_a_parameter_the_set_up_overwrites_is_refused():
    with pytest.raises(InputError, match="set by the subject's set-up"):
        sensitivity(SCENARIO, ["male"], bounds={"male": (0.5, 1.0)}, method="morris", n=2)


def test_a_failed_sample_fails_the_analysis_in_one_line(monkeypatch):
    def failing(scn, cm, names, X, outputs, days, **kw):
        failure = ["scenario: step size too small on day 3.0"] + [""] * (len(X) - 1)
        return np.ones((len(X), len(outputs), len(days))), failure, []

    monkeypatch.setattr(sens, "evaluate", failing)
    with pytest.raises(SolverError) as info:
        sensitivity(SCENARIO, ["k_tb"], n=2)
    text = str(info.value)
    assert text.startswith("1 of 6 samples failed (first: k_tb=") and "\n" not in text
    assert "none is dropped" in text


@pytest.mark.parametrize("args, needle", [
    (["--params", "nope"], "unknown parameter 'nope'"),
    (["--params", ","], "--params: give names"),
    (["--params", "k_tb", "--n", "6"], "power of two"),
    (["--params", "k_tb", "--spread", "0.5"], "above 1"),
    (["--params", "k_tb", "--day", "99"], "within the scenario"),
    (["--params", "k_tb", "--outputs", "nope"], "unknown output 'nope'"),
    (["--params", "k_tb", "--method", "fast"], "sobol, morris"),
    (["--params", "k_tb", "--bounds", "k_tb=1"], "NAME=LOW:HIGH"),
    (["--params", "k_tb", "--bounds", "k_tb=2:1"], "0 < low < high"),
    (["--params", "k_tb", "--plot", "PLOT.xyz"], "unknown figure format"),
    (["--params", "k_tb", "--n", "four"], "'--n'"),
])
def test_cli_errors_are_one_line_and_write_nothing(cli, scenario_file, tmp_path, args, needle):
    out = tmp_path / "indices.csv"
    args = [a.replace("PLOT", str(tmp_path / "fig")) for a in args]
    code, stdout, err = cli("sensitivity", scenario_file, *args, "-o", out)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurobone: error:") and needle in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_missing_scenario_and_unwritable_output(cli, tmp_path):
    code, _, err = cli("sensitivity", tmp_path / "missing.yaml", "--params", "k_tb")
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("sensitivity", tmp_path / "missing.yaml", "--params", "k_tb",
                       "-o", tmp_path / "no" / "x.csv")
    assert code == 2 and "does not exist" in err


def test_cli_json_csv_and_plot(cli, scenario_file, tmp_path):
    out, fig = tmp_path / "indices.csv", tmp_path / "fig.png"
    code, stdout, err = cli("sensitivity", scenario_file, "--params", f"{INFLUENTIAL},{DUMMY}",
                            "--outputs", "bv_tv", "--method", "morris", "--n", "2",
                            "--seed", "5", "--json", "-o", out, "--plot", fig)
    assert code == 0, err
    doc = json.loads(stdout)
    assert set(doc) >= {"method", "n", "seed", "parameters", "indices"}
    assert (doc["method"], doc["n"], doc["seed"]) == ("morris", 2, 5)
    assert list(doc["parameters"]) == [INFLUENTIAL, DUMMY]
    k = doc["parameters"][INFLUENTIAL]
    assert k["low"] == pytest.approx(k["value"] / 2) and k["high"] == pytest.approx(2 * k["value"])
    assert [r["parameter"] for r in doc["indices"]] == [INFLUENTIAL, DUMMY]
    assert set(doc["indices"][0]) == {"output", "day", "parameter", "mu_star", "mu_star_conf",
                                      "sigma"}
    assert doc["indices"][1]["mu_star"] == 0.0
    df = pd.read_csv(out)
    assert list(df.parameter) == [INFLUENTIAL, DUMMY]
    assert df.mu_star.tolist() == pytest.approx([r["mu_star"] for r in doc["indices"]])
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_prints_a_table(cli, scenario_file):
    code, stdout, err = cli("sensitivity", scenario_file, "--params", INFLUENTIAL,
                            "--outputs", "bv_tv", "--method", "morris", "--n", "2")
    assert code == 0, err
    assert "morris, n=2, seed=0: 4 evaluations" in stdout
    assert "mu_star" in stdout and INFLUENTIAL in stdout
