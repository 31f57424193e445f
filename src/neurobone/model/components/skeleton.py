"""Trabecular and cortical bone at each region, with primary and secondary mineralisation.

Each region has its own bone-cell core (Pivonka 2008, one instance per region) whose
active osteoblasts and osteoclasts, relative to the young-adult reference, give a
formation index ``f`` and a resorption index ``q``. Each compartment c (trabecular
``tb``, cortical ``ct``) of the region remodels a share ``k_c`` of its volume per day at
homeostasis (trabecular surfaces turn over several times faster than cortical ones),
so its volume follows

    dV_c/dt = k_c * V_c * (f - q)

and its mean mineralisation m_c (fraction of the maximum) follows bone formed at the
primary level ``m_prim`` (mineralised within days to about two thirds of the maximum)
and secondary mineralisation toward the maximum over months (Ruffoni 2007; Boivin &
Meunier 2003), resorption removing bone at the mean:

    dm_c/dt = k_c * f * (m_prim - m_c) + k_sec * (1 - m_c)

so a compartment that turns over faster is less mineralised (cortical bone is more
mineralised than trabecular, Lerebours 2020), and a fall in turnover raises mineral
density over months. Bone mineral content of a compartment is V_c * m_c; the region's
bone (for the strain feedback and the PGE2 signal) is its mass-weighted volume,
``phi`` trabecular. Drugs act through the same compartments (a later issue).
"""

from neurobone.model.components.exercise import REGIONS
from neurobone.model.components.refs import (
    ASSUMED,
    BOIVIN2003,
    ERIKSEN1986,
    LEREBOURS2020,
    MANOLAGAS2000,
    PARFITT,
    RUFFONI2007,
)
from neurobone.model.definition import Component, Expression, Parameter, State
from neurobone.units import DAYS_PER_YEAR

COMPARTMENTS = {"tb": "trabecular", "ct": "cortical"}


def _region(r: str):
    states, exprs = [], [
        Expression(f"f_{r}", f"OBa_{r}/OBa_ref", "1",
                   f"formation index at the {r} region (1 at reference)"),
        Expression(f"q_{r}", f"OCa_{r}/OCa_ref", "1",
                   f"resorption index at the {r} region (1 at reference)"),
    ]
    for c, what in COMPARTMENTS.items():
        states += [
            State(f"V{c}_{r}", 1.0, "1",
                  f"{what} bone volume at the {r} region relative to the young-adult reference",
                  rate=f"k_{c}*V{c}_{r}*(f_{r} - q_{r})", scale=1.0, steady=False),
            State(f"m{c}_{r}", 0.8, "1",
                  f"mean mineralisation of {what} bone at the {r} region (fraction of the maximum)",
                  rate=f"k_{c}*f_{r}*(m_prim - m{c}_{r}) + k_sec*(1 - m{c}_{r})", scale=1.0),
        ]
        exprs.append(Expression(f"bmc{c}_{r}", f"V{c}_{r}*m{c}_{r}", "1",
                                f"{what} bone mineral content at the {r} "
                                "region (volume x mineralisation)"))
    exprs.append(Expression(f"bone_{r}", f"phi_{r}*Vtb_{r} + (1 - phi_{r})*Vct_{r}", "1",
                            f"bone at the {r} region, trabecular and "
                            "cortical by mass (1 at reference)"))
    return states, exprs


_PARTS = [_region(r) for r in REGIONS]

COMPONENT = Component(
    name="skeleton",
    description="trabecular and cortical compartments per region, volume and mineralisation",
    parameters=(
        Parameter("OBa_ref", 1.0, "pM", "active osteoblasts at young-adult homeostasis",
                  "homeostatic reference: steady state of the young adult", reference_of="OBa_ax"),
        Parameter("OCa_ref", 1.0, "pM", "active osteoclasts at young-adult homeostasis",
                  "homeostatic reference: steady state of the young adult", reference_of="OCa_ax"),
        Parameter("k_tb", 0.02, "1/day",
                  "share of trabecular bone remodelled per day at homeostasis",
                  f"{ASSUMED}: cancellous bone formation rate per bone volume of "
                  "young adult C57BL/6J mice about 1-2 %/day", species="mouse"),
        Parameter("k_ct", 0.002, "1/day",
                  "share of cortical bone remodelled per day at homeostasis",
                  f"{ASSUMED}: a tenth of the trabecular rate, as in humans ({PARFITT})",
                  species="mouse"),
        Parameter("m_prim", 0.65, "1",
                  "mineralisation of new bone after primary "
                  "mineralisation (fraction of the maximum)",
                  f"{RUFFONI2007}; about two thirds within weeks ({BOIVIN2003})"),
        Parameter("k_sec", 1 / 30.0, "1/day", "rate of secondary mineralisation toward the maximum",
                  f"{ASSUMED}: about a month in mice, scaled from the human "
                  f"months-to-years ({BOIVIN2003})", species="mouse"),
        Parameter("phi_ax", 0.5, "1", "trabecular share of the axial region's bone mass",
                  f"{ASSUMED}: the vertebral body is mostly trabecular, "
                  "its posterior elements cortical"),
        Parameter("phi_ap", 0.3, "1", "trabecular share of the appendicular region's bone mass",
                  f"{ASSUMED}: the proximal femur and the mouse hindlimb are mostly cortical"),
    ),
    states=tuple(s for ss, _ in _PARTS for s in ss),
    expressions=tuple(e for _, es in _PARTS for e in es),
)

HUMAN = (
    Parameter("k_tb", 0.25 / DAYS_PER_YEAR, "1/day",
              "share of trabecular bone remodelled per day at homeostasis",
              f"{PARFITT}: adult trabecular turnover about 25 %/year; {ERIKSEN1986}",
              species="human"),
    Parameter("k_ct", 0.03 / DAYS_PER_YEAR, "1/day",
              "share of cortical bone remodelled per day at homeostasis",
              f"{PARFITT}: adult cortical turnover about 2-5 %/year", species="human"),
    Parameter("k_sec", 1 / DAYS_PER_YEAR, "1/day",
              "rate of secondary mineralisation toward the maximum",
              f"{BOIVIN2003}: secondary mineralisation over months to years; {LEREBOURS2020}",
              species="human"),
)

#: the rate scale of each bone-cell lineage: the rates of differentiation and apoptosis of
#: a lineage are multiplied by it (steady-state populations unchanged, time course
#: stretched). Pivonka's rates give active osteoblasts about 5 days and osteoclasts about
#: 1.4 days.
KINETICS = (
    Parameter("s_OB", 1.0, "1", "rate scale of the osteoblast lineage (Pivonka 2008 = 1)",
              f"{ASSUMED}: Pivonka's fast cycle kept for mice "
              "(mouse remodelling takes about 2 weeks)", species="mouse"),
    Parameter("s_OC", 1.0, "1", "rate scale of the osteoclast lineage (Pivonka 2008 = 1)",
              f"{ASSUMED}: as s_OB", species="mouse"),
)
KINETICS_HUMAN = (
    Parameter("s_OB", (1 / 90.0) / 0.189, "1",
              "rate scale of the osteoblast lineage (Pivonka 2008 = 1)",
              f"{MANOLAGAS2000}: human osteoblasts live about 3 months "
              f"(A_OBa 0.189/day -> 1/90 day); {ERIKSEN1986} formation period about 3-5 months",
              species="human"),
    Parameter("s_OC", (1 / 14.0) / 0.7, "1",
              "rate scale of the osteoclast lineage (Pivonka 2008 = 1)",
              f"{MANOLAGAS2000}: human osteoclasts live about 2 weeks (A_OCa 0.7/day -> 1/14 day); "
              f"{ERIKSEN1986} resorption about 4-6 weeks", species="human"),
)
