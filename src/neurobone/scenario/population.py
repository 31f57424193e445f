"""Virtual populations: who the subjects of a cohort are, drawn reproducibly.

A scenario's optional ``population:`` block says how the subjects differ; everything it
does not say comes from the scenario's ``subject:`` block, then from the defaults below
(a population of women aged 50-80)::

    population:
      age_years: {dist: histogram, edges: [50, 60, 70, 80], weights: [21.5, 15.3, 9.2]}
      menopause_age_years: {dist: truncnormal, mean: 51, sd: 4, low: 40, high: 60}
      t_score: {dist: nhanes}           # femoral-neck T-score of US women, by age
      activity: null                    # habitual loading; null: as the reference
      female_fraction: 1.0
      variability: true                 # between-subject parameter variability (cv)

Each covariate is a number (the same for every subject), ``null`` (not sampled, see
each field) or a distribution (:data:`Distribution`): ``uniform``, ``normal``,
``truncnormal``, ``lognormal``, ``histogram`` and, for ``t_score`` only, ``nhanes``.
docs/cohorts.md lists every field, its default and the sources.

Reproducibility
---------------
Subject ``i`` of a cohort with seed ``s`` has its own random streams, derived from
``(s, i)`` only (:func:`neurobone.scenario.variability.stream`, NumPy ``SeedSequence``
keyed by the subject's index): its covariates come from one stream (one uniform per
covariate *slot*, always all of them, so adding a covariate to the block does not change
the others) and its parameters from
:func:`~neurobone.scenario.variability.draw_factors`, as a study's animals (arm
``"cohort"``). Subject ``i`` is
therefore the same however the cohort is chunked, ordered or distributed.

Every covariate is drawn by inverse transform of its one uniform, so truncated
distributions need no rejection loop and the number of draws never varies. The
quantile functions of the normal, truncated normal and log-normal are SciPy's
(``scipy.stats.norm``, ``truncnorm``, ``lognorm``); ``truncnorm`` stays accurate for
bounds far in a tail.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import pairwise
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Discriminator, Field, Tag, model_validator

from neurobone.model.brainbone.subjects import MENOPAUSE_AGE_YEARS
from neurobone.scenario.fields import STRICT, Flag, Number
from neurobone.units import DAYS_PER_WEEK, DAYS_PER_YEAR

#: the arm name under which cohort subjects draw their parameters
#: (:func:`neurobone.scenario.variability.draw_factors`, as a study's animals)
COHORT_ARM = "cohort"
#: covariate slots: one uniform per slot and subject, in this order (append only)
SLOTS = ("sex", "age", "menopause", "t_score", "abmd_ls", "abmd_th", "activity")

# ----------------------------------------------------------------------------- sources
#: US women by age decade (50-59, 60-69, 70-79, 80+), 2010 Census counts as tabulated by
#: Wright et al. 2014, J Bone Miner Res 29:2520, Table 1 (NHANES 2005-2010 applied to
#: the 2010 Census); the default age distribution uses the first three decades
US_WOMEN_2010 = {"edges": (50.0, 60.0, 70.0, 80.0, 90.0),
                 "counts": (21_506_008, 15_323_140, 9_169_601, 7_152_707)}
WRIGHT2014 = "Wright et al. 2014, J Bone Miner Res 29:2520 (NHANES 2005-2010, 2010 US Census)"
#: women, osteoporosis (T <= -2.5) and low bone mass (-2.5 < T < -1) at the femoral neck
#: *or* lumbar spine, by decade 50-59 .. 80+ (Wright 2014, Table 1): used for the slope
#: of the mean T-score with age only
WRIGHT2014_PREVALENCE = {"osteoporosis": (0.068, 0.123, 0.257, 0.349),
                         "low_bone_mass": (0.493, 0.534, 0.518, 0.527)}
#: women 50+, femoral neck alone, NHANES 2005-2006 (Looker et al. 2010, J Bone Miner Res
#: 25:64): 10 % osteoporosis, 49 % osteopenia; fixes the level and spread of the
#: default femoral-neck T-score distribution
LOOKER2010_FN = {"osteoporosis": 0.10, "osteopenia": 0.49}
LOOKER2010 = "Looker et al. 2010, J Bone Miner Res 25:64 (NHANES 2005-2006, femoral neck)"
#: natural menopause: mean 51 years (Gold 2013, SWAN; the median the subject rules also
#: use, :data:`~neurobone.model.brainbone.subjects.MENOPAUSE_AGE_YEARS`), SD 4 years,
#: truncated to 40-60 (before 40 is premature ovarian insufficiency, not natural
#: menopause; after 60 is rare)
MENOPAUSE_SD_YEARS = 4.0
MENOPAUSE_RANGE_YEARS = (40.0, 60.0)
GOLD2013 = "Gold et al. 2013, Am J Epidemiol 178:70 (SWAN): natural menopause at ~51 years"
#: T-scores are kept within the scenario schema's range
T_SCORE_RANGE = (-6.0, 4.0)
#: osteoporosis and low-bone-mass thresholds (WHO 1994)
T_OSTEOPOROSIS, T_LOW = -2.5, -1.0
#: the oldest subjects: people of 110 years, mice of 260 weeks (5 years, beyond the
#: longest-lived laboratory mice)
AGE_YEARS_MAX = 110.0
AGE_WEEKS_MAX = 260.0
#: the highest baseline aBMD (g/cm2) a subject may be anchored to: far above any
#: measured adult value (young-adult lumbar spine about 1.0-1.2, SD 0.12)
ABMD_MAX = 3.0
#: the highest habitual activity (loading relative to the reference subject)
ACTIVITY_MAX = 5.0
#: the range of every covariate: fixed values and the bounds of bounded distributions
#: must lie within it; draws of unbounded distributions (normal, lognormal) are clipped
#: to it
COVARIATE_RANGE = {
    "age_years": (0.0, AGE_YEARS_MAX),
    "age_weeks": (0.0, AGE_WEEKS_MAX),
    "menopause_age_years": (0.0, AGE_YEARS_MAX),
    "years_since_menopause": (0.0, AGE_YEARS_MAX),
    "t_score": T_SCORE_RANGE,
    "abmd_ls": (0.0, ABMD_MAX),
    "abmd_th": (0.0, ABMD_MAX),
    "activity": (0.0, ACTIVITY_MAX),
}


# ----------------------------------------------------------------------------- distributions
class _Dist(BaseModel):
    model_config = STRICT

    def bounds(self) -> tuple[float, float]:
        return (-math.inf, math.inf)


class _Bounded(_Dist):
    """A distribution on ``[low, high]``."""

    low: Number
    high: Number

    @model_validator(mode="after")
    def _order(self):
        if not self.high > self.low:
            raise ValueError(f"high ({self.high:g}) must be above low ({self.low:g})")
        return self

    def bounds(self):
        return (self.low, self.high)


class Uniform(_Bounded):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"]

    def ppf(self, u: np.ndarray, **_) -> np.ndarray:
        return self.low + u * (self.high - self.low)


class Normal(_Dist):
    """Normal with ``mean`` and standard deviation ``sd``."""

    dist: Literal["normal"]
    mean: Number
    sd: Number = Field(gt=0)

    def centre(self) -> float:
        return self.mean

    def ppf(self, u: np.ndarray, **_) -> np.ndarray:
        from scipy.stats import norm

        return norm.ppf(u, loc=self.mean, scale=self.sd)


class TruncNormal(_Bounded):
    """Normal(``mean``, ``sd``) restricted to ``[low, high]``."""

    dist: Literal["truncnormal"]
    mean: Number
    sd: Number = Field(gt=0)

    def ppf(self, u: np.ndarray, **_) -> np.ndarray:
        return _truncnorm_ppf(u, self.mean, self.sd, self.low, self.high)


class LogNormal(_Dist):
    """Log-normal with ``median`` and coefficient of variation ``cv`` (as parameters:
    ``sigma^2 = ln(1 + cv^2)``)."""

    dist: Literal["lognormal"]
    median: Number = Field(gt=0)
    cv: Number = Field(gt=0)

    def centre(self) -> float:
        return self.median

    def ppf(self, u: np.ndarray, **_) -> np.ndarray:
        from scipy.stats import lognorm

        return lognorm.ppf(u, s=self.sigma, scale=self.median)

    @property
    def sigma(self) -> float:
        """The standard deviation of ``log(x)``: ``sqrt(ln(1 + cv^2))``."""
        return math.sqrt(math.log1p(self.cv ** 2))

    def bounds(self):
        return (0.0, math.inf)


class Histogram(_Dist):
    """Piecewise uniform: bin ``[edges[j], edges[j+1])`` has probability
    ``weights[j] / sum(weights)``."""

    dist: Literal["histogram"]
    edges: list[Number] = Field(min_length=2)
    weights: list[Number] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape(self):
        if len(self.weights) != len(self.edges) - 1:
            raise ValueError(f"{len(self.edges)} edges need {len(self.edges) - 1} weights, "
                             f"got {len(self.weights)}")
        # consecutive pairs: the shifted copy is one shorter, so the zip stops early
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must increase")
        if any(w < 0 for w in self.weights) or not sum(self.weights) > 0:
            raise ValueError("weights must be non-negative with a positive sum")
        return self

    def ppf(self, u: np.ndarray, **_) -> np.ndarray:
        e = np.asarray(self.edges, float)
        w = np.asarray(self.weights, float) / float(sum(self.weights))
        cum = np.concatenate([[0.0], np.cumsum(w)])
        cum[-1] = 1.0
        j = np.clip(np.searchsorted(cum, u, side="right") - 1, 0, len(w) - 1)
        # empty bins are never selected: searchsorted skips bins of zero width in cum
        frac = np.where(w[j] > 0, (u - cum[j]) / np.where(w[j] > 0, w[j], 1.0), 0.0)
        return e[j] + np.clip(frac, 0.0, 1.0) * (e[j + 1] - e[j])

    def bounds(self):
        return (self.edges[0], self.edges[-1])


class NhanesTScore(_Dist):
    """Femoral-neck T-score of US women by age (see :func:`nhanes_t_score_model`)."""

    dist: Literal["nhanes"]

    def ppf(self, u: np.ndarray, age_years: np.ndarray | None = None, **_) -> np.ndarray:
        if age_years is None:
            raise ValueError("the nhanes T-score distribution needs the subjects' ages")
        m = nhanes_t_score_model()
        mean = m["mean_at_65"] + m["slope_per_year"] * (np.asarray(age_years) - 65.0)
        return _truncnorm_ppf(u, mean, m["sd"], *T_SCORE_RANGE)

    def bounds(self):
        return T_SCORE_RANGE


Distribution = Annotated[
    Uniform | Normal | TruncNormal | LogNormal | Histogram | NhanesTScore,
    Field(discriminator="dist"),
]
def _kind(v) -> str:
    return "distribution" if isinstance(v, (dict, BaseModel)) else "number"


#: a covariate: a fixed number, a distribution, or None (not sampled)
Covariate = Annotated[
    Annotated[Number, Tag("number")] | Annotated[Distribution, Tag("distribution")],
    Discriminator(_kind),
] | None


def _truncnorm_ppf(u, mean, sd, low, high):
    """Quantile ``u`` of Normal(``mean``, ``sd``) truncated to ``[low, high]``
    (``scipy.stats.truncnorm``, accurate far in the tails; ``mean`` may be an array)."""
    from scipy.stats import truncnorm

    mean = np.asarray(mean, float)
    x = truncnorm.ppf(u, (low - mean) / sd, (high - mean) / sd, loc=mean, scale=sd)
    return np.clip(x, low, high)  # loc + scale * z can round an ulp past a bound


@lru_cache(maxsize=1)
def nhanes_t_score_model() -> dict[str, float]:
    """The default femoral-neck T-score distribution of women: normal with a mean that
    falls linearly with age, fitted to NHANES prevalences (no other inputs).

    * slope of the mean with age: a normal fitted to each decade's osteoporosis and
      low-bone-mass prevalence (Wright 2014, femoral neck or spine; 50-59 .. 80+), its
      mean regressed on the decade's midpoint;
    * mean at 65 and SD: chosen so that women 50+ (weighted by the 2010 Census age
      decades, uniform within each decade, 80+ taken as 80-90) have the femoral-neck
      prevalences of NHANES 2005-2006: 10 % osteoporosis and 49 % osteopenia (Looker 2010).
    """
    from scipy.optimize import brentq
    from scipy.special import ndtr, ndtri

    op = np.array(WRIGHT2014_PREVALENCE["osteoporosis"])
    lbm = np.array(WRIGHT2014_PREVALENCE["low_bone_mass"])
    z_op, z_low = ndtri(op), ndtri(op + lbm)
    sd_dec = (T_LOW - T_OSTEOPOROSIS) / (z_low - z_op)
    mu_dec = T_LOW - z_low * sd_dec
    edges = np.array(US_WOMEN_2010["edges"])
    mids = 0.5 * (edges[:-1] + edges[1:])
    slope = float(np.polyfit(mids, mu_dec, 1)[0])

    w = np.array(US_WOMEN_2010["counts"], float)
    w /= w.sum()
    ages = np.concatenate([np.linspace(a + 0.05, b - 0.05, 100) for a, b in pairwise(edges)])
    weights = np.repeat(w / 100.0, 100)
    target_op = LOOKER2010_FN["osteoporosis"]
    target_low = LOOKER2010_FN["osteoporosis"] + LOOKER2010_FN["osteopenia"]

    def prevalence(mu65: float, sd: float, cut: float) -> float:
        return float(np.sum(weights * ndtr((cut - (mu65 + slope * (ages - 65.0))) / sd)))

    def mu_for(sd: float) -> float:  # the mean at 65 giving the low-bone-mass prevalence
        return brentq(lambda m: prevalence(m, sd, T_LOW) - target_low, -6.0, 4.0)

    sd = brentq(lambda s: prevalence(mu_for(s), s, T_OSTEOPOROSIS) - target_op, 0.3, 3.0)
    return {"mean_at_65": mu_for(sd), "slope_per_year": slope, "sd": sd}


def _check_range(name: str, v, lo: float, hi: float) -> None:
    """ValueError unless covariate ``name`` stays within ``[lo, hi]``: a fixed value
    (ages above 0), the bounds of a bounded distribution, the centre of an unbounded one
    (whose draws are clipped to the range)."""
    what = f"{lo:g}..{hi:g}"
    if v is None:
        return
    if isinstance(v, (int, float)):
        low_ok = v > lo if name.startswith("age") else v >= lo
        if not (low_ok and v <= hi):
            raise ValueError(f"{name} must be within {what}, got {v:g}")
        return
    a, b = v.bounds()
    if math.isfinite(b) and b > hi or math.isfinite(a) and a < lo:
        raise ValueError(f"{name}: the {v.dist} distribution reaches {a:g}..{b:g}, outside "
                         f"{what}")
    if hasattr(v, "centre") and not lo <= v.centre() <= hi:
        raise ValueError(f"{name}: the {v.dist} distribution is centred at {v.centre():g}, "
                         f"outside {what}")


# ----------------------------------------------------------------------------- the block
class Population(BaseModel):
    """The ``population:`` block of a scenario (every field optional).

    A field left out takes the scenario ``subject:`` block's value if it has one, else
    the default (:func:`defaults`); a field given as ``null`` is not sampled.
    """

    model_config = STRICT

    female_fraction: Number | None = Field(None, ge=0, le=1,
                                           description="probability a subject is female")
    age_years: Covariate = Field(None, description="human age at the start, years")
    age_weeks: Covariate = Field(None, description="mouse age at the start, weeks")
    menopause_age_years: Covariate = Field(
        None, description="women: age at natural menopause, years")
    years_since_menopause: Covariate = Field(
        None, description="women: years since menopause at the start")
    t_score: Covariate = Field(None, description="baseline femoral-neck T-score (DXA anchor)")
    abmd_ls: Covariate = Field(None, description="baseline lumbar spine aBMD, g/cm2 (DXA anchor)")
    abmd_th: Covariate = Field(None, description="baseline total hip aBMD, g/cm2 (DXA anchor)")
    activity: Covariate = Field(None, description="habitual loading relative to the reference (1)")
    variability: Flag = Field(True,
                              description="between-subject parameter variability (Parameter.cv)")

    @model_validator(mode="after")
    def _consistent(self):
        given = self.model_fields_set
        if "menopause_age_years" in given and "years_since_menopause" in given:
            raise ValueError("give menopause_age_years or years_since_menopause, not both")
        for name in ("age_years", "age_weeks", "menopause_age_years", "years_since_menopause",
                     "abmd_ls", "abmd_th", "activity"):
            v = getattr(self, name)
            if isinstance(v, NhanesTScore):  # pydantic reports ValueError, not TypeError
                raise ValueError(f"{name}: dist nhanes is for t_score only")  # noqa: TRY004
            lo = v if isinstance(v, (int, float)) else (v.bounds()[0] if v is not None else 0.0)
            if lo is not None and lo < 0 and name != "t_score":
                raise ValueError(f"{name}: values must not be negative (lower bound {lo:g}); "
                                 "use truncnormal, uniform or lognormal")
        for name, (lo, hi) in COVARIATE_RANGE.items():
            _check_range(name, getattr(self, name), lo, hi)
        return self

    def check_species(self, species: str) -> None:
        """Raise ValueError naming a field that does not apply to ``species``."""
        given = self.model_fields_set
        human_only = ("age_years", "menopause_age_years", "years_since_menopause", "t_score",
                      "abmd_ls", "abmd_th")
        if species == "mouse":
            bad = [f for f in human_only if f in given and getattr(self, f) is not None]
            if bad:
                raise ValueError(f"population.{bad[0]} is for human cohorts (mice: age_weeks, "
                                 "female_fraction, activity, variability)")
        elif "age_weeks" in given and self.age_weeks is not None:
            raise ValueError("population.age_weeks is for mice; humans use age_years")


def defaults(species: str) -> dict[str, object]:
    """The default distribution of each covariate for ``species`` (None: not sampled).

    Human (a population of women 50-80): age piecewise uniform over 50-60-70-80 in
    proportion to the 2010 US Census counts of women per decade (Wright 2014); natural
    menopause truncated normal, mean 51, SD 4, 40-60 years (Gold 2013); femoral-neck
    T-score by age from NHANES (:func:`nhanes_t_score_model`, women only); activity not
    sampled (no population distribution of habitual skeletal loading in the model's
    units could be sourced). Mouse: the reference age (12 weeks), no other covariate.
    """
    if species == "human":
        e, c = US_WOMEN_2010["edges"], US_WOMEN_2010["counts"]
        return {
            "female_fraction": 1.0,
            "age_years": Histogram(dist="histogram", edges=list(e[:4]),
                                   weights=[float(x) for x in c[:3]]),
            "menopause_age_years": TruncNormal(dist="truncnormal", mean=_menopause_mean(),
                                               sd=MENOPAUSE_SD_YEARS, low=MENOPAUSE_RANGE_YEARS[0],
                                               high=MENOPAUSE_RANGE_YEARS[1]),
            "years_since_menopause": None,
            "t_score": NhanesTScore(dist="nhanes"),
            "abmd_ls": None,
            "abmd_th": None,
            "activity": None,
        }
    return {"female_fraction": 1.0, "age_weeks": None, "activity": None}


def _menopause_mean() -> float:
    return MENOPAUSE_AGE_YEARS


def resolve(population: Population | None, species: str, subject) -> dict[str, object]:
    """Each covariate's effective specification: the population block's field if given,
    else the subject block's value, else :func:`defaults` (``subject`` is a
    :class:`~neurobone.scenario.schema.Subject`)."""
    pop = population or Population()
    given = pop.model_fields_set
    out = dict(defaults(species))
    if species == "mouse":
        out["age_weeks"] = subject.age_weeks
        fields = ("female_fraction", "age_weeks", "activity")
    else:
        fields = ("female_fraction", "age_years", "menopause_age_years", "years_since_menopause",
                  "t_score", "abmd_ls", "abmd_th", "activity")
        for name in ("age_years", "t_score", "abmd_ls", "abmd_th"):
            if getattr(subject, name) is not None:
                out[name] = getattr(subject, name)
        if subject.years_since_menopause is not None:
            out["years_since_menopause"] = subject.years_since_menopause
            out["menopause_age_years"] = None
        elif subject.menopause_age_years is not None:
            out["menopause_age_years"] = subject.menopause_age_years
            out["years_since_menopause"] = None
    if subject.sex is not None:
        out["female_fraction"] = 1.0 if subject.sex == "female" else 0.0
    for name in fields:
        if name in given:
            out[name] = getattr(pop, name)
            if name == "years_since_menopause":
                out["menopause_age_years"] = None
            elif name == "menopause_age_years":
                out["years_since_menopause"] = None
    if out.get("female_fraction") is None:
        out["female_fraction"] = 1.0
    out["variability"] = pop.variability
    return out


def describe(spec: dict[str, object]) -> dict[str, str]:
    """One readable line per covariate of a resolved specification."""
    def text(v):
        if v is None:
            return "not sampled"
        if isinstance(v, (int, float, bool)):
            return f"{v:g}" if not isinstance(v, bool) else str(v).lower()
        d = v.model_dump()
        kind = d.pop("dist")
        return f"{kind}(" + ", ".join(f"{k}={val}" for k, val in d.items()) + ")"
    return {k: text(v) for k, v in spec.items()}


def age_lower_bound_days(spec: dict[str, object], species: str) -> float:
    """The lowest age (days) the specification can produce (0 if unbounded below)."""
    name, unit = (("age_years", DAYS_PER_YEAR) if species == "human"
                  else ("age_weeks", DAYS_PER_WEEK))
    v = spec.get(name)
    if v is None:
        return math.nan
    if isinstance(v, (int, float)):
        return float(v) * unit
    lo = v.bounds()[0]
    return max(lo, 0.0) * unit if math.isfinite(lo) else 0.0


# ----------------------------------------------------------------------------- sampling
def uniforms(seed: int, first: int, n: int) -> np.ndarray:
    """The covariate uniforms of subjects ``first .. first+n-1``: shape ``(n, len(SLOTS))``,
    subject ``i``'s row from its own stream keyed by ``(seed, i)``."""
    from neurobone.scenario.variability import key, stream

    arm, purpose = key(COHORT_ARM), key("covariates")
    out = np.empty((n, len(SLOTS)))
    for row in range(n):
        out[row] = stream(seed, arm, first + row, purpose).random(len(SLOTS))
    return out


def _draw(v, u: np.ndarray, name: str | None = None, **kw) -> np.ndarray:
    if v is None:
        return np.full(len(u), np.nan)
    if isinstance(v, (int, float)):
        return np.full(len(u), float(v))
    x = np.asarray(v.ppf(u, **kw), float)
    if name in COVARIATE_RANGE:  # the tails of unbounded distributions
        x = np.clip(x, *COVARIATE_RANGE[name])
    return x


def sample_covariates(spec: dict[str, object], species: str, seed: int, first: int, n: int,
                      age_default_days: float) -> pd.DataFrame:
    """Covariates of subjects ``first .. first+n-1`` (one row each, index ``subject``).

    ``spec`` is a resolved specification (:func:`resolve`); ``age_default_days`` is the
    age of subjects whose age is not sampled (the model's reference age). Columns:
    ``sex``, ``age_days``, ``age_years`` (human) or ``age_weeks`` (mouse), and for humans
    ``menopause_age_years``, ``years_since_menopause`` (NaN before menopause),
    ``postmenopausal``, ``t_score``, ``abmd_ls``, ``abmd_th`` (NaN: not anchored), and
    ``activity``.
    """
    U = uniforms(seed, first, n)
    col = {s: U[:, i] for i, s in enumerate(SLOTS)}
    female = col["sex"] < float(spec["female_fraction"])
    df = pd.DataFrame(index=pd.RangeIndex(first, first + n, name="subject"))
    df["sex"] = np.where(female, "female", "male")
    if species == "human":
        age_y = _draw(spec["age_years"], col["age"], "age_years")
        age_d = np.where(np.isnan(age_y), age_default_days, age_y * DAYS_PER_YEAR)
        df["age_days"] = age_d
        df["age_years"] = age_d / DAYS_PER_YEAR
        age_y = df["age_years"].to_numpy()
        if spec.get("years_since_menopause") is not None:
            ysm = np.minimum(_draw(spec["years_since_menopause"], col["menopause"],
                                   "years_since_menopause"), age_y)
            meno = age_y - ysm
        else:
            meno = _draw(spec.get("menopause_age_years"), col["menopause"], "menopause_age_years")
        meno = np.where(female, meno, np.nan)
        post = female & (meno <= age_y)
        df["menopause_age_years"] = meno
        df["years_since_menopause"] = np.where(post, age_y - meno, np.nan)
        df["postmenopausal"] = post
        t = _draw(spec["t_score"], col["t_score"], "t_score", age_years=age_y)
        if isinstance(spec["t_score"], NhanesTScore):
            t = np.where(female, t, np.nan)  # the NHANES default describes women
        df["t_score"] = t
        df["abmd_ls"] = _draw(spec["abmd_ls"], col["abmd_ls"], "abmd_ls")
        df["abmd_th"] = _draw(spec["abmd_th"], col["abmd_th"], "abmd_th")
    else:
        age_w = _draw(spec.get("age_weeks"), col["age"], "age_weeks")
        age_d = np.where(np.isnan(age_w), age_default_days, age_w * DAYS_PER_WEEK)
        df["age_days"] = age_d
        df["age_weeks"] = age_d / DAYS_PER_WEEK
    act = _draw(spec.get("activity"), col["activity"], "activity")
    df["activity"] = np.where(np.isnan(act), 1.0, act)
    return df


def sample_parameters(model, base: np.ndarray, seed: int, first: int, n: int,
                      variability: bool = True) -> tuple[np.ndarray, list]:
    """Parameter vectors of subjects ``first .. first+n-1`` and the varied parameters.

    ``base`` is the cohort's parameter vector (homeostatic references resolved). Each
    parameter with ``cv > 0`` is multiplied by a median-1 log-normal factor drawn as for a
    study's animals (:func:`neurobone.scenario.variability.draw_factors`, arm ``"cohort"``),
    so a subject's parameters depend on ``(seed, index)`` only.
    """
    from neurobone.scenario.variability import apply_factors, draw_factors, variations

    if not variability:
        return np.tile(np.asarray(base, float), (n, 1)), []
    factors = draw_factors(model, seed, COHORT_ARM, n, first)
    return apply_factors(base, model, factors), variations(model)
