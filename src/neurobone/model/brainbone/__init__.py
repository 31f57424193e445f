"""The neurobone model: exercise -> skeletal afferents -> brain -> sympathetic outflow ->
bone, beside mechanics, at two skeletal regions with trabecular and cortical bone.

Two regions (``ax`` axial: lumbar spine, mouse L5; ``ap`` appendicular: proximal femur,
mouse distal femur and tibia), each with its own instance of the Pivonka 2008
bone-cell core (its states and expressions suffixed ``_ax``, ``_ap``; parameters shared),
its own mechanostat and its own trabecular and cortical compartments; the components
in :mod:`neurobone.model.components` couple them to exercise, the brain, sympathetic
tone, sex steroids and age. Species presets: ``mouse`` (C57BL/6J, default) and
``human``. Mechanism hypotheses (the article's claim treated as a hypothesis):

``article`` (default)
    exercise-grown circuit connections act on bone: a circuit block loses most of the
    running gain (MC3), the neural path carries a sizeable share of it;
``interoceptive``
    the circuit relays the skeletal afferent signal at rest and under load, but the
    connectivity running grows does not act on bone;
``mechanical``
    no neural path to bone at all.

Each hypothesis is calibrated to the same rows except the contested circuit-block row
(MC3); the fitted values live in ``data/calibration/`` (docs/calibration.md).
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from importlib import resources

from neurobone.errors import ModelError
from neurobone.model import pivonka2008
from neurobone.model.brainbone.subjects import BrainBoneSubjects
from neurobone.model.components import (
    autonomic,
    brain,
    coupling,
    exercise,
    fracture,
    interoception,
    mechanics,
    outcomes,
    pharmacology,
    skeleton,
    systemic,
)
from neurobone.model.components.exercise import REGIONS
from neurobone.model.components.refs import ASSUMED, KINDEL2026
from neurobone.model.definition import Component, Model, Parameter, compose
from neurobone.units import DAYS_PER_YEAR

CITATION = (
    "neurobone brain-bone model (this project, docs/model.md) on the Pivonka et al. 2008 "
    "core (Bone 43:249)"
)

OUTPUTS = {
    "bv_tv": "bv_tv",
    "bv_tv_spine": "bv_tv_spine",
    "ct_th": "ct_th",
    "tmd_tb": "tmd_tb",
    "abmd_ls": "abmd_ls",
    "abmd_th": "abmd_th",
    "abmd_fn": "abmd_fn",
    "t_score": "t_score",
    "t_score_spine": "t_score_spine",
    "fracture_rr": "fracture_rr",
    "hip_fracture_10y": "hip_fracture_10y",
    "mof_fracture_10y": "mof_fracture_10y",
    "connectivity": "connectivity",
    "circuit_output": "circuit_output",
    "afferent": "afferent",
    "sympathetic_tone": "sympathetic_tone",
    "sclerostin": "sclerostin_ap",
    "sclerostin_spine": "sclerostin_ax",
    "estrogen": "E2",
    "obp": "OBp_ap",
    "oba": "OBa_ap",
    "oca": "OCa_ap",
    "rankl": "RANKL_ap",
    "opg": "OPG_ap",
    "formation_rate": "bone_formation",
    "resorption_rate": "bone_resorption",
    "p1np": "p1np",
    "ctx": "ctx",
}

#: outputs kept when a scenario, study or cohort names none, by species
DEFAULT_OUTPUTS = {
    "mouse": ("bv_tv", "bv_tv_spine", "ct_th", "connectivity", "sympathetic_tone", "sclerostin",
              "p1np", "ctx"),
    "human": ("abmd_ls", "abmd_th", "abmd_fn", "t_score", "t_score_spine", "hip_fracture_10y",
              "mof_fracture_10y", "connectivity", "sympathetic_tone", "p1np", "ctx"),
}
#: the primary outcome of a study, by species
PRIMARY_OUTPUT = {"mouse": "bv_tv", "human": "abmd_ls"}
#: outputs that can cross zero: their change is a difference, never a percentage
SIGNED_OUTPUTS = frozenset({"t_score", "t_score_spine"})

_HUMAN_BRAIN = tuple(
    replace(p, species="human", source=f"{ASSUMED}: human plasticity kinetics unknown (an open "
            f"question of the article); mouse value ({KINDEL2026} as an analogy) carried over")
    for p in brain.COMPONENT.parameters if p.species == "mouse" and p.name != "age_plast50"
) + (
    Parameter("age_plast50", 65 * DAYS_PER_YEAR, "day", "age at which plasticity is halved",
              f"{ASSUMED}: mouse value (~22 months of a ~30-month life) scaled by lifespan",
              species="human"),
)

PRESETS = {
    "human": (_HUMAN_BRAIN + autonomic.HUMAN + mechanics.HUMAN + systemic.HUMAN + coupling.HUMAN
              + skeleton.HUMAN + skeleton.KINETICS_HUMAN + outcomes.HUMAN),
}

#: the Pivonka 2008 bone-cell core without its bone-volume state (the compartments of
#: :mod:`~neurobone.model.components.skeleton` take its place)
_CELLS = replace(pivonka2008.COMPONENT,
                 states=tuple(s for s in pivonka2008.COMPONENT.states if s.name != "BV"))
_KINETICS = Component(name="kinetics", description="species' bone-cell rate scales",
                      parameters=skeleton.KINETICS)

_COMPONENTS = (
    _CELLS.parameters_only(),
    *(_CELLS.instance(f"_{r}", f"bone-cell core, {exercise.REGION_NAMES[r]} region")
      for r in REGIONS),
    _KINETICS, exercise.COMPONENT, interoception.COMPONENT, brain.COMPONENT,
    autonomic.COMPONENT, mechanics.COMPONENT, systemic.COMPONENT, coupling.COMPONENT,
    skeleton.COMPONENT, outcomes.COMPONENT, fracture.COMPONENT,
)
_COMPOSE = dict(
    description="Exercise -> skeletal afferents -> circuit plasticity -> sympathetic tone -> bone "
                "cells at two regions with trabecular and cortical bone, beside the mechanostat, "
                "sex steroids and ageing (mouse, human)",
    citation=CITATION,
    outputs=OUTPUTS,
    presets=PRESETS,
    default_species="mouse",
    default_outputs=DEFAULT_OUTPUTS,
    primary_output=PRIMARY_OUTPUT,
    signed_outputs=SIGNED_OUTPUTS,
)
MODEL = compose("neurobone", _COMPONENTS, rules=BrainBoneSubjects(), **_COMPOSE)

#: the mechanism hypotheses and what each fixes before the calibration (the rest of
#: the calibrated values come from data/calibration/<hypothesis>.json)
HYPOTHESES: dict[str, dict[str, float]] = {
    "article": {},
    "interoceptive": {"w_plast": 0.0},
    "mechanical": {"g_T": 0.0},
}

#: what each mechanism hypothesis assumes (docs/model.md)
HYPOTHESIS_DESCRIPTIONS = {
    "article": "exercise-grown circuit connections lower sympathetic tone to bone, so a "
               "circuit block loses most of the running gain, as the article claims",
    "interoceptive": "the circuit relays the skeletal afferent (PGE2/EP4) signal at rest and "
                     "under load, but the connectivity running grows does not act on bone",
    "mechanical": "no neural path to bone: exercise acts through mechanical loading only",
}


@lru_cache(maxsize=None)
def calibrated_values(hypothesis: str) -> dict[str, dict[str, float]]:
    """The calibrated parameter values of ``hypothesis`` by species (``any``, ``mouse``,
    ``human``), as the calibration pipeline wrote them (``data/calibration/``); empty
    when the pipeline has not written them."""
    path = resources.files("neurobone.data") / "calibration" / f"{hypothesis}.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {k: {n: float(v) for n, v in vals.items()} for k, vals in data["values"].items()}


def calibration_draws(hypothesis: str) -> tuple[dict, dict] | None:
    """Draws of the calibrated parameters of ``hypothesis`` (the calibration's
    uncertainty, :mod:`neurobone.fit.laplace`) and their provenance: ``({name: values},
    provenance)``, names of one species prefixed ``mouse:``/``human:``; None when they
    have not been written."""
    import csv

    import numpy as np

    folder = resources.files("neurobone.data") / "calibration"
    table, meta = folder / f"{hypothesis}-draws.csv", folder / f"{hypothesis}-draws.json"
    if not (table.is_file() and meta.is_file()):
        return None
    with table.open(newline="") as fh:
        rows = list(csv.reader(fh))
    names = rows[0][1:]
    values = np.array([[float(x) for x in r[1:]] for r in rows[1:]])
    return ({n: values[:, j] for j, n in enumerate(names)}, json.loads(meta.read_text()))


@lru_cache(maxsize=None)
def with_drugs(drugs: frozenset[str] = frozenset()) -> Model:
    """:data:`MODEL` with the PK/PD components of ``drugs``
    (:mod:`~neurobone.model.components.pharmacology`) added after every other component;
    :data:`MODEL` itself without drugs, so a scenario without drugs costs nothing more."""
    if not drugs:
        return MODEL
    m = compose(MODEL.name, [*_COMPONENTS, *pharmacology.components(sorted(drugs))],
                **_COMPOSE)
    return replace(m, rules=MODEL.rules)


def build(species: str = "mouse", hypothesis: str = "article", drugs=()) -> Model:
    """The neurobone model for a species under a mechanism hypothesis, with the values
    its calibration fitted, and the PK/PD components of ``drugs`` (none by default)."""
    if hypothesis not in HYPOTHESES:
        raise ModelError(f"unknown hypothesis {hypothesis!r}; valid: {', '.join(HYPOTHESES)}")
    m = with_drugs(frozenset(drugs)).for_species(species)
    fitted = calibrated_values(hypothesis)
    values = {**fitted.get("any", {}), **fitted.get(species, {}), **HYPOTHESES[hypothesis]}
    if not values:
        return m
    unknown = set(values) - set(m.parameter_names)
    if unknown:
        raise ModelError(f"calibration of {hypothesis!r} names unknown "
                         f"parameters: {sorted(unknown)}")
    fixed = HYPOTHESES[hypothesis]

    def source(p: Parameter) -> str:
        if p.name in fixed:
            return f"hypothesis {hypothesis!r}: set by the hypothesis"
        rows = p.source if p.source.startswith("calibrated") else f"calibrated; was: {p.source}"
        return f"{rows} (hypothesis {hypothesis!r}, data/calibration/{hypothesis}.json)"

    params = tuple(replace(p, value=values[p.name], source=source(p)) if p.name in values else p
                   for p in m.parameters)
    return replace(m, parameters=params)
