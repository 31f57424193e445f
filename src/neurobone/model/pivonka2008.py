"""Pivonka et al. 2008: bone cell population model with TGF-beta, RANKL-RANK-OPG and PTH.

Pivonka P, Zimak J, Smith DW, Gardiner BS, Dunstan CR, Sims NA, Martin TJ, Mundy GR.
Model structure and control of bone remodeling: a theoretical study. Bone 2008;43:249-263.
doi:10.1016/j.bone.2008.03.025.

States (paper symbols): OBp osteoblast precursors, OBa active osteoblasts, OCa active
osteoclasts, plus the bone-volume accumulator BV. Uncommitted osteoblasts (OBu) and
osteoclast precursors (OCp) are constant and absorbed into the differentiation fluxes
D_OBu and D_OCp (pM/day), as in the paper. TGF-beta, PTH, OPG and RANKL are in
quasi-steady state. External administrations: I_P (PTH), I_O (OPG), I_L (RANKL), pM/day.

Which osteoblasts express RANKL and OPG is the paper's "model structure": RANKL
capacity per cell R1_RANKL (on OBp) and R2_RANKL (on OBa), OPG production per cell
beta1_OPG (OBp) and beta2_OPG (OBa). The default is the paper's reference structure,
RANKL on precursors and OPG on active osteoblasts (R2_RANKL = beta1_OPG = 0).

Parameter values: published reproductions note that several values printed in the
paper's Table 2 differ from the authors' code (beta_RANKL, the OBp differentiation rate
with its factor f0, the OPG production rate). We use the code values (see each
parameter's ``source`` and docs/published-models.md, "Value choices"). With them the
steady state is OBp = 6.19639e-4, OBa = 5.58393e-4, OCa = 8.06964e-4 pM.

Neutral coupling hooks. Expressions ``mod_*`` are the constant 1 here; the brain-bone
model redefines them (``Component.overrides``). Each multiplies one flux:
mod_OBu_diff (OBu -> OBp), mod_OBp_diff (OBp -> OBa), mod_OBa_apop (OBa apoptosis),
mod_OCp_diff (OCp -> OCa), mod_OCa_apop (OCa apoptosis), mod_RANKL (total RANKL supply:
per-cell capacity and intrinsic production), mod_OPG (OPG production per cell).
"""

from neurobone.model.definition import Component, Expression, Parameter, State, compose

CITATION = (
    "Pivonka P, Zimak J, Smith DW, Gardiner BS, Dunstan CR, Sims NA, Martin TJ, Mundy GR "
    "(2008) Model structure and control of bone remodeling: a theoretical study. "
    "Bone 43:249-263. doi:10.1016/j.bone.2008.03.025"
)

T2 = "Pivonka et al. 2008, Bone 43:249, Table 2"
BM = "bone_models reproduction (Modiz 2025, github.com/cmodiz/Bone-Models)"
CODE = f"unrounded value of the authors' code as used by the {BM}"

#: reference steady state (pM) of the authors' code parameter set (the initial state of the
#: bone_models reproduction, github.com/cmodiz/Bone-Models, models/pivonka_model.py); the
#: paper itself plots it but no table of it was available to us (docs/published-models.md).
STEADY_STATE = {
    "OBp": 6.196390627918603e-4,
    "OBa": 5.583931899482344e-4,
    "OCa": 8.069635262731931e-4,
}

#: bone resorbed per active osteoclast (percent of initial bone volume per pM OCa per day)
K_RES = 200.0
#: bone formed per active osteoblast, chosen so formation = resorption at the steady state
K_FORM = K_RES * STEADY_STATE["OCa"] / STEADY_STATE["OBa"]
#: TGF-beta stored per percent of bone volume; alpha*k_res = 1/day as in the authors' code
ALPHA = 1.0 / K_RES


def _p(name, value, unit, description, source=T2):
    return Parameter(name, value, unit, description, source, species="any")


def _hook(name, what):
    return Expression(name, "1", "1", f"coupling hook (neutral = 1): multiplies {what}")


PARAMETERS = (
    # --- cell differentiation and apoptosis
    _p("D_OBu", 7.0e-4, "pM/day",
       "differentiation flux of uncommitted osteoblasts (OBu constant, absorbed)"),
    _p("D_OBp", 2.674077909527713e-1, "1/day", "differentiation rate of osteoblast precursors",
       f"{T2} as reported by the {BM}: printed 5.348 1/day, while the authors' code "
       "multiplies it by f0 = 0.05 (Lemaire 2004); 0.2674077909527713 is the code value"),
    _p("A_OBa", 1.89e-1, "1/day", "apoptosis rate of active osteoblasts"),
    _p("D_OCp", 2.1e-3, "pM/day",
       "differentiation flux of osteoclast precursors (OCp constant, absorbed)"),
    _p("A_OCa", 7.0e-1, "1/day", "apoptosis rate of active osteoclasts"),
    # --- TGF-beta (released from resorbed matrix)
    _p("K_D1_TGFb", 4.545454545454545e-3, "pM",
       "activation coefficient of TGF-beta on OBu differentiation",
       f"{T2} symbol K_D1,TGFb; {CODE}"),
    _p("K_D2_TGFb", 1.415624253823446e-3, "pM",
       "repression coefficient of TGF-beta on OBp differentiation",
       f"{T2} symbol K_D2,TGFb; {CODE}"),
    _p("K_D3_TGFb", 4.545454545454545e-3, "pM",
       "activation coefficient of TGF-beta on OCa apoptosis",
       f"{T2} symbol K_D3,TGFb; {CODE}"),
    _p("alpha", ALPHA, "pM/%",
       "TGF-beta stored in the bone matrix per percent of bone volume resorbed",
       "chosen so that alpha*k_res = 1/day, the authors' code value of alpha*k_res "
       "(alpha = 1, k_res = 1 there); rescaled because k_res here sets BV in percent"),
    _p("D_TGFb", 1.0, "1/day", "degradation rate of TGF-beta", f"{T2}; {CODE}"),
    # --- PTH
    _p("beta_PTH", 250.0, "pM/day", "intrinsic (systemic) production of PTH",
       f"{T2} (S_P of Lemaire 2004)"),
    _p("D_PTH", 86.0, "1/day", "degradation rate of PTH", f"{T2} (k_P of Lemaire 2004)"),
    _p("K_D4_PTH", 1.5e2, "pM", "activation coefficient of PTH on RANKL expression by OBp"),
    _p("K_D5_PTH", 1.5e2, "pM", "activation coefficient of PTH on RANKL expression by OBa"),
    _p("K_D6_PTH", 2.225814277099542e-1, "pM",
       "repression coefficient of PTH on OPG production by OBp",
       f"{T2} symbol K_D6,PTH; {CODE}"),
    _p("K_D7_PTH", 2.225814277099542e-1, "pM",
       "repression coefficient of PTH on OPG production by OBa",
       f"{T2} symbol K_D7,PTH; {CODE}"),
    # --- OPG
    _p("beta1_OPG", 0.0, "1/day",
       "OPG production per OBp (0: OPG expressed on OBa only, the paper's reference structure)",
       f"{T2} model structure (Table 1): OPG on active osteoblasts"),
    _p("beta2_OPG", 1.624900337835679e8, "1/day", "OPG production per OBa",
       f"{CODE}; that reproduction notes Table 2 prints a different value"),
    _p("OPG_max", 2.0e8, "pM", "maximum OPG concentration"),
    _p("D_OPG", 3.5e-1, "1/day", "degradation rate of OPG", f"{T2} (k_O of Lemaire 2004)"),
    # --- RANKL
    _p("R1_RANKL", 2.703476379131062e6, "1",
       "maximum RANKL per OBp (RANKL on precursors: the paper's reference structure)",
       f"{T2} symbol R^RANKL; the {BM} lists 3e6 (K_LP of Lemaire 2004) for Pivonka "
       "and 2.703476379131062e6 for the same code's Scheiner 2013 model; only the latter "
       "reproduces the reference steady state (3e6 shifts it by 1.5%)"),
    _p("R2_RANKL", 0.0, "1",
       "maximum RANKL per OBa (0: RANKL expressed on OBp only)",
       f"{T2} model structure (Table 1): RANKL on osteoblast precursors"),
    _p("beta_RANKL", 1.684195714712206e2, "pM/day", "intrinsic production rate of RANKL",
       f"{CODE}; that reproduction notes Table 2 prints 1.684e4, which doubles OCa at "
       "steady state"),
    _p("D_RANKL", 1.0132471014805027e1, "1/day", "degradation rate of RANKL",
       f"{T2} symbol D_RANKL; {CODE}"),
    _p("K_A1_RANKL", 1.0e-3, "1/pM", "association constant of RANKL-OPG binding",
       f"{T2} (k1/k2 of Lemaire 2004)"),
    _p("K_A2_RANKL", 3.411764705882353e-2, "1/pM", "association constant of RANKL-RANK binding",
       f"{T2} (k3/k4 of Lemaire 2004)"),
    _p("RANK", 10.0, "pM", "RANK concentration on osteoclast precursors (constant)"),
    _p("K_D8_RANKL", 1.3064947870014189e1, "pM",
       "activation coefficient of RANKL on OCp differentiation",
       f"{T2} symbol K_D8,RANKL, paper form RANKL/(K_D8 + RANKL) (also the Physiome CellML "
       f"encoding); the {BM} lists 13.06 pM and, earlier, 4.457452802710724 pM acting on the "
       "RANKL-RANK complex: the same activation when K_D8 = 4.457452802710724/(K_A2*RANK)"),
    # --- bone volume
    _p("k_res", K_RES, "%/(pM*day)", "bone volume resorbed per active osteoclast",
       "Scheiner, Pivonka & Hellmich 2013, CMAME 254:181 (k_res = 200 %/(pM day), as in "
       f"the {BM}); BV in percent of the initial volume"),
    _p("k_form", K_FORM, "%/(pM*day)", "bone volume formed per active osteoblast",
       "balance at the reference steady state: k_form = k_res*OCa*/OBa*; the Physiome "
       "CellML encoding of Pivonka 2008 writes dBV/dt = k_form*(OBa - OBa*) - "
       "k_res*(OCa - OCa*), the same balance"),
    # --- administrations
    _p("I_P", 0.0, "pM/day", "rate of PTH administration (P_PTH,d)"),
    _p("I_O", 0.0, "pM/day", "rate of OPG administration (P_OPG,d)"),
    _p("I_L", 0.0, "pM/day", "rate of RANKL administration (P_RANKL,d)"),
)

EXPRESSIONS = (
    # neutral coupling hooks (overridden by the brain-bone model)
    _hook("mod_OBu_diff", "the OBu -> OBp differentiation flux"),
    _hook("mod_OBp_diff", "the OBp -> OBa differentiation flux"),
    _hook("mod_OBa_apop", "the OBa apoptosis rate"),
    _hook("mod_OCp_diff", "the OCp -> OCa differentiation flux"),
    _hook("mod_OCa_apop", "the OCa apoptosis rate"),
    _hook("mod_RANKL", "RANKL supply (per-cell capacity and intrinsic production)"),
    _hook("mod_OPG", "OPG production per cell"),
    # bone turnover
    Expression("resorption", "k_res*OCa", "%/day", "bone volume resorbed per day"),
    Expression("formation", "k_form*OBa", "%/day", "bone volume formed per day"),
    # TGF-beta
    Expression("TGFb", "alpha*resorption/D_TGFb", "pM",
               "TGF-beta released from resorbed matrix"),
    Expression("pi_act_OBu_TGFb", "TGFb/(K_D1_TGFb + TGFb)", "1",
               "TGF-beta activation of OBu differentiation"),
    Expression("pi_rep_OBp_TGFb", "1/(1 + TGFb/K_D2_TGFb)", "1",
               "TGF-beta repression of OBp differentiation"),
    Expression("pi_act_OCa_TGFb", "TGFb/(K_D3_TGFb + TGFb)", "1",
               "TGF-beta activation of OCa apoptosis"),
    # PTH
    Expression("PTH", "(beta_PTH + I_P)/D_PTH", "pM", "PTH concentration"),
    Expression("pi_act_OBp_PTH", "PTH/(K_D4_PTH + PTH)", "1", "PTH activation of RANKL on OBp"),
    Expression("pi_act_OBa_PTH", "PTH/(K_D5_PTH + PTH)", "1", "PTH activation of RANKL on OBa"),
    Expression("pi_rep_OBp_PTH", "1/(1 + PTH/K_D6_PTH)", "1", "PTH repression of OPG by OBp"),
    Expression("pi_rep_OBa_PTH", "1/(1 + PTH/K_D7_PTH)", "1", "PTH repression of OPG by OBa"),
    # OPG
    Expression("P_OPG", "(beta1_OPG*OBp*pi_rep_OBp_PTH + beta2_OPG*OBa*pi_rep_OBa_PTH)*mod_OPG",
               "pM/day", "endogenous OPG production by osteoblasts"),
    Expression("OPG", "(P_OPG + I_O)/(P_OPG/OPG_max + D_OPG)", "pM",
               "OPG concentration (quasi-steady state)"),
    # RANKL
    Expression("RANKL_eff",
               "(R1_RANKL*OBp*pi_act_OBp_PTH + R2_RANKL*OBa*pi_act_OBa_PTH)*mod_RANKL", "pM",
               "effective RANKL carrying capacity of osteoblasts"),
    Expression("beta_RANKL_eff", "beta_RANKL*mod_RANKL", "pM/day",
               "intrinsic RANKL production"),
    Expression("RANKL_tot",
               "RANKL_eff*(beta_RANKL_eff + I_L)/(beta_RANKL_eff + D_RANKL*RANKL_eff)", "pM",
               "total RANKL (free and bound to OPG and RANK)"),
    Expression("RANKL", "RANKL_tot/(1 + K_A1_RANKL*OPG + K_A2_RANKL*RANK)", "pM",
               "free RANKL concentration"),
    Expression("RANKL_RANK", "K_A2_RANKL*RANK*RANKL", "pM", "RANKL-RANK complex"),
    Expression("pi_act_OCp_RANKL", "RANKL/(K_D8_RANKL + RANKL)", "1",
               "RANKL activation of OCp differentiation"),
    # cell fluxes
    Expression("flux_OBu_OBp", "D_OBu*pi_act_OBu_TGFb*mod_OBu_diff", "pM/day",
               "OBu -> OBp differentiation"),
    Expression("flux_OBp_OBa", "D_OBp*pi_rep_OBp_TGFb*OBp*mod_OBp_diff", "pM/day",
               "OBp -> OBa differentiation"),
    Expression("apoptosis_OBa", "A_OBa*OBa*mod_OBa_apop", "pM/day", "OBa apoptosis"),
    Expression("flux_OCp_OCa", "D_OCp*pi_act_OCp_RANKL*mod_OCp_diff", "pM/day",
               "OCp -> OCa differentiation"),
    Expression("apoptosis_OCa", "A_OCa*pi_act_OCa_TGFb*OCa*mod_OCa_apop", "pM/day",
               "OCa apoptosis"),
)

STATES = (
    State("OBp", STEADY_STATE["OBp"], "pM", "osteoblast precursors",
          rate="flux_OBu_OBp - flux_OBp_OBa", scale=1e-3),
    State("OBa", STEADY_STATE["OBa"], "pM", "active osteoblasts",
          rate="flux_OBp_OBa - apoptosis_OBa", scale=1e-3),
    State("OCa", STEADY_STATE["OCa"], "pM", "active osteoclasts",
          rate="flux_OCp_OCa - apoptosis_OCa", scale=1e-3),
    State("BV", 100.0, "%", "bone volume, percent of the initial volume",
          rate="formation - resorption", scale=100.0, steady=False),
)

COMPONENT = Component(
    name="pivonka2008",
    description="bone cell populations OBp, OBa, OCa with TGF-beta, RANKL/RANK/OPG and PTH; "
                "bone volume BV",
    parameters=PARAMETERS,
    states=STATES,
    expressions=EXPRESSIONS,
)

MODEL = compose(
    "pivonka2008",
    [COMPONENT],
    description="Pivonka 2008 bone cell model: OBp, OBa, OCa, BV with TGF-beta, RANKL/OPG, PTH",
    citation=CITATION,
    outputs={
        "OBp": "OBp", "OBa": "OBa", "OCa": "OCa", "BV": "BV",
        "RANKL": "RANKL", "OPG": "OPG", "PTH": "PTH", "TGFb": "TGFb",
        "formation": "formation", "resorption": "resorption",
    },
)
