"""A scenario's credible bands from the calibration's parameter uncertainty.

:func:`scenario_bands` runs a scenario once per draw of the calibrated parameters
(:mod:`neurobone.fit.laplace`, shipped with the package; all draws in one batched engine
call) and summarises each output on each day by the central ``level`` band of the draws
and the run at the calibrated values::

    import neurobone as nb

    res = nb.scenario_bands("examples/mouse_treadmill.yaml", draws=100)
    res.bands        # day, output, low, median, high, calibrated
    res.plot()       # each output: the band, the median, the calibrated run
    print(res.caption)

**What the band is, and is not.** It is the spread of the outputs of *one* subject (the
scenario's) over the uncertainty of the model's calibrated parameters given the rows
they were fitted to: parameter uncertainty only. Between-subject variability (a
cohort's or a study's spread of subjects) and measurement error (a study's instruments)
are not in it; every figure says so (:attr:`UncertaintyResult.caption`). Parameters the
scenario sets itself (``parameters:``) keep its values; parameters the calibration held
(too weakly informed to draw) stay at their values and are named in the notes.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from neurobone.engine.kernels import compile_model
from neurobone.errors import InputError, SolverError
from neurobone.fit.batch import check_days, check_outputs, evaluate
from neurobone.model.brainbone import calibration_draws
from neurobone.scenario.compile import model_for
from neurobone.scenario.run import as_scenario
from neurobone.scenario.schema import Scenario


@dataclass
class UncertaintyResult:
    """Credible bands of a scenario's outputs (:func:`scenario_bands`): ``bands`` one row
    per day and output (``low``, ``median``, ``high`` over the draws; ``calibrated``, the
    run at the calibrated values), ``parameters`` the drawn parameters, ``draws`` the
    number of draws run, ``failed`` how many could not be run."""

    bands: pd.DataFrame
    level: float
    parameters: list[str]
    held: list[str]
    draws: int
    failed: int
    hypothesis: str
    notes: list[str] = field(default_factory=list)
    #: every draw's run (draws, outputs, days) on ``days``/``outputs``, NaN where it failed
    runs: np.ndarray | None = field(default=None, repr=False)
    days: list[float] = field(default_factory=list, repr=False)
    outputs: list[str] = field(default_factory=list, repr=False)

    @property
    def caption(self) -> str:
        """What the band shows (printed under every figure)."""
        return (f"Band: central {100 * self.level:g} % of {self.draws - self.failed} runs "
                f"over draws of the calibrated parameters ({self.hypothesis} hypothesis; "
                "Laplace approximation of the calibration's posterior). Parameter "
                "uncertainty only: between-subject variability and measurement error are "
                "not included.")

    def __repr__(self) -> str:
        outs = list(dict.fromkeys(self.bands["output"]))
        return (f"<UncertaintyResult: {len(outs)} outputs, {self.draws} draws of "
                f"{len(self.parameters)} parameters ({self.failed} failed), "
                f"{100 * self.level:g} % bands>")

    def _repr_html_(self) -> str:
        last = self.bands[self.bands["day"] == self.bands["day"].max()]
        return (f"<p><code>{escape(repr(self))}</code></p>"
                + last.to_html(index=False, float_format=lambda x: f"{x:.4g}")
                + f"<p><small>{escape(self.caption)}</small></p>")

    def plot(self, outputs: Sequence[str] | None = None):
        """Each output against the day: the band, the draws' median and the calibrated
        run, the caption below. Returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        outs = list(outputs or dict.fromkeys(self.bands["output"]))
        ncol = min(3, len(outs))
        nrow = math.ceil(len(outs) / ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow + 0.5),
                                 squeeze=False)
        for ax, out in zip(axes.ravel(), outs, strict=False):
            b = self.bands[self.bands["output"] == out]
            ax.fill_between(b["day"], b["low"], b["high"], color="C0", alpha=0.25,
                            label=f"{100 * self.level:g} % band")
            ax.plot(b["day"], b["median"], color="C0", lw=1, label="median of draws")
            ax.plot(b["day"], b["calibrated"], color="0.2", lw=1, ls="--",
                    label="calibrated values")
            ax.set_title(out)
            ax.set_xlabel("day")
        for ax in axes.ravel()[len(outs):]:
            ax.set_visible(False)
        axes.ravel()[0].legend(frameon=False, fontsize=8)
        fig.text(0.01, 0.005, self.caption, fontsize=7, wrap=True, va="bottom")
        fig.tight_layout(rect=(0, 0.06, 1, 1))
        return fig


def scenario_bands(scenario: Scenario | Mapping | str | Path, *, draws: int = 100,
                   level: float = 0.95, outputs: Sequence[str] | None = None,
                   days: Sequence[float] | None = None, seed: int = 0) -> UncertaintyResult:
    """Run ``scenario`` over ``draws`` draws of the calibrated parameters (one batched
    call) and return the central ``level`` band of each output on each day (module
    docstring). ``outputs`` default to the scenario's; ``days`` to every day (at most
    401 points). The draws taken from the shipped ones follow from ``seed``.

    Bad input raises :class:`~neurobone.errors.InputError`; a scenario that cannot be
    run at the calibrated values raises :class:`~neurobone.errors.SolverError`."""
    if isinstance(draws, bool) or not isinstance(draws, numbers.Integral) or draws < 2:
        raise InputError(f"draws must be an integer of at least 2, got {draws!r}")
    if (isinstance(level, bool) or not isinstance(level, numbers.Real)
            or not 0 < level < 1):
        raise InputError(f"level must be a number between 0 and 1 (e.g. 0.95), got {level!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    scn = as_scenario(scenario)
    loaded = calibration_draws(scn.hypothesis)
    if loaded is None:
        raise InputError(f"no calibration draws for hypothesis {scn.hypothesis!r} in this "
                         "installation (python -m neurobone.fit.laplace writes them)")
    table, provenance = loaded
    m = model_for(scn)
    cm = compile_model(m)
    outs = check_outputs(m, scn, outputs)
    duration = float(scn.duration_days)
    grid = (sorted(set(np.linspace(0, duration, int(min(duration, 400)) + 1)))
            if days is None else check_days(days, duration))
    notes = []
    names, cols = [], []
    for key, values in table.items():
        species, _, name = key.rpartition(":")
        if species and species != scn.species:
            continue
        if name not in m.parameter_names or np.ptp(values) == 0:
            continue
        if name in scn.parameters:
            notes.append(f"{name}: the scenario sets it, so it keeps the scenario's value")
            continue
        names.append(name)
        cols.append(values)
    held = sorted({p.rpartition(":")[2] for s in provenance["steps"] for p in s["held"]}
                  & set(m.parameter_names))
    if held:
        notes.append(f"held at their calibrated values (too weakly informed to draw): "
                     f"{', '.join(held)}")
    if not names:
        raise InputError(f"no drawn parameter acts on this scenario's model ({m.name})")
    D = np.array(cols).T
    n_avail = len(D)
    rng = np.random.default_rng(int(seed))
    take = rng.choice(n_avail, size=min(int(draws), n_avail), replace=False)
    if draws > n_avail:
        notes.append(f"{n_avail} draws are shipped; {draws} asked, {n_avail} run")
    # row 0: the calibrated values (the model's own), then the draws
    base = np.array([m.parameter(p).value for p in names])
    X = np.vstack([base[None, :], D[take]])
    values, failure, more = evaluate(scn, cm, names, X, outs, grid)
    notes += [n for n in more if n not in notes]
    if failure[0]:
        raise SolverError(f"the scenario cannot be run at the calibrated values "
                          f"({failure[0]})")
    ok = np.array([not f for f in failure[1:]])
    if ok.sum() < 2:
        raise SolverError("fewer than 2 draws could be run; the band cannot be formed")
    runs = values[1:][ok]
    q = np.quantile(runs, [(1 - level) / 2, 0.5, (1 + level) / 2], axis=0)
    bands = pd.concat([pd.DataFrame({"day": grid, "output": o, "low": q[0][i],
                                     "median": q[1][i], "high": q[2][i],
                                     "calibrated": values[0, i]})
                       for i, o in enumerate(outs)], ignore_index=True)
    failed = int((~ok).sum())
    if failed:
        notes.append(f"{failed} of {len(ok)} draws could not be run (first: "
                     f"{next(f for f in failure[1:] if f)})")
    return UncertaintyResult(bands, float(level), names, held, len(ok), failed,
                             scn.hypothesis, notes, values[1:], list(grid), list(outs))
