"""Absolute 10-year probability of hip and of major osteoporotic fracture (FRAX principle).

Method (Kanis et al. 2008, Osteoporos Int 19:385, doi 10.1007/s00198-007-0543-5,
PMID 18292978): the population hazards of fracture h_F and of death h_D are smooth
functions of age (exp of a polynomial in x = (age - 65)/10, one set of coefficients for
women and one for men, mixed by ``male``). A person whose femoral-neck T-score lies
z = T - mean_T(age) SD from the mean of their age and sex has the fracture hazard

    RR * h_F(age),   RR = GR**(-z) / exp(ln(GR)**2 / 2),

where GR is the gradient of risk per SD (Johnell et al. 2005, J Bone Miner Res 20:1185,
doi 10.1359/JBMR.050304) and the divisor E[GR**(-Z)] = exp(ln(GR)**2/2) for Z ~ N(0, 1)
keeps the population average equal to h_F. RR is fixed at the baseline age (the
person keeps their position in the distribution over the 10 years). Then

    P10 = int_0^10 RR h_F(a+s) exp(-int_0^s (RR h_F + h_D)(a+u) du) ds,

evaluated here with :data:`N_STEPS` steps on which the hazards are held at their
mid-step value: on a step of length d with hazards h and m,
P += S * h/(h+m) * (1 - exp(-(h+m) d)) and S *= exp(-(h+m) d), which is exact for
piecewise-constant hazards and always in [0, 1]. The formula text is generated once,
by :func:`_expressions`; :func:`ten_year_probability` evaluates the same generated text
with SymPy, so there is one definition.

Epidemiology: United States, non-Hispanic white (see docs/fracture.md). Coefficients
are fitted by :func:`fit_epidemiology` (run ``scripts/fit_fracture_epidemiology.py``)
to the source tables shipped in ``neurobone/data/fracture_epidemiology.csv``, which
also holds the fitted coefficients that this module reads.

Reads ``age`` (state, days), ``male`` (0/1) and ``t_score`` (femoral neck, young white
women's reference) defined by other components.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import Mapping

import numpy as np

from neurobone.model.definition import Component, Expression, Parameter
from neurobone.units import DAYS_PER_YEAR

#: years ahead
HORIZON = 10.0
#: quadrature steps over the horizon (hazards held at mid-step)
N_STEPS = 20
#: the two outcomes: component prefix -> output expression
SITES = {"hip": "hip_fracture_10y", "mof": "mof_fracture_10y"}
#: hazards fitted as exp(c0 + c1 x + c2 x^2), x = (age - 65)/10: hip fracture, first
#: non-hip major osteoporotic fracture ("oth": clinical spine, forearm, humerus), death
HAZARDS = ("hip", "oth", "death")
COEFS = ("c0", "c1", "c2")
SEXES = {"w": "female", "m": "male"}

DATA_FILE = "fracture_epidemiology.csv"

ETTINGER2010 = ("Ettinger et al. 2010, Osteoporos Int 21:25, doi 10.1007/s00198-009-1032-9, "
                "PMID 19705048")
JOHNELL2005 = "Johnell et al. 2005, J Bone Miner Res 20:1185, doi 10.1359/JBMR.050304"
HAENTJENS2010 = "Haentjens et al. 2010, Ann Intern Med 152:380, Appendix Table 1, PMCID PMC3010729"
SSA2022 = "US Social Security Administration 2022 period life table (public copy)"
LOOKER2010 = "Looker et al. 2010, J Bone Miner Res 25:64 (NHANES 2005-06)"
MELTON2000 = "Melton et al. 2000, J Bone Miner Res 15:24, doi 10.1359/jbmr.2000.15.1.24"
GR_OTH_SOURCE = ("derived by fit_epidemiology: set so that the MOF hazard ratio per SD (hip part "
                 "with fx_gr_hip, non-hip part with this gradient; T-scores mean-0.5 vs mean+0.5 "
                 "at 65) equals fx_gr_mof (Johnell 2005); rerun the fit if fx_gr_* change")
FIT = "fitted by neurobone.model.components.fracture.fit_epidemiology to"

_HAZARD_SOURCE = {
    ("hip", "w"): f"{FIT} US non-Hispanic white women's hip fracture "
                  f"incidence, NIS 2006 ({ETTINGER2010}, Table 1)",
    ("hip", "m"): f"{FIT} US non-Hispanic white men's hip fracture "
                  f"incidence, NIS 2006 ({ETTINGER2010}, Table 1)",
    ("oth", "w"): f"{FIT} observed 10-year risk of a first major osteoporotic fracture in US white "
                  f"women 65+ (Study of Osteoporotic Fractures, {ETTINGER2010}, Table 5), the MOF "
                  "hazard being hip + this non-hip hazard; linear in x; below 65 extrapolated "
                  "(assumed)",
    ("oth", "m"): "assumed: men's non-hip MOF hazard = women's x (men's / women's hip hazard at "
                  "the same age), i.e. the same mix of fracture sites; no verified US data for "
                  "men's non-hip fractures",
    ("death", "w"): f"{FIT} US women's death probability at 80-89 ({HAENTJENS2010}); "
                    "Gompertz (linear in x), extrapolated to other ages (assumed)",
    ("death", "m"): f"{FIT} US men's death probability at 80-87 ({SSA2022}); Gompertz "
                    "(linear in x), extrapolated to other ages (assumed)",
}


# --------------------------------------------------------------------------- data
def read_table() -> list[dict[str, str]]:
    """Rows of the shipped CSV (source tables and fitted coefficients)."""
    text = resources.files("neurobone.data").joinpath(DATA_FILE).read_text()
    return list(csv.DictReader(text.splitlines()))


def source_table(table: str, sex: str) -> tuple[np.ndarray, np.ndarray]:
    """(age_mid, value) of one source table (``sex`` "female" or "male")."""
    rows = [r for r in read_table() if r["kind"] == "data" and r["table"] == table
            and r["sex"] == sex]
    return (np.array([float(r["age_mid"]) for r in rows]),
            np.array([float(r["value"]) for r in rows]))


def coefficients() -> dict[str, float]:
    """Fitted coefficients by parameter name (``fx_hip_w_c0`` ...)."""
    out = {}
    for r in read_table():
        if r["kind"] == "coefficient":
            out[r["table"]] = float(r["value"])
    return out


def _coef_name(hazard: str, sex: str, c: str) -> str:
    return f"fx_{hazard}_{sex}_{c}"


# --------------------------------------------------------------------------- formulas
def _poly(hazard: str, sex: str, x: str) -> str:
    c0, c1, c2 = (_coef_name(hazard, sex, c) for c in COEFS)
    return f"exp({c0} + {c1}*({x}) + {c2}*({x})**2)"


def _mixed(hazard: str, x: str) -> str:
    return f"(1 - male)*{_poly(hazard, 'w', x)} + male*{_poly(hazard, 'm', x)}"


def _expressions() -> tuple[Expression, ...]:
    """Every expression of the component, generated here once."""
    dt = HORIZON / N_STEPS
    ex = [
        Expression("fx_age_years", f"age/{DAYS_PER_YEAR}", "year", "age in years"),
        Expression("fx_x", "(fx_age_years - 65)/10", "1",
                   "age centred at 65 in decades (hazard polynomials)"),
        Expression("fx_mean_t", "(1 - male)*(fx_tmean_w + fx_tslope_w*(fx_age_years - 65)) "
                   "+ male*(fx_tmean_m + fx_tslope_m*(fx_age_years - 65))", "SD",
                   "mean femoral-neck T-score of the population at this age and sex"),
        Expression("fx_z", "t_score - fx_mean_t", "SD",
                   "T-score relative to the age- and sex-matched mean"),
    ]
    for part, slope, what in (("hip", "hip", "hip"), ("oth", "mof", "non-hip major osteoporotic")):
        ex.append(Expression(
            f"fx_lngr_{part}",
            f"log((1 - male)*fx_gr_{part}_w + male*fx_gr_{part}_m) "
            f"+ fx_gr_{slope}_slope*(fx_age_years - 65)",
            "1", f"log of the gradient of {what} fracture risk per SD at the baseline age"))
        ex.append(Expression(
            f"fx_rr_{part}", f"exp(-fx_lngr_{part}*fx_z - fx_lngr_{part}**2/2)", "1",
            f"{what} fracture hazard of this person relative to the population of their age "
            "(normalised so the population average is 1)"))
    xs = [f"fx_x + {(k + 0.5) * dt / 10!r}" for k in range(N_STEPS)]
    for k, x in enumerate(xs):
        ex.append(Expression(f"fx_death_h{k}", _mixed("death", x), "1/year",
                             f"population death hazard at {(k + 0.5) * dt} years ahead"))
    for site, out in SITES.items():
        terms = []
        for k, x in enumerate(xs):
            h, m = f"fx_{site}_h{k}", f"fx_death_h{k}"
            rate = (f"fx_rr_hip*({_mixed('hip', x)})" if site == "hip" else
                    f"fx_rr_hip*({_mixed('hip', x)}) + fx_rr_oth*({_mixed('oth', x)})")
            ex.append(Expression(h, rate, "1/year",
                                 f"this person's {site} fracture hazard "
                                 f"at {(k + 0.5) * dt} years ahead"))
            if k:
                prev = f"fx_{site}_cum{k - 1} + " if k > 1 else ""
                ex.append(Expression(f"fx_{site}_cum{k}",
                                     f"{prev}(fx_{site}_h{k - 1} + fx_death_h{k - 1})*{dt!r}",
                                     "1",
                                     f"cumulative hazard of {site} fracture "
                                     f"or death to {k * dt} years"))
            surv = f"exp(-fx_{site}_cum{k})*" if k else ""
            ex.append(Expression(f"fx_{site}_p{k}",
                                 f"{surv}{h}/({h} + {m})*(1 - exp(-({h} + {m})*{dt!r}))", "1",
                                 f"probability of a first {site} fracture "
                                 f"in step {k} alive and fracture-free"))
            terms.append(f"fx_{site}_p{k}")
        label = ("hip fracture" if site == "hip" else
                 "major osteoporotic fracture (clinical spine, hip, forearm, proximal humerus)")
        ex.append(Expression(out, "100*(" + " + ".join(terms) + ")", "%",
                             f"absolute 10-year probability of a {label} "
                             "(FRAX principle, competing mortality)"))
    return tuple(ex)


def _parameters(coefs: Mapping[str, float]) -> tuple[Parameter, ...]:
    ps = [
        Parameter("fx_gr_hip_w", 2.88, "1/SD",
                  "gradient of hip fracture risk per SD lower femoral-neck BMD, women at 65",
                  f"{JOHNELL2005}: 2.88 (95% CI 2.31-3.59)", species="human"),
        Parameter("fx_gr_hip_m", 2.94, "1/SD",
                  "gradient of hip fracture risk per SD lower femoral-neck BMD, men at 65",
                  f"{JOHNELL2005}: 2.94 (95% CI 2.02-4.27)", species="human"),
        Parameter("fx_gr_hip_slope", -0.01, "1/year",
                  "change of ln(gradient) of hip fracture risk per year of age",
                  f"assumed: {JOHNELL2005} report a higher hip gradient at 50 than at 80; the "
                  "age-specific values were not verifiable here, -0.01/year (GR 3.3 at 50, 2.5 at "
                  "80 for women) is a chosen size", species="human"),
        Parameter("fx_gr_mof_w", 1.38, "1/SD",
                  "gradient of osteoporotic fracture risk per SD lower femoral-neck "
                  "BMD, women at 65", f"{JOHNELL2005}: any osteoporotic fracture 1.38 (1.28-1.48)",
                  species="human"),
        Parameter("fx_gr_mof_m", 1.41, "1/SD",
                  "gradient of osteoporotic fracture risk per SD lower femoral-neck BMD, men at 65",
                  f"{JOHNELL2005}: any osteoporotic fracture 1.41 (1.33-1.51)", species="human"),
        Parameter("fx_gr_oth_w", coefs.get("fx_gr_oth_w", 1.2), "1/SD",
                  "gradient of non-hip MOF risk per SD lower femoral-neck BMD, women at 65",
                  GR_OTH_SOURCE, species="human"),
        Parameter("fx_gr_oth_m", coefs.get("fx_gr_oth_m", 1.2), "1/SD",
                  "gradient of non-hip MOF risk per SD lower femoral-neck BMD, men at 65",
                  GR_OTH_SOURCE, species="human"),
        Parameter("fx_gr_mof_slope", 0.005, "1/year",
                  "change of ln(gradient) of osteoporotic fracture risk per year of age",
                  f"assumed: {JOHNELL2005} report a gradient rising with age; size "
                  "chosen (GR 1.28 at 50, 1.49 at 80 for women)", species="human"),
        Parameter("fx_tmean_w", -1.22, "SD",
                  "mean femoral-neck T-score of US women at 65 (centre of the 50+ population)",
                  f"derived from {LOOKER2010}: women 50+ 10% osteoporosis and 49% osteopenia at "
                  "the femoral neck; a normal distribution with SD 1 gives mean -1.22 from either "
                  "figure; assigned to age 65 (assumed)", species="human"),
        Parameter("fx_tmean_m", -0.49, "SD",
                  "mean femoral-neck T-score of US men at 65 (women's reference)",
                  f"derived from {LOOKER2010}: men 50+ 2% osteoporosis and 30% osteopenia; SD 1 "
                  "gives -0.45 and -0.53, mean -0.49; assumed on the women's reference and "
                  "assigned to age 65", species="human"),
        Parameter("fx_tslope_w", -0.0593, "SD/year",
                  "change of the women's mean T-score per year of age",
                  f"derived from {MELTON2000}: femoral neck -1.0 %/year in women, not varying "
                  "with age; 1% of 0.712 g/cm2 (T -1.22) / SD 0.120", species="human"),
        Parameter("fx_tslope_m", -0.020, "SD/year",
                  "change of the men's mean T-score per year of age",
                  "assumed: -0.3 %/year of 0.80 g/cm2 / 0.120; elderly men lost no total-hip BMD "
                  "over 4 years in Khosla et al. 2001 (doi 10.1210/jcem.86.8.7736), women lose 1 "
                  "%/year", species="human"),
    ]
    units = {"c0": "ln(1/year)", "c1": "1/decade", "c2": "1/decade^2"}
    for hazard in HAZARDS:
        for sex in SEXES:
            for c in COEFS:
                name = _coef_name(hazard, sex, c)
                ps.append(Parameter(name, coefs.get(name, 0.0), units[c],
                                    f"{hazard} hazard of {SEXES[sex]}s: coefficient {c} "
                                    "of ln h = c0 + c1 x + c2 x^2, x = (age - 65)/10",
                                    _HAZARD_SOURCE[(hazard, sex)], species="human"))
    return tuple(ps)


def make_component(coefs: Mapping[str, float] | None = None) -> Component:
    """The component with the given (default: shipped) hazard coefficients."""
    return Component(
        name="fracture",
        description="absolute 10-year probability of hip and major osteoporotic "
                    "fracture (FRAX principle, US epidemiology)",
        parameters=_parameters(coefficients() if coefs is None else coefs),
        expressions=_expressions(),
    )


COMPONENT = make_component()


# --------------------------------------------------------------------------- evaluation
@lru_cache(maxsize=None)
def _compiled(output: str):
    """``output`` as a NumPy function of (age_days, male, t_score, *parameters)."""
    import sympy as sp

    from neurobone.model.symbolic import FUNCTIONS

    names = [p.name for p in COMPONENT.parameters]
    syms = {n: sp.Symbol(n) for n in ["age", "male", "t_score", *names]}
    local = {**syms, **FUNCTIONS}
    parsed = {e.name: sp.sympify(e.formula, locals=local) for e in COMPONENT.expressions}
    for e in COMPONENT.expressions:
        local[e.name] = sp.Symbol(e.name)
    order = [e.name for e in COMPONENT.expressions]  # generated in dependency order

    def full(name):
        expr = parsed[name]
        for n in reversed(order[: order.index(name)]):
            s = sp.Symbol(n)
            if expr.has(s):
                expr = expr.xreplace({s: parsed[n]})
        return expr

    expr = full(output)
    args = [syms["age"], syms["male"], syms["t_score"], *(syms[n] for n in names)]
    return sp.lambdify(args, expr, modules="numpy", cse=True), names


def evaluate(output: str, age_years, male, t_score, parameters: Mapping[str, float] | None = None):
    """Any expression of the component (e.g. ``"fx_rr_hip"``) for the given inputs."""
    f, names = _compiled(output)
    p = {q.name: q.value for q in COMPONENT.parameters}
    p.update(parameters or {})
    age_days = np.asarray(age_years, dtype=float) * DAYS_PER_YEAR
    with np.errstate(over="ignore", under="ignore"):
        return f(age_days, np.asarray(male, dtype=float), np.asarray(t_score, dtype=float),
                 *(p[n] for n in names))


def ten_year_probability(age_years, male, t_score, site: str = "hip",
                         parameters: Mapping[str, float] | None = None):
    """10-year probability (%) of a hip (``site="hip"``) or major osteoporotic
    (``site="mof"``) fracture, from the component's own generated formula."""
    if site not in SITES:
        raise ValueError(f"site must be one of {sorted(SITES)}, not {site!r}")
    return evaluate(SITES[site], age_years, male, t_score, parameters)


def population_ten_year_probability(age_years, male, site: str = "hip",
                                    parameters: Mapping[str, float] | None = None, nodes: int = 24):
    """Average 10-year probability (%) over the population of that age and sex
    (T-score ~ N(mean_T(age), 1), Gauss-Hermite quadrature)."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    age = np.atleast_1d(np.asarray(age_years, dtype=float))
    mean_t = evaluate("fx_mean_t", age, male, 0.0, parameters)
    mean_t = np.broadcast_to(mean_t, age.shape)
    out = np.zeros(age.shape)
    for zi, wi in zip(z, w, strict=True):
        out += wi * ten_year_probability(age, male, mean_t + zi, site, parameters)
    return out


def hazard(name: str, age_years, male, parameters: Mapping[str, float] | None = None):
    """Population hazard (1/year): ``name`` in ``HAZARDS``, or ``"mof"`` (hip + oth)."""
    if name == "mof":
        return (hazard("hip", age_years, male, parameters)
                + hazard("oth", age_years, male, parameters))
    p = {q.name: q.value for q in COMPONENT.parameters}
    p.update(parameters or {})
    x = (np.asarray(age_years, dtype=float) - 65.0) / 10.0

    def one(sex):
        c0, c1, c2 = (p[_coef_name(name, sex, c)] for c in COEFS)
        return np.exp(c0 + c1 * x + c2 * x**2)

    return (1 - male) * one("w") + male * one("m")


def mof_gradient(age_years, male, parameters: Mapping[str, float] | None = None) -> float:
    """MOF hazard ratio per SD at an age: T = mean - 0.5 against T = mean + 0.5 (the
    hip and non-hip parts each with their own gradient)."""
    mean_t = float(evaluate("fx_mean_t", age_years, male, 0.0, parameters))
    hip = float(hazard("hip", age_years, male, parameters))
    oth = float(hazard("oth", age_years, male, parameters))

    def h(t):
        return (hip * float(evaluate("fx_rr_hip", age_years, male, t, parameters))
                + oth * float(evaluate("fx_rr_oth", age_years, male, t, parameters)))

    return h(mean_t - 0.5) / h(mean_t + 0.5)


# --------------------------------------------------------------------------- fitting
def fit_epidemiology() -> dict[str, float]:
    """Fit every hazard coefficient to the source tables of the shipped CSV.

    - hip: least squares of ln(rate) on a quadratic in x, per sex;
    - death: Gompertz (linear in x) through -ln(1 - q) at mid-year, per sex;
    - non-hip MOF, women: linear in x, least squares on ln of the population-average
      10-year MOF probability (this module's formula, averaged over T ~ N(mean_T, 1))
      against the observed SOF 10-year risks; men: women's x men's/women's hip (assumed);
    - fx_gr_oth_*: the non-hip gradient that makes :func:`mof_gradient` at 65 equal
      fx_gr_mof_* (Johnell 2005); iterated with the MOF fit (they interact weakly).
    """
    from scipy.optimize import brentq, least_squares

    base = {q.name: q.value for q in COMPONENT.parameters}
    coefs: dict[str, float] = {}
    for sex, label in SEXES.items():
        a, rate = source_table("hip_incidence", label)
        c2, c1, c0 = np.polyfit((a - 65) / 10, np.log(rate / 1000.0), 2)
        coefs.update({_coef_name("hip", sex, "c0"): c0, _coef_name("hip", sex, "c1"): c1,
                      _coef_name("hip", sex, "c2"): c2})
        a, q = source_table("death_probability", label)
        d1, d0 = np.polyfit((a - 65) / 10, np.log(-np.log1p(-q)), 1)
        coefs.update({_coef_name("death", sex, "c0"): d0, _coef_name("death", sex, "c1"): d1,
                      _coef_name("death", sex, "c2"): 0.0})
    a, risk = source_table("mof_10y_risk", "female")
    gr_oth = {"fx_gr_oth_w": base["fx_gr_oth_w"], "fx_gr_oth_m": base["fx_gr_oth_m"]}

    def with_oth(m0, m1):
        out = {**base, **coefs, **gr_oth}
        out.update({_coef_name("oth", "w", "c0"): m0, _coef_name("oth", "w", "c1"): m1,
                    _coef_name("oth", "w", "c2"): 0.0})
        for c in COEFS:  # men: women's non-hip hazard x men's/women's hip (assumed)
            out[_coef_name("oth", "m", c)] = (out[_coef_name("oth", "w", c)]
                                              + out[_coef_name("hip", "m", c)]
                                              - out[_coef_name("hip", "w", c)])
        return out

    def resid(m):
        p = population_ten_year_probability(a, 0.0, "mof", with_oth(*m))
        return np.log(p) - np.log(risk)

    m = [np.log(0.005), 0.5]
    for _ in range(4):
        m = least_squares(resid, x0=m).x
        cur = with_oth(*m)
        for sex, male in (("w", 0.0), ("m", 1.0)):
            target = base[f"fx_gr_mof_{sex}"]

            def gap(g, sex=sex, male=male, target=target, cur=cur):
                return mof_gradient(65.0, male, {**cur, f"fx_gr_oth_{sex}": g}) - target

            gr_oth[f"fx_gr_oth_{sex}"] = brentq(gap, 1.0, target, xtol=1e-12)
    out = with_oth(*m)
    return {k: v for k, v in out.items()
            if k.startswith(("fx_hip_", "fx_oth_", "fx_death_", "fx_gr_oth_"))}


def write_coefficients(coefs: Mapping[str, float]) -> None:
    """Replace the coefficient rows of the shipped CSV (used by the fitting script)."""
    path = resources.files("neurobone.data").joinpath(DATA_FILE)
    rows = [r for r in read_table() if r["kind"] != "coefficient"]
    units = {"c0": "ln(1/year)", "c1": "1/decade", "c2": "1/decade^2"}
    for hazard_ in HAZARDS:
        for sex in SEXES:
            for c in COEFS:
                name = _coef_name(hazard_, sex, c)
                rows.append(dict(kind="coefficient", table=name, sex=SEXES[sex], age_low="",
                                 age_high="", age_mid="",
                                 value=repr(float(round(coefs[name], 10))), unit=units[c],
                                 source=_HAZARD_SOURCE[(hazard_, sex)]))
    for sex in SEXES:
        name = f"fx_gr_oth_{sex}"
        rows.append(dict(kind="coefficient", table=name, sex=SEXES[sex], age_low="", age_high="",
                         age_mid="",
                         value=repr(float(round(coefs[name], 10))), unit="1/SD",
                         source=GR_OTH_SOURCE))
    with open(str(path), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
