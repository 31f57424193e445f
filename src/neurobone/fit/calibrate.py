"""Calibrate named parameters against named target rows by least squares.

The residual of a row is ``(simulated - central) / sigma`` with ``sigma`` a quarter of
the row's accepted range (the range read as the central value plus or minus two
standard deviations). Parameters are fitted on the log scale within bounds (by default
a factor of 20 either side of the start) with SciPy's trust-region reflective
``least_squares``; the Jacobian is a forward difference computed as one batched run of
p + 1 parameter sets (:class:`~neurobone.fit.targets.Ensemble`). From Python::

    from neurobone.fit.calibrate import calibrate

    fit = calibrate(["k_grow", "W_max", "k_cdec"], ["MC5a", "MC5b", "MC5c"])
    fit.values            # {"k_grow": ..., "W_max": ..., "k_cdec": ...}
    fit.converged, fit.message
    fit.table()           # per row: simulated, central, range, residual
    fit.identifiability() # singular values of the scaled Jacobian, rank, per parameter

A fit never passes silently: ``converged`` is SciPy's own criterion, and rows whose run
failed during the fit are counted (``failed_evaluations``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neurobone.fit.targets import Ensemble, load_targets, simulated
from neurobone.model.brainbone import build

#: residual given to a row whose run failed (a bad point for the optimiser, counted)
FAILED_RESIDUAL = 30.0
#: forward-difference step on the log scale
LOG_STEP = 1e-4
#: convergence: relative change of the cost, and of the log parameters, below which a fit stops
FTOL = 1e-4
XTOL = 1e-5


@dataclass
class Fit:
    """The outcome of :func:`calibrate`."""

    parameters: list[str]
    values: dict[str, float]
    rows: list[str]
    simulated: np.ndarray
    table_rows: pd.DataFrame
    jacobian: np.ndarray  # d residual / d log(parameter), at the optimum
    cost: float
    converged: bool
    message: str
    evaluations: int
    failed_evaluations: int
    fixed: dict[str, float] = field(default_factory=dict)
    at_bound: list[str] = field(default_factory=list)

    @property
    def residuals(self) -> np.ndarray:
        return (self.simulated - self.table_rows["central"].to_numpy()) / _sigma(self.table_rows)

    def table(self) -> pd.DataFrame:
        """Per row: simulated value, central value, range, residual, in range."""
        t = self.table_rows[["id", "low", "high", "central"]].copy()
        t.insert(1, "simulated", self.simulated)
        t["residual"] = self.residuals
        t["in_range"] = (t["low"] <= t["simulated"]) & (t["simulated"] <= t["high"])
        return t.reset_index(drop=True)

    def identifiability(self, rtol: float = 1e-3) -> dict:
        """Rank of the Jacobian (singular values above ``rtol`` times the largest) and,
        per parameter, whether it is identifiable: its direction is not in the
        (numerical) null space of the Jacobian."""
        J = self.jacobian
        if J.size == 0:
            return {"singular_values": [], "rank": 0, "identifiable": {}}
        _, s, vt = np.linalg.svd(J, full_matrices=True)
        rank = int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0
        null = vt[rank:]
        weight = np.sqrt(np.sum(null ** 2, axis=0)) if len(null) else np.zeros(len(self.parameters))
        return {"singular_values": s.tolist(), "rank": rank,
                "identifiable": {p: bool(w < 0.5)
                                 for p, w in zip(self.parameters, weight, strict=True)}}

    def standard_errors(self) -> dict[str, float | None]:
        """Approximate standard error of each parameter's log magnitude (so, for small
        values, its relative standard error), from the Jacobian at the optimum: the
        residuals are in units of a row's sigma (a quarter of its range), so the
        covariance is inv(J'J); None for a parameter in the Jacobian's null space."""
        J = self.jacobian
        if J.size == 0:
            return {}
        cov = np.linalg.pinv(J.T @ J)
        ident = self.identifiability()["identifiable"]
        return {p: (float(np.sqrt(max(cov[i, i], 0.0))) if ident[p] else None)
                for i, p in enumerate(self.parameters)}

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.4g}" for k, v in self.values.items())
        return (f"<Fit {len(self.parameters)} parameters to {len(self.rows)} rows: {vals}; "
                f"cost {self.cost:.3g}, converged={self.converged}>")


def _sigma(rows: pd.DataFrame) -> np.ndarray:
    return np.maximum((rows["high"] - rows["low"]).to_numpy(float) / 4.0, 1e-12)


def row_residuals(sets: list[dict[str, float]], rows: pd.DataFrame, hypothesis: str,
                  table: pd.DataFrame, weights: dict[str, float] | None = None) -> np.ndarray:
    """Residuals ``(simulated - central) / sigma * weight`` of ``rows`` (targets) for each
    parameter set in ``sets`` (one batched ensemble; NaN where a run failed)."""
    order = list(rows["id"])
    sigma = _sigma(rows) / np.array([(weights or {}).get(i, 1.0) for i in order])
    sim = simulated(Ensemble(sets, hypothesis), order, table)
    return (sim - rows["central"].to_numpy(float)) / sigma


def _default(name: str, hypothesis: str) -> float:
    """The model's value of a (possibly species-prefixed) parameter."""
    species, _, plain = name.rpartition(":")
    return build(species or "mouse", hypothesis).parameter(plain).value


def calibrate(params: list[str], ids: list[str], *, hypothesis: str = "article",
              start: dict[str, float] | None = None, fixed: dict[str, float] | None = None,
              bounds: dict[str, tuple[float, float]] | None = None, max_evaluations: int = 200,
              table: pd.DataFrame | None = None, progress=None,
              weights: dict[str, float] | None = None) -> Fit:
    """Fit ``params`` to the central values of rows ``ids`` (module docstring).

    A parameter named ``"mouse:name"`` or ``"human:name"`` applies to that species'
    scenarios only; a plain name to both. ``fixed`` values apply to every run (e.g.
    parameters fitted in an earlier step); ``start`` overrides the model's values as
    starting points; ``bounds`` gives ``(low, high)`` per parameter (default: start / 20
    to start * 20). A parameter is fitted on the log scale of its magnitude, keeping the
    sign of its start (a negative exponent stays negative). ``progress``, when given, is
    called with a one-line message after every evaluation of the objective. ``weights``
    multiplies the residuals of the named rows (default 1).
    """
    from scipy.optimize import least_squares

    table = load_targets() if table is None else table
    rows = table[table["id"].isin(ids)].reset_index(drop=True)
    missing = sorted(set(ids) - set(rows["id"]))
    if missing:
        raise ValueError(f"unknown target rows {missing}")
    order = list(rows["id"])
    central, sigma = rows["central"].to_numpy(float), _sigma(rows)
    sigma = sigma / np.array([(weights or {}).get(i, 1.0) for i in order])
    v0 = np.array([start[p] if start and p in start else _default(p, hypothesis) for p in params])
    if np.any(v0 == 0):
        at_zero = [p for p, v in zip(params, v0, strict=True) if v == 0]
        raise ValueError(f"cannot fit parameters starting at 0: {at_zero}")
    sign = np.sign(v0)
    x0 = np.log(np.abs(v0))

    def limits(p: str, v: float) -> tuple[float, float]:
        lo, hi = (bounds or {}).get(p, (v / 20, v * 20) if v > 0 else (v * 20, v / 20))
        a, b = sorted((abs(lo), abs(hi)))
        return np.log(a), np.log(b)

    lo, hi = np.array([limits(p, v) for p, v in zip(params, v0, strict=True)]).T
    fixed = dict(fixed or {})
    count = {"evaluations": 0, "failed": 0}
    cache: dict[bytes, np.ndarray] = {}

    def value(x) -> np.ndarray:
        return sign * np.exp(x)

    def residuals_of(xs: list[np.ndarray]) -> np.ndarray:
        sets = [{**fixed, **dict(zip(params, map(float, value(x)), strict=True))} for x in xs]
        r = row_residuals(sets, rows, hypothesis, table, weights)
        count["evaluations"] += len(xs)
        count["failed"] += int(np.sum(~np.isfinite(r)))
        return np.where(np.isfinite(r), r, FAILED_RESIDUAL)

    def fun(x):
        key = np.asarray(x).tobytes()
        if key not in cache:
            cache[key] = residuals_of([np.asarray(x)])[0]
            if progress is not None:
                progress(f"evaluation {count['evaluations']}: cost "
                         f"{0.5 * float(np.sum(cache[key] ** 2)):.4g}")
        return cache[key]

    def jac(x):
        x = np.asarray(x)
        xs = [x] + [x + LOG_STEP * e for e in np.eye(len(x))]
        r = residuals_of(xs)
        cache[x.tobytes()] = r[0]
        return ((r[1:] - r[0]) / LOG_STEP).T

    res = least_squares(fun, np.clip(x0, lo, hi), jac=jac, bounds=(lo, hi), method="trf",
                        x_scale="jac", max_nfev=max_evaluations,
                        ftol=FTOL, xtol=XTOL)
    values = dict(zip(params, map(float, value(res.x)), strict=True))
    sim = central + res.fun * sigma
    at_bound = [p for p, x, a, b in zip(params, res.x, lo, hi, strict=True)
                if x <= a + 1e-6 or x >= b - 1e-6]
    return Fit(params, values, order, sim, rows, np.asarray(res.jac), float(res.cost),
               bool(res.status > 0), str(res.message), count["evaluations"], count["failed"],
               fixed, at_bound)
