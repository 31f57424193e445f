"""Calibration targets: each row of targets/calibration.csv as a measure on scenario runs.

Every target builds its scenarios from the YAML files in ``neurobone/data/targets``
(mean subject, no measurement noise) and reduces the trajectories to the figure the
row names. :func:`evaluate` runs them all (sharing runs between targets) and returns a
table of simulated value, range and whether it is in range.

An :class:`Ensemble` runs the scenarios for several parameter sets at once: each target
scenario is one call of the batched engine for every set (a finite-difference Jacobian
of every target with respect to p parameters is p + 1 sets, one call per scenario).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from neurobone.engine.simulate import simulate
from neurobone.errors import NeuroboneError
from neurobone.scenario.compile import SCENARIO_SOLVER, compile_scenario
from neurobone.scenario.run import ScenarioResult
from neurobone.scenario.schema import Scenario, load_scenario
from neurobone.units import DAYS_PER_YEAR

YEAR = DAYS_PER_YEAR


def scenario_path(name: str) -> Path:
    return Path(str(resources.files("neurobone.data").joinpath("targets").joinpath(f"{name}.yaml")))


class Ensemble:
    """The target scenarios run for several parameter sets (and one hypothesis) at once.

    ``parameter_sets`` is a list of ``{parameter: value}`` applied on top of each
    scenario's own parameters. A scenario is run, for every set together, the first time
    a target asks for it; a set whose subject cannot be set up or integrated gives
    ``None`` (its targets come out NaN).
    """

    def __init__(self, parameter_sets: Sequence[dict[str, float]] = ({},),
                 hypothesis: str | None = None):
        self.sets = [dict(p) for p in parameter_sets] or [{}]
        self.hypothesis = hypothesis
        self._cache: dict[str, list[ScenarioResult | None]] = {}

    def __len__(self) -> int:
        return len(self.sets)

    def runs(self, k: int) -> "Runs":
        """The runs of parameter set ``k``, as a :class:`Runs`."""
        return Runs(ensemble=self, index=k)

    def result(self, name: str, k: int) -> ScenarioResult | None:
        if name not in self._cache:
            self._cache[name] = self._run(name)
        return self._cache[name][k]

    def _variant(self, scn: Scenario, values: dict[str, float]) -> Scenario:
        update: dict = {}
        if values:
            update["parameters"] = {**scn.parameters, **values}
        if self.hypothesis:
            update["hypothesis"] = self.hypothesis
        return scn.model_copy(update=update) if update else scn

    def _run(self, name: str) -> list[ScenarioResult | None]:
        scn = load_scenario(scenario_path(name))
        plans = []
        for values in self.sets:
            try:
                plans.append(compile_scenario(self._variant(scn, values)))
            except NeuroboneError:
                plans.append(None)
        good = [k for k, pl in enumerate(plans) if pl is not None]
        out: list[ScenarioResult | None] = [None] * len(plans)
        if not good:
            return out
        first = plans[good[0]]
        res = simulate(first.cm, first.duration,
                       parameters=np.stack([plans[k].parameters for k in good]),
                       initial=np.stack([plans[k].initial for k in good]),
                       schedule=[plans[k].overrides for k in good],
                       outputs=list(first.cm.model.outputs), solver=SCENARIO_SOLVER,
                       on_failure="ignore")
        for j, k in enumerate(good):
            if res.status[j] == 0:
                out[k] = ScenarioResult(plans[k].scenario, res.subject(j), plans[k])
        return out


class Runs:
    """Scenario runs by file name for one parameter set (with optional parameter or
    hypothesis changes), cached: a view of an :class:`Ensemble`."""

    def __init__(self, parameters: dict[str, float] | None = None, hypothesis: str | None = None,
                 *, ensemble: Ensemble | None = None, index: int = 0):
        self._ensemble = ensemble or Ensemble([parameters or {}], hypothesis)
        self._index = index

    def __call__(self, name: str) -> ScenarioResult:
        r = self._ensemble.result(name, self._index)
        if r is None:
            raise FailedRun(name)
        return r


class FailedRun(NeuroboneError):
    """A target scenario whose subject could not be set up or integrated."""


def _end(r: ScenarioResult, out: str, day: float | None = None) -> float:
    y = r[out]
    return float(y[-1] if day is None else y[int(round(day))])


def pct(a: float, b: float) -> float:
    return 100.0 * (a / b - 1.0)


def connectivity_plateau(r: ScenarioResult, until: float = 56) -> float:
    """Mean connectivity gain over the last training week (percent over sedentary)."""
    c = r["connectivity"][: int(until) + 1]
    return 100.0 * float(np.mean(c[-7:]) - 1.0)


def rise_half_time(r: ScenarioResult, until: float = 56) -> float:
    """First day the connectivity gain reaches half its plateau (interpolated)."""
    c = r["connectivity"][: int(until) + 1] - 1.0
    half = 0.5 * float(np.mean(c[-7:]))
    k = int(np.argmax(c >= half))
    return float(k - 1 + (half - c[k - 1]) / (c[k] - c[k - 1])) if k > 0 else 0.0


def decay_half_time(r: ScenarioResult, stop: float = 56) -> float:
    """Days after ``stop`` until the connectivity gain falls to half its value at stop."""
    c = r["connectivity"] - 1.0
    k0 = int(stop)
    half = 0.5 * c[k0]
    after = c[k0:]
    k = int(np.argmax(after <= half))
    if k == 0:
        return float("inf")
    return float(k - 1 + (after[k - 1] - half) / (after[k - 1] - after[k]))


def _mc3(run: Runs) -> float:
    sed = _end(run("mouse_sedentary"), "bv_tv")
    gain = _end(run("mouse_running"), "bv_tv") - sed
    gain_inh = _end(run("mouse_running_inhibition"), "bv_tv") - sed
    return 100.0 * (1.0 - gain_inh / gain)


def _mc7(run: Runs) -> float:
    sham = _end(run("mouse_sham_6w"), "bv_tv")
    ovx = _end(run("mouse_ovx_6w"), "bv_tv")
    ovx_run = _end(run("mouse_ovx_running_6w"), "bv_tv")
    return 100.0 * (ovx_run - ovx) / (sham - ovx)


def _mc8(run: Runs) -> float:
    return 100.0 * connectivity_plateau(run("mouse_running_aged")) / connectivity_plateau(run("mouse_running"))


def _rate(r: ScenarioResult, out: str, y0: float, y1: float) -> float:
    """Annualised percent change from year y0 to year y1, relative to the value at y0."""
    a, b = _end(r, out, y0 * YEAR), _end(r, out, y1 * YEAR)
    return 100.0 * (b / a - 1.0) / (y1 - y0)


def _pp(run: Runs, arm: str, control: str, out: str = "abmd_ls") -> float:
    """Percentage-point difference in percent change from baseline, arm minus control."""
    a, c = run(arm), run(control)
    return pct(_end(a, out), a[out][0]) - pct(_end(c, out), c[out][0])


@dataclass(frozen=True)
class Target:
    id: str
    measure: Callable[[Runs], float]
    scenarios: tuple[str, ...]
    calibrates: str  # parameters calibrated against this row


TARGETS: dict[str, Target] = {t.id: t for t in [
    Target("MC1", lambda r: pct(_end(r("mouse_sedentary"), "bv_tv"), r("mouse_sedentary")["bv_tv"][0]),
           ("mouse_sedentary",), "none (homeostasis by construction)"),
    Target("MC2", lambda r: pct(_end(r("mouse_running"), "bv_tv"), _end(r("mouse_sedentary"), "bv_tv")),
           ("mouse_running", "mouse_sedentary"), "g_T, g_scl, L_hab, k_ER, a_E_L, act_drive (joint mouse fit)"),
    Target("MC3", _mc3, ("mouse_running", "mouse_running_inhibition", "mouse_sedentary"), "joint mouse fit (identifies g_T)"),
    Target("MC4", lambda r: pct(_end(r("mouse_activation"), "bv_tv"), _end(r("mouse_sedentary"), "bv_tv")),
           ("mouse_activation", "mouse_sedentary"), "joint mouse fit (identifies act_drive)"),
    Target("MC5a", lambda r: connectivity_plateau(r("mouse_running")), ("mouse_running",), "k_grow, W_max, k_cdec"),
    Target("MC5b", lambda r: rise_half_time(r("mouse_running")), ("mouse_running",), "k_grow, W_max, k_cdec"),
    Target("MC5c", lambda r: decay_half_time(r("mouse_detraining")) / rise_half_time(r("mouse_running")),
           ("mouse_detraining", "mouse_running"), "k_grow, W_max, k_cdec"),
    Target("MC6", lambda r: pct(_end(r("mouse_ovx_6w"), "bv_tv"), _end(r("mouse_sham_6w"), "bv_tv")),
           ("mouse_ovx_6w", "mouse_sham_6w"), "joint mouse fit (identifies a_E_L)"),
    Target("MC7", _mc7, ("mouse_ovx_running_6w", "mouse_ovx_6w", "mouse_sham_6w"), "joint mouse fit (identifies k_ER)"),
    Target("MC8", _mc8, ("mouse_running_aged", "mouse_running"), "age_plast50"),
    Target("HC1", lambda r: _rate(r("human_menopause"), "abmd_ls", 1, 5), ("human_menopause",),
           "turnover, a_E_L, a_T, L_hab (joint human fit)"),
    Target("HC2", lambda r: _rate(r("human_age70"), "abmd_th", 0, 3), ("human_age70",), "joint human fit (identifies a_T)"),
    Target("HC3", lambda r: _pp(r, "human_liftmor", "human_lowbmd_control"),
           ("human_liftmor", "human_lowbmd_control"), "joint human fit (identifies L_hab)"),
    Target("HC4", lambda r: _pp(r, "human_walking", "human_postmeno_control"),
           ("human_walking", "human_postmeno_control"), "none (prediction from the modality table)"),
    Target("HC5", lambda r: _pp(r, "human_swimming", "human_postmeno_control"),
           ("human_swimming", "human_postmeno_control"), "none (w_aff set by hand with it in view)"),
]}


#: calibration rows beyond targets/calibration.csv, with their sources (docs/calibration.md)
EXTRA_ROWS = pd.DataFrame([
    dict(id="HU1", species="mouse", scenario="hindlimb unloading, 12-week-old female, 3 weeks",
         measure="trabecular BV/TV", comparison="percent vs ground control at week 3",
         low=-50.0, high=-15.0, central=-30.0,
         source="adult C57BL/6 mice lose roughly a third of trabecular BV/TV in 2-3 weeks of "
                "hindlimb unloading (e.g. Gupta et al. 2012, Am J Physiol Regul Integr Comp "
                "Physiol 303:R159); range spans reported values"),
    dict(id="HT1", species="human", scenario="untreated woman aged 65 (menopause at 51), no baseline given",
         measure="femoral neck T-score", comparison="at the start (life history from age 30)",
         low=-1.8, high=-0.6, central=-1.2,
         source="mean femoral neck BMD of women aged 60-69 in NHANES 2005-2008 corresponds to a "
                "T-score of about -1.2 (Looker et al. 2012, NCHS Data Brief 93); range spans 60-69 "
                "year olds"),
])

TARGETS["HT1"] = Target("HT1", lambda r: float(r("human_age65")["t_score"][0]), ("human_age65",),
                        "joint human fit")

TARGETS["HU1"] = Target(
    "HU1", lambda r: pct(_end(r("mouse_unloading_3w"), "bv_tv"), _end(r("mouse_ground_3w"), "bv_tv")),
    ("mouse_unloading_3w", "mouse_ground_3w"), "joint mouse fit (identifies g_scl)")


@lru_cache(maxsize=1)
def _csv_path() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "targets" / "calibration.csv"
        if cand.exists():
            return cand
    return None


def load_targets(path: str | Path | None = None, extra: bool = True) -> pd.DataFrame:
    """The calibration table (../shared/targets/calibration.csv by default) plus, with
    ``extra``, the project's additional rows (:data:`EXTRA_ROWS`)."""
    path = Path(path) if path else _csv_path()
    if path is None or not Path(path).exists():
        raise FileNotFoundError("targets/calibration.csv not found; pass its path")
    table = pd.read_csv(path)
    return pd.concat([table, EXTRA_ROWS], ignore_index=True) if extra else table


def evaluate(table: pd.DataFrame | None = None, runs: Runs | None = None,
             ids: list[str] | None = None) -> pd.DataFrame:
    """Simulated value of every target (or ``ids``), with range and in-range flag."""
    table = load_targets() if table is None else table
    runs = runs or Runs()
    rows = []
    for _, row in table.iterrows():
        if ids and row["id"] not in ids:
            continue
        t = TARGETS[row["id"]]
        try:
            v = float(t.measure(runs))
        except (FailedRun, FloatingPointError, ZeroDivisionError, IndexError):
            v = float("nan")
        rows.append(dict(id=row["id"], species=row["species"], measure=row["measure"],
                         simulated=v, low=row["low"], high=row["high"], central=row["central"],
                         in_range=bool(row["low"] <= v <= row["high"]), calibrates=t.calibrates))
    return pd.DataFrame(rows)


def simulated(ensemble: Ensemble, ids: list[str], table: pd.DataFrame | None = None
              ) -> np.ndarray:
    """The simulated value of every row ``ids`` for every parameter set of ``ensemble``:
    an array (sets x rows); NaN where a set's run failed."""
    table = load_targets() if table is None else table
    with np.errstate(all="ignore"):
        return np.array([evaluate(table, ensemble.runs(k), ids)["simulated"].to_numpy(float)
                         for k in range(len(ensemble))])
