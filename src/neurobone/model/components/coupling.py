"""How mechanics, the autonomic system and estrogen modify the Pivonka bone-cell core.

The core declares neutral hooks (``mod_* = 1``); this component redefines them. Each
factor is 1 at homeostasis, so with all inputs neutral the core is Pivonka 2008
exactly. Power laws keep the factors positive and smooth.

- osteoblast precursor supply (OBu -> OBp): up when sclerostin falls (Wnt), down with
  beta-adrenergic signalling (Takeda 2002) and age;
- RANKL supply: up with sclerostin (osteocyte RANKL), adrenergic signalling
  (Elefteriou 2005) and estrogen deficiency;
- OPG production: down with estrogen deficiency;
- osteoclast apoptosis: down with estrogen deficiency.
"""

from neurobone.model.components.refs import (
    ASSUMED,
    ELEFTERIOU2005,
    LI2008,
    TAKEDA2002,
    WIJENAYAKA2011,
)
from neurobone.model.definition import Component, Expression, Parameter

COMPONENT = Component(
    name="coupling",
    description="modifiers of the Pivonka core from mechanics, SNS and estrogen",
    parameters=(
        Parameter("gamma_W", 1.0, "1", "exponent of precursor supply on 1/sclerostin (Wnt)", f"{ASSUMED}: 1 (the gain g_scl carries the calibration); {LI2008}"),
        Parameter("gamma_SL", 0.5, "1", "exponent of RANKL supply on sclerostin", f"{ASSUMED}: 0.5, half the Wnt exponent; {WIJENAYAKA2011}"),
        Parameter("gamma_AP", 1.0, "1", "exponent of precursor supply on 1/adrenergic signal", f"{ASSUMED}: 1 (the gain g_T carries the calibration); {TAKEDA2002}"),
        Parameter("gamma_AL", 1.0, "1", "exponent of RANKL supply on the adrenergic signal", f"{ASSUMED}: 1; {ELEFTERIOU2005}"),
        Parameter("K_adr", 1.0, "1", "adrenergic signal at which its action is half-saturated (bounds the effect of full beta blockade)", f"{ASSUMED}: receptor signalling saturates; full blockade at most doubles precursor supply"),
    ),
    expressions=(
        Expression("adrenergic_action", "(adrenergic + K_adr)/(1 + K_adr)", "1", "saturating beta-adrenergic action on osteoblasts (1 at reference)"),
    ),
    overrides=(
        Expression("mod_OBu_diff", "sclerostin_rel**(-gamma_W)*adrenergic_action**(-gamma_AP)*ageing_OB", "1", "modifier of OBu -> OBp differentiation"),
        Expression("mod_RANKL", "sclerostin_rel**gamma_SL*adrenergic_action**gamma_AL*(1 + a_E_L*E2_deficit)", "1", "modifier of RANKL supply"),
        Expression("mod_OPG", "1/(1 + a_E_O*E2_deficit)", "1", "modifier of OPG production"),
        Expression("mod_OCa_apop", "1/(1 + a_E_A*E2_deficit)", "1", "modifier of osteoclast apoptosis"),
    ),
)
