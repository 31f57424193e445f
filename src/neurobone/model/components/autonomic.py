"""Sympathetic tone to bone and its beta-adrenergic action on bone cells.

Tone is 1 in a sedentary young adult. It rises with age (muscle sympathetic nerve
activity roughly doubles between 25 and 65 years, Ng 1993) and falls as the circuit's
connectivity above baseline grows (the circuit lowers PVN sympathetic output; Chen
2019). Circuit inhibition silences that output. The adrenergic signal reaching
osteoblasts passes beta2 receptors (mouse, Elefteriou 2005) or mainly beta1 receptors
(women, Khosla 2018); a blocker's receptor occupancy removes its share.
"""

from neurobone.model.components.refs import (
    ASSUMED,
    CHEN2019,
    ELEFTERIOU2005,
    KHOSLA2018,
    NG1993,
    TAKEDA2002,
)
from neurobone.model.definition import Component, Expression, Parameter

INPUT = "input: set by drugs and interventions"

COMPONENT = Component(
    name="autonomic",
    description="sympathetic outflow to bone and beta-adrenergic receptors",
    parameters=(
        Parameter("g_T", 0.3834, "1", "fall in log sympathetic tone per unit circuit connectivity above baseline", f"calibrated: MC2, MC3, MC4, MC6, MC7, HU1 (joint mouse fit; MC3 identifies it); {CHEN2019}", cv=0.2),
        Parameter("a_T", 0.0, "1/day", "rise in log sympathetic tone per day of age above the reference age", f"{NG1993}; mouse: {ASSUMED}", species="mouse"),
        Parameter("occ_b1", 0.0, "1", "beta1-adrenergic receptor occupancy by a blocker", INPUT),
        Parameter("occ_b2", 0.0, "1", "beta2-adrenergic receptor occupancy by a blocker", INPUT),
        Parameter("w_b2", 1.0, "1", "share of the bone adrenergic effect carried by beta2 receptors", f"mouse: Adrb2 ({ELEFTERIOU2005}; {TAKEDA2002})", species="mouse"),
    ),
    expressions=(
        Expression("circuit_output", "(1 - circuit_inhibition)*(connectivity - 1)", "1", "circuit output lowering sympathetic tone"),
        Expression("sympathetic_tone", "exp(a_T*(age - age_ref) - g_T*circuit_output)", "1", "sympathetic tone to bone relative to a sedentary young adult"),
        Expression("adrenergic", "sympathetic_tone*(w_b2*(1 - occ_b2) + (1 - w_b2)*(1 - occ_b1))", "1", "beta-adrenergic signal on osteoblasts (1 at reference)"),
    ),
)

#: human values (Khosla 2018: beta1-selective blockers acted on bone in women)
HUMAN = (
    Parameter("a_T", 1.375e-05, "1/day", "rise in log sympathetic tone per day of age", f"calibrated: HC2, HT1 (muscle sympathetic activity rises with age, {NG1993})", species="human", cv=0.25),
    Parameter("w_b2", 0.0, "1", "share of the bone adrenergic effect carried by beta2 receptors", f"women: beta1-selective blockers lowered CTX, propranolol did not ({KHOSLA2018})", species="human"),
)
