"""Bayesian fit (neurobone.fit.bayes, `neurobone fit --method bayes`): data simulated at
known parameter values are recovered inside their 95 % credible intervals; a parameter no
state reads fills its prior and is reported not identifiable; each part of a step of the
ensemble is one batched engine call; the same seed gives the same samples; the report
folder; bad input is one line (exit code 2 on the command line).

The data and the two-week mouse scenario are those of tests/test_fit_lsq.py. The sampler's
cost is one homeostasis per proposal (~50 ms), so the fast tests use few walkers and steps;
the slow test samples three parameters long enough for the diagnostics to pass."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurobone.errors import InputError
from neurobone.fit import bayes
from neurobone.fit.bayes import EDGE, PosteriorResult, fit
from neurobone.report.posterior import summary_text, write_posterior
from tests.test_fit_lsq import DUMMY, SCENARIO, TRUTH, synthetic


@pytest.fixture(scope="module")
def data():
    return synthetic()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    import yaml

    path = tmp_path_factory.mktemp("bayes") / "mouse14.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


@pytest.fixture(scope="module")
def data_file(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("bayes") / "data.csv"
    data.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def posterior(data):
    """k_grow, which the data inform, beside a parameter no state reads (short: the
    diagnostics fail, and say so; fewer predictive draws)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bayes, "PREDICTIVE_DRAWS", 10)
        return fit(data, SCENARIO, ["k_grow", DUMMY], walkers=8, steps=30, burn=6, seed=0)


def _tiny(data, seed=1, **kw):
    return fit(data, SCENARIO, ["k_grow"], walkers=4, steps=1, burn=1, seed=seed, **kw)


def test_the_truth_is_inside_the_credible_interval(posterior):
    tab = posterior.table().set_index("parameter")
    k = tab.loc["k_grow"]
    assert k.identifiable
    assert k.low < TRUTH["k_grow"] < k.high
    assert k.low < k.estimate < k.high
    # far narrower than the prior (0.0187 to 1.87): the data decide it
    assert k.high / k.low < 1.5
    q = posterior.diagnostics["quantiles"]["k_grow"]
    assert (q[0], q[2]) == pytest.approx((k.low, k.high))


def test_a_parameter_no_state_reads_stays_wide(posterior):
    # 30 steps of 8 walkers do not fill the prior (the slow test samples long enough), but
    # the interval of a parameter the data do not inform spans most of it
    lo, hi = posterior.diagnostics["bounds"][DUMMY]
    q = np.log(posterior.diagnostics["quantiles"][DUMMY])
    assert (q[2] - q[0]) / np.log(hi / lo) > 0.6


def test_an_interval_end_in_the_outer_edge_of_the_prior_is_open():
    rng = np.random.default_rng(0)
    lo, hi = np.log([0.1, 0.1, 0.1]), np.log([10.0, 10.0, 10.0])
    logs = np.column_stack([
        rng.uniform(lo[0], hi[0], 4000),             # the prior itself: both sides open
        rng.normal(0.0, 0.3, 4000),                  # well inside: closed
        np.log(10) - np.abs(rng.normal(0, 0.5, 4000)),  # piled on the upper bound
    ])
    q, open_low, open_high = bayes.credible_intervals(logs, lo, hi)
    assert open_low.tolist() == [True, False, False]
    assert open_high.tolist() == [True, False, True]
    assert q[1, 1] == pytest.approx(0.0, abs=0.03)
    edge = EDGE * (hi - lo)
    assert (q[0] < lo + edge).tolist() == open_low.tolist()


def test_json_shape_table_and_samples(posterior):
    doc = posterior.to_json()
    json.dumps(doc, allow_nan=False)
    assert doc["method"] == "bayes"
    assert list(doc["parameters"]) == ["k_grow", DUMMY]
    for p in doc["parameters"].values():
        assert set(p) == {"estimate", "low", "high", "identifiable"}
    d = doc["diagnostics"]
    for key in ("rhat", "ess_bulk", "ess_tail", "autocorr_time"):
        assert set(d[key]) == {"k_grow", DUMMY}
    assert 0 < d["acceptance"] <= 1
    assert d["walkers"] == 8 and d["steps"] == 30 and d["burn"] == 6
    assert doc["objective"] == pytest.approx(float((posterior.data["residual"] ** 2).sum()))
    s = posterior.samples
    assert len(s) == 8 * 30
    assert list(s.columns) == ["walker", "step", "k_grow", DUMMY, "objective"]
    assert s["step"].min() == 6 and s["step"].max() == 35
    assert posterior.chain.shape == (36, 8, 2)
    lo, hi = posterior.diagnostics["bounds"][DUMMY]
    assert s[DUMMY].between(lo, hi).all()
    assert posterior.estimates["k_grow"] == pytest.approx(s["k_grow"].median())
    # 30 steps of 8 walkers: too few for 100 effective samples, and said so
    assert d["ess_min"] < bayes.ESS_MIN
    assert any("effective sample size" in n for n in posterior.notes)
    assert "<table" in posterior._repr_html_()


def test_figures(posterior):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for fig, n_axes in ((posterior.plot(), 6), (posterior.predictive_plot(), 3),
                        (posterior.trace_plot(), 2), (posterior.pair_plot(), 4)):
        assert len(fig.axes) == n_axes
        plt.close(fig)
    b = posterior.bands
    assert (b["low"] <= b["median"] + 1e-12).all() and (b["median"] <= b["high"] + 1e-12).all()


def test_report_folder(posterior, tmp_path):
    out = tmp_path / "post"
    readme = write_posterior(posterior, out)
    names = {p.name for p in out.iterdir()}
    assert names == {"README.md", "summary.csv", "samples.parquet", "posterior.json",
                     ".neurobone-report"} | {f"{s}.{x}" for s in ("trace", "pair", "predictive")
                                             for x in ("png", "svg")}
    assert (out / "trace.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pd.read_parquet(out / "samples.parquet").equals(posterior.samples)
    summary = pd.read_csv(out / "summary.csv")
    assert summary["parameter"].tolist() == ["k_grow", DUMMY]
    assert json.loads((out / "posterior.json").read_text())["method"] == "bayes"
    text = readme.read_text()
    k = posterior.table().set_index("parameter").loc["k_grow"]
    assert f"posterior median {k.estimate:.3g}" in text
    assert f"{k.low:.3g} to {k.high:.3g}" in text
    assert "R-hat" in text and f"{posterior.diagnostics['walkers']} walkers" in text
    assert "have not converged" in text  # 30 steps: ESS < 100
    # an open side makes the sentence of a parameter not identifiable
    opened = replace(posterior, low={**posterior.low, DUMMY: None},
                     high={**posterior.high, DUMMY: 1.0})
    assert f"{DUMMY}: **not identifiable** from these data: its posterior reaches the prior's " \
        "lower bound (" in summary_text(opened)
    write_posterior(posterior, out)  # a previous report is rewritten
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds no neurobone report"):
        write_posterior(posterior, foreign)


def test_each_part_of_a_step_is_one_batched_call_and_the_seed_decides(data, monkeypatch):
    sizes = []
    run = bayes.Measurements.run

    def counting(self, problem, X):
        sizes.append(len(X))
        return run(self, problem, X)

    monkeypatch.setattr(bayes.Measurements, "run", counting)
    a = _tiny(data)
    d = a.diagnostics
    # the starting pool (16 draws), then per step 2 calls of at most 2 rows (halves of the
    # ensemble: DE move) or 4 of 1 row (quarters: snooker move)
    assert sizes[0] == 16
    assert len(sizes) - 1 <= 4 * 2 and max(sizes[1:]) <= 2
    assert d["batched_calls"] == len(sizes) + 1  # + the predictive run
    assert d["batched_calls_per_step"] <= 4
    b = _tiny(data)
    pd.testing.assert_frame_equal(a.samples, b.samples)
    ja, jb = a.to_json(), b.to_json()
    assert (ja["parameters"], ja["objective"]) == (jb["parameters"], jb["objective"])
    assert ja["diagnostics"]["rhat"] == jb["diagnostics"]["rhat"]
    assert a.table().equals(b.table())
    c = _tiny(data, seed=2)
    assert not np.array_equal(a.samples["k_grow"], c.samples["k_grow"])


@pytest.mark.parametrize("kwargs, needle", [
    (dict(walkers=3), "walkers must be an integer of at least 4"),
    (dict(parameters=["k_grow", "k_tb", "g_T"], walkers=5), "walkers must be an integer of at "
     "least 6"),
    (dict(walkers=2.5), "walkers must be an integer"),
    (dict(steps=0), "steps must be an integer of at least 1"),
    (dict(burn=-1), "burn must be an integer of at least 0"),
    (dict(seed=-1), "seed must be a non-negative integer"),
    (dict(spread=1), "spread must be a number above 1"),
    (dict(cv=0), "cv must be a positive number"),
    (dict(parameters=["nope"]), "unknown parameter 'nope'"),
    (dict(bounds={"k_grow": (1, 0.5)}), "0 < low < high"),
])
def test_bad_options_are_one_line(data, kwargs, needle):
    kwargs = {"parameters": ["k_grow"], **kwargs}
    with pytest.raises(InputError) as info:
        fit(data, SCENARIO, kwargs.pop("parameters"), **kwargs)
    assert needle in str(info.value) and "\n" not in str(info.value)


@settings(max_examples=40, deadline=None)
@given(walkers=st.one_of(st.none(), st.integers(-3, 40), st.floats(allow_nan=True),
                         st.booleans(), st.just("8")),
       steps=st.one_of(st.integers(-3, 5000), st.floats(), st.booleans()),
       burn=st.one_of(st.none(), st.integers(-3, 5000), st.floats()),
       P=st.integers(1, 6))
def test_sampler_options_are_checked(walkers, steps, burn, P):
    try:
        w, s, b = bayes._check_sampler(walkers, steps, burn, P)
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(w, int) and w >= max(4, 2 * P)
    assert isinstance(s, int) and s >= 1 and isinstance(b, int) and b >= 0
    if walkers is not None:
        assert w == walkers


def test_cli_bad_method_and_misplaced_options(cli, data_file, scenario_file, tmp_path,
                                              one_line_error):
    base = ["fit", data_file, "--scenario", scenario_file, "--params", "k_grow"]
    code, _, err = cli(*base, "--method", "mcmc", "-o", tmp_path / "out")
    one_line_error(code, err, "--method 'mcmc' is unknown; valid: lsq, bayes")
    code, _, err = cli(*base, "--walkers", "8")
    one_line_error(code, err, "--walkers applies to --method bayes only")
    code, _, err = cli(*base, "--method", "bayes", "--starts", "2")
    one_line_error(code, err, "--starts applies to --method lsq only")
    code, _, err = cli(*base, "--method", "bayes", "--walkers", "3")
    one_line_error(code, err, "walkers must be an integer of at least 4")
    assert list(tmp_path.iterdir()) == []


def test_cli_bayes_json_and_report(cli, data_file, scenario_file, tmp_path):
    out = tmp_path / "post"
    code, stdout, err = cli("fit", data_file, "--scenario", scenario_file, "--params",
                            "k_grow", "--method", "bayes", "--walkers", "4", "--steps", "1",
                            "--burn", "1", "--seed", "1", "--json", "-o", out)
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["method"] == "bayes" and list(doc["parameters"]) == ["k_grow"]
    assert doc["diagnostics"]["walkers"] == 4 and doc["diagnostics"]["seed"] == 1
    assert "effective sample size" in err and "note: " in err
    assert (out / "README.md").is_file() and (out / "pair.svg").is_file()


@pytest.mark.slow
def test_three_parameters_recovered_and_diagnostics_reported(data):
    res = fit(data, SCENARIO, ["k_tb", "k_grow", DUMMY], walkers=12, steps=300, burn=150,
              seed=3)
    assert isinstance(res, PosteriorResult)
    for p, v in TRUTH.items():
        assert res.identifiable(p)
        assert res.low[p] < v < res.high[p]
    # the parameter no state reads fills its prior: not identifiable
    assert not res.identifiable(DUMMY)
    assert res.low[DUMMY] is None and res.high[DUMMY] is None
    assert any(DUMMY in n and "not identifiable" in n for n in res.notes)
    assert "(not identifiable)" in repr(res)
    # the walkers have roughly mixed (with seed 3, R-hat 1.07), and the notes follow the
    # thresholds
    d = res.diagnostics
    assert d["rhat_max"] < 1.2
    assert (d["rhat_max"] > bayes.RHAT_MAX) == any(n.startswith("R-hat") for n in res.notes)
    assert (d["ess_min"] < bayes.ESS_MIN) == any(n.startswith("effective sample size")
                                                 for n in res.notes)
