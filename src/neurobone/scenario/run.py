"""Run scenarios, and split an exercise effect into its neural and mechanical paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from neurobone.engine.result import SimulationResult
from neurobone.engine.schedule import Override
from neurobone.engine.solve import simulate
from neurobone.scenario.compile import Plan, compile_scenario
from neurobone.scenario.schema import Scenario, load_scenario, parse_scenario


def as_scenario(scenario: Scenario | dict | str | Path) -> Scenario:
    """A :class:`Scenario` from an object, a mapping or a YAML file path."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return parse_scenario(scenario)
    return load_scenario(scenario)


@dataclass
class ScenarioResult:
    """The outcome of one scenario: the trajectories and the requested outputs."""

    scenario: Scenario
    result: SimulationResult
    plan: Plan

    def table(self) -> pd.DataFrame:
        """``day`` plus one column per requested output (one row per day)."""
        return self.result.wide(self.plan.outputs)

    def __getitem__(self, name: str):
        return self.result[name]

    def change(self, output: str, day: float | None = None, relative: bool = True) -> float:
        """Change of ``output`` from day 0 to ``day`` (percent if ``relative``)."""
        y = self.result[output]
        k = -1 if day is None else int(round(day))
        d = y[k] - y[0]
        return 100.0 * d / y[0] if relative else d

    def plot(self, outputs: list[str] | None = None):
        return self.result.plot(outputs or self.plan.outputs)

    def __repr__(self) -> str:
        s = self.scenario
        return (f"<ScenarioResult {s.species} {s.hypothesis} {s.duration_days:g} days, "
                f"outputs={self.plan.outputs}>")

    def _repr_html_(self) -> str:
        return self.result._repr_html_()


def run_plan(plan: Plan, extra: list[Override] | None = None, **kw) -> SimulationResult:
    return simulate(plan.cm, plan.duration, parameters=plan.parameters, initial=plan.initial,
                    overrides=plan.overrides + list(extra or []), **kw)


def run_scenario(scenario: Scenario | dict | str | Path) -> ScenarioResult:
    """Simulate a scenario (file path, mapping or :class:`Scenario`)."""
    scn = as_scenario(scenario)
    plan = compile_scenario(scn)
    return ScenarioResult(scn, run_plan(plan), plan)


#: counterfactual switches: each run turns one path off
PATH_SWITCHES = {"neural": "neural_path", "mechanical": "mech_path"}


def decompose(scenario: Scenario | dict | str | Path, outputs: list[str] | None = None,
              day: float | None = None) -> pd.DataFrame:
    """Share of the scenario's exercise effect carried by each path.

    Four runs of the same subject: the scenario as given, the scenario without its
    exercise, and the scenario with the neural path (``neural_path = 0``) or the
    mechanical path (``mech_path = 0``) switched off. For each output at ``day``
    (default: the end), the effect of exercise is ``full - no_exercise``; a path's share
    is the part of it lost when that path is off; ``interaction`` is what remains
    (positive when the paths reinforce each other).
    """
    scn = as_scenario(scenario)
    plan = compile_scenario(scn)
    outputs = outputs or [o for o in plan.outputs if o not in ("connectivity",)] or ["bv_tv"]
    t_end = plan.duration if day is None else day
    no_ex = plan.scenario.model_copy(update={"exercise": []})
    runs = {
        "full": run_plan(plan),
        "no_exercise": run_plan(compile_scenario(no_ex)),
        "neural_off": run_plan(plan.with_parameters({"neural_path": 0.0})),
        "mechanical_off": run_plan(plan.with_parameters({"mech_path": 0.0})),
    }
    rows = []
    for out in outputs:
        v = {k: r.at(t_end)[out] if out in r.model.outputs else float(r[out][-1]) for k, r in runs.items()}
        effect = v["full"] - v["no_exercise"]
        neural = v["full"] - v["neural_off"]
        mech = v["full"] - v["mechanical_off"]
        share = (lambda x: x / effect) if abs(effect) > 1e-12 else (lambda x: float("nan"))
        rows.append(dict(
            output=out, day=t_end, no_exercise=v["no_exercise"], full=v["full"],
            neural_off=v["neural_off"], mechanical_off=v["mechanical_off"],
            effect=effect, neural_share=share(neural), mechanical_share=share(mech),
            interaction_share=share(effect - neural - mech),
        ))
    return pd.DataFrame(rows)
