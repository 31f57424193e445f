"""How mechanics, the autonomic system, estrogen, age and each species' kinetics modify
the Pivonka bone-cell core of each region.

The core declares neutral hooks (``mod_* = 1``); each region's instance has its own
(``mod_OBu_diff_ax``, ...), redefined here. Each factor is 1 at homeostasis, so with all
inputs neutral and the rate scales at 1 the core is Pivonka 2008 exactly. Power laws
keep the factors positive and smooth.

- osteoblast precursor supply (OBu -> OBp): up when the region's sclerostin falls (Wnt),
  down with the adrenergic action (Takeda 2002) and with age (fewer osteoblast
  progenitors, Manolagas 2000);
- RANKL supply: up with the region's sclerostin (osteocyte RANKL), the adrenergic action
  (Elefteriou 2005) and estrogen deficiency (Eghbali-Fatourechi 2003);
- OPG production: down with estrogen deficiency (Hofbauer 1999);
- osteoclast apoptosis: down with estrogen deficiency (Nakamura 2007);
- every differentiation and apoptosis rate of a lineage scaled by the species' rate
  scale (``s_OB``, ``s_OC``: :data:`neurobone.model.components.skeleton.KINETICS`).
"""

from neurobone.model.components.exercise import REGIONS
from neurobone.model.components.refs import (
    ASSUMED,
    EGHBALI2003,
    ELEFTERIOU2005,
    HALLORAN2002,
    HOFBAUER1999,
    HOLGUIN2014,
    LI2008,
    MANOLAGAS2000,
    NAKAMURA2007,
    TAKEDA2002,
    WIJENAYAKA2011,
)
from neurobone.model.definition import Component, Expression, Parameter


def _overrides(r: str) -> tuple[Expression, ...]:
    return (
        Expression(f"mod_OBu_diff_{r}",
                   f"s_OB*sclerostin_{r}**(-gamma_W)*adrenergic**(-gamma_AP)*ageing_OB", "1",
                   f"modifier of OBu -> OBp differentiation at the {r} region"),
        Expression(f"mod_OBp_diff_{r}", "s_OB", "1",
                   f"modifier of OBp -> OBa differentiation at the {r} region"),
        Expression(f"mod_OBa_apop_{r}", "s_OB", "1",
                   f"modifier of OBa apoptosis at the {r} region"),
        Expression(f"mod_OCp_diff_{r}", "s_OC", "1",
                   f"modifier of OCp -> OCa differentiation at the {r} region"),
        Expression(f"mod_OCa_apop_{r}", "s_OC/(1 + a_E_A*E2_deficit)", "1",
                   f"modifier of OCa apoptosis at the {r} region"),
        Expression(f"mod_RANKL_{r}",
                   f"sclerostin_{r}**gamma_SL*adrenergic**gamma_AL*(1 + a_E_L*E2_deficit)", "1",
                   f"modifier of RANKL supply at the {r} region"),
        Expression(f"mod_OPG_{r}", "1/(1 + a_E_O*E2_deficit)", "1",
                   f"modifier of OPG production at the {r} region"),
    )


COMPONENT = Component(
    name="coupling",
    description="modifiers of each region's Pivonka core from "
                "mechanics, SNS, estrogen, age and kinetics",
    parameters=(
        Parameter("gamma_W", 1.0, "1", "exponent of precursor supply on 1/sclerostin (Wnt)",
                  f"{ASSUMED}: 1 (the gain g_scl carries the calibration); {LI2008}"),
        Parameter("gamma_SL", 0.5, "1", "exponent of RANKL supply on sclerostin",
                  f"{ASSUMED}: 0.5, half the Wnt exponent; {WIJENAYAKA2011}"),
        Parameter("gamma_AP", 1.0, "1", "exponent of precursor supply on 1/adrenergic action",
                  f"{ASSUMED}: 1 (the gain g_T carries the calibration); {TAKEDA2002}"),
        Parameter("gamma_AL", 1.0, "1", "exponent of RANKL supply on the adrenergic action",
                  f"{ASSUMED}: 1; {ELEFTERIOU2005}"),
        Parameter("a_E_L", 6.8, "1", "rise in RANKL supply per unit estrogen deficiency",
                  "calibrated (pipeline, both species: one gain): "
                  f"MC6, E04, HC1, E11 ({EGHBALI2003})", cv=0.25),
        Parameter("a_E_O", 0.5, "1", "fall in OPG production per unit estrogen deficiency",
                  f"{ASSUMED}: 0.5 (a_E_L carries the calibration); {HOFBAUER1999}"),
        Parameter("a_E_A", 0.5, "1", "fall in osteoclast apoptosis per unit estrogen deficiency",
                  f"{ASSUMED}: 0.5 (a_E_L carries the calibration); {NAKAMURA2007}"),
        Parameter("a_OB", 0.0, "1/day",
                  "fall in log osteoblast precursor supply per day of age above the reference",
                  f"calibrated: mouse ageing rows ({HOLGUIN2014}; {HALLORAN2002})",
                  species="mouse"),
    ),
    expressions=(
        Expression("ageing_OB", "exp(-a_OB*(age - age_ref))", "1",
                   f"age factor on osteoblast precursor supply ({MANOLAGAS2000})"),
    ),
    overrides=tuple(e for r in REGIONS for e in _overrides(r)),
)

HUMAN = (
    Parameter("a_OB", 0.0, "1/day", "fall in log osteoblast precursor supply per day of age",
              "calibrated: human ageing rows", species="human"),
)
