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


def for_species(values: dict[str, float], species: str) -> dict[str, float]:
    """The values of a parameter set that apply to ``species``: plain names apply to
    both species, ``"mouse:name"`` and ``"human:name"`` to one (the species-specific
    parameters of a joint fit)."""
    out = {k: v for k, v in values.items() if ":" not in k}
    out.update({k.split(":", 1)[1]: v for k, v in values.items() if k.startswith(species + ":")})
    return out


class Ensemble:
    """The target scenarios run for several parameter sets (and one hypothesis) at once.

    ``parameter_sets`` is a list of ``{parameter: value}`` applied on top of each
    scenario's own parameters (``"mouse:name"``, ``"human:name"``: to one species
    only). A scenario is run, for every set together, the first time a target asks for
    it; a set whose subject cannot be set up or integrated gives ``None`` (its targets
    come out NaN).
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
        values = for_species(values, scn.species)
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


def _time_constant(y: np.ndarray) -> float:
    """Integral over days of a series that relaxes from 1 toward 0 (trapezoidal, daily
    samples): the time constant of the exponential with the same area. Unlike a first
    crossing it moves smoothly with the parameters, and weekend dips in a training
    time course do not make it jump."""
    return float(np.sum((y[1:] + y[:-1]) / 2.0))


def rise_half_time(r: ScenarioResult, until: float = 56) -> float:
    """Half-time of the connectivity gain's rise: ln 2 times the time constant of the
    exponential with the same area between the gain and its plateau (the mean over the
    last training week)."""
    c = r["connectivity"][: int(until) + 1] - 1.0
    plateau = float(np.mean(c[-7:]))
    return float(np.log(2.0) * _time_constant(1.0 - c / plateau))


def decay_half_time(r: ScenarioResult, stop: float = 56) -> float:
    """Half-time of the connectivity gain's decay after ``stop``: ln 2 times the time
    constant of the exponential with the same area (up to the end of the run)."""
    after = r["connectivity"][int(stop):] - 1.0
    return float(np.log(2.0) * _time_constant(after / after[0]))


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
    return (100.0 * connectivity_plateau(run("mouse_running_aged"))
            / connectivity_plateau(run("mouse_running")))


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
    """How one row is measured: a function of the runs, and the scenarios it needs."""

    id: str
    measure: Callable[[Runs], float]
    scenarios: tuple[str, ...]


def _bv(r: ScenarioResult) -> float:
    return _end(r, "bv_tv")


TARGETS: dict[str, Target] = {t.id: t for t in [
    Target("MC1", lambda r: pct(_bv(r("mouse_sedentary")), r("mouse_sedentary")["bv_tv"][0]),
           ("mouse_sedentary",)),
    Target("MC2", lambda r: pct(_bv(r("mouse_running")), _bv(r("mouse_sedentary"))),
           ("mouse_running", "mouse_sedentary")),
    Target("MC3", _mc3, ("mouse_running", "mouse_running_inhibition", "mouse_sedentary")),
    Target("MC4", lambda r: pct(_bv(r("mouse_activation")), _bv(r("mouse_sedentary"))),
           ("mouse_activation", "mouse_sedentary")),
    Target("MC5a", lambda r: connectivity_plateau(r("mouse_running")), ("mouse_running",)),
    Target("MC5b", lambda r: rise_half_time(r("mouse_running")), ("mouse_running",)),
    Target("MC5c",
           lambda r: decay_half_time(r("mouse_detraining")) / rise_half_time(r("mouse_running")),
           ("mouse_detraining", "mouse_running")),
    Target("MC6", lambda r: pct(_bv(r("mouse_ovx_6w")), _bv(r("mouse_sham_6w"))),
           ("mouse_ovx_6w", "mouse_sham_6w")),
    Target("MC7", _mc7, ("mouse_ovx_running_6w", "mouse_ovx_6w", "mouse_sham_6w")),
    Target("MC8", _mc8, ("mouse_running_aged", "mouse_running")),
    Target("HC1", lambda r: _rate(r("human_menopause"), "abmd_ls", 1, 5), ("human_menopause",)),
    Target("HC2", lambda r: _rate(r("human_age70"), "abmd_th", 0, 3), ("human_age70",)),
    Target("HC3", lambda r: _pp(r, "human_liftmor", "human_lowbmd_control"),
           ("human_liftmor", "human_lowbmd_control")),
    Target("HC4", lambda r: _pp(r, "human_walking", "human_postmeno_control"),
           ("human_walking", "human_postmeno_control")),
    Target("HC5", lambda r: _pp(r, "human_swimming", "human_postmeno_control"),
           ("human_swimming", "human_postmeno_control")),
]}


def _pct_vs(run: Runs, arm: str, control: str, out: str, day: float | None = None) -> float:
    """Percent difference of ``out`` between two scenarios at ``day`` (default: the end)."""
    return pct(_end(run(arm), out, day), _end(run(control), out, day))


def _change(r: ScenarioResult, out: str, d0: float = 0.0, d1: float | None = None) -> float:
    """Percent change of ``out`` from day ``d0`` to ``d1`` (default: the end)."""
    return pct(_end(r, out, d1), _end(r, out, d0))


def _g_diff(run: Runs, arm: str, control: str, out: str) -> float:
    """Difference in change from baseline (g/cm2), arm minus control."""
    a, c = run(arm), run(control)
    return (_end(a, out) - a[out][0]) - (_end(c, out) - c[out][0])


def _mg_per_year(r: ScenarioResult, out: str) -> float:
    """Change of an aBMD (g/cm2) over the scenario in mg/cm2 per year."""
    return 1000.0 * (_end(r, out) - float(r[out][0])) / (r.t[-1] / YEAR)


def _e24(run: Runs) -> float:
    ovx = _end(run("mouse_ovx_10w"), "bv_tv")
    running = _end(run("mouse_ovx_running_10w"), "bv_tv") - ovx
    both = _end(run("mouse_ovx_running_propranolol_10w"), "bv_tv") - ovx
    return 100.0 * (both - running) / running


def _back_to_rest(r: ScenarioResult, stop: float, within: float = 0.1) -> float:
    """Days after ``stop`` until the connectivity gain is within ``within`` of its value
    at stop (a return to the sedentary level, as an assay sees it), for the exponential
    with the same area: ln(1/within) times its time constant."""
    after = r["connectivity"][int(stop):] - 1.0
    return float(np.log(1.0 / within) * _time_constant(after / after[0]))


def _lost_after_stop(r: ScenarioResult, control: ScenarioResult, stop: float, out: str) -> float:
    """Percent of the gain over control at ``stop`` that is gone at the end."""
    def gain(d=None):
        return pct(_end(r, out, d), r[out][0]) - pct(_end(control, out, d), control[out][0])
    return 100.0 * (1.0 - gain() / gain(stop))


def _regained(r: ScenarioResult, out: str, stop: float) -> float:
    """Percent of the loss from day 0 to ``stop`` regained by the end."""
    y0, ys, ye = float(r[out][0]), _end(r, out, stop), _end(r, out)
    return 100.0 * (ye - ys) / (y0 - ys)


def _tone_ratio(run: Runs, old: str, young: str) -> float:
    return float(run(old)["sympathetic_tone"][0] / run(young)["sympathetic_tone"][0])


def _meno_rate(r: ScenarioResult, out: str, y0: float, y1: float) -> float:
    """Annualised percent change between years y0 and y1 after the FMP (the scenario
    starts 5 years before it)."""
    return _rate(r, out, 5 + y0, 5 + y1)


for _t in [
    Target("HU1", lambda r: _pct_vs(r, "mouse_unloading_3w", "mouse_ground_3w", "bv_tv"),
           ("mouse_unloading_3w", "mouse_ground_3w")),
    Target("HT1", lambda r: float(r("human_age65")["t_score"][0]), ("human_age65",)),
    Target("E01", lambda r: _change(r("mouse_age_20w"), "bv_tv"), ("mouse_age_20w",)),
    Target("E02", lambda r: _change(r("mouse_male_ageing"), "bv_tv"), ("mouse_male_ageing",)),
    Target("E03", lambda r: _change(r("mouse_male_ageing"), "ct_th", (26 - 12) * 7),
           ("mouse_male_ageing",)),
    Target("E04", lambda r: _pct_vs(r, "mouse_ovx_16w", "mouse_sham_16w", "bv_tv"),
           ("mouse_ovx_16w", "mouse_sham_16w")),
    Target("E05", lambda r: _pct_vs(r, "mouse_ovx_16w", "mouse_sham_16w", "bv_tv_spine"),
           ("mouse_ovx_16w", "mouse_sham_16w")),
    Target("E06", lambda r: _pct_vs(r, "mouse_wheel_16w", "mouse_sedentary_16w", "bv_tv"),
           ("mouse_wheel_16w", "mouse_sedentary_16w")),
    Target("E11", lambda r: _meno_rate(r("human_transmenopause"), "abmd_ls", -1, 2),
           ("human_transmenopause",)),
    Target("E12", lambda r: _meno_rate(r("human_transmenopause"), "abmd_ls", 2, 7),
           ("human_transmenopause",)),
    Target("E13", lambda r: _change(r("human_transmenopause"), "abmd_fn", 0, 10 * YEAR),
           ("human_transmenopause",)),
    Target("E14", lambda r: _mg_per_year(r("human_age68"), "abmd_th"), ("human_age68",)),
    Target("E15", lambda r: _mg_per_year(r("human_age87"), "abmd_th"), ("human_age87",)),
    Target("E16", lambda r: _mg_per_year(r("human_age74"), "abmd_th"), ("human_age74",)),
    Target("E17", lambda r: _tone_ratio(r, "human_woman_63", "human_woman_24"),
           ("human_woman_63", "human_woman_24")),
    Target("E18", lambda r: _tone_ratio(r, "human_man_66", "human_man_26"),
           ("human_man_66", "human_man_26")),
    *(Target(i, lambda r, d=d: _pct_vs(r, f"human_{d}", "human_placebo_20w", "ctx"),
             (f"human_{d}", "human_placebo_20w"))
      for i, d in (("E19", "atenolol"), ("E20", "nebivolol"), ("E21", "propranolol"))),
    Target("E24", _e24, ("mouse_ovx_10w", "mouse_ovx_running_10w",
                         "mouse_ovx_running_propranolol_10w")),
    Target("E25", lambda r: 100.0 * float(r("mouse_running")["connectivity"][21] - 1.0),
           ("mouse_running",)),
    Target("E26", lambda r: _back_to_rest(r("mouse_wheel_detraining"), 21),
           ("mouse_wheel_detraining",)),
    Target("E28", lambda r: _pp(r, "human_liftmor", "human_lowbmd_control", "abmd_fn"),
           ("human_liftmor", "human_lowbmd_control")),
    Target("E29", lambda r: _pp(r, "human_combination", "human_control_60", "abmd_ls"),
           ("human_combination", "human_control_60")),
    Target("E30", lambda r: _pp(r, "human_resistance", "human_control_60", "abmd_fn"),
           ("human_resistance", "human_control_60")),
    Target("E31", lambda r: _g_diff(r, "human_walking", "human_postmeno_control", "abmd_ls"),
           ("human_walking", "human_postmeno_control")),
    Target("E32", lambda r: _g_diff(r, "human_walking", "human_postmeno_control", "abmd_fn"),
           ("human_walking", "human_postmeno_control")),
    Target("E33", lambda r: _g_diff(r, "human_swimming", "human_postmeno_control", "abmd_ls"),
           ("human_swimming", "human_postmeno_control")),
    Target("E35", lambda r: _lost_after_stop(r("human_dalsky"), r("human_dalsky_control"), 670,
                                             "abmd_ls"), ("human_dalsky", "human_dalsky_control")),
    Target("E36", lambda r: _change(r("human_dalsky"), "abmd_ls", 0, 270), ("human_dalsky",)),
    Target("E37", lambda r: _change(r("human_bed_rest"), "abmd_ls", 0, 119), ("human_bed_rest",)),
    Target("E38", lambda r: _regained(r("human_bed_rest"), "abmd_ls", 119), ("human_bed_rest",)),
    Target("E39", lambda r: _change(r("human_spaceflight"), "abmd_th") / 6.0,
           ("human_spaceflight",)),
    Target("E40", lambda r: _rate(r("human_man_75"), "abmd_th", 0, 4), ("human_man_75",)),
]:
    TARGETS[_t.id] = _t


def _data_path(name: str) -> Path:
    return Path(str(resources.files("neurobone.data").joinpath(name)))


@lru_cache(maxsize=1)
def _csv_path() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "targets" / "calibration.csv"
        if cand.exists():
            return cand
    return None


#: the columns of the target table
COLUMNS = ["id", "species", "scenario", "measure", "comparison", "low", "high", "central",
           "role", "source"]


def load_targets(path: str | Path | None = None) -> pd.DataFrame:
    """Every target row the project evaluates, with its ``role`` (``calibration``: the
    optimiser fits to it; ``validation``: never seen by the optimiser).

    The rows and roles are ``data/target_rows.csv``; a row that names only its id and
    role is a row of the shared table (``../shared/targets/calibration.csv``, or
    ``path``), whose scenario, range and source are taken from there."""
    path = Path(path) if path else _csv_path()
    if path is None or not Path(path).exists():
        raise FileNotFoundError("targets/calibration.csv not found; pass its path")
    shared = pd.read_csv(path).set_index("id")
    own = pd.read_csv(_data_path("target_rows.csv"), dtype={"id": str})
    rows = []
    for r in own.to_dict("records"):
        if r["id"] in shared.index:
            rows.append({**shared.loc[r["id"]].to_dict(), "id": r["id"], "role": r["role"]})
        else:
            rows.append(r)
    return pd.DataFrame(rows)[COLUMNS]


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
                         in_range=bool(row["low"] <= v <= row["high"]), role=row["role"]))
    return pd.DataFrame(rows)


def simulated(ensemble: Ensemble, ids: list[str], table: pd.DataFrame | None = None
              ) -> np.ndarray:
    """The simulated value of every row ``ids`` for every parameter set of ``ensemble``:
    an array (sets x rows); NaN where a set's run failed."""
    table = load_targets() if table is None else table
    with np.errstate(all="ignore"):
        return np.array([evaluate(table, ensemble.runs(k), ids)["simulated"].to_numpy(float)
                         for k in range(len(ensemble))])
