"""``simulate``: one subject or many, any solver, one result type."""

from __future__ import annotations

import math
import numbers
import os
import warnings
from dataclasses import replace
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from neurobone.engine.kernels import CompiledModel, compile_model
from neurobone.engine.result import BLOW_UP, Result
from neurobone.engine.schedule import Schedule
from neurobone.engine.solvers import Outcome, Problem, Solver, default_solver
from neurobone.errors import InputError, SolverError
from neurobone.model.definition import Model
from neurobone.model.registry import as_model
from neurobone.model.timed import Override

#: ``progress(done, total, stage)``: the one shape of every progress callback
Progress = Callable[[int, int, str], None]
#: the share of the available memory a result may take (the arrays are copied into
#: tables and files after the integration)
MEMORY_SHARE = 0.3
#: failed subjects whose state at the failure is looked for (each one is integrated
#: again to its failure day)
DIAGNOSED = 5


def check_threads(threads) -> int | None:
    """``threads`` as given when it is None or an integer from 1 to Numba's
    ``NUMBA_NUM_THREADS``, else :class:`InputError`."""
    if threads is None:
        return None
    import numba

    top = int(numba.config.NUMBA_NUM_THREADS)
    if (isinstance(threads, bool) or not isinstance(threads, numbers.Integral)
            or not 1 <= threads <= top):
        raise InputError(f"threads must be an integer from 1 to {top} (NUMBA_NUM_THREADS), "
                         f"got {threads!r}")
    return int(threads)


def available_memory() -> int | None:
    """Bytes of memory available to new allocations: ``MemAvailable`` of
    ``/proc/meminfo``, else the free physical pages (``os.sysconf``); None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def check_memory(n_subjects: int, n_save: int, n_outputs: int, what: str = "the result") -> int:
    """The bytes of a result of ``n_subjects x n_save x n_outputs`` doubles, or
    :class:`InputError` when they exceed :data:`MEMORY_SHARE` of the available memory
    (:func:`available_memory`): before anything is allocated, never a ``MemoryError``."""
    need = 8 * int(n_subjects) * int(n_save) * max(int(n_outputs), 1)
    free = available_memory()
    if free is not None and need > MEMORY_SHARE * free:
        raise InputError(
            f"{what} would hold {n_subjects:,} subjects x {n_save:,} saved days x "
            f"{n_outputs:,} outputs = {need / 1e9:.3g} GB, more than this machine can hold "
            f"({free / 1e9:.3g} GB available); save fewer days or outputs, or integrate "
            "fewer subjects at a time")
    return need


def as_compiled(model: Model | CompiledModel | str, species: str | None = None) -> CompiledModel:
    """A compiled model from a registered name, a :class:`Model` or a compiled model,
    with the ``species`` preset applied when given."""
    if isinstance(model, CompiledModel) and species in (None, model.model.default_species):
        return model
    return compile_model(as_model(model, species))


def resolve_outputs(model: Model, outputs: Sequence[str] | None
                    ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, kinds (0 state, 1 expression, 2 parameter) and indices of ``outputs``
    (default: every state, then every named output that is not a state)."""
    if outputs is None:
        outputs = list(dict.fromkeys(model.state_names + list(model.outputs)))
    if isinstance(outputs, str):
        outputs = [outputs]
    names = list(dict.fromkeys(outputs))
    kinds, idx = [], []
    for name in names:
        target = model.outputs.get(name, name)
        if target in model.state_names:
            kinds.append(0)
            idx.append(model.state_names.index(target))
        elif target in model.expression_names:
            kinds.append(1)
            idx.append(model.expression_names.index(target))
        elif target in model.parameter_names:
            kinds.append(2)
            idx.append(model.parameter_names.index(target))
        else:
            valid = ", ".join(sorted(set(model.state_names) | set(model.expression_names)
                                     | set(model.outputs)))
            raise InputError(f"unknown output {name!r} for model {model.name!r}; valid: {valid}")
    return names, np.array(kinds, np.int64), np.array(idx, np.int64)


def units_of(model: Model, names: Sequence[str]) -> dict[str, str]:
    """The unit of each output name."""
    things = {p.name: p.unit for p in model.parameters}
    things.update({e.name: e.unit for e in model.expressions})
    things.update({s.name: s.unit for s in model.states})
    return {n: things.get(model.outputs.get(n, n), "") for n in names}


def _count(name: str, value) -> int | None:
    """The number of subjects a batched argument implies (None: one for all)."""
    if value is None or isinstance(value, Mapping):
        return None
    if isinstance(value, (pd.DataFrame, Schedule)):
        return len(value)
    if isinstance(value, np.ndarray):
        return value.shape[0] if value.ndim == 2 else None
    if isinstance(value, Sequence) and value and not isinstance(value[0], Override):
        return len(value)
    return None


def parameter_matrix(cm: CompiledModel, parameters, n: int) -> np.ndarray:
    """An (n, n_params) matrix from a mapping, a vector, a matrix or a DataFrame of named
    columns (the rest default)."""
    base = cm.parameter_vector()
    if parameters is None:
        return np.tile(base, (n, 1))
    if isinstance(parameters, pd.DataFrame):
        P = np.tile(base, (len(parameters), 1))
        for col in parameters.columns:
            P[:, cm.param_index(col)] = parameters[col].to_numpy(float)
        return P
    if isinstance(parameters, Mapping):
        return np.tile(cm.parameter_vector(parameters), (n, 1))
    P = np.asarray(parameters, dtype=float)
    if P.ndim == 1:
        P = np.tile(cm.parameter_vector(P), (n, 1))
    if P.ndim != 2 or P.shape[1] != cm.n_params:
        raise InputError(f"parameters must have shape (N, {cm.n_params}) for model "
                         f"{cm.model.name!r}, got {P.shape}")
    return np.ascontiguousarray(P)


def _initial_matrix(cm: CompiledModel, initial, n: int) -> np.ndarray:
    if initial is None or isinstance(initial, Mapping):
        return np.tile(cm.initial_vector(initial), (n, 1))
    Y = np.asarray(initial, dtype=float)
    if Y.ndim == 1:
        Y = np.tile(cm.initial_vector(Y), (n, 1))
    if Y.shape != (n, cm.n_states):
        raise InputError(f"initial must have shape ({n}, {cm.n_states}), got {Y.shape}")
    return np.ascontiguousarray(Y)


def _schedule(cm: CompiledModel, schedule, n: int) -> Schedule:
    names = cm.model.parameter_names
    if schedule is None:
        return Schedule.empty(names, n)
    if isinstance(schedule, Schedule):
        if schedule.parameter_names != tuple(names):
            raise InputError("the Schedule was built for a different model")
        return schedule
    schedule = list(schedule)
    if all(isinstance(o, Override) for o in schedule):
        return Schedule.from_overrides(names, None, shared=schedule, n=n)
    return Schedule.from_overrides(names, [list(s) for s in schedule])


def _days(days, n: int) -> np.ndarray:
    t = (np.asarray(days, dtype=float) if not isinstance(days, (int, float))
         else np.array(days, float))
    if t.ndim == 0:
        t = np.full(n, float(t))
    if t.shape != (n,) or not np.all(np.isfinite(t)) or np.any(t < 0) or not np.any(t > 0):
        raise InputError(f"days must be a positive number of days (or one non-negative number "
                         f"per subject), got {days!r}")
    return t


def simulate(
    model: Model | CompiledModel | str,
    days: float | Sequence[float] | np.ndarray,
    *,
    parameters: Mapping[str, float] | np.ndarray | pd.DataFrame | None = None,
    initial: Mapping[str, float] | np.ndarray | None = None,
    schedule: Sequence[Override] | Sequence[Sequence[Override]] | Schedule | None = None,
    save_days: Sequence[float] | np.ndarray | None = None,
    outputs: Sequence[str] | None = None,
    solver: Solver | None = None,
    species: str | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
    chunk_size: int | None = None,
    on_failure: str = "warn",
) -> Result:
    """Integrate one subject or many from day 0.

    Parameters
    ----------
    model : a registered model name, a :class:`~neurobone.model.definition.Model` or a
        compiled model.
    days : the last day, one number for every subject or one per subject.
    parameters : by name (a mapping, for every subject), one full vector, an
        ``(N, n_params)`` matrix or a DataFrame of named columns (others default).
    initial : initial states by name, one vector, or ``(N, n_states)``; default: the
        model's declared initial values.
    schedule : timed overrides: one list of :class:`Override` for every subject, one
        list per subject, or a :class:`Schedule`.
    save_days : days to save (default ``0, 1, ..., days``).
    outputs : states, expressions, named outputs or parameters (the value in force) to
        keep; default every state and named output.
    solver : a solver object (:mod:`neurobone.engine.solvers`); default
        :func:`~neurobone.engine.solvers.default_solver` for the number of subjects.
    threads : threads of the compiled solvers (default: all cores).
    progress : called as ``progress(done, total, "integrating")`` after every chunk of
        ``chunk_size`` subjects.
    on_failure : ``"warn"`` (default), ``"raise"`` (:class:`SolverError`) or
        ``"ignore"``; the result's ``status``/``failures()`` always tell.

    Returns a :class:`~neurobone.engine.result.Result` (subjects x days x outputs).
    """
    cm = as_compiled(model, species)
    m = cm.model
    if on_failure not in ("warn", "raise", "ignore"):
        raise InputError(f"on_failure must be warn, raise or ignore, got {on_failure!r}")
    if solver is not None and not isinstance(solver, Solver):
        raise InputError(f"solver must be a Solver object (neurobone.engine.solvers), got "
                         f"{solver!r}")
    threads = check_threads(threads)
    counts = {k: c for k, c in (("parameters", _count("parameters", parameters)),
                                ("initial", _count("initial", initial)),
                                ("schedule", _count("schedule", schedule)),
                                ("days", np.size(days) if np.ndim(days) else None))
              if c is not None}
    if len(set(counts.values())) > 1:
        raise InputError("the arguments give different numbers of subjects: "
                         + ", ".join(f"{k} {v}" for k, v in counts.items()))
    n = next(iter(counts.values()), 1)
    t_end = _days(days, n)
    P = parameter_matrix(cm, parameters, n)
    if not np.all(np.isfinite(P)):
        bad = np.nonzero(~np.all(np.isfinite(P), axis=1))[0]
        raise InputError(f"non-finite parameters for subjects {bad[:5].tolist()}")
    Y0 = _initial_matrix(cm, initial, n)
    if not np.all(np.isfinite(Y0)):
        raise InputError("initial states must be finite")
    sched = _schedule(cm, schedule, n)
    if sched.n_subjects != n:
        raise InputError(f"{sched.n_subjects} schedules for {n} subjects")
    last = float(t_end.max())
    names, kinds, idx = resolve_outputs(m, outputs)
    if save_days is None:
        if last > 1e7:
            raise InputError(f"days {last:g}: too many days to save each of them (at most "
                             "10,000,000; pass save_days to save fewer)")
        whole = int(math.floor(last + 1e-9))
        check_memory(n, whole + 1 + (whole < last - 1e-9), len(names))
        save = np.arange(whole + 1, dtype=float)
        if save[-1] < last - 1e-9:
            save = np.append(save, last)
    else:
        try:
            save = np.asarray(save_days, dtype=float).ravel()
        except (TypeError, ValueError):
            raise InputError("save_days must be numbers of days") from None
        if len(save) and (np.any(np.diff(save) < 0) or save[0] < 0 or save[-1] > last
                          or not np.all(np.isfinite(save))):
            raise InputError(f"save_days must be sorted and within 0..{last:g}")
    check_memory(n, len(save), len(names))
    solver = solver or default_solver(n)
    pr = Problem(cm, P, Y0, t_end, sched, save, kinds, idx)

    step = (int(chunk_size) if chunk_size is not None
            else n if progress is None else max(1, min(n, 16384)))
    if step < 1:
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    result = Outcome.empty(n, len(save), len(names), cm.n_states)
    scale = np.array([st.scale for st in m.states])
    culprit: dict[int, str] = {}
    handed = 0
    lane_counts = np.zeros(4, np.int64)
    for lo in range(0, n, step):
        ix = np.arange(lo, min(n, lo + step))
        sub = pr if len(ix) == n else pr.take(ix)
        part = solver.integrate(sub, threads)
        for j, text in check_outcome(part, sub, scale, names).items():
            culprit[int(ix[j])] = text
        result.put(ix, part)
        handed += part.handed_over
        if part.lane_counts is not None:
            lane_counts += part.lane_counts
        if progress is not None:
            progress(int(ix[-1]) + 1, n, "integrating")
    res = Result(m.name, save, result.out, names, result.status, result.fail_t, result.y_end,
                 list(m.state_names), result.steps, result.rejected, result.stiff,
                 units_of(m, names),
                 meta={"solver": solver, "schedule_rows": sched.n_rows, "handed_over": handed},
                 failed_state=culprit)
    if lane_counts[0]:
        lock, busy, k1, pv = map(int, lane_counts)
        res.meta["lanes"] = {"lock_steps": lock, "lane_steps": busy, "k1_evaluations": k1,
                             "prev_evaluations": pv}
    if not res.ok:
        if on_failure != "ignore":
            for i in np.nonzero(res.status != 0)[0][:DIAGNOSED]:
                if int(i) not in culprit:
                    culprit[int(i)] = state_at_failure(pr, solver, int(i), float(res.fail_day[i]))
        if on_failure == "raise":
            raise SolverError(res.failure_message())
        if on_failure == "warn":
            warnings.warn(res.failure_message(), RuntimeWarning, stacklevel=2)
    return res


def check_outcome(o: Outcome, pr: Problem, scale: np.ndarray, names: list[str]) -> dict[int, str]:
    """Fail the subjects a solver finished with a non-finite output or a state beyond
    :data:`~neurobone.engine.result.BLOW_UP` times its scale (status 5 or 4: the
    equations blew up without stopping the solver), from the first saved day where it
    shows (else their end day): that day and the later ones become NaN, as for any
    failure. Returns ``{subject: what}`` for the failed ones."""
    out: dict[int, str] = {}
    done = np.nonzero(o.status == 0)[0]
    if len(done) == 0:
        return out
    n_save = len(pr.save)
    first = np.full(len(done), n_save, np.int64)  # the first bad save day, per subject
    code = np.zeros(len(done), np.int64)
    what = [""] * len(done)
    reach = pr.save[None, :] <= pr.t_end[done][:, None] + 1e-9
    for j, name in enumerate(names):
        v = o.out[done, :, j]
        with np.errstate(invalid="ignore"):
            bad = reach & ~np.isfinite(v)
            big = (reach & np.isfinite(v) & (np.abs(v) > BLOW_UP * scale[pr.idx[j]])
                   if pr.kinds[j] == 0 else np.zeros_like(bad))
        for flags, status, text in ((bad, 5, "output {name!r} is {v:g}"),
                                    (big, 4, "state {name!r} = {v:.3g} ({r:.3g} x its scale)")):
            for r in np.nonzero(flags.any(axis=1))[0]:
                k = int(np.argmax(flags[r]))
                if k < first[r] or (k == first[r] and status == 5 and code[r] == 4):
                    first[r], code[r] = k, status
                    x = float(v[r, k])
                    with np.errstate(over="ignore"):
                        ratio = abs(x) / scale[pr.idx[j]] if status == 4 else 0.0
                    what[r] = text.format(name=name, v=x, r=ratio)
    y = o.y_end[done]
    with np.errstate(invalid="ignore", over="ignore"):
        ratio = np.abs(y) / scale[None, :]
    final_bad = ~np.all(np.isfinite(y) & (ratio <= BLOW_UP), axis=1)
    for r in np.nonzero(final_bad & (code == 0))[0]:
        k_state = int(np.argmax(np.where(np.isfinite(ratio[r]), ratio[r], np.inf)))
        x = float(y[r, k_state])
        code[r] = 3 if not math.isfinite(x) else 4
        what[r] = (f"state {pr.cm.model.state_names[k_state]!r} = {x:.3g} "
                   f"({ratio[r, k_state]:.3g} x its scale)" if math.isfinite(x) else
                   f"state {pr.cm.model.state_names[k_state]!r} is {x:g}")
    for r in np.nonzero(code)[0]:
        i = int(done[r])
        k = int(first[r])
        o.status[i] = code[r]
        o.fail_t[i] = pr.save[k] if k < n_save else pr.t_end[i]
        o.out[i, k:] = np.nan
        o.y_end[i] = np.nan
        out[i] = what[r]
    return out


def state_at_failure(pr: Problem, solver: Solver, i: int, day: float) -> str:
    """What went wrong with failed subject ``i`` at ``day``: a state that is not finite,
    else a state whose rate is not finite, else the state largest relative to its
    scale. The subject is integrated again alone to ``day`` (its state there is what the
    solver stopped at) with the same solver and step limit."""
    cm = pr.cm
    one = pr.take(np.array([i]))
    y = one.Y0[0].copy()
    if day > 0 and math.isfinite(day):
        again = Problem(cm, one.P, one.Y0, np.array([day]), one.schedule, np.zeros(0),
                        np.zeros(1, np.int64), np.zeros(1, np.int64))
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                o = replace(solver, hmax=solver._hmax(pr)).integrate(again)
            y = o.y_end[0] if o.status[0] == 0 else np.full(cm.n_states, np.nan)
        except Exception:  # noqa: BLE001 - a diagnosis never hides the failure itself
            return ""
    return culprit_state(cm, y, day if math.isfinite(day) else 0.0, _params_at(one, day))


def _params_at(one: Problem, day: float) -> np.ndarray:
    from neurobone.engine.numerics import rows

    sq, sv, ss, se, sm, off, q, v, s, e, m = one.schedule.columns
    base = one.P[0]
    p = base.copy()
    rows.params_at(float(day) if math.isfinite(day) else 0.0, base, p, sq, sv, ss, se, sm,
                   q, v, s, e, m, int(off[0]), int(off[1]))
    return p


def culprit_state(cm: CompiledModel, y: np.ndarray, t: float, p: np.ndarray) -> str:
    """The state to blame at ``(t, y)`` with parameters ``p``: one that is not finite,
    else one whose rate is not finite, else the largest relative to its scale when it is
    large (over a million times its scale), else the one changing fastest relative to its
    size when that is fast (a blow-up about to happen: over a million times its size a
    day), else (nothing wrong with the states: tiny steps forced by the schedule or the
    tolerance) the largest relative to its scale, said as such."""
    names = cm.model.state_names
    scale = np.array([s.scale for s in cm.model.states])
    if not np.all(np.isfinite(y)):
        k = int(np.argmin(np.isfinite(y)))
        if np.all(np.isnan(y)):
            return ""  # the solver kept no state to look at
        return f"state {names[k]!r} is {y[k]:g}"
    dy = np.zeros(cm.n_states)
    try:
        with np.errstate(all="ignore"):
            dy = np.asarray(cm.rhs(float(t), np.ascontiguousarray(y, dtype=float),
                                   np.ascontiguousarray(p, dtype=float), dy))
    except ArithmeticError:
        return "a rate divides by zero"
    if not np.all(np.isfinite(dy)):
        k = int(np.argmin(np.isfinite(dy)))
        return f"the rate of state {names[k]!r} is {dy[k]:g}"
    with np.errstate(all="ignore"):  # 1e300 / 1e-3 is inf, and that is the answer
        r = np.abs(y) / scale
        speed = np.abs(dy) / np.maximum(np.abs(y), scale)
    k = int(np.argmax(r))
    if r[k] > 1e6:
        return f"state {names[k]!r} = {y[k]:.3g} ({r[k]:.3g} x its scale)"
    # nothing is large yet: the state that changes fastest relative to its size
    k = int(np.argmax(speed))
    if speed[k] > 1e6:
        return f"state {names[k]!r} = {y[k]:.3g} changing at {dy[k]:.3g}/day"
    return (f"no state out of range or changing fast; the largest relative to its scale: "
            f"{names[int(np.argmax(r))]!r}")
