"""Compile a validated :class:`~neurobone.scenario.schema.Scenario` into a runnable plan.

A :class:`Plan` holds the compiled model, the subject's parameter vector (homeostatic
references resolved), the subject's initial state and the timed overrides that encode
exercise sessions and interventions. Both engines run plans.

Subject initialisation (brain-bone model):

1. the young-adult reference (age ``age_ref``, estrogen intact, no exercise) is put at
   homeostasis with bone volume 1; its steady-state OBa and OCa become the references
   ``OBa_ref``, ``OCa_ref`` (the parameters flagged ``reference_of``);
2. the subject's life history from the reference age to its age at the start is
   simulated: ageing, and for women the menopause (at ``age - years_since_menopause``,
   or at 51, the median age at the final menstrual period, for women of 52 and older);
3. baseline aBMD and T-score given in the subject block anchor the DXA outputs at day 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neurobone.engine.schedule import Override
from neurobone.engine.solve import simulate
from neurobone.engine.steady import initialise
from neurobone.errors import InputError
from neurobone.model.codegen import CompiledModel, compile_model
from neurobone.scenario.exercise import intensity_field, session_dose, spread_weekdays
from neurobone.scenario.schema import BETA_BLOCKERS, Intervention, Scenario, Subject

#: median age at the final menstrual period (Gold 2013, SWAN, Women's Midlife Health)
MENOPAUSE_AGE_YEARS = 51.0
#: default fraction of habitual load removed by bed rest (upright loading gone, some remains)
BED_REST_FRACTION = 0.6
DAYS_PER_YEAR = 365.25


@dataclass
class Plan:
    """Everything an engine needs to run one subject."""

    scenario: Scenario
    cm: CompiledModel
    parameters: np.ndarray
    initial: np.ndarray
    overrides: list[Override]
    duration: float
    outputs: list[str]
    notes: list[str] = field(default_factory=list)

    def with_overrides(self, extra: list[Override]) -> "Plan":
        return Plan(self.scenario, self.cm, self.parameters, self.initial,
                    self.overrides + list(extra), self.duration, self.outputs, self.notes)

    def with_parameters(self, values: dict[str, float]) -> "Plan":
        p = self.parameters.copy()
        for k, v in values.items():
            p[self.cm._pindex(k)] = v
        return Plan(self.scenario, self.cm, p, self.initial, self.overrides, self.duration,
                    self.outputs, self.notes)


def model_for(scn: Scenario):
    from neurobone.model import brainbone
    from neurobone.model.registry import get_model

    if scn.model == "neurobone":
        return brainbone.build(scn.species, scn.hypothesis)
    m = get_model(scn.model)
    if scn.exercise or scn.interventions:
        raise InputError(
            f"model {scn.model!r} has no exercise or intervention inputs; use model: neurobone"
        )
    return m


def compile_scenario(scn: Scenario) -> Plan:
    """Build the plan for ``scn`` (subject initialisation included)."""
    m = model_for(scn)
    cm = compile_model(m)
    outputs = _check_outputs(cm, scn.outputs)
    p = cm.parameter_vector()
    for k, v in scn.parameters.items():
        if k not in m.parameter_names:
            raise InputError(
                f"parameters: unknown parameter {k!r} for model {m.name!r}; "
                f"valid: {', '.join(sorted(m.parameter_names))}"
            )
        p[cm.param_index(k)] = float(v)
    if scn.model != "neurobone":
        y0, p = initialise(cm, p)
        return Plan(scn, cm, p, y0, [], scn.duration_days, outputs)
    y0, p, notes = _initialise_subject(cm, p, scn)
    overrides = exercise_overrides(scn, cm.model.default_species) + intervention_overrides(scn, cm, p)
    return Plan(scn, cm, p, y0, overrides, scn.duration_days, outputs, notes)


def _check_outputs(cm: CompiledModel, outputs: list[str]) -> list[str]:
    m = cm.model
    valid = list(m.outputs) + [n for n in m.state_names + m.expression_names if n not in m.outputs]
    for o in outputs:
        if o not in valid:
            raise InputError(f"outputs: unknown output {o!r}; valid: {', '.join(m.outputs)}")
    return list(outputs)


def subject_age_days(scn: Scenario, age_ref: float) -> float:
    s = scn.subject
    if scn.species == "mouse":
        return s.age_weeks * 7.0 if s.age_weeks is not None else age_ref
    return s.age_years * DAYS_PER_YEAR if s.age_years is not None else age_ref


def reference_homeostasis(cm: CompiledModel, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 1: the young-adult reference at homeostasis (BV = 1) and the parameter vector
    with its homeostatic references (``OBa_ref``, ``OCa_ref``) resolved."""
    ix = cm.model.state_names.index
    y = cm.initial_vector()
    y[ix("age")] = p[cm.param_index("age_ref")]
    y[ix("BV")] = 1.0
    return initialise(cm, p, initial=y, hold=("BV", "age"))


def subject_history(cm: CompiledModel, p: np.ndarray, species: str, subject: Subject,
                    age: float) -> tuple[float, list[Override], list[str]]:
    """Step 2: the life history from the reference age to ``age`` (days): its length and
    the overrides it needs (the menopause for women), relative to the reference age."""
    pi = cm.param_index
    age_ref = p[pi("age_ref")]
    notes: list[str] = []
    history: list[Override] = []
    if species == "human" and subject.sex == "female":
        if subject.years_since_menopause is not None:
            meno = age - subject.years_since_menopause * DAYS_PER_YEAR
        elif age >= (MENOPAUSE_AGE_YEARS + 1) * DAYS_PER_YEAR:
            meno = MENOPAUSE_AGE_YEARS * DAYS_PER_YEAR
            notes.append("menopause assumed at 51 years (years_since_menopause not given)")
        else:
            meno = math.inf
        if meno < age:
            t0 = max(meno - age_ref, 0.0)
            history += [Override("E2_target", p[pi("E2_floor")], t0),
                        Override("tau_E", p[pi("tau_E_natural")], t0)]
    return max(age - age_ref, 0.0), history, notes


def anchor_baseline(cm: CompiledModel, p: np.ndarray, bv: float, subject: Subject) -> None:
    """Step 3 (in place): bone volume at the start and the DXA baselines of the subject."""
    pi = cm.param_index
    p[pi("BV_start")] = bv
    w_ls, w_th = p[pi("w_ls")], p[pi("w_th")]
    if subject.abmd_ls is not None:
        p[pi("abmd_ls_base")] = subject.abmd_ls
    else:
        p[pi("abmd_ls_base")] *= 1 + w_ls * (bv - 1)
    if subject.abmd_th is not None:
        p[pi("abmd_th_base")] = subject.abmd_th
    else:
        p[pi("abmd_th_base")] *= 1 + w_th * (bv - 1)
    if subject.t_score is not None:
        p[pi("abmd_fn_base")] = p[pi("fn_young_mean")] + subject.t_score * p[pi("fn_young_sd")]
    else:
        p[pi("abmd_fn_base")] *= 1 + w_th * (bv - 1)


def _initialise_subject(cm: CompiledModel, p: np.ndarray, scn: Scenario):
    y, p = reference_homeostasis(cm, p)
    age = subject_age_days(scn, p[cm.param_index("age_ref")])
    span, history, notes = subject_history(cm, p, scn.species, scn.subject, age)
    if age < p[cm.param_index("age_ref")]:
        notes.append("subject younger than the reference age; started at the reference state")
        y[cm.model.state_names.index("age")] = age
    if span > 0:
        res = simulate(cm, span, parameters=p, initial=y, overrides=history, dt=span)
        y = res.states[-1].copy()
    # the subject's hormonal status persists through the scenario
    for o in history:
        p[cm.param_index(o.name)] = o.value
    anchor_baseline(cm, p, y[cm.model.state_names.index("BV")], scn.subject)
    return y, p, notes


def exercise_overrides(scn: Scenario, species: str) -> list[Override]:
    """Overrides of ``ex_load`` and ``ex_central`` for every exercise block."""
    out: list[Override] = []
    used: dict[int, tuple[float, float, int]] = {}
    for i, block in enumerate(scn.exercise):
        try:
            field_name = intensity_field(species, block.modality)
        except InputError as exc:
            raise InputError(f"exercise[{i}].modality: {exc}") from None
        extra = block.intensity_fields
        unknown = set(extra) - {field_name}
        if unknown:
            raise InputError(
                f"exercise[{i}] ({block.modality}): unknown field(s) {sorted(unknown)}; "
                f"the intensity field of {block.modality} is {field_name!r}"
            )
        try:
            intensity = float(extra[field_name]) if field_name in extra else None
        except (TypeError, ValueError):
            raise InputError(f"exercise[{i}].{field_name}: not a number") from None
        try:
            dose = session_dose(species, block.modality, block.minutes, intensity)
        except InputError as exc:
            raise InputError(f"exercise[{i}]: {exc}") from None
        start = block.start_day
        end = block.end_day if block.end_day is not None else scn.duration_days
        days = spread_weekdays(block.days_per_week)
        for d in days:
            if d in used and _overlap(used[d][:2], (start, end)):
                raise InputError(
                    f"exercise[{i}] overlaps exercise[{used[d][2]}] on the same weekday; "
                    "combine them into one block or separate their days"
                )
            used[d] = (start, end, i)
        out.append(Override("ex_load", dose.load, start, end, days))
        out.append(Override("ex_central", dose.central, start, end, days))
    return out


def _overlap(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def intervention_overrides(scn: Scenario, cm: CompiledModel, p: np.ndarray) -> list[Override]:
    """Overrides for every intervention (see docs/scenarios.md for what each sets)."""
    pv = lambda name: float(p[cm.param_index(name)])  # noqa: E731
    out: list[Override] = []
    for iv in scn.interventions:
        a = iv.start_day
        b = iv.end_day if iv.end_day is not None else math.inf
        out += [Override(name, value, a, b) for name, value in _intervention_values(iv, pv, scn)]
    return out


def _intervention_values(iv: Intervention, pv, scn: Scenario) -> list[tuple[str, float]]:
    k = iv.kind
    if k == "circuit_inhibition":
        return [("circuit_inhibition", iv.intensity if iv.intensity is not None else 1.0)]
    if k == "circuit_activation":
        return [("circuit_activation", iv.intensity if iv.intensity is not None else 1.0)]
    if k == "beta_blocker":
        b1, b2 = BETA_BLOCKERS[iv.drug or "propranolol"]
        if iv.occupancy is not None:
            scale = iv.occupancy / max(b1, b2)
            b1, b2 = b1 * scale, b2 * scale
        return [("occ_b1", b1), ("occ_b2", b2)]
    if k == "ovariectomy":
        if scn.subject.sex != "female":
            raise InputError("interventions: ovariectomy needs a female subject")
        return [("E2_target", pv("E2_floor")), ("tau_E", pv("tau_E_surgical"))]
    if k == "menopause":
        if scn.species != "human" or scn.subject.sex != "female":
            raise InputError("interventions: menopause needs a human female subject (mice: ovariectomy)")
        return [("E2_target", pv("E2_floor")), ("tau_E", pv("tau_E_natural"))]
    if k == "estradiol":
        return [("E2_target", 1.0), ("tau_E", pv("tau_E_surgical"))]
    if k == "hindlimb_unloading":
        return [("unloading", iv.fraction if iv.fraction is not None else 1.0)]
    if k == "bed_rest":
        return [("unloading", iv.fraction if iv.fraction is not None else BED_REST_FRACTION)]
    raise InputError(f"interventions: unknown kind {k!r}")  # pragma: no cover - schema guards
