"""A protocol's exercise blocks and interventions as the brain-bone model's overrides.

Exercise blocks (modality, minutes, days per week, start and end day, the modality's
intensity field) become the daily inputs ``ex_load_ax``, ``ex_load_ap`` and ``ex_central``
on training days (:mod:`~neurobone.model.brainbone.dosing`). Each intervention sets parameters
between its start and end day:

=====================  ==========================================================
kind                   sets
=====================  ==========================================================
circuit_inhibition     ``circuit_inhibition`` = intensity (default 1)
circuit_activation     ``circuit_activation`` = intensity (default 1)
sensory_denervation    ``sensory_denervation`` = intensity (default 1): the skeletal
                       afferent (PGE2/EP4) signal removed
beta_blocker           ``occ_b1``, ``occ_b2``: the drug's beta1 and beta2 receptor
                       occupancies at ``dose_mg_per_day`` (humans) or
                       ``dose_mg_per_kg_per_day`` (mice), default the drug's usual dose
                       (:mod:`~neurobone.model.brainbone.drugs`); or at the dose whose
                       larger occupancy is ``occupancy``
ovariectomy            ``ovx`` = 1 (estrogen to its floor within days)
menopause              ``meno_day`` = the start day (women: the final menstrual period)
estradiol              ``e2_therapy`` = 1 (estrogen restored to the intact level)
hindlimb_unloading     ``unload_ap`` = fraction (default 1), ``unload_ax`` = a quarter of it
bed_rest               ``unload_ap`` = ``unload_ax`` = fraction (default 0.6)
spaceflight            ``unload_ap`` = ``unload_ax`` = fraction (default 0.8)
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
#: default share of habitual load removed by bed rest at both regions (upright loading
#: gone, muscle forces remain; LeBlanc 1990: spine and hip lose alike)
BED_REST_FRACTION = 0.6
#: default share of habitual load removed in weightlessness (assumed: more than bed rest,
#: exercise countermeasures aside)
SPACEFLIGHT_FRACTION = 0.8
#: share of a hindlimb unloading's fraction that the axial region loses (tail suspension
#: unloads the hindlimbs; the lumbar spine keeps some muscle loading: assumed)
HINDLIMB_AXIAL_SHARE = 0.25
#: intervention kinds and the parameters whose values they take
INTERVENTIONS = {
    "circuit_inhibition": (),
    "circuit_activation": (),
    "sensory_denervation": (),
    "beta_blocker": (),
    "ovariectomy": (),
    "menopause": (),
    "hindlimb_unloading": (),
    "bed_rest": (),
    "spaceflight": (),
    "estradiol": (),
}


def exercise_rows(species: str, blocks: Sequence, duration: float) -> list[Override]:
    """Overrides of ``ex_load_ax``, ``ex_load_ap`` and ``ex_central`` for every exercise
    block."""
    out: list[Override] = []
    used: list[tuple[set[int], float, float]] = []  # (weekdays, start, end) of each block
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
        days = _training_days(i, block, start, end, used)
        used.append((set(days), start, end))
        out.append(Override("ex_load_ax", dose.load_ax, start, end, days))
        out.append(Override("ex_load_ap", dose.load_ap, start, end, days))
        out.append(Override("ex_central", dose.central, start, end, days))
    return out


def _training_days(i: int, block, start: float, end: float,
                   used: list[tuple[set[int], float, float]]) -> tuple[int, ...]:
    """Block ``i``'s weekdays: its own ``weekdays``, or the spread pattern
    (:func:`spread_weekdays`) turned by the fewest days that keeps it off the weekdays of
    earlier blocks training over the same days. Two blocks on one weekday at once is an
    error (one session a day per block is what the doses describe)."""
    busy: dict[int, int] = {}
    for j, (days, a, b) in enumerate(used):
        if a < end and start < b:
            busy.update({d: j for d in days if d not in busy})
    own = getattr(block, "weekdays", None)
    if own is not None:
        clash = sorted(set(own) & set(busy))
        if clash:
            raise InputError(f"exercise[{i}].weekdays: day {clash[0]} is taken by "
                             f"exercise[{busy[clash[0]]}] over the same days; pick other "
                             f"weekdays (free: {sorted(set(range(7)) - set(busy)) or 'none'})")
        return tuple(sorted(own))
    base = spread_weekdays(block.days_per_week)
    for turn in range(7):
        days = tuple(sorted((d + turn) % 7 for d in base))
        if not set(days) & set(busy):
            return days
    raise InputError(f"exercise[{i}]: {block.days_per_week} days a week do not fit beside "
                     f"the {len(busy)} weekdays other blocks train on over the same days; "
                     "combine the blocks or shorten one")


def intervention_rows(model, p: np.ndarray, interventions: Sequence, sex: str,
                      species: str) -> list[Override]:
    """Overrides for every intervention (module docstring), values from ``p``."""
    value = dict(zip(model.parameter_names, map(float, p), strict=True))
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
    if k == "sensory_denervation":
        return [("sensory_denervation", strength)]
    if k == "beta_blocker":
        b1, b2 = beta_blocker_occupancy(iv, species)
        return [("occ_b1", b1), ("occ_b2", b2)]
    if k == "ovariectomy":
        if sex != "female":
            raise InputError("interventions: ovariectomy needs a female subject")
        return [("ovx", 1.0)]
    if k == "menopause":
        if species != "human" or sex != "female":
            raise InputError("interventions: menopause needs a human female subject "
                             "(mice: ovariectomy)")
        return [("meno_day", float(iv.start_day))]
    if k == "estradiol":
        return [("e2_therapy", 1.0)]
    if k == "hindlimb_unloading":
        f = iv.fraction if iv.fraction is not None else 1.0
        return [("unload_ap", f), ("unload_ax", HINDLIMB_AXIAL_SHARE * f)]
    if k in ("bed_rest", "spaceflight"):
        f = iv.fraction if iv.fraction is not None else (
            BED_REST_FRACTION if k == "bed_rest" else SPACEFLIGHT_FRACTION)
        return [("unload_ap", f), ("unload_ax", f)]
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
