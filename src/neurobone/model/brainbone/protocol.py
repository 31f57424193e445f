"""A protocol's exercise blocks and interventions as the brain-bone model's overrides.

Exercise blocks (modality, minutes, days per week, start and end day, the modality's
intensity field) become the daily inputs ``ex_load`` and ``ex_central`` on training
days (:mod:`~neurobone.model.brainbone.dosing`). Each intervention sets parameters
between its start and end day:

=====================  ==========================================================
kind                   sets
=====================  ==========================================================
circuit_inhibition     ``circuit_inhibition`` = intensity (default 1)
circuit_activation     ``circuit_activation`` = intensity (default 1)
beta_blocker           ``occ_b1``, ``occ_b2``: the drug's beta1 and beta2 receptor
                       occupancies at ``dose_mg_per_day`` (humans) or
                       ``dose_mg_per_kg_per_day`` (mice), default the drug's usual dose
                       (:mod:`~neurobone.model.brainbone.drugs`); or at the dose whose
                       larger occupancy is ``occupancy``
ovariectomy            ``E2_target`` = ``E2_floor``, ``tau_E`` = ``tau_E_surgical``
menopause              ``E2_target`` = ``E2_floor``, ``tau_E`` = ``tau_E_natural``
estradiol              ``E2_target`` = 1, ``tau_E`` = ``tau_E_surgical``
hindlimb_unloading     ``unloading`` = fraction (default 1)
bed_rest               ``unloading`` = fraction (default 0.6)
=====================  ==========================================================

Blocks and interventions are read by attribute (the scenario layer's validated
objects). Values taken from parameters come from the reference parameter vector; those
parameters must not vary between subjects (checked).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from neurobone.errors import InputError, ModelError
from neurobone.model.brainbone import drugs
from neurobone.model.brainbone.dosing import (
    check_intensity,
    intensity_field,
    session_dose,
    spread_weekdays,
)
from neurobone.model.timed import Override

#: the beta-blocker when an intervention names none
DEFAULT_DRUG = "propranolol"
#: default fraction of habitual load removed by bed rest (upright loading gone, some remains)
BED_REST_FRACTION = 0.6
#: intervention kinds and the parameters whose values they take
INTERVENTIONS = {
    "circuit_inhibition": (),
    "circuit_activation": (),
    "beta_blocker": (),
    "ovariectomy": ("E2_floor", "tau_E_surgical"),
    "menopause": ("E2_floor", "tau_E_natural"),
    "hindlimb_unloading": (),
    "bed_rest": (),
    "estradiol": ("tau_E_surgical",),
}


def exercise_rows(species: str, blocks: Sequence, duration: float) -> list[Override]:
    """Overrides of ``ex_load`` and ``ex_central`` for every exercise block."""
    out: list[Override] = []
    used: dict[int, tuple[float, float, int]] = {}
    for i, block in enumerate(blocks):
        try:
            field_name = intensity_field(species, block.modality)
        except InputError as exc:
            raise InputError(f"exercise[{i}].modality: {exc}") from None
        extra = dict(block.intensity_fields)
        unknown = set(extra) - {field_name}
        if unknown:
            raise InputError(
                f"exercise[{i}] ({block.modality}): unknown field(s) {sorted(unknown)}; "
                f"the intensity field of {block.modality} is {field_name!r}")
        try:
            intensity = (check_intensity(species, block.modality, extra[field_name])
                         if field_name in extra else None)
        except InputError as exc:
            raise InputError(f"exercise[{i}]: {exc}") from None
        try:
            dose = session_dose(species, block.modality, block.minutes, intensity)
        except InputError as exc:
            raise InputError(f"exercise[{i}]: {exc}") from None
        start = block.start_day
        end = block.end_day if block.end_day is not None else duration
        days = spread_weekdays(block.days_per_week)
        for d in days:
            if d in used and used[d][0] < end and start < used[d][1]:
                raise InputError(f"exercise[{i}] overlaps exercise[{used[d][2]}] on the same "
                                 "weekday; combine them into one block or separate their days")
            used[d] = (start, end, i)
        out.append(Override("ex_load", dose.load, start, end, days))
        out.append(Override("ex_central", dose.central, start, end, days))
    return out


def intervention_rows(model, p: np.ndarray, interventions: Sequence, sex: str,
                      species: str) -> list[Override]:
    """Overrides for every intervention (module docstring), values from ``p``."""
    value = dict(zip(model.parameter_names, map(float, p)))
    out: list[Override] = []
    for iv in interventions:
        for name in INTERVENTIONS[iv.kind]:
            if model.parameter(name).cv:
                raise ModelError(f"parameter {name!r} sets the {iv.kind} overrides and must "
                                 "not vary between subjects (cv 0)")
        a = iv.start_day
        b = iv.end_day if iv.end_day is not None else math.inf
        out += [Override(n, v, a, b) for n, v in _values(iv, value, sex, species)]
    return out


def _values(iv, value: dict[str, float], sex: str, species: str) -> list[tuple[str, float]]:
    k = iv.kind
    strength = iv.intensity if iv.intensity is not None else 1.0
    if k == "circuit_inhibition":
        return [("circuit_inhibition", strength)]
    if k == "circuit_activation":
        return [("circuit_activation", strength)]
    if k == "beta_blocker":
        b1, b2 = beta_blocker_occupancy(iv, species)
        return [("occ_b1", b1), ("occ_b2", b2)]
    if k == "ovariectomy":
        if sex != "female":
            raise InputError("interventions: ovariectomy needs a female subject")
        return [("E2_target", value["E2_floor"]), ("tau_E", value["tau_E_surgical"])]
    if k == "menopause":
        if species != "human" or sex != "female":
            raise InputError("interventions: menopause needs a human female subject "
                             "(mice: ovariectomy)")
        return [("E2_target", value["E2_floor"]), ("tau_E", value["tau_E_natural"])]
    if k == "estradiol":
        return [("E2_target", 1.0), ("tau_E", value["tau_E_surgical"])]
    if k == "hindlimb_unloading":
        return [("unloading", iv.fraction if iv.fraction is not None else 1.0)]
    if k == "bed_rest":
        return [("unloading", iv.fraction if iv.fraction is not None else BED_REST_FRACTION)]
    raise InputError(f"interventions: unknown kind {k!r}; valid: {', '.join(INTERVENTIONS)}")


def beta_blocker_occupancy(iv, species: str) -> tuple[float, float]:
    """(beta1, beta2) occupancy of a ``beta_blocker`` intervention: its drug (default
    propranolol) at its dose in the species' unit (default the drug's usual dose), or at
    the dose whose larger occupancy is ``occupancy``."""
    drug = getattr(iv, "drug", None) or DEFAULT_DRUG
    per_day = getattr(iv, "dose_mg_per_day", None)
    per_kg = getattr(iv, "dose_mg_per_kg_per_day", None)
    occ = getattr(iv, "occupancy", None)
    try:
        drugs.check_drug(drug)
        if occ is not None:
            if per_day is not None or per_kg is not None:
                raise InputError("give occupancy or a dose, not both")
            return drugs.occupancy_at_max(drug, occ, species)
        if per_day is None and per_kg is None:
            dose = drugs.default_dose(drug, species)
            return drugs.potency(drug, species).occupancy(dose)
        return drugs.occupancy(drug, per_day, per_kg, species)
    except InputError as exc:
        raise InputError(f"interventions: beta_blocker: {exc}") from None
