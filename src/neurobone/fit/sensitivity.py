"""Global sensitivity analysis of a scenario's outputs to the model's parameters (SALib).

:func:`sensitivity` varies some of the model's parameters together over ranges around
the scenario's values, runs the scenario once per sample and apportions the spread of
each output among the parameters, with SALib's Sobol' or Morris method::

    import neurobone as nb

    res = nb.sensitivity("examples/mouse_treadmill.yaml", ["k_tb", "g_T", "k_grow"],
                         outputs=["bv_tv"], n=64)
    res.table()          # output, day, parameter, S1, S1_conf, ST, ST_conf
    res.plot()

**The quantity analysed** is each output's value on each of ``days`` (default: the
scenario's last day), for one subject: the scenario's.

**Each sample is a subject** whose parameters are the sampled ones, exactly as if the
scenario file had them under ``parameters:``: its young-adult reference is put at
homeostasis anew (a resorption rate moves the homeostasis), its protocol is built from
that reference, its life history (if any) integrated from it, and its scenario
integrated. The references are found one sample at a time (Newton's method); the life
histories of all samples are integrated in one engine call, the scenario in another
(with the scenario's solver, ``Switching(rtol=1e-8)``, each sample on its own steps).

**Ranges.** A parameter varies log-uniformly in ``[value/spread, value*spread]`` around
its value in the scenario (its ``parameters:`` or the model's), or in
``bounds[name] = (low, high)`` (both positive). Sampling is in log space.

**Failures.** Both methods need every model evaluation: Saltelli's estimators pair each
row of the base matrices with the rows that differ from it in one parameter, and a Morris
elementary effect is the difference of two neighbouring points of a trajectory, so a
sample cannot be dropped without biasing or breaking the indices. A sample whose set-up
or integration fails therefore fails the analysis, with one line naming how many failed
and the first one's values and reason (narrow the ranges).
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

from neurobone.engine.kernels import compile_model
from neurobone.engine.simulate import Progress
from neurobone.errors import InputError, SolverError
from neurobone.fit.batch import (  # noqa: F401  (Range, parameter_ranges: the public names)
    Range,
    check_days,
    check_outputs,
    evaluate,
    parameter_ranges,
)
from neurobone.scenario.compile import base_parameters, model_for
from neurobone.scenario.run import as_scenario
from neurobone.scenario.schema import Scenario

METHODS = ("sobol", "morris")
#: the index columns of each method, in the table's order
COLUMNS = {"sobol": ("S1", "S1_conf", "ST", "ST_conf"),
           "morris": ("mu_star", "mu_star_conf", "sigma")}
#: grid levels of the Morris design (SALib's default)
MORRIS_LEVELS = 4
#: bootstrap resamples of the confidence intervals (95 %)
RESAMPLES = 100


@dataclass
class SensitivityResult:
    """The indices of a sensitivity analysis (:func:`sensitivity`).

    ``indices`` is the tidy table (:meth:`table`); ``samples`` the sampled parameter
    values (one row per model evaluation, in SALib's order) and ``values`` the outputs
    (evaluations x outputs x days); ``seconds`` the time of each stage.
    """

    method: str
    n: int
    seed: int
    ranges: list[Range]
    outputs: list[str]
    days: list[float]
    indices: pd.DataFrame
    samples: pd.DataFrame
    values: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> list[str]:
        return [r.name for r in self.ranges]

    @property
    def evaluations(self) -> int:
        """The number of model evaluations (samples)."""
        return len(self.samples)

    def table(self) -> pd.DataFrame:
        """One row per output, day and parameter: ``output, day, parameter`` and the
        indices (Sobol: ``S1, S1_conf, ST, ST_conf``; Morris: ``mu_star, mu_star_conf,
        sigma``); the ``_conf`` columns are half-widths of 95 % bootstrap intervals."""
        return self.indices.copy()

    def __repr__(self) -> str:
        head = (f"<SensitivityResult {self.method} n={self.n} seed={self.seed}: "
                f"{len(self.ranges)} parameters x {len(self.outputs)} outputs, "
                f"{self.evaluations} evaluations>")
        key = "ST" if self.method == "sobol" else "mu_star"
        lines = [head]
        for (out, day), df in self.indices.groupby(["output", "day"], sort=False):
            ranked = df.sort_values(key, ascending=False, na_position="last")
            parts = ", ".join(f"{r.parameter} {getattr(r, key):.3g}"
                              for r in ranked.itertuples())
            lines.append(f"  {out} day {day:g}: {key} {parts}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = escape(repr(self).splitlines()[0])
        return (f"<p><code>{head}</code></p>"
                + self.indices.to_html(index=False, float_format=lambda x: f"{x:.4g}"))

    def plot(self):
        """One panel per output (and day): Sobol, bars of ST and S1 with their 95 %
        intervals; Morris, mu_star against sigma. Returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        groups = list(self.indices.groupby(["output", "day"], sort=False))
        fig, axes = plt.subplots(1, len(groups), figsize=(4.2 * len(groups), 3.6),
                                 squeeze=False)
        for ax, ((out, day), df) in zip(axes[0], groups, strict=True):
            title = out if len(self.days) == 1 else f"{out}, day {day:g}"
            if self.method == "sobol":
                x = np.arange(len(df))
                ax.bar(x - 0.2, df["ST"], 0.4, yerr=df["ST_conf"], capsize=3, label="ST")
                ax.bar(x + 0.2, df["S1"], 0.4, yerr=df["S1_conf"], capsize=3, label="S1")
                ax.set_xticks(x, df["parameter"], rotation=45, ha="right")
                ax.set_ylabel("Sobol' index")
                ax.axhline(0, color="0.5", lw=0.5)
                ax.legend(frameon=False)
            else:
                ax.errorbar(df["mu_star"], df["sigma"], xerr=df["mu_star_conf"], fmt="o",
                            capsize=3)
                for r in df.itertuples():
                    ax.annotate(r.parameter, (r.mu_star, r.sigma), textcoords="offset points",
                                xytext=(4, 4), fontsize=8)
                ax.set_xlabel("mu* (output per parameter range)")
                ax.set_ylabel("sigma")
            ax.set_title(f"{title} (day {day:g})" if len(self.days) == 1 else title)
        fig.tight_layout()
        return fig

    def to_json(self) -> dict:
        """The result as plain data: ``method, n, seed, outputs, days, evaluations,
        parameters`` (name -> value, low, high) and ``indices`` (the table's rows; NaN
        as None)."""
        rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                 for k, v in row.items()} for row in self.indices.to_dict("records")]
        return {"method": self.method, "n": self.n, "seed": self.seed,
                "outputs": list(self.outputs), "days": list(self.days),
                "evaluations": self.evaluations,
                "parameters": {r.name: {"value": r.value, "low": r.low, "high": r.high}
                               for r in self.ranges},
                "indices": rows}


def _check_options(method, n, spread, seed) -> None:
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 2:
        raise InputError(f"n must be an integer of at least 2, got {n!r}")
    if method == "sobol" and n & (n - 1):
        low = 1 << (int(n).bit_length() - 1)
        raise InputError(f"n must be a power of two for the Sobol' method (its sequence is "
                         f"balanced only then), got {n}; try {low} or {2 * low}")
    if (isinstance(spread, bool) or not isinstance(spread, numbers.Real)
            or not math.isfinite(spread) or spread <= 1):
        raise InputError(f"spread must be a number above 1 (the range is value/spread to "
                         f"value*spread), got {spread!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")


def sample(method: str, ranges: list[Range], n: int, seed: int) -> np.ndarray:
    """SALib's design in log space: ``(evaluations, parameters)`` of log-values (Sobol:
    Saltelli's scheme with ``n`` base samples, ``n * (P + 2)`` rows; Morris: ``n``
    trajectories of ``P + 1`` points on a 4-level grid)."""
    problem = _problem(ranges)
    if method == "sobol":
        from SALib.sample import sobol as design

        return design.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    from SALib.sample import morris as design

    return design.sample(problem, n, num_levels=MORRIS_LEVELS, seed=seed)


def _problem(ranges: list[Range]) -> dict:
    return {"num_vars": len(ranges), "names": [r.name for r in ranges],
            "bounds": [[math.log(r.low), math.log(r.high)] for r in ranges]}


def _analyse(method: str, ranges: list[Range], Xlog: np.ndarray, y: np.ndarray,
             seed: int) -> dict[str, np.ndarray]:
    problem = _problem(ranges)
    P = len(ranges)
    if np.ptp(y) == 0:  # no variance: the indices are undefined (Sobol) or zero (Morris)
        if method == "sobol":
            return {c: np.full(P, np.nan) for c in COLUMNS["sobol"]}
    # SALib's estimators divide by variances that a bootstrap resample can make zero;
    # numpy's error state is per thread (warnings.catch_warnings is process-global)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "sobol":
            from SALib.analyze import sobol as analysis

            si = analysis.analyze(problem, y, calc_second_order=False,
                                  num_resamples=RESAMPLES, conf_level=0.95,
                                  print_to_console=False, seed=seed)
        else:
            from SALib.analyze import morris as analysis

            si = analysis.analyze(problem, Xlog, y, num_resamples=RESAMPLES, conf_level=0.95,
                                  print_to_console=False, num_levels=MORRIS_LEVELS, seed=seed)
    return {c: np.asarray(si[c], float) for c in COLUMNS[method]}


def sensitivity(scenario: Scenario | Mapping | str | Path, parameters: Sequence[str], *,
                outputs: Sequence[str] | None = None,
                days: float | Sequence[float] | None = None, method: str = "sobol",
                n: int = 256, spread: float = 2.0,
                bounds: Mapping[str, Sequence[float]] | None = None, seed: int = 0,
                progress: Progress | None = None) -> SensitivityResult:
    """Global sensitivity of a scenario's outputs to some of its model's parameters.

    Parameters
    ----------
    scenario : a scenario file, mapping or :class:`Scenario` (docs/scenarios.md).
    parameters : model parameter names to vary (docs/model-reference.md).
    outputs : outputs to analyse (default: the scenario's).
    days : the day, or days, whose output values are analysed (default: the scenario's
        last day); each within the scenario.
    method : ``"sobol"`` (Saltelli's sampling, ``n * (P + 2)`` evaluations for P
        parameters; first-order ``S1`` and total ``ST`` indices) or ``"morris"``
        (``n`` trajectories, ``n * (P + 1)`` evaluations; ``mu_star``, ``sigma``).
    n : base samples (Sobol: a power of two) or trajectories (Morris), at least 2.
    spread : each parameter varies log-uniformly from ``value/spread`` to
        ``value*spread`` around its value in the scenario, unless ``bounds`` gives its
        ``(low, high)``.
    seed : the design and the bootstrap intervals follow from it: the same seed gives
        the same table.
    progress : ``progress(done, total, stage)`` as the work advances (stages
        ``references``, ``integrating``).

    Every sample is a subject with those parameter values as if the scenario file had
    them under ``parameters:`` (its homeostasis found anew). SALib needs every model
    evaluation, so a sample that fails to set up or to integrate fails the whole
    analysis (:class:`~neurobone.errors.SolverError`, naming how many failed); nothing
    is dropped, for either method (module docstring). Bad input raises
    :class:`~neurobone.errors.InputError` naming the problem and the valid choices.
    """
    t_start = time.perf_counter()
    _check_options(method, n, spread, seed)
    scn = as_scenario(scenario)
    m = model_for(scn)
    cm = compile_model(m)
    base = base_parameters(cm, scn.parameters)
    ranges = parameter_ranges(cm, base, parameters, spread, bounds)
    outputs = check_outputs(m, scn, outputs)
    days_ = check_days(days, float(scn.duration_days))
    names = [r.name for r in ranges]
    Xlog = sample(method, ranges, int(n), int(seed))
    X = np.exp(Xlog)
    seconds: dict[str, float] = {}
    values, failure, notes = evaluate(scn, cm, names, X, outputs, days_, progress=progress,
                                      seconds=seconds)
    failed = [i for i, f in enumerate(failure) if f]
    if failed:
        i = failed[0]
        at = ", ".join(f"{p}={X[i, j]:.4g}" for j, p in enumerate(names))
        raise SolverError(f"{len(failed)} of {len(X)} samples failed (first: {at}: "
                          f"{failure[i]}); SALib needs every evaluation, so none is dropped: "
                          "narrow the ranges (spread or bounds)")
    t0 = time.perf_counter()
    frames = []
    for j, out in enumerate(outputs):
        for k, day in enumerate(days_):
            y = values[:, j, k]
            if np.ptp(y) == 0:
                notes.append(f"{out} on day {day:g} is the same in every sample"
                             + (": its Sobol' indices are undefined (NaN)"
                                if method == "sobol" else ""))
            idx = _analyse(method, ranges, Xlog, y, int(seed))
            frames.append(pd.DataFrame({"output": out, "day": day, "parameter": names, **idx}))
    seconds["analysis"] = time.perf_counter() - t0
    seconds["total"] = time.perf_counter() - t_start
    samples = pd.DataFrame(X, columns=names)
    return SensitivityResult(method, int(n), int(seed), ranges, list(outputs), days_,
                             pd.concat(frames, ignore_index=True), samples, values, seconds,
                             notes)
