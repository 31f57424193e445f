"""Lemaire et al. 2004: osteoblast-osteoclast interactions through RANK-RANKL-OPG and PTH.

Lemaire V, Tobin FL, Greller LD, Cho CR, Suva LJ. Modeling the interactions between
osteoblast and osteoclast activities in bone remodeling. J Theor Biol 2004;229:293-309.
doi:10.1016/j.jtbi.2004.03.023. BioModels BIOMD0000000278.

States, symbols and values as in the paper (Table 1): R responding osteoblasts (OBp),
B active osteoblasts (OBa), C active osteoclasts (OCa); inputs I_P (PTH), I_O (OPG),
I_L (RANKL) in pM/day. OPG (O) and RANKL (L) are in quasi-steady state.
"""

from neurobone.model.definition import Component, Expression, Parameter, State, compose

CITATION = (
    "Lemaire V, Tobin FL, Greller LD, Cho CR, Suva LJ (2004) J Theor Biol 229:293-309; "
    "BioModels BIOMD0000000278"
)
SRC = "Lemaire et al. 2004, J Theor Biol 229:293, Table 1"


def _p(name, value, unit, description, source=SRC):
    return Parameter(name, value, unit, description, source, species="any")


COMPONENT = Component(
    name="lemaire2004",
    description="bone cell populations R, B, C with RANKL/OPG/PTH control",
    parameters=(
        _p("D_R", 7e-4, "pM/day", "differentiation rate of osteoblast progenitors"),
        _p("d_B", 0.7, "1/day", "differentiation rate of responding osteoblasts"),
        _p("f0", 0.05, "1", "fixed proportion (TGF-beta regulation)"),
        _p("D_C", 2.1e-3, "pM/day", "differentiation rate of osteoclast precursors"),
        _p("D_A", 0.7, "1/day", "rate of osteoclast apoptosis caused by TGF-beta"),
        _p("k_B", 0.189, "1/day", "rate of elimination of active osteoblasts"),
        _p("C_s", 5e-3, "pM", "value of C to get half differentiation flux"),
        _p("K", 10.0, "pM", "fixed concentration of RANK"),
        _p("k1", 1e-2, "1/(pM*day)", "rate of OPG-RANKL binding"),
        _p("k2", 10.0, "1/day", "rate of OPG-RANKL unbinding"),
        _p("k3", 5.8e-4, "1/(pM*day)", "rate of RANK-RANKL binding"),
        _p("k4", 1.7e-2, "1/day", "rate of RANK-RANKL unbinding"),
        _p("k5", 0.02, "1/(pM*day)", "rate of PTH binding with its receptor"),
        _p("k6", 3.0, "1/day", "rate of PTH unbinding"),
        _p("K_OP", 2e5, "(pM/day)/pM", "minimal rate of OPG production per cell"),
        _p("k_O", 0.35, "1/day", "rate of elimination of OPG"),
        _p("K_LP", 3e6, "pM/pM", "maximum number of RANKL attached on each cell surface"),
        _p("r_L", 1e3, "pM/day", "rate of RANKL production and elimination"),
        _p("S_P", 250.0, "pM/day", "rate of synthesis of systemic PTH"),
        _p("k_P", 86.0, "1/day", "rate of elimination of PTH"),
        _p("I_P", 0.0, "pM/day", "rate of administration of PTH"),
        _p("I_O", 0.0, "pM/day", "rate of administration of OPG"),
        _p("I_L", 0.0, "pM/day", "rate of administration of RANKL"),
    ),
    states=(
        State("R", 7.734e-4, "pM", "responding osteoblasts (OBp)",
              rate="D_R*pi_C - D_B/pi_C*R", scale=1e-3),
        State("B", 7.282e-4, "pM", "active osteoblasts (OBa)",
              rate="D_B/pi_C*R - k_B*B", scale=1e-3),
        State("C", 9.127e-4, "pM", "active osteoclasts (OCa)",
              rate="D_C*pi_L - D_A*pi_C*C", scale=1e-3),
    ),
    expressions=(
        Expression("D_B", "f0*d_B", "1/day", "effective differentiation rate of R"),
        Expression("P_0", "S_P/k_P", "pM", "endogenous PTH concentration"),
        Expression("P_s", "k6/k5", "pM", "PTH receptor dissociation constant"),
        Expression("P", "I_P/k_P + P_0", "pM", "PTH concentration"),
        Expression("pi_P", "P/(P - P_0 + P_s)", "1",
                   "PTH receptor occupancy, (I_P/k_P + P_0)/(I_P/k_P + P_s)"),
        Expression("pi_C", "(C + f0*C_s)/(C + C_s)", "1", "TGF-beta occupancy from resorption"),
        Expression("O", "(K_OP/pi_P*R + I_O)/k_O", "pM", "OPG concentration"),
        Expression("L", "K_LP*pi_P*B*(1 + I_L/r_L)/(1 + k3*K/k4 + k1*O/k2)", "pM",
                   "RANKL concentration"),
        Expression("pi_L", "k3/k4*L", "1", "RANK occupancy term driving osteoclastogenesis"),
    ),
)

MODEL = compose(
    "lemaire2004",
    [COMPONENT],
    description="Lemaire 2004 bone cell model: R, B, C with RANKL/OPG/PTH (BIOMD0000000278)",
    citation=CITATION,
    outputs={"R": "R", "B": "B", "C": "C", "OPG": "O", "RANKL": "L", "PTH": "P",
             "pi_C": "pi_C", "pi_P": "pi_P", "pi_L": "pi_L"},
)
