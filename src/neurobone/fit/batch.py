"""Batches of one scenario: N samples, each with its own parameter values, run together.

The machinery shared by :mod:`neurobone.fit.sensitivity` and :mod:`neurobone.fit.lsq`:
the checked ranges of the varied parameters (:func:`parameter_ranges`), the checked
outputs and days (:func:`check_outputs`, :func:`check_days`) and :func:`evaluate`, which
runs the scenario once per row of a matrix of parameter values. Each row is a subject
with those values exactly as if the scenario file had them under ``parameters:``: its
young-adult reference is put at homeostasis anew (all rows at once, a batched damped
Newton iteration: :func:`neurobone.scenario.subjects.references`), its protocol built
from that reference, its life history (if any) integrated from it
(all rows in one engine call), then the scenario (all rows in one ``simulate`` call, the
scenario's solver).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from neurobone.engine.kernels import CompiledModel
from neurobone.engine.result import STATUS
from neurobone.engine.simulate import Progress, simulate
from neurobone.errors import InputError, NeuroboneError
from neurobone.scenario.compile import (
    SCENARIO_SOLVER,
    base_parameters,
    protocol,
    scenario_outputs,
)
from neurobone.scenario.schema import Scenario
from neurobone.scenario.subjects import (
    Reference,
    covariates_of_subject,
    initialise_subjects,
    references,
)


@dataclass(frozen=True)
class Range:
    """A varied parameter: its value in the scenario and the range it is sampled in
    (log-uniformly)."""

    name: str
    value: float
    low: float
    high: float


def parameter_ranges(cm: CompiledModel, base: np.ndarray, parameters: Sequence[str],
                     spread: float, bounds: Mapping[str, Sequence[float]] | None
                     ) -> list[Range]:
    """The range of each varied parameter (checked): ``bounds`` where given, else
    ``value/spread .. value*spread`` around its value in ``base``."""
    m = cm.model
    if isinstance(parameters, str) or not isinstance(parameters, Sequence) or not parameters:
        raise InputError("parameters: give a list of model parameter names to vary")
    names = list(parameters)
    dup = sorted({p for p in names if names.count(p) > 1})
    if dup:
        raise InputError(f"parameters: {', '.join(dup)} named more than once")
    for p in names:
        if p not in m.parameter_names:
            raise InputError(f"parameters: unknown parameter {p!r} for model {m.name!r}; "
                             f"valid: {', '.join(sorted(m.parameter_names))}")
        ref_of = m.parameter(p).reference_of
        if ref_of:
            raise InputError(f"parameters: {p!r} is the homeostatic value of {ref_of!r}, "
                             "computed for each subject; it cannot be varied (vary the "
                             "parameters that set it)")
    bounds = dict(bounds or {})
    extra = sorted(set(bounds) - set(names))
    if extra:
        raise InputError(f"bounds: {', '.join(map(repr, extra))} not among the varied "
                         f"parameters ({', '.join(names)})")
    out = []
    for p in names:
        value = float(base[cm.param_index(p)])
        if p in bounds:
            try:
                low, high = (float(x) for x in bounds[p])
            except (TypeError, ValueError):
                raise InputError(f"bounds: {p!r} must be a pair (low, high), got "
                                 f"{bounds[p]!r}") from None
            if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
                raise InputError(f"bounds: {p!r} must have 0 < low < high (finite; sampled "
                                 f"log-uniformly), got ({low:g}, {high:g})")
        else:
            if not (math.isfinite(value) and value > 0):
                raise InputError(f"parameters: {p!r} is {value:g} in the scenario; a range "
                                 "value/spread..value*spread needs a positive value, give "
                                 f"bounds for it (e.g. bounds={{{p!r}: (low, high)}})")
            low, high = value / spread, value * spread
        out.append(Range(p, value, low, high))
    return out


#: the integrator's step budget of a fit's or a sensitivity analysis's run, per scenario
#: day (at least :data:`MIN_STEPS`, at most the scenario solver's own limit). Measured:
#: 1000 random draws of six parameters within value/10..value*10 of the 56-day mouse
#: treadmill scenario that ran took at most 2032 steps (36 a day; median 331); one that
#: did not took 2.35 million steps and 24 s (of the 25.6 s of the whole batch) before
#: failing. A run over budget fails ("too many steps") like any other failed run.
STEPS_PER_DAY = 2000
MIN_STEPS = 100_000


def solver_for(duration_days: float):
    """The scenario solver with the fits' step budget (:data:`STEPS_PER_DAY`)."""
    budget = max(MIN_STEPS, int(STEPS_PER_DAY * float(duration_days)))
    return dataclasses.replace(SCENARIO_SOLVER,
                               max_steps=min(SCENARIO_SOLVER.max_steps, budget))


def check_days(days, duration: float) -> list[float]:
    if days is None:
        return [float(duration)]
    seq = [days] if isinstance(days, numbers.Real) and not isinstance(days, bool) else days
    try:
        if isinstance(seq, (str, bytes)) or any(isinstance(d, bool) for d in seq):
            raise TypeError
        out = [float(d) for d in seq]
    except (TypeError, ValueError):
        raise InputError(f"days must be numbers of days from 0 to {duration:g}, got "
                         f"{days!r}") from None
    if not out or any(not math.isfinite(d) or d < 0 or d > duration for d in out):
        raise InputError(f"days must be within the scenario, 0 to {duration:g}, got {days!r}")
    return sorted(set(out))


def check_outputs(m, scn: Scenario, outputs) -> list[str]:
    if outputs is None:
        return scenario_outputs(m, scn)
    if isinstance(outputs, str):
        outputs = [outputs]
    outputs = list(dict.fromkeys(outputs))
    if not outputs:
        raise InputError("outputs: give at least one output name")
    valid = m.all_outputs
    for o in outputs:
        if o not in valid:
            raise InputError(f"outputs: unknown output {o!r}; valid: "
                             f"{', '.join(m.outputs_for(scn.species))} (or any state or "
                             "expression, docs/model-reference.md)")
    return outputs


def evaluate(scn: Scenario, cm: CompiledModel, names: Sequence[str], X: np.ndarray,
             outputs: Sequence[str], days: Sequence[float], *,
             progress: Progress | None = None, seconds: dict | None = None
             ) -> tuple[np.ndarray, list[str], list[str]]:
    """Run the scenario for each row of ``X`` (values of the parameters ``names``):
    ``(values, failures, notes)``, values ``(rows, outputs, days)`` (NaN where a
    sample failed), ``failures`` one reason per row ("" when it ran)."""
    N = len(X)
    seconds = {} if seconds is None else seconds
    base = base_parameters(cm, scn.parameters)
    idx = [cm.param_index(p) for p in names]
    failure = [""] * N
    B = np.tile(base, (N, 1))
    B[:, idx] = X
    P0 = np.tile(base, (N, 1))
    Y0 = np.zeros((N, cm.n_states))
    rows: list[list] = [[] for _ in range(N)]
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):
        Y_ref, P_ref, why = references(cm, B)
    every = max(1, N // 100)
    for i in range(N):
        if why[i]:
            failure[i] = f"reference: {why[i]}"
        else:
            try:
                P0[i], Y0[i] = P_ref[i], Y_ref[i]
                rows[i] = protocol(cm, scn, Reference(Y_ref[i], P_ref[i]))
            except NeuroboneError as exc:
                failure[i] = f"reference: {exc}"
        if progress is not None and ((i + 1) % every == 0 or i + 1 == N):
            progress(i + 1, N, "references")
    seconds["references"] = time.perf_counter() - t0
    ok = np.array([not f for f in failure])
    who = np.nonzero(ok)[0]
    values = np.full((N, len(outputs), len(days)), np.nan)
    notes: list[str] = []
    if not len(who):
        return values, failure, notes
    t0 = time.perf_counter()
    cov = covariates_of_subject(scn.subject, scn.species, n=len(who))
    # each sample passes its own reference (parameters and start): `ref` is only a default
    first = Reference(Y0[who[0]].copy(), P0[who[0]].copy())
    subj = initialise_subjects(cm, cov, ref=first, P=P0[who], start=Y0[who],
                               days=scn.duration_days)
    seconds["set-up"] = time.perf_counter() - t0
    notes += list(dict.fromkeys(subj.notes))
    for j, p in enumerate(names):
        after = subj.parameters[:, idx[j]]
        if np.allclose(after, X[who, j], rtol=1e-12, atol=0):
            continue
        if np.ptp(after) == 0 and np.ptp(X[who, j]) > 0:
            raise InputError(f"parameters: {p!r} is set by the subject's set-up (the "
                             "model's subject rules), whatever its value; varying it "
                             "changes nothing")
        notes.append(f"{p}: the subject's set-up changes it from its sampled value (the "
                     "model's subject rules rescale it); the range is of the sampled value")
    for k, i in enumerate(who):
        if subj.status[k] != 0:
            failure[i] = f"set-up: {subj.failure[k]}"
    run = [int(i) for k, i in enumerate(who) if subj.status[k] == 0]
    if not run:
        return values, failure, notes
    keep = np.array([k for k, i in enumerate(who) if subj.status[k] == 0])
    t0 = time.perf_counter()
    res = simulate(cm, float(scn.duration_days), parameters=subj.parameters[keep],
                   initial=subj.initial[keep],
                   schedule=[subj.rows[k] + rows[i] for k, i in zip(keep, run, strict=True)],
                   save_days=list(days), outputs=list(outputs),
                   solver=solver_for(scn.duration_days),
                   progress=progress, on_failure="ignore")
    seconds["integration"] = time.perf_counter() - t0
    for r, i in enumerate(run):
        if res.status[r] != 0:
            failure[i] = (f"scenario: {STATUS.get(int(res.status[r]), 'failed')} on day "
                          f"{res.fail_day[r]:.1f}")
            continue
        # res.values: (subjects, saved days, outputs)
        values[i] = res.values[r].T
    bad = ~np.isfinite(values).all(axis=(1, 2))
    for i in np.nonzero(bad)[0]:
        if not failure[i]:
            failure[i] = "scenario: an output is not finite"
    return values, failure, notes
