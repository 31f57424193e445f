"""Outcomes: micro-CT measures (mice), DXA aBMD and T-scores (humans), turnover markers.

Mice: trabecular BV/TV of the distal femur (appendicular region) and of the L5
vertebra (axial region), and cortical thickness at the femoral midshaft (cortical
volume at a constant periosteal envelope).

Humans: areal BMD at a site follows the bone mineral content of the region's
compartments, weighted by the site's trabecular share of mineral (``phi_ls``,
``phi_th``, ``phi_fn``) and normalised to the young-adult reference; a subject's baseline
scan, when given, anchors it. T-scores use the young white women's reference of each
site (femoral neck: NHANES III, Looker 1998; lumbar spine: see ``ls_young_mean``).
``fracture_rr`` is the hip-fracture risk relative to a woman at the young-adult mean
(Marshall 1996: 2.6 per SD of hip BMD). Markers follow formation (P1NP) and resorption
(CTX) summed over the skeleton. Names follow the ASBMR nomenclature (Bouxsein 2010;
Dempster 2013).
"""

from neurobone.model.components.exercise import REGIONS
from neurobone.model.components.refs import (
    ASSUMED,
    BTM_REF,
    GLATT2007,
    HALLORAN2002,
    LOOKER1998,
    MARSHALL1996,
)
from neurobone.model.definition import Component, Expression, Parameter

SUBJECT = "subject baseline: set from the scenario's subject block"
#: DXA sites: (output, region, composition parameter, description)
SITES = (
    ("ls", "ax", "lumbar spine"),
    ("th", "ap", "total hip"),
    ("fn", "ap", "femoral neck"),
)


def _bmc(site: str, region: str) -> str:
    phi = f"phi_{site}"
    return (f"({phi}*bmctb_{region}/mtb_ref + (1 - {phi})*bmcct_{region}/mct_ref)")


COMPONENT = Component(
    name="outcomes",
    description="micro-CT measures, DXA aBMD, T-scores, turnover markers",
    parameters=(
        Parameter("mtb_ref", 1.0, "1", "trabecular mineralisation of the young-adult reference",
                  "homeostatic reference: steady state of the young adult", reference_of="mtb_ax"),
        Parameter("mct_ref", 1.0, "1", "cortical mineralisation of the young-adult reference",
                  "homeostatic reference: steady state of the young adult", reference_of="mct_ax"),
        Parameter("bv_tv_ref", 9.0, "%",
                  "trabecular BV/TV of the young-adult reference (distal femur, female C57BL/6J)",
                  f"{GLATT2007}; female C57BL/6J distal femur 12-16 weeks; between-animal CV ~15 %",
                  species="mouse", cv=0.15),
        Parameter("bv_tv_spine_ref", 20.0, "%",
                  "trabecular BV/TV of the young-adult reference (L5 vertebral body)",
                  f"{GLATT2007}: vertebral BV/TV about twice the distal "
                  "femur's in young female C57BL/6J", species="mouse"),
        Parameter("ct_th_ref", 0.18, "mm",
                  "femoral midshaft cortical thickness of the young-adult reference",
                  f"{GLATT2007}; {HALLORAN2002}: about 0.2 mm in young adult C57BL/6J",
                  species="mouse"),
        Parameter("abmd_ls_base", 1.047, "g/cm2",
                  "lumbar spine aBMD at the start (default: the young-adult mean)", SUBJECT),
        Parameter("abmd_th_base", 0.94, "g/cm2", "total hip aBMD at the start", SUBJECT),
        Parameter("abmd_fn_base", 0.858, "g/cm2", "femoral neck aBMD at the start", SUBJECT),
        Parameter("bmc_ls_start", 1.0, "1", "lumbar spine mineral index at the start", SUBJECT),
        Parameter("bmc_th_start", 1.0, "1", "total hip mineral index at the start", SUBJECT),
        Parameter("bmc_fn_start", 1.0, "1", "femoral neck mineral index at the start", SUBJECT),
        Parameter("phi_ls", 0.5, "1", "trabecular share of lumbar spine DXA mineral",
                  f"{ASSUMED}: the AP projection adds the mostly cortical "
                  "posterior elements to the trabecular body"),
        Parameter("phi_th", 0.3, "1", "trabecular share of total hip DXA mineral",
                  f"{ASSUMED}: trochanter and neck mostly cortical"),
        Parameter("phi_fn", 0.25, "1", "trabecular share of femoral neck DXA mineral",
                  f"{ASSUMED}: the neck is mostly cortical"),
        Parameter("fn_young_mean", 0.858, "g/cm2", "femoral neck aBMD, white women 20-29",
                  LOOKER1998),
        Parameter("fn_young_sd", 0.120, "g/cm2", "SD of femoral neck aBMD, white women 20-29",
                  LOOKER1998),
        Parameter("ls_young_mean", 1.047, "g/cm2", "lumbar spine (L1-L4) aBMD, young white women",
                  f"{ASSUMED}: the Hologic young-adult female reference "
                  "commonly used for spine T-scores"),
        Parameter("ls_young_sd", 0.110, "g/cm2", "SD of lumbar spine aBMD, young white women",
                  f"{ASSUMED}: as ls_young_mean"),
        Parameter("rr_per_sd", 2.6, "1", "hip fracture relative risk per SD decrease in hip BMD",
                  MARSHALL1996),
        Parameter("p1np_ref", 45.0, "ug/L", "serum P1NP at homeostasis", BTM_REF),
        Parameter("ctx_ref", 0.30, "ug/L", "serum CTX at homeostasis", BTM_REF),
    ),
    expressions=(
        Expression("bv_tv", "bv_tv_ref*Vtb_ap", "%",
                   "trabecular BV/TV, distal femur (mouse) / proximal femur (human)"),
        Expression("bv_tv_spine", "bv_tv_spine_ref*Vtb_ax", "%",
                   "trabecular BV/TV, L5 vertebra (mouse) / lumbar vertebra (human)"),
        Expression("ct_th", "ct_th_ref*Vct_ap", "mm", "cortical thickness, femoral midshaft"),
        Expression("tmd_tb", "mtb_ap/mtb_ref", "1",
                   "trabecular tissue mineral density relative to the young adult"),
        *(Expression(f"bmc_{s}", _bmc(s, r), "1",
                     f"{what} mineral index (1 at the young-adult reference)")
          for s, r, what in SITES),
        *(Expression(f"abmd_{s}", f"abmd_{s}_base*bmc_{s}/bmc_{s}_start", "g/cm2",
                     f"{what} areal BMD (DXA)")
          for s, r, what in SITES),
        Expression("t_score", "(abmd_fn - fn_young_mean)/fn_young_sd", "SD",
                   "femoral neck T-score"),
        Expression("t_score_spine", "(abmd_ls - ls_young_mean)/ls_young_sd", "SD",
                   "lumbar spine T-score"),
        Expression("fracture_rr", "rr_per_sd**(-t_score)", "1",
                   "hip fracture risk relative to a woman at the young-adult femoral-neck mean"),
        Expression("bone_formation",
                   "(" + " + ".join(f"f_{r}" for r in REGIONS) + f")/{len(REGIONS)}", "1",
                   "skeletal formation relative to the young adult"),
        Expression("bone_resorption",
                   "(" + " + ".join(f"q_{r}" for r in REGIONS) + f")/{len(REGIONS)}", "1",
                   "skeletal resorption relative to the young adult"),
        Expression("p1np", "p1np_ref*bone_formation", "ug/L",
                   "procollagen type 1 N-propeptide (formation marker)"),
        Expression("ctx", "ctx_ref*bone_resorption", "ug/L",
                   "C-terminal telopeptide (resorption marker)"),
    ),
)

HUMAN = (
    Parameter("bv_tv_ref", 15.0, "%",
              "trabecular BV/TV of the young-adult reference (proximal femur)",
              f"{ASSUMED}: about as the lumbar vertebra's", species="human"),
    Parameter("bv_tv_spine_ref", 15.0, "%",
              "trabecular BV/TV of the young-adult reference (lumbar vertebra)",
              "young-adult vertebral trabecular BV/TV ~15 % (Mosekilde 1988, Bone 9:247)",
              species="human"),
    Parameter("ct_th_ref", 5.0, "mm", "femoral shaft cortical thickness of the young adult",
              f"{ASSUMED}: order of magnitude", species="human"),
)
