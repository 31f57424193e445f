"""Systemic state: estrogen and age.

Estrogen (relative to an intact premenopausal female, 1) relaxes toward a target: after
ovariectomy within days, over the menopausal transition within about a year (SWAN).
Its deficiency raises RANKL (Eghbali-Fatourechi 2003), lowers OPG (Hofbauer 1999) and
lengthens osteoclast life (Nakamura 2007). Age advances one day per day; it lowers
osteoblast precursor supply (human) and raises sympathetic tone (autonomic).
"""

from neurobone.model.components.refs import (
    ASSUMED,
    EGHBALI2003,
    HOFBAUER1999,
    NAKAMURA2007,
    RIGGS2002,
    SOWERS2013,
)
from neurobone.model.definition import Component, Expression, Parameter, State
from neurobone.units import DAYS_PER_YEAR

INPUT = "input: set by interventions (ovariectomy, menopause, estradiol)"

COMPONENT = Component(
    name="systemic",
    description="estrogen and ageing",
    parameters=(
        Parameter("E2_target", 1.0, "1", "estrogen level the body tends to (1 intact)", INPUT),
        Parameter("tau_E", 3.0, "day", "time constant of estrogen change", INPUT),
        Parameter("E2_floor", 0.1, "1", "residual estrogen action after ovariectomy or menopause", f"{RIGGS2002}: postmenopausal estradiol ~10-20 % of premenopausal"),
        Parameter("tau_E_surgical", 3.0, "day", "estrogen time constant after ovariectomy", f"{RIGGS2002}: serum estradiol falls within days of surgery"),
        Parameter("tau_E_natural", 365.0, "day", "estrogen time constant over the menopausal transition", f"{SOWERS2013}: estradiol falls mostly within ~2 years around the final menses"),
        Parameter("a_E_L", 6.783, "1", "rise in RANKL supply per unit estrogen deficiency", f"calibrated: MC6 ({EGHBALI2003})", species="mouse", cv=0.25),
        Parameter("a_E_O", 0.5, "1", "fall in OPG production per unit estrogen deficiency", f"{ASSUMED}: 0.5 (a_E_L carries the calibration); {HOFBAUER1999}"),
        Parameter("a_E_A", 0.5, "1", "fall in osteoclast apoptosis per unit estrogen deficiency", f"{ASSUMED}: 0.5 (a_E_L carries the calibration); {NAKAMURA2007}"),
        Parameter("age_ref", 84.0, "day", "reference age (young adult) where age effects are 1", "12-week-old young adult C57BL/6J (MC1)", species="mouse"),
        Parameter("a_OB", 0.0, "1/day", "fall in log osteoblast precursor supply per day of age above the reference", f"MC1: steady young adult over 8 weeks; {ASSUMED}", species="mouse"),
    ),
    states=(
        State("E2", 1.0, "1", "estrogen action relative to an intact female", rate="(E2_target - E2)/tau_E", scale=1.0),
        State("age", 84.0, "day", "age", rate="1", scale=1e4, steady=False),
    ),
    expressions=(
        Expression("E2_deficit", "1 - E2", "1", "estrogen deficiency"),
        Expression("age_years", f"age/{DAYS_PER_YEAR}", "year", "age in years"),
        Expression("ageing_OB", "exp(-a_OB*(age - age_ref))", "1", "age factor on osteoblast precursor supply"),
    ),
)

HUMAN = (
    Parameter("a_E_L", 1.058, "1", "rise in RANKL supply per unit estrogen deficiency", f"calibrated: HC1, HC2, HC3, HT1 (joint human fit; {EGHBALI2003}); smaller than in young ovariectomised mice, whose trabecular bone responds faster and more completely", species="human", cv=0.25),
    Parameter("age_ref", 30 * DAYS_PER_YEAR, "day", "reference age (young adult, peak bone mass)", "30-year-old woman (peak bone mass; Looker 1998 reference 20-29 y)", species="human"),
    Parameter("a_OB", 0.0, "1/day", "fall in log osteoblast precursor supply per day of age", "held at 0 in the calibration: age-related loss in women is carried by sympathetic tone (a_T) and estrogen (HC2, HT1)", species="human"),
)
