"""Run scenarios, and split a protocol's effect into the model's paths."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from neurobone.engine.result import Result
from neurobone.engine.solvers import Solver
from neurobone.errors import InputError
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
    """One scenario's subject over time: ``result`` is the engine's
    :class:`~neurobone.engine.result.Result` (one subject, daily), ``plan`` what ran."""

    scenario: Scenario
    result: Result
    plan: Plan

    @property
    def t(self) -> np.ndarray:
        """The saved days."""
        return self.result.t

    def __getitem__(self, name: str) -> np.ndarray:
        """One output over the saved days (a 1-D array)."""
        return self.result[name][0]

    def table(self, outputs: list[str] | None = None) -> pd.DataFrame:
        """``day`` plus one column per output (the scenario's by default), one row per day."""
        return self.result.wide(0)[["day", *(outputs or self.plan.outputs)]]

    def tidy(self) -> pd.DataFrame:
        """Long table: ``subject, day, variable, value`` (every kept output)."""
        return self.result.tidy()

    def final(self) -> pd.DataFrame:
        """The scenario's outputs on the last day (one row)."""
        return self.result.final()[self.plan.outputs]

    def at(self, day: float) -> dict[str, float]:
        """Every kept output at the saved day nearest ``day``."""
        k = int(np.argmin(np.abs(self.t - day)))
        return {n: float(self.result.values[0, k, j]) for j, n in enumerate(self.result.names)}

    def change(self, output: str, day: float | None = None, relative: bool = True) -> float:
        """Change of ``output`` from day 0 to ``day`` (default: the end); percent if
        ``relative`` (an output that can cross zero, such as a T-score, always changes
        by a difference)."""
        y = self[output]
        k = len(y) - 1 if day is None else int(np.argmin(np.abs(self.t - day)))
        d = y[k] - y[0]
        if relative and output not in self.plan.cm.model.signed_outputs:
            return 100.0 * d / y[0]
        return float(d)

    def plot(self, outputs: list[str] | None = None, relative: bool = False):
        """The scenario's outputs against day (one panel each); returns the Figure."""
        return self.result.plot(outputs or self.plan.outputs, relative=relative)

    def __repr__(self) -> str:
        s = self.scenario
        return (f"<ScenarioResult {s.species} {s.hypothesis} {s.duration_days:g} days, "
                f"outputs={self.plan.outputs}>")

    def _repr_html_(self) -> str:
        df = self.table()
        return (f"<p><code>{self!r}</code></p>".replace("<Sc", "&lt;Sc").replace("]>", "]&gt;")
                + df.iloc[:: max(1, len(df) // 10)].to_html(index=False))


def run_scenario(scenario: Scenario | dict | str | Path, *, solver: Solver | None = None
                 ) -> ScenarioResult:
    """Simulate a scenario (file path, mapping or :class:`Scenario`)."""
    scn = as_scenario(scenario)
    plan = compile_scenario(scn)
    return ScenarioResult(scn, plan.run(solver), plan)


def decompose(scenario: Scenario | dict | str | Path, outputs: list[str] | None = None,
              day: float | None = None) -> pd.DataFrame:
    """Share of the scenario's exercise effect carried by each of the model's paths.

    Runs of the same subject: the scenario as given, the scenario without its exercise,
    and the scenario with each path switched off (``neural_path = 0`` or ``mech_path = 0``
    for the brain-bone model). For each output at ``day`` (default: the end) the effect of
    exercise is ``full - no_exercise``; a path's share is the part of it lost when that
    path is off; ``interaction`` is what remains (positive when the paths reinforce each
    other).
    """
    scn = as_scenario(scenario)
    plan = compile_scenario(scn)
    paths = plan.cm.model.rules.paths
    if not paths:
        raise InputError(f"model {plan.cm.model.name!r} has no paths to decompose")
    outputs = outputs or [o for o in plan.outputs if o != "connectivity"] or plan.outputs
    t_end = plan.duration if day is None else float(day)
    runs = {"full": plan.run(outputs=outputs),
            "no_exercise": compile_scenario(scn.model_copy(update={"exercise": []}))
            .run(outputs=outputs)}
    for path, switch in paths.items():
        runs[f"{path}_off"] = plan.with_parameters({switch: 0.0}).run(outputs=outputs)
    k = int(np.argmin(np.abs(runs["full"].t - t_end)))
    rows = []
    for j, out in enumerate(outputs):
        v = {name: float(r.values[0, k, j]) for name, r in runs.items()}
        effect = v["full"] - v["no_exercise"]
        lost = {p: v["full"] - v[f"{p}_off"] for p in paths}

        def share(x: float, effect: float = effect) -> float:  # called in this iteration only
            return x / effect if abs(effect) > 1e-12 else float("nan")

        row = dict(output=out, day=float(runs["full"].t[k]), effect=effect, **v)
        row.update({f"{p}_share": share(x) for p, x in lost.items()})
        row["interaction_share"] = share(effect - sum(lost.values()))
        rows.append(row)
    return pd.DataFrame(rows)


#: interventions that are drugs (removed with the ``drugs:`` regimens when attributing)
DRUG_INTERVENTIONS = ("beta_blocker", "estradiol")


def _without_drugs(scn: Scenario) -> Plan:
    """The scenario without its drugs, on the same model variant: the drug interventions
    removed and the regimens' dose inputs (``*_in``) left at 0 (their PK/PD components
    stay in the model, with nothing to absorb)."""
    from neurobone.model.components.pharmacology import PREFIX

    plan = compile_scenario(scn.model_copy(update={
        "interventions": [i for i in scn.interventions if i.kind not in DRUG_INTERVENTIONS]}))
    inputs = {f"{PREFIX[d.name]}_in" for d in scn.drugs}
    return replace(plan, overrides=[o for o in plan.overrides if o.name not in inputs])


def attribute(scenario: Scenario | dict | str | Path, outputs: list[str] | None = None,
              day: float | None = None) -> pd.DataFrame:
    """Split a drug-and-exercise scenario's effect into drug, neural and mechanical parts.

    A model decomposition, not an assertion: six runs of the same subject, the scenario
    ``full`` as given; ``untreated`` without its drugs (the drug interventions,
    :data:`DRUG_INTERVENTIONS`, removed, and the ``drugs:`` regimens' dose inputs at 0 on
    the same model variant) and without its exercise; ``drug_only`` with the drugs only;
    ``exercise_only`` with the exercise only; ``neural_only`` and ``mechanical_only`` with the
    exercise only and the other path switched off (``mech_path = 0``, ``neural_path = 0``).
    Other interventions (menopause, unloading, ...) stay in every run. For each output
    at ``day`` (default: the end), in the output's unit:

    * ``effect = full - untreated``, the combination's effect;
    * ``drug = drug_only - untreated``, ``neural = neural_only - untreated``,
      ``mechanical = mechanical_only - untreated``: each part on its own;
    * ``interaction = effect - drug - neural - mechanical``, the sum of
      ``drug_x_exercise = full - drug_only - exercise_only + untreated`` (positive: the
      combination is more than the drug alone plus the exercise alone) and
      ``neural_x_mechanical = exercise_only - neural_only - mechanical_only
      + untreated``;
    * ``*_share``: each part over ``effect`` (the four shares add up to 1);
    * ``effect_pct``: ``effect`` in percent of ``untreated``; ``combination``: ``more`` or
      ``less`` than additive (or ``additive`` when ``drug_x_exercise`` is under 0.5 % of
      ``effect``).

    A scenario without drugs or without exercise, or a model without paths, raises
    :class:`~neurobone.errors.InputError`.
    """
    scn = as_scenario(scenario)
    if not scn.drugs and not any(i.kind in DRUG_INTERVENTIONS for i in scn.interventions):
        raise InputError("attribute: the scenario has no drug (drugs: or an intervention "
                         f"of kind {' or '.join(DRUG_INTERVENTIONS)}); for exercise alone "
                         "use decompose")
    if not scn.exercise:
        raise InputError("attribute: the scenario has no exercise to attribute (add "
                         "exercise blocks)")
    plan = compile_scenario(scn)
    paths = plan.cm.model.rules.paths
    if set(paths) != {"neural", "mechanical"}:
        raise InputError(f"model {plan.cm.model.name!r} has no neural and mechanical paths "
                         "to attribute")
    outputs = outputs or [o for o in plan.outputs if o != "connectivity"] or plan.outputs
    for o in outputs:
        if o not in plan.cm.model.all_outputs:
            raise InputError(f"output: unknown output {o!r}; valid: "
                             f"{', '.join(plan.cm.model.outputs)}")
    if day is not None and not 0 < float(day) <= plan.duration:
        raise InputError(f"day: {day:g} is outside the scenario (1 to {plan.duration:g})")
    t_end = plan.duration if day is None else float(day)
    no_drug = _without_drugs(scn)
    runs = {
        "full": plan.run(outputs=outputs),
        "untreated": _without_drugs(scn.model_copy(update={"exercise": []})).run(outputs=outputs),
        "drug_only": compile_scenario(scn.model_copy(update={"exercise": []})).run(outputs=outputs),
        "exercise_only": no_drug.run(outputs=outputs),
        "neural_only": no_drug.with_parameters({paths["mechanical"]: 0.0}).run(outputs=outputs),
        "mechanical_only": no_drug.with_parameters({paths["neural"]: 0.0}).run(outputs=outputs),
    }
    k = int(np.argmin(np.abs(runs["full"].t - t_end)))
    rows = []
    for j, out in enumerate(outputs):
        v = {name: float(r.values[0, k, j]) for name, r in runs.items()}
        effect = v["full"] - v["untreated"]
        u = v["untreated"]
        part = {"drug": v["drug_only"] - u, "neural": v["neural_only"] - u,
                "mechanical": v["mechanical_only"] - u}
        dx = v["full"] - v["drug_only"] - v["exercise_only"] + v["untreated"]
        nm = v["exercise_only"] - v["neural_only"] - v["mechanical_only"] + v["untreated"]
        part["interaction"] = effect - sum(part.values())
        ok = abs(effect) > 1e-12
        row = dict(output=out, day=float(runs["full"].t[k]), **v, effect=effect,
                   effect_pct=100.0 * effect / v["untreated"] if v["untreated"] else float("nan"),
                   **part, drug_x_exercise=dx, neural_x_mechanical=nm)
        row.update({f"{p}_share": x / effect if ok else float("nan") for p, x in part.items()})
        row["combination"] = ("additive" if not ok or abs(dx) < 0.005 * abs(effect)
                              else "more" if dx * np.sign(effect) > 0 else "less")
        rows.append(row)
    return pd.DataFrame(rows)


def attribution_sentences(df: pd.DataFrame) -> list[str]:
    """One sentence per output of :func:`attribute`'s table, worded from its numbers."""
    out = []
    for r in df.itertuples():
        if not np.isfinite(r.drug_share):
            out.append(f"{r.output}: no effect on day {r.day:g} to attribute.")
            continue
        verdict = {"additive": "about the drug alone plus the exercise alone",
                   "more": "more than the drug alone plus the exercise alone",
                   "less": "less than the drug alone plus the exercise alone"}[r.combination]
        out.append(
            f"{r.output} on day {r.day:g}: the combination changes it by {r.effect:+.4g} "
            f"({r.effect_pct:+.2f} % of untreated); drug {100 * r.drug_share:.0f} %, neural "
            f"{100 * r.neural_share:.0f} %, mechanical {100 * r.mechanical_share:.0f} %, "
            f"interaction {100 * r.interaction_share:.0f} % of it. The combination is "
            f"{verdict} (drug x exercise {r.drug_x_exercise:+.3g}).")
    return out
