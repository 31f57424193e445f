"""Compile a validated :class:`~neurobone.scenario.schema.Scenario` into a runnable plan.

A :class:`Plan` holds the compiled model, the subject's parameter vector and initial
state (set up from the ``subject:`` block by
:func:`~neurobone.scenario.subjects.initialise_subjects`, N = 1) and the timed
overrides: the subject's own (a natural menopause during the scenario) followed by the
protocol's (exercise sessions and interventions, which win where they overlap).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from neurobone.engine.kernels import CompiledModel, compile_model
from neurobone.engine.simulate import simulate
from neurobone.engine.solvers import Solver, Switching
from neurobone.errors import InputError, SolverError
from neurobone.model.definition import Model
from neurobone.model.timed import Override
from neurobone.scenario.schema import Scenario
from neurobone.scenario.subjects import (
    Reference,
    covariates_of_subject,
    initialise_subjects,
    reference,
)

#: solver of single-subject scenario runs when none is named
SCENARIO_SOLVER = Switching(rtol=1e-8)


@dataclass
class Plan:
    """Everything an engine needs to run one subject of a scenario."""

    scenario: Scenario
    cm: CompiledModel
    parameters: np.ndarray
    initial: np.ndarray
    overrides: list[Override]
    duration: float
    outputs: list[str]
    reference: Reference
    notes: list[str] = field(default_factory=list)

    def with_overrides(self, extra: list[Override]) -> "Plan":
        """The plan with ``extra`` overrides after its own (they win where they overlap)."""
        return replace(self, overrides=self.overrides + list(extra))

    def with_parameters(self, values: dict[str, float]) -> "Plan":
        """The plan with parameters changed by name."""
        p = self.parameters.copy()
        for k, v in values.items():
            p[self.cm.param_index(k)] = float(v)
        return replace(self, parameters=p)

    def run(self, solver: Solver | None = None, outputs: list[str] | None = None):
        """Integrate the plan: a :class:`~neurobone.engine.result.Result` of one subject,
        saved daily, every state, named output and expression kept by default."""
        return simulate(self.cm, self.duration, parameters=self.parameters,
                        initial=self.initial, schedule=self.overrides,
                        outputs=outputs or self.cm.model.all_outputs,
                        solver=solver or SCENARIO_SOLVER, on_failure="raise")


def model_for(scn: Scenario) -> Model:
    """The model a scenario names, for its species (and hypothesis, for the brain-bone
    model)."""
    from neurobone.model import brainbone
    from neurobone.model.registry import get_model

    if scn.model == brainbone.MODEL.name:
        names = drug_names(scn)
        # without drugs: the two-argument call every other caller makes
        return brainbone.build(scn.species, scn.hypothesis, **({"drugs": names} if names else {}))
    return get_model(scn.model)


def drug_names(scn: Scenario) -> tuple[str, ...]:
    """The drugs a scenario's regimens name (their PK/PD components join the model)."""
    return tuple(sorted({d.name for d in scn.drugs}))


def base_parameters(cm: CompiledModel, values: dict[str, float]) -> np.ndarray:
    """The model's parameter vector with a scenario's ``parameters:`` applied."""
    m = cm.model
    p = cm.parameter_vector()
    for k, v in values.items():
        if k not in m.parameter_names:
            raise InputError(f"parameters: unknown parameter {k!r} for model {m.name!r}; "
                             f"valid: {', '.join(sorted(m.parameter_names))}")
        p[cm.param_index(k)] = float(v)
    return p


def scenario_outputs(m: Model, scn: Scenario) -> list[str]:
    """The scenario's outputs (default: the model's for the species), checked."""
    outputs = list(scn.outputs) if scn.outputs is not None else m.outputs_for(scn.species)
    valid = m.all_outputs
    for o in outputs:
        if o not in valid:
            raise InputError(f"outputs: unknown output {o!r}; valid: {', '.join(m.outputs)}")
    return outputs


def protocol(cm: CompiledModel, scn: Scenario, ref: Reference) -> list[Override]:
    """The scenario's exercise and interventions as overrides (shared by its subjects)."""
    m = cm.model
    return m.rules.protocol_rows(m, ref.p, exercise=scn.exercise, interventions=scn.interventions,
                                 sex=scn.subject.sex, duration=scn.duration_days,
                                 **({"drugs": scn.drugs} if scn.drugs else {}))


def shared_protocol(cm: CompiledModel, scn: Scenario, ref: Reference
                    ) -> tuple[list[Override], list]:
    """The protocol every subject of a cohort or study arm shares, and the drug entries
    whose doses each subject draws for herself (bolus doses at an adherence below 1:
    :func:`subject_doses`). Every entry is checked, whichever list it ends in."""
    from neurobone.model.brainbone.regimens import drawn

    rows = protocol(cm, scn, ref)
    own = [d for d in scn.drugs if drawn(d)]
    if not own:
        return rows, []
    shared = scn.model_copy(update={"drugs": [d for d in scn.drugs if not drawn(d)]})
    return protocol(cm, shared, ref), own


def subject_doses(entries: list, duration: float, key: tuple[int, ...]) -> list[Override]:
    """One subject's own draw of the doses of ``entries`` (:func:`shared_protocol`):
    ``key`` (e.g. the cohort's seed and the subject's index) joins each entry's seed, so
    the draw is the subject's and is the same on every run."""
    from neurobone.model.brainbone.regimens import dosing_rows

    return dosing_rows(entries, duration, key=key) if entries else []


def compile_scenario(scn: Scenario) -> Plan:
    """Build the plan of ``scn`` (its subject set up, its protocol as overrides)."""
    m = model_for(scn)
    cm = compile_model(m)
    outputs = scenario_outputs(m, scn)
    ref = reference(cm, base_parameters(cm, scn.parameters))
    rows = protocol(cm, scn, ref)
    subj = initialise_subjects(cm, covariates_of_subject(scn.subject, scn.species), ref=ref,
                               days=scn.duration_days)
    if subj.status[0] != 0:
        raise SolverError(f"the subject could not be set up: {subj.failure[0]}")
    return Plan(scn, cm, subj.parameters[0], subj.initial[0], subj.rows[0] + rows,
                scn.duration_days, outputs, ref, subj.notes)
