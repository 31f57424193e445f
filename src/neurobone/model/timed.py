"""Timed parameter values: the way every discontinuity enters a model.

An exercise day, a drug switched on, surgery: each is a parameter that takes a value
between day ``start`` and day ``end``, optionally on some weekdays only -- an
:class:`Override`. The engines turn a subject's overrides into rows of a
:class:`~neurobone.engine.schedule.Schedule` and integrate exactly to every change point
they imply; SBML export writes them as events.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from typing import Iterable

from neurobone.errors import InputError

#: weekday mask with every day set
ALL_DAYS = 0x7F


@dataclass(frozen=True)
class Override:
    """Parameter ``name`` takes ``value`` on ``[start, end)`` (days; ``end=inf``: for ever).

    ``weekdays`` restricts it to whole days ``[d, d+1)`` with ``d % 7`` in the tuple (day 0
    is weekday 0): a 5-days-a-week programme is ``weekdays=(0, 1, 2, 3, 4)``. Where
    overrides of one parameter overlap, the later one wins.
    """

    name: str
    value: float
    start: float = 0.0
    end: float = math.inf
    weekdays: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise InputError(f"override name must be a parameter name, got {self.name!r}")
        for attr in ("value", "start", "end"):
            x = getattr(self, attr)
            if isinstance(x, bool) or not isinstance(x, numbers.Real):
                raise InputError(f"override {self.name!r}: {attr} must be a number, got {x!r}")
            object.__setattr__(self, attr, float(x))
        if not math.isfinite(self.value):
            raise InputError(f"override {self.name!r}: value {self.value!r} is not a finite "
                             "number")
        if math.isnan(self.start) or math.isnan(self.end) or not (self.end > self.start):
            raise InputError(f"override {self.name!r}: end day {self.end:g} must be after "
                             f"start day {self.start:g}")
        if self.start < 0 or not math.isfinite(self.start):
            raise InputError(f"override {self.name!r}: start day {self.start:g} must be a "
                             "non-negative number")
        if self.weekdays is not None:
            try:
                days = tuple(self.weekdays)
            except TypeError:
                days = (self.weekdays,)
            if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool)
                       and 0 <= d <= 6 for d in days):
                raise InputError(f"override {self.name!r}: weekdays must be integers 0-6, "
                                 f"got {self.weekdays!r}")
            object.__setattr__(self, "weekdays", tuple(int(d) for d in days))

    def shifted(self, days: float) -> "Override":
        """The same override ``days`` later."""
        return Override(self.name, self.value, self.start + days, self.end + days, self.weekdays)


_SET = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*([^@]+?)\s*(?:@\s*([^:]*)\s*:\s*(.*)\s*)?$")


def parse_set(text: str) -> Override:
    """``NAME=VALUE`` or ``NAME=VALUE@START:END`` (END may be empty: for ever)."""
    m = _SET.match(text)
    if not m:
        raise InputError(f"malformed --set {text!r}; expected NAME=VALUE or "
                         "NAME=VALUE@START:END (days)")
    name, value, start, end = m.groups()
    try:
        val = float(value)
    except ValueError:
        raise InputError(f"--set {text!r}: value {value!r} is not a number") from None
    if not math.isfinite(val):  # nan, inf, and numbers beyond 1.8e308 (inf as floats)
        raise InputError(f"--set {text!r}: value must be a finite number")
    if start is None:
        return Override(name, val)
    try:
        s = float(start) if start.strip() else 0.0
        e = float(end) if end.strip() else math.inf
    except ValueError:
        raise InputError(f"--set {text!r}: START and END must be numbers of days") from None
    return Override(name, val, s, e)


def weekday_mask(weekdays: Iterable[int] | None) -> int:
    """Bit mask of ``weekdays`` (bit d set for weekday d); ``None`` means every day."""
    if weekdays is None:
        return ALL_DAYS
    m = 0
    for d in weekdays:
        d = int(d)
        if not 0 <= d <= 6:
            raise InputError(f"weekdays must be integers 0-6, got {d}")
        m |= 1 << d
    return m


def mask_weekdays(mask: int) -> tuple[int, ...] | None:
    """Inverse of :func:`weekday_mask`."""
    mask = int(mask)
    if mask == ALL_DAYS:
        return None
    return tuple(d for d in range(7) if mask >> d & 1)
