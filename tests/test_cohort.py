"""Virtual cohorts: populations, chunk-invariance, the store, resume, Dask, query, CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from neurobone.cohort import query, run_cohort
from neurobone.cohort.run import default_solver_name
from neurobone.cohort.store import chunk_path, open_cohort, read_manifest, record_path
from neurobone.errors import InputError
from neurobone.scenario import population as popmod
from neurobone.scenario.run import run_scenario
from neurobone.scenario.schema import Subject, parse_scenario

#: a short human scenario: exercise from day 20, a population spanning pre- and
#: postmenopausal women so that some reach menopause during the scenario
HUMAN = {
    "species": "human",
    "duration_days": 365,
    "exercise": [{"modality": "running", "minutes": 30, "days_per_week": 3, "start_day": 20}],
    "outputs": ["abmd_ls"],
    "population": {
        "age_years": {"dist": "uniform", "low": 46, "high": 70},
        "menopause_age_years": {"dist": "truncnormal", "mean": 51, "sd": 4, "low": 40, "high": 60},
        "activity": {"dist": "truncnormal", "mean": 1.0, "sd": 0.1, "low": 0.7, "high": 1.3},
    },
}
MOUSE = {
    "species": "mouse",
    "duration_days": 28,
    "exercise": [{"modality": "treadmill", "speed_m_per_min": 12, "minutes": 45,
                  "days_per_week": 5}],
    "interventions": [{"kind": "ovariectomy", "start_day": 0}],
    "outputs": ["bv_tv", "estrogen"],
    "population": {"age_weeks": {"dist": "uniform", "low": 10, "high": 30}},
}
N = 48


def tables(out) -> tuple[pd.DataFrame, pd.DataFrame]:
    s = query(out, "SELECT * EXCLUDE (chunk) FROM summary ORDER BY subject")
    t = query(out, "SELECT * EXCLUDE (chunk) FROM trajectories ORDER BY subject, day")
    return s, t


def assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a[0], b[0], check_exact=True)
    pd.testing.assert_frame_equal(a[1], b[1], check_exact=True)


@pytest.fixture(scope="module")
def human_ref(tmp_path_factory):
    """An uninterrupted in-process human cohort (one chunk): the reference result."""
    out = tmp_path_factory.mktemp("cohort") / "ref"
    res = run_cohort(HUMAN, N, 7, out, chunk_size=N, trajectory_every=5)
    return out, tables(out), res


# ----------------------------------------------------------------------------- populations
def test_default_t_score_reproduces_nhanes_femoral_neck_prevalence():
    # women 50+ weighted as in the 2010 Census: the fit's own targets (Looker 2010)
    e, c = popmod.US_WOMEN_2010["edges"], popmod.US_WOMEN_2010["counts"]
    spec = popmod.resolve(parse_scenario({
        "species": "human", "duration_days": 1,
        "population": {"age_years": {"dist": "histogram", "edges": list(e), "weights": list(c)}},
    }).population, "human", Subject())
    df = popmod.sample_covariates(spec, "human", 11, 0, 20000, 30 * 365.25)
    t = df["t_score"]
    assert abs((t <= -2.5).mean() - 0.10) < 0.012
    assert abs(((t > -2.5) & (t < -1.0)).mean() - 0.49) < 0.02
    # and the mean falls with age (Wright 2014)
    young, old = t[df.age_years < 60].mean(), t[df.age_years >= 80].mean()
    assert old < young - 0.6


def test_default_population_is_women_50_to_80_with_sourced_distributions():
    spec = popmod.resolve(None, "human", Subject())
    df = popmod.sample_covariates(spec, "human", 3, 0, 6000, 30 * 365.25)
    assert (df.sex == "female").all()
    assert df.age_years.between(50, 80).all()
    w = np.array(popmod.US_WOMEN_2010["counts"][:3], float)
    share = np.histogram(df.age_years, [50, 60, 70, 80])[0] / len(df)
    np.testing.assert_allclose(share, w / w.sum(), atol=0.02)
    assert abs(df.menopause_age_years.mean() - 51.0) < 0.2
    assert df.menopause_age_years.between(40, 60).all()
    # premenopausal: P(menopause age > age) of the truncated normal, averaged over ages
    from scipy.stats import truncnorm

    meno = truncnorm((40 - 51) / 4, (60 - 51) / 4, loc=51, scale=4)
    assert abs((~df.postmenopausal).mean() - meno.sf(df.age_years).mean()) < 0.015
    assert df.t_score.notna().all() and (df.activity == 1.0).all()


def test_subject_block_fixes_what_the_population_leaves_out():
    scn = parse_scenario({"species": "human", "duration_days": 1,
                          "subject": {"sex": "female", "age_years": 62, "t_score": -2.0},
                          "population": {"t_score": None}})
    spec = popmod.resolve(scn.population, "human", scn.subject)
    df = popmod.sample_covariates(spec, "human", 1, 0, 50, 30 * 365.25)
    assert np.allclose(df.age_years, 62.0)  # ages are exact (not rounded to days)
    assert df.t_score.isna().all()  # explicit null: not anchored, even with subject.t_score


def test_covariates_depend_on_seed_and_index_only():
    spec = popmod.resolve(None, "human", Subject())
    whole = popmod.sample_covariates(spec, "human", 5, 0, 30, 30 * 365.25)
    part = popmod.sample_covariates(spec, "human", 5, 17, 13, 30 * 365.25)
    pd.testing.assert_frame_equal(whole.iloc[17:], part)
    other = popmod.sample_covariates(spec, "human", 6, 0, 30, 30 * 365.25)
    assert not np.allclose(whole.age_years, other.age_years)


def test_distributions_by_inverse_transform():
    u = np.linspace(0.0005, 0.9995, 2000)
    h = popmod.Histogram(dist="histogram", edges=[0, 1, 3], weights=[1, 3]).ppf(u)
    assert abs((h < 1).mean() - 0.25) < 0.01 and h.max() <= 3
    tn = popmod.TruncNormal(dist="truncnormal", mean=0, sd=1, low=-1, high=0.5).ppf(u)
    assert tn.min() >= -1 and tn.max() <= 0.5
    ln = popmod.LogNormal(dist="lognormal", median=2.0, cv=0.3).ppf(np.array([0.5]))
    assert ln[0] == pytest.approx(2.0)


def test_truncnormal_quantiles_far_in_a_tail():
    # bounds 5-8 and 10-12 SD above the mean: quantiles spread over the whole interval
    # (a clipped uniform and ndtr(b) rounding to 1 collapsed them onto a bound)
    from scipy.stats import truncnorm

    u = np.array([1e-12, 0.25, 0.5, 0.75, 1 - 1e-12])
    for low, high in [(5.0, 8.0), (10.0, 12.0), (-12.0, -10.0)]:
        x = popmod.TruncNormal(dist="truncnormal", mean=0, sd=1, low=low, high=high).ppf(u)
        assert np.all(np.diff(x) > 0) and low <= x[0] and x[-1] <= high
        np.testing.assert_allclose(truncnorm.cdf(x, low, high), u, rtol=1e-9, atol=1e-12)
    # the NHANES T-score, likewise, at an age whose mean is far from the bounds
    t = popmod.NhanesTScore(dist="nhanes").ppf(u, age_years=np.full(5, 65.0))
    assert np.all(np.diff(t) > 0)
    assert popmod.T_SCORE_RANGE[0] < t[0] and t[-1] < popmod.T_SCORE_RANGE[1]


# Hypothesis: every distribution's ppf is monotone, stays within its bounds and inverts
# SciPy's cdf of the same distribution
_finite = {"allow_nan": False, "allow_infinity": False}


@st.composite
def _distribution(draw, kind: str):
    """A random distribution of ``kind``, SciPy's frozen equivalent and the ppf's keywords."""
    from scipy import stats as sps

    if kind == "uniform":
        low = draw(st.floats(-100, 100, **_finite))
        width = draw(st.floats(1e-3, 100, **_finite))
        d = popmod.Uniform(dist="uniform", low=low, high=low + width)
        return d, sps.uniform(loc=d.low, scale=d.high - d.low), {}
    if kind == "normal":
        d = popmod.Normal(dist="normal", mean=draw(st.floats(-100, 100, **_finite)),
                          sd=draw(st.floats(1e-3, 100, **_finite)))
        return d, sps.norm(loc=d.mean, scale=d.sd), {}
    if kind == "truncnormal":  # bounds anywhere from 30 SD below to 30 SD above the mean
        mean = draw(st.floats(-10, 10, **_finite))
        sd = draw(st.floats(1e-2, 10, **_finite))
        za = draw(st.floats(-30, 30, **_finite))
        zw = draw(st.floats(1e-2, 20, **_finite))
        d = popmod.TruncNormal(dist="truncnormal", mean=mean, sd=sd, low=mean + sd * za,
                               high=mean + sd * (za + zw))
        a, b = (d.low - d.mean) / d.sd, (d.high - d.mean) / d.sd
        return d, sps.truncnorm(a, b, loc=d.mean, scale=d.sd), {}
    if kind == "lognormal":
        d = popmod.LogNormal(dist="lognormal", median=draw(st.floats(1e-3, 1e3, **_finite)),
                             cv=draw(st.floats(1e-2, 3, **_finite)))
        return d, sps.lognorm(s=d.sigma, scale=d.median), {}
    if kind == "histogram":
        widths = draw(st.lists(st.floats(1e-2, 10, **_finite), min_size=1, max_size=6))
        weights = draw(st.lists(st.floats(0, 100, **_finite), min_size=len(widths),
                                max_size=len(widths)).filter(lambda w: sum(w) > 1e-3))
        start = draw(st.floats(-50, 50, **_finite))
        edges = list(start + np.concatenate([[0.0], np.cumsum(widths)]))
        d = popmod.Histogram(dist="histogram", edges=edges, weights=weights)
        return d, sps.rv_histogram((np.asarray(weights), np.asarray(edges)), density=False), {}
    assert kind == "nhanes"
    age = draw(st.floats(20, 100, **_finite))
    m = popmod.nhanes_t_score_model()
    mean = m["mean_at_65"] + m["slope_per_year"] * (age - 65.0)
    lo, hi = popmod.T_SCORE_RANGE
    ref = sps.truncnorm((lo - mean) / m["sd"], (hi - mean) / m["sd"], loc=mean, scale=m["sd"])
    return popmod.NhanesTScore(dist="nhanes"), ref, {"age_years": age}


@pytest.mark.parametrize("kind", ["uniform", "normal", "truncnormal", "lognormal", "histogram",
                                  "nhanes"])
@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data())
def test_ppf_is_monotone_bounded_and_inverts_scipy_cdf(kind, data):
    dist, ref, kw = data.draw(_distribution(kind), label="distribution")
    u = np.sort(np.array(data.draw(st.lists(st.floats(0, 1), min_size=1, max_size=40), label="u")))
    if kw:
        kw = {k: np.full(len(u), v) for k, v in kw.items()}
    x = np.asarray(dist.ppf(u, **kw), float)
    assert x.shape == u.shape and not np.isnan(x).any()
    assert np.all(x[1:] >= x[:-1]), "ppf must not decrease"
    lo, hi = dist.bounds()
    assert np.all((lo <= x) & (x <= hi)), f"ppf left [{lo}, {hi}]"
    np.testing.assert_allclose(ref.cdf(x), u, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("population, needle", [
    ({"age_years": {"dist": "normal", "mean": 60, "sd": 5}}, "must not be negative"),
    ({"age_years": {"dist": "gamma", "k": 2}}, "population.age_years"),
    ({"t_score": {"dist": "uniform", "low": 1, "high": 0}}, "must be above low"),
    ({"menopause_age_years": 50, "years_since_menopause": 3}, "not both"),
    ({"age_years": {"dist": "nhanes"}}, "t_score only"),
    ({"colour": "blue"}, "unknown field"),
])
def test_bad_population_blocks_name_the_field_and_line(tmp_path, population, needle):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"species": "human", "duration_days": 10,
                                    "population": population}))
    from neurobone.scenario.schema import load_scenario

    with pytest.raises(InputError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert needle in msg and str(path) in msg and "\n" not in msg


def test_species_checks_of_the_population_block():
    with pytest.raises(InputError, match="population.t_score is for human"):
        parse_scenario({"species": "mouse", "duration_days": 5, "population": {"t_score": -1}})
    with pytest.raises(InputError, match="age_weeks is for mice"):
        parse_scenario({"species": "human", "duration_days": 5,
                        "population": {"age_weeks": 12}})


# ----------------------------------------------------------------------------- reproducibility
def test_same_seed_same_cohort_whatever_the_chunk_size(tmp_path, human_ref):
    _, ref, _ = human_ref
    run_cohort(HUMAN, N, 7, tmp_path / "c11", chunk_size=11, trajectory_every=5)
    assert_same(tables(tmp_path / "c11"), ref)
    summary, traj = ref
    assert len(summary) == N and summary.subject.tolist() == list(range(N))
    assert sorted(traj.subject.unique()) == list(range(0, N, 5))
    assert (summary.status == 0).all()
    # the population is varied: covariates and parameters differ between subjects
    assert summary.age_years.std() > 5 and summary.activity.std() > 0.03
    params = [c for c in summary.columns if c.startswith("param_")]
    assert params and all(summary[c].std() > 0 for c in params)
    # some women reach menopause during the scenario, some were postmenopausal already
    due = (~summary.postmenopausal) & (
        (summary.menopause_age_years - summary.age_years) * 365.25 < 365)
    assert due.any() and summary.postmenopausal.any()


def test_another_seed_gives_another_cohort(tmp_path, human_ref):
    run_cohort(HUMAN, 6, 8, tmp_path / "s8", chunk_size=6, trajectory_every=5)
    other = query(tmp_path / "s8", "SELECT * FROM summary ORDER BY subject")
    assert not np.allclose(other.age_years, human_ref[1][0].age_years[:6])


def test_mouse_cohort_chunk_invariant(tmp_path):
    run_cohort(MOUSE, 40, 3, tmp_path / "a", chunk_size=40, trajectory_every=4)
    run_cohort(MOUSE, 40, 3, tmp_path / "b", chunk_size=9, trajectory_every=4, threads=1)
    a, b = tables(tmp_path / "a"), tables(tmp_path / "b")
    assert_same(a, b)
    s = a[0]
    assert s.age_weeks.between(10, 30).all() and s.age_weeks.std() > 3
    assert (s.estrogen_end < 0.5 * s.estrogen_base).all()  # ovariectomy
    assert a[1].day.max() == 28 and a[1].groupby("subject").size().eq(29).all()  # daily points


def test_cohort_subjects_equal_single_subject_scenarios(tmp_path):
    """Without parameter variability, each cohort subject is the single scenario's
    subject with the same covariates (life history, menopause -- past, or ahead and
    during the scenario --, anchors, exercise)."""
    scn = {**HUMAN, "duration_days": 300, "outputs": ["abmd_ls", "estrogen"],
           "population": {"variability": False,
                          "age_years": {"dist": "uniform", "low": 47, "high": 51.9},
                          "menopause_age_years": {"dist": "uniform", "low": 46, "high": 52.5}}}
    run_cohort(scn, 6, 3, tmp_path / "c", chunk_size=6, trajectory_every=1, trajectory_step=50)
    summary, traj = tables(tmp_path / "c")
    due = (~summary.postmenopausal) & (
        (summary.menopause_age_years - summary.age_years) * 365.25 < 300)
    assert due.any() and summary.postmenopausal.any()
    outputs = ["abmd_ls", "abmd_fn", "t_score", "t_score_spine", "connectivity", "sympathetic_tone",
               "estrogen"]
    # one subject of each kind: postmenopausal, menopause during the scenario, after it
    kinds = np.where(summary.postmenopausal, "post", np.where(due, "due", "pre"))
    picked = summary[~pd.Series(kinds).duplicated().to_numpy()]
    assert len(picked) >= 2
    single = {k: v for k, v in scn.items() if k != "population"}
    for row in picked.itertuples():
        subject = {"sex": "female", "age_years": row.age_years, "t_score": row.t_score,
                   "menopause_age_years": row.menopause_age_years}
        res = run_scenario({**single, "subject": subject, "outputs": outputs})
        mine = traj[traj.subject == row.subject].set_index("day")
        assert list(mine.index) == [0, 50, 100, 150, 200, 250, 300]
        for o in outputs:
            want = np.interp(mine.index, res.t, res[o])
            # T-scores cross zero: absolute, in SD units
            atol = 1e-4 if o in ("t_score", "t_score_spine") else 1e-9
            np.testing.assert_allclose(mine[o], want, rtol=1e-4, atol=atol,
                                       err_msg=f"{o} subject {row.subject}")


# ----------------------------------------------------------------------------- resume
def test_resume_after_a_crash_recomputes_no_finished_chunk(tmp_path, human_ref):
    _, ref, _ = human_ref
    out = tmp_path / "r"

    class Killed(Exception):
        pass

    def crash_after_two(stats):
        if stats["chunk"] == 1:
            raise Killed

    with pytest.raises(Killed):
        run_cohort(HUMAN, N, 7, out, chunk_size=10, trajectory_every=5, on_chunk=crash_after_two)
    assert not read_manifest(out)["complete"]
    assert not open_cohort(out).complete
    done = {k: chunk_path(out, "summary", k).stat() for k in (0, 1)}
    assert not chunk_path(out, "summary", 2).exists()

    computed, stats, calls = [], [], []
    res = run_cohort(HUMAN, N, 7, out, chunk_size=10, trajectory_every=5,
                     on_chunk=lambda s: (computed.append(s["chunk"]), stats.append(s)),
                     progress=lambda done, total, stage: calls.append((done, total, stage)))
    assert sorted(computed) == [2, 3, 4]
    # progress: the finished chunks' subjects first, then after every chunk
    assert calls == [(20, N, "simulating"), (30, N, "simulating"), (40, N, "simulating"),
                     (N, N, "simulating")]
    for chunk_stats in stats:
        assert (chunk_stats["subjects"] == (8 if chunk_stats["chunk"] == 4 else 10)
                and chunk_stats["failed"] == 0)
        timings = chunk_stats["timings"]
        assert set(timings) == {"sampling", "history", "scenario", "tables", "write"}
        assert all(v >= 0 for v in timings.values())
        assert sum(timings.values()) <= chunk_stats["seconds"] + 1e-6
    for k, before in done.items():
        now = chunk_path(out, "summary", k).stat()
        assert (now.st_mtime_ns, now.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert res.complete and read_manifest(out)["complete"]
    assert res.manifest["recomputed_chunks"] == []  # the crash damaged nothing
    assert_same(tables(out), ref)

    # a lost chunk is recomputed, and only it, saying why
    chunk_path(out, "summary", 3).unlink()
    computed.clear()
    res = run_cohort(HUMAN, N, 7, out, chunk_size=10, trajectory_every=5,
                     on_chunk=lambda s: computed.append((s["chunk"], s.get("recomputed"))))
    assert computed == [(3, "summary file missing")]
    assert res.manifest["recomputed_chunks"] == [{"chunk": 3, "reason": "summary file missing"}]
    assert_same(tables(out), ref)


@pytest.mark.slow
def test_killed_process_resumes_to_the_same_result(tmp_path, human_ref):
    _, ref, _ = human_ref
    scn = tmp_path / "s.yaml"
    scn.write_text(yaml.safe_dump(HUMAN))
    out = tmp_path / "k"
    args = [sys.executable, "-m", "neurobone.cli", "cohort", str(scn), "--n", str(N), "--seed", "7",
            "--out", str(out), "--chunk-size", "1", "--trajectory-every", "5", "--threads", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not record_path(out, 1).exists():
        time.sleep(0.01)
    proc.kill()  # SIGKILL (nothing if the run already ended and was reaped)
    proc.wait()
    # one subject per chunk: many chunks, so that the kill lands mid-way however fast they
    # are; a chunk is finished when its checksum record is written (after its two files)
    finished = [k for k in range(N) if record_path(out, k).exists()]
    assert 0 < len(finished) < N, "the run was not interrupted mid-way"
    before = {k: chunk_path(out, "summary", k).stat().st_mtime_ns for k in finished}
    assert (out / ".lock").exists()  # left by the killed writer: the resume takes it over
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert {k: chunk_path(out, "summary", k).stat().st_mtime_ns for k in finished} == before
    assert read_manifest(out)["recomputed_chunks"] == []
    assert_same(tables(out), ref)
    assert not list(out.rglob(".tmp-*")) and not (out / ".lock").exists()


def test_other_arguments_in_the_same_directory_are_refused(tmp_path, human_ref):
    out, _, _ = human_ref
    with pytest.raises(InputError, match=r"other arguments \(seed 7 -> 8\)"):
        run_cohort(HUMAN, N, 8, out, chunk_size=N, trajectory_every=5)
    with pytest.raises(InputError, match="chunk_size"):
        run_cohort(HUMAN, N, 7, out, chunk_size=12, trajectory_every=5)
    changed = {**HUMAN, "duration_days": 366}
    with pytest.raises(InputError, match="scenario_hash"):
        run_cohort(changed, N, 7, out, chunk_size=N, trajectory_every=5)
    fresh = tmp_path / "o"
    run_cohort(HUMAN, 5, 7, fresh, chunk_size=5, trajectory_every=5)
    res = run_cohort(HUMAN, 5, 8, fresh, chunk_size=5, trajectory_every=5, overwrite=True)
    assert res.manifest["seed"] == 8
    other = tmp_path / "notempty"
    other.mkdir()
    (other / "data.csv").write_text("x\n")
    with pytest.raises(InputError, match="not empty"):
        run_cohort(HUMAN, 5, 7, other, chunk_size=5)


@pytest.mark.parametrize("kw, needle", [
    (dict(n=0), "n: Input should be greater than or equal to 1"),
    (dict(n=2.5), "n: must be an integer"),
    (dict(seed=-1), "seed: Input should be greater than or equal to 0"),
    (dict(chunk_size=0), "chunk_size: Input should be greater than or equal to 1"),
    (dict(trajectory_every=True), "trajectory_every: must be an integer"),
    (dict(trajectory_step=0.0), "trajectory_step:"),
    (dict(trajectory_step=float("inf")), "trajectory_step:"),
    (dict(rtol=2.0), "rtol:"),
    (dict(threads=0), "threads:"),
])
def test_bad_counts_are_refused_naming_the_argument(tmp_path, kw, needle):
    args = dict(n=4, seed=1, chunk_size=4)
    args.update(kw)
    with pytest.raises(InputError) as exc:
        run_cohort(MOUSE, out_dir=tmp_path / "o", **args)
    msg = str(exc.value)
    assert msg.startswith(needle) and "\n" not in msg, msg
    assert not (tmp_path / "o").exists()  # refused before anything is written
    # whole numbers given as floats are whole numbers
    if kw.get("n") == 2.5:
        assert run_cohort(MOUSE, 2.0, 1, tmp_path / "f", 2.0).n == 2


def test_manifest_records_the_run(human_ref):
    out, _, _ = human_ref
    m = read_manifest(out)
    import neurobone
    from neurobone.model import brainbone

    assert m["n"] == N and m["seed"] == 7 and m["chunk_size"] == N and m["complete"]
    assert m["package_version"] == neurobone.__version__
    assert len(m["scenario_hash"]) == 64 and len(m["model_hash"]) == 64
    assert m["population"]["age_years"].startswith("uniform")
    assert m["solver"] == default_solver_name()
    default = list(brainbone.DEFAULT_OUTPUTS["human"])
    assert m["outputs"][:len(default)] == default


# ----------------------------------------------------------------------------- dask
@pytest.mark.slow
def test_dask_local_cluster_gives_the_in_process_result(tmp_path, human_ref):
    distributed = pytest.importorskip("distributed")
    _, ref, _ = human_ref
    with (distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None) as cluster,
          distributed.Client(cluster) as client):
        pids = []
        res = run_cohort(HUMAN, N, 7, tmp_path / "d", chunk_size=10, trajectory_every=5,
                         client=client, threads=1, on_chunk=lambda s: pids.append(s["pid"]))
    assert len(pids) == 5 and os.getpid() not in pids  # every chunk ran in a worker process
    assert res.complete and read_manifest(tmp_path / "d")["complete"]
    assert_same(tables(tmp_path / "d"), ref)


# ----------------------------------------------------------------------------- query and result
def test_query_and_result_object(human_ref):
    out, (summary, _traj), res = human_ref
    df = query(out, "SELECT count(*) AS n, avg(abmd_ls_pct) AS m FROM summary")
    assert df.n[0] == N and df.m[0] == pytest.approx(summary.abmd_ls_pct.mean())
    j = query(out, "SELECT s.subject, max(t.day) AS last FROM summary s JOIN trajectories t "
                   "USING (subject) GROUP BY 1 ORDER BY 1")
    assert j.subject.tolist() == list(range(0, N, 5)) and (j["last"] == 365).all()
    with pytest.raises(InputError, match="query failed"):
        query(out, "SELECT nope FROM summary")
    with pytest.raises(InputError, match="does not exist"):
        query(out / "missing", "SELECT 1")
    assert "48 subjects" in repr(res) and "complete" in repr(res)
    pd.testing.assert_frame_equal(res.summary().drop(columns="chunk"), summary)
    assert set(res.trajectories([0, 5]).subject) == {0, 5}
    import matplotlib

    matplotlib.use("Agg")
    ax = res.plot("abmd_ls")
    assert len(ax.get_xticklabels()) >= 2


# ----------------------------------------------------------------------------- CLI
def test_cli_cohort_and_query(tmp_path, cli):
    scn = tmp_path / "m.yaml"
    scn.write_text(yaml.safe_dump(MOUSE))
    out = tmp_path / "cli"
    code, text, err = cli("cohort", scn, "--n", "20", "--seed", "1", "--out", out,
                          "--chunk-size", "8")
    assert code == 0, err
    assert read_manifest(out)["complete"]
    assert "subjects/s" in err and "20/20" in err  # the progress bar: rate and count
    assert "20 subjects in 3 chunks" in text
    code, text, _ = cli("query", out, "SELECT count(*) AS n FROM summary")
    assert code == 0 and "20" in text
    csv = tmp_path / "q.csv"
    code, _, _ = cli("query", out, "SELECT subject, bv_tv_pct FROM summary ORDER BY subject",
                     "-o", csv)
    assert code == 0
    assert pd.read_csv(csv).subject.tolist() == list(range(20))


@pytest.mark.parametrize("make_args, needle", [
    (lambda d: ["cohort", str(d / "missing.yaml"), "--n", "5", "--out", str(d / "o")],
     "does not exist"),
    (lambda d: ["cohort", str(d / "m.yaml"), "--n", "0", "--out", str(d / "o")], "--n must be"),
    (lambda d: ["cohort", str(d / "m.yaml"), "--n", "5", "--seed", "-1", "--out", str(d / "o")],
     "seed"),
    (lambda d: ["cohort", str(d / "m.yaml"), "--n", "5", "--out", str(d / "m.yaml")], "is a file"),
    (lambda d: ["cohort", str(d / "m.yaml"), "--n", "5", "--out", "/proc/nope"], "cannot write"),
    (lambda d: ["cohort", str(d / "m.yaml"), "--n", "5", "--out", str(d / "o"), "--dask",
                "local:x"], "local:N"),
    (lambda d: ["query", str(d), "SELECT 1"], "no cohort"),
])
def test_cli_bad_input_one_line_exit_2(tmp_path, cli, one_line_error, make_args, needle):
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(MOUSE))
    code, _, err = cli(*make_args(tmp_path))
    one_line_error(code, err, needle)


def test_cli_bad_sql_and_mismatched_resume_exit_2(tmp_path, cli, one_line_error):
    scn = tmp_path / "m.yaml"
    scn.write_text(yaml.safe_dump(MOUSE))
    out = tmp_path / "o"
    run_cohort(MOUSE, 4, 1, out, chunk_size=4)
    for argv, needle in ((["query", str(out), "SELEC nonsense"], "query failed"),
                         (["cohort", str(scn), "--n", "5", "--seed", "1", "--out", str(out),
                           "--chunk-size", "4"], "other arguments (n 4 -> 5)")):
        code, _, err = cli(*argv)
        one_line_error(code, err, needle)


def test_documented_and_example_scenarios_are_valid():
    import re

    from neurobone.scenario.schema import load_scenario

    root = Path(__file__).resolve().parents[1]
    text = (root / "docs" / "cohorts.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 3
    for block in blocks:
        scn = parse_scenario(yaml.safe_load(block))
        assert scn.population is not None
    for path in sorted((root / "examples").glob("cohort*.yaml")):
        assert load_scenario(path).population is not None


def test_the_solver_is_part_of_the_runs_identity(tmp_path):
    """A resume never mixes solvers: another solver in the same directory is refused."""
    out = tmp_path / "c"
    run_cohort(HUMAN, 4, 1, out, chunk_size=2, solver="switching")
    assert read_manifest(out)["solver"] == "switching"
    with pytest.raises(InputError, match="solver|lanes"):  # refused here, or no lanes at all
        run_cohort(HUMAN, 4, 1, out, chunk_size=2, solver="lanes")
    with pytest.raises(InputError, match="solver"):
        run_cohort(HUMAN, 4, 1, out, chunk_size=2, solver="rodas")
