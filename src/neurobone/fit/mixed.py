"""Hierarchical (nonlinear mixed-effects) fit of longitudinal data: a population's typical
parameter values and their between-subject spread, by stochastic approximation EM (SAEM).

:func:`fit` takes data with a ``subject`` column -- several measurements of each subject
over time -- and fits, for each chosen parameter, a population **typical value** ``mu``
(the median) and a **between-subject SD** ``omega`` of its logarithm::

    import neurobone as nb

    res = nb.fit_mixed("mice.csv", "examples/mouse_treadmill.yaml", ["k_tb", "k_grow"])
    res.table()          # parameter, typical value and 95 % interval, omega and interval
    res.individual       # each subject's own estimates (conditional means)
    res.plot()

**The model.** Subject ``i`` has its own values ``theta_i = mu * exp(eta_i)``,
``eta_i ~ N(0, diag(omega^2))`` (log-normal between subjects, the usual choice for
positive physiological parameters), truncated to the parameters' bounds; its
measurements are ``y_ij ~ N(f(theta_i, t_ij), sd_ij^2)`` with the data's ``sd`` (or
``cv * |value|``), as in :mod:`neurobone.fit.lsq`. Every fitted parameter varies between
subjects; parameters not named keep the scenario's value. Given a design (a study),
each subject belongs to one arm and runs that arm's scenario.

**The algorithm** is SAEM (Delyon, Lavielle & Moulines 1999, Ann Stat 27:94,
doi:10.1214/aos/1018031103; for mixed models Kuhn & Lavielle 2005, Comput Stat Data Anal
49:1020, doi:10.1016/j.csda.2004.07.002), the estimator of Monolix and nlmixr2's
``saem``: each iteration draws every subject's ``eta_i`` from its conditional
distribution by Metropolis-Hastings (a proposal from the population distribution, then
random-walk steps), all subjects in one batched engine call per step; then updates
``mu`` and ``omega`` from the sufficient statistics by stochastic approximation (step
1 for the exploration phase, during which ``omega`` may shrink by at most 5 % per
iteration, then ``1/k``).

**Uncertainty.** The Fisher information of ``(log mu, omega^2)`` by linearising each
subject's model around its estimates (see :func:`_linearised_information`); 95 % Wald
intervals for ``log mu`` and ``log omega``. An ``omega`` that
falls towards 0 (no between-subject spread the data can see) or an information matrix
that is singular is reported as not identifiable rather than given an interval.
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
from neurobone.fit.batch import Range, evaluate
from neurobone.fit.data import (
    Problem,
    arm_parts,
    check_options,
    daily_grid,
    prepare,
    read_data,
)
from neurobone.scenario.schema import Scenario

#: z of a two-sided 95 % interval
Z95 = 1.959963984540054
#: iterations of the exploration phase (step 1) and of the convergence phase (1/k)
EXPLORE = 250
CONVERGE = 150
#: random-walk Metropolis steps per iteration (after one draw from the population)
RW_STEPS = 2
#: starting between-subject SD of each log parameter (wide, to explore)
OMEGA_START = 0.5
#: the most omega^2 may shrink per exploration iteration (simulated annealing)
SHRINK = 0.95
#: omega below this (log scale, i.e. a 1 % CV) counts as no detectable spread
OMEGA_MIN = 0.01
#: the random walk's acceptance rate aimed at (its step adapts towards it)
TARGET_ACCEPT = 0.4


@dataclass
class MixedResult:
    """A hierarchical fit (:func:`fit`).

    ``mu``: typical values (medians of the population); ``omega``: between-subject SD of
    each log parameter; ``low``/``high`` and ``omega_low``/``omega_high``: their 95 %
    intervals (None: not identifiable); ``individual``: one row per subject (``subject``,
    ``arm`` for a design, and each parameter's conditional-mean estimate); ``trace``:
    ``mu`` and ``omega`` per iteration; ``data`` the data with each subject's fitted
    value and residual; ``trajectory`` each subject's fitted outputs on a daily grid.
    """

    ranges: list[Range]
    mu: dict[str, float]
    omega: dict[str, float]
    low: dict[str, float | None]
    high: dict[str, float | None]
    omega_low: dict[str, float | None]
    omega_high: dict[str, float | None]
    individual: pd.DataFrame
    trace: pd.DataFrame
    data: pd.DataFrame
    trajectory: pd.DataFrame
    diagnostics: dict
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> list[str]:
        return [r.name for r in self.ranges]

    def identifiable(self, name: str) -> bool:
        return self.low[name] is not None and self.high[name] is not None

    def cv(self, name: str) -> float:
        """The between-subject CV of a parameter (log-normal: ``sqrt(exp(omega^2) - 1)``)."""
        return math.sqrt(math.expm1(self.omega[name] ** 2))

    def table(self) -> pd.DataFrame:
        """One row per parameter: ``parameter, estimate`` (typical value), ``low, high``,
        ``omega, omega_low, omega_high, cv_pct, identifiable`` (an open side: NaN)."""
        def num(v):
            return np.nan if v is None else v

        ps = self.parameters
        return pd.DataFrame({
            "parameter": ps,
            "estimate": [self.mu[p] for p in ps],
            "low": [num(self.low[p]) for p in ps],
            "high": [num(self.high[p]) for p in ps],
            "omega": [self.omega[p] for p in ps],
            "omega_low": [num(self.omega_low[p]) for p in ps],
            "omega_high": [num(self.omega_high[p]) for p in ps],
            "cv_pct": [100 * self.cv(p) for p in ps],
            "identifiable": [self.identifiable(p) for p in ps]})

    def __repr__(self) -> str:
        d = self.diagnostics
        lines = [f"<MixedResult saem: {len(self.ranges)} parameters, {d['n_subjects']} "
                 f"subjects, {d['n_data']} data, {d['iterations']} iterations>"]

        def side(v):
            return "open" if v is None else f"{v:.4g}"

        for p in self.parameters:
            tag = "" if self.identifiable(p) else "  (not identifiable)"
            lines.append(f"  {p}: typical {self.mu[p]:.4g} 95% [{side(self.low[p])}, "
                         f"{side(self.high[p])}], omega {self.omega[p]:.3g} (CV "
                         f"{100 * self.cv(p):.0f} %) [{side(self.omega_low[p])}, "
                         f"{side(self.omega_high[p])}]{tag}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = escape(repr(self).splitlines()[0])
        return (f"<p><code>{head}</code></p>"
                + self.table().to_html(index=False, float_format=lambda x: f"{x:.4g}"))

    def to_json(self) -> dict:
        """``{"method": "saem", "parameters": {name: {"estimate", "low", "high",
        "identifiable", "omega", "omega_low", "omega_high"}}, "objective",
        "diagnostics"}``."""
        return {"method": "saem",
                "parameters": {p: {"estimate": self.mu[p], "low": self.low[p],
                                   "high": self.high[p], "identifiable": self.identifiable(p),
                                   "omega": self.omega[p], "omega_low": self.omega_low[p],
                                   "omega_high": self.omega_high[p]}
                               for p in self.parameters},
                "objective": self.diagnostics["conditional_objective"],
                "diagnostics": self.diagnostics}

    def plot(self):
        """Top row: each output's data (points joined per subject) and the subjects'
        fitted trajectories; bottom row: each parameter's typical value and omega against
        the iteration (the exploration phase shaded). Returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        outs = list(dict.fromkeys(self.data["output"]))
        ncol = max(len(outs), len(self.parameters))
        fig, axes = plt.subplots(2, ncol, figsize=(4.0 * ncol, 6.4), squeeze=False)
        for ax, out in zip(axes[0], outs, strict=False):
            fits = self.trajectory[self.trajectory["output"] == out]
            d = self.data[self.data["output"] == out]
            for k, (arm, part) in enumerate(arm_parts(d)):
                c = f"C{k}"
                mine = fits if arm is None else fits[fits["arm"] == arm]
                for s, rows in part.groupby("subject", sort=False):
                    t = mine[mine["subject"] == s]
                    ax.plot(t["day"], t["value"], color=c, lw=0.7, alpha=0.6)
                    ax.plot(rows["day"], rows["value"], "o", ms=2.5, color=c, alpha=0.8)
                if arm is not None:
                    ax.plot([], [], color=c, label=str(arm))
            ax.set_title(out)
            ax.set_xlabel("day")
            if "arm" in d.columns:
                ax.legend(frameon=False, fontsize=8)
        n_explore = self.diagnostics["explore"]
        for ax, p in zip(axes[1], self.parameters, strict=False):
            it = self.trace["iteration"]
            ax.plot(it, self.trace[f"{p}_mu"], color="C0", label="typical value")
            ax.set_yscale("log")
            ax.set_ylabel(f"{p} typical value")
            ax.axvspan(0, n_explore, color="0.92", zorder=0)
            ax2 = ax.twinx()
            ax2.plot(it, self.trace[f"{p}_omega"], color="C1", label="omega")
            ax2.set_ylabel("omega (log SD)", color="C1")
            ax.set_xlabel("iteration (shaded: exploration)")
        for ax in list(axes[0][len(outs):]) + list(axes[1][len(self.parameters):]):
            ax.set_visible(False)
        fig.tight_layout()
        return fig


def check_sampler(explore, converge, seed) -> tuple[int, int]:
    def integer(v, name, least):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < least:
            raise InputError(f"{name} must be an integer of at least {least}, got {v!r}")
        return int(v)

    explore = integer(explore, "explore", 1)
    converge = integer(converge, "converge", 2)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    return explore, converge


class _Subjects:
    """The data by subject: each subject's arm, and one batched engine call per arm
    giving every subject's chi-square at its own parameter values."""

    def __init__(self, problem: Problem):
        data = problem.data
        self.problem = problem
        self.names = problem.names
        arm = data["arm"].to_numpy() if "arm" in data.columns else np.full(len(data), None)
        # a subject is its id within its arm (a study report numbers animals per arm)
        keys = list(zip(arm, data["subject"], strict=True))
        self.keys = list(dict.fromkeys(keys))
        place = {k: i for i, k in enumerate(self.keys)}
        self.of_row = np.array([place[k] for k in keys])
        self.arm = [a for a, _ in self.keys]
        self.ids = [s for _, s in self.keys]
        self.value = data["value"].to_numpy(float)
        self.sd = data["sd"].to_numpy(float)
        self.groups = []  # (arm, subjects, rows, outputs, days, row's subject place, oi, di)
        for a in dict.fromkeys(self.arm):
            subjects = np.array([k for k in range(len(self.ids)) if self.arm[k] == a])
            rows = np.nonzero(np.isin(self.of_row, subjects))[0]
            sub = data.iloc[rows]
            outputs = list(dict.fromkeys(sub["output"]))
            days = sorted(set(sub["day"]))
            place = np.searchsorted(subjects, self.of_row[rows])
            self.groups.append((a, subjects, rows, outputs, days, place,
                                np.array([outputs.index(o) for o in sub["output"]]),
                                np.searchsorted(days, sub["day"].to_numpy())))
        self.calls = 0
        self.runs = 0
        self.notes: list[str] = []

    @property
    def n(self) -> int:
        return len(self.ids)

    def at_data(self, phi: np.ndarray, grid: Sequence[float] = ()):
        """Each row's model value at its subject's ``exp(phi)`` (``phi``: subjects x
        parameters): ``(values at the data, failed subjects, {arm: (days, outputs,
        values)})``."""
        groups = self.problem.groups()
        at = np.full(len(self.value), np.nan)
        failed = np.zeros(self.n, bool)
        curves = {}
        for a, subjects, rows, outputs, days, place, oi, di in self.groups:
            scn, cm = groups[a]
            grid_days = sorted(set(days) | {float(d) for d in grid
                                            if d <= float(scn.duration_days)})
            values, failure, notes = evaluate(scn, cm, self.names, np.exp(phi[subjects]),
                                              outputs, grid_days)
            self.calls += 1
            self.runs += len(subjects)
            self.notes += [n for n in notes if n not in self.notes]
            at[rows] = values[place, oi, np.searchsorted(grid_days, np.asarray(days))[di]]
            failed[subjects] = [bool(f) for f in failure]
            curves[a] = (grid_days, outputs, subjects, values)
        return at, failed, curves

    def copies(self, phi: np.ndarray, E: int) -> tuple[np.ndarray, np.ndarray]:
        """``E`` rows of log values per subject (``phi``: subjects*E x parameters, the
        subject's rows together): each row's values at its subject's data ``(rows,
        data)`` (NaN at other subjects' data) and whether it failed."""
        groups = self.problem.groups()
        at = np.full((len(phi), len(self.value)), np.nan)
        failed = np.zeros(len(phi), bool)
        for a, subjects, rows, outputs, days, place, oi, di in self.groups:
            scn, cm = groups[a]
            mine = (subjects[:, None] * E + np.arange(E)).ravel()
            values, failure, notes = evaluate(scn, cm, self.names, np.exp(phi[mine]),
                                              outputs, days)
            self.calls += 1
            self.runs += len(mine)
            for e in range(E):
                at[self.of_row[rows] * E + e, rows] = values[place * E + e, oi, di]
            failed[mine] = [bool(f) for f in failure]
        return at, failed

    def chi2(self, phi: np.ndarray) -> np.ndarray:
        """Each subject's sum of squared weighted residuals (inf where its run failed)."""
        at, failed, _ = self.at_data(phi)
        r2 = ((at - self.value) / self.sd) ** 2
        out = np.bincount(self.of_row, weights=r2, minlength=self.n)
        out[failed | ~np.isfinite(out)] = np.inf
        return out


def _linearised_information(subjects: "_Subjects", phi: np.ndarray, w2: np.ndarray
                            ) -> np.ndarray:
    """Fisher information of ``(log mu, omega^2)`` by linearisation of each subject's
    model around its estimates (the population-design information of Mentre, Mallet &
    Baccar 1997, Biometrika 84:429, doi:10.1093/biomet/84.2.429; the "linearisation"
    option of Monolix): ``y_i ~ N(., V_i)``, ``V_i = J_i Omega J_i' + Sigma_i``; the
    information of ``mu`` is ``sum J_i' V_i^-1 J_i``, of ``omega_k^2``
    ``1/2 tr(V_i^-1 A_k V_i^-1 A_l)`` with ``A_k = J_ik J_ik'``. All subjects' Jacobians
    (forward differences in log space) in one batched call per arm."""
    N, P = phi.shape
    h = 1e-4
    rows = np.repeat(phi, P + 1, axis=0)
    for k in range(P):
        rows[k + 1::P + 1, k] += h
    at, failed = subjects.copies(rows, P + 1)
    info = np.zeros((2 * P, 2 * P))
    for i in range(N):
        if failed[i * (P + 1):(i + 1) * (P + 1)].any():
            continue
        mine = subjects.of_row == i
        base = at[i * (P + 1)][mine]
        J = np.stack([(at[i * (P + 1) + k + 1][mine] - base) / h for k in range(P)], axis=1)
        V = J @ np.diag(w2) @ J.T + np.diag(subjects.sd[mine] ** 2)
        Vi = np.linalg.inv(V)
        info[:P, :P] += J.T @ Vi @ J
        B = [Vi @ np.outer(J[:, k], J[:, k]) for k in range(P)]
        for k in range(P):
            for m in range(P):
                info[P + k, P + m] += 0.5 * np.trace(B[k] @ B[m])
    return info


def fit(data: pd.DataFrame | str | Path, scenario: Scenario | Mapping | str | Path,
        parameters: Sequence[str], *, bounds: Mapping[str, Sequence[float]] | None = None,
        spread: float = 10.0, explore: int = EXPLORE, converge: int = CONVERGE,
        seed: int = 0, cv: float = 0.05, progress: Progress | None = None) -> MixedResult:
    """Fit a population's typical values and between-subject spread of some model
    parameters to longitudinal data of several subjects (SAEM; see the module's
    docstring).

    Parameters
    ----------
    data : a DataFrame or CSV/Parquet file with columns ``subject`` (or ``animal``),
        ``day``, ``output``, ``value`` (or ``measured``) and optionally ``sd`` (and
        ``arm`` with a design: subjects are numbered within their arm), e.g. a study
        report's ``animals.csv``.
    scenario : a scenario (file, mapping or :class:`Scenario`) all subjects follow, or a
        design (a study): each subject runs its arm's scenario.
    parameters : model parameters that vary between subjects (docs/model-reference.md).
    bounds : ``{name: (low, high)}``: the support of the typical values and of each
        subject's values; default ``value/spread`` to ``value*spread``.
    explore, converge : iterations of SAEM's two phases (step sizes 1, then 1/k).
    seed : the Metropolis-Hastings draws follow from it (same seed, same result).
    cv : relative measurement error where the data have no ``sd``.
    progress : ``progress(done, total, stage)`` (stage ``saem``).

    Bad input raises :class:`~neurobone.errors.InputError`; when no subject can be run
    at the starting values, :class:`~neurobone.errors.SolverError`.
    """
    t_start = time.perf_counter()
    check_options(spread, seed, cv)
    explore, converge = check_sampler(explore, converge, seed)
    raw = read_data(data)
    col = "subject" if "subject" in raw.columns or "animal" not in raw.columns else "animal"
    if col not in raw.columns:
        raise InputError("data: a hierarchical fit needs a 'subject' (or 'animal') column "
                         "(several measurements of each subject); for one group use the "
                         "least-squares or Bayesian fit")
    gap = np.nonzero(raw[col].isna().to_numpy())[0]
    if len(gap):
        raise InputError(f"data: column {col!r} is empty in row {int(gap[0]) + 1}; every "
                         "row must name its subject")
    prob = prepare(raw, scenario, parameters, bounds, spread, cv, replicate_sd=False)
    prob.data.insert(0, "subject", raw[col].astype(str).to_numpy())
    notes = [n for n in prob.notes if not n.startswith(("column subject", "column(s) "))]
    subjects = _Subjects(prob)
    N, P = subjects.n, len(prob.ranges)
    if N < 2:
        raise InputError(f"data: {N} subject; a between-subject spread needs at least 2")
    names = prob.names
    lo, hi = prob.log_bounds
    rng = np.random.default_rng(int(seed))
    mu = prob.start()
    w2 = np.full(P, OMEGA_START ** 2)
    phi = np.tile(mu, (N, 1))
    chi = subjects.chi2(phi)
    if not np.isfinite(chi).any():
        raise SolverError("no subject can be run at the scenario's values; check the "
                          "scenario and bounds")
    step = np.full(P, 0.3)
    S1, S2 = phi.mean(axis=0), (phi ** 2).mean(axis=0)
    total = explore + converge
    keep = max(10, converge // 2)
    draws = []
    trace = []
    accepted = {"population": 0, "walk": 0}
    proposed = {"population": 0, "walk": 0}
    t0 = time.perf_counter()

    def log_prior(x):
        return -0.5 * np.sum((x - mu) ** 2 / w2, axis=1)

    def inside(x):
        return np.all((x >= lo) & (x <= hi), axis=1)

    for it in range(total):
        # 1. a proposal from the population distribution (the prior cancels)
        new = mu + np.sqrt(w2) * rng.standard_normal((N, P))
        chi_new = _chi2_inside(subjects, new, phi, inside(new))
        acc = np.log(rng.random(N)) < -0.5 * (chi_new - chi)
        acc &= np.isfinite(chi_new)
        phi[acc], chi[acc] = new[acc], chi_new[acc]
        accepted["population"] += int(acc.sum())
        proposed["population"] += N
        # 2. random-walk steps on all parameters at once
        for _ in range(RW_STEPS):
            new = phi + step * np.sqrt(w2) * rng.standard_normal((N, P))
            chi_new = _chi2_inside(subjects, new, phi, inside(new))
            ratio = -0.5 * (chi_new - chi) + log_prior(new) - log_prior(phi)
            acc = (np.log(rng.random(N)) < ratio) & np.isfinite(chi_new)
            phi[acc], chi[acc] = new[acc], chi_new[acc]
            rate = acc.mean()
            accepted["walk"] += int(acc.sum())
            proposed["walk"] += N
            step *= math.exp(0.5 * (rate - TARGET_ACCEPT))
        # 3. stochastic approximation of the sufficient statistics, and the M-step
        gamma = 1.0 if it < explore else 1.0 / (it - explore + 2)
        S1 += gamma * (phi.mean(axis=0) - S1)
        S2 += gamma * ((phi ** 2).mean(axis=0) - S2)
        mu = np.clip(S1, lo, hi)
        w2_new = np.maximum(S2 - S1 ** 2, OMEGA_MIN ** 2 / 4)
        w2 = np.maximum(w2_new, SHRINK * w2) if it < explore else w2_new
        if it >= total - keep:
            draws.append(phi.copy())
        trace.append({"iteration": it + 1,
                      **{f"{p}_mu": math.exp(mu[j]) for j, p in enumerate(names)},
                      **{f"{p}_omega": math.sqrt(w2[j]) for j, p in enumerate(names)},
                      "conditional_objective": float(np.sum(chi[np.isfinite(chi)]))})
        if progress is not None:
            progress(it + 1, total, "saem")
    seconds = {"saem": time.perf_counter() - t0}

    omega = np.sqrt(w2)
    D = np.array(draws)
    ind = D.mean(axis=0)  # conditional means of the log values
    info = _linearised_information(subjects, ind, w2)
    mu_low, mu_high, om_low, om_high = {}, {}, {}, {}
    flat = omega < OMEGA_MIN
    try:
        cov = np.linalg.inv(info)
        var = np.diag(cov)
        singular = not np.all(np.isfinite(var)) or np.any(var <= 0)
    except np.linalg.LinAlgError:
        cov, var, singular = None, np.full(2 * P, np.nan), True
    for j, p in enumerate(names):
        se_mu = math.sqrt(var[j]) if not singular and var[j] > 0 else None
        se_w2 = math.sqrt(var[P + j]) if not singular and var[P + j] > 0 else None
        if se_mu is None:
            mu_low[p] = mu_high[p] = None
        else:
            mu_low[p] = math.exp(mu[j] - Z95 * se_mu)
            mu_high[p] = math.exp(mu[j] + Z95 * se_mu)
        if se_w2 is None or flat[j]:
            om_low[p] = om_high[p] = None
        else:
            se_log_omega = se_w2 / (2 * w2[j])
            om_low[p] = float(omega[j] * math.exp(-Z95 * se_log_omega))
            om_high[p] = float(omega[j] * math.exp(Z95 * se_log_omega))
        if flat[j]:
            notes.append(f"{p}: the between-subject SD fell to {omega[j]:.2g} (log scale): "
                         "the data show no spread between subjects in it")
        if se_mu is None:
            notes.append(f"{p}: the information matrix is singular; its typical value is "
                         "not identifiable from these data")
    individual = pd.DataFrame({"subject": subjects.ids})
    if "arm" in prob.data.columns:
        individual.insert(0, "arm", subjects.arm)
    for j, p in enumerate(names):
        individual[p] = np.exp(ind[:, j])

    # each subject at its estimates: fitted values and daily trajectories
    t0 = time.perf_counter()
    at, failed, curves = subjects.at_data(ind, daily_grid(prob.duration))
    fitted = prob.data.copy()
    fitted["fitted"] = at
    fitted["residual"] = (at - fitted["value"]) / fitted["sd"]
    parts = []
    for a, (days, outputs, who, values) in curves.items():
        for r, k in enumerate(who):
            for i, o in enumerate(outputs):
                d = pd.DataFrame({"subject": subjects.ids[k], "day": days, "output": o,
                                  "value": values[r, i]})
                if a is not None:
                    d.insert(0, "arm", a)
                parts.append(d)
    trajectory = pd.concat(parts, ignore_index=True)
    seconds["trajectory"] = time.perf_counter() - t0
    if failed.any():
        notes.append(f"{int(failed.sum())} subject(s) cannot be run at their estimates")
    seconds["total"] = time.perf_counter() - t_start
    diag = {
        "n_subjects": N, "n_data": len(prob.data), "n_parameters": P,
        "iterations": total, "explore": explore, "converge": converge, "seed": int(seed),
        "conditional_objective": float(np.nansum(fitted["residual"] ** 2)),
        "acceptance_population": accepted["population"] / max(1, proposed["population"]),
        "acceptance_walk": accepted["walk"] / max(1, proposed["walk"]),
        "draws_for_estimates": len(draws),
        "information_singular": bool(singular),
        "bounds": {r.name: [r.low, r.high] for r in prob.ranges},
        "evaluations": subjects.runs, "batched_calls": subjects.calls,
    }
    notes += subjects.notes
    return MixedResult(prob.ranges, {p: float(math.exp(mu[j])) for j, p in enumerate(names)},
                       {p: float(omega[j]) for j, p in enumerate(names)},
                       mu_low, mu_high, om_low, om_high, individual, pd.DataFrame(trace),
                       fitted, trajectory, diag, seconds, notes)


def _chi2_inside(subjects: _Subjects, new: np.ndarray, current: np.ndarray,
                 ok: np.ndarray) -> np.ndarray:
    """Each subject's chi-square at ``new`` where ``ok`` (within the bounds), inf
    elsewhere (those run at ``current`` in the same call, their result dropped)."""
    chi = subjects.chi2(np.where(ok[:, None], new, current))
    return np.where(ok, chi, np.inf)
