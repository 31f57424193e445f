"""Systemic state: sex steroids and age.

Estrogen action ``E2`` (1 in an intact young adult of either sex) relaxes within days
(``tau_E2``) toward the level the body sets:

- women: the natural course falls over the menopausal transition as a logistic in the
  years from the final menstrual period (FMP): unchanged until about 2 years before the
  FMP, fastest at it, stable from about 2 years after (SWAN, Randolph 2011), to a
  postmenopausal floor (Sowers 2008: about a third of the premenopausal level 2 years
  after the FMP). The age at the FMP is a subject parameter (``meno_age``); a
  ``menopause`` intervention sets the scenario day of the FMP instead (``meno_day``);
  whichever comes first applies;
- men: bioavailable estradiol, which carries most of the sex-steroid effect on the male
  skeleton, falls slowly and steadily with age (Khosla 1998);
- ovariectomy sets the floor within days; estradiol replacement restores the intact
  level (``e2_therapy`` = 1).

Age advances one day per day. Its effects on bone cells (osteoblast supply) and on
sympathetic tone live in :mod:`coupling` and :mod:`autonomic`.
"""

from neurobone.model.components.refs import (
    ASSUMED,
    KHOSLA1998,
    RANDOLPH2011,
    RIGGS2002,
    SOWERS2008,
)
from neurobone.model.definition import Component, Expression, Parameter, State
from neurobone.units import DAYS_PER_YEAR

INPUT = "input: set by interventions"
SUBJECT = "subject: set from the scenario's subject block"
#: an age or day so late it never comes (no menopause)
NEVER = 1.0e6

COMPONENT = Component(
    name="systemic",
    description="sex steroids (estrogen action) and age",
    parameters=(
        Parameter("male", 0.0, "1", "1 for a male subject, 0 for a female one", SUBJECT),
        Parameter("meno_age", NEVER, "day", "age at the final menstrual period (never: 1e6)",
                  SUBJECT),
        Parameter("meno_day", NEVER, "day",
                  "scenario day of the final menstrual period set by "
                  "a menopause intervention (never: 1e6)", INPUT),
        Parameter("ovx", 0.0, "1", "1 after ovariectomy (or orchidectomy)", INPUT),
        Parameter("e2_therapy", 0.0, "1",
                  "estradiol replacement: 1 restores the intact level, 0 none", INPUT),
        Parameter("E2_floor", 0.3, "1",
                  "estrogen action after the menopause or ovariectomy, "
                  "relative to the intact level",
                  f"{SOWERS2008}: estradiol about 33 % of its premenopausal level "
                  f"2 years after the FMP and 23 % at 8 years; {RIGGS2002}"),
        Parameter("w_E2", 0.55 * DAYS_PER_YEAR, "day",
                  "width of the logistic fall of estradiol around the FMP",
                  f"{RANDOLPH2011}: decline starts 2.03 years before the FMP and ends 2.17 years "
                  "after; a logistic of width 0.55 y covers 97 % of its fall within +-2 y"),
        Parameter("tau_E2", 3.0, "day", "time constant of estrogen action following its set level",
                  f"{RIGGS2002}: serum estradiol falls within days of ovariectomy"),
        Parameter("a_E2m", 0.0, "1/day", "fall in log estrogen action per day of age in males",
                  f"{ASSUMED}: no age course of estradiol in male mice is modelled",
                  species="mouse"),
        Parameter("age_ref", 84.0, "day", "reference age (young adult) where age effects are 1",
                  "12-week-old young adult C57BL/6J (MC1)", species="mouse"),
    ),
    states=(
        State("E2", 1.0, "1", "estrogen action relative to an intact young adult",
              rate="(E2_goal - E2)/tau_E2", scale=1.0),
        State("age", 84.0, "day", "age", rate="1", scale=1e4, steady=False),
    ),
    expressions=(
        Expression("meno_elapsed_age", "age - meno_age", "day",
                   "days since the FMP by age (negative before it)"),
        Expression("meno_elapsed_day", "t - meno_day", "day",
                   "days since a menopause set by an intervention"),
        Expression("meno_elapsed",
                   "(meno_elapsed_age + meno_elapsed_day "
                   "+ sqrt((meno_elapsed_age - meno_elapsed_day)**2 + 1))/2",
                   "day",
                   "days since the FMP (the earlier of the two: a maximum smoothed over a day)"),
        Expression("E2_female", "E2_floor + (1 - E2_floor)/(1 + exp(meno_elapsed/w_E2))", "1",
                   "natural course of estrogen action in women"),
        Expression("E2_male", "exp(-a_E2m*(age - age_ref))", "1",
                   "natural course of estrogen action in men"),
        Expression("E2_goal",
                   "(1 - e2_therapy)*((1 - ovx)*(male*E2_male + (1 - male)*E2_female) "
                   "+ ovx*E2_floor) + e2_therapy",
                   "1", "estrogen action the body tends to"),
        Expression("E2_deficit", "1 - E2", "1", "estrogen deficiency"),
        Expression("age_years", f"age/{DAYS_PER_YEAR}", "year", "age in years"),
    ),
)

HUMAN = (
    Parameter("age_ref", 30 * DAYS_PER_YEAR, "day", "reference age (young adult, peak bone mass)",
              "30-year-old (peak bone mass; Looker 1998 reference 20-29 y)", species="human"),
    Parameter("a_E2m", 0.009 / DAYS_PER_YEAR, "1/day",
              "fall in log estrogen action per day of age in men",
              f"{KHOSLA1998}: bioavailable estradiol 47 % lower at "
              "90 than at 20 years, ln(1/0.53)/70 y = 0.009/y",
              species="human"),
)
