"""Solvers: how :func:`neurobone.simulate` integrates, as small objects.

================  =====================================================================
solver            what it is
================  =====================================================================
:class:`BDF`      SciPy's ``solve_ivp`` (BDF, Radau or LSODA) with the analytic
                  Jacobian, one subject after another: the reference (default rtol 1e-8)
:class:`Rodas4`   Hairer & Wanner's RODAS, a stiffly accurate Rosenbrock method of order
                  4 with the analytic Jacobian, compiled, subjects in parallel
:class:`Dopri5`   Dormand & Prince 5(4), explicit, compiled, subjects in parallel
:class:`Switching`  Dormand & Prince switching per subject to RODAS while the problem is
                  stiff (Hairer's stiffness test) and back
:class:`Lanes`    Dormand & Prince on several subjects per SIMD instruction (16 with
                  AVX-512), each with its own schedule, steps and end; a subject that
                  turns stiff or fails there is integrated again by ``fallback``
================  =====================================================================

Every solver keeps its own error control per subject. The compiled solvers take the
weighted RMS norm of their embedded error estimate with weights
``atol_i + rtol * max(|y_i|, |y_new_i|)``, ``atol_i = rtol * atol_factor * state.scale``;
:class:`BDF` uses SciPy's norm with the same ``rtol`` and ``atol``. Every subject is
integrated exactly to each change point of its schedule.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from neurobone.engine import kernels, platform
from neurobone.engine.kernels import CompiledModel
from neurobone.engine.schedule import Schedule
from neurobone.errors import InputError
from neurobone.model.timed import Override

#: status of a subject the lanes hand over to their fallback solver (never in a result)
HANDOVER = 9
#: first step size tried (days)
H0 = 1e-4
#: the smallest relative tolerance: about 50 times the machine epsilon (Hairer's codes
#: ask for more than 10 eps); below, the step size control chases rounding errors
RTOL_MIN = 1e-14


@dataclass
class Problem:
    """What a solver integrates: N subjects' parameters, initial states, end days and
    schedules, the save days and the outputs (kind 0 state, 1 expression, 2 parameter)."""

    cm: CompiledModel
    P: np.ndarray
    Y0: np.ndarray
    t_end: np.ndarray
    schedule: Schedule
    save: np.ndarray
    kinds: np.ndarray
    idx: np.ndarray

    @property
    def n(self) -> int:
        return self.P.shape[0]

    def take(self, ix: np.ndarray) -> "Problem":
        return Problem(self.cm, np.ascontiguousarray(self.P[ix]),
                       np.ascontiguousarray(self.Y0[ix]), np.ascontiguousarray(self.t_end[ix]),
                       self.schedule.take(ix), self.save, self.kinds, self.idx)


@dataclass
class Outcome:
    """Raw arrays a solver fills (see :class:`~neurobone.engine.result.Result`)."""

    out: np.ndarray
    y_end: np.ndarray
    status: np.ndarray
    fail_t: np.ndarray
    steps: np.ndarray
    rejected: np.ndarray
    stiff: np.ndarray
    handed_over: int = 0  #: subjects the lanes handed to their fallback
    #: lanes: lock steps, lane steps in them, K1 evaluations, ``prev`` evaluations
    lane_counts: np.ndarray | None = None

    @classmethod
    def empty(cls, n: int, n_save: int, n_out: int, n_states: int) -> "Outcome":
        return cls(np.full((n, n_save, n_out), np.nan), np.full((n, n_states), np.nan),
                   np.zeros(n, np.int64), np.full(n, np.nan), np.zeros(n, np.int64),
                   np.zeros(n, np.int64), np.zeros(n, np.int64))

    def put(self, ix: np.ndarray, other: "Outcome") -> None:
        for name in ("out", "y_end", "status", "fail_t", "steps", "rejected", "stiff"):
            getattr(self, name)[ix] = getattr(other, name)


@contextlib.contextmanager
def numba_threads(threads: int | None):
    """Numba's thread count for the calls inside (thread-local in Numba), restored after,
    with one subject or block per parallel task."""
    import numba

    prev = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    try:
        with numba.parallel_chunksize(1):
            yield numba.get_num_threads()
    finally:
        numba.set_num_threads(prev)


@dataclass(frozen=True)
class Solver:
    """Tolerances and limits shared by every solver.

    ``rtol`` is the relative tolerance; the absolute tolerance of each state is
    ``rtol * atol_factor * state.scale``. ``max_steps`` limits a subject's steps
    (accepted plus rejected), ``hmax`` its step size (default: no limit below its end).
    """

    rtol: float = 1e-6
    atol_factor: float = 1e-4
    max_steps: int = 5_000_000
    hmax: float | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.rtol, (int, float)) and not isinstance(self.rtol, bool)
                and RTOL_MIN <= self.rtol < 1):
            raise InputError(f"rtol must be within [{RTOL_MIN:g}, 1), got {self.rtol!r} "
                             "(below, rounding errors exceed the tolerance)")
        if not (isinstance(self.atol_factor, (int, float)) and self.atol_factor > 0
                and math.isfinite(self.atol_factor)):
            raise InputError(f"atol_factor must be a positive number, got {self.atol_factor!r}")
        if not (isinstance(self.max_steps, (int, np.integer)) and self.max_steps >= 1):
            raise InputError(f"max_steps must be a positive integer, got {self.max_steps!r}")
        if self.hmax is not None and not (self.hmax > 0):
            raise InputError(f"hmax must be positive, got {self.hmax!r}")

    def atol(self, cm: CompiledModel) -> np.ndarray:
        return self.rtol * self.atol_factor * np.array([s.scale for s in cm.model.states])

    def _hmax(self, pr: Problem) -> float:
        return float(self.hmax) if self.hmax is not None else max(float(pr.t_end.max()), 1.0)

    def integrate(self, pr: Problem, threads: int | None = None) -> Outcome:  # pragma: no cover
        raise NotImplementedError

    def prepare(self, cm: CompiledModel) -> None:
        """Load (and compile, the first time on this machine) the kernels this solver
        runs for ``cm``: one subject for one day."""
        p = cm.parameter_vector()
        # one shared row that changes nothing: the change-point path compiles too
        row = Override(cm.model.parameter_names[0], float(p[0]), 0.5, 1.0)
        pr = Problem(cm, p[None, :], cm.initial_vector()[None, :], np.ones(1),
                     Schedule.from_overrides(cm.model.parameter_names, None, shared=[row], n=1),
                     np.array([0.0, 1.0]), np.zeros(1, np.int64), np.zeros(1, np.int64))
        self.integrate(pr)


@dataclass(frozen=True)
class _Compiled(Solver):
    """A method of the compiled scalar integrator (subjects in parallel)."""

    METHOD = -1

    def integrate(self, pr: Problem, threads: int | None = None) -> Outcome:
        cm = pr.cm
        o = Outcome.empty(pr.n, len(pr.save), len(pr.kinds), cm.n_states)
        if pr.n == 0:
            return o
        try:
            self._batch(pr, o, threads)
        except (ArithmeticError, SystemError) as exc:
            if not _raised_arithmetic(exc):
                raise
            # a model kernel raised (Numba's negative integer powers of zero raise
            # ZeroDivisionError whatever the error model): each subject alone, those
            # that raise failed with a non-finite state
            o = Outcome.empty(pr.n, len(pr.save), len(pr.kinds), cm.n_states)
            for i in range(pr.n):
                one = Outcome.empty(1, len(pr.save), len(pr.kinds), cm.n_states)
                try:
                    self._batch(pr.take(np.array([i])), one, 1)
                except (ArithmeticError, SystemError) as exc_i:
                    if not _raised_arithmetic(exc_i):
                        raise
                    _raised_at(one, pr.save)
                o.put(np.array([i]), one)
        return o

    def _batch(self, pr: Problem, o: Outcome, threads: int | None) -> None:
        cm = pr.cm
        args = (pr.P, pr.Y0, pr.t_end, *pr.schedule.columns, pr.save, pr.kinds, pr.idx,
                float(self.rtol), self.atol(cm), H0, self._hmax(pr), int(self.max_steps),
                len(cm.model.expressions), self.METHOD, o.out, o.y_end, o.status, o.fail_t,
                o.steps, o.rejected, o.stiff)
        with numba_threads(threads):
            kernels.call(cm.module.integrate_batch, *args)


def _raised_arithmetic(exc: BaseException) -> bool:
    """Whether ``exc`` is (or, for Numba's parallel regions, wraps) an arithmetic error."""
    return isinstance(exc, ArithmeticError) or isinstance(
        exc.__cause__ or exc.__context__, ArithmeticError)


def _raised_at(one: Outcome, save: np.ndarray) -> None:
    """Mark the one subject of ``one`` whose kernel raised as failed (status 3) at the
    last day it saved (its later days NaN)."""
    reached = np.nonzero(np.all(np.isfinite(one.out[0]), axis=1))[0]
    k = int(reached[-1]) + 1 if len(reached) else 0
    one.status[0] = 3
    one.fail_t[0] = save[k - 1] if k else 0.0
    one.out[0, k:] = np.nan
    one.y_end[0] = np.nan


@dataclass(frozen=True)
class Rodas4(_Compiled):
    """RODAS (Hairer & Wanner), stiffly accurate Rosenbrock of order 4, every step."""

    METHOD = 0


@dataclass(frozen=True)
class Dopri5(_Compiled):
    """Dormand & Prince 5(4), explicit, every step."""

    METHOD = 1


@dataclass(frozen=True)
class Switching(_Compiled):
    """Dormand & Prince, switching per subject to RODAS while stiff, and back."""

    METHOD = 2


@dataclass(frozen=True)
class Lanes(Solver):
    """Dormand & Prince on several subjects per SIMD instruction; a subject that turns
    stiff or fails there is integrated again from day 0 by ``fallback`` (default:
    :class:`Switching` with the same tolerances)."""

    fallback: Solver | None = None

    def _fallback(self) -> Solver:
        if self.fallback is not None:
            return self.fallback
        return Switching(self.rtol, self.atol_factor, self.max_steps, self.hmax)

    def integrate(self, pr: Problem, threads: int | None = None) -> Outcome:
        cm = pr.cm
        o = Outcome.empty(pr.n, len(pr.save), len(pr.kinds), cm.n_states)
        if pr.n == 0:
            return o
        mod = cm.lanes()
        with numba_threads(threads) as k:
            order, starts = blocks(pr.t_end, mod.LANES, k)
            counts = np.zeros((len(starts) - 1, 4), np.int64)
            args = (order, starts, pr.P, pr.Y0, pr.t_end, *pr.schedule.columns,
                    *shared_change_times(pr, mod), pr.save,
                    pr.kinds, pr.idx, float(self.rtol), self.atol(cm), H0, self._hmax(pr),
                    int(self.max_steps), len(cm.model.expressions), o.out, o.y_end, o.status,
                    o.fail_t, o.steps, o.rejected, counts)
            kernels.call(mod.integrate_lanes, *args)
        back = np.nonzero(o.status == HANDOVER)[0]
        if len(back):
            o.put(back, self._fallback().integrate(pr.take(back), threads))
        o.handed_over = len(back)
        o.lane_counts = counts.sum(axis=0)
        return o


def shared_change_times(pr: Problem, mod) -> tuple[np.ndarray, ...]:
    """The change points of the schedule's shared rows up to the last end day, when every
    subject has the same base values of the parameters they set (else empty: lanes then
    search their rows at each change point), with the state in force from each point
    (``cs``), each state's values of those parameters (``cvt``, parameters ``cidx``) and
    the lanes' parameter-only terms that depend on them (``caff``)."""
    empty = (np.zeros(0), np.zeros(1, np.int64), np.zeros((1, 0)), np.zeros(0, np.int64),
             np.zeros(0, np.int64))
    cidx = np.unique(pr.schedule.shared_pindex)
    if len(cidx) == 0 or not np.all(pr.P[:, cidx] == pr.P[0, cidx]):
        return empty
    sq, sv, ss, se, sm, _, q, v, s, e, m = pr.schedule.columns
    q, v, s, e, m = q[:0], v[:0], s[:0], e[:0], m[:0]  # the shared rows alone
    ct = kernels.call(pr.cm.module.change_times, float(pr.t_end.max()), pr.P[0], sq, sv, ss,
                      se, sm, q, v, s, e, m, 0, 0)
    values = kernels.call(pr.cm.module.values_at, ct, pr.P[0], cidx, sq, sv, ss, se, sm, q, v,
                          s, e, m, 0, 0)
    cvt, cs = np.unique(values, axis=0, return_inverse=True)
    caff = np.nonzero(mod.CDEP[:, cidx].any(axis=1))[0].astype(np.int64)
    return ct, cs.astype(np.int64).ravel(), np.ascontiguousarray(cvt), cidx, caff


def blocks(t_end: np.ndarray, lanes: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Subjects in blocks for the lanes: ``order`` (longest first, so short ones fill the
    lanes at the end) cut at ``starts`` into at most two blocks per thread."""
    n = len(t_end)
    order = np.argsort(-t_end, kind="stable").astype(np.int64)
    nb = int(max(1, min(-(-n // lanes), 2 * max(threads, 1))))
    starts = np.round(np.linspace(0, n, nb + 1)).astype(np.int64)
    return order, starts


class _OverBudget(Exception):
    """A subject used up :attr:`Solver.max_steps` right-hand-side evaluations in SciPy."""


@dataclass(frozen=True)
class BDF(Solver):
    """SciPy's ``solve_ivp`` with the analytic Jacobian, one subject after another
    (``method``: ``"BDF"``, ``"Radau"`` or ``"LSODA"``): the reference solver. Its
    ``max_steps`` counts right-hand-side evaluations (status "too many steps" beyond)."""

    rtol: float = 1e-8
    method: Literal["BDF", "Radau", "LSODA"] = "BDF"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.method not in ("BDF", "Radau", "LSODA"):
            raise InputError(f"BDF method must be BDF, Radau or LSODA, got {self.method!r}")

    def integrate(self, pr: Problem, threads: int | None = None) -> Outcome:
        o = Outcome.empty(pr.n, len(pr.save), len(pr.kinds), pr.cm.n_states)
        for i in range(pr.n):
            self._one(pr, i, o)
        return o

    def _one(self, pr: Problem, i: int, o: Outcome) -> None:
        from scipy.integrate import solve_ivp

        from neurobone.engine.numerics import rows

        cm, save = pr.cm, pr.save
        sq, sv, ss, se, sm, off, q, v, s, e, m = pr.schedule.columns
        lo, hi = int(off[i]), int(off[i + 1])
        base = pr.P[i]
        p, pn = base.copy(), base.copy()
        rows.params_at(0.0, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        y = pr.Y0[i].copy()
        te = float(pr.t_end[i])
        atol = self.atol(cm)
        rhs, jac = cm.rhs, cm.jac
        n = cm.n_states
        dy, J = np.zeros(n), np.zeros((n, n))
        obuf = np.zeros(max(len(cm.model.expressions), 1))
        t, ks, steps = 0.0, 0, 0

        def record(tt, yy, k):
            if np.any(pr.kinds == 1):
                cm.observe(float(tt), np.ascontiguousarray(yy), p, obuf)
            row = o.out[i, k]
            for j, (kind, ix) in enumerate(zip(pr.kinds, pr.idx, strict=True)):
                row[j] = yy[ix] if kind == 0 else (obuf[ix] if kind == 1 else p[ix])

        while True:
            while ks < len(save) and save[ks] <= t:
                record(t, y, ks)
                ks += 1
            if t >= te:
                break
            tb = rows.next_change(t, te, p, base, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
            inside = save[(save > t) & (save < tb)]
            t_eval = np.append(inside, tb)
            pp = p.copy()

            budget = [int(self.max_steps) - steps]

            def f(tt, yy, pp=pp, budget=budget):
                # the budget counts right-hand-side evaluations (SciPy has no step limit)
                budget[0] -= 1
                if budget[0] < 0:
                    raise _OverBudget
                return rhs(tt, np.ascontiguousarray(yy), pp, dy).copy()

            def solve(t_eval, t0=t, tb=tb, y=y, pp=pp):
                # equations that blow up make SciPy warn on every step: the failure is
                # reported as a status, not as warnings
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    return solve_ivp(
                        f, (t0, tb), y, method=self.method, t_eval=t_eval, rtol=self.rtol,
                        atol=atol, max_step=self.hmax or np.inf,
                        jac=lambda tt, yy: jac(tt, np.ascontiguousarray(yy), pp, J).copy())

            try:
                sol = solve(t_eval)
            except _OverBudget:
                o.status[i] = 2
                o.fail_t[i] = t
                o.out[i, ks:] = np.nan
                o.steps[i] = int(self.max_steps)
                return
            except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
                # SciPy refuses a non-finite Jacobian or right-hand side (its LU
                # factorisation checks): the subject fails in this segment
                if isinstance(exc, ValueError) and "inf" not in str(exc).lower():
                    raise
                o.status[i] = 1 if isinstance(exc, np.linalg.LinAlgError) else 3
                o.fail_t[i] = t
                o.out[i, ks:] = np.nan
                o.steps[i] = steps
                return
            steps += int(sol.nfev)
            if sol.status != 0 or not np.all(np.isfinite(sol.y)):
                # keep the save points reached with finite states (sol.t holds the
                # t_eval points reached); the failure is reported at the last of them
                good = np.all(np.isfinite(sol.y), axis=0)
                reached = len(sol.t) if np.all(good) else int(np.argmin(good))
                for k in range(min(reached, len(inside))):
                    record(inside[k], sol.y[:, k], ks)
                    ks += 1
                o.status[i] = 3 if sol.status == 0 else 1
                o.fail_t[i] = sol.t[reached - 1] if reached else t
                try:  # the day it stopped: the segment again, every step kept
                    budget[0] = int(sol.nfev) + 1
                    steps_kept = solve(None)
                    finite = np.all(np.isfinite(steps_kept.y), axis=0)
                    last = len(finite) - 1 if np.all(finite) else int(np.argmin(finite)) - 1
                    if last >= 0:
                        o.fail_t[i] = max(o.fail_t[i], float(steps_kept.t[last]))
                except (_OverBudget, ValueError, ArithmeticError, np.linalg.LinAlgError):
                    pass
                o.out[i, ks:] = np.nan
                o.steps[i] = steps
                return
            for k in range(len(inside)):
                record(inside[k], sol.y[:, k], ks)
                ks += 1
            y = sol.y[:, -1].copy()
            t = tb
            rows.params_at(t, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        o.y_end[i] = y
        o.steps[i] = steps


def default_solver(n: int) -> Solver:
    """The solver :func:`neurobone.simulate` uses without one: :class:`Lanes` where the
    machine has them and at least :data:`LANES_FROM` subjects are integrated (below, the
    one-off compilation of the lanes outweighs their speed), else :class:`Switching`."""
    if platform.lanes_available() and n >= LANES_FROM:
        return Lanes()
    return Switching()


#: subjects from which :func:`default_solver` chooses the lanes
LANES_FROM = 256

SOLVERS: dict[str, type[Solver]] = {"bdf": BDF, "rodas4": Rodas4, "dopri5": Dopri5,
                                    "switching": Switching, "lanes": Lanes}


def solver_named(name: str, **options) -> Solver:
    """A solver by name (``bdf``, ``rodas4``, ``dopri5``, ``switching``, ``lanes``)."""
    try:
        cls = SOLVERS[name.lower()]
    except KeyError:
        raise InputError(f"unknown solver {name!r}; valid: {', '.join(SOLVERS)}") from None
    return cls(**options)


def warm_up(model, solvers: list[Solver] | None = None) -> dict[str, float]:
    """Load (and, the first time on this machine, compile) every kernel ``model`` needs:
    the scalar kernels, the compiled integrators and the lanes where the machine has
    them. Returns the seconds each took."""
    import time

    out: dict[str, float] = {}
    t = time.perf_counter()
    cm = kernels.compile_model(model)
    cm.rhs, cm.jac, cm.observe  # noqa: B018 - compiled on first access
    out["scalar kernels"] = time.perf_counter() - t
    chosen = solvers or [Switching()] + ([Lanes()] if platform.lanes_available() else [])
    for solver in chosen:
        t = time.perf_counter()
        solver.prepare(cm)
        out[type(solver).__name__] = time.perf_counter() - t
    return out


def _warm_one(name: str, solver: str) -> tuple[str, str, dict[str, float]]:
    from neurobone.model.registry import get_model

    return name, solver, warm_up(get_model(name), [solver_named(solver)])


def warm_up_models(names: list[str], processes: int | None = None):
    """:func:`warm_up` for registered models, one process per model and solver (Numba
    compiles in one thread per process: on two cores this halves the wait). Yields
    ``(model, solver, seconds by part)`` as each finishes."""
    import concurrent.futures as cf
    import multiprocessing as mp
    import os

    tasks = [(n, s) for n in names
             for s in ("switching", *(("lanes",) if platform.lanes_available() else ()))]
    workers = max(1, min(processes or os.cpu_count() or 1, len(tasks)))
    ctx = mp.get_context("spawn")  # a fresh interpreter: no Numba state inherited
    with cf.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        for fut in cf.as_completed([pool.submit(_warm_one, n, s) for n, s in tasks]):
            yield fut.result()


__all__ = ["BDF", "Dopri5", "Lanes", "Rodas4", "Solver", "Switching", "default_solver",
           "solver_named", "warm_up", "warm_up_models"]
