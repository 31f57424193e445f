"""Power by simulation: the resampling core against the closed form, a small real study,
reproducibility, the result's views and the CLI."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from neurobone.errors import InputError
from neurobone.study import parse_study, stats
from neurobone.study.power import (
    COLUMNS,
    _nested_samples,
    power,
    resample_power,
    welch_p,
)

TREADMILL = {"modality": "treadmill", "speed_m_per_min": 12, "minutes": 45, "days_per_week": 5}


def small_study(seed=1, **kw):
    """Two weeks of treadmill against two identical sedentary arms (fast; a moderate
    effect: power rises over n = 2..12)."""
    data = {"name": "small", "species": "mouse", "subject": {"sex": "female", "age_weeks": 12},
            "duration_days": 14, "n_per_arm": 4, "seed": seed,
            "arms": [{"name": "sedentary"}, {"name": "exercise", "exercise": [TREADMILL]},
                     {"name": "sedentary 2"}],
            "comparisons": [["exercise", "sedentary"], ["sedentary 2", "sedentary"]]}
    data.update(kw)
    return parse_study(data)


def mc_se(p, reps):
    return math.sqrt(max(p * (1 - p), 0.05 * 0.95) / reps)


# ----------------------------------------------------------------------------- the core
def test_welch_p_is_the_study_welch_row_by_row():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (40, 5))
    y = rng.normal(0.5, 2, (40, 7))
    x[3] = 1.0                 # one group constant: the study's one-sample route
    x[4], y[4] = 2.0, 3.0      # both constant: undefined
    y[5, 2] = np.nan           # a missing value: dropped, as the study does
    p = welch_p(x, y)
    expected = np.array([stats.welch(a, b)["p"] for a, b in zip(x, y, strict=True)])
    np.testing.assert_allclose(p, expected, rtol=1e-10, equal_nan=True)
    assert np.isnan(p[4]) and np.isfinite(p[3]) and np.isfinite(p[5])


def test_holm_rows_is_statsmodels_holm_per_family():
    """Each row adjusted as statsmodels adjusts one family (its NaNs left out of the
    family). Few rows: statsmodels' Holm runs gc.collect() on every call."""
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(1)
    p = rng.uniform(0, 0.2, (6, 4))
    p[rng.uniform(size=p.shape) < 0.25] = np.nan
    p[0] = np.nan
    p[1] = [0.01, 0.01, 0.2, 0.03]  # ties
    got = stats.holm_rows(p)
    for row, adj in zip(p, got, strict=True):
        ok = np.isfinite(row)
        assert np.isnan(adj[~ok]).all()
        if ok.any():
            np.testing.assert_allclose(adj[ok], multipletests(row[ok], method="holm")[1],
                                       rtol=1e-12)


def test_nested_samples_are_draws_without_replacement():
    rng = np.random.default_rng(2)
    idx = _nested_samples(30, 12, 500, rng)
    assert idx.shape == (500, 12)
    assert all(len(set(row)) == 12 for row in idx)
    assert idx.min() >= 0 and idx.max() < 30
    # every subject of the pool is about equally likely in the first n of a replicate
    counts = np.bincount(idx[:, :6].ravel(), minlength=30)
    assert counts.min() > 0.6 * counts.mean() and counts.max() < 1.4 * counts.mean()
    whole = _nested_samples(8, 8, 5, rng)  # n = the pool: every subject once
    assert (np.sort(whole, axis=1) == np.arange(8)).all()


def test_resample_power_matches_the_closed_form_for_normal_pools():
    """Two normal populations (SD 1, means 0 and d): the simulated power of Welch's test
    is statsmodels' closed-form power of the two-sample t-test, within Monte Carlo error
    (Welch and Student agree closely at equal n and SD from n = 6 on)."""
    from statsmodels.stats.power import TTestIndPower

    rng = np.random.default_rng(3)

    def pool(mean, size=4000):
        z = rng.standard_normal(size)
        return mean + (z - z.mean()) / z.std(ddof=0)  # exactly mean, SD 1

    ns, alpha, reps, chunks = [6, 12, 24], 0.05, 2000, 3
    for d in (0.0, 0.8):
        pools = {"a": pool(d), "b": pool(0.0)}
        detected = sum(
            resample_power(pools, [("a", "b")], ns, n_reps=reps, alpha=alpha,
                           rng=np.random.default_rng(10 + c))["detected"].to_numpy()
            for c in range(chunks))
        sim = detected / (reps * chunks)
        for n, p in zip(ns, sim, strict=True):
            exact = alpha if d == 0 else TTestIndPower().power(d, nobs1=n, alpha=alpha)
            # 4 Monte Carlo SEs, plus 0.01 for Welch's smaller degrees of freedom
            assert abs(p - exact) < 4 * mc_se(exact, reps * chunks) + 0.01, (d, n, p, exact)


def test_resample_power_table_and_binomial_interval():
    rng = np.random.default_rng(4)
    pools = {"a": rng.normal(1, 1, 200), "b": rng.normal(0, 1, 200)}
    df = resample_power(pools, [("a", "b")], [8, 4], n_reps=50, rng=np.random.default_rng(5))
    assert list(df["n"]) == [4, 8]
    assert (df["power"] == df["detected"] / 50).all()
    assert ((df["ci_low"] <= df["power"]) & (df["power"] <= df["ci_high"])).all()
    assert ((0 <= df["ci_low"]) & (df["ci_high"] <= 1)).all()
    with pytest.raises(InputError, match="pool of 200"):
        resample_power(pools, [("a", "b")], [201], n_reps=10)


# ----------------------------------------------------------------------------- a real study
@pytest.fixture(scope="module")
def small_power():
    calls = []
    r = power(small_study(), [2, 4, 8, 12], n_reps=200,
              progress=lambda done, total, stage: calls.append((done, total, stage)))
    return r, calls


def test_power_rises_with_n_on_a_real_study(small_power):
    r, _ = small_power
    t = r.table()
    assert list(t.columns) == COLUMNS
    ex = t[t["comparison"] == "exercise vs sedentary"].sort_values("n")
    p = ex["power"].to_numpy()
    # non-decreasing within Monte Carlo error, and clearly rising over the range
    for a, b in zip(p[:-1], p[1:], strict=True):
        assert b >= a - 3 * mc_se(a, 200), p
    assert p[-1] > p[0] + 0.3, p
    assert r.pool == {"sedentary": 200, "exercise": 200, "sedentary 2": 200}
    assert set(r.n_for(0.0).values()) == {2}
    assert r.n_for(1.01) == {"exercise vs sedentary": None, "sedentary 2 vs sedentary": None}


def test_two_identical_arms_have_power_near_alpha(small_power):
    r, _ = small_power
    t = r.table()
    null = t[t["comparison"] == "sedentary 2 vs sedentary"]
    # Holm across the two comparisons can only lower it
    assert (null["power"] <= 0.05 + 3 * mc_se(0.05, 200)).all(), null
    # alone, unadjusted, with more replicates: about alpha
    alone = power(small_study(), [6, 12], comparisons=[("sedentary 2", "sedentary")],
                  n_reps=800, pool=300)
    assert alone.n_reps == 800
    for p in alone.table()["power"]:
        assert abs(p - 0.05) < 4 * mc_se(0.05, 800) + 0.01, p


def test_progress_counts_the_pool_then_each_n(small_power):
    _, calls = small_power
    totals = {t for _, t, _ in calls}
    assert len(totals) == 1
    total = totals.pop()
    assert calls[-1][0] == total
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)
    assert [s for _, _, s in calls[-4:]] == [f"resampling n = {n}" for n in (2, 4, 8, 12)]
    assert calls[0][2].startswith("pool: ")


def test_same_seed_same_table_other_seed_other_table(small_power):
    r, _ = small_power
    again = power(small_study(), [2, 4, 8, 12], n_reps=200)
    pd.testing.assert_frame_equal(r.table(), again.table())
    other = power(small_study(), [2, 4, 8, 12], n_reps=200, seed=2)
    assert other.seed == 2
    assert not r.table()["power"].equals(other.table()["power"])
    # the study's seed is the default: changing it changes the result as seed= does
    moved = power(small_study(seed=2), [2, 4, 8, 12], n_reps=200)
    pd.testing.assert_frame_equal(moved.table(), other.table())


def test_result_views(small_power, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r, _ = small_power
    text = repr(r)
    assert text.startswith("<PowerResult 'small': bv_tv, percent change from baseline; "
                           "Welch, Holm across 2 comparisons; alpha 0.05; 200 resamples")
    assert "n for 80 % power" in text and "exercise vs sedentary" in text
    assert "<table" in r._repr_html_()
    w = r.wide()
    assert list(w.columns) == ["n", "exercise vs sedentary", "sedentary 2 vs sedentary"]
    fig = r.plot()
    assert len(fig.axes[0].lines) >= 2 + 2  # two comparisons, the target and alpha lines
    fig.savefig(tmp_path / "power.png")
    plt.close(fig)


@pytest.mark.parametrize("kw, needle", [
    ({"n_values": [1, 4]}, "at least 2"),
    ({"n_values": []}, "at least one n"),
    ({"n_reps": 5}, "at least 10"),
    ({"alpha": 1.0}, "between 0 and 1"),
    ({"alpha": 0.0}, "between 0 and 1"),
    ({"comparisons": [("exercise", "nope")]}, "no arm 'nope'"),
    ({"comparisons": [("exercise", "exercise")]}, "with itself"),
    ({"pool": 3}, "pool"),
    ({"output": "abmd_ls"}, "not one of the study's outputs"),
])
def test_bad_options_are_input_errors_before_any_work(kw, needle, monkeypatch):
    import neurobone.study.power as mod

    monkeypatch.setattr(mod, "run_study", lambda *a, **k: pytest.fail("simulated"))
    args = {"n_values": [4, 8], **kw}
    with pytest.raises(InputError, match=needle):
        power(small_study(), args.pop("n_values"), **args)


# ----------------------------------------------------------------------------- CLI
@pytest.fixture
def study_file(tmp_path):
    import yaml

    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_study().model_dump(exclude_none=True), sort_keys=False))
    return path


def test_cli_power_json_shape(cli, study_file):
    code, out, err = cli("power", study_file, "--n", "4..8", "--step", "4", "--reps", "20",
                         "--comparison", "exercise:sedentary", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {"study", "output", "analysis", "alpha", "n_reps", "pool", "seed", "adjust",
            "n_for_80", "rows"} <= set(data)
    assert data["n_reps"] == 20 and data["seed"] == 1 and data["output"] == "bv_tv"
    assert list(data["n_for_80"]) == ["exercise vs sedentary"]
    assert [r["n"] for r in data["rows"]] == [4, 8]
    assert set(data["rows"][0]) == set(COLUMNS)
    assert data["pool"] == {"sedentary": 200, "exercise": 200}  # only the arms compared


def test_cli_power_table_csv_and_plot(cli, study_file, tmp_path):
    csv, png = tmp_path / "power.csv", tmp_path / "power.png"
    code, out, err = cli("power", study_file, "--n", "4,8", "--reps", "20", "-o", csv,
                         "--plot", png)
    assert code == 0, err
    assert "power by n" in out and "80 % power: exercise vs sedentary" in out
    df = pd.read_csv(csv)
    assert list(df.columns) == COLUMNS and len(df) == 4
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_power_under_each_hypothesis(cli, study_file, tmp_path):
    """--hypothesis: one power table per mechanism, a hypothesis column in the CSV, one
    panel each in the figure; the JSON keyed by hypothesis."""
    csv, png = tmp_path / "power.csv", tmp_path / "power.png"
    args = ("power", study_file, "--n", "4,8", "--reps", "10", "-c", "exercise:sedentary",
            "--hypothesis", "article,mechanical")
    code, out, err = cli(*args, "-o", csv, "--plot", png)
    assert code == 0, err
    text = " ".join(out.split())  # a table's title wraps to the table's width
    assert "under the article hypothesis" in text and "under the mechanical hypothesis" in text
    assert "[mechanical] 80 % power: exercise vs sedentary" in text
    df = pd.read_csv(csv)
    assert list(df.columns) == ["hypothesis", *COLUMNS]
    assert df["hypothesis"].tolist() == ["article"] * 2 + ["mechanical"] * 2
    assert png.read_bytes()[:4] == b"\x89PNG"
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    data = json.loads(out)["hypotheses"]
    assert list(data) == ["article", "mechanical"]
    assert all([r["n"] for r in d["rows"]] == [4, 8] for d in data.values())


def test_cli_power_takes_a_builtin_study_by_name(cli, one_line_error, monkeypatch):
    import neurobone.study.power as mod

    seen = {}

    def fake_power(study, n_values, **kw):
        seen["study"] = study.name
        raise InputError("stop here")

    monkeypatch.setattr(mod, "power", fake_power)
    monkeypatch.setattr("neurobone.study.power.power", fake_power)
    code, _, err = cli("power", "regularity", "--n", "4..6")
    one_line_error(code, err, "stop here")
    assert seen["study"] == "regularity"
    code, _, err = cli("power", "no-such-study", "--n", "4..6")
    one_line_error(code, err, "built-in studies: age")


@pytest.mark.parametrize("args, needle", [
    (["--n", "4..8", "--hypothesis", "bogus"], "valid: article, interoceptive, mechanical"),
    (["--n", "1..5"], "at least 2"),
    (["--n", "8..4"], "ends before it starts"),
    (["--n", "4..x"], "range A..B"),
    (["--n", "4,,a"], "range A..B"),
    (["--n", "4,6", "--step", "2"], "--step goes with a range"),
    (["--n", "4..8", "--step", "0"], "--step must be"),
    (["--n", "4..8", "--comparison", "exercise:nope"], "unknown arm 'nope'"),
    (["--n", "4..8", "--comparison", "exercise"], "ARM:REFERENCE"),
    (["--n", "4..8", "--reps", "9"], "--reps must be at least 10"),
    (["--n", "4..8", "--alpha", "1"], "--alpha must be between 0 and 1"),
    (["--n", "4..8", "--alpha", "-0.1"], "--alpha must be between 0 and 1"),
    (["--n", "4..8", "--pool", "5"], "--pool must be at least"),
    (["--n", "4..8", "--plot", "fig.txt"], ".png, .svg or .pdf"),
])
def test_cli_power_bad_input_is_one_line_exit_2_and_writes_nothing(
        cli, one_line_error, study_file, tmp_path, monkeypatch, args, needle):
    import neurobone.study.power as mod

    monkeypatch.setattr(mod, "run_study", lambda *a, **k: pytest.fail("simulated"))
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, err = cli("power", study_file, *args, "-o", "table.csv")
    one_line_error(code, err, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_power_unwritable_output_fails_before_work(cli, one_line_error, study_file,
                                                       tmp_path, monkeypatch):
    import neurobone.study.power as mod

    monkeypatch.setattr(mod, "run_study", lambda *a, **k: pytest.fail("simulated"))
    code, _, err = cli("power", study_file, "--n", "4..8", "-o", tmp_path / "no" / "t.csv")
    one_line_error(code, err, "does not exist")


def test_cli_power_writes_atomically_and_a_failure_keeps_the_previous_files(
        cli, one_line_error, study_file, tmp_path, monkeypatch):
    import neurobone.study.power as mod
    from neurobone.atomic import TMP_PREFIX
    from tests.helpers import spy_atomic_writes

    seen = spy_atomic_writes(monkeypatch)
    csv, png = tmp_path / "t.csv", tmp_path / "f.png"
    code, _, err = cli("power", study_file, "--n", "4", "--reps", "10", "-o", csv, "--plot", png)
    assert code == 0, err
    assert seen == ["t.csv", "f.png"]
    # a failure during the work: one line, the previous files as they were, no leftovers
    csv.write_text("previous\n")

    def fails(*a, **k):
        raise InputError("the pool failed")

    monkeypatch.setattr(mod, "run_study", fails)
    before = png.read_bytes()
    code, _, err = cli("power", study_file, "--n", "4", "-o", csv, "--plot", png)
    one_line_error(code, err, "the pool failed")
    assert csv.read_text() == "previous\n" and png.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TMP_PREFIX)]


def test_power_is_in_the_lazy_namespace():
    import neurobone as nb

    assert nb.power is power
    assert "power" in dir(nb)
