"""Bayesian fit of a scenario's parameters to data: posterior samples by emcee's ensemble
sampler, the proposals of each part of a step run as one batched engine call.

:func:`fit` samples the posterior of some of the model's parameters given measured
values, and summarises each by its median and 95 % credible interval::

    from neurobone.fit.bayes import fit

    res = fit("data.csv", "examples/mouse_treadmill.yaml", ["k_tb", "g_T"], seed=0)
    res.table()      # parameter, estimate (median), low, high, identifiable
    res.samples      # walker, step, one column per parameter, objective
    res.to_json()    # {"method": "bayes", "parameters": {...}, "objective", "diagnostics"}
    res.plot(); res.trace_plot(); res.pair_plot(); res.predictive_plot()

**The data and the likelihood** are those of the least-squares fit
(:mod:`neurobone.fit.lsq`, shared through :mod:`neurobone.fit.data`): independent normal
errors of known SD, ``log L = -objective / 2`` with ``objective = sum(((model - value) /
sd)^2)`` (up to a constant).

**The prior** is uniform on the logarithm of each parameter within its bounds (default
``value/spread .. value*spread`` around the scenario's value, as in the least-squares
fit), independent between parameters, zero outside. The parameters are sampled as
logarithms, where this prior is flat, so the posterior density there is the likelihood
within the bounds.

**The sampler** is emcee's ensemble sampler with ``vectorize=True`` and its
differential-evolution moves (:func:`moves`: ``DEMove`` 80 % of the steps,
``DESnookerMove`` 20 %; they mixed faster than the default stretch move, docs/fitting.md).
A move updates the ensemble in parts (two halves, or four quarters for the snooker
move), each part's proposals drawn from the others (which keeps the posterior the chain's
stationary distribution), and each part's proposals within the bounds run as the rows
of one batched engine call (:func:`neurobone.fit.batch.evaluate`): a step is two calls
(four for a snooker step). The walkers start at the ``walkers`` most likely of ``POOL *
walkers`` log-uniform draws from the prior (one batched call); the first ``burn`` steps
are discarded, the next ``steps`` kept.

**Summaries.** Each parameter's estimate is its posterior median, its interval the
equal-tailed 95 % credible interval (2.5 % and 97.5 % quantiles of the kept samples). A
side of the interval is **open** (``None``) when its quantile lies in the outer
``EDGE`` (5 %) of the prior's log range on that side: there the interval's end is set by
the prior's bound, not by the data (a posterior as flat as the prior puts its 2.5 %
quantile at 2.5 % of the range). A parameter with an open side is ``identifiable:
false``. The quantiles themselves are kept in ``diagnostics["quantiles"]``.

**Diagnostics** (ArviZ, the walkers taken as chains): rank-normalised split R-hat, bulk
and tail effective sample sizes, per parameter; emcee's integrated autocorrelation time;
the mean acceptance fraction. R-hat above ``RHAT_MAX`` (1.01) or an ESS below
``ESS_MIN`` (100) is reported in ``notes`` (sample longer). The walkers of an ensemble
are not independent chains, so R-hat is a heuristic here; the autocorrelation time is
emcee's own measure (a chain shorter than 50 times it is noted).
"""

from __future__ import annotations

import logging
import math
import numbers
import time
import warnings
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from neurobone.engine.simulate import Progress
from neurobone.errors import InputError, SolverError
from neurobone.fit.batch import Range
from neurobone.fit.data import (
    Measurements,
    Problem,
    arm_parts,
    check_options,
    daily_grid,
    prepare,
)
from neurobone.scenario.schema import Scenario

#: the credible interval's probability
LEVEL = 0.95
#: walkers per fitted parameter, and at least this many, by default
WALKERS_PER_PARAMETER = 4
MIN_WALKERS = 8
#: prior draws per walker, the walkers starting at the most likely of them
POOL = 4
#: outer fraction of a prior's log range where an interval's end counts as the prior's
EDGE = 0.05
#: diagnostics' thresholds: above/below them the result carries a note
RHAT_MAX = 1.01
ESS_MIN = 100
#: a chain shorter than this many autocorrelation times is noted (emcee's own rule)
TAU_FACTOR = 50
#: posterior draws run on a daily grid for the predictive bands
PREDICTIVE_DRAWS = 40


@dataclass
class PosteriorResult:
    """A Bayesian fit (:func:`fit`): posterior samples, medians, 95 % credible intervals,
    identifiability and diagnostics.

    ``estimates`` name -> posterior median; ``low``/``high`` name -> 2.5 %/97.5 % quantile
    or None (open: that end lies in the outer 5 % of the prior's range); ``samples`` the
    kept samples (``walker, step``, one column per parameter, ``objective``); ``chain``
    every step's walkers, burn-in included, as logarithms ``(steps, walkers, parameters)``;
    ``data`` the data with the model at the medians (``fitted``, ``residual``);
    ``trajectory`` the model at the medians on a daily grid; ``bands`` the 2.5/50/97.5 %
    quantiles of the model over ``PREDICTIVE_DRAWS`` posterior draws on that grid.
    """

    ranges: list[Range]
    estimates: dict[str, float]
    low: dict[str, float | None]
    high: dict[str, float | None]
    objective: float
    samples: pd.DataFrame
    chain: np.ndarray
    burn: int
    data: pd.DataFrame
    trajectory: pd.DataFrame
    bands: pd.DataFrame
    diagnostics: dict
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> list[str]:
        return [r.name for r in self.ranges]

    def identifiable(self, name: str) -> bool:
        return self.low[name] is not None and self.high[name] is not None

    def table(self) -> pd.DataFrame:
        """One row per parameter: ``parameter, estimate`` (posterior median), ``low,
        high`` (95 % credible interval; NaN on an open side), ``identifiable``, ``rhat,
        ess_bulk``."""
        d = self.diagnostics
        ps = self.parameters
        return pd.DataFrame({
            "parameter": ps,
            "estimate": [self.estimates[p] for p in ps],
            "low": [np.nan if self.low[p] is None else self.low[p] for p in ps],
            "high": [np.nan if self.high[p] is None else self.high[p] for p in ps],
            "identifiable": [self.identifiable(p) for p in ps],
            "rhat": [np.nan if d["rhat"][p] is None else d["rhat"][p] for p in ps],
            "ess_bulk": [np.nan if d["ess_bulk"][p] is None else d["ess_bulk"][p]
                         for p in ps]})

    def __repr__(self) -> str:
        d = self.diagnostics
        lines = [f"<PosteriorResult bayes: {len(self.ranges)} parameters, {d['n_data']} data, "
                 f"{d['walkers']} walkers x {d['steps']} steps (+{d['burn']} burn-in), "
                 f"acceptance {d['acceptance']:.2f}, max R-hat {_num(d['rhat_max'], '.3g')}, "
                 f"min ESS {_num(d['ess_min'], '.0f')}>"]

        def side(v):
            return "open" if v is None else f"{v:.4g}"

        for p in self.parameters:
            tag = "" if self.identifiable(p) else "  (not identifiable)"
            lines.append(f"  {p} = {self.estimates[p]:.4g}  95% [{side(self.low[p])}, "
                         f"{side(self.high[p])}]{tag}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = escape(repr(self).splitlines()[0])
        notes = "".join(f"<li>{escape(n)}</li>" for n in self.notes)
        return (f"<p><code>{head}</code></p>"
                + self.table().to_html(index=False, float_format=lambda x: f"{x:.4g}")
                + (f"<ul>{notes}</ul>" if notes else ""))

    def to_json(self) -> dict:
        """``{"method": "bayes", "parameters": {name: {"estimate", "low", "high",
        "identifiable"}}, "objective", "diagnostics"}`` (an open side is None), the shape
        of :meth:`neurobone.fit.lsq.FitResult.to_json`; ``notes`` too."""
        return _clean({
                "method": "bayes",
                "parameters": {p: {"estimate": self.estimates[p], "low": self.low[p],
                                   "high": self.high[p], "identifiable": self.identifiable(p)}
                               for p in self.parameters},
                "objective": self.objective,
                "diagnostics": self.diagnostics,
                "notes": list(self.notes)})

    # figures -----------------------------------------------------------------------------

    def plot(self):
        """Top row: each output's data (with their SD) and the posterior band of the model;
        bottom row: each parameter's marginal posterior (log10 of the samples; the prior's
        bounds dashed where the samples reach them), with the median and the credible
        interval.
        Returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        outs = list(dict.fromkeys(self.data["output"]))
        ncol = max(len(outs), len(self.parameters))
        fig, axes = plt.subplots(2, ncol, figsize=(4.0 * ncol, 6.4), squeeze=False)
        for ax, out in zip(axes[0], outs, strict=False):
            self._predictive_axis(ax, out)
        for ax, p in zip(axes[1], self.parameters, strict=False):
            self._marginal_axis(ax, p)
        for ax in list(axes[0][len(outs):]) + list(axes[1][len(self.parameters):]):
            ax.set_visible(False)
        fig.tight_layout()
        return fig

    def predictive_plot(self):
        """Each output's data (points, error bars one SD) over the posterior's 95 % band
        of the model (the 2.5-97.5 % quantiles of the trajectories of posterior draws) and
        its median trajectory. Returns the Figure."""
        import matplotlib.pyplot as plt

        outs = list(dict.fromkeys(self.data["output"]))
        fig, axes = plt.subplots(1, len(outs), figsize=(4.0 * len(outs), 3.4), squeeze=False)
        for ax, out in zip(axes[0], outs, strict=True):
            self._predictive_axis(ax, out)
        fig.tight_layout()
        return fig

    def trace_plot(self):
        """Each parameter's value (log axis) against the step, one line per walker; the
        burn-in shaded, the prior's bounds dashed. Returns the Figure."""
        import matplotlib.pyplot as plt

        P = len(self.parameters)
        fig, axes = plt.subplots(P, 1, figsize=(7.0, 1.9 * P + 0.6), squeeze=False,
                                 sharex=True)
        steps = np.arange(1, self.chain.shape[0] + 1)
        for j, (ax, r) in enumerate(zip(axes[:, 0], self.ranges, strict=True)):
            ax.plot(steps, np.exp(self.chain[:, :, j]), lw=0.5, alpha=0.6)
            ax.axvspan(0, self.burn + 0.5, color="0.9", zorder=0)
            for b in (r.low, r.high):
                ax.axhline(b, color="0.4", lw=0.8, ls="--")
            ax.set_yscale("log")
            ax.set_ylabel(r.name)
        axes[-1, 0].set_xlabel("step (shaded: burn-in, discarded)")
        fig.tight_layout()
        return fig

    def pair_plot(self):
        """The posterior's pairs (kept samples, log10 axes over the samples' range):
        histograms on the diagonal, samples below it. Returns the Figure."""
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        ps = self.parameters
        P = len(ps)
        fig, axes = plt.subplots(P, P, figsize=(2.4 * P + 0.6, 2.4 * P + 0.6), squeeze=False)
        logs = {p: np.log10(self.samples[p].to_numpy()) for p in ps}
        for i, pi in enumerate(ps):
            for j, pj in enumerate(ps):
                ax = axes[i, j]
                if j > i:
                    ax.set_visible(False)
                    continue
                if i == j:
                    ax.hist(logs[pi], bins=30, color="C0", alpha=0.8)
                    ax.set_yticks([])
                else:
                    ax.plot(logs[pj], logs[pi], ".", ms=1.5, alpha=0.3, color="C0")
                ax.xaxis.set_major_locator(MaxNLocator(4))
                if i == P - 1:
                    ax.set_xlabel(f"log10 {pj}")
                if j == 0 and i > 0:
                    ax.set_ylabel(f"log10 {pi}")
        fig.tight_layout()
        return fig

    def _predictive_axis(self, ax, out: str) -> None:
        bands = dict(arm_parts(self.bands[self.bands["output"] == out]))
        for k, (arm, d) in enumerate(arm_parts(self.data[self.data["output"] == out])):
            b = bands[arm]
            c = f"C{k}"
            tag = "" if arm is None else f"{arm}: "
            ax.fill_between(b["day"], b["low"], b["high"], color=c, alpha=0.25,
                            label=f"{tag}95 % posterior band")
            ax.plot(b["day"], b["median"], color=c, lw=1, label=f"{tag}posterior median")
            ax.errorbar(d["day"], d["value"], yerr=d["sd"], fmt="o", ms=3, capsize=2,
                        color="0.3" if arm is None else c, label=f"{tag}data")
        ax.set_title(out)
        ax.set_xlabel("day")
        ax.legend(frameon=False, fontsize=8)

    def _marginal_axis(self, ax, p: str) -> None:
        from matplotlib.ticker import MaxNLocator

        r = next(r for r in self.ranges if r.name == p)
        x = np.log10(self.samples[p].to_numpy())
        ax.hist(x, bins=30, color="C0", alpha=0.8)
        ax.axvline(math.log10(self.estimates[p]), color="0.2", lw=1)
        for v in (self.low[p], self.high[p]):
            if v is not None:
                ax.axvline(math.log10(v), color="C3", lw=0.8)
        span = x.max() - x.min()
        for b in (math.log10(r.low), math.log10(r.high)):  # the prior's, where reached
            if x.min() - 0.05 * span <= b <= x.max() + 0.05 * span:
                ax.axvline(b, color="0.4", lw=0.8, ls="--")
        ax.xaxis.set_major_locator(MaxNLocator(4))
        ax.set_yticks([])
        ax.set_xlabel(f"log10 {p}" + ("" if self.identifiable(p) else " (not identifiable)"))


def _num(x, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def _clean(x):
    """JSON-safe: NaN and infinities as None, NumPy scalars as Python's."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def moves():
    """The sampler's moves: emcee's differential-evolution move (80 % of the steps) and its
    snooker variant (20 %), which mixed 6.5 times faster per model run than emcee's
    default stretch move on a 2-parameter fit (docs/fitting.md)."""
    import emcee

    return [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]


def credible_intervals(logs: np.ndarray, lo: np.ndarray, hi: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 2.5, 50 and 97.5 % quantiles ``(3, parameters)`` of samples ``logs`` (rows,
    log values) and whether each interval's low and high end is open: within the outer
    ``EDGE`` of the prior's log range ``[lo, hi]`` on that side."""
    q = np.quantile(logs, [(1 - LEVEL) / 2, 0.5, (1 + LEVEL) / 2], axis=0)
    edge = EDGE * (hi - lo)
    return q, q[0] < lo + edge, q[2] > hi - edge


def _check_sampler(walkers, steps, burn, P: int) -> tuple[int, int, int]:
    def integer(x, name, least, what):
        if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < least:
            raise InputError(f"{name} must be an integer of at least {least} ({what}), got "
                             f"{x!r}")
        return int(x)

    least = max(4, 2 * P)
    if walkers is None:
        walkers = max(MIN_WALKERS, WALKERS_PER_PARAMETER * P)
    walkers = integer(walkers, "walkers", least, f"the ensemble's size; at least twice the "
                      f"{P} parameter(s), and 4")
    steps = integer(steps, "steps", 1, "steps kept per walker after the burn-in")
    burn = steps // 2 if burn is None else integer(burn, "burn", 0,
                                                   "steps discarded per walker first")
    return walkers, steps, burn


class _LogPosterior:
    """The log posterior density of rows of log parameter values (up to a constant):
    ``-objective / 2`` within the bounds, ``-inf`` outside or where a run fails; the
    rows within the bounds run as one batched call (emcee passes one part of the
    ensemble at a time)."""

    def __init__(self, problem: Problem, meas: Measurements):
        self.problem, self.meas = problem, meas
        self.lo, self.hi = problem.log_bounds
        self.calls = 0
        self.runs = 0
        self.failed = 0
        self.notes: list[str] = []
        self.failures: list[str] = []

    def __call__(self, thetas: np.ndarray) -> np.ndarray:
        thetas = np.atleast_2d(thetas)
        out = np.full(len(thetas), -np.inf)
        inside = np.nonzero(np.all((thetas >= self.lo) & (thetas <= self.hi), axis=1))[0]
        if not len(inside):
            return out
        at, failure, notes = self.meas.run(self.problem, np.exp(thetas[inside]))
        self.calls += 1
        self.runs += len(inside)
        self.notes += [n for n in notes if n not in self.notes]
        chi2 = np.sum(self.meas.residuals(at) ** 2, axis=1)
        for k, i in enumerate(inside):
            if failure[k] or not math.isfinite(chi2[k]):
                self.failed += 1
                if len(self.failures) < 3:
                    self.failures.append(failure[k] or "an output is not finite")
            else:
                out[i] = -0.5 * chi2[k]
        return out


def _diagnostics(chain: np.ndarray, names: Sequence[str]) -> dict:
    """R-hat, bulk and tail ESS (ArviZ, walkers as chains) of ``chain`` (steps, walkers,
    parameters; logs)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ's notice of its coming version
        import arviz as az

    log = logging.getLogger("arviz")
    level = log.level
    log.setLevel(logging.ERROR)  # its shape check logs a warning for short chains
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # too-short chains: NaN, reported as such
            ds = az.convert_to_dataset({p: chain[:, :, j].T for j, p in enumerate(names)})
            rhat = az.rhat(ds, method="rank")
            bulk = az.ess(ds, method="bulk")
            tail = az.ess(ds, method="tail")
    finally:
        log.setLevel(level)

    def num(x):
        x = float(x)
        return x if math.isfinite(x) else None

    return {"rhat": {p: num(rhat[p]) for p in names},
            "ess_bulk": {p: num(bulk[p]) for p in names},
            "ess_tail": {p: num(tail[p]) for p in names}}


def fit(data: pd.DataFrame | str | Path, scenario: Scenario | Mapping | str | Path,
        parameters: Sequence[str], *, bounds: Mapping[str, Sequence[float]] | None = None,
        spread: float = 10.0, walkers: int | None = None, steps: int = 300,
        burn: int | None = None, seed: int = 0, cv: float = 0.05,
        progress: Progress | None = None) -> PosteriorResult:
    """Sample the posterior of some of a scenario's model parameters given data (emcee's
    ensemble sampler, a log-uniform prior within bounds), with 95 % credible intervals.

    Parameters
    ----------
    data : a DataFrame or a CSV/Parquet file with columns ``day``, ``output``, ``value``
        (or ``measured``) and optionally ``sd``; with a scenario, ``subject``/``arm`` are
        ignored (one group, fitted as the scenario's one subject); with a design,
        ``arm`` is required. As :func:`neurobone.fit.lsq.fit`.
    scenario : a scenario file, mapping or :class:`Scenario` (docs/scenarios.md); or a
        design, e.g. a :class:`~neurobone.study.Study`: each data row names its
        ``arm``, fitted as that arm's scenario, and rows without ``sd`` take the
        study's instrument and between-subject CV (docs/fitting.md).
    parameters : model parameter names to fit (docs/model-reference.md).
    bounds : ``{name: (low, high)}``, both positive: the prior's support (log-uniform);
        default ``value/spread`` to ``value*spread`` around the scenario's value.
    walkers : the ensemble's size, at least 4 and twice the number of parameters
        (default ``max(8, 4 * parameters)``).
    steps : steps kept per walker (after the burn-in).
    burn : steps discarded per walker first (default ``steps // 2``).
    seed : the starting draws and the sampler's moves follow from it (the same seed, the
        same samples).
    cv : relative measurement error where the data have no ``sd`` column.
    progress : ``progress(done, total, stage)`` (stages ``start``, ``steps``,
        ``predictive``).

    Bad input raises :class:`~neurobone.errors.InputError` naming the problem and the valid
    choices; when fewer than ``walkers`` of the starting draws can be run,
    :class:`~neurobone.errors.SolverError`. The method and its limits: docs/fitting.md.
    """
    import emcee

    t_start = time.perf_counter()
    check_options(spread, seed, cv)
    prob = prepare(data, scenario, parameters, bounds, spread, cv)
    names, ranges, P = prob.names, prob.ranges, len(prob.ranges)
    walkers, steps, burn = _check_sampler(walkers, steps, burn, P)
    notes = list(prob.notes)
    meas = Measurements(prob.data)
    logp = _LogPosterior(prob, meas)
    lo, hi = prob.log_bounds
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    rng = np.random.default_rng(int(seed))
    pool = lo + (hi - lo) * rng.random((POOL * walkers, P))
    lp_pool = logp(pool)
    ok = np.isfinite(lp_pool)
    if ok.sum() < walkers:
        raise SolverError(f"only {int(ok.sum())} of {len(pool)} starting draws from the prior "
                          f"could be run ({'; '.join(logp.failures) or 'no reason given'}); "
                          f"need {walkers}: narrow the bounds")
    order = np.argsort(-lp_pool, kind="stable")[:walkers]
    p0, lp0 = pool[order], lp_pool[order]
    if progress is not None:
        progress(1, 1, "start")
    seconds["start"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sampler = emcee.EnsembleSampler(walkers, P, logp, vectorize=True, moves=moves())
    sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()
    total = burn + steps
    calls0 = logp.calls
    start = emcee.State(p0, log_prob=lp0)
    for k, _ in enumerate(sampler.sample(start, iterations=total)):
        if progress is not None:
            progress(k + 1, total, "steps")
    seconds["sampling"] = time.perf_counter() - t0
    sampling_calls = logp.calls - calls0
    chain = sampler.get_chain()                          # (total, walkers, P), logs
    kept = chain[burn:]
    lp = sampler.get_log_prob()[burn:]                   # (steps, walkers)
    acceptance = sampler.acceptance_fraction

    diag = _diagnostics(kept, names)
    # emcee's integrated autocorrelation time (its check of the chain's length, which
    # logs a warning, is ours below)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a walker that never moved: NaN, reported
        tau = (emcee.autocorr.integrated_time(kept, tol=0) if steps > 1
               else np.full(P, np.nan))
    diag["autocorr_time"] = {p: (float(t) if math.isfinite(t) else None)
                             for p, t in zip(names, tau, strict=True)}

    # summaries (log space, then back)
    q, open_low, open_high = credible_intervals(kept.reshape(-1, P), lo, hi)
    estimates, low, high, quantiles = {}, {}, {}, {}
    for j, p in enumerate(names):
        estimates[p] = float(math.exp(q[1, j]))
        low[p] = None if open_low[j] else float(math.exp(q[0, j]))
        high[p] = None if open_high[j] else float(math.exp(q[2, j]))
        quantiles[p] = [float(math.exp(x)) for x in q[:, j]]
        if low[p] is None or high[p] is None:
            sides = " and ".join(s for s, v in (("lower", low[p]), ("upper", high[p]))
                                 if v is None)
            notes.append(f"{p}: the posterior reaches the prior's {sides} bound (its 95 % "
                         f"interval ends in the outer {EDGE * 100:g} % of the prior's range): not "
                         "identifiable from these data")

    # the model at the median and over posterior draws, on a daily grid: one batched call
    t0 = time.perf_counter()
    flat = kept.reshape(-1, P)
    take = rng.choice(len(flat), size=min(PREDICTIVE_DRAWS, len(flat)), replace=False)
    rows = np.vstack([q[1][None, :], flat[take]])
    curves = meas.curves(prob, np.exp(rows), daily_grid(prob.duration))
    if curves.failure[0]:
        raise SolverError(f"the model cannot be run at the posterior medians "
                          f"({curves.failure[0]})")
    fitted_v = curves.at_data[0]
    ok = 1 + np.nonzero([not f for f in curves.failure[1:]])[0]
    trajectory = curves.frame(0)
    bands = curves.bands(ok, LEVEL)
    if progress is not None:
        progress(1, 1, "predictive")
    seconds["predictive"] = time.perf_counter() - t0

    fitted = prob.data.copy()
    fitted["fitted"] = fitted_v
    fitted["residual"] = meas.residuals(fitted_v)
    objective = float(np.sum(fitted["residual"] ** 2))
    samples = pd.DataFrame({"walker": np.tile(np.arange(walkers), steps),
                            "step": np.repeat(np.arange(burn, total), walkers),
                            **{p: np.exp(kept[:, :, j].ravel()) for j, p in enumerate(names)},
                            "objective": -2 * lp.ravel()})
    rh = list(diag["rhat"].values())
    es = [v for p in names for v in (diag["ess_bulk"][p], diag["ess_tail"][p])]
    # None: not computable (too few steps), which fails the thresholds
    rhat_max = None if None in rh else max(rh)
    ess_min = None if None in es else min(es)
    n = len(prob.data)
    seconds["total"] = time.perf_counter() - t_start
    diag.update({
        "rhat_max": rhat_max,
        "ess_min": ess_min,
        "acceptance": float(np.mean(acceptance)),
        "acceptance_min": float(np.min(acceptance)),
        "quantiles": quantiles,
        "walkers": walkers, "steps": steps, "burn": burn, "seed": int(seed),
        "n_data": n, "n_parameters": P,
        "prior": "log-uniform within bounds",
        "bounds": {r.name: [r.low, r.high] for r in ranges},
        "edge": EDGE,
        "min_objective": float(np.min(samples["objective"])),
        "evaluations": logp.runs + len(rows), "failed_evaluations": logp.failed,
        "batched_calls": logp.calls + 1,
        "batched_calls_per_step": sampling_calls / total,
        "seconds_per_step": seconds["sampling"] / total,
        "seconds_per_effective_sample": (seconds["sampling"] / ess_min if ess_min else None),
    })
    if rhat_max is None:
        notes.append("R-hat cannot be computed from so few steps: sample more steps")
    elif rhat_max > RHAT_MAX:
        worst = max(names, key=lambda p: diag["rhat"][p])
        notes.append(f"R-hat {rhat_max:.3g} > {RHAT_MAX} ({worst}): the walkers "
                     "have not mixed; sample more steps (or a longer burn-in)")
    if ess_min is None:
        notes.append("the effective sample size cannot be computed from so few steps: "
                     "sample more steps")
    elif ess_min < ESS_MIN:
        worst = names[int(np.argmin(es)) // 2]
        notes.append(f"effective sample size {ess_min:.0f} < {ESS_MIN} ({worst}): "
                     "the intervals are rough; sample more steps")
    taus = [t for t in diag["autocorr_time"].values() if t is not None]
    if len(taus) < P or steps < TAU_FACTOR * max(taus):
        longest = f"{max(taus):.3g}" if taus else "not estimable"
        notes.append(f"the chain ({steps} steps) is shorter than {TAU_FACTOR} "
                     f"autocorrelation times (longest {longest}): emcee's estimate of it is "
                     "unreliable")
    if logp.failed:
        notes.append(f"{logp.failed} of {logp.runs} runs failed and were given zero "
                     f"posterior density (first: {logp.failures[0]})")
    notes += logp.notes
    return PosteriorResult(ranges, estimates, low, high, objective, samples, chain, burn,
                           fitted, trajectory, bands, diag, seconds, notes)
