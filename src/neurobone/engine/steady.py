"""Steady states and homeostatic initialisation."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from neurobone.engine.kernels import CompiledModel
from neurobone.engine.simulate import as_compiled, culprit_state, simulate
from neurobone.engine.solvers import BDF
from neurobone.errors import SolverError
from neurobone.model.definition import Model

#: years integrated before Newton is tried again when it fails from the declared state
RELAX_DAYS = 7300.0
#: right-hand-side evaluations allowed for that integration (the brain-bone model needs
#: about 430 for 20 years; pathological parameters would otherwise crawl for hours)
RELAX_BUDGET = 20_000


def steady_state(
    model: Model | CompiledModel | str,
    *,
    parameters: Mapping[str, float] | None = None,
    species: str | None = None,
    initial: np.ndarray | None = None,
    tol: float = 1e-13,
) -> dict[str, float]:
    """The steady state of every state with ``steady=True`` (others keep their initial value).

    Newton's method (MINPACK hybrj with the analytic Jacobian) from the declared initial
    state; if it does not converge, the model is integrated for 20 years and Newton is
    restarted from there. Raises :class:`SolverError` when neither converges.
    """
    cm = as_compiled(model, species)
    y = steady_vector(cm, cm.parameter_vector(parameters), initial, tol)
    return dict(zip(cm.model.state_names, map(float, y), strict=True))


def steady_vector(
    cm: CompiledModel,
    p: np.ndarray,
    initial: np.ndarray | None = None,
    tol: float = 1e-13,
    hold: tuple[str, ...] = (),
) -> np.ndarray:
    """Steady state of the states flagged ``steady`` and not in ``hold``."""
    from scipy.optimize import root

    m = cm.model
    y0 = cm.initial_vector() if initial is None else np.asarray(initial, float).copy()
    p = np.ascontiguousarray(p, dtype=float)
    idx = np.array([i for i, s in enumerate(m.states) if s.steady and s.name not in hold])
    scale = np.array([m.states[i].scale for i in idx])
    n = cm.n_states
    dy = np.zeros(n)
    J = np.zeros((n, n))
    rhs, jac = cm.rhs, cm.jac

    def full(x):
        y = y0.copy()
        y[idx] = x * scale
        return y

    def fun(x):
        return rhs(0.0, full(x), p, dy)[idx] / scale

    def jacobian(x):
        return jac(0.0, full(x), p, J)[np.ix_(idx, idx)] * scale[None, :] / scale[:, None]

    def solve(start):
        try:
            sol = root(fun, start / scale, jac=jacobian, method="hybr", tol=tol)
        except ArithmeticError:  # a kernel divided by zero (Numba's powers of 0 raise)
            return y0.copy(), False
        ok = sol.success and np.all(np.isfinite(sol.x)) and np.max(np.abs(fun(sol.x))) < 1e-9
        # Newton leaves round-off residues (e.g. -7e-69) where a state is exactly 0;
        # they are set to 0 so that no consumer (CVODE via SBML) sees a negative pool
        x = np.where(np.abs(sol.x) < 1e-14, 0.0, sol.x)
        return full(x), ok

    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(y0))):
        raise SolverError(f"no steady state for model {m.name!r}: its parameters or initial "
                          "state are not finite")
    with np.errstate(all="ignore"):
        y, ok = solve(y0[idx])
    why = "Newton's method did not converge, from the initial state nor after 20 years"
    if not ok:
        try:
            rate = np.asarray(rhs(0.0, np.ascontiguousarray(y0), p, np.zeros(n)))
        except ArithmeticError:
            rate = np.full(n, np.nan)
        if not np.all(np.isfinite(rate)):
            why = f"{culprit_state(cm, y0, 0.0, p)} at the initial state (check the parameters)"
        else:
            try:
                res = simulate(cm, RELAX_DAYS, parameters=p, initial=y0,
                               save_days=[RELAX_DAYS], outputs=m.state_names,
                               solver=BDF(max_steps=RELAX_BUDGET), on_failure="raise")
                with np.errstate(all="ignore"):
                    y, ok = solve(res.final_state[0][idx])
            except SolverError as exc:
                why = f"integrating 20 years towards it failed: {exc}"
    if not ok:
        raise SolverError(f"no steady state found for model {m.name!r}: {why}")
    return y


def initialise(
    cm: CompiledModel,
    p: np.ndarray,
    *,
    initial: np.ndarray | None = None,
    hold: tuple[str, ...] = (),
    max_iter: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Homeostatic start: steady state plus reference parameters that match it.

    Parameters with ``reference_of`` are set to the steady-state value of the state or
    expression they name, by fixed-point iteration (references may feed back); states in
    ``hold`` keep their initial value. Returns ``(y0, p)`` with ``p`` a new vector.
    """
    m = cm.model
    refs = [(m.parameter_names.index(q.name), q.reference_of) for q in m.parameters
            if q.reference_of]
    p = np.array(p, dtype=float)
    y = steady_vector(cm, p, initial, hold=hold)
    if not refs:
        return y, p
    out = np.zeros(max(len(m.expressions), 1))
    for _ in range(max_iter):
        e = cm.observe(0.0, y, p, out)
        new = p.copy()
        for i, target in refs:
            if target in m.state_names:
                new[i] = y[m.state_names.index(target)]
            else:
                new[i] = e[m.expression_names.index(target)]
        change = np.max(np.abs(new - p) / np.maximum(np.abs(p), 1e-300))
        p = new
        y = steady_vector(cm, p, y, hold=hold)
        if change < 1e-12:
            return y, p
    raise SolverError(f"homeostatic references of model {m.name!r} did not converge")
