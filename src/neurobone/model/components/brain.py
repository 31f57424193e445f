"""Circuit plasticity: connectivity of the hypothalamic circuit that lowers sympathetic tone.

Two synaptic pools above the sedentary baseline (synaptic consolidation): activity grows
the labile pool toward a capacity, part of it consolidates, the labile pool fades in
days and the consolidated one in weeks. Growth is limited by the remaining capacity, so
connectivity plateaus (about doubling in 3 weeks of treadmill training, Kindel 2026).
Plasticity rate and capacity fall with age (van Praag 2005: running restores
neurogenesis in aged mice only partly). Chemogenetic inhibition silences the circuit's
activity (so it neither grows nor drives output); chemogenetic activation adds drive
without exercise.
"""

from neurobone.model.components.refs import ASSUMED, BERCHTOLD2010, KINDEL2026, VANPRAAG2005
from neurobone.model.definition import Component, Expression, Parameter, State

INPUT = "input: set by the scenario's interventions"

COMPONENT = Component(
    name="brain",
    description="circuit connectivity: labile and consolidated pools",
    parameters=(
        Parameter("circuit_inhibition", 0.0, "1", "fraction of circuit activity and output silenced (chemogenetic inhibition, lesion)", INPUT),
        Parameter("circuit_activation", 0.0, "1", "daily chemogenetic activation of the circuit, 0-1", INPUT),
        Parameter("act_drive", 0.1336, "1", "circuit drive of a full chemogenetic activation (relative to exercise drive)", "calibrated: MC4", species="mouse"),
        Parameter("k_grow", 0.5298, "1/day", "growth rate of labile connectivity per unit drive", "calibrated: MC5a, MC5b", species="mouse", cv=0.25),
        Parameter("W_max", 1.935, "1", "capacity of new connectivity (fraction of baseline synapses)", "calibrated: MC5a", species="mouse", cv=0.2),
        Parameter("k_cons", 0.3, "1/day", "consolidation rate of labile connectivity", f"set to 0.3/day (not fitted): consolidation within days ({KINDEL2026})", species="mouse"),
        Parameter("k_lab", 0.35, "1/day", "decay rate of labile connectivity (half-life ~2 days)", f"{ASSUMED}: labile potentiation fades in days; {KINDEL2026} (activity lasts ~1 h after each run)", species="mouse"),
        Parameter("k_cdec", 0.033, "1/day", "decay rate of consolidated connectivity", f"calibrated: MC5c; BDNF back to baseline 3-4 weeks after stopping ({BERCHTOLD2010})", species="mouse"),
        Parameter("age_plast50", 659.5, "day", "age at which plasticity is halved", f"calibrated: MC8 ({VANPRAAG2005})", species="mouse"),
        Parameter("n_plast", 3.0, "1", "steepness of the age decline of plasticity", f"{ASSUMED} (with age_plast50 fitted to MC8)", species="mouse"),
    ),
    states=(
        State("W_l", 0.0, "1", "labile connectivity above sedentary baseline (fraction)",
              rate="k_grow*plasticity*circuit_activity*(W_max*plasticity - W_l - W_c) - (k_cons + k_lab)*W_l",
              scale=0.1),
        State("W_c", 0.0, "1", "consolidated connectivity above sedentary baseline (fraction)",
              rate="k_cons*W_l - k_cdec*W_c", scale=0.1),
    ),
    expressions=(
        Expression("plasticity", "1/(1 + (age/age_plast50)**n_plast)", "1", "age factor on plasticity rate and capacity"),
        Expression("circuit_activity", "(1 - circuit_inhibition)*(exercise_drive + act_drive*circuit_activation)", "1", "activity of the circuit today"),
        Expression("connectivity", "1 + W_l + W_c", "1", "circuit connectivity relative to sedentary baseline"),
    ),
)
