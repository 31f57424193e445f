"""Run a virtual cohort: chunks of subjects through the batched engine into the store.

:func:`run_cohort` splits subjects ``0 .. n-1`` into chunks of ``chunk_size``. Each chunk,
independently of every other (in this process or as a Dask task):

1. samples its subjects' covariates and parameters (:mod:`neurobone.cohort.population`;
   subject ``i`` depends on ``(seed, i)`` only);
2. lives each subject's life history from the young-adult reference to its age at the
   start, batched (ageing; the menopause at the subject's own age for women; its habitual
   activity) -- the same steps as the single-subject compiler
   (:func:`~neurobone.scenario.compile.subject_history`), then anchors the DXA baselines
   (:func:`~neurobone.scenario.compile.anchor_baseline`);
3. runs the scenario for every subject with the batched engine, each subject with its
   own schedule (the scenario's exercise and interventions, plus a natural menopause that
   falls during the scenario);
4. writes one summary row per subject and the trajectories of the sampled subjects
   (index divisible by ``trajectory_every``) to the store (:mod:`neurobone.cohort.store`).

Why the result does not depend on the chunking
----------------------------------------------
The batched engine integrates each subject with its own step-size control, so a
subject's result depends only on its own inputs and on the arguments shared by a call
(the number of days and the save days). Life histories differ in length, so they are
integrated in pieces whose lengths do not depend on who else is in the chunk: a common
first piece up to the youngest age the population can have, then one piece of ``2**b``
days for every bit ``b`` set in the subject's remaining whole days (ages are rounded to
whole days). Subjects whose trajectories are kept run in their own call with the
trajectory save days; the others are saved at the first and last day only. Nothing a
subject gets depends on the chunk it is in; the tests check that the tables are
identical for different chunk sizes, after a resume, and on a Dask cluster.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np
import pandas as pd

import neurobone
from neurobone.cohort import population as popmod
from neurobone.cohort import store
from neurobone.errors import InputError

#: default subjects per chunk (memory per chunk is a few MB per 1000 subjects)
DEFAULT_CHUNK_SIZE = 1000
#: default: keep the trajectories of every 100th subject
DEFAULT_TRAJECTORY_EVERY = 100
#: trajectory save intervals (days) to choose from: daily, weekly, monthly, quarterly
TRAJECTORY_STEPS = (1.0, 7.0, 30.4375, 91.3125)
#: the default interval is the shortest giving at most this many points per subject
MAX_TRAJECTORY_POINTS = 160
#: outputs a cohort always keeps, per species (plus the scenario's own ``outputs``)
COHORT_OUTPUTS = {
    "human": ("abmd_ls", "abmd_th", "t_score", "fracture_rr", "bv_tv", "connectivity",
              "sympathetic_tone", "p1np", "ctx"),
    "mouse": ("bv_tv", "connectivity", "sympathetic_tone", "sclerostin", "p1np", "ctx"),
}
#: outputs whose relative change is meaningless (they cross zero)
NO_PERCENT = frozenset({"t_score"})

Progress = Callable[[int, int], None]


# ----------------------------------------------------------------------------- the run's identity
@dataclass(frozen=True)
class CohortSpec:
    """Everything that determines a cohort's content (plus ``threads``, which does not)."""

    scenario: dict
    n: int
    seed: int
    chunk_size: int = DEFAULT_CHUNK_SIZE
    trajectory_every: int = DEFAULT_TRAJECTORY_EVERY
    trajectory_step: float = 0.0
    rtol: float = 1e-6
    threads: int | None = field(default=None, compare=False)

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk_size)

    def bounds(self, chunk: int) -> tuple[int, int]:
        lo = chunk * self.chunk_size
        return lo, min(self.n, lo + self.chunk_size)

    def key(self) -> str:
        d = asdict(self)
        d.pop("threads")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def scenario_dict(scn) -> dict:
    """A validated scenario as plain data that parses back to the same scenario (the
    population block keeps only the fields that were given: an omitted field and an
    explicit ``null`` mean different things there)."""
    d = scn.model_dump(mode="json")
    if scn.population is not None:
        d["population"] = scn.population.model_dump(mode="json", exclude_unset=True)
    return d


def scenario_hash(scenario: dict) -> str:
    """Hash of a validated scenario's content (comments and key order do not matter)."""
    return hashlib.sha256(json.dumps(scenario, sort_keys=True).encode()).hexdigest()


def model_hash(model) -> str:
    """Hash of a model's definition: equations, parameter values and CVs, outputs."""
    d = {
        "states": [(s.name, s.rate, s.initial, s.scale, s.steady) for s in model.states],
        "parameters": [(p.name, p.value, p.cv, p.reference_of) for p in model.parameters],
        "expressions": [(e.name, e.formula) for e in model.expressions],
        "outputs": sorted(model.outputs.items()),
    }
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=repr).encode()).hexdigest()


# ----------------------------------------------------------------------------- preparation
@dataclass
class Prepared:
    """What every chunk of a cohort shares (built once per process)."""

    spec: CohortSpec
    scn: Any
    cm: Any
    y_ref: np.ndarray
    p_ref: np.ndarray
    population: dict
    outputs: list[str]
    history_origin: float
    save_traj: np.ndarray
    model_hash: str

    @property
    def species(self) -> str:
        return self.scn.species

    def manifest(self) -> dict[str, Any]:
        s = self.spec
        return {
            "format": store.FORMAT,
            "scenario_hash": scenario_hash(s.scenario),
            "model_hash": self.model_hash,
            "n": s.n,
            "seed": s.seed,
            "chunk_size": s.chunk_size,
            "n_chunks": s.n_chunks,
            "trajectory_every": s.trajectory_every,
            "trajectory_step": s.trajectory_step,
            "rtol": s.rtol,
            "package_version": neurobone.__version__,
            "scenario": s.scenario,
            "population": popmod.describe(self.population),
            "outputs": self.outputs,
            "varied_parameters": [v.name for v in self.variations()],
        }

    def variations(self):
        from neurobone.study.population import variations

        return variations(self.cm.model) if self.population["variability"] else []


_CACHE: dict[str, Prepared] = {}


def prepare(spec: CohortSpec, refs: tuple[np.ndarray, np.ndarray] | None = None) -> Prepared:
    """Compile the scenario's model, resolve the population and the young-adult
    reference (or take ``refs`` = ``(y_ref, p_ref)`` computed by the parent process)."""
    key = f"{spec.key()}/{spec.threads}"
    hit = _CACHE.get(key)
    if hit is not None and (refs is None or (np.array_equal(hit.y_ref, refs[0])
                                             and np.array_equal(hit.p_ref, refs[1]))):
        return hit
    from neurobone.engine.batch import resolve_outputs
    from neurobone.model.codegen import compile_model
    from neurobone.scenario.compile import (
        exercise_overrides,
        intervention_overrides,
        model_for,
        reference_homeostasis,
    )
    from neurobone.scenario.schema import parse_scenario

    scn = parse_scenario(spec.scenario)
    if scn.model != "neurobone":
        raise InputError(f"cohorts need model: neurobone (got {scn.model!r})")
    m = model_for(scn)
    cm = compile_model(m)
    p = cm.parameter_vector()
    for k, v in scn.parameters.items():
        if k not in m.parameter_names:
            raise InputError(f"parameters: unknown parameter {k!r} for model {m.name!r}")
        p[cm.param_index(k)] = float(v)
    if refs is None:
        y_ref, p_ref = reference_homeostasis(cm, p)
    else:
        y_ref, p_ref = (np.array(r, float) for r in refs)
    outputs = list(dict.fromkeys([*COHORT_OUTPUTS[scn.species], *scn.outputs]))
    resolve_outputs(cm.model, outputs)  # unknown outputs: InputError naming the valid ones
    exercise_overrides(scn, scn.species)  # scenario errors surface here, before any chunk
    intervention_overrides(scn, cm, p_ref)
    pop = popmod.resolve(scn.population, scn.species, scn.subject)
    age_ref = float(p_ref[cm.param_index("age_ref")])
    lower = popmod.age_lower_bound_days(pop, scn.species)
    origin = float(math.ceil(age_ref))
    if math.isfinite(lower):
        origin = max(origin, float(math.floor(lower)))
    step = spec.trajectory_step
    grid = np.arange(0.0, scn.duration_days, step)
    save_traj = np.unique(np.append(grid, scn.duration_days))
    prep = Prepared(spec, scn, cm, y_ref, p_ref, pop, outputs, origin, save_traj,
                    model_hash(cm.model))
    _CACHE.clear()
    _CACHE[key] = prep
    return prep


def default_trajectory_step(duration_days: float) -> float:
    """The shortest of daily, weekly, monthly, quarterly giving <= 160 points."""
    for s in TRAJECTORY_STEPS:
        if duration_days / s <= MAX_TRAJECTORY_POINTS:
            return s
    return TRAJECTORY_STEPS[-1]


# ----------------------------------------------------------------------------- one chunk
def simulate_chunk(prep: Prepared, chunk: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary and trajectory tables of one chunk (nothing written)."""
    spec = prep.spec
    lo, hi = spec.bounds(chunk)
    cm = prep.cm
    pi = cm.param_index
    age_ref = float(prep.p_ref[pi("age_ref")])
    cov = popmod.sample_covariates(prep.population, prep.species, spec.seed, lo, hi - lo, age_ref)
    P, varied = popmod.sample_parameters(cm.model, prep.p_ref, spec.seed, lo, hi - lo,
                                         prep.population["variability"])
    P[:, pi("unloading")] += 1.0 - cov["activity"].to_numpy()
    Y, status, failure = _life_histories(prep, cov, P)
    _anchor(prep, cov, P, Y, status)
    sched_rows = _schedules(prep, cov, P)
    common = _common_schedule(prep, sched_rows)
    results, t_status = [], status.copy()
    subjects = cov.index.to_numpy()
    keep = subjects % spec.trajectory_every == 0
    traj = None
    for group, save in ((~keep, np.array([0.0, prep.scn.duration_days])), (keep, prep.save_traj)):
        idx = np.nonzero(group & (status == 0))[0]
        if len(idx) == 0:
            continue
        res = _simulate(prep, prep.scn.duration_days, P[idx], Y[idx],
                        _subset_schedule(prep, sched_rows, idx), save, prep.outputs,
                        lanes=common[idx])
        t_status[idx] = res.status
        for j in np.nonzero(res.status != 0)[0]:
            from neurobone.engine.batch import STATUS

            failure[idx[j]] = f"scenario: {STATUS.get(int(res.status[j]), 'failed')} at day {res.fail_day[j]:.2f}"
        results.append((idx, res))
        if save is prep.save_traj:
            traj = (idx, res)
    summary = _summary_table(prep, cov, P, varied, results, t_status, failure)
    return summary, _trajectory_table(prep, subjects, traj)


def run_chunk(prep: Prepared, out_dir: str | Path, chunk: int) -> dict[str, Any]:
    """Simulate one chunk and write it to the store; returns its statistics."""
    t0 = time.perf_counter()
    summary, traj = simulate_chunk(prep, chunk)
    store.write_chunk(out_dir, chunk, summary, traj)
    return {"chunk": chunk, "subjects": len(summary), "failed": int((summary["status"] != 0).sum()),
            "seconds": time.perf_counter() - t0, "pid": os.getpid()}


def _simulate(prep: Prepared, days, P, Y0, schedule, save, outputs, lanes=None):
    """The batched engine on a group of subjects. ``lanes`` says which of them may run in
    its SIMD lanes (default: those without schedule rows of their own); it is always a
    per-subject choice, so a cohort's numbers never depend on its chunking."""
    from neurobone.engine.batch import simulate_batch

    if lanes is None:
        lanes = schedule.offsets[1:] == schedule.offsets[:-1]
    return simulate_batch(prep.cm, days, P, Y0, schedule, save_days=save, outputs=outputs,
                          rtol=prep.spec.rtol, threads=prep.spec.threads, on_failure="ignore",
                          lanes=lanes)


def _common_schedule(prep: Prepared, rows: list[list]) -> np.ndarray:
    """Subjects whose schedule is the scenario's own (no natural menopause of their own,
    no subject-specific dose): they run 16 at a time in the batched engine's lanes
    wherever the machine supports them. A per-subject property, so whether a subject runs
    in lanes never depends on the chunking."""
    from neurobone.scenario.compile import exercise_overrides, intervention_overrides

    scn = prep.scn
    ref = exercise_overrides(scn, scn.species) + intervention_overrides(scn, prep.cm, prep.p_ref)
    return np.array([list(r) == ref for r in rows], dtype=bool)


# ----------------------------------------------------------------------------- life histories
def _life_histories(prep: Prepared, cov: pd.DataFrame, P: np.ndarray):
    """States at the start of the scenario (one row per subject), the solver status and
    a failure note per subject. Postmenopausal subjects keep their hormonal status in
    ``P`` (as the single-subject compiler does)."""
    from neurobone.scenario.compile import subject_history

    cm = prep.cm
    names = cm.model.state_names
    m = len(cov)
    age_ref = float(prep.p_ref[cm.param_index("age_ref")])
    age = cov["age_days"].to_numpy()
    Y = np.tile(prep.y_ref, (m, 1))
    status = np.zeros(m, np.int32)
    failure = np.array([""] * m, dtype=object)
    young = age <= age_ref
    Y[young, names.index("age")] = age[young]

    # each subject's history overrides, relative to the reference age
    hist: list[list] = [[] for _ in range(m)]
    if prep.species == "human":
        post = cov["postmenopausal"].to_numpy()
        ysm = cov["years_since_menopause"].to_numpy()
        for i in np.nonzero(post & ~young)[0]:
            _, hist[i], _ = subject_history(cm, P[i], "human",
                                            SimpleNamespace(sex="female", years_since_menopause=float(ysm[i])),
                                            float(age[i]))
            for o in hist[i]:
                if o.weekdays is not None:  # pragma: no cover - histories have no weekly rows
                    raise RuntimeError("life-history overrides with weekdays cannot be split")

    # the pieces: a common one up to the origin, then 2**b days per bit of the rest
    origin = prep.history_origin
    rest = np.where(young, 0, np.round(age - origin)).astype(np.int64)
    if np.any(~young & (np.abs(age - origin - rest) > 1e-6)):  # pragma: no cover - by construction
        raise RuntimeError("life-history lengths are not whole days past the origin")
    stages = [(origin - age_ref, ~young)]
    top = int(rest.max()).bit_length() if m else 0
    stages += [(float(2 ** b), ~young & ((rest >> b) & 1 == 1)) for b in reversed(range(top))]
    elapsed = np.zeros(m)
    for days, members in stages:
        idx = np.nonzero(members & (status == 0))[0]
        if days <= 0 or len(idx) == 0:
            continue
        sched = _history_schedule(prep, hist, idx, elapsed)
        res = _simulate(prep, days, P[idx], Y[idx], sched, np.array([days]), names)
        Y[idx] = res.values[:, -1, :]
        bad = res.status != 0
        if np.any(bad):
            from neurobone.engine.batch import STATUS

            for j in np.nonzero(bad)[0]:
                i = idx[j]
                status[i] = res.status[j]
                failure[i] = (f"life history: {STATUS.get(int(res.status[j]), 'failed')} at age "
                              f"{(age_ref + elapsed[i] + res.fail_day[j]) / popmod.DAYS_PER_YEAR:.2f} y")
        elapsed[idx] += days
    for i in range(m):  # the hormonal status reached persists through the scenario
        for o in hist[i]:
            P[i, cm.param_index(o.name)] = o.value
    return Y, status, failure


def _history_schedule(prep: Prepared, hist, idx: np.ndarray, elapsed: np.ndarray):
    from neurobone.engine.batch import ALL_DAYS, BatchSchedule

    rows = []
    for local, i in enumerate(idx):
        for o in hist[i]:
            end = o.end - elapsed[i]
            if end <= 0:
                continue
            rows.append((local, o.name, o.value, max(o.start - elapsed[i], 0.0), end))
    if not rows:
        return BatchSchedule.empty(prep.cm, len(idx))
    s, name, value, start, end = zip(*rows)
    return BatchSchedule.from_arrays(prep.cm, len(idx), np.array(s), list(name), np.array(value),
                                     np.array(start), np.array(end), ALL_DAYS)


def _anchor(prep: Prepared, cov: pd.DataFrame, P: np.ndarray, Y: np.ndarray, status) -> None:
    from neurobone.scenario.compile import anchor_baseline

    bv = Y[:, prep.cm.model.state_names.index("BV")]
    cols = {c: cov[c].to_numpy() if c in cov else np.full(len(cov), np.nan)
            for c in ("abmd_ls", "abmd_th", "t_score")}
    for i in range(len(cov)):
        if status[i] != 0:
            continue
        subject = SimpleNamespace(**{c: (None if np.isnan(v[i]) else float(v[i])) for c, v in cols.items()})
        anchor_baseline(prep.cm, P[i], float(bv[i]), subject)


# ----------------------------------------------------------------------------- scenario schedules
class _Reads:
    """A parameter vector that records which entries are read."""

    def __init__(self, p: np.ndarray):
        self.p, self.read = p, set()

    def __getitem__(self, i):
        self.read.add(int(i))
        return self.p[i]


def _subject_specific(prep: Prepared) -> set[int]:
    """Parameter indices that differ between subjects (varied, or set per subject)."""
    pi = prep.cm.param_index
    own = {v.index for v in prep.variations()}
    own |= {pi(n) for n in ("unloading", "E2_target", "tau_E", "BV_start", "abmd_ls_base",
                            "abmd_th_base", "abmd_fn_base")}
    return own


def _overrides_by_subject(prep: Prepared, build: Callable, P: np.ndarray) -> list[list]:
    """``build(p)`` for every subject, computed once when it reads no parameter that
    differs between subjects."""
    rec = _Reads(prep.p_ref.copy())
    shared = build(rec)
    if not (rec.read & _subject_specific(prep)):
        return [shared] * len(P)
    return [build(P[i]) for i in range(len(P))]


def _schedules(prep: Prepared, cov: pd.DataFrame, P: np.ndarray) -> list[list]:
    """Each subject's timed overrides during the scenario: a natural menopause that falls
    within it, then the scenario's exercise and interventions (which win where they
    overlap, e.g. estradiol)."""
    from neurobone.scenario.compile import exercise_overrides, intervention_overrides
    from neurobone.scenario.schema import Intervention

    scn = prep.scn
    ex = exercise_overrides(scn, scn.species)
    per = _overrides_by_subject(prep, lambda p: ex + intervention_overrides(scn, prep.cm, p), P)
    out = [list(x) for x in per]
    if scn.species == "human":
        meno = cov["menopause_age_years"].to_numpy()
        age = cov["age_years"].to_numpy()
        due = (cov["sex"].to_numpy() == "female") & ~cov["postmenopausal"].to_numpy() & np.isfinite(meno)
        t_meno = (meno - age) * popmod.DAYS_PER_YEAR
        due &= t_meno < scn.duration_days
        if np.any(due):
            natural = scn.model_copy(update={"interventions": [Intervention(kind="menopause")],
                                             "exercise": []})
            template = _overrides_by_subject(prep, lambda p: intervention_overrides(natural, prep.cm, p), P)
            for i in np.nonzero(due)[0]:
                t = max(float(t_meno[i]), 0.0)
                out[i] = [_shift(o, t) for o in template[i]] + out[i]
    return out


def _shift(o, t: float):
    from neurobone.engine.schedule import Override

    return Override(o.name, o.value, o.start + t, o.end if math.isinf(o.end) else o.end + t, o.weekdays)


def _subset_schedule(prep: Prepared, rows: list[list], idx: np.ndarray):
    from neurobone.engine.batch import BatchSchedule

    return BatchSchedule.from_overrides(prep.cm, [rows[i] for i in idx])


# ----------------------------------------------------------------------------- tables
def _summary_table(prep: Prepared, cov: pd.DataFrame, P: np.ndarray, varied, results: list,
                   status: np.ndarray, failure: np.ndarray) -> pd.DataFrame:
    m = len(cov)
    df = cov.reset_index()
    df["subject"] = df["subject"].astype(np.int64)
    df.insert(1, "status", status.astype(np.int32))
    df.insert(2, "failure", failure.astype(str))
    for v in varied:
        df[f"param_{v.name}"] = P[:, v.index]
    k = len(prep.outputs)
    base = np.full((m, k), np.nan)
    end = np.full((m, k), np.nan)
    for idx, res in results:
        base[idx] = res.values[:, 0, :]
        end[idx] = res.values[:, -1, :]
    bad = status != 0
    base[bad] = np.nan
    end[bad] = np.nan
    for j, name in enumerate(prep.outputs):
        df[f"{name}_base"] = base[:, j]
        df[f"{name}_end"] = end[:, j]
        df[f"{name}_change"] = end[:, j] - base[:, j]
        if name not in NO_PERCENT:
            with np.errstate(divide="ignore", invalid="ignore"):
                df[f"{name}_pct"] = np.where(base[:, j] != 0, 100.0 * (end[:, j] / base[:, j] - 1.0), np.nan)
    return df


def _trajectory_table(prep: Prepared, subjects: np.ndarray, traj) -> pd.DataFrame:
    cols: dict[str, Any] = {"subject": np.zeros(0, np.int64), "day": np.zeros(0)}
    if traj is not None:
        idx, res = traj
        ok = res.status == 0
        n_t = len(res.t)
        cols = {"subject": np.repeat(subjects[idx][ok].astype(np.int64), n_t),
                "day": np.tile(res.t, int(ok.sum()))}
        for j, name in enumerate(prep.outputs):
            cols[name] = res.values[ok, :, j].reshape(-1)
    else:
        for name in prep.outputs:
            cols[name] = np.zeros(0)
    return pd.DataFrame(cols)


# ----------------------------------------------------------------------------- the run
def _dask_task(spec: CohortSpec, refs, out_dir: str, chunk: int) -> dict[str, Any]:
    return run_chunk(prepare(spec, refs), out_dir, chunk)


def run_cohort(
    scenario,
    n: int,
    seed: int,
    out_dir: str | Path,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    client=None,
    progress: Progress | None = None,
    overwrite: bool = False,
    trajectory_every: int = DEFAULT_TRAJECTORY_EVERY,
    trajectory_step: float | None = None,
    rtol: float = 1e-6,
    threads: int | None = None,
    on_chunk: Callable[[dict[str, Any]], None] | None = None,
) -> "store.CohortResult":
    """Simulate ``n`` virtual subjects of ``scenario`` into the store at ``out_dir``.

    Parameters
    ----------
    scenario : a scenario file path, mapping or :class:`~neurobone.scenario.schema.Scenario`,
        optionally with a ``population:`` block (docs/cohorts.md).
    n, seed : number of subjects and the seed (a non-negative integer); subject ``i`` is
        the same for a given seed however the cohort is chunked or distributed.
    out_dir : the cohort directory. A rerun with the same arguments resumes (finished
        chunks are not recomputed); with other arguments it is an error unless
        ``overwrite``.
    chunk_size : subjects per chunk (the unit of work, of memory and of resumption).
    client : a ``dask.distributed.Client``: chunks run as tasks on its cluster, each
        task writing its own chunk (``out_dir`` must be reachable by the workers).
    progress : called as ``progress(done_subjects, n)``, once at the start (with the
        subjects of chunks already finished) and after every chunk.
    trajectory_every, trajectory_step : keep the trajectories of subjects whose index is
        divisible by ``trajectory_every``, saved every ``trajectory_step`` days (default:
        the shortest of daily, weekly, monthly, quarterly giving <= 160 points).
    rtol : relative tolerance of the batched engine.
    threads : Numba threads per chunk (default: all cores; with ``client``, the workers'
        default).
    on_chunk : called with each finished chunk's statistics (after it is written).
    """
    from neurobone.scenario.run import as_scenario

    n, seed, chunk_size, trajectory_every = _check_counts(n, seed, chunk_size, trajectory_every)
    scn = as_scenario(scenario)
    step = float(trajectory_step) if trajectory_step is not None else default_trajectory_step(scn.duration_days)
    if not (math.isfinite(step) and step > 0):
        raise InputError(f"trajectory_step must be a positive number of days, got {trajectory_step!r}")
    if not (0 < rtol < 1):
        raise InputError(f"rtol must be within (0, 1), got {rtol!r}")
    spec = CohortSpec(scenario_dict(scn), n, seed, chunk_size, trajectory_every, step,
                      float(rtol), threads)
    prep = prepare(spec)
    manifest = prep.manifest()
    out = Path(out_dir).expanduser()
    old = store.prepare_directory(out, manifest, overwrite)
    store.clean_temporaries(out)
    if old is None:
        manifest.update(created=_now(), complete=False)
        store.write_manifest(out, manifest)
    else:
        manifest = {**old, "resumed": _now(), "complete": False}
        store.write_manifest(out, manifest)
    done = store.finished_chunks(out, spec.n_chunks)
    pending = [k for k in range(spec.n_chunks) if k not in done]
    count = sum(spec.bounds(k)[1] - spec.bounds(k)[0] for k in done)
    if progress is not None:
        progress(count, n)
    t0 = time.perf_counter()

    def finished(stats: dict[str, Any]) -> None:
        nonlocal count
        count += stats["subjects"]
        if on_chunk is not None:
            on_chunk(stats)
        if progress is not None:
            progress(count, n)

    failed = 0
    if client is None:
        for k in pending:
            stats = run_chunk(prep, out, k)
            failed += stats["failed"]
            finished(stats)
    else:
        from neurobone.engine.batch import batch_kernels

        batch_kernels(prep.cm)  # generate the kernels once, before workers look for them
        failed = _run_dask(client, spec, prep, out, pending, finished)
    elapsed = time.perf_counter() - t0
    new = sum(spec.bounds(k)[1] - spec.bounds(k)[0] for k in pending)
    manifest.update(complete=True, finished=_now(), last_run_seconds=round(elapsed, 3),
                    last_run_subjects=new,
                    last_run_rate=round(new / elapsed, 2) if elapsed > 0 and new else None)
    if failed:
        manifest["failed_subjects_last_run"] = failed
    store.write_manifest(out, manifest)
    return store.CohortResult(out, manifest)


def _run_dask(client, spec: CohortSpec, prep: Prepared, out: Path, pending: list[int],
              finished: Callable[[dict[str, Any]], None]) -> int:
    from distributed import as_completed

    refs = (prep.y_ref, prep.p_ref)
    spec_ref = client.scatter(spec, broadcast=True)
    refs_ref = client.scatter(refs, broadcast=True)
    tag = spec.key()[:12]
    futures = [client.submit(_dask_task, spec_ref, refs_ref, str(out.resolve()), k,
                             key=f"neurobone-cohort-{tag}-{k:05d}-{os.getpid()}-{time.time_ns()}",
                             pure=False, retries=0)
               for k in pending]
    failed = 0
    try:
        for fut in as_completed(futures):
            stats = fut.result()
            failed += stats["failed"]
            finished(stats)
    except BaseException:
        client.cancel(futures)
        raise
    return failed


def _check_counts(n, seed, chunk_size, trajectory_every):
    def whole(name, v, lo):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise InputError(f"{name} must be an integer, got {v!r}") from None
            if not f.is_integer():
                raise InputError(f"{name} must be an integer, got {v!r}")
            v = int(f)
        v = int(v)
        if v < lo:
            raise InputError(f"{name} must be >= {lo}, got {v}")
        return v

    return (whole("n", n, 1), whole("seed", seed, 0), whole("chunk_size", chunk_size, 1),
            whole("trajectory_every", trajectory_every, 1))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
