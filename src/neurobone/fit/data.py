"""The data of a fit and the set-up shared by the fitting methods (:mod:`neurobone.fit.lsq`,
:mod:`neurobone.fit.bayes`, :mod:`neurobone.fit.mixed`).

:func:`read_data` reads the data table (a DataFrame, CSV or Parquet), :func:`check_data`
checks it and fills in the measurement SDs, :func:`check_options` checks the options both
methods share, :func:`prepare` does the whole set-up of a fit (scenario, compiled model,
parameter ranges, checked data) and :class:`Measurements` maps the values of a batched
engine run (:func:`neurobone.fit.batch.evaluate`) to the data's rows and their weighted
residuals: the measurement model of both methods, independent normal errors of known SD.

**One scenario or a design.** The data are fitted either as measurements of one
scenario's subject, or -- given a *design*, e.g. a study (:class:`neurobone.study.Study`)
-- as measurements of its arms: each row names its ``arm``, and each arm is its own
scenario (its exercise, interventions, drugs and mean subject), all sharing the fitted
parameters. Any object with ``arm_names`` and ``scenario(arm)`` is a design; one with
``observation_cvs()`` (``{output: cv}``) also gives the SD of the rows that have none.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
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

#: replicates (subjects measured on one day, in one arm) from which a spread is taken
MIN_REPLICATES = 3


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
               cv: float, *, arms: Sequence[str] | None = None,
               cvs: Mapping[str, float] | None = None, replicate_sd: bool = False
               ) -> pd.DataFrame:
    """The data's ``day, output, value, sd`` (checked; ``sd`` from ``cv`` where absent,
    or from the output's CV in ``cvs``); with ``arms`` (a design's arm names) also
    ``arm``, which every row must name. With ``replicate_sd`` and no ``sd`` column, rows
    of several subjects (a ``subject`` or ``animal`` column) measured on the same day take
    the spread of those replicates (:data:`MIN_REPLICATES` or more), at least the
    instrument's."""
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
    if arms is not None:
        if "arm" not in df.columns:
            raise InputError(f"data: a design's data need an 'arm' column naming each row's "
                             f"arm ({', '.join(arms)}); found: "
                             f"{', '.join(map(str, df.columns))}")
        arm = df["arm"].astype(str)
        unknown = np.nonzero(~arm.isin(list(arms)).to_numpy())[0]
        if len(unknown):
            raise InputError(f"data: row {int(unknown[0]) + 1} names arm "
                             f"{arm.iloc[unknown[0]]!r}, not in the design; valid: "
                             f"{', '.join(arms)}")
        out.insert(0, "arm", arm.to_numpy())
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
        rel = out["output"].map(lambda o: float((cvs or {}).get(o) or cv)).to_numpy(float)
        out["sd"] = rel * size
        who = next((c for c in ("subject", "animal") if c in df.columns), None)
        if replicate_sd and who is not None:
            keys = [c for c in ("arm", "output", "day") if c in out.columns]
            g = out.groupby(keys)["value"]
            spread = g.transform("std").to_numpy(float)
            many = (g.transform("size").to_numpy() >= MIN_REPLICATES) & np.isfinite(spread)
            out["sd"] = np.where(many, np.maximum(spread, out["sd"]), out["sd"])
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


def design_arms(design) -> dict[str, Scenario] | None:
    """A design's arms as scenarios (``None`` if ``design`` is not one: see the module's
    docstring)."""
    names = getattr(design, "arm_names", None)
    make = getattr(design, "scenario", None)
    if names is None or not callable(make) or isinstance(design, (Scenario, Mapping)):
        return None
    return {str(a): make(a) for a in names}


@dataclass
class Problem:
    """A fit's set-up: the scenario, its compiled model, the fitted parameters' ranges
    (their bounds), the checked data (``day, output, value, sd``; ``arm`` too for a
    design) and notes. For a design, ``arms`` maps each arm with data to its scenario and
    compiled model (``scenario``/``cm`` are the first arm's)."""

    scenario: Scenario
    cm: CompiledModel
    ranges: list[Range]
    data: pd.DataFrame
    notes: list[str]
    arms: dict[str, tuple[Scenario, CompiledModel]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.ranges]

    @property
    def log_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounds' logarithms (``low, high``)."""
        return (np.log([r.low for r in self.ranges]), np.log([r.high for r in self.ranges]))

    @property
    def duration(self) -> float:
        """The longest scenario's duration (days)."""
        return max(float(s.duration_days) for s, _ in self.groups().values())

    def groups(self) -> dict[str | None, tuple[Scenario, CompiledModel]]:
        """The scenarios the data are measurements of: ``{None: (scenario, cm)}`` for one
        scenario, ``{arm: (scenario, cm)}`` for a design."""
        return dict(self.arms) if self.arms else {None: (self.scenario, self.cm)}

    def start(self) -> np.ndarray:
        """The scenario's values (log, within the bounds; a 0 takes the bounds' centre)."""
        lo, hi = self.log_bounds
        return np.clip(np.log([r.value if r.value > 0 else math.sqrt(r.low * r.high)
                               for r in self.ranges]), lo, hi)


def _design_ranges(arms: dict[str, tuple[Scenario, CompiledModel]], parameters,
                   bounds, spread) -> list[Range]:
    """Each parameter's range from the first arm whose model has it (arms taking
    different drugs have different models); checked as :func:`parameter_ranges` does."""
    if isinstance(parameters, str) or not isinstance(parameters, Sequence) or not parameters:
        raise InputError("parameters: give a list of model parameter names to vary")
    names = list(parameters)
    found: dict[str, Range] = {}
    for scn, cm in arms.values():
        have = [p for p in names if p in cm.model.parameter_names and p not in found]
        if have:
            base = base_parameters(cm, scn.parameters)
            own = {k: v for k, v in (bounds or {}).items() if k in have}
            found.update({r.name: r for r in parameter_ranges(cm, base, have, spread, own)})
    scn, cm = next(iter(arms.values()))
    # what no arm has (and a malformed list) raises here with the full message
    missing = [p for p in names if p not in found]
    if missing or len(set(names)) < len(names) or set(bounds or {}) - set(names):
        parameter_ranges(cm, base_parameters(cm, scn.parameters), names, spread, bounds)
    return [found[p] for p in names]


def prepare(data, scenario, parameters: Sequence[str],
            bounds: Mapping[str, Sequence[float]] | None, spread: float, cv: float,
            replicate_sd: bool = True) -> Problem:
    """Read and check everything a fit needs (one-line :class:`InputError` otherwise).
    ``scenario`` is a scenario (file, mapping or :class:`Scenario`) or a design; rows
    without ``sd`` take their replicates' spread where there are enough (a group fit;
    ``replicate_sd=False`` for a fit of each subject)."""
    df = read_data(data)
    design = design_arms(scenario)
    if design is not None:
        return _prepare_design(df, scenario, design, parameters, bounds, spread, cv,
                               replicate_sd)
    scn = as_scenario(scenario)
    m = model_for(scn)
    cm = compile_model(m)
    base = base_parameters(cm, scn.parameters)
    ranges = parameter_ranges(cm, base, parameters, spread, bounds)
    data_ = check_data(df, m.all_outputs, float(scn.duration_days), cv,
                       replicate_sd=replicate_sd)
    _enough(data_, ranges)
    notes = []
    ignored = [c for c in ("subject", "arm") if c in df.columns]
    if ignored:
        notes.append(f"column(s) {', '.join(ignored)} ignored: all rows are fitted as one "
                     "subject (the scenario's), i.e. the group mean")
    return Problem(scn, cm, ranges, data_, notes)


def _enough(data: pd.DataFrame, ranges: list[Range]) -> None:
    if len(data) < len(ranges):
        raise InputError(f"data: {len(data)} measurement(s) for {len(ranges)} parameters; a "
                         "fit needs at least as many data as parameters")


def _prepare_design(df, design, arms: dict[str, Scenario], parameters, bounds, spread, cv,
                    replicate_sd) -> Problem:
    if not arms:
        raise InputError("design: it has no arms")
    cvs_of = getattr(design, "observation_cvs", None)
    cvs = dict(cvs_of()) if callable(cvs_of) else None
    outputs: set[str] = set()
    duration = 0.0
    for scn in arms.values():
        outputs |= set(model_for(scn).all_outputs)
        duration = max(duration, float(scn.duration_days))
    data_ = check_data(df, sorted(outputs), duration, cv, arms=list(arms), cvs=cvs,
                       replicate_sd=replicate_sd)
    used = list(dict.fromkeys(data_["arm"]))
    compiled = {}
    for a in used:
        scn = arms[a]
        m = model_for(scn)
        rows = data_[data_["arm"] == a]
        bad = sorted(set(rows["output"]) - set(m.all_outputs))
        if bad:
            raise InputError(f"data: arm {a!r} has no output {bad[0]!r} (its model: "
                             f"{m.name})")
        late = rows["day"][rows["day"] > float(scn.duration_days)]
        if len(late):
            raise InputError(f"data: day {late.iloc[0]:g} is outside arm {a!r} (days 0 to "
                             f"{float(scn.duration_days):g})")
        compiled[a] = (scn, compile_model(m))
    ranges = _design_ranges(compiled, parameters, bounds, spread)
    _enough(data_, ranges)
    notes = []
    if "subject" in df.columns:
        notes.append("column subject ignored: the rows of each arm are fitted as its mean "
                     "subject (a group fit; docs/fitting.md)")
    skipped = [a for a in arms if a not in compiled]
    if skipped:
        notes.append(f"arm(s) {', '.join(skipped)} have no data and are not run")
    scn, cm = compiled[used[0]]
    return Problem(scn, cm, ranges, data_, notes, compiled)


@dataclass
class _Group:
    """The rows of one scenario (an arm of a design, or all rows)."""

    arm: str | None
    rows: np.ndarray
    outputs: list[str]
    days: list[float]
    oi: np.ndarray
    di: np.ndarray


class Measurements:
    """The data's rows in a batched run: for each scenario (each arm of a design) the
    ``outputs`` and ``days`` to save, and each row's place among them."""

    def __init__(self, data: pd.DataFrame):
        arm = data["arm"].to_numpy() if "arm" in data.columns else np.full(len(data), None)
        self.groups: list[_Group] = []
        for a in dict.fromkeys(arm):
            rows = np.nonzero(arm == a)[0]
            sub = data.iloc[rows]
            outputs = list(dict.fromkeys(sub["output"]))
            days = sorted(set(sub["day"]))
            self.groups.append(_Group(
                a, rows, outputs, days, np.array([outputs.index(o) for o in sub["output"]]),
                np.searchsorted(days, sub["day"].to_numpy())))
        self.outputs = list(dict.fromkeys(data["output"]))
        self.days = sorted(set(data["day"]))
        self.value = data["value"].to_numpy(float)
        self.sd = data["sd"].to_numpy(float)

    def residuals(self, at_data: np.ndarray) -> np.ndarray:
        """Weighted residuals ``(model - value) / sd`` (same shape as ``at_data``)."""
        return (at_data - self.value) / self.sd

    def run(self, problem: Problem, X: np.ndarray):
        """Run the rows of ``X`` (parameter values, not logs) in one batched call per
        scenario: ``(values at the data (rows, data), failures, notes)``."""
        curves = self.curves(problem, X)
        return curves.at_data, curves.failure, curves.notes

    def curves(self, problem: Problem, X: np.ndarray, grid: Sequence[float] = ()
               ) -> "Curves":
        """Run the rows of ``X`` and keep the outputs on the data's days and ``grid``."""
        X = np.atleast_2d(np.asarray(X, float))
        groups = problem.groups()
        at = np.full((len(X), len(self.value)), np.nan)
        failure = [""] * len(X)
        notes: list[str] = []
        out = {}
        for g in self.groups:
            scn, cm = groups[g.arm]
            cols = [j for j, p in enumerate(problem.names) if p in cm.model.parameter_names]
            days = sorted(set(g.days) | {float(d) for d in grid
                                         if d <= float(scn.duration_days)})
            if cols:
                values, fail, nts = evaluate(scn, cm, [problem.names[j] for j in cols],
                                             X[:, cols], g.outputs, days)
            else:  # an arm none of the fitted parameters acts on: run once
                values, fail, nts = evaluate(scn, cm, [], np.zeros((1, 0)), g.outputs, days)
                values, fail = np.repeat(values, len(X), axis=0), fail * len(X)
            at[:, g.rows] = values[:, g.oi, np.searchsorted(days, np.asarray(g.days))[g.di]]
            for i, f in enumerate(fail):
                if f and not failure[i]:
                    failure[i] = f if g.arm is None else f"arm {g.arm}: {f}"
            notes += [n for n in nts if n not in notes]
            out[g.arm] = (days, g.outputs, values)
        return Curves(at, failure, notes, out)


@dataclass
class Curves:
    """Outputs of rows of parameter values: at the data (``at_data``, rows x data), and
    per scenario ``{arm: (days, outputs, values (rows, outputs, days))}``."""

    at_data: np.ndarray
    failure: list[str]
    notes: list[str]
    values: dict

    def frame(self, row: int = 0) -> pd.DataFrame:
        """One row's outputs, tidy: ``[arm,] day, output, value``."""
        return self._tidy(lambda v: {"value": v[row]})

    def bands(self, rows: np.ndarray, level: float) -> pd.DataFrame:
        """Central ``level`` bands over ``rows``: ``[arm,] day, output, low, median,
        high``."""
        q = [(1 - level) / 2, 0.5, (1 + level) / 2]

        def band(v):
            lo, med, hi = np.quantile(v[rows], q, axis=0)
            return {"low": lo, "median": med, "high": hi}

        return self._tidy(band)

    def _tidy(self, columns) -> pd.DataFrame:
        parts = []
        for arm, (days, outputs, values) in self.values.items():
            cols = columns(values)
            for i, o in enumerate(outputs):
                d = pd.DataFrame({"day": days, "output": o,
                                  **{k: v[i] for k, v in cols.items()}})
                if arm is not None:
                    d.insert(0, "arm", arm)
                parts.append(d)
        return pd.concat(parts, ignore_index=True)


def daily_grid(duration: float) -> list[float]:
    """The grid trajectories are drawn on: daily, at most 401 points."""
    return sorted(set(np.linspace(0, duration, int(min(duration, 400)) + 1)))


def arm_parts(df: pd.DataFrame) -> list[tuple[str | None, pd.DataFrame]]:
    """``df`` split by arm, in order (one part, arm None, if it has no ``arm`` column)."""
    if "arm" not in df.columns:
        return [(None, df)]
    return [(a, df[df["arm"] == a]) for a in dict.fromkeys(df["arm"])]
