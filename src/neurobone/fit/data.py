"""The data of a fit and the set-up shared by the fitting methods (:mod:`neurobone.fit.lsq`,
:mod:`neurobone.fit.bayes`).

:func:`read_data` reads the data table (a DataFrame, CSV or Parquet), :func:`check_data`
checks it and fills in the measurement SDs, :func:`check_options` checks the options both
methods share, :func:`prepare` does the whole set-up of a fit (scenario, compiled model,
parameter ranges, checked data) and :class:`Measurements` maps the values of a batched
engine run (:func:`neurobone.fit.batch.evaluate`) to the data's rows and their weighted
residuals: the measurement model of both methods, independent normal errors of known SD.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from neurobone.engine.kernels import CompiledModel, compile_model
from neurobone.errors import InputError
from neurobone.files import quoted
from neurobone.fit.batch import Range, evaluate, parameter_ranges
from neurobone.scenario.compile import base_parameters, model_for
from neurobone.scenario.run import as_scenario
from neurobone.scenario.schema import Scenario


def read_data(data: pd.DataFrame | str | Path) -> pd.DataFrame:
    """The data as a DataFrame (a CSV or Parquet file, or a DataFrame as is)."""
    if isinstance(data, pd.DataFrame):
        return data.copy()
    if not isinstance(data, (str, Path)):
        raise InputError(f"data: give a DataFrame or a CSV or Parquet file, got "
                         f"{type(data).__name__}")
    path = Path(data).expanduser()
    if not path.is_file():
        raise InputError(f"data file {quoted(path)} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except Exception as exc:  # pandas' parser errors have no common base
        raise InputError(f"data file {quoted(path)} cannot be read: "
                         f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                         ) from None
    raise InputError(f"data file {quoted(path)}: unknown format {suffix!r}; valid: .csv, "
                     ".parquet")


def check_data(df: pd.DataFrame, valid_outputs: Sequence[str], duration: float,
               cv: float) -> pd.DataFrame:
    """The data's ``day, output, value, sd`` (checked; ``sd`` from ``cv`` where absent)."""
    if "value" not in df.columns and "measured" in df.columns:
        df = df.rename(columns={"measured": "value"})
    missing = [c for c in ("day", "output", "value") if c not in df.columns]
    if missing:
        raise InputError(f"data: missing column(s) {', '.join(missing)}; needed: day, output, "
                         f"value (optional: sd, subject, arm); found: "
                         f"{', '.join(map(str, df.columns))}")
    if not len(df):
        raise InputError("data: no rows")
    out = pd.DataFrame({"output": df["output"].astype(str)})
    for col in ("day", "value") + (("sd",) if "sd" in df.columns else ()):
        x = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
        bad = np.nonzero(~np.isfinite(x))[0]
        if len(bad):
            raise InputError(f"data: column {col!r} has a non-finite or non-numeric value in "
                             f"row {int(bad[0]) + 1} ({df[col].iloc[bad[0]]!r}); all must be "
                             "finite numbers")
        out[col] = x
    unknown = sorted(set(out["output"]) - set(valid_outputs))
    if unknown:
        raise InputError(f"data: unknown output {unknown[0]!r}; valid: the model's states, "
                         "outputs and expressions (docs/model-reference.md)")
    far = out["day"][(out["day"] < 0) | (out["day"] > duration)]
    if len(far):
        raise InputError(f"data: day {far.iloc[0]:g} is outside the scenario (days 0 to "
                         f"{duration:g}); drop it or lengthen duration_days")
    if "sd" in out.columns:
        if (out["sd"] <= 0).any():
            raise InputError("data: column 'sd' must be positive (a measurement's standard "
                             f"deviation), got {out['sd'][out['sd'] <= 0].iloc[0]:g}")
    else:
        # relative error; a value of 0 takes the output's mean size instead
        scale = out.groupby("output")["value"].transform(lambda v: np.mean(np.abs(v)))
        size = np.where(out["value"] != 0, np.abs(out["value"]), scale)
        if (size == 0).any():
            raise InputError("data: an output is 0 in every row, so a relative error cv*|value| "
                             "is 0; give an 'sd' column")
        out["sd"] = cv * size
    return out.reset_index(drop=True)



def check_options(spread, seed, cv) -> None:
    """Check the options every fitting method has (one-line :class:`InputError`)."""
    if (isinstance(spread, bool) or not isinstance(spread, numbers.Real)
            or not math.isfinite(spread) or spread <= 1):
        raise InputError(f"spread must be a number above 1 (the bounds are value/spread to "
                         f"value*spread), got {spread!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if (isinstance(cv, bool) or not isinstance(cv, numbers.Real) or not math.isfinite(cv)
            or cv <= 0):
        raise InputError(f"cv must be a positive number (the relative measurement error "
                         f"where the data have no sd), got {cv!r}")


@dataclass
class Problem:
    """A fit's set-up: the scenario, its compiled model, the fitted parameters' ranges
    (their bounds), the checked data (``day, output, value, sd``) and notes."""

    scenario: Scenario
    cm: CompiledModel
    ranges: list[Range]
    data: pd.DataFrame
    notes: list[str]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.ranges]

    @property
    def log_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounds' logarithms (``low, high``)."""
        return (np.log([r.low for r in self.ranges]), np.log([r.high for r in self.ranges]))

    def start(self) -> np.ndarray:
        """The scenario's values (log, within the bounds; a 0 takes the bounds' centre)."""
        lo, hi = self.log_bounds
        return np.clip(np.log([r.value if r.value > 0 else math.sqrt(r.low * r.high)
                               for r in self.ranges]), lo, hi)


def prepare(data, scenario: Scenario | Mapping | str | Path, parameters: Sequence[str],
            bounds: Mapping[str, Sequence[float]] | None, spread: float, cv: float
            ) -> Problem:
    """Read and check everything a fit needs (one-line :class:`InputError` otherwise)."""
    df = read_data(data)
    scn = as_scenario(scenario)
    m = model_for(scn)
    cm = compile_model(m)
    base = base_parameters(cm, scn.parameters)
    ranges = parameter_ranges(cm, base, parameters, spread, bounds)
    data_ = check_data(df, m.all_outputs, float(scn.duration_days), cv)
    if len(data_) < len(ranges):
        raise InputError(f"data: {len(data_)} measurement(s) for {len(ranges)} parameters; a "
                         "fit needs at least as many data as parameters")
    notes = []
    ignored = [c for c in ("subject", "arm") if c in df.columns]
    if ignored:
        notes.append(f"column(s) {', '.join(ignored)} ignored: all rows are fitted as one "
                     "subject (the scenario's), i.e. the group mean")
    return Problem(scn, cm, ranges, data_, notes)


class Measurements:
    """The data's rows in a batched run: ``outputs`` and ``days`` to save, and each row's
    place among them."""

    def __init__(self, data: pd.DataFrame):
        self.outputs = list(dict.fromkeys(data["output"]))
        self.days = sorted(set(data["day"]))
        self.oi = np.array([self.outputs.index(o) for o in data["output"]])
        self.di = np.searchsorted(self.days, data["day"].to_numpy())
        self.value = data["value"].to_numpy(float)
        self.sd = data["sd"].to_numpy(float)

    def at_data(self, values: np.ndarray) -> np.ndarray:
        """Values ``(rows, outputs, days)`` of :func:`~neurobone.fit.batch.evaluate` at
        the data: ``(rows, data)``."""
        return values[:, self.oi, self.di]

    def residuals(self, at_data: np.ndarray) -> np.ndarray:
        """Weighted residuals ``(model - value) / sd`` (same shape as ``at_data``)."""
        return (at_data - self.value) / self.sd

    def run(self, problem: Problem, X: np.ndarray):
        """Run the rows of ``X`` (parameter values, not logs) in one batched call:
        ``(values at the data (rows, data), failures, notes)``."""
        values, failure, notes = evaluate(problem.scenario, problem.cm, problem.names, X,
                                          self.outputs, self.days)
        return self.at_data(values), failure, notes
