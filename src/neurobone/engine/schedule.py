"""Schedules: N subjects' timed overrides as compact rows for the engines.

A subject's :class:`~neurobone.model.timed.Override` list becomes rows of a
:class:`Schedule`; the engines integrate exactly to every change point the rows imply
(no jump is ever smoothed over) and find those points from the rows as they go
(:mod:`neurobone.engine.numerics.rows`), so a weekly programme over years is one row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from neurobone.errors import InputError
from neurobone.model.timed import ALL_DAYS, Override, mask_weekdays, weekday_mask

_I = np.int64


def _empty_rows():
    z = np.zeros(0)
    return np.zeros(0, _I), z, z.copy(), z.copy(), np.zeros(0, _I)


@dataclass
class Schedule:
    """The timed overrides of N subjects as compact rows.

    Row ``r`` sets parameter ``pindex[r]`` to ``value[r]`` on ``[start[r], end[r])`` on the
    weekdays whose bits are set in ``mask[r]``, exactly as an :class:`Override`. Rows are
    *shared* (every subject) or a subject's own (``offsets[i]:offsets[i+1]``); a subject's
    own rows come after the shared ones, and the later row wins where they overlap.
    """

    n_subjects: int
    parameter_names: tuple[str, ...]
    offsets: np.ndarray  # int64 (n_subjects + 1,)
    pindex: np.ndarray  # int64
    value: np.ndarray  # float64
    start: np.ndarray  # float64
    end: np.ndarray  # float64
    mask: np.ndarray  # int64
    shared_pindex: np.ndarray = field(default_factory=lambda: np.zeros(0, _I))
    shared_value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shared_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shared_end: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shared_mask: np.ndarray = field(default_factory=lambda: np.zeros(0, _I))

    # ------------------------------------------------------------------ building
    @classmethod
    def empty(cls, parameter_names: Sequence[str], n: int) -> "Schedule":
        """No overrides for ``n`` subjects."""
        return cls(n, tuple(parameter_names), np.zeros(n + 1, _I), *_empty_rows())

    @classmethod
    def from_overrides(cls, parameter_names: Sequence[str],
                       subjects: Sequence[Sequence[Override]] | None = None, *,
                       shared: Sequence[Override] = (), n: int | None = None) -> "Schedule":
        """One list of :class:`Override` per subject (``subjects``) plus ``shared`` ones;
        ``n`` is needed only without ``subjects`` (every subject then gets ``shared``)."""
        names = tuple(parameter_names)
        index = {name: i for i, name in enumerate(names)}
        if subjects is None:
            if n is None:
                raise InputError("Schedule.from_overrides needs per-subject overrides or n")
            subjects = [()] * n
        if n is not None and len(subjects) != n:
            raise InputError(f"{len(subjects)} schedules given for {n} subjects")
        counts = np.zeros(len(subjects) + 1, _I)
        rows = []
        for i, ovs in enumerate(subjects):
            rows += [_row(o, index) for o in ovs]
            counts[i + 1] = len(ovs)
        out = cls(len(subjects), names, np.cumsum(counts), *_columns(rows))
        (out.shared_pindex, out.shared_value, out.shared_start, out.shared_end,
         out.shared_mask) = _columns([_row(o, index) for o in shared])
        return out

    @classmethod
    def from_arrays(cls, parameter_names: Sequence[str], n: int, subject, parameter, value,
                    start, end, mask=ALL_DAYS) -> "Schedule":
        """From columns, one row per override (``subject`` -1: shared). ``parameter`` holds
        names or indices, ``mask`` weekday masks (:func:`weekday_mask`). Rows keep their
        order within a subject."""
        names = tuple(parameter_names)
        subject = np.asarray(subject, _I)
        k = len(subject)
        param = np.asarray(parameter)
        if param.dtype.kind in "US" or param.dtype == object:
            index = {name: i for i, name in enumerate(names)}
            bad = sorted({str(x) for x in param if x not in index})
            if bad:
                raise InputError(f"unknown parameters {bad}; valid: {', '.join(sorted(names))}")
            pidx = np.array([index[x] for x in param], _I)
        else:
            pidx = param.astype(_I)
        if np.any((pidx < 0) | (pidx >= len(names))):
            raise InputError("parameter index out of range")
        value = np.broadcast_to(np.asarray(value, float), (k,))
        start = np.broadcast_to(np.asarray(start, float), (k,))
        end = np.broadcast_to(np.asarray(end, float), (k,))
        mask = np.broadcast_to(np.asarray(mask, _I), (k,))
        if np.any(subject >= n) or np.any(subject < -1):
            raise InputError(f"subject index out of range 0..{n - 1}")
        if (np.any(~(end > start)) or np.any(~(start >= 0)) or np.any(~np.isfinite(start))
                or np.any(~np.isfinite(value))):
            raise InputError("every override needs finite 0 <= start < end and a finite value")
        if np.any((mask < 0) | (mask > ALL_DAYS)):
            raise InputError("weekday masks must be within 0..127")
        sh = subject < 0
        own = np.nonzero(~sh)[0]
        order = own[np.argsort(subject[own], kind="stable")]
        counts = np.bincount(subject[own], minlength=n)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(_I)
        out = cls(n, names, offsets, pidx[order].copy(), value[order].copy(),
                  start[order].copy(), end[order].copy(), mask[order].copy())
        s = np.nonzero(sh)[0]
        out.shared_pindex, out.shared_value = pidx[s].copy(), value[s].copy()
        out.shared_start, out.shared_end = start[s].copy(), end[s].copy()
        out.shared_mask = mask[s].copy()
        return out

    # ------------------------------------------------------------------ access
    @property
    def n_rows(self) -> int:
        return len(self.pindex) + len(self.shared_pindex)

    @property
    def columns(self) -> tuple[np.ndarray, ...]:
        """The eleven arrays the kernels take: shared rows, offsets, own rows."""
        return (self.shared_pindex, self.shared_value, self.shared_start, self.shared_end,
                self.shared_mask, self.offsets, self.pindex, self.value, self.start, self.end,
                self.mask)

    @property
    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.columns))

    def for_subject(self, i: int) -> list[Override]:
        """Subject ``i``'s schedule as :class:`Override` objects (shared rows first)."""
        names = self.parameter_names
        out = [Override(names[q], float(v), float(a), float(b), mask_weekdays(w))
               for q, v, a, b, w in zip(self.shared_pindex, self.shared_value,
                                        self.shared_start, self.shared_end, self.shared_mask,
                                        strict=True)]
        lo, hi = self.offsets[i], self.offsets[i + 1]
        out += [Override(names[self.pindex[r]], float(self.value[r]), float(self.start[r]),
                         float(self.end[r]), mask_weekdays(self.mask[r])) for r in range(lo, hi)]
        return out

    def take(self, indices) -> "Schedule":
        """The schedule of the subjects ``indices`` (in that order, renumbered from 0)."""
        indices = np.asarray(indices, _I)
        lo, hi = self.offsets[indices], self.offsets[indices + 1]
        counts = hi - lo
        # the row numbers of every subject in turn: lo[i], lo[i]+1, ..., hi[i]-1
        rows = np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        return Schedule(
            len(indices), self.parameter_names,
            np.concatenate([[0], np.cumsum(counts)]).astype(_I),
            self.pindex[rows], self.value[rows], self.start[rows], self.end[rows],
            self.mask[rows], self.shared_pindex, self.shared_value, self.shared_start,
            self.shared_end, self.shared_mask)

    def slice(self, lo: int, hi: int) -> "Schedule":
        """The schedule of subjects ``lo .. hi-1`` (renumbered from 0)."""
        return self.take(np.arange(lo, hi))

    def __len__(self) -> int:
        return self.n_subjects

    def __repr__(self) -> str:
        return (f"<Schedule {self.n_subjects} subjects, {len(self.pindex)} own rows, "
                f"{len(self.shared_pindex)} shared rows, {self.nbytes / 1e6:.2f} MB>")


def _row(o: Override, index: dict[str, int]) -> tuple[int, float, float, float, int]:
    if o.name not in index:
        raise InputError(f"unknown parameter {o.name!r}; valid: {', '.join(sorted(index))}")
    return (index[o.name], float(o.value), float(o.start), float(o.end),
            weekday_mask(o.weekdays))


def _columns(rows):
    if not rows:
        return _empty_rows()
    q, v, a, b, w = zip(*rows, strict=True)
    return (np.array(q, _I), np.array(v, float), np.array(a, float), np.array(b, float),
            np.array(w, _I))
