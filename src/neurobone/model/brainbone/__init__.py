"""The neurobone model: exercise -> brain -> sympathetic outflow -> bone, beside mechanics.

Composed of the Pivonka 2008 bone-cell core (unchanged; its neutral ``mod_*`` hooks are
redefined by :mod:`~neurobone.model.components.coupling`) and the components in
:mod:`neurobone.model.components`. Species presets: ``mouse`` (C57BL/6J, default) and
``human``. Mechanism hypotheses (the article's claim treated as a hypothesis):

``article`` (default)
    the neural path carries most of the exercise benefit (circuit block loses ~70 %);
``interoceptive``
    the neural path modulates, mechanics dominate;
``mechanical``
    no neural path to bone at all.

Each hypothesis is calibrated to the same targets except the contested circuit-block
row (MC3); see docs/calibration.md.
"""

from __future__ import annotations

from dataclasses import replace

from neurobone.errors import ModelError
from neurobone.model import pivonka2008
from neurobone.model.brainbone.subjects import BrainBoneSubjects
from neurobone.model.components import (
    autonomic,
    brain,
    coupling,
    exercise,
    mechanics,
    outcomes,
    systemic,
)
from neurobone.model.components.refs import ASSUMED, KINDEL2026
from neurobone.model.definition import Model, Parameter, compose
from neurobone.units import DAYS_PER_YEAR

CITATION = (
    "neurobone brain-bone model (this project, docs/model.md) on the Pivonka et al. 2008 "
    "core (Bone 43:249)"
)

OUTPUTS = {
    "bv_tv": "bv_tv",
    "bv": "BV",
    "abmd_ls": "abmd_ls",
    "abmd_th": "abmd_th",
    "abmd_fn": "abmd_fn",
    "t_score": "t_score",
    "fracture_rr": "fracture_rr",
    "connectivity": "connectivity",
    "sympathetic_tone": "sympathetic_tone",
    "sclerostin": "sclerostin_rel",
    "estrogen": "E2",
    "obp": "OBp",
    "oba": "OBa",
    "oca": "OCa",
    "rankl": "RANKL",
    "opg": "OPG",
    "formation_rate": "formation_rate",
    "resorption_rate": "resorption_rate",
    "p1np": "p1np",
    "ctx": "ctx",
}

#: outputs kept when a scenario, study or cohort names none, by species
DEFAULT_OUTPUTS = {
    "mouse": ("bv_tv", "connectivity", "sympathetic_tone", "sclerostin", "p1np", "ctx"),
    "human": ("abmd_ls", "abmd_th", "t_score", "fracture_rr", "bv_tv", "connectivity",
              "sympathetic_tone", "p1np", "ctx"),
}
#: the primary outcome of a study, by species
PRIMARY_OUTPUT = {"mouse": "bv_tv", "human": "abmd_ls"}
#: outputs that can cross zero: their change is a difference, never a percentage
SIGNED_OUTPUTS = frozenset({"t_score"})

_HUMAN_BRAIN = tuple(
    replace(p, species="human", source=f"{ASSUMED}: human plasticity kinetics unknown (an open "
            f"question of the article); mouse value ({KINDEL2026}) carried over")
    for p in brain.COMPONENT.parameters if p.species == "mouse" and p.name != "age_plast50"
) + (
    Parameter("age_plast50", 65 * DAYS_PER_YEAR, "day", "age at which plasticity is halved",
              f"{ASSUMED}: mouse value (~20 months of a ~30-month life) scaled by lifespan", species="human"),
)

PRESETS = {
    "human": _HUMAN_BRAIN + autonomic.HUMAN + mechanics.HUMAN + systemic.HUMAN + outcomes.HUMAN,
}

MODEL = compose(
    "neurobone",
    [pivonka2008.COMPONENT, exercise.COMPONENT, brain.COMPONENT, autonomic.COMPONENT,
     mechanics.COMPONENT, systemic.COMPONENT, coupling.COMPONENT, outcomes.COMPONENT],
    description="Exercise -> circuit plasticity -> sympathetic tone -> bone cells, with mechanostat, "
                "estrogen and ageing (mouse, human)",
    citation=CITATION,
    outputs=OUTPUTS,
    presets=PRESETS,
    default_species="mouse",
    rules=BrainBoneSubjects(),
    default_outputs=DEFAULT_OUTPUTS,
    primary_output=PRIMARY_OUTPUT,
    signed_outputs=SIGNED_OUTPUTS,
)

#: parameter values that define each mechanism hypothesis, by species ("any" applies to
#: both); g_T is set by the hypothesis, the habitual load index L_hab is refitted so the
#: exercise effect still meets MC2 (mouse) and HC3 (human). See docs/calibration.md.
HYPOTHESES: dict[str, dict[str, dict[str, float]]] = {
    "article": {},
    "interoceptive": {"any": {"g_T": 0.1}, "mouse": {"L_hab": 2.204}, "human": {"L_hab": 3.380}},
    "mechanical": {"any": {"g_T": 0.0}, "mouse": {"L_hab": 1.748}, "human": {"L_hab": 2.924}},
}


#: what each mechanism hypothesis assumes (docs/model.md)
HYPOTHESIS_DESCRIPTIONS = {
    "article": "the neural path (circuit plasticity lowering sympathetic tone) carries most "
               "of the exercise benefit, as the article claims",
    "interoceptive": "the neural path modulates the benefit; direct mechanical loading dominates",
    "mechanical": "no neural path to bone: exercise acts through mechanical loading only",
}


def build(species: str = "mouse", hypothesis: str = "article") -> Model:
    """The neurobone model for a species under a mechanism hypothesis."""
    if hypothesis not in HYPOTHESES:
        raise ModelError(f"unknown hypothesis {hypothesis!r}; valid: {', '.join(HYPOTHESES)}")
    m = MODEL.for_species(species)
    spec = HYPOTHESES[hypothesis]
    values = {**spec.get("any", {}), **spec.get(species, {})}
    if not values:
        return m
    params = tuple(
        replace(p, value=values[p.name],
                source=f"hypothesis {hypothesis!r}: " + ("set by the hypothesis" if p.name == "g_T"
                                                         else "calibrated: MC2/HC3 under it"))
        if p.name in values else p
        for p in m.parameters
    )
    return replace(m, parameters=params)
