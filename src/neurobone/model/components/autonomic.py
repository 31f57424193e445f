"""Sympathetic tone to bone and its action through beta1 and beta2 adrenergic receptors.

Tone is 1 in a sedentary young adult. It rises with age (muscle sympathetic nerve
activity about 2.5 times higher in women of 63 than of 24, Ng 1993) and falls as the
circuit's output rises above rest (Chen 2019; Gao 2024). A blocker occupies a share of
each receptor (:mod:`neurobone.model.brainbone.drugs`); the signal through receptor i
is tone x (1 - occupancy_i).

Each receptor's signal acts on the bone cells through a saturating action, normalised
to 1 at the reference signal, raised to a species-specific signed exponent:

- mice: beta2 carries the catabolic action (Adrb2 knock-out mice have high bone mass,
  Elefteriou 2005; Takeda 2002); beta1 is not catabolic (Pierroz 2012; mice lacking
  beta1-3 receptors have high trabecular bone, Bouxsein 2009);
- women: beta1-selective blockers lowered bone resorption and raised radius BMD, the
  non-selective propranolol did not (Khosla 2018). The model's reading (an assumption,
  as the paper gives no mechanism): beta1 signalling by neurally released
  noradrenaline is catabolic; beta2 receptors, which adrenaline activates more
  strongly than noradrenaline, carry a protective signal from circulating adrenaline
  that the bone's sympathetic tone does not change (``x_b2`` = 0), so a non-selective
  blocker's loss of beta2 protection offsets its beta1 benefit (``e_b2`` set by the
  propranolol row).

The share of the beta2 signal that follows the bone's sympathetic tone is ``x_b2`` (1 in
mice, where sympathetic noradrenaline acts through Adrb2; 0 in women).
"""

from neurobone.model.components.refs import (
    ASSUMED,
    BOUXSEIN2009,
    CHEN2019,
    ELEFTERIOU2005,
    KHOSLA2018,
    NG1993,
    PIERROZ2012,
    TAKEDA2002,
)
from neurobone.model.definition import Component, Expression, Parameter
from neurobone.units import DAYS_PER_YEAR

INPUT = "input: set by drugs (neurobone.model.brainbone.drugs)"


def _action(i: str) -> str:
    s = f"adr_signal_{i}"
    return f"{s}*(1 + K_b{i})/({s} + K_b{i})"


COMPONENT = Component(
    name="autonomic",
    description="sympathetic tone to bone, beta1 and beta2 adrenergic receptors and blockers",
    parameters=(
        Parameter("g_T", 0.4, "1",
                  "fall in log sympathetic tone per unit circuit output above rest",
                  f"calibrated (pipeline, mouse and human rows; {CHEN2019})", cv=0.2),
        Parameter("a_T", 0.0, "1/day",
                  "rise in log sympathetic tone per day of age above the reference age",
                  f"{ASSUMED}: no measurement of sympathetic outflow with age in mice",
                  species="mouse"),
        Parameter("occ_b1", 0.0, "1", "beta1-adrenergic receptor occupancy by a blocker", INPUT),
        Parameter("occ_b2", 0.0, "1", "beta2-adrenergic receptor occupancy by a blocker", INPUT),
        Parameter("K_b1", 1.0, "1",
                  "beta1 signal at which its action is half-saturated "
                  "(relative to the reference signal)",
                  f"{ASSUMED}: receptor signalling saturates; "
                  "full blockade at most halves the action"),
        Parameter("K_b2", 1.0, "1",
                  "beta2 signal at which its action is half-saturated "
                  "(relative to the reference signal)",
                  f"{ASSUMED}: as beta1"),
        Parameter("x_b2", 1.0, "1",
                  "share of the beta2 signal that follows the bone's sympathetic "
                  "tone (the rest: circulating adrenaline)",
                  "sympathetic noradrenaline acts on osteoblasts through "
                  f"Adrb2 in mice ({ELEFTERIOU2005})", species="mouse"),
        Parameter("e_b1", 0.0, "1",
                  "exponent of the beta1 action on bone-cell modifiers (positive: catabolic)",
                  f"beta1 is not catabolic in mice ({PIERROZ2012}; {BOUXSEIN2009})",
                  species="mouse"),
        Parameter("e_b2", 1.0, "1",
                  "exponent of the beta2 action on bone-cell modifiers (positive: catabolic)",
                  f"Adrb2 carries the catabolic action in mice ({ELEFTERIOU2005}; {TAKEDA2002}); "
                  "the gains g_T and the coupling exponents carry the size", species="mouse"),
    ),
    expressions=(
        Expression("sympathetic_tone", "exp(a_T*(age - age_ref) - g_T*(circuit_output - 1))", "1",
                   "sympathetic tone to bone relative to a sedentary young adult"),
        Expression("adr_signal_1", "sympathetic_tone*(1 - occ_b1)", "1",
                   "signal through beta1 receptors"),
        Expression("adr_signal_2", "(x_b2*sympathetic_tone + 1 - x_b2)*(1 - occ_b2)", "1",
                   "signal through beta2 receptors"),
        Expression("adr_action_1", _action("1"), "1",
                   "saturating beta1 action (1 at the reference signal)"),
        Expression("adr_action_2", _action("2"), "1",
                   "saturating beta2 action (1 at the reference signal)"),
        Expression("adrenergic", "adr_action_1**e_b1*adr_action_2**e_b2", "1",
                   "net catabolic adrenergic action on bone cells (1 at reference)"),
    ),
)

#: human values
HUMAN = (
    Parameter("a_T", 0.0241 / DAYS_PER_YEAR, "1/day", "rise in log sympathetic tone per day of age",
              f"{NG1993}: muscle sympathetic nerve activity 2.5 times higher at 63 than at 24 "
              "years in women, ln(2.5)/38 y = 0.0241/y (E17); E18 (men) checks it",
              species="human", cv=0.25),
    Parameter("x_b2", 0.0, "1",
              "share of the beta2 signal that follows the bone's sympathetic "
              "tone (the rest: circulating adrenaline)",
              f"{ASSUMED}: in women the protective beta2 signal is adrenaline's, "
              f"not the bone's sympathetic tone ({KHOSLA2018})", species="human"),
    Parameter("e_b1", 1.0, "1",
              "exponent of the beta1 action on bone-cell modifiers (positive: catabolic)",
              f"beta1-selective blockers lowered resorption in women ({KHOSLA2018}); "
              "the coupling exponents carry the size", species="human"),
    Parameter("e_b2", -0.6, "1",
              "exponent of the beta2 action on bone-cell modifiers (negative: protective)",
              f"calibrated: E21 (propranolol did not change CTX, {KHOSLA2018}); "
              "protective in women is an assumption", species="human"),
)
