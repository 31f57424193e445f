"""The person a prescription is for, checked: what the model can be told about them.

A :class:`Person` holds the characteristics ``neurobone prescribe`` takes (a human;
age, sex, menopause, spine and femoral-neck T-scores) and turns them into a scenario's
``subject:`` block. Values a person cannot have (an age of 7, a T-score of -9) are
refused with one line naming the field and its valid range: the model says nothing about
children, and a T-score below -6 is not a measurement.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from neurobone.errors import InputError
from neurobone.scenario.population import T_SCORE_RANGE

#: adults only: the model's human reference is a young adult at peak bone mass
AGE_RANGE = (20.0, 100.0)
SEXES = ("female", "male")


def _number(name: str, value, lo: float, hi: float, unit: str = "") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{name}: must be a finite number, got {value!r}")
    if not lo <= value <= hi:
        raise InputError(f"{name}: {value:g}{unit} is outside the valid range {lo:g} to {hi:g}"
                         f"{unit}")
    return float(value)


@dataclass(frozen=True)
class Person:
    """A person (human) to prescribe for.

    Parameters
    ----------
    age : years, 20-100.
    sex : ``"female"`` or ``"male"``.
    t_score_spine, t_score : lumbar spine and femoral neck T-scores (-6 to 4), optional;
        they anchor the model's DXA outputs and set the safety rules.
    menopause_age : women: age at the final menstrual period (years; may lie ahead);
        default the model's rule (51).
    """

    age: float
    sex: str = "female"
    t_score_spine: float | None = None
    t_score: float | None = None
    menopause_age: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "age", _number("age", self.age, *AGE_RANGE, " years"))
        if self.age is None:
            raise InputError(f"age: required, {AGE_RANGE[0]:g} to {AGE_RANGE[1]:g} years")
        if self.sex not in SEXES:
            raise InputError(f"sex: {self.sex!r} is not valid; valid: {', '.join(SEXES)}")
        for name in ("t_score_spine", "t_score"):
            object.__setattr__(self, name, _number(name.replace("_", "-"), getattr(self, name),
                                                   *T_SCORE_RANGE))
        meno = _number("menopause-age", self.menopause_age, 30.0, 65.0, " years")
        if meno is not None and self.sex != "female":
            raise InputError("menopause-age: only for women (sex female)")
        object.__setattr__(self, "menopause_age", meno)

    @property
    def lowest_t_score(self) -> float | None:
        """The lower of the two T-scores given (None if neither)."""
        given = [t for t in (self.t_score_spine, self.t_score) if t is not None]
        return min(given) if given else None

    def subject(self) -> dict:
        """The scenario ``subject:`` block of this person."""
        out: dict = {"sex": self.sex, "age_years": self.age}
        if self.t_score_spine is not None:
            out["t_score_spine"] = self.t_score_spine
        if self.t_score is not None:
            out["t_score"] = self.t_score
        if self.menopause_age is not None:
            out["menopause_age_years"] = self.menopause_age
        return out

    def describe(self) -> str:
        bits = [f"{self.age:g}-year-old {'woman' if self.sex == 'female' else 'man'}"]
        if self.t_score_spine is not None:
            bits.append(f"spine T-score {self.t_score_spine:+.1f}")
        if self.t_score is not None:
            bits.append(f"femoral-neck T-score {self.t_score:+.1f}")
        if self.menopause_age is not None:
            bits.append(f"menopause at {self.menopause_age:g}")
        return ", ".join(bits)
