"""Skeletal interoception: the PGE2 -> EP4 sensory signal from bone to the hypothalamus.

Osteoblastic cells release PGE2 that excites EP4 receptors on skeletal sensory nerves;
the signal reaches the hypothalamus, which lowers sympathetic outflow to bone (Chen
2019). It is present at rest. Bone PGE2 rises with weight bearing and falls under tail
suspension (Gao 2024), and rises when bone density falls (Chen 2019): at each region it
is modelled as the day's mechanical stimulus per unit of the region's bone, 1 in a
sedentary young adult. The part exercise adds (``afferent_exercise``) is what drives
the circuit's plasticity; the whole signal is what the circuit relays. The afferent
signal is the mean over the two regions, removed by sensory denervation or EP4 deletion
(Hu 2020 gives a protocol: ``kind: sensory_denervation``).
"""

from neurobone.model.components.exercise import REGIONS
from neurobone.model.components.refs import ASSUMED, CHEN2019, GAO2024, HU2020
from neurobone.model.definition import Component, Expression, Parameter

COMPONENT = Component(
    name="interoception",
    description="PGE2/EP4 skeletal afferent signal, at rest and with loading",
    parameters=(
        Parameter("sensory_denervation", 0.0, "1",
                  "fraction of the skeletal afferent (PGE2/EP4) signal "
                  "removed (sensory denervation, EP4 deletion)",
                  f"input: set by the sensory_denervation intervention ({HU2020})"),
    ),
    expressions=(
        *(Expression(f"pge2_{r}", f"afferent_stimulus_{r}/bone_{r}", "1",
                     f"bone PGE2 signal at the {r} region relative to a sedentary "
                     "young adult (up with load, up as bone falls)")
          for r in REGIONS),
        Expression("afferent",
                   "(1 - sensory_denervation)*(" + " + ".join(f"pge2_{r}" for r in REGIONS)
                   + f")/{len(REGIONS)}", "1",
                   "skeletal afferent signal reaching the hypothalamus "
                   f"(1 at rest; {CHEN2019}; {GAO2024}; regions weighted equally: {ASSUMED})"),
        Expression("afferent_exercise",
                   "(1 - sensory_denervation)*("
                   + " + ".join(f"afferent_load_{r}/(L_hab*bone_{r})" for r in REGIONS)
                   + f")/{len(REGIONS)}", "1",
                   "the part of the afferent signal that exercise loading "
                   "adds (0 at rest; drives circuit plasticity)"),
    ),
)
