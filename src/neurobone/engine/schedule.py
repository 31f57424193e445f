"""Timed parameter overrides and the piecewise-constant segments they induce.

Every discontinuity in neurobone (an exercise day, a drug switched on, surgery) is a
parameter that takes a value between day ``start`` and day ``end``. The engines
integrate exactly between consecutive change points, so no jump is ever smoothed over.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from neurobone.errors import InputError


@dataclass(frozen=True)
class Override:
    """Parameter ``name`` takes ``value`` on ``[start, end)`` (days; ``end=inf`` for ever).

    ``weekdays`` restricts it to whole days ``[d, d+1)`` with ``d % 7`` in the tuple (day 0
    is weekday 0): a 5-days-a-week exercise programme is ``weekdays=(0, 1, 2, 3, 4)``.
    Later overrides of the same parameter win where they overlap.
    """

    name: str
    value: float
    start: float = 0.0
    end: float = math.inf
    weekdays: tuple[int, ...] | None = None

    def active(self, t: float) -> bool:
        """Whether the override is in force at time ``t`` (right-continuous)."""
        if not (self.start <= t < self.end):
            return False
        return self.weekdays is None or int(math.floor(t)) % 7 in self.weekdays

    def intervals(self, t0: float, t1: float) -> list[tuple[float, float]]:
        """The maximal intervals within ``[t0, t1]`` where the override is in force."""
        a, b = max(self.start, t0), min(self.end, t1)
        if b <= a:
            return []
        if self.weekdays is None or len(set(self.weekdays)) == 7:
            return [(a, b)]
        out: list[tuple[float, float]] = []
        d = math.floor(a)
        while d < b:
            if d % 7 in self.weekdays:
                lo, hi = max(a, d), min(b, d + 1)
                if out and out[-1][1] == lo:
                    out[-1] = (out[-1][0], hi)
                else:
                    out.append((lo, hi))
            d += 1
        return out

    def __post_init__(self) -> None:
        if not (self.end > self.start):
            raise InputError(
                f"override {self.name}: end day {self.end:g} must be after start day {self.start:g}"
            )
        if self.start < 0:
            raise InputError(f"override {self.name}: start day {self.start:g} is negative")
        if self.weekdays is not None and not all(0 <= d <= 6 for d in self.weekdays):
            raise InputError(f"override {self.name}: weekdays must be integers 0-6")


_SET = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*([^@]+?)\s*(?:@\s*([^:]*)\s*:\s*(.*)\s*)?$")


def parse_set(text: str) -> Override:
    """Parse ``NAME=VALUE`` or ``NAME=VALUE@START:END`` (END may be empty: for ever)."""
    m = _SET.match(text)
    if not m:
        raise InputError(
            f"malformed --set {text!r}; expected NAME=VALUE or NAME=VALUE@START:END (days)"
        )
    name, value, start, end = m.groups()
    try:
        val = float(value)
    except ValueError:
        raise InputError(f"--set {text!r}: value {value!r} is not a number") from None
    if start is None:
        return Override(name, val)
    try:
        s = float(start) if start.strip() else 0.0
        e = float(end) if end.strip() else math.inf
    except ValueError:
        raise InputError(f"--set {text!r}: START and END must be numbers of days") from None
    return Override(name, val, s, e)


def change_points(overrides: Iterable[Override], t0: float, t1: float) -> list[float]:
    """Sorted segment boundaries in [t0, t1], including both ends."""
    pts = {t0, t1}
    for o in overrides:
        for a, b in o.intervals(t0, t1):
            for t in (a, b):
                if t0 < t < t1:
                    pts.add(float(t))
    return sorted(pts)


def parameters_at(base: np.ndarray, index: dict[str, int], overrides: Sequence[Override],
                  t: float) -> np.ndarray:
    """Parameter vector in force on the segment starting at ``t`` (right-continuous)."""
    p = base.copy()
    for o in overrides:
        if o.active(t):
            p[index[o.name]] = o.value
    return p
