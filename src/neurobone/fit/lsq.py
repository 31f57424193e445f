"""Least-squares fit of a scenario's parameters to data, with profile-likelihood intervals.

:func:`fit` adjusts some of the model's parameters so that the scenario's outputs match
measured values, and says how well each parameter is determined::

    from neurobone.fit.lsq import fit

    res = fit("data.csv", "examples/mouse_treadmill.yaml", ["k_tb", "g_T"])
    res.table()      # parameter, estimate, low, high, identifiable
    res.to_json()    # {"method": "lsq", "parameters": {...}, "objective": ..., ...}
    res.plot()

**The data** are a tidy table (a DataFrame, or a CSV or Parquet file): one row per
measurement, columns ``day``, ``output`` (a model output), ``value`` (or ``measured``,
as in a study report's ``animals.csv``) and optionally ``sd`` (the measurement's
standard deviation; default ``cv * |value|``). Given a scenario, ``subject`` and
``arm`` columns are ignored: every row is a measurement of the scenario's one subject (a
group fit to the mean). Given a design (a study), each row's ``arm`` says which arm's
scenario it measures, all arms sharing the fitted parameters. Per-subject parameters
with a population distribution: :mod:`neurobone.fit.mixed`.

**The objective** is the sum of squared weighted residuals ``sum(((model - value) /
sd)^2)``, i.e. twice the negative log-likelihood of independent normal errors of known
SD (up to a constant). Parameters are fitted on a log scale within bounds (default
``[value/spread, value*spread]`` around the scenario's value) by SciPy's
``least_squares`` (trust-region reflective), from the scenario's values and
``n_starts`` log-uniform random starts (seeded); the best is kept.

**The Jacobian** is by forward differences in log space, all the perturbed parameter
vectors run as rows of one batched engine call (:func:`neurobone.fit.batch.evaluate`):
each row is a subject whose homeostasis is found anew, exactly as if the scenario file
had those values under ``parameters:``.

**Uncertainty.** A 95 % interval for each parameter by profile likelihood: the parameter
is fixed on a grid stepping away from its estimate in log space (towards each bound), the
others re-optimised, until the objective rises by ``chi2(1, 0.95) = 3.84``; the crossing
is interpolated between the last two grid points. Where the profile stays below the
threshold up to a bound, that side is open (``None``) and the parameter is reported
``identifiable: false``: no interval is made up. The Jacobian at the estimate is also
decomposed (SVD): its rank, its condition number, and the parameter combinations (in
log space) along which the data say nothing (its null space).
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from neurobone.engine.simulate import Progress
from neurobone.errors import InputError, SolverError
from neurobone.fit.batch import Range
from neurobone.fit.data import (  # noqa: F401 - read_data, check_data: lsq's API before
    Measurements,
    Problem,
    arm_parts,
    check_data,
    daily_grid,
    prepare,
    read_data,
)
from neurobone.fit.data import check_options as check_fit_options
from neurobone.scenario.schema import Scenario

#: chi-squared quantile (1 degree of freedom, 95 %): the rise of the objective (twice
#: the negative log-likelihood) that bounds a profile-likelihood interval
THRESHOLD = 3.841458820694124
#: forward-difference step of the Jacobian, in log space
STEP = 1e-4
#: singular values below this fraction of the largest count as zero (rank, null space);
#: above the forward differences' noise (about STEP * the scenario solver's rtol)
RANK_TOL = 1e-6
#: residual of a run that failed (a large penalty the optimiser steps back from)
PENALTY = 1e4
#: grid points of a profile on each side (the last on the bound)
PROFILE_POINTS = 10
#: function evaluations of one optimisation (a start) and of one profile point
MAX_NFEV = 60
PROFILE_NFEV = 20
#: regula-falsi refinements of each end of an interval (re-optimised points)
REFINE = 3


@dataclass
class FitResult:
    """A least-squares fit (:func:`fit`): estimates, profile-likelihood 95 % intervals,
    identifiability and diagnostics.

    ``estimates`` name -> value; ``low``/``high`` name -> bound of the interval or None
    (open: the profile does not rise above the threshold within the parameter's bounds);
    ``profiles`` name -> DataFrame (``value``, ``objective``); ``data`` the data as fitted
    (with ``sd``, ``fitted``, ``residual``); ``trajectory`` the fitted outputs on a daily
    grid (``day``, ``output``, ``value``); ``starts`` one row per start.
    """

    ranges: list[Range]
    estimates: dict[str, float]
    low: dict[str, float | None]
    high: dict[str, float | None]
    objective: float
    data: pd.DataFrame
    trajectory: pd.DataFrame
    profiles: dict[str, pd.DataFrame]
    starts: pd.DataFrame
    diagnostics: dict
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> list[str]:
        return [r.name for r in self.ranges]

    def identifiable(self, name: str) -> bool:
        return self.low[name] is not None and self.high[name] is not None

    def table(self) -> pd.DataFrame:
        """One row per parameter: ``parameter, estimate, low, high, identifiable`` (an
        open side of the interval is NaN, and the parameter not identifiable)."""
        return pd.DataFrame({
            "parameter": self.parameters,
            "estimate": [self.estimates[p] for p in self.parameters],
            "low": [np.nan if self.low[p] is None else self.low[p] for p in self.parameters],
            "high": [np.nan if self.high[p] is None else self.high[p] for p in self.parameters],
            "identifiable": [self.identifiable(p) for p in self.parameters]})

    def __repr__(self) -> str:
        d = self.diagnostics
        lines = [f"<FitResult lsq: {len(self.ranges)} parameters, {d['n_data']} data, "
                 f"objective {self.objective:.4g}, Jacobian rank {d['rank']}/{len(self.ranges)}>"]

        def side(v):
            return "open" if v is None else f"{v:.4g}"

        for p in self.parameters:
            tag = "" if self.identifiable(p) else "  (not identifiable)"
            lines.append(f"  {p} = {self.estimates[p]:.4g}  95% [{side(self.low[p])}, "
                         f"{side(self.high[p])}]{tag}")
        for direction in d["unidentifiable_directions"]:
            combo = " ".join(f"{c:+.3g}*log({p})" for p, c in direction.items())
            lines.append(f"  no information along {combo}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = escape(repr(self).splitlines()[0])
        return (f"<p><code>{head}</code></p>"
                + self.table().to_html(index=False, float_format=lambda x: f"{x:.4g}"))

    def to_json(self) -> dict:
        """``{"method": "lsq", "parameters": {name: {"estimate", "low", "high",
        "identifiable"}}, "objective", "diagnostics"}`` (an open side is None)."""
        return {"method": "lsq",
                "parameters": {p: {"estimate": self.estimates[p], "low": self.low[p],
                                   "high": self.high[p], "identifiable": self.identifiable(p)}
                               for p in self.parameters},
                "objective": self.objective,
                "diagnostics": self.diagnostics}

    def plot(self):
        """Top row: each output's data (with their SD) and fitted trajectory; bottom row:
        each parameter's profile (objective rise against the value, log axis) with the
        3.84 threshold. Returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        outs = list(dict.fromkeys(self.data["output"]))
        ncol = max(len(outs), len(self.parameters))
        fig, axes = plt.subplots(2, ncol, figsize=(4.0 * ncol, 6.4), squeeze=False)
        for ax, out in zip(axes[0], outs, strict=False):
            fits = dict(arm_parts(self.trajectory[self.trajectory["output"] == out]))
            for k, (arm, d) in enumerate(arm_parts(self.data[self.data["output"] == out])):
                t = fits[arm]
                tag = "" if arm is None else f"{arm}: "
                ax.errorbar(d["day"], d["value"], yerr=d["sd"], fmt="o", ms=3, capsize=2,
                            color="0.3" if arm is None else f"C{k}", label=f"{tag}data")
                ax.plot(t["day"], t["value"], color=f"C{k}", label=f"{tag}fit")
            ax.set_title(out)
            ax.set_xlabel("day")
            ax.legend(frameon=False, fontsize=8)
        for ax, p in zip(axes[1], self.parameters, strict=False):
            prof = self.profiles[p]
            ax.plot(prof["value"], prof["objective"] - self.objective, "o-", ms=3)
            ax.axhline(THRESHOLD, color="C3", lw=0.8, ls="--")
            ax.axvline(self.estimates[p], color="0.5", lw=0.8)
            for v in (self.low[p], self.high[p]):
                if v is not None:
                    ax.axvline(v, color="C3", lw=0.8)
            ax.set_xscale("log")
            ax.set_xlabel(p + ("" if self.identifiable(p) else " (not identifiable)"))
            ax.set_ylabel("objective rise")
        for ax in list(axes[0][len(outs):]) + list(axes[1][len(self.parameters):]):
            ax.set_visible(False)
        fig.tight_layout()
        return fig


def check_options(spread, n_starts, seed, cv) -> None:
    """Check the least-squares fit's options (one-line :class:`InputError`)."""
    check_fit_options(spread, seed, cv)
    if isinstance(n_starts, bool) or not isinstance(n_starts, numbers.Integral) or n_starts < 0:
        raise InputError(f"n_starts must be a non-negative integer (random starts besides "
                         f"the scenario's values), got {n_starts!r}")


class _Model:
    """Weighted residuals of parameter vectors (log space), run in batches and cached."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.meas = Measurements(problem.data)
        self.cache: dict[tuple, tuple[np.ndarray, str]] = {}
        self.notes: list[str] = []
        self.runs = 0
        self.calls = 0
        self.failed = 0
        self.failures: list[str] = []

    def predict(self, thetas: np.ndarray) -> list[tuple[np.ndarray, str]]:
        """Model values at the data (rows of ``thetas``, log values): (values, failure)."""
        thetas = np.atleast_2d(thetas)
        keys = [tuple(np.round(t, 13)) for t in thetas]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        if todo:
            X = np.exp(np.array(todo, float))
            at, failure, notes = self.meas.run(self.problem, X)
            self.runs += len(todo)
            self.calls += 1
            self.notes += [n for n in notes if n not in self.notes]
            for k, v, f in zip(todo, at, failure, strict=True):
                self.cache[k] = (v, f)
                if f:
                    self.failed += 1
                    if len(self.failures) < 3:
                        self.failures.append(f)
        return [self.cache[k] for k in keys]

    def residuals(self, thetas: np.ndarray) -> np.ndarray:
        out = []
        for v, f in self.predict(thetas):
            r = self.meas.residuals(v)
            out.append(np.full_like(r, PENALTY) if f or not np.isfinite(r).all() else r)
        return np.array(out)

    def jacobian(self, theta: np.ndarray, hi: np.ndarray, free=None) -> np.ndarray:
        """Forward differences (backward at an upper bound) for the ``free`` columns
        (default all): the point and its perturbations in one batched call."""
        cols = np.arange(len(theta)) if free is None else np.nonzero(free)[0]
        h = np.where(theta[cols] + STEP <= hi[cols], STEP, -STEP)
        rows = np.tile(theta, (len(cols) + 1, 1))
        rows[1 + np.arange(len(cols)), cols] += h
        R = self.residuals(rows)
        return ((R[1:] - R[0]) / h[:, None]).T


def _solve(model: _Model, x0, lo, hi, free: np.ndarray, fixed: np.ndarray, nfev: int):
    """Minimise over the ``free`` components (the others at ``fixed``): (theta, cost)."""
    from scipy.optimize import least_squares

    def full(z):
        theta = fixed.copy()
        theta[free] = z
        return theta

    res = least_squares(lambda z: model.residuals(full(z))[0],
                        np.clip(x0[free], lo[free], hi[free]),
                        jac=lambda z: model.jacobian(full(z), hi, free),
                        bounds=(lo[free], hi[free]), method="trf", x_scale=1.0,
                        ftol=1e-8, xtol=1e-8, gtol=1e-8, max_nfev=nfev)
    theta = full(res.x)
    return theta, float(np.sum(model.residuals(theta)[0] ** 2))


def _profile(model: _Model, j: int, best: np.ndarray, cost: float, lo, hi, se: float,
             progress=None):
    """The profile of parameter ``j``: grid rows (log value, objective) and the crossing
    of the threshold on each side (log value) or None (open)."""
    P = len(best)
    free = np.arange(P) != j
    rows = [(best[j], cost)]
    ends: list[float | None] = []
    for sign, bound in ((-1, lo[j]), (1, hi[j])):
        span = abs(bound - best[j])
        # the first steps a third of the quadratic half-width, then growing to the bound
        first = min(span, math.sqrt(THRESHOLD) * se / 3) if math.isfinite(se) else span / 8
        first = max(first, span / 64)
        steps, t = [], first
        while t < span and len(steps) < PROFILE_POINTS - 1:
            steps.append(t)
            t *= 1.6
        steps.append(span)
        theta, prev, prev_x, end = best.copy(), cost, best[j], None

        def at(x, start):
            th = start.copy()
            th[j] = x
            if free.any():
                return _solve(model, th, lo, hi, free, th.copy(), PROFILE_NFEV)
            return th, float(np.sum(model.residuals(th)[0] ** 2))

        for t in steps:
            if span == 0:
                break
            x = best[j] + sign * t
            theta, c = at(x, theta)
            rows.append((x, c))
            if c - cost >= THRESHOLD:
                # the crossing, by regula falsi on the root of the rise (linear in x for
                # a quadratic profile), re-optimised at each trial point
                a_x, a_r, b_x, b_r = prev_x, _root(prev - cost), x, _root(c - cost)
                th = theta
                for _ in range(REFINE):
                    w = (math.sqrt(THRESHOLD) - a_r) / (b_r - a_r) if b_r > a_r else 1.0
                    m_x = a_x + w * (b_x - a_x)
                    th, m_c = at(m_x, th)
                    rows.append((m_x, m_c))
                    if abs(m_c - cost - THRESHOLD) < 0.01:
                        a_x = b_x = m_x
                        break
                    if m_c - cost < THRESHOLD:
                        a_x, a_r = m_x, _root(m_c - cost)
                    else:
                        b_x, b_r = m_x, _root(m_c - cost)
                w = (math.sqrt(THRESHOLD) - a_r) / (b_r - a_r) if b_r > a_r else 1.0
                end = a_x + w * (b_x - a_x)
                break
            prev, prev_x = c, x
        ends.append(end)
        if progress is not None:
            progress()
    rows.sort()
    return np.array(rows), ends[0], ends[1]


def _root(rise: float) -> float:
    return math.sqrt(max(rise, 0.0))


def _null_space(J: np.ndarray, names: Sequence[str]) -> dict:
    if J.size == 0:
        return {"rank": 0, "condition": math.inf, "singular_values": [],
                "unidentifiable_directions": []}
    _, s, vt = np.linalg.svd(J, full_matrices=True)
    s_full = np.zeros(len(names))
    s_full[:len(s)] = s
    top = s_full.max()
    zero = s_full <= RANK_TOL * top if top > 0 else np.ones(len(names), bool)
    directions = []
    for k in np.nonzero(zero)[0]:
        v = vt[k] / np.max(np.abs(vt[k]))
        directions.append({p: round(float(c), 4) for p, c in zip(names, v, strict=True)
                           if abs(c) > 1e-3})
    small = s_full.min()
    return {"rank": int((~zero).sum()),
            "condition": (float(top / small) if small > 0 else math.inf),
            "singular_values": [float(x) for x in s_full],
            "unidentifiable_directions": directions}


def fit(data: pd.DataFrame | str | Path, scenario: Scenario | Mapping | str | Path,
        parameters: Sequence[str], *, bounds: Mapping[str, Sequence[float]] | None = None,
        spread: float = 10.0, n_starts: int = 4, seed: int = 0, cv: float = 0.05,
        progress: Progress | None = None) -> FitResult:
    """Fit some of a scenario's model parameters to data by weighted least squares, with
    95 % profile-likelihood intervals.

    Parameters
    ----------
    data : a DataFrame or a CSV/Parquet file with columns ``day``, ``output``, ``value``
        (or ``measured``) and optionally ``sd``; with a scenario, ``subject``/``arm`` are
        ignored (one group, fitted as the scenario's one subject); with a design,
        ``arm`` is required.
    scenario : a scenario file, mapping or :class:`Scenario` (docs/scenarios.md); or a
        design, e.g. a :class:`~neurobone.study.Study`: each data row names its
        ``arm``, fitted as that arm's scenario, and rows without ``sd`` take the
        study's instrument and between-subject CV (docs/fitting.md).
    parameters : model parameter names to fit (docs/model-reference.md).
    bounds : ``{name: (low, high)}``, both positive; default ``value/spread`` to
        ``value*spread`` around the scenario's value.
    n_starts : random starts (log-uniform within the bounds) besides the scenario's values.
    seed : the random starts follow from it.
    cv : relative measurement error where the data have no ``sd`` column (``sd = cv *
        |value|``).
    progress : ``progress(done, total, stage)`` (stages ``starts``, ``profiles``).

    Bad input raises :class:`~neurobone.errors.InputError` naming the problem and the valid
    choices; a fit whose every start fails to run raises
    :class:`~neurobone.errors.SolverError`. The method and its limits: docs/fitting.md.
    """
    t_start = time.perf_counter()
    check_options(spread, n_starts, seed, cv)
    prob = prepare(data, scenario, parameters, bounds, spread, cv)
    ranges, data_ = prob.ranges, prob.data
    names = prob.names
    P = len(names)
    notes = list(prob.notes)
    lo, hi = prob.log_bounds
    x_scn = prob.start()
    rng = np.random.default_rng(int(seed))
    starts = [x_scn] + [lo + (hi - lo) * rng.random(P) for _ in range(int(n_starts))]
    model = _Model(prob)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    free = np.ones(P, bool)
    results = []
    for k, x0 in enumerate(starts):
        theta, c = _solve(model, x0, lo, hi, free, x0.copy(), MAX_NFEV)
        results.append((c, k, theta))
        if progress is not None:
            progress(k + 1, len(starts), "starts")
    seconds["starts"] = time.perf_counter() - t0
    results.sort(key=lambda r: r[0])
    cost, k_best, best = results[0]
    (v_best, failed), = model.predict(best)
    if failed:
        raise SolverError(f"no start could be run ({failed}); narrow the bounds")
    J = model.jacobian(best, hi)
    diag = _null_space(J, names)
    # standard errors (log space) on the identifiable subspace: the profiles' first steps
    cov = np.linalg.pinv(J.T @ J, rcond=RANK_TOL ** 2)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    se = np.where(np.isfinite(se) & (np.abs(J).sum(axis=0) > 0), se, np.inf)
    t0 = time.perf_counter()
    profiles, low, high = {}, {}, {}
    done = [0]

    def tick():
        done[0] += 1
        if progress is not None:
            progress(done[0], 2 * P, "profiles")

    for j, p in enumerate(names):
        rows, a, b = _profile(model, j, best, cost, lo, hi, float(se[j]), tick)
        profiles[p] = pd.DataFrame({"value": np.exp(rows[:, 0]), "objective": rows[:, 1]})
        low[p] = None if a is None else float(math.exp(a))
        high[p] = None if b is None else float(math.exp(b))
        better = rows[:, 1].min()
        if better < cost - 1e-6 * max(1.0, cost):
            notes.append(f"the profile of {p} found a lower objective ({better:.6g} < "
                         f"{cost:.6g}): the optimum is not the global one; try more starts")
    seconds["profiles"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    trajectory = model.meas.curves(prob, np.exp(best)[None, :],
                                   daily_grid(prob.duration)).frame(0)
    seconds["trajectory"] = time.perf_counter() - t0
    fitted = data_.copy()
    fitted["fitted"] = v_best
    fitted["residual"] = (v_best - fitted["value"]) / fitted["sd"]
    n = len(data_)
    diag.update({
        "n_data": n, "n_parameters": P, "dof": n - P,
        "reduced_chi2": (cost / (n - P)) if n > P else None,
        "threshold": THRESHOLD,
        "bounds": {r.name: [r.low, r.high] for r in ranges},
        "best_start": k_best,
        "start_objectives": [c for c, _, _ in sorted(results, key=lambda r: r[1])],
        "evaluations": model.runs, "batched_calls": model.calls,
        "failed_evaluations": model.failed,
        "condition": diag["condition"] if math.isfinite(diag["condition"]) else None,
    })
    if model.failed:
        notes.append(f"{model.failed} of {model.runs} runs failed and were given the "
                     f"penalty residual {PENALTY:g} (first: {model.failures[0]})")
    notes += model.notes
    starts_df = pd.DataFrame(
        [{"start": k, **{f"{p}_start": float(math.exp(starts[k][i])) for i, p in
                         enumerate(names)},
          **{p: float(math.exp(t[i])) for i, p in enumerate(names)}, "objective": c}
         for c, k, t in sorted(results, key=lambda r: r[1])])
    seconds["total"] = time.perf_counter() - t_start
    return FitResult(ranges, {p: float(math.exp(best[i])) for i, p in enumerate(names)},
                     low, high, cost, fitted, trajectory, profiles, starts_df, diag, seconds,
                     notes)


def objective(data: pd.DataFrame | str | Path, scenario: Scenario | Mapping | str | Path,
              values: Mapping[str, float], *, cv: float = 0.05) -> float:
    """The fit's objective, ``sum(((model - value) / sd)^2)``, at given parameter values.

    Parameters
    ----------
    data : as for :func:`fit`.
    scenario : as for :func:`fit`.
    values : ``{name: value}``, positive values of model parameters (the others keep the
        scenario's); each evaluation is a subject set up anew, as in :func:`fit`.
    cv : relative measurement error where the data have no ``sd``.

    Returns the chi-square sum of :func:`fit` (``FitResult.objective`` at the estimates).
    A run that fails raises :class:`~neurobone.errors.SolverError`.
    """
    check_options(10.0, 0, 0, cv)
    if not isinstance(values, Mapping) or not values:
        raise InputError("values: give a mapping {parameter: value} of at least one parameter")
    for p, v in values.items():
        if (isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v)
                or v <= 0):
            raise InputError(f"values: {p!r} must be a positive number, got {v!r}")
    # the names checked as fit() checks them (bounds around the values: not used)
    prob = prepare(data, scenario, list(values), {p: (v / 2, v * 2) for p, v in values.items()},
                   10.0, cv)
    names, data_ = prob.names, prob.data
    x = [math.log(float(values[p])) for p in names]
    model = _Model(prob)
    (v, failed), = model.predict(np.array(x))
    if failed:
        raise SolverError(f"the scenario cannot be run at these values ({failed})")
    return float(np.sum(((v - data_["value"].to_numpy()) / data_["sd"].to_numpy()) ** 2))
