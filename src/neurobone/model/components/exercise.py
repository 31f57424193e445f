"""Exercise input: the day's sessions as a load at each skeletal region and a central drive.

The scenario layer (:mod:`neurobone.model.brainbone.dosing`) turns sessions into daily
inputs, set on exercise days only: ``ex_load_ax`` and ``ex_load_ap`` (osteogenic load
index above habitual loading at the axial and the appendicular region: how much a
modality loads the spine and the hip or hindlimb, ``data/modalities.csv``) and
``ex_central`` (central motor / aerobic command, 0-1). Two switches split an effect into
its paths: ``mech_path`` (the load reaches osteocytes) and ``neural_path`` (exercise
reaches the brain: the load through the skeletal afferents, the central command).
"""

from neurobone.model.definition import Component, Expression, Parameter

INPUT = "input: set per day by the scenario (neurobone.scenario)"
SWITCH = "switch for path decomposition"

#: the skeletal regions, each with its own bone-cell core, mechanostat and compartments
REGIONS = ("ax", "ap")
REGION_NAMES = {"ax": "axial (lumbar spine; mouse L5 vertebra)",
                "ap": "appendicular (proximal femur; mouse distal femur and tibia)"}


def _region(r: str) -> tuple[tuple[Parameter, ...], tuple[Expression, ...]]:
    where = REGION_NAMES[r]
    return (
        (Parameter(f"ex_load_{r}", 0.0, "1",
                   "osteogenic load index of the day's exercise above "
                   f"habitual at the {where} region", INPUT),),
        (Expression(f"load_signal_{r}", f"mech_path*ex_load_{r}", "1",
                    f"exercise load reaching osteocytes at the {where} region"),
         Expression(f"afferent_load_{r}", f"neural_path*ex_load_{r}", "1",
                    f"exercise load sensed by skeletal afferents at the {where} region")),
    )


_REGION_PARTS = [_region(r) for r in REGIONS]

COMPONENT = Component(
    name="exercise",
    description="exercise sessions -> regional loads and central drive",
    parameters=(
        Parameter("ex_central", 0.0, "1",
                  "central (motor/aerobic) drive of the day's exercise, 0-1", INPUT),
        Parameter("neural_path", 1.0, "1",
                  "1: exercise reaches the brain; 0: counterfactual with the neural path off",
                  SWITCH),
        Parameter("mech_path", 1.0, "1",
                  "1: exercise load reaches osteocytes; 0: counterfactual "
                  "with the mechanical path off", SWITCH),
        *(p for ps, _ in _REGION_PARTS for p in ps),
    ),
    expressions=(
        Expression("central_drive", "neural_path*ex_central", "1",
                   "central command of today's exercise reaching the circuit"),
        *(e for _, es in _REGION_PARTS for e in es),
    ),
)
