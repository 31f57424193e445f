"""``simulate``: one subject or many, any solver, one result type."""

from __future__ import annotations

import math
import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from neurobone.engine.kernels import CompiledModel, compile_model
from neurobone.engine.result import Result
from neurobone.engine.schedule import Schedule
from neurobone.engine.solvers import Outcome, Problem, Solver, default_solver
from neurobone.errors import InputError, SolverError
from neurobone.model.definition import Model
from neurobone.model.registry import as_model
from neurobone.model.timed import Override

#: ``progress(done, total, stage)``: the one shape of every progress callback
Progress = Callable[[int, int, str], None]


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
    t = np.asarray(days, dtype=float) if not isinstance(days, (int, float)) else np.array(days, float)
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
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise InputError(f"threads must be a positive integer, got {threads!r}")
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
    if save_days is None:
        if last / 1.0 > 1e7:
            raise InputError(f"days {last:g} would save {last:.3g} daily points; give save_days")
        save = np.arange(int(math.floor(last + 1e-9)) + 1, dtype=float)
        if save[-1] < last - 1e-9:
            save = np.append(save, last)
    else:
        save = np.asarray(save_days, dtype=float).ravel()
        if len(save) and (np.any(np.diff(save) < 0) or save[0] < 0 or save[-1] > last
                          or not np.all(np.isfinite(save))):
            raise InputError(f"save_days must be sorted and within 0..{last:g}")
    names, kinds, idx = resolve_outputs(m, outputs)
    solver = solver or default_solver(n)
    pr = Problem(cm, P, Y0, t_end, sched, save, kinds, idx)

    result = Outcome.empty(n, len(save), len(names), cm.n_states)
    step = (int(chunk_size) if chunk_size is not None
            else n if progress is None else max(1, min(n, 16384)))
    if step < 1:
        raise InputError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    handed = 0
    lane_counts = np.zeros(4, np.int64)
    for lo in range(0, n, step):
        ix = np.arange(lo, min(n, lo + step))
        part = solver.integrate(pr if len(ix) == n else pr.take(ix), threads)
        result.put(ix, part)
        handed += part.handed_over
        if part.lane_counts is not None:
            lane_counts += part.lane_counts
        if progress is not None:
            progress(int(ix[-1]) + 1, n, "integrating")
    res = Result(m.name, save, result.out, names, result.status, result.fail_t, result.y_end,
                 list(m.state_names), result.steps, result.rejected, result.stiff,
                 units_of(m, names),
                 meta={"solver": solver, "schedule_rows": sched.n_rows, "handed_over": handed})
    if lane_counts[0]:
        lock, busy, k1, pv = map(int, lane_counts)
        res.meta["lanes"] = {"lock_steps": lock, "lane_steps": busy, "k1_evaluations": k1,
                             "prev_evaluations": pv}
    if not res.ok:
        if on_failure == "raise":
            raise SolverError(res.failure_message())
        if on_failure == "warn":
            warnings.warn(res.failure_message(), RuntimeWarning, stacklevel=2)
    return res
