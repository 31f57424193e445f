"""Steady states and homeostatic initialisation, of one parameter vector or of many.

:func:`steady_vector` and :func:`initialise` solve one parameter vector (MINPACK hybrj,
then a 20-year relaxation and hybrj again). :func:`steady_states` and
:func:`initialise_batch` solve N parameter vectors at once: a damped Newton iteration
vectorised over the rows (the model's compiled rates and analytic Jacobian, one stacked
LAPACK solve, ``numpy.linalg.solve`` on N x k x k, per iteration), each row converging
on its own; a row it does not converge for is handed to the one-vector method. SciPy's
``root`` solves one system per call (its Python callbacks and MINPACK's set-up were
most of a fit's time); the N systems are independent, so stacking them as one system
of N k unknowns would only make its dense Jacobian N^2 times larger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from neurobone.engine.kernels import CompiledModel
from neurobone.engine.simulate import as_compiled, culprit_state, simulate
from neurobone.engine.solvers import BDF
from neurobone.errors import InputError, SolverError
from neurobone.model.definition import Model

#: years integrated before Newton is tried again when it fails from the declared state
RELAX_DAYS = 7300.0
#: right-hand-side evaluations allowed for that integration (the brain-bone model needs
#: about 430 for 20 years; pathological parameters would otherwise crawl for hours)
RELAX_BUDGET = 20_000
#: iterations of the batched damped Newton method before a row is handed to
#: :func:`steady_vector`
NEWTON_ITER = 60
#: step halvings of its line search before a row is handed over
HALVINGS = 30
#: a steady state's largest scaled rate (rate / state scale), as :func:`steady_vector`
#: accepts
RESIDUAL = 1e-9
#: a Newton step below this (relative to the scaled state, at least 1) ends a row
XTOL = 1e-13


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


# ----------------------------------------------------------------------------- batched
@dataclass
class Homeostasis:
    """Steady states of N parameter vectors (:func:`initialise_batch`, :func:`steady_states`).

    ``y`` (N x n_states) and ``p`` (N x n_params, the homeostatic references resolved);
    ``failure`` one reason per row ("" when found; the row's ``y`` and ``p`` are then its
    start); ``fallback`` the rows the batched Newton iteration handed to the one-row
    method; ``iterations`` the Newton iterations of each row.
    """

    y: np.ndarray
    p: np.ndarray
    failure: list[str]
    fallback: np.ndarray
    iterations: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return np.array([not f for f in self.failure], dtype=bool)


def _steady_index(cm: CompiledModel, hold: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    m = cm.model
    idx = np.array([i for i, s in enumerate(m.states) if s.steady and s.name not in hold],
                   dtype=np.int64)
    return idx, np.array([m.states[i].scale for i in idx], dtype=float)


def _rows(kernel, Y: np.ndarray, P: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``kernel(0, Y[i], P[i], out[i])`` for every row (NaN where it raised)."""
    for i in range(len(Y)):
        try:
            kernel(0.0, Y[i], P[i], out[i])
        except ArithmeticError:  # a kernel divided by zero (Numba's powers of 0 raise)
            out[i] = np.nan
    return out


def _newton(cm: CompiledModel, P: np.ndarray, Y: np.ndarray, idx: np.ndarray,
            scale: np.ndarray, max_iter: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Damped Newton on the rates of the states ``idx`` (scaled by ``scale``) for every
    row of ``P`` from ``Y`` (updated in place): ``(Y, converged, iterations)``.

    Each iteration solves ``J dx = -f`` for every active row (one batched LU) and halves
    the step until the largest scaled rate falls; a row is converged when that rate is
    below :data:`RESIDUAL` and its last step below :data:`XTOL`, and is dropped (not
    converged) when the step cannot lower it or a value is not finite.
    """
    N, n = Y.shape
    k = len(idx)
    done = np.zeros(N, bool)
    dead = np.zeros(N, bool)
    its = np.zeros(N, np.int64)
    if k == 0:
        rate = _rows(cm.rhs, Y, P, np.empty((N, n)))
        return Y, np.all(np.isfinite(rate), axis=1), its
    ix = np.ix_(idx, idx)
    f = _rows(cm.rhs, Y, P, np.empty((N, n)))[:, idx] / scale
    norm = np.max(np.abs(f), axis=1)
    dead |= ~np.isfinite(norm)
    for _ in range(max_iter):
        a = np.nonzero(~done & ~dead)[0]
        if not len(a):
            break
        J = _rows(cm.jac, Y[a], P[a], np.empty((len(a), n, n)))[:, ix[0], ix[1]]
        J *= scale[None, None, :] / scale[None, :, None]
        finite = np.all(np.isfinite(J), axis=(1, 2))
        J[~finite] = np.eye(k)
        try:
            dx = np.linalg.solve(J, -f[a][..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular Jacobian: row by row
            dx = np.full((len(a), k), np.nan)
            for r in range(len(a)):
                try:
                    dx[r] = np.linalg.solve(J[r], -f[a[r]])
                except np.linalg.LinAlgError:
                    pass
        dx[~finite] = np.nan
        # line search: halve each row's step until its largest scaled rate falls
        lam = np.ones(len(a))
        trial = np.isfinite(dx).all(axis=1)
        Yt, ft, nt = Y[a].copy(), f[a].copy(), norm[a].copy()
        for _ in range(HALVINGS):
            r = np.nonzero(trial)[0]
            if not len(r):
                break
            Yr = Y[a[r]].copy()
            Yr[:, idx] += (lam[r, None] * dx[r]) * scale
            fr = _rows(cm.rhs, Yr, P[a[r]], np.empty((len(r), n)))[:, idx] / scale
            nr = np.max(np.abs(fr), axis=1)
            good = np.isfinite(nr) & np.all(np.isfinite(Yr), axis=1) & (
                (nr < norm[a[r]]) | (nr == 0))
            Yt[r[good]], ft[r[good]], nt[r[good]] = Yr[good], fr[good], nr[good]
            trial[r[good]] = False
            lam[r[~good]] /= 2
        moved = nt < norm[a]
        # a row already at its round-off floor cannot lower its rate further: converged
        # if that rate is small enough
        stuck = ~moved
        at_floor = stuck & (norm[a] < RESIDUAL)
        done[a[at_floor]] = True
        dead[a[stuck & ~at_floor]] = True
        m = a[moved]
        Y[m], f[m], norm[m] = Yt[moved], ft[moved], nt[moved]
        its[m] += 1
        step = np.max(np.abs(lam[moved, None] * dx[moved])
                      / np.maximum(np.abs(Y[m][:, idx] / scale), 1.0), axis=1)
        done[m[(norm[m] < RESIDUAL) & (step < XTOL)]] = True
    ok = done & (norm < RESIDUAL)
    # round-off residues where a state is exactly 0 are set to 0 (as steady_vector does)
    sub = Y[:, idx]
    Y[:, idx] = np.where(ok[:, None] & (np.abs(sub / scale) < 1e-14), 0.0, sub)
    return Y, ok, its


def _references(cm: CompiledModel):
    m = cm.model
    return [(m.parameter_names.index(q.name), q.reference_of) for q in m.parameters
            if q.reference_of]


def _resolve(cm: CompiledModel, refs, Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """``P`` with each homeostatic reference set to its state's or expression's value."""
    m = cm.model
    new = P.copy()
    E = None
    for i, target in refs:
        if target in m.state_names:
            new[:, i] = Y[:, m.state_names.index(target)]
        else:
            if E is None:
                E = _rows(cm.observe, Y, P, np.empty((len(Y), max(len(m.expressions), 1))))
            new[:, i] = E[:, m.expression_names.index(target)]
    return new


def _as_rows(cm: CompiledModel, P, initial) -> tuple[np.ndarray, np.ndarray]:
    P = np.array(P, dtype=float, ndmin=2)
    if P.ndim != 2 or P.shape[1] != cm.n_params:
        raise InputError(f"parameters have shape {P.shape}, expected (N, {cm.n_params})")
    N = len(P)
    if initial is None:
        Y = np.tile(cm.initial_vector(), (N, 1))
    else:
        Y = np.array(initial, dtype=float, ndmin=2)
        if Y.shape == (1, cm.n_states):
            Y = np.tile(Y, (N, 1))
        if Y.shape != (N, cm.n_states):
            raise InputError(f"initial states have shape {Y.shape}, expected ({N}, "
                             f"{cm.n_states})")
    return np.ascontiguousarray(P), np.ascontiguousarray(Y)


def steady_states(cm: CompiledModel, P: np.ndarray, initial: np.ndarray | None = None, *,
                  hold: tuple[str, ...] = (), max_iter: int = NEWTON_ITER) -> Homeostasis:
    """Steady states of the rows of ``P`` (N x n_params) at once: the batched form of
    :func:`steady_vector` (states flagged ``steady`` and not in ``hold``; the others keep
    their ``initial`` value, one row per vector or one for all).

    A damped Newton iteration over all rows; a row it leaves unconverged is solved by
    :func:`steady_vector` (hybrj, then a 20-year relaxation). Per-row failures are in
    the result's ``failure``; the parameters are returned unchanged."""
    P, Y = _as_rows(cm, P, initial)
    idx, scale = _steady_index(cm, hold)
    start = Y.copy()
    bad = ~(np.all(np.isfinite(P), axis=1) & np.all(np.isfinite(Y), axis=1))
    with np.errstate(all="ignore"):
        Y, ok, its = _newton(cm, P, Y, idx, scale, max_iter)
    failure = [""] * len(P)
    handed = np.nonzero(~ok)[0]
    for i in handed:
        try:
            Y[i] = steady_vector(cm, P[i], start[i], hold=hold)
        except SolverError as exc:
            Y[i] = start[i]
            failure[i] = str(exc)
    for i in np.nonzero(bad)[0]:
        failure[i] = failure[i] or "parameters or initial state not finite"
    return Homeostasis(Y, P.copy(), failure, handed, its)


def initialise_batch(cm: CompiledModel, P: np.ndarray, *, initial: np.ndarray | None = None,
                     hold: tuple[str, ...] = (), max_iter: int = 50) -> Homeostasis:
    """Homeostatic starts of the rows of ``P`` at once: the batched form of
    :func:`initialise`, with the same contract for each row.

    ``P`` is N x n_params; ``initial`` one start state for every row or one per row
    (default: the declared one); states in ``hold`` keep their initial value. Each
    row's steady state and its ``reference_of`` parameters are found by the same
    fixed-point iteration as :func:`initialise`, every round one batched damped Newton
    solve (:func:`steady_states`); rows stop when their references change by less than
    1e-12 (relative). A row the batched iteration does not converge for is handed to
    :func:`initialise` (and its message kept in ``failure`` if that fails too).
    """
    P, Y = _as_rows(cm, P, initial)
    N = len(P)
    start, base = Y.copy(), P.copy()
    refs = _references(cm)
    idx, scale = _steady_index(cm, hold)
    its = np.zeros(N, np.int64)
    finite = np.all(np.isfinite(P), axis=1) & np.all(np.isfinite(Y), axis=1)
    with np.errstate(all="ignore"):
        Y, ok, k = _newton(cm, P, Y, idx, scale, NEWTON_ITER)
    its += k
    ok &= finite
    if refs:
        active = ok.copy()
        for _ in range(max_iter):
            a = np.nonzero(active)[0]
            if not len(a):
                break
            with np.errstate(all="ignore"):
                new = _resolve(cm, refs, Y[a], P[a])
                change = np.max(np.abs(new - P[a]) / np.maximum(np.abs(P[a]), 1e-300), axis=1)
                P[a] = new
                Ya, conv, k = _newton(cm, P[a], Y[a].copy(), idx, scale, NEWTON_ITER)
            Y[a] = Ya
            its[a] += k
            ok[a[~conv]] = False
            active[a[~conv]] = False
            active[a[conv & (change < 1e-12)]] = False
        ok &= ~active  # references still moving after max_iter rounds
    failure = [""] * N
    handed = np.nonzero(~ok)[0]
    for i in handed:
        try:
            Y[i], P[i] = initialise(cm, base[i], initial=start[i], hold=hold, max_iter=max_iter)
        except SolverError as exc:
            Y[i], P[i] = start[i], base[i]
            failure[i] = str(exc)
    return Homeostasis(Y, P, failure, handed, its)
