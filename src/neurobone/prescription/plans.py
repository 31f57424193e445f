"""The space of weekly exercise plans a prescription searches, and its safety rules.

A :class:`Plan` is a set of :class:`Session` kinds, at most one per modality: a modality,
sessions a week, minutes a session and an intensity (in the modality's own unit,
docs/scenarios.md). The space is a grid, one row per modality in
``neurobone/data/exercise_safety.csv``, with its source:

- the intensities and session lengths allowed (the grid's values);
- at most ``max_days_per_week`` sessions a week of it;
- the lowest T-score (the lower of spine and femoral neck) and the oldest age at which it
  is offered at all (high-impact modalities are not offered with osteoporosis);
- whether it needs supervision (said with the plan).

A plan is feasible for a person when every session kind is allowed for them, the
sessions fit in a week (one session a day: at most 7), and its minutes a week do not
exceed the person's limit. Plans the search compares against (the guideline plan, a
LIFTMOR-like programme) are evaluated even where they break a limit, and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from neurobone.errors import InputError
from neurobone.prescription.person import Person

DATA_FILE = "exercise_safety.csv"
DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class Rule:
    """What the plan space allows of one modality (a row of exercise_safety.csv)."""

    modality: str
    field: str
    intensities: tuple[float, ...]
    minutes: tuple[float, ...]
    max_days: int
    min_t_score: float
    max_age: float
    supervised: bool
    source: str
    note: str

    def allows(self, person: Person) -> str:
        """Why this modality is not offered to ``person`` ("" when it is)."""
        t = person.lowest_t_score
        # the floor itself is excluded: osteoporosis is a T-score of -2.5 *or lower* (WHO)
        if t is not None and t <= self.min_t_score:
            return (f"not offered at or below a T-score of {self.min_t_score:g} "
                    f"({self.source})")
        if person.age > self.max_age:
            return f"not offered above {self.max_age:g} years ({self.source})"
        return ""


@lru_cache(maxsize=1)
def rules() -> dict[str, Rule]:
    """The safety rules by modality (human modalities of the plan space)."""
    with resources.files("neurobone.data").joinpath(DATA_FILE).open() as fh:
        df = pd.read_csv(fh)

    def floats(text) -> tuple[float, ...]:
        return tuple(float(x) for x in str(text).split(";"))

    return {r.modality: Rule(r.modality, r.intensity_field, floats(r.intensities),
                             floats(r.minutes), int(r.max_days_per_week), float(r.min_t_score),
                             float(r.max_age_years), r.supervised == "yes", r.source, r.note)
            for r in df.itertuples(index=False)}


@dataclass(frozen=True, order=True)
class Session:
    """One kind of session of a weekly plan."""

    modality: str
    days_per_week: int
    minutes: float
    intensity: float

    def block(self, weekdays: list[int], start_day: float = 0.0,
              end_day: float | None = None) -> dict:
        """The scenario ``exercise:`` block of these sessions on ``weekdays``."""
        field = rules()[self.modality].field
        out = {"modality": self.modality, field: self.intensity, "minutes": self.minutes,
               "days_per_week": self.days_per_week, "weekdays": weekdays,
               "start_day": start_day}
        if end_day is not None:
            out["end_day"] = end_day
        return out

    def to_json(self) -> dict:
        return {"modality": self.modality, "minutes": self.minutes,
                "days_per_week": self.days_per_week, "intensity": self.intensity,
                "intensity_unit": rules()[self.modality].field,
                "supervised": rules()[self.modality].supervised}

    def describe(self) -> str:
        field = rules()[self.modality].field
        return (f"{self.modality} {self.minutes:g} min x {self.days_per_week}/week "
                f"({field} {self.intensity:g})")


@dataclass(frozen=True)
class Plan:
    """A weekly plan: session kinds sorted by modality (an empty plan is no exercise)."""

    sessions: tuple[Session, ...] = ()

    @classmethod
    def of(cls, *sessions: Session) -> "Plan":
        return cls(tuple(sorted(sessions)))

    @property
    def minutes_per_week(self) -> float:
        return sum(s.minutes * s.days_per_week for s in self.sessions)

    @property
    def days(self) -> int:
        return sum(s.days_per_week for s in self.sessions)

    def weekdays(self) -> dict[Session, list[int]]:
        """The weekdays of each session kind: the kinds with most sessions first, each
        spread evenly over the days still free (one session a day)."""
        if self.days > DAYS_PER_WEEK:
            raise InputError(f"{self.days} sessions a week: one a day at most")
        free = list(range(DAYS_PER_WEEK))
        out = {}
        for s in sorted(self.sessions, key=lambda s: (-s.days_per_week, s)):
            n = len(free)
            picked = [free[(i * n) // s.days_per_week] for i in range(s.days_per_week)]
            out[s] = sorted(picked)
            free = [d for d in free if d not in picked]
        return out

    def blocks(self, start_day: float = 0.0, end_day: float | None = None) -> list[dict]:
        """The scenario ``exercise:`` blocks of the plan (one session a day)."""
        days = self.weekdays()
        return [s.block(days[s], start_day, end_day) for s in self.sessions]

    def describe(self) -> str:
        return " + ".join(s.describe() for s in self.sessions) or "no exercise"

    def to_json(self) -> list[dict]:
        return [s.to_json() for s in self.sessions]

    def problems(self, person: Person, max_minutes: float, allowed: frozenset[str]) -> list[str]:
        """What makes this plan infeasible for ``person`` (empty: feasible)."""
        out = []
        table = rules()
        for s in self.sessions:
            rule = table.get(s.modality)
            if rule is None:
                out.append(f"{s.modality}: not in the plan space")
                continue
            if s.modality not in allowed:
                out.append(f"{s.modality}: excluded")
            why = rule.allows(person)
            if why:
                out.append(f"{s.modality}: {why}")
            if s.days_per_week > rule.max_days:
                out.append(f"{s.modality}: {s.days_per_week} sessions a week, at most "
                           f"{rule.max_days} ({rule.source})")
            if s.intensity > max(rule.intensities) + 1e-9:
                out.append(f"{s.modality}: {rule.field} {s.intensity:g} above "
                           f"{max(rule.intensities):g} ({rule.source})")
        if self.days > DAYS_PER_WEEK:
            out.append(f"{self.days} sessions a week: one a day at most")
        if self.minutes_per_week > max_minutes + 1e-9:
            out.append(f"{self.minutes_per_week:g} minutes a week, above the limit of "
                       f"{max_minutes:g}")
        return out


def allowed_modalities(person: Person, exclude: tuple[str, ...] = ()) -> frozenset[str]:
    """The modalities the search may use for ``person`` (``exclude`` checked)."""
    table = rules()
    bad = sorted(set(exclude) - set(table))
    if bad:
        raise InputError(f"exclude: unknown modality {bad[0]!r}; valid: {', '.join(table)}")
    return frozenset(m for m, r in table.items() if m not in exclude and not r.allows(person))


def neighbours(plan: Plan, modalities: frozenset[str]) -> list[Plan]:
    """Plans one step away: a session kind's days, minutes or intensity one grid step up or
    down (days down to 0 removes it), or a new modality added at one session a week (each
    of its intensities, its shortest session)."""
    table = rules()
    out: list[Plan] = []
    present = {s.modality for s in plan.sessions}
    for i, s in enumerate(plan.sessions):
        rule = table[s.modality]
        rest = plan.sessions[:i] + plan.sessions[i + 1:]
        options = []
        for d in (s.days_per_week - 1, s.days_per_week + 1):
            if d == 0:
                out.append(Plan.of(*rest))
            elif d <= rule.max_days:
                options.append(Session(s.modality, d, s.minutes, s.intensity))
        for grid, value, make in (
                (rule.minutes, s.minutes,
                 lambda v, s=s: Session(s.modality, s.days_per_week, v, s.intensity)),
                (rule.intensities, s.intensity,
                 lambda v, s=s: Session(s.modality, s.days_per_week, s.minutes, v))):
            k = grid.index(value) if value in grid else None
            if k is None:
                continue
            for j in (k - 1, k + 1):
                if 0 <= j < len(grid):
                    options.append(make(grid[j]))
        out += [Plan.of(*rest, o) for o in options]
    for m in sorted(modalities - present):
        rule = table[m]
        out += [Plan.of(*plan.sessions, Session(m, 1, rule.minutes[0], v))
                for v in rule.intensities]
    return out


#: plans every prescription is compared with (evaluated even where they break a limit)
COMMON_PLANS = {
    "no exercise": Plan(),
    "guideline: 150 min/week walking + 2 strength sessions": Plan.of(
        Session("walking", 5, 30.0, 5.0), Session("resistance", 2, 45.0, 70.0)),
    "LIFTMOR-like: high-intensity resistance and impact 2x/week": Plan.of(
        Session("hiit_resistance_impact", 2, 30.0, 85.0)),
}

#: the plans a trial period may have followed, by short name (command line and web form)
TRIAL_PLANS = {
    "none": Plan(),
    "guideline": COMMON_PLANS["guideline: 150 min/week walking + 2 strength sessions"],
    "liftmor": COMMON_PLANS["LIFTMOR-like: high-intensity resistance and impact 2x/week"],
}
