"""Exercise input: the day's sessions as a mechanical load and a neural drive.

The scenario layer (:mod:`neurobone.model.brainbone.dosing`) turns sessions into two daily
inputs, set on exercise days only: ``ex_load`` (osteogenic load index above habitual
loading, from ground reaction force and cycles) and ``ex_central`` (central motor /
aerobic command, 0-1). The afferent (interoceptive) part of the neural drive follows
the load: PGE2 from loaded osteoblasts excites EP4+ sensory nerves (Chen 2019, Gao
2024), sigmoid in load (little below habitual-like loads, saturating for impacts). Non-weight-bearing exercise therefore drives the circuit
only through its central part.
"""

from neurobone.model.components.refs import ASSUMED, CHEN2019, GAO2024
from neurobone.model.definition import Component, Expression, Parameter

INPUT = "input: set per day by the scenario (neurobone.scenario)"

COMPONENT = Component(
    name="exercise",
    description="exercise sessions -> mechanical load and neural drive",
    parameters=(
        Parameter("ex_load", 0.0, "1", "osteogenic load index of the day's exercise above habitual loading", INPUT),
        Parameter("ex_central", 0.0, "1", "central (motor/aerobic) drive of the day's exercise, 0-1", INPUT),
        Parameter("neural_path", 1.0, "1", "1: exercise drives the circuit; 0: counterfactual with the neural path off", "switch for path decomposition"),
        Parameter("mech_path", 1.0, "1", "1: exercise load reaches osteocytes; 0: counterfactual with the mechanical path off", "switch for path decomposition"),
        Parameter("K_aff", 1.5, "1", "load index giving half-maximal afferent (PGE2/EP4) drive", f"{ASSUMED}; saturating afferent form after {CHEN2019}; {GAO2024}"),
        Parameter("n_aff", 2.0, "1", "Hill coefficient of the afferent drive on load (a threshold-like sensory response)", f"{ASSUMED}: 2, set by hand with HC4 in view (walking does little for the spine)"),
        Parameter("w_aff", 0.95, "1", "share of the exercise drive that is afferent (interoceptive) rather than central", "set by hand (not fitted) with HC5 in view: non-weight-bearing exercise does little for bone"),
    ),
    expressions=(
        Expression("afferent", "ex_load**n_aff/(ex_load**n_aff + K_aff**n_aff)", "1", "interoceptive afferent drive (PGE2 -> EP4 sensory nerves)"),
        Expression("exercise_drive", "neural_path*(w_aff*afferent + (1 - w_aff)*ex_central)", "1", "neural drive of today's exercise to the circuit"),
        Expression("load_signal", "mech_path*ex_load", "1", "exercise load reaching osteocytes"),
    ),
)
