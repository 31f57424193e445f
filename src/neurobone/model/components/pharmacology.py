"""Osteoporosis drugs: pharmacokinetics (dose -> amounts and concentrations) and
pharmacodynamics acting only through mechanisms the bone-cell core already has.

Every value (with its unit, kind and source) is in ``data/drug_pk.csv``, one row per
drug and parameter; the model parameter of row ``(drug, p)`` is ``<prefix>_<p>``
(:data:`PREFIX`). A dose enters as the input rate ``<prefix>_in`` (mg/day), which the
protocol sets to ``dose / window`` over the dose's input window (a schedule row, so
the engines integrate exactly to its start and end: the amount delivered is the dose,
to the solver's tolerance; docs/drugs.md). Bioavailability ``F`` scales the input.

denosumab (``dmab``)
    Two-compartment PK with first-order subcutaneous absorption, linear clearance and
    a Michaelis-Menten elimination standing in for target-mediated disposition (the
    quasi-steady-state TMDD of Sutjandra 2011 reduces to it while the target is far
    below the drug). PD: free RANKL of each region divided by ``1 + C/K`` (binding, the
    same equilibrium form as OPG's in the core). The osteoclast-lineage cells that
    would have differentiated but for the blocked RANKL are parked (osteomorphs,
    McDonald 2021); they are lost slowly and return as osteoclasts when RANKL is free
    again, so resorption rebounds above baseline when the drug wears off. Without the
    drug nothing is parked, whatever the subject's age: the pool stays at zero.
zoledronate (``zol``), alendronate (``aln``)
    A plasma compartment cleared by the kidney and by skeletal uptake (``f_bone`` of
    the systemic dose reaches bone), a skeletal pool released in proportion to the
    skeleton's resorption (``k_rel`` at the reference rate: years). PD: the drug
    osteoclasts take up as they resorb is proportional to the skeletal amount, and
    raises osteoclast apoptosis: ``mod_OCa_apop`` times ``1 + e*amount`` (umol).
teriparatide (``teri``)
    First-order subcutaneous absorption into one compartment. PD: its concentration
    adds to the core's PTH (pM) at each region, so it raises RANKL and lowers OPG
    through the core's own saturating PTH relations (catabolic when sustained), and a
    transient receptor signal ``s = (C/K)^2/(1 + (C/K)^2)`` drives a slow anabolic
    response ``S`` (``dS/dt = k_S*(s - S)``, weeks, as OpenBoneMin's CREB signal) that
    divides osteoblast apoptosis by ``1 + a*S`` (Jilka 1999). The signal needs a high
    transient exposure (a Hill exponent of 2, written into the formula; ``K`` about
    the peak of a 20 ug dose; Frolik 2003: transient exposure is anabolic, prolonged
    exposure catabolic): a daily pulse peaks at tens of pM and clears within hours, so
    the anabolic effect wins; the same amount infused continuously stays at a few pM,
    below the anabolic threshold, while the core's RANKL and OPG relations still see
    it, so resorption wins.
romosozumab (``romo``)
    First-order subcutaneous absorption into one compartment with a linear elimination
    at the labelled half-life (its PK is target-mediated; the linear form is the
    approximation). PD: free sclerostin of each region divided by ``1 + C/K``; the
    coupling component turns less sclerostin into more osteoblast precursors (Wnt) and,
    with half the exponent, less RANKL: the smaller anti-resorptive effect follows.
abaloparatide (``abalo``)
    A PTHrP(1-34) analogue acting on the same PTH1 receptor as teriparatide, written
    with teriparatide's form: first-order subcutaneous absorption into one compartment,
    a transient receptor signal ``(C/K)^2/(1 + (C/K)^2)`` driving the same slow anabolic
    response (the same ``a`` and ``k_S``) that divides osteoblast apoptosis. The two
    drugs differ in PK, in the potency ``K`` (pM at half the signal: fitted to ACTIVE;
    the molar potency relative to teriparatide is ``teri_K / abalo_K``) and in the
    sustained PTH-like action: ``r0`` times its concentration adds to PTH (it binds the
    R0 conformation that carries prolonged signalling less than PTH does). Teriparatide
    and abaloparatide may follow each other but not overlap (one receptor:
    :mod:`~neurobone.model.brainbone.regimens` refuses overlapping windows).
estradiol (``estr``)
    Transdermal estradiol: a zero-order delivery of the labelled dose per day into one
    compartment with a linear clearance (serum estradiol, pg/mL, above the subject's
    own). PD: the estrogen action the body tends to (``E2_goal`` of the systemic
    component, which the core's estrogen mechanisms already use) rises by
    ``C / E2ref``: the drug adds to whatever the subject's ovaries still make.
propranolol (``prop``), atenolol (``aten``), nebivolol (``nebi``)
    Oral beta-blockers: first-order absorption from the gut into one compartment with a
    linear clearance; the unbound concentration occupies beta1 and beta2 receptors by
    competitive binding with each drug's dissociation constants (Baker 2005; nebivolol's
    beta1 constant is an effective one, its metabolites included). Several blockers
    compete for the same receptors: the occupancy of receptor i is
    ``x_i / (1 + x_i)`` with ``x_i`` the sum of ``C_u/Kd_i`` over the drugs
    (:func:`beta_blockade`), and the signal through receptor i (``adr_signal_i`` of the
    autonomic component) is multiplied by ``1 - occupancy``: the same place the step
    inputs ``occ_b1``, ``occ_b2`` of a ``beta_blocker`` intervention act.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

from neurobone.errors import ModelError
from neurobone.model.components.exercise import REGIONS
from neurobone.model.definition import Component, Expression, Parameter, State

#: the drugs with a PK/PD component, and each one's symbol prefix
PREFIX = {"denosumab": "dmab", "zoledronate": "zol", "alendronate": "aln",
          "teriparatide": "teri", "romosozumab": "romo", "abaloparatide": "abalo",
          "estradiol": "estr", "propranolol": "prop", "atenolol": "aten",
          "nebivolol": "nebi"}
#: the drug class of each (what its PD acts on)
BISPHOSPHONATES = ("zoledronate", "alendronate")
#: agonists of the one PTH1 receptor (their windows may not overlap)
PTH1R_AGONISTS = ("teriparatide", "abaloparatide")
BETA_BLOCKERS = ("propranolol", "atenolol", "nebivolol")


@lru_cache(maxsize=1)
def table() -> tuple[dict, ...]:
    """The rows of ``data/drug_pk.csv`` as dictionaries of strings."""
    with resources.files("neurobone.data").joinpath("drug_pk.csv").open(
            newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def row(drug: str, name: str) -> dict:
    for r in table():
        if r["drug"] == drug and r["parameter"] == name:
            return r
    raise ModelError(f"drug_pk.csv: {drug} has no {name!r}")


def value(drug: str, name: str) -> float:
    """The value of ``name`` for ``drug`` in ``data/drug_pk.csv``."""
    return float(row(drug, name)["value"])


def _parameters(drug: str) -> tuple[Parameter, ...]:
    p = PREFIX[drug]
    out = [Parameter(f"{p}_{r['parameter']}", float(r["value"]), r["unit"],
                     f"{drug}: {r['description']}", r["source"])
           for r in table() if r["drug"] == drug and r["kind"] in ("pk", "pd")]
    out.append(Parameter(f"{p}_in", 0.0, "mg/day", f"{drug}: dose input rate (the protocol "
                         "sets dose/window over each dose's input window)",
                         "protocol input (docs/drugs.md)"))
    return tuple(out)


def _denosumab() -> Component:
    states = [
        State("dmab_sc", 0.0, "mg", "denosumab at the subcutaneous depot",
              rate="dmab_F*dmab_in - dmab_ka*dmab_sc", scale=10.0),
        State("dmab_c", 0.0, "mg", "denosumab in the central compartment",
              rate="dmab_ka*dmab_sc - (dmab_CL + dmab_Q)*dmab_conc + dmab_Q*dmab_p/dmab_Vp "
                   "- dmab_Vmax*dmab_conc/(dmab_Km + dmab_conc)", scale=10.0),
        State("dmab_p", 0.0, "mg", "denosumab in the peripheral compartment",
              rate="dmab_Q*dmab_conc - dmab_Q*dmab_p/dmab_Vp", scale=10.0),
    ]
    exprs = [
        Expression("dmab_conc", "dmab_c/dmab_Vc", "mg/L", "serum denosumab (ug/mL)"),
        Expression("dmab_bind", "1 + dmab_conc/dmab_K", "1",
                   "denosumab's factor on RANKL binding (free RANKL divided by it)"),
    ]
    wraps = []
    for r in REGIONS:
        pi = f"pi_act_OCp_RANKL_{r}"
        exprs += [
            Expression(f"dmab_pi0_{r}", f"RANKL_{r}*dmab_bind/(K_D8_RANKL + RANKL_{r}*dmab_bind)",
                       "1", f"RANKL activation of osteoclast precursors at the {r} region "
                       "had the drug not bound RANKL"),
        ]
        states.append(State(
            f"OCq_{r}", 0.0, "pM",
            f"osteoclast-lineage cells parked while RANKL is blocked at the {r} region",
            rate=f"D_OCp*mod_OCp_diff_{r}*(dmab_pi0_{r} - {pi}) - dmab_k_park*OCq_{r} "
                 f"- dmab_k_unpark*{pi}*OCq_{r}", scale=1e-3))
        wraps += [
            Expression(f"RANKL_{r}", "({prev})/dmab_bind", "pM",
                       f"free RANKL at the {r} region, denosumab bound"),
            Expression(f"flux_OCp_OCa_{r}", f"{{prev}} + dmab_k_unpark*{pi}*OCq_{r}", "pM/day",
                       f"OCp -> OCa differentiation at the {r} region, parked cells included"),
        ]
    return Component("denosumab", "denosumab PK (TMDD as Michaelis-Menten) and RANKL "
                     "binding, with parked osteoclast precursors",
                     parameters=_parameters("denosumab"), states=tuple(states),
                     expressions=tuple(exprs), wraps=tuple(wraps))


def _bisphosphonate(drug: str) -> Component:
    p = PREFIX[drug]
    states = (
        State(f"{p}_c", 0.0, "mg", f"{drug} in plasma and extracellular fluid",
              rate=f"{p}_F*{p}_in - {p}_k_el*{p}_c + {p}_k_rel*q_skel*{p}_b", scale=1.0),
        State(f"{p}_b", 0.0, "mg", f"{drug} bound to the skeleton",
              rate=f"{p}_f_bone*{p}_k_el*{p}_c - {p}_k_rel*q_skel*{p}_b", scale=1.0,
              steady=False),
    )
    exprs = (Expression(f"{p}_umol", f"{p}_b*1000/{p}_mw", "umol",
                        f"{drug} bound to the skeleton (micromoles)"),)
    wraps = tuple(Expression(f"mod_OCa_apop_{r}", f"({{prev}})*(1 + {p}_e*{p}_umol)", "1",
                             f"modifier of OCa apoptosis at the {r} region, {drug} included")
                  for r in REGIONS)
    return Component(drug, f"{drug} PK (plasma, skeletal uptake and release) and osteoclast "
                     "apoptosis", parameters=_parameters(drug), states=states,
                     expressions=exprs, wraps=wraps)


#: the skeleton's resorption index that releases bound bisphosphonate (one copy for all)
SKELETON_RESORPTION = Component(
    "skeletal_resorption", "the skeleton's mean resorption index",
    expressions=(Expression("q_skel", "(" + " + ".join(f"q_{r}" for r in REGIONS)
                            + f")/{len(REGIONS)}", "1",
                            "mean resorption index of the regions (1 at reference)"),))


def _teriparatide() -> Component:
    states = (
        State("teri_sc", 0.0, "mg", "teriparatide at the subcutaneous depot",
              rate="teri_F*teri_in - teri_ka*teri_sc", scale=0.01),
        State("teri_c", 0.0, "mg", "teriparatide in its volume of distribution",
              rate="teri_ka*teri_sc - teri_CL/teri_V*teri_c", scale=0.01),
        State("teri_S", 0.0, "1", "slow anabolic response to the receptor signal",
              rate="teri_k_S*(teri_occ - teri_S)", scale=0.01),
    )
    exprs = (
        Expression("teri_pM", "teri_c/teri_V*1e9/teri_mw", "pM", "serum teriparatide"),
        Expression("teri_occ", "(teri_pM/teri_K)**2/(1 + (teri_pM/teri_K)**2)", "1",
                   "transient anabolic receptor signal of teriparatide"),
    )
    wraps = tuple(w for r in REGIONS for w in (
        Expression(f"PTH_{r}", "{prev} + teri_pM", "pM",
                   f"PTH at the {r} region, teriparatide included"),
        Expression(f"mod_OBa_apop_{r}", "({prev})/(1 + teri_a*teri_S)", "1",
                   f"modifier of OBa apoptosis at the {r} region, teriparatide included"),
    ))
    return Component("teriparatide", "teriparatide PK and PTH receptor actions",
                     parameters=_parameters("teriparatide"), states=states,
                     expressions=exprs, wraps=wraps)


def _romosozumab() -> Component:
    states = (
        State("romo_sc", 0.0, "mg", "romosozumab at the subcutaneous depot",
              rate="romo_F*romo_in - romo_ka*romo_sc", scale=10.0),
        State("romo_c", 0.0, "mg", "romosozumab in its volume of distribution",
              rate="romo_ka*romo_sc - romo_k_el*romo_c", scale=10.0),
    )
    exprs = (Expression("romo_conc", "romo_c/romo_V", "mg/L", "serum romosozumab (ug/mL)"),)
    wraps = tuple(Expression(f"sclerostin_{r}", "({prev})/(1 + romo_conc/romo_K)", "1",
                             f"free sclerostin at the {r} region, romosozumab bound")
                  for r in REGIONS)
    return Component("romosozumab", "romosozumab PK and sclerostin binding",
                     parameters=_parameters("romosozumab"), states=states,
                     expressions=exprs, wraps=wraps)


def _abaloparatide() -> Component:
    states = (
        State("abalo_sc", 0.0, "mg", "abaloparatide at the subcutaneous depot",
              rate="abalo_F*abalo_in - abalo_ka*abalo_sc", scale=0.01),
        State("abalo_c", 0.0, "mg", "abaloparatide in its volume of distribution",
              rate="abalo_ka*abalo_sc - abalo_CL/abalo_V*abalo_c", scale=0.01),
        State("abalo_S", 0.0, "1", "slow anabolic response to abaloparatide's PTH1R signal",
              rate="abalo_k_S*(abalo_occ - abalo_S)", scale=0.01),
    )
    exprs = (
        Expression("abalo_pM", "abalo_c/abalo_V*1e9/abalo_mw", "pM", "serum abaloparatide"),
        Expression("abalo_occ", "(abalo_pM/abalo_K)**2/(1 + (abalo_pM/abalo_K)**2)", "1",
                   "transient anabolic PTH1R signal of abaloparatide"),
    )
    wraps = tuple(w for r in REGIONS for w in (
        Expression(f"PTH_{r}", "{prev} + abalo_r0*abalo_pM", "pM",
                   f"PTH at the {r} region, abaloparatide's sustained action included"),
        Expression(f"mod_OBa_apop_{r}", "({prev})/(1 + abalo_a*abalo_S)", "1",
                   f"modifier of OBa apoptosis at the {r} region, abaloparatide included"),
    ))
    return Component("abaloparatide", "abaloparatide PK and PTH1 receptor actions",
                     parameters=_parameters("abaloparatide"), states=states,
                     expressions=exprs, wraps=wraps)


def _estradiol() -> Component:
    states = (State("estr_c", 0.0, "mg", "estradiol delivered by the drug, in its volume",
                    rate="estr_F*estr_in - estr_CL/estr_V*estr_c", scale=1e-3),)
    exprs = (Expression("estr_pgml", "estr_c/estr_V*1e6", "pg/mL",
                        "serum estradiol added by the drug"),)
    wraps = (Expression("E2_goal", "{prev} + estr_pgml/estr_E2ref", "1",
                        "estrogen action the body tends to, estradiol therapy included"),)
    return Component("estradiol", "transdermal estradiol PK and estrogen action",
                     parameters=_parameters("estradiol"), states=states,
                     expressions=exprs, wraps=wraps)


def _beta_blocker(drug: str) -> Component:
    p = PREFIX[drug]
    states = (
        State(f"{p}_gut", 0.0, "mg", f"{drug} in the gut", rate=f"{p}_F*{p}_in - {p}_ka*{p}_gut",
              scale=10.0),
        State(f"{p}_c", 0.0, "mg", f"{drug} in its volume of distribution",
              rate=f"{p}_ka*{p}_gut - {p}_CL/{p}_V*{p}_c", scale=10.0),
    )
    exprs = (
        Expression(f"{p}_conc", f"{p}_c/{p}_V*1000", "ng/mL", f"plasma {drug} (total)"),
        Expression(f"{p}_nM", f"{p}_fu*{p}_c/{p}_V*1e6/{p}_mw", "nM", f"unbound plasma {drug}"),
        Expression(f"{p}_x1", f"{p}_nM/{p}_Kd1", "1", f"{drug} at beta1 receptors (C_u/Kd1)"),
        Expression(f"{p}_x2", f"{p}_nM/{p}_Kd2", "1", f"{drug} at beta2 receptors (C_u/Kd2)"),
    )
    return Component(drug, f"{drug} PK and beta-receptor binding",
                     parameters=_parameters(drug), states=states, expressions=exprs)


def beta_blockade(drugs) -> Component:
    """The receptor occupancy of the beta-blockers ``drugs`` (competing for the same
    receptors) and its action on the beta1 and beta2 signals."""
    exprs = []
    for i in ("1", "2"):
        x = " + ".join(f"{PREFIX[d]}_x{i}" for d in drugs)
        exprs.append(Expression(f"bb_occ{i}", f"({x})/(1 + {x})", "1",
                                f"beta{i} receptor occupancy by the beta-blockers taken"))
    wraps = tuple(Expression(f"adr_signal_{i}", f"({{prev}})*(1 - bb_occ{i})", "1",
                             f"signal through beta{i} receptors, beta-blockers included")
                  for i in ("1", "2"))
    return Component("beta_blockade", "beta-adrenergic receptor occupancy by beta-blockers",
                     expressions=tuple(exprs), wraps=wraps)


_BUILD = {"denosumab": _denosumab, "teriparatide": _teriparatide,
          "romosozumab": _romosozumab, "abaloparatide": _abaloparatide,
          "estradiol": _estradiol}


def components(drugs) -> list[Component]:
    """The components of ``drugs`` (names in :data:`PREFIX`), in a fixed order."""
    chosen = [d for d in PREFIX if d in set(drugs)]
    unknown = set(drugs) - set(PREFIX)
    if unknown:
        raise ModelError(f"no PK/PD component for {sorted(unknown)}; valid: {', '.join(PREFIX)}")
    out: list[Component] = []
    if any(d in BISPHOSPHONATES for d in chosen):
        out.append(SKELETON_RESORPTION)
    for d in chosen:
        if d in BETA_BLOCKERS:
            out.append(_beta_blocker(d))
        else:
            out.append(_BUILD[d]() if d in _BUILD else _bisphosphonate(d))
    blockers = [d for d in chosen if d in BETA_BLOCKERS]
    if blockers:
        out.append(beta_blockade(blockers))
    return out
