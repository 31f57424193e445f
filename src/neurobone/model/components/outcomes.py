"""Outcomes: bone volume, BV/TV, aBMD, T-score, turnover markers, fracture risk.

Bone volume ``BV`` is relative to the young-adult reference (1). The fraction of bone
volume remodelled per day at homeostasis (``turnover``) converts the cell populations
into bone formed and resorbed: formation = turnover * OBa/OBa_ref, resorption =
turnover * OCa/OCa_ref, where OBa_ref and OCa_ref are the young-adult steady state
(homeostatic references computed at initialisation). aBMD at a site changes with the
remodelling share of the site (w_ls, w_th). T-score uses the femoral-neck reference of
white women aged 20-29 (Looker 1998); fracture risk uses the gradient of risk per SD
(Marshall 1996). Markers are proportional to formation (P1NP) and resorption (CTX).
Names follow the ASBMR nomenclature (Bouxsein 2010; Dempster 2013).
"""

from neurobone.model.components.refs import (
    ASSUMED,
    BTM_REF,
    GLATT2007,
    HEALTHY_TURNOVER,
    LOOKER1998,
    MARSHALL1996,
    PARFITT,
)
from neurobone.model.definition import Component, Expression, Parameter, State

SUBJECT = "subject baseline: set from the scenario's subject block"

COMPONENT = Component(
    name="outcomes",
    description="bone volume and measured outcomes",
    parameters=(
        Parameter("turnover", 0.02, "1/day", "fraction of bone volume remodelled per day at homeostasis", "set to 2 %/day (not fitted): cancellous bone formation rate per bone volume of young female C57BL/6J mice is ~1-2 %/day (BFR/BS x BS/BV); MC6 and HU1 constrain it with the estrogen and load gains", species="mouse", cv=0.2),
        Parameter("OBa_ref", 1.0, "pM", "active osteoblasts at young-adult homeostasis", "homeostatic reference: steady state of the young adult", reference_of="OBa"),
        Parameter("OCa_ref", 1.0, "pM", "active osteoclasts at young-adult homeostasis", "homeostatic reference: steady state of the young adult", reference_of="OCa"),
        Parameter("BV_start", 1.0, "1", "bone volume at the start of the scenario", SUBJECT),
        Parameter("bv_tv_ref", 9.0, "%", "trabecular BV/TV of the young-adult reference (distal femur, female C57BL/6J)", f"{GLATT2007}; female C57BL/6J distal femur 12-16 weeks; between-animal CV ~15 %", species="mouse", cv=0.15),
        Parameter("abmd_ls_base", 1.0, "g/cm2", "lumbar spine aBMD at the start", SUBJECT),
        Parameter("abmd_th_base", 0.94, "g/cm2", "total hip aBMD at the start", SUBJECT),
        Parameter("abmd_fn_base", 0.858, "g/cm2", "femoral neck aBMD at the start", SUBJECT),
        Parameter("w_ls", 0.9, "1", "share of lumbar spine aBMD that follows remodelled bone volume", f"{ASSUMED}: vertebral body mostly trabecular; calibrated with HC1"),
        Parameter("w_th", 0.5, "1", "share of hip aBMD that follows remodelled bone volume", f"{ASSUMED}: hip ~50 % trabecular/endocortical; calibrated with HC2"),
        Parameter("fn_young_mean", 0.858, "g/cm2", "femoral neck aBMD, white women 20-29", LOOKER1998),
        Parameter("fn_young_sd", 0.120, "g/cm2", "SD of femoral neck aBMD, white women 20-29", LOOKER1998),
        Parameter("rr_per_sd", 1.5, "1", "fracture relative risk per SD decrease in BMD (all fractures)", MARSHALL1996),
        Parameter("p1np_ref", 45.0, "ug/L", "serum P1NP at homeostasis", BTM_REF),
        Parameter("ctx_ref", 0.30, "ug/L", "serum CTX at homeostasis", BTM_REF),
    ),
    expressions=(
        Expression("bone_formation", "turnover*OBa/OBa_ref", "1/day", "bone formed per day (fraction of reference bone volume)"),
        Expression("bone_resorption", "turnover*OCa/OCa_ref", "1/day", "bone resorbed per day (fraction of reference bone volume)"),
        Expression("bv_tv", "bv_tv_ref*BV", "%", "trabecular bone volume fraction BV/TV"),
        Expression("BV_change", "BV/BV_start - 1", "1", "relative bone volume change since the start"),
        Expression("abmd_ls", "abmd_ls_base*(1 + w_ls*BV_change)", "g/cm2", "lumbar spine areal BMD (DXA)"),
        Expression("abmd_th", "abmd_th_base*(1 + w_th*BV_change)", "g/cm2", "total hip areal BMD (DXA)"),
        Expression("abmd_fn", "abmd_fn_base*(1 + w_th*BV_change)", "g/cm2", "femoral neck areal BMD (DXA)"),
        Expression("t_score", "(abmd_fn - fn_young_mean)/fn_young_sd", "SD", "femoral neck T-score"),
        Expression("fracture_rr", "rr_per_sd**(-t_score)", "1", "fracture risk relative to a young-adult woman at the reference mean"),
        Expression("formation_rate", "36500*bone_formation", "%/year", "bone formation rate (percent of reference bone volume per year)"),
        Expression("resorption_rate", "36500*bone_resorption", "%/year", "bone resorption rate (percent of reference bone volume per year)"),
        Expression("p1np", "p1np_ref*OBa/OBa_ref", "ug/L", "procollagen type 1 N-propeptide (formation marker)"),
        Expression("ctx", "ctx_ref*OCa/OCa_ref", "ug/L", "C-terminal telopeptide (resorption marker)"),
    ),
    state_overrides=(
        State("BV", 1.0, "1", "bone volume relative to the young-adult reference",
              rate="bone_formation - bone_resorption", scale=1.0, steady=True),
    ),
)

HUMAN = (
    Parameter("turnover", 0.0003024, "1/day", "fraction of bone volume remodelled per day at homeostasis", f"calibrated: HC1, HC2, HT1 (11 %/year; adult trabecular turnover ~25 %/year, lower at the hip: {PARFITT}; {HEALTHY_TURNOVER})", species="human", cv=0.25),
    Parameter("bv_tv_ref", 15.0, "%", "trabecular BV/TV of the young-adult reference (lumbar vertebra)", "young-adult vertebral trabecular BV/TV ~15 % (Mosekilde 1988, Bone 9:247)", species="human"),
    Parameter("p1np_ref", 45.0, "ug/L", "serum P1NP at homeostasis", BTM_REF, species="human"),
)
