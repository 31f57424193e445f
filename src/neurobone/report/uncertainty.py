"""A study's comparisons over the calibration's parameter uncertainty.

A study's confidence intervals (docs/studies.md) come from its virtual subjects: the
spread between them and the instruments' error, for the model as calibrated. They say
nothing about how well the model itself is known. :func:`parameter_bands` adds that
apart: the *mean subject* of each arm (its scenario) is run over draws of the calibrated
parameters (:func:`neurobone.fit.uncertainty.scenario_bands`, the same draws in every
arm), and each comparison's difference -- on the study's analysis scale and day -- is
summarised over the draws. The two kinds of uncertainty are reported side by side, never
pooled::

    import neurobone as nb
    from neurobone.report.uncertainty import parameter_bands

    res = nb.run_study()
    pb = parameter_bands(res, draws=50)
    pb.differences      # arm, reference, output, day, calibrated, low, median, high
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurobone.fit.uncertainty import UncertaintyResult, scenario_bands

CAPTION = ("Parameter uncertainty only: the mean subject of each arm run over draws of the "
           "calibrated parameters (the same draws in every arm); between-subject "
           "variability and measurement error, which the study's confidence intervals "
           "hold, are not included.")


@dataclass
class StudyBands:
    """:func:`parameter_bands`: ``arms`` each arm's bands (day, output, low, median,
    high, calibrated), ``differences`` each comparison over the draws, ``level``."""

    arms: pd.DataFrame
    differences: pd.DataFrame
    level: float
    draws: int
    notes: list[str]

    @property
    def caption(self) -> str:
        return f"Bands: central {100 * self.level:g} % of {self.draws} draws. {CAPTION}"

    def plot(self, output: str):
        """``output`` of each arm's mean subject over the days: its band and calibrated
        run, the caption below. Returns the Figure."""
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        d = self.arms[self.arms["output"] == output]
        for k, (arm, part) in enumerate(d.groupby("arm", sort=False)):
            c = f"C{k}"
            ax.fill_between(part["day"], part["low"], part["high"], color=c, alpha=0.2)
            ax.plot(part["day"], part["calibrated"], color=c, lw=1.2, label=arm)
        ax.set_xlabel("day")
        ax.set_title(f"{output}: mean subject of each arm")
        ax.legend(frameon=False, fontsize=8)
        fig.text(0.01, 0.005, self.caption, fontsize=7, wrap=True, va="bottom")
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        return fig


def _analysis(res: UncertaintyResult, value: str, out: str, day: float) -> tuple[np.ndarray,
                                                                                  float]:
    """Each draw's and the calibrated run's value of ``out`` on ``day`` on the study's
    analysis scale (measured, change, or percent change from the first day)."""
    i, k = res.outputs.index(out), res.days.index(day)
    b = res.bands[res.bands["output"] == out]
    cal = b["calibrated"].to_numpy()
    runs = res.runs[:, i, :]
    if value == "change_pct":
        return 100 * (runs[:, k] / runs[:, 0] - 1), 100 * (cal[k] / cal[0] - 1)
    if value == "change":
        return runs[:, k] - runs[:, 0], cal[k] - cal[0]
    return runs[:, k], cal[k]


def parameter_bands(result, draws: int = 50, level: float = 0.95, seed: int = 0,
                    outputs: list[str] | None = None) -> StudyBands:
    """Run each arm's mean subject of ``result`` (a study's result) over ``draws`` draws
    of the calibrated parameters; bands per arm, and each comparison's difference on the
    study's day and analysis scale over the draws (module docstring)."""
    study = result.study
    outs = list(outputs or [result.primary])
    days = sorted({float(d) for d in result.days} | {0.0})
    day = float(result.day)
    per_arm: dict[str, UncertaintyResult] = {}
    notes: list[str] = []
    for arm in study.arm_names:
        r = scenario_bands(study.scenario(arm), draws=draws, level=level, outputs=outs,
                           days=days, seed=seed)
        per_arm[arm] = r
        notes += [n for n in r.notes if n not in notes]
    arms = pd.concat([r.bands.assign(arm=a) for a, r in per_arm.items()], ignore_index=True)
    arms = arms[["arm", "day", "output", "low", "median", "high", "calibrated"]]
    q = [(1 - level) / 2, 0.5, (1 + level) / 2]
    rows = []
    for arm, ref in study.comparison_pairs:
        for out in outs:
            value = result.value_of(out)
            a, a_cal = _analysis(per_arm[arm], value, out, day)
            b, b_cal = _analysis(per_arm[ref], value, out, day)
            diff = a - b  # the same draws in both arms (NaN where either failed)
            lo, med, hi = np.nanquantile(diff, q)
            rows.append({"arm": arm, "reference": ref, "output": out, "day": day,
                         "value": value, "calibrated": a_cal - b_cal, "low": lo,
                         "median": med, "high": hi})
    n_runs = min(r.draws - r.failed for r in per_arm.values())
    return StudyBands(arms, pd.DataFrame(rows), float(level), n_runs, notes)
