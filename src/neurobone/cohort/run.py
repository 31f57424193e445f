"""Run a virtual cohort: chunks of subjects through the solver into the store.

:func:`run_cohort` splits subjects ``0 .. n-1`` into chunks of ``chunk_size``. Each chunk,
independently of every other (in this process or as a Dask task):

1. samples its subjects' covariates and parameters (:mod:`neurobone.scenario.population`;
   subject ``i`` depends on ``(seed, i)`` only);
2. sets every subject up with the one subject initialisation
   (:func:`~neurobone.scenario.subjects.initialise_subjects`): its own life history from
   the young-adult reference to its age at the start (ageing; the menopause at its own
   age; its habitual activity), its DXA anchors, and its own overrides during the
   scenario (a natural menopause that falls within it);
3. runs the scenario's protocol (exercise, interventions) for every subject, each with
   its own schedule, in the vectorised lanes where the machine has them;
4. writes one summary row per subject and the trajectories of the sampled subjects
   (index divisible by ``trajectory_every``) to the store (:mod:`neurobone.cohort.store`).

Why the result does not depend on the chunking
----------------------------------------------
One solver is chosen for the whole run, and it integrates each subject with its own
step-size control, schedule and end day (also in the lanes, which take the subjects of
a queue one after another): a subject's numbers depend on its own inputs only. The
tests check that the tables are identical for different chunk sizes, after a resume,
and on a Dask cluster.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from neurobone._version import __version__
from neurobone.cohort import store
from neurobone.engine import platform
from neurobone.engine.kernels import CompiledModel, compile_model
from neurobone.engine.result import STATUS
from neurobone.engine.schedule import Schedule
from neurobone.engine.simulate import Progress, check_threads, resolve_outputs, simulate
from neurobone.engine.solvers import Lanes, Solver, Switching
from neurobone.errors import InputError
from neurobone.model.timed import Override
from neurobone.scenario import population as popmod
from neurobone.scenario.compile import (
    base_parameters,
    model_for,
    shared_protocol,
    subject_doses,
)
from neurobone.scenario.run import as_scenario
from neurobone.scenario.schema import Scenario, parse_scenario
from neurobone.scenario.subjects import (
    Reference,
    covariates_of_frame,
    initialise_subjects,
    reference,
)
from neurobone.scenario.variability import variations

#: default subjects per chunk (memory per chunk is a few MB per 1000 subjects)
DEFAULT_CHUNK_SIZE = 1000
#: default: keep the trajectories of every 100th subject
DEFAULT_TRAJECTORY_EVERY = 100
#: trajectory save intervals (days) to choose from: daily, weekly, monthly, quarterly
TRAJECTORY_STEPS = (1.0, 7.0, 30.4375, 91.3125)
#: the default interval is the shortest giving at most this many points per subject
MAX_TRAJECTORY_POINTS = 160
#: default relative tolerance. Measured on examples/cohort_running.yaml (the default
#: population, 10 years), 400 women for each of the seeds 0, 1 and 2, against rtol 1e-9:
#: the 10-year change of spine aBMD is then within 0.0022 percentage points, the final
#: T-score within 8.3e-5 SD -- about 1/500 of DXA precision (1 % CV).
#: docs/cohorts.md has the table.
DEFAULT_RTOL = 5e-5
#: largest cohort accepted (10^9 subjects would take years on one machine)
MAX_SUBJECTS = 10**9
#: most chunks in one store (each is two Parquet files and a checksum record; the
#: default chunk size gives MAX_SUBJECTS in this many)
MAX_CHUNKS = 10**6
#: copies a chunk's numbers go through before they are on disk (the solver's output,
#: the DataFrames, the Arrow tables, the Parquet buffers): the memory estimate's factor
MEMORY_COPIES = 4


# ----------------------------------------------------------------------------- the run's identity
class CohortSpec(BaseModel):
    """Everything that determines a cohort's content (plus ``threads``, which does not),
    validated: counts are whole numbers in range, tolerances and steps finite."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario: dict
    n: int = Field(ge=1, le=MAX_SUBJECTS)
    seed: int = Field(ge=0)
    chunk_size: int = Field(DEFAULT_CHUNK_SIZE, ge=1)
    trajectory_every: int = Field(DEFAULT_TRAJECTORY_EVERY, ge=1)
    trajectory_step: float = Field(gt=0, allow_inf_nan=False)
    rtol: float = Field(DEFAULT_RTOL, gt=0, lt=1)
    #: the scenario's solver, chosen once for the run (chunks never mix solvers)
    solver: Literal["lanes", "switching"] = "switching"
    threads: int | None = Field(None, ge=1, exclude=True)

    @field_validator("n", "seed", "chunk_size", "trajectory_every", "threads", mode="before")
    @classmethod
    def _whole(cls, v):
        if isinstance(v, bool):
            raise ValueError("must be an integer")
        if isinstance(v, float):
            if not v.is_integer():
                raise ValueError("must be an integer")
            return int(v)
        return v

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk_size)

    def bounds(self, chunk: int) -> tuple[int, int]:
        lo = chunk * self.chunk_size
        return lo, min(self.n, lo + self.chunk_size)

    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.model_dump(), sort_keys=True).encode()).hexdigest()


def make_spec(**values) -> CohortSpec:
    """A :class:`CohortSpec`, with one-line errors naming the argument; at most
    :data:`MAX_CHUNKS` chunks."""
    try:
        spec = CohortSpec(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "cohort"
        msg = err["msg"].removeprefix("Value error, ")
        raise InputError(f"{name}: {msg} (got {err.get('input')!r})") from None
    if spec.n_chunks > MAX_CHUNKS:
        raise InputError(f"chunk_size: {spec.n:,} subjects in chunks of {spec.chunk_size:,} make "
                         f"{spec.n_chunks:,} chunks, more than {MAX_CHUNKS:,}; use a chunk size of "
                         f"at least {-(-spec.n // MAX_CHUNKS):,}")
    return spec


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation on this machine: ``MemAvailable``
    of /proc/meminfo, else the free pages (``os.sysconf``); None when neither is known."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def chunk_memory(spec: CohortSpec, duration_days: float, n_outputs: int, n_params: int,
                 n_states: int) -> dict[str, float]:
    """Estimated bytes one chunk needs, as floats (they may be astronomically large):
    ``trajectories`` (sampled subjects x saved points x (outputs + subject, day) x 8),
    ``summary`` (subjects x columns x 8), ``simulation`` (parameters, states, the solver's
    first and last points) and ``total`` (their sum x :data:`MEMORY_COPIES`); also
    ``subjects``, ``sampled`` and ``points``."""
    size = min(spec.n, spec.chunk_size)
    sampled = min(size, -(-size // spec.trajectory_every))
    ratio = duration_days / spec.trajectory_step  # inf for a step of 1e-320
    points = (math.floor(ratio) if math.isfinite(ratio) else math.inf) + 2.0
    traj = float(sampled) * points * (n_outputs + 2) * 8
    summary = float(size) * (4 * n_outputs + n_params + 32) * 8
    simulation = float(size) * (2 * n_params + 4 * n_states + 2 * n_outputs) * 8
    return {"subjects": size, "sampled": sampled, "points": points, "trajectories": traj,
            "summary": summary, "simulation": simulation,
            "total": MEMORY_COPIES * (traj + summary + simulation)}


def _size(b: float) -> str:
    for unit, scale in (("TB", 2.0**40), ("GB", 2.0**30), ("MB", 2.0**20)):
        if b >= scale:
            v = b / scale
            return f"{v:,.0f} {unit}" if v >= 100 else f"{v:.3g} {unit}"
    return f"{b / 1024:.3g} kB"


def check_chunk_memory(spec: CohortSpec, duration_days: float, n_outputs: int, n_params: int,
                       n_states: int, available: int | None = None) -> None:
    """Refuse with one line, before anything is allocated, a chunk that would need more
    memory than this machine has available (:func:`chunk_memory`, :func:`available_memory`)."""
    need = chunk_memory(spec, duration_days, n_outputs, n_params, n_states)
    avail = available_memory() if available is None else available
    if avail is None or need["total"] <= avail:
        return
    raise InputError(
        f"a chunk of {need['subjects']:,} subjects would need about {_size(need['total'])} "
        f"({need['sampled']:,} kept trajectories x {need['points']:,.0f} points x {n_outputs} "
        f"outputs x 8 bytes, plus the summary, x{MEMORY_COPIES} copies), more than the "
        f"{_size(avail)} available; use a smaller --chunk-size, a longer --trajectory-step or a "
        "larger --trajectory-every")


def scenario_dict(scn: Scenario) -> dict:
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


def default_solver_name() -> str:
    """The scenario solver of a new run: the lanes where this machine has them."""
    return "lanes" if platform.lanes_available() else "switching"


def cohort_solver(name: str, rtol: float) -> Solver:
    """The solver of every chunk's scenario (``lanes`` on a machine without them is a
    one-line error: a run never mixes solvers)."""
    if name == "lanes":
        if not platform.lanes_available():
            raise InputError("this cohort runs in the SIMD lanes, which this machine lacks "
                             "(x86-64 Linux with AVX2 or AVX-512); resume it where it began, "
                             "or start it again with --overwrite")
        return Lanes(rtol=rtol)
    return Switching(rtol=rtol)


def history_solver(rtol: float) -> Solver:
    """The solver of the life histories: decades without exercise are smooth and mildly
    stiff, where the switching method takes RODAS steps (measured: about 50 steps for a
    35-year history against 1400 explicit ones, half the CPU time of the lanes)."""
    return Switching(rtol=rtol)


# ----------------------------------------------------------------------------- preparation
@dataclass
class Prepared:
    """What every chunk of a cohort shares (built once per process)."""

    spec: CohortSpec
    scn: Scenario
    cm: CompiledModel
    ref: Reference
    rows: list[Override]
    population: dict
    outputs: list[str]
    save_traj: np.ndarray
    solver: Solver
    history_solver: Solver
    #: drug entries whose doses each subject draws for herself (adherence below 1)
    drawn: list = field(default_factory=list)

    @property
    def species(self) -> str:
        return self.scn.species

    @functools.cached_property
    def run_key(self) -> str:
        """The digest of the run's identity kept in every chunk's checksum record."""
        return store.run_key(self.manifest())

    def manifest(self) -> dict[str, Any]:
        s = self.spec
        return {
            "format": store.FORMAT,
            "scenario_hash": scenario_hash(s.scenario),
            "model_hash": self.cm.model.fingerprint(),
            "n": s.n,
            "seed": s.seed,
            "chunk_size": s.chunk_size,
            "n_chunks": s.n_chunks,
            "trajectory_every": s.trajectory_every,
            "trajectory_step": s.trajectory_step,
            "rtol": s.rtol,
            "solver": s.solver,
            "package_version": __version__,
            "scenario": s.scenario,
            "population": popmod.describe(self.population),
            "outputs": self.outputs,
            "varied_parameters": [v.name for v in self.variations()],
        }

    def variations(self):
        return variations(self.cm.model) if self.population["variability"] else []


_CACHE: dict[str, Prepared] = {}
_CACHE_LOCK = threading.Lock()


def prepare(spec: CohortSpec, ref: Reference | None = None, check_memory: bool = True) -> Prepared:
    """Compile the scenario's model, resolve the population, the reference subject (or
    take ``ref``, computed by the parent process) and the protocol. ``check_memory``:
    refuse a chunk larger than the available memory (:func:`check_chunk_memory`) before
    the trajectory grid is built (the parent checks; Dask workers do not)."""
    key = f"{spec.key()}/{spec.threads}"
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None and (ref is None or (np.array_equal(hit.ref.y, ref.y)
                                            and np.array_equal(hit.ref.p, ref.p))):
        if check_memory:  # the machine's available memory is not cached
            check_chunk_memory(spec, hit.scn.duration_days, len(hit.outputs), hit.cm.n_params,
                               hit.cm.n_states)
        return hit
    scn = parse_scenario(spec.scenario)
    if scn.model != "neurobone":
        raise InputError(f"cohorts need model: neurobone (got {scn.model!r})")
    cm = compile_model(model_for(scn))
    m = cm.model
    ref = ref or reference(cm, base_parameters(cm, scn.parameters))
    outputs = list(dict.fromkeys([*m.outputs_for(scn.species), *(scn.outputs or [])]))
    resolve_outputs(m, outputs)  # unknown outputs: InputError naming the valid ones
    # scenario errors surface here, before any chunk
    rows, drawn = shared_protocol(cm, scn, ref)
    pop = popmod.resolve(scn.population, scn.species, scn.subject)
    if check_memory:
        check_chunk_memory(spec, scn.duration_days, len(outputs), cm.n_params, cm.n_states)
    grid = np.arange(0.0, scn.duration_days, spec.trajectory_step)
    save_traj = np.unique(np.append(grid, scn.duration_days))
    prep = Prepared(spec, scn, cm, ref, rows, pop, outputs, save_traj,
                    cohort_solver(spec.solver, spec.rtol), history_solver(spec.rtol), drawn)
    with _CACHE_LOCK:  # one prepared run per process (Dask workers run one cohort)
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
def simulate_chunk(prep: Prepared, chunk: int, timings: dict[str, float] | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The summary and trajectory tables of one chunk (nothing written). ``timings``
    (if given) receives the seconds of each stage: sampling, history, scenario, tables,
    and ``handed_over``: the number of subjects the lanes handed to the scalar solver."""
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    spec, cm, scn = prep.spec, prep.cm, prep.scn
    lo, hi = spec.bounds(chunk)
    age_ref = float(prep.ref.p[cm.param_index("age_ref")])
    cov = popmod.sample_covariates(prep.population, prep.species, spec.seed, lo, hi - lo, age_ref)
    P, varied = popmod.sample_parameters(cm.model, prep.ref.p, spec.seed, lo, hi - lo,
                                         prep.population["variability"])
    t1 = time.perf_counter()
    timings["sampling"] = timings.get("sampling", 0.0) + t1 - t0
    subj = initialise_subjects(cm, covariates_of_frame(cov), ref=prep.ref, P=P,
                               days=scn.duration_days, solver=prep.history_solver,
                               threads=spec.threads)
    t2 = time.perf_counter()
    timings["history"] = timings.get("history", 0.0) + t2 - t1
    # the subject's own overrides first, the protocol after them (it wins where they
    # overlap, e.g. estradiol over a natural menopause)
    # and each subject's own draw of the doses taken at an adherence below 1 (keyed by the
    # cohort's seed and her index: the same whatever the chunking)
    names = cm.model.parameter_names
    subjects = cov.index.to_numpy()
    doses = [subject_doses(prep.drawn, scn.duration_days, (spec.seed, int(s)))
             for s in subjects]
    own = [r + prep.rows + d if (r or d) else [] for r, d in zip(subj.rows, doses, strict=True)]
    sched = Schedule.from_overrides(names, own, shared=prep.rows)
    keep = subjects % spec.trajectory_every == 0
    status = subj.status.copy()
    failure = list(subj.failure)
    results, traj = [], None
    for group, save in ((~keep, np.array([0.0, scn.duration_days])), (keep, prep.save_traj)):
        idx = np.nonzero(group & (status == 0))[0]
        if len(idx) == 0:
            continue
        res = simulate(cm, scn.duration_days, parameters=subj.parameters[idx],
                       initial=subj.initial[idx], schedule=sched.take(idx), save_days=save,
                       outputs=prep.outputs, solver=prep.solver, threads=spec.threads,
                       on_failure="ignore")
        status[idx] = res.status
        timings["handed_over"] = timings.get("handed_over", 0) + int(res.meta["handed_over"])
        for j in np.nonzero(res.status != 0)[0]:
            failure[idx[j]] = (f"scenario: {STATUS.get(int(res.status[j]), 'failed')} at day "
                               f"{res.fail_day[j]:.2f}")
        results.append((idx, res))
        if save is prep.save_traj:
            traj = (idx, res)
    t3 = time.perf_counter()
    timings["scenario"] = timings.get("scenario", 0.0) + t3 - t2
    summary = _summary_table(prep, cov, subj.parameters, varied, results, status, failure)
    trajectories = _trajectory_table(prep, subjects, traj)
    timings["tables"] = timings.get("tables", 0.0) + time.perf_counter() - t3
    return summary, trajectories


def run_chunk(prep: Prepared, out_dir: str | Path, chunk: int) -> dict[str, Any]:
    """Simulate one chunk and write it to the store; returns its statistics."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    summary, traj = simulate_chunk(prep, chunk, timings)
    t1 = time.perf_counter()
    store.write_chunk(out_dir, chunk, summary, traj, bounds=prep.spec.bounds(chunk),
                      run=prep.run_key)
    timings["write"] = time.perf_counter() - t1
    handed = int(timings.pop("handed_over", 0))  # a count, not seconds
    return {"chunk": chunk, "subjects": len(summary), "failed": int((summary["status"] != 0).sum()),
            "handed_over": handed, "seconds": time.perf_counter() - t0, "pid": os.getpid(),
            "timings": timings}


# ----------------------------------------------------------------------------- tables
def _summary_table(prep: Prepared, cov: pd.DataFrame, P: np.ndarray, varied, results: list,
                   status: np.ndarray, failure: np.ndarray) -> pd.DataFrame:
    m = len(cov)
    df = cov.reset_index()
    df["subject"] = df["subject"].astype(np.int64)
    df.insert(1, "status", status.astype(np.int32))
    df.insert(2, "failure", np.asarray(failure, dtype=str))
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
        if name not in prep.cm.model.signed_outputs:
            with np.errstate(divide="ignore", invalid="ignore"):
                df[f"{name}_pct"] = np.where(base[:, j] != 0,
                                             100.0 * (end[:, j] / base[:, j] - 1.0), np.nan)
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
def _dask_task(spec: CohortSpec, ref: Reference, out_dir: str, chunk: int) -> dict[str, Any]:
    return run_chunk(prepare(spec, ref, check_memory=False), out_dir, chunk)


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
    rtol: float = DEFAULT_RTOL,
    threads: int | None = None,
    solver: str | None = None,
    on_chunk: Callable[[dict[str, Any]], None] | None = None,
    lock_wait: float = 0.0,
    on_note: Callable[[str], None] | None = None,
) -> "store.CohortResult":
    """Simulate ``n`` virtual subjects of ``scenario`` into the store at ``out_dir``.

    Parameters
    ----------
    scenario : a scenario file path, mapping or :class:`~neurobone.scenario.schema.Scenario`,
        optionally with a ``population:`` block (docs/cohorts.md).
    n, seed : number of subjects and the seed (a non-negative integer); subject ``i`` is
        the same for a given seed however the cohort is chunked or distributed.
    out_dir : the cohort directory. A rerun with the same arguments resumes: every
        finished chunk is verified (:func:`~neurobone.cohort.store.verify_chunk`), a
        damaged one recomputed (listed in the manifest's ``recomputed_chunks``); with
        other arguments it is an error unless ``overwrite``.
    chunk_size : subjects per chunk (the unit of work, of memory and of resumption); a
        chunk that would need more memory than the machine has available is refused.
    client : a ``dask.distributed.Client``: chunks run as tasks on its cluster, each
        task writing its own chunk (``out_dir`` must be reachable by the workers); this
        process holds the store's lock.
    progress : called as ``progress(done_subjects, n, stage)``, once at the start (with
        the subjects of chunks already finished) and after every chunk.
    trajectory_every, trajectory_step : keep the trajectories of subjects whose index is
        divisible by ``trajectory_every``, saved every ``trajectory_step`` days (default:
        the shortest of daily, weekly, monthly, quarterly giving <= 160 points).
    rtol : relative tolerance of the solver (the lanes where the machine has them).
    threads : Numba threads per chunk (default: all cores; with ``client``, the workers'
        default).
    solver : ``"lanes"`` or ``"switching"``: the scenario's solver (default: the lanes where
        this machine has them); part of the run's identity, so a resume uses the same.
    on_chunk : called with each finished chunk's statistics (after it is written); a
        recomputed chunk's have ``recomputed`` (why it was damaged).
    lock_wait : seconds to wait for another run writing into ``out_dir`` to finish
        (default 0: refuse at once, naming it); see :func:`~neurobone.cohort.store.lock_store`.
    on_note : called with one-line notes as they arise (a stale lock taken over, damaged
        chunks to recompute, stray entries removed); the manifest keeps them as
        ``last_run_notes``.
    """
    scn = as_scenario(scenario)
    step = (trajectory_step if trajectory_step is not None
            else default_trajectory_step(scn.duration_days))
    spec = make_spec(scenario=scenario_dict(scn), n=n, seed=seed, chunk_size=chunk_size,
                     trajectory_every=trajectory_every, trajectory_step=step, rtol=rtol,
                     threads=threads, solver=solver or default_solver_name())
    if client is None:  # before the store is made (a cluster's workers have their own limit)
        check_threads(spec.threads)
    prep = prepare(spec)
    out = store.ensure_directory(out_dir)
    notes: list[str] = []

    def note(text: str) -> None:
        notes.append(text)
        if on_note is not None:
            on_note(text)

    with store.lock_store(out, wait=lock_wait, on_note=note):
        return _run_locked(spec, prep, out, overwrite, client, progress, on_chunk, notes, note)


def _run_locked(spec: CohortSpec, prep: Prepared, out: Path, overwrite: bool, client,
                progress, on_chunk, notes: list[str], note) -> "store.CohortResult":
    """:func:`run_cohort` once this process holds the store's lock."""
    manifest = prep.manifest()
    old = store.prepare_directory(out, manifest, overwrite)
    if old is None:
        manifest.update(created=_now(), complete=False)
    else:
        manifest = {**old, "resumed": _now(), "complete": False}
    for key in ("recomputed_chunks", "last_run_notes", "failed_subjects_last_run"):
        manifest.pop(key, None)
    # what is finished, verified; a damaged chunk's files are removed, record first
    scan = store.scan_chunks(out, manifest, prep.run_key, repair=True)
    store.clean_temporaries(out)
    recomputed = [{"chunk": k, "reason": why} for k, why in sorted(scan.bad.items())]
    manifest["recomputed_chunks"] = recomputed
    for entry in recomputed[:5]:
        note(f"chunk {entry['chunk']} is damaged ({entry['reason']}): recomputing it")
    if len(recomputed) > 5:
        note(f"... and {len(recomputed) - 5} more damaged "
             "chunks (the manifest's recomputed_chunks)")
    if scan.extra:
        note(f"removed {len(scan.extra)} entries that are not chunks of this cohort "
             f"({', '.join(sorted(scan.extra)[:3])}{', ...' if len(scan.extra) > 3 else ''})")
    manifest["last_run_notes"] = notes
    store.write_manifest(out, manifest)
    done = scan.ok
    # the chunks to compute, in order, never listed whole (there may be a million)
    pending = (k for k in range(spec.n_chunks) if k not in done)
    count = sum(spec.bounds(k)[1] - spec.bounds(k)[0] for k in done)
    if progress is not None:
        progress(count, spec.n, "simulating")
    t0 = time.perf_counter()
    start_count = count

    stages: dict[str, float] = {}

    def finished(stats: dict[str, Any]) -> None:
        nonlocal count
        count += stats["subjects"]
        if stats["chunk"] in scan.bad:
            stats["recomputed"] = scan.bad[stats["chunk"]]
        for k, v in stats.get("timings", {}).items():
            stages[k] = stages.get(k, 0.0) + v
        if on_chunk is not None:
            on_chunk(stats)
        if progress is not None:
            progress(count, spec.n, "simulating")

    failed = 0
    if client is None:
        for k in pending:
            stats = run_chunk(prep, out, k)
            failed += stats["failed"]
            finished(stats)
    else:
        for solver in (prep.solver, prep.history_solver):  # kernels compiled before the
            solver.prepare(prep.cm)  # workers look for them
        failed = _run_dask(client, spec, prep, out, pending, finished)
    elapsed = time.perf_counter() - t0
    new = count - start_count
    manifest.update(complete=True, finished=_now(), last_run_seconds=round(elapsed, 3),
                    last_run_subjects=new,
                    last_run_rate=round(new / elapsed, 2) if elapsed > 0 and new else None,
                    last_run_stage_seconds={k: round(v, 3) for k, v in stages.items()},
                    last_run_notes=notes)
    if failed:
        manifest["failed_subjects_last_run"] = failed
    store.write_manifest(out, manifest)
    return store.CohortResult(out, manifest)


def _dask_window(client) -> int:
    """Chunks kept submitted at once: twice the cluster's threads (at least 4)."""
    try:
        threads = sum(int(v) for v in client.nthreads().values())
    except Exception:  # an odd client: a fixed window
        threads = 8
    return max(4, 2 * threads)


def _run_dask(client, spec: CohortSpec, prep: Prepared, out: Path, pending,
              finished: Callable[[dict[str, Any]], None]) -> int:
    """Run the ``pending`` chunks (an iterator) as Dask tasks, a window of them submitted
    at a time (a million chunks are not a million futures at once)."""
    from distributed import as_completed

    spec_ref = client.scatter(spec, broadcast=True)
    refs_ref = client.scatter(prep.ref, broadcast=True)
    tag = spec.key()[:12]
    target = str(out.resolve())
    chunks = iter(pending)

    def submit(k: int):
        return client.submit(_dask_task, spec_ref, refs_ref, target, k,
                             key=f"neurobone-cohort-{tag}-{k:05d}-{os.getpid()}-{time.time_ns()}",
                             pure=False, retries=0)

    active = {submit(k) for k in itertools.islice(chunks, _dask_window(client))}
    failed = 0
    try:
        queue = as_completed(list(active))
        for fut in queue:
            active.discard(fut)
            stats = fut.result()
            failed += stats["failed"]
            finished(stats)
            k = next(chunks, None)
            if k is not None:
                nxt = submit(k)
                active.add(nxt)
                queue.add(nxt)
    except BaseException:
        client.cancel(list(active))
        raise
    return failed


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
