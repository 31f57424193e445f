"""The plastic hypothalamic circuit that relays the skeletal afferent signal.

The circuit (the arcuate -> paraventricular pathway through which loading lowers
sympathetic outflow to bone, Gao 2024) relays the resting afferent signal: its output is
1 in a sedentary young adult. Its activity above rest -- the afferent signal of loaded
bone, the central command of a session, chemogenetic activation -- grows its
connectivity; two synaptic pools (synaptic consolidation): a labile pool grows toward a
capacity, part of it consolidates, the labile pool fades in days and the consolidated
one in weeks, so connectivity plateaus (about doubling in 3 weeks of treadmill training
in VMH SF1 neurons, Kindel 2026, used as an analogy for the time course of
exercise-induced hypothalamic plasticity: SF1 output itself sustains catabolic tone,
Sun 2021). Plasticity rate and capacity fall with age (van Praag 2005).

Output = (1 - inhibition) x (1 + w_plast (connectivity - 1)) x the relayed afferent
share: ``w_plast`` is the share of new connections that reach the sympathetic output (1
under the article's hypothesis; 0 under ``interoceptive``, where the circuit relays the
skeletal afferent signal but exercise-grown connectivity does not act on bone). Chemogenetic
inhibition silences activity and output; sensory denervation removes the afferent
share ``w_rest`` of the resting output.
"""

from neurobone.model.components.refs import (
    ASSUMED,
    BERCHTOLD2010,
    GAO2024,
    KINDEL2026,
    SUN2021,
    VANPRAAG2005,
)
from neurobone.model.definition import Component, Expression, Parameter, State

INPUT = "input: set by the scenario's interventions"

COMPONENT = Component(
    name="brain",
    description="circuit activity, connectivity (labile and consolidated pools) and output",
    parameters=(
        Parameter("circuit_inhibition", 0.0, "1",
                  "fraction of circuit activity and output silenced "
                  "(chemogenetic inhibition, lesion)", INPUT),
        Parameter("circuit_activation", 0.0, "1",
                  "daily chemogenetic activation of the circuit, 0-1", INPUT),
        Parameter("k_aff", 8.0, "1", "circuit drive per unit of the afferent signal exercise adds",
                  f"{ASSUMED}: scales the afferent excess of a treadmill day (about 0.1) "
                  "to a drive of order 1; k_grow carries the calibration"),
        Parameter("w_cen", 0.1, "1", "circuit drive per unit central command of a session",
                  f"{ASSUMED}: small beside the afferent drive (sensory EP4 deletion blunts "
                  f"load-induced formation, {GAO2024}; swimming does little for bone)"),
        Parameter("act_drive", 1.0, "1", "circuit drive of a full chemogenetic activation",
                  "calibrated: MC4", species="mouse"),
        Parameter("w_rest", 0.5, "1",
                  "share of the resting circuit output that relays the skeletal afferent signal",
                  f"{ASSUMED}: half (sensory denervation raises sympathetic tone without silencing "
                  f"the circuit; {GAO2024})"),
        Parameter("w_plast", 1.0, "1",
                  "share of exercise-grown connectivity that "
                  "acts on the circuit's sympathetic output",
                  "hypothesis: 1 under 'article' (the seed article's claim), "
                  "0 under 'interoceptive'"),
        Parameter("k_grow", 0.5, "1/day", "growth rate of labile connectivity per unit drive",
                  "calibrated: MC5a, MC5b", species="mouse", cv=0.25),
        Parameter("W_max", 1.9, "1", "capacity of new connectivity (fraction of baseline synapses)",
                  "calibrated: MC5a", species="mouse", cv=0.2),
        Parameter("k_cons", 0.3, "1/day", "consolidation rate of labile connectivity",
                  f"{ASSUMED}: consolidation within days (not measured by {KINDEL2026})",
                  species="mouse"),
        Parameter("k_lab", 0.35, "1/day", "decay rate of labile connectivity (half-life ~2 days)",
                  f"{ASSUMED}: labile potentiation fades in days (not measured by {KINDEL2026})",
                  species="mouse"),
        Parameter("k_cdec", 0.033, "1/day", "decay rate of consolidated connectivity",
                  "calibrated: MC5c; hippocampal BDNF back to baseline 3-4 "
                  f"weeks after stopping ({BERCHTOLD2010})", species="mouse"),
        Parameter("age_plast50", 660.0, "day", "age at which plasticity is halved",
                  f"calibrated: MC8 ({VANPRAAG2005})", species="mouse"),
        Parameter("n_plast", 3.0, "1", "steepness of the age decline of plasticity",
                  f"{ASSUMED} (with age_plast50 fitted to MC8)", species="mouse"),
    ),
    states=(
        State("W_l", 0.0, "1", "labile connectivity above sedentary baseline (fraction)",
              rate="k_grow*plasticity*drive_up*(W_max*plasticity - W_l - W_c) "
                   "- (k_cons + k_lab)*W_l",
              scale=0.1),
        State("W_c", 0.0, "1", "consolidated connectivity above sedentary baseline (fraction)",
              rate="k_cons*W_l - k_cdec*W_c", scale=0.1),
    ),
    expressions=(
        Expression("plasticity", "1/(1 + (age/age_plast50)**n_plast)", "1",
                   "age factor on plasticity rate and capacity"),
        Expression("drive",
                   "(1 - circuit_inhibition)*(k_aff*afferent_exercise + w_cen*central_drive "
                   "+ act_drive*circuit_activation)",
                   "1", "circuit activity above rest (negative below it)"),
        Expression("drive_up", "drive*(1 + tanh(100*drive))/2", "1",
                   "circuit activity above rest, the part that grows connectivity "
                   "(its positive part, smoothed over 0.01)"),
        Expression("connectivity", "1 + W_l + W_c", "1",
                   "circuit connectivity relative to sedentary baseline"),
        Expression("circuit_output",
                   "(1 - circuit_inhibition)*(1 + w_plast*(connectivity - 1))"
                   "*(1 - w_rest + w_rest*afferent)", "1",
                   "circuit output lowering sympathetic tone "
                   f"(1 at rest; {SUN2021} for why it is not SF1 output)"),
    ),
)
