"""Early responses that personalise a prescription: what a person did for a trial period
and what was measured at its end.

A :class:`Trial` is a plan followed for some days (possibly no exercise) and the percent
changes measured over it: a repeat DXA (spine, femoral neck), serum turnover markers
(CTX, P1NP) and muscle sympathetic nerve activity (MSNA). Each maps to a model output;
the measured change of output ``y`` is the model's ``y(T) / y(0)`` seen through two
measurements with the instrument's log-normal error (CV ``c``):

    log(1 + change/100) ~ Normal(log(y(T)/y(0)), 2 * log(1 + c^2))

The instruments are the studies' (:data:`neurobone.study.measurement.INSTRUMENTS`, with
their sources), except MSNA, whose mapping is an assumption stated in :data:`MEASURES`.

:func:`log_likelihood` weighs the person's prior copies and :func:`resample` draws from
them in proportion (sampling-importance-resampling: Smith & Gelfand 1992, Am Stat 46:84;
systematic resampling): the prescription is then searched and reported on the resampled
copies, whose spread is the person's posterior. The effective sample size of the weights
says how well the prior copies cover what was measured.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from neurobone.errors import InputError
from neurobone.prescription.plans import Plan
from neurobone.study.measurement import INSTRUMENTS

#: measurement name -> (model output, CV of one measurement, source of the CV and mapping)
MEASURES = {
    "dxa_spine": ("abmd_ls", INSTRUMENTS["abmd_ls"].cv, INSTRUMENTS["abmd_ls"].source),
    "dxa_femoral_neck": ("abmd_fn", INSTRUMENTS["abmd_fn"].cv, INSTRUMENTS["abmd_fn"].source),
    "ctx": ("ctx", INSTRUMENTS["ctx"].cv, INSTRUMENTS["ctx"].source),
    "p1np": ("p1np", INSTRUMENTS["p1np"].cv, INSTRUMENTS["p1np"].source),
    "msna": ("sympathetic_tone", 0.15,
             "assumed: MSNA burst frequency taken as proportional to the model's sympathetic "
             "tone; a 15 % CV between sessions (MSNA is highly reproducible within a person: "
             "Fagius & Wallin 1993, Clin Auton Res 3:201, doi:10.1007/BF01826234)"),
}
#: the percent changes a measurement may report (beyond: not a measurement)
CHANGE_RANGE = (-90.0, 500.0)
#: trial lengths (days)
TRIAL_DAYS = (14.0, 3 * 365.25)


@dataclass(frozen=True)
class Trial:
    """A trial period: ``plan`` followed for ``days``, and the percent changes measured
    over it (``measured``: measurement name -> percent change; names in
    :data:`MEASURES`)."""

    plan: Plan
    days: float
    measured: tuple[tuple[str, float], ...]

    @classmethod
    def of(cls, plan: Plan, days: float, **measured: float | None) -> "Trial":
        """A trial with the measurements given (None: not measured), checked."""
        _check_days(days)
        out = []
        for name, value in measured.items():
            if name not in MEASURES:
                raise InputError(f"unknown measurement {name!r}; valid: {', '.join(MEASURES)}")
            if value is None:
                continue
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value)
                    or not CHANGE_RANGE[0] <= value <= CHANGE_RANGE[1]):
                raise InputError(f"{name.replace('_', '-')}: a percent change from "
                                 f"{CHANGE_RANGE[0]:g} to {CHANGE_RANGE[1]:g}, got {value!r}")
            out.append((name, float(value)))
        if not out:
            raise InputError("a trial needs at least one measurement; valid: "
                             + ", ".join(MEASURES))
        return cls(plan, float(days), tuple(out))

    @classmethod
    def named(cls, plan: str, days: float, **measured: float | None) -> "Trial | None":
        """A trial after a plan of :data:`~neurobone.prescription.plans.TRIAL_PLANS` by
        name; None when nothing was measured."""
        from neurobone.prescription.plans import TRIAL_PLANS

        # checked even when nothing was measured: a mistyped option is never ignored
        if plan not in TRIAL_PLANS:
            raise InputError(f"trial-plan: {plan!r} is not valid; valid: "
                             f"{', '.join(TRIAL_PLANS)}")
        if all(v is None for v in measured.values()):
            _check_days(days)
            return None
        return cls.of(TRIAL_PLANS[plan], days, **measured)

    @property
    def outputs(self) -> list[str]:
        return [MEASURES[name][0] for name, _ in self.measured]

    def describe(self) -> str:
        changes = ", ".join(f"{n} {v:+g} %" for n, v in self.measured)
        return f"{self.plan.describe()} for {self.days:g} days: {changes}"

    def to_json(self) -> dict:
        return {"plan": self.plan.to_json(), "days": self.days,
                "measured_percent_change": dict(self.measured)}


def _check_days(days: float) -> None:
    """The trial period's length: a real number of days within :data:`TRIAL_DAYS`."""
    if (isinstance(days, bool) or not isinstance(days, numbers.Real)
            or not math.isfinite(days) or not TRIAL_DAYS[0] <= days <= TRIAL_DAYS[1]):
        raise InputError(f"trial days: must be from {TRIAL_DAYS[0]:g} to "
                         f"{TRIAL_DAYS[1]:g}, got {days!r}")


def log_likelihood(trial: Trial, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Log-likelihood of the trial's measurements for each copy: ``start``/``end`` are the
    copies' values of :attr:`Trial.outputs` at the trial's first and last day, shape
    ``(copies, measurements)``. A copy whose run failed gets ``-inf``."""
    ll = np.zeros(len(start))
    for k, (name, change) in enumerate(trial.measured):
        _, cv, _ = MEASURES[name]
        var = 2.0 * math.log1p(cv ** 2)
        with np.errstate(all="ignore"):
            model = np.log(end[:, k] / start[:, k])
        ll += -0.5 * (math.log1p(change / 100.0) - model) ** 2 / var - 0.5 * math.log(
            2 * math.pi * var)
    return np.where(np.isfinite(ll), ll, -np.inf)


def resample(log_w: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """``n`` indices drawn in proportion to ``exp(log_w)`` (systematic resampling) and the
    effective sample size of the weights."""
    if not np.isfinite(log_w).any():
        raise InputError("no copy of the person is consistent with the measurements (every "
                         "run failed); check the values")
    w = np.exp(log_w - np.max(log_w))
    w /= w.sum()
    ess = float(1.0 / np.sum(w ** 2))
    positions = (rng.random() + np.arange(n)) / n
    idx = np.searchsorted(np.cumsum(w), positions, side="right")
    return np.minimum(idx, len(w) - 1), ess
