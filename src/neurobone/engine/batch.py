"""Batched engine: N subjects integrated at once from the model's generated kernels.

Each subject has its own parameter vector, initial state and schedule of timed
overrides, and its own adaptive integrator with per-subject step-size control:
``method="auto"`` (default) starts with Dormand & Prince 5(4) and switches, per subject,
to Hairer & Wanner's RODAS (a stiffly accurate Rosenbrock method of order 4 with the
analytic Jacobian) when Hairer's stiffness test fires, and back when the problem is no
longer stiff; ``"rodas4"`` and ``"dopri5"`` use one method throughout. The subjects run
in parallel (``numba.prange``) inside one compiled kernel; Python is not entered per
step or per subject. docs/engine.md describes the engine and its benchmark.

How it stays exact and small
----------------------------
* **Same equations.** The kernel calls the ``jac``/``observe`` functions that
  :mod:`neurobone.model.codegen` generated from the model's
  :class:`~neurobone.model.symbolic.SymbolicModel`. From the same symbolic form this
  module generates the right-hand side split in two -- ``pre`` (every parameter-only
  term, once per segment between change points) and ``rhsc`` (the rest, every stage) --
  and ``d rhs/d t`` for formulas that use ``t``. No formula is retyped.
* **Schedules.** :class:`BatchSchedule` stores overrides as rows (subject, parameter
  index, value, start, end, weekday mask); a weekly programme over years is one row.
  Rows shared by every subject are stored once. The kernel finds the next change point
  of the parameter vector from the rows on the fly and integrates *exactly* to it (no
  step straddles a discontinuity); candidate points where the parameter vector does
  not actually change are skipped. The step size is carried across change points.
* **Output.** Only the requested outputs at the requested save days are stored,
  interpolated from the method's dense output: memory is ``N x len(save_days) x
  len(outputs)`` doubles.
* **Failures.** A subject whose step size underflows, that exceeds ``max_steps`` or
  whose state becomes non-finite stops with a status code and the day it failed; its
  remaining values are NaN, and the failure is reported (warning, or
  :class:`~neurobone.errors.SolverError` with ``on_failure="raise"``).

The compiled kernel is generated once per model into the neurobone cache directory
(next to the model's kernels) and cached by Numba on disk.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import sympy as sp

from neurobone.engine.lanes import HANDOVER, lanes_kernels
from neurobone.engine.lanes import available as lanes_available
from neurobone.engine.schedule import Override
from neurobone.errors import InputError, SolverError
from neurobone.model.codegen import (
    CompiledModel,
    _code,
    _needed,
    _unpack,
    cache_dir,
    compile_model,
    fill_template,
    load_generated,
)
from neurobone.model.definition import Model
from neurobone.model.powers import log_domain
from neurobone.model.symbolic import parse

#: default relative tolerance of the batched engine
RTOL = 1e-6
#: subjects that can run in lanes (:func:`lane_groups`) from which ``lanes=None`` uses them
#: (below, the one-off compilation of the lanes kernel, ~15 s, outweighs their speed)
LANES_FROM = 256
#: weekday mask with every day set
ALL_DAYS = 0x7F

#: integration methods (kernel codes)
METHODS = {"rodas4": 0, "dopri5": 1, "auto": 2}

#: status codes of :attr:`BatchResult.status`
STATUS = {
    0: "ok",
    1: "step size underflow",
    2: "too many steps",
    3: "non-finite state or singular Newton matrix",
}


# ----------------------------------------------------------------------------- schedule
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


@dataclass
class BatchSchedule:
    """Timed overrides of a cohort as compact rows.

    Row ``r`` sets parameter ``pindex[r]`` to ``value[r]`` on ``[start[r], end[r])``,
    on the weekdays whose bits are set in ``mask[r]`` (bit d = weekday d, day ``t`` has
    weekday ``floor(t) % 7``; 127 = every day), exactly as an
    :class:`~neurobone.engine.schedule.Override`.

    Rows are either *shared* (apply to every subject) or belong to one subject
    (``offsets[i]:offsets[i+1]`` index subject ``i``'s rows). Where rows overlap on the
    same parameter the later one wins; a subject's own rows come after the shared rows.
    """

    n_subjects: int
    parameter_names: tuple[str, ...]
    offsets: np.ndarray  # int64 (n_subjects + 1,)
    pindex: np.ndarray  # int32
    value: np.ndarray  # float64
    start: np.ndarray  # float64
    end: np.ndarray  # float64
    mask: np.ndarray  # int32
    shared_pindex: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    shared_value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shared_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shared_end: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shared_mask: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    # ------------------------------------------------------------------ building
    @classmethod
    def empty(cls, model: Model | CompiledModel, n: int) -> "BatchSchedule":
        m = _model(model)
        z = np.zeros(0)
        return cls(n, tuple(m.parameter_names), np.zeros(n + 1, np.int64),
                   np.zeros(0, np.int32), z, z.copy(), z.copy(), np.zeros(0, np.int32))

    @classmethod
    def from_overrides(
        cls,
        model: Model | CompiledModel,
        schedules: Sequence[Sequence[Override]] | None = None,
        *,
        shared: Sequence[Override] = (),
        n: int | None = None,
    ) -> "BatchSchedule":
        """Build from one list of :class:`Override` per subject plus ``shared`` ones.

        ``n`` is needed only when ``schedules`` is None (every subject gets ``shared``).
        """
        m = _model(model)
        index = {name: i for i, name in enumerate(m.parameter_names)}
        if schedules is None:
            if n is None:
                raise InputError("BatchSchedule.from_overrides needs schedules or n")
            schedules = [()] * n
        if n is not None and len(schedules) != n:
            raise InputError(f"{len(schedules)} schedules given for {n} subjects")
        rows: list[tuple[int, float, float, float, int]] = []
        counts = np.zeros(len(schedules) + 1, np.int64)
        for i, ovs in enumerate(schedules):
            for o in ovs:
                rows.append(_row(o, index, m))
            counts[i + 1] = len(ovs)
        srows = [_row(o, index, m) for o in shared]
        out = cls(len(schedules), tuple(m.parameter_names), np.cumsum(counts), *_columns(rows))
        (out.shared_pindex, out.shared_value, out.shared_start, out.shared_end,
         out.shared_mask) = _columns(srows)
        return out

    @classmethod
    def from_arrays(
        cls,
        model: Model | CompiledModel,
        n: int,
        subject: np.ndarray,
        parameter: Sequence[str] | np.ndarray,
        value: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        mask: np.ndarray | int = ALL_DAYS,
    ) -> "BatchSchedule":
        """Build from columns (one row per override; ``subject`` -1 = shared).

        ``parameter`` holds names or indices; ``mask`` weekday masks
        (:func:`weekday_mask`). Rows keep their order within a subject.
        """
        m = _model(model)
        subject = np.asarray(subject, np.int64)
        k = len(subject)
        param = np.asarray(parameter)
        if param.dtype.kind in "US" or param.dtype == object:
            index = {name: i for i, name in enumerate(m.parameter_names)}
            bad = sorted({str(x) for x in param if x not in index})
            if bad:
                raise InputError(f"unknown parameters {bad} for model {m.name!r}")
            pidx = np.array([index[x] for x in param], np.int32)
        else:
            pidx = param.astype(np.int32)
        if np.any((pidx < 0) | (pidx >= len(m.parameters))):
            raise InputError("parameter index out of range")
        value = np.broadcast_to(np.asarray(value, float), (k,))
        start = np.broadcast_to(np.asarray(start, float), (k,))
        end = np.broadcast_to(np.asarray(end, float), (k,))
        mask = np.broadcast_to(np.asarray(mask, np.int32), (k,))
        if np.any(subject >= n) or np.any(subject < -1):
            raise InputError(f"subject index out of range 0..{n - 1}")
        if np.any(~(end > start)) or np.any(start < 0) or np.any(~np.isfinite(value)):
            raise InputError("every override needs 0 <= start < end and a finite value")
        if np.any((mask < 0) | (mask > ALL_DAYS)):
            raise InputError("weekday masks must be within 0..127")
        sh = subject < 0
        own = np.nonzero(~sh)[0]
        order = own[np.argsort(subject[own], kind="stable")]
        counts = np.bincount(subject[own], minlength=n)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        out = cls(n, tuple(m.parameter_names), offsets, pidx[order].copy(),
                  value[order].copy(), start[order].copy(), end[order].copy(),
                  mask[order].copy())
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
    def nbytes(self) -> int:
        arrays = (self.offsets, self.pindex, self.value, self.start, self.end, self.mask,
                  self.shared_pindex, self.shared_value, self.shared_start, self.shared_end,
                  self.shared_mask)
        return int(sum(a.nbytes for a in arrays))

    def for_subject(self, i: int) -> list[Override]:
        """Subject ``i``'s schedule as :class:`Override` objects (shared rows first)."""
        names = self.parameter_names
        out = [Override(names[q], float(v), float(a), float(b), mask_weekdays(w))
               for q, v, a, b, w in zip(self.shared_pindex, self.shared_value,
                                        self.shared_start, self.shared_end, self.shared_mask)]
        lo, hi = self.offsets[i], self.offsets[i + 1]
        out += [Override(names[self.pindex[r]], float(self.value[r]), float(self.start[r]),
                         float(self.end[r]), mask_weekdays(self.mask[r])) for r in range(lo, hi)]
        return out

    def slice(self, lo: int, hi: int) -> "BatchSchedule":
        """The schedule of subjects ``lo..hi-1`` (renumbered from 0)."""
        a, b = self.offsets[lo], self.offsets[hi]
        return BatchSchedule(
            hi - lo, self.parameter_names, self.offsets[lo:hi + 1] - a,
            self.pindex[a:b], self.value[a:b], self.start[a:b], self.end[a:b], self.mask[a:b],
            self.shared_pindex, self.shared_value, self.shared_start, self.shared_end,
            self.shared_mask)

    def take(self, indices: np.ndarray) -> "BatchSchedule":
        """The schedule of the subjects ``indices`` (in that order, renumbered from 0)."""
        indices = np.asarray(indices, np.int64)
        lo, hi = self.offsets[indices], self.offsets[indices + 1]
        counts = hi - lo
        # the row numbers of every subject in turn: lo[i], lo[i]+1, ..., hi[i]-1
        rows = np.repeat(lo - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        return BatchSchedule(
            len(indices), self.parameter_names,
            np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            self.pindex[rows], self.value[rows], self.start[rows], self.end[rows],
            self.mask[rows], self.shared_pindex, self.shared_value, self.shared_start,
            self.shared_end, self.shared_mask)

    def __len__(self) -> int:
        return self.n_subjects

    def __repr__(self) -> str:
        return (f"<BatchSchedule {self.n_subjects} subjects, {len(self.pindex)} own rows, "
                f"{len(self.shared_pindex)} shared rows, {self.nbytes / 1e6:.2f} MB>")


def _row(o: Override, index: dict[str, int], m: Model) -> tuple[int, float, float, float, int]:
    if o.name not in index:
        m.parameter(o.name)  # raises, listing valid names
    return (index[o.name], float(o.value), float(o.start), float(o.end), weekday_mask(o.weekdays))


def _columns(rows):
    if not rows:
        z = np.zeros(0)
        return np.zeros(0, np.int32), z, z.copy(), z.copy(), np.zeros(0, np.int32)
    q, v, a, b, w = zip(*rows)
    return (np.array(q, np.int32), np.array(v, float), np.array(a, float),
            np.array(b, float), np.array(w, np.int32))


def _model(model: Model | CompiledModel) -> Model:
    return model.model if isinstance(model, CompiledModel) else model


# ----------------------------------------------------------------------------- result
@dataclass
class BatchResult:
    """Trajectories of a cohort: ``values[subject, time, output]``.

    ``t`` are the saved days, ``names`` the outputs; ``status`` is 0 for subjects that
    finished (see :data:`STATUS` for the others), ``fail_day`` the day a failed subject
    stopped (NaN otherwise); ``steps``/``rejected`` count accepted/rejected steps and
    ``stiff_steps`` the accepted steps taken by the stiff (RODAS) method.
    """

    model: str
    t: np.ndarray
    values: np.ndarray
    names: list[str]
    status: np.ndarray
    fail_day: np.ndarray
    steps: np.ndarray
    rejected: np.ndarray
    stiff_steps: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def n_subjects(self) -> int:
        return self.values.shape[0]

    @property
    def ok(self) -> bool:
        """True when every subject finished."""
        return bool(np.all(self.status == 0))

    def __getitem__(self, name: str) -> np.ndarray:
        """One output as a (subject, time) array."""
        try:
            return self.values[:, :, self.names.index(name)]
        except ValueError:
            kept = ", ".join(self.names)
            raise InputError(f"output {name!r} was not kept; kept: {kept}") from None

    def failures(self) -> pd.DataFrame:
        """One row per failed subject: subject, day, status, reason."""
        bad = np.nonzero(self.status != 0)[0]
        return pd.DataFrame({
            "subject": bad,
            "day": self.fail_day[bad],
            "status": self.status[bad],
            "reason": [STATUS.get(int(s), "unknown") for s in self.status[bad]],
        })

    def raise_on_failure(self) -> "BatchResult":
        """Raise :class:`SolverError` naming the failed subjects and days, else return self."""
        if not self.ok:
            raise SolverError(_failure_message(self))
        return self

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``subject, day, variable, value``."""
        n, T, k = self.values.shape
        return pd.DataFrame({
            "subject": np.repeat(np.arange(n), T * k),
            "day": np.tile(np.repeat(self.t, k), n),
            "variable": pd.Categorical.from_codes(np.tile(np.arange(k), n * T), self.names),
            "value": self.values.reshape(-1),
        })

    def wide(self, subject: int) -> pd.DataFrame:
        """One subject: ``day`` then one column per output."""
        data = {"day": self.t}
        for j, name in enumerate(self.names):
            data[name] = self.values[subject, :, j]
        return pd.DataFrame(data)

    def final(self) -> pd.DataFrame:
        """Values at the last saved day, one row per subject (index ``subject``)."""
        df = pd.DataFrame(self.values[:, -1, :], columns=self.names)
        df.index.name = "subject"
        return df

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes)

    def __repr__(self) -> str:
        n, T, k = self.values.shape
        failed = int(np.sum(self.status != 0))
        names = ", ".join(self.names[:6]) + (", ..." if k > 6 else "")
        days = f"{self.t[0]:g}..{self.t[-1]:g}" if T else "-"
        return (f"<BatchResult model={self.model!r} subjects={n} days={days} points={T} "
                f"outputs={k} [{names}] failed={failed} {self.nbytes / 1e6:.1f} MB>")


def _failure_message(res: BatchResult, limit: int = 5) -> str:
    f = res.failures()
    parts = [f"subject {r.subject} at day {r.day:.2f} ({r.reason})"
             for r in f.head(limit).itertuples()]
    more = f" and {len(f) - limit} more" if len(f) > limit else ""
    return f"solver failed for {len(f)} of {res.n_subjects} subjects: {'; '.join(parts)}{more}"


# ----------------------------------------------------------------------------- kernels
# RODAS (Hairer & Wanner, Solving ODEs II, 2nd ed. 1996, Sec. IV.7; code rodas.f),
# coefficients of the transformed formulation with dense output.
_TEMPLATE = r'''
# generated by neurobone.engine.batch for model __MODEL__; do not edit
import math
import sys

import numpy as np
from numba import njit, prange

_k = sys.modules["__KERNELS__"]
rhs = _k.rhs
jac = _k.jac
observe = _k.observe

HAS_T = __HAS_T__
HAS_EXPR = __HAS_EXPR__

__DFDT__

__FAST__

GAM = 0.25
C2 = 0.386
C3 = 0.21
C4 = 0.63
D1 = 0.25
D2 = -0.1043
D3 = 0.1035
D4 = -0.03620000000000023
A21 = 1.544
A31 = 0.9466785280815826
A32 = 0.2557011698983284
A41 = 3.314825187068521
A42 = 2.896124015972201
A43 = 0.9986419139977817
A51 = 1.221224509226641
A52 = 6.019134481288629
A53 = 12.53708332932087
A54 = -0.687886036105895
C21 = -5.6688
C31 = -2.430093356833875
C32 = -0.2063599157091915
C41 = -0.1073529058151375
C42 = -9.594562251023355
C43 = -20.47028614809616
C51 = 7.496443313967647
C52 = -10.24680431464352
C53 = -33.99990352819905
C54 = 11.7089089320616
C61 = 8.083246795921522
C62 = -7.981132988064893
C63 = -31.52159432874371
C64 = 16.31930543123136
C65 = -6.058818238834054
H21 = 10.12623508344586
H22 = -7.487995877610167
H23 = -34.80091861555747
H24 = -7.992771707568823
H25 = 1.025137723295662
H31 = -0.6762803392801253
H32 = 6.087714651680015
H33 = 16.43084320892478
H34 = 24.76722511418386
H35 = -6.594389125716872

# Dormand & Prince 5(4) (Hairer, Norsett & Wanner, Solving ODEs I, 2nd ed., code dopri5.f)
DC2 = 0.2
DC3 = 0.3
DC4 = 0.8
DC5 = 8.0 / 9.0
DA21 = 0.2
DA31 = 3.0 / 40.0
DA32 = 9.0 / 40.0
DA41 = 44.0 / 45.0
DA42 = -56.0 / 15.0
DA43 = 32.0 / 9.0
DA51 = 19372.0 / 6561.0
DA52 = -25360.0 / 2187.0
DA53 = 64448.0 / 6561.0
DA54 = -212.0 / 729.0
DA61 = 9017.0 / 3168.0
DA62 = -355.0 / 33.0
DA63 = 46732.0 / 5247.0
DA64 = 49.0 / 176.0
DA65 = -5103.0 / 18656.0
DA71 = 35.0 / 384.0
DA73 = 500.0 / 1113.0
DA74 = 125.0 / 192.0
DA75 = -2187.0 / 6784.0
DA76 = 11.0 / 84.0
DE1 = 71.0 / 57600.0
DE3 = -71.0 / 16695.0
DE4 = 71.0 / 1920.0
DE5 = -17253.0 / 339200.0
DE6 = 22.0 / 525.0
DE7 = -1.0 / 40.0
DD1 = -12715105075.0 / 11282082432.0
DD3 = 87487479700.0 / 32700410799.0
DD4 = -10690763975.0 / 1880347072.0
DD5 = 701980252875.0 / 199316789632.0
DD6 = -1453857185.0 / 822651844.0
DD7 = 69997945.0 / 29380423.0

FULL = 127

_jit = njit(cache=True, nogil=True, error_model="numpy")


@_jit
def _active(t, s, e, m):
    if t < s or t >= e:
        return False
    if m == FULL:
        return True
    return (m >> (int(math.floor(t)) % 7)) & 1 == 1


@_jit
def _next_row(t, s, e, m):
    # next time > t at which the row may switch on or off (inf if never)
    if m == 0 or t >= e:
        return np.inf
    if t < s:
        return s
    if m == FULL:
        return e
    d = math.floor(t)
    for k in range(1, 8):
        dd = d + k
        if dd >= e:
            return e
        if ((m >> (int(dd) % 7)) & 1) != ((m >> (int(dd - 1) % 7)) & 1):
            return dd
    return e  # mask is all-on or all-off beyond t


@_jit
def _params_at(t, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi):
    # parameters in force at t: only the entries that rows override are touched
    # (p must already equal base elsewhere)
    for r in range(sq.shape[0]):
        p[sq[r]] = base[sq[r]]
    for r in range(lo, hi):
        p[q[r]] = base[q[r]]
    for r in range(sq.shape[0]):
        if _active(t, ss[r], se[r], sm[r]):
            p[sq[r]] = sv[r]
    for r in range(lo, hi):
        if _active(t, s[r], e[r], m[r]):
            p[q[r]] = v[r]


@_jit
def _next_change(t, t_end, p, base, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi):
    # the first time > t where the parameter vector differs from p (or t_end); pn is
    # scratch equal to base outside the overridden entries
    tc = t
    while True:
        nxt = t_end
        for r in range(sq.shape[0]):
            c = _next_row(tc, ss[r], se[r], sm[r])
            if c < nxt:
                nxt = c
        for r in range(lo, hi):
            c = _next_row(tc, s[r], e[r], m[r])
            if c < nxt:
                nxt = c
        if nxt >= t_end:
            return t_end
        _params_at(nxt, base, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        for r in range(sq.shape[0]):
            if pn[sq[r]] != p[sq[r]]:
                return nxt
        for r in range(lo, hi):
            if pn[q[r]] != p[q[r]]:
                return nxt
        tc = nxt


@_jit
def _lu(A, piv):
    # in-place LU with partial pivoting; returns False when singular
    n = A.shape[0]
    for k in range(n):
        imax = k
        amax = abs(A[k, k])
        for i in range(k + 1, n):
            a = abs(A[i, k])
            if a > amax:
                amax = a
                imax = i
        piv[k] = imax
        if amax == 0.0 or not math.isfinite(amax):
            return False
        if imax != k:
            for j in range(n):
                tmp = A[k, j]
                A[k, j] = A[imax, j]
                A[imax, j] = tmp
        inv = 1.0 / A[k, k]
        for i in range(k + 1, n):
            A[i, k] *= inv
            f = A[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    A[i, j] -= f * A[k, j]
    return True


@_jit
def _solve(A, piv, b):
    n = A.shape[0]
    for k in range(n):
        i = piv[k]
        if i != k:
            tmp = b[k]
            b[k] = b[i]
            b[i] = tmp
    for i in range(1, n):
        acc = b[i]
        for j in range(i):
            acc -= A[i, j] * b[j]
        b[i] = acc
    for i in range(n - 1, -1, -1):
        acc = b[i]
        for j in range(i + 1, n):
            acc -= A[i, j] * b[j]
        b[i] = acc / A[i, i]


@_jit
def _record(t, y, p, obuf, kind, idx, row):
    if HAS_EXPR:
        observe(t, y, p, obuf)
    for j in range(kind.shape[0]):
        if kind[j] == 0:
            row[j] = y[idx[j]]
        elif kind[j] == 1:
            row[j] = obuf[idx[j]]
        else:
            row[j] = p[idx[j]]


@_jit
def _rodas_step(t, y, p, c, hs, f0, fx, J, E, piv, k1, k2, k3, k4, k5, k6, yt, yn, atol, rtol):
    # one RODAS step from (t, y) with f0 = f(t, y) and J; returns the error norm
    # (-1 when the Newton matrix is singular); yn = solution, k1..k5 for dense output
    n = y.shape[0]
    fac = 1.0 / (hs * GAM)
    for i in range(n):
        for j in range(n):
            E[i, j] = -J[i, j]
        E[i, i] += fac
    if not _lu(E, piv):
        return -1.0
    hd1 = hs * D1
    hd2 = hs * D2
    hd3 = hs * D3
    hd4 = hs * D4
    ih = 1.0 / hs
    for i in range(n):
        k1[i] = f0[i] + hd1 * fx[i]
    _solve(E, piv, k1)
    for i in range(n):
        yt[i] = y[i] + A21 * k1[i]
    rhsc(t + C2 * hs, yt, p, c, k2)
    for i in range(n):
        k2[i] += hd2 * fx[i] + ih * (C21 * k1[i])
    _solve(E, piv, k2)
    for i in range(n):
        yt[i] = y[i] + A31 * k1[i] + A32 * k2[i]
    rhsc(t + C3 * hs, yt, p, c, k3)
    for i in range(n):
        k3[i] += hd3 * fx[i] + ih * (C31 * k1[i] + C32 * k2[i])
    _solve(E, piv, k3)
    for i in range(n):
        yt[i] = y[i] + A41 * k1[i] + A42 * k2[i] + A43 * k3[i]
    rhsc(t + C4 * hs, yt, p, c, k4)
    for i in range(n):
        k4[i] += hd4 * fx[i] + ih * (C41 * k1[i] + C42 * k2[i] + C43 * k3[i])
    _solve(E, piv, k4)
    for i in range(n):
        yt[i] = y[i] + A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]
    rhsc(t + hs, yt, p, c, k5)
    for i in range(n):
        k5[i] += ih * (C51 * k1[i] + C52 * k2[i] + C53 * k3[i] + C54 * k4[i])
    _solve(E, piv, k5)
    for i in range(n):
        yt[i] += k5[i]
    rhsc(t + hs, yt, p, c, k6)
    for i in range(n):
        k6[i] += ih * (C61 * k1[i] + C62 * k2[i] + C63 * k3[i] + C64 * k4[i] + C65 * k5[i])
    _solve(E, piv, k6)
    err = 0.0
    for i in range(n):
        yn[i] = yt[i] + k6[i]
        sk = atol[i] + rtol * max(abs(y[i]), abs(yn[i]))
        r = k6[i] / sk
        err += r * r
    return math.sqrt(err / n)


@_jit
def _rodas_dense(y, yn, k1, k2, k3, k4, k5, th, out):
    th1 = 1.0 - th
    for i in range(y.shape[0]):
        d1 = H21 * k1[i] + H22 * k2[i] + H23 * k3[i] + H24 * k4[i] + H25 * k5[i]
        d2 = H31 * k1[i] + H32 * k2[i] + H33 * k3[i] + H34 * k4[i] + H35 * k5[i]
        out[i] = th1 * y[i] + th * (yn[i] + th1 * (d1 + th * d2))


@_jit
def _dp5_step(t, y, p, c, hs, k1, k2, k3, k4, k5, k6, k7, yt, yn, atol, rtol, stiff):
    # one Dormand-Prince 5(4) step with k1 = f(t, y); k7 = f(t+h, yn) (FSAL); returns
    # the error norm and writes h*|lambda| (Hairer's stiffness estimate) to stiff[0]
    n = y.shape[0]
    for i in range(n):
        yt[i] = y[i] + hs * (DA21 * k1[i])
    rhsc(t + DC2 * hs, yt, p, c, k2)
    for i in range(n):
        yt[i] = y[i] + hs * (DA31 * k1[i] + DA32 * k2[i])
    rhsc(t + DC3 * hs, yt, p, c, k3)
    for i in range(n):
        yt[i] = y[i] + hs * (DA41 * k1[i] + DA42 * k2[i] + DA43 * k3[i])
    rhsc(t + DC4 * hs, yt, p, c, k4)
    for i in range(n):
        yt[i] = y[i] + hs * (DA51 * k1[i] + DA52 * k2[i] + DA53 * k3[i] + DA54 * k4[i])
    rhsc(t + DC5 * hs, yt, p, c, k5)
    for i in range(n):
        yt[i] = y[i] + hs * (DA61 * k1[i] + DA62 * k2[i] + DA63 * k3[i] + DA64 * k4[i]
                             + DA65 * k5[i])
    rhsc(t + hs, yt, p, c, k6)
    for i in range(n):
        yn[i] = y[i] + hs * (DA71 * k1[i] + DA73 * k3[i] + DA74 * k4[i] + DA75 * k5[i]
                             + DA76 * k6[i])
    rhsc(t + hs, yn, p, c, k7)
    err = 0.0
    stnum = 0.0
    stden = 0.0
    for i in range(n):
        ei = hs * (DE1 * k1[i] + DE3 * k3[i] + DE4 * k4[i] + DE5 * k5[i] + DE6 * k6[i]
                   + DE7 * k7[i])
        sk = atol[i] + rtol * max(abs(y[i]), abs(yn[i]))
        r = ei / sk
        err += r * r
        a = k7[i] - k6[i]
        b = yn[i] - yt[i]
        stnum += a * a
        stden += b * b
    stiff[0] = hs * math.sqrt(stnum / stden) if stden > 0.0 else 0.0
    return math.sqrt(err / n)


@_jit
def _dp5_dense(y, yn, k1, k3, k4, k5, k6, k7, hs, th, out):
    th1 = 1.0 - th
    for i in range(y.shape[0]):
        r2 = yn[i] - y[i]
        r3 = hs * k1[i] - r2
        r4 = r2 - hs * k7[i] - r3
        r5 = hs * (DD1 * k1[i] + DD3 * k3[i] + DD4 * k4[i] + DD5 * k5[i] + DD6 * k6[i]
                   + DD7 * k7[i])
        out[i] = y[i] + th * (r2 + th1 * (r3 + th * (r4 + th1 * r5)))


@_jit
def _jnorm(J):
    # infinity norm of J: an upper bound of its spectral radius
    rho = 0.0
    for i in range(J.shape[0]):
        s = 0.0
        for j in range(J.shape[1]):
            s += abs(J[i, j])
        rho = max(rho, s)
    return rho


@_jit
def integrate_one(base, y0, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi,
                  save_t, kind, idx, t_end, rtol, atol, h0, hmax, max_steps, n_expr, method, out):
    """Integrate one subject.

    method 0: RODAS only; 1: Dormand-Prince only; 2: automatic (Dormand-Prince, switching
    to RODAS when stiffness is detected and back when it is gone). Returns (status,
    fail_t, accepted, rejected, accepted RODAS steps).
    """
    n = y0.shape[0]
    npar = base.shape[0]
    T = save_t.shape[0]
    y = y0.copy()
    yn = np.empty(n)
    yt = np.empty(n)
    f0 = np.empty(n)
    fx = np.zeros(n)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
    k7 = np.empty(n)
    J = np.zeros((n, n))
    E = np.empty((n, n))
    piv = np.empty(n, np.int64)
    p = np.empty(npar)
    pn = np.empty(npar)
    obuf = np.empty(max(n_expr, 1))
    stiff = np.zeros(1)
    c = np.zeros(N_CONST)  # parameter-only expressions of the current segment

    t = 0.0
    for j in range(npar):
        p[j] = base[j]
        pn[j] = base[j]
    _params_at(t, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
    pre(p, c)
    h = h0
    ks = 0
    acc = 0
    rej = 0
    nstiff = 0
    h_acc = 0.0
    err_acc = 0.0
    facold = 1e-4
    first = True
    implicit = method == 0
    n_hi = 0  # consecutive explicit steps with h*|lambda| beyond the stability bound
    n_lo = 0  # consecutive steps without
    n_ns = 0  # consecutive RODAS steps where the explicit method would be stable
    need_ns = 20  # ... needed to switch back; grows x4 on every return (no ping-pong)
    switched = 0

    while True:
        while ks < T and save_t[ks] <= t:
            _record(t, y, p, obuf, kind, idx, out[ks])
            ks += 1
        if t >= t_end:
            break
        tb = _next_change(t, t_end, p, base, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        f_ok = False
        j_ok = False
        while t < tb:
            if acc + rej >= max_steps:
                return 2, t, acc, rej, nstiff
            clipped = False
            hs = h
            if t + 1.0001 * h >= tb:
                hs = tb - t
                clipped = True
            if hs < 1e-14 * max(1.0, abs(t)) * 64.0:
                return 1, t, acc, rej, nstiff
            if not f_ok:
                rhsc(t, y, p, c, f0)
                f_ok = True
            if implicit:
                if not j_ok:
                    jac(t, y, p, J)
                    if HAS_T:
                        dfdt(t, y, p, fx)
                    j_ok = True
                err = _rodas_step(t, y, p, c, hs, f0, fx, J, E, piv, k1, k2, k3, k4, k5, k6,
                                  yt, yn, atol, rtol)
                if err < 0.0:  # singular Newton matrix: smaller step
                    h = 0.25 * hs
                    rej += 1
                    continue
            else:
                for i in range(n):
                    k1[i] = f0[i]
                err = _dp5_step(t, y, p, c, hs, k1, k2, k3, k4, k5, k6, k7, yt, yn, atol, rtol,
                                stiff)
            if not (err <= 1e300):  # NaN or inf: shrink hard
                h = 0.1 * hs
                rej += 1
                first = False
                continue
            err = max(err, 1e-10)
            if implicit:
                # Hairer's RODAS controller with Gustafsson's predictive control
                fac = max(1.0 / 6.0, min(5.0, err ** 0.25 / 0.9))
                hnew = hs / fac
                if err <= 1.0 and acc > 0 and h_acc > 0.0:
                    facg = (h_acc / hs) * (err * err / err_acc) ** 0.25 / 0.9
                    facg = max(1.0 / 6.0, min(5.0, facg))
                    fac = max(fac, facg)
                    hnew = hs / fac
            else:
                # Hairer's DOPRI5 controller (PI, beta = 0.04)
                fac11 = err ** 0.17
                if err <= 1.0:
                    fac = max(0.1, min(5.0, fac11 / facold ** 0.04 / 0.9))
                else:
                    fac = min(5.0, fac11 / 0.9)
                hnew = hs / fac
            if err <= 1.0:
                h_acc = hs
                err_acc = max(1e-2, err)
                facold = max(err, 1e-4)
                acc += 1
                first = False
                t_new = tb if clipped else t + hs
                # dense output for save points inside the step; a save point at the
                # segment end is recorded after the parameters switch
                while ks < T and (save_t[ks] < t_new or (not clipped and save_t[ks] <= t_new)):
                    th = (save_t[ks] - t) / hs
                    if implicit:
                        _rodas_dense(y, yn, k1, k2, k3, k4, k5, th, yt)
                    else:
                        _dp5_dense(y, yn, k1, k3, k4, k5, k6, k7, hs, th, yt)
                    _record(save_t[ks], yt, p, obuf, kind, idx, out[ks])
                    ks += 1
                for i in range(n):
                    y[i] = yn[i]
                t = t_new
                if clipped and hnew >= hs:
                    hnew = max(hnew, h)  # keep the step size across the change point
                h = min(hnew, hmax)
                if implicit:
                    nstiff += 1
                    f_ok = False
                    j_ok = False
                    if method == 2:
                        # back to the explicit method when it would be stable
                        if h * _jnorm(J) <= 2.0:
                            n_ns += 1
                            if n_ns >= need_ns:
                                implicit = False
                                n_ns = 0
                                n_hi = 0
                                n_lo = 0
                        else:
                            n_ns = 0
                else:
                    for i in range(n):
                        f0[i] = k7[i]
                    if method == 2:
                        # Hairer's stiffness detection (DOPRI5)
                        if stiff[0] > 3.25:
                            n_lo = 0
                            n_hi += 1
                            if n_hi >= 15:
                                implicit = True
                                j_ok = False
                                if switched > 0:
                                    need_ns = min(4 * need_ns, 1 << 30)
                                switched += 1
                                n_hi = 0
                                n_ns = 0
                        else:
                            n_lo += 1
                            if n_lo >= 6:
                                n_hi = 0
            else:
                if first:
                    h = 0.1 * hs
                else:
                    h = min(hnew, hs)
                rej += 1
        _params_at(t, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        pre(p, c)
    return 0, np.nan, acc, rej, nstiff


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def integrate_batch(P, Y0, sq, sv, ss, se, sm, offsets, q, v, s, e, m,
                    save_t, kind, idx, t_end, rtol, atol, h0, hmax, max_steps, n_expr, method,
                    out, status, fail_t, steps, rejected, stiff_steps):
    N = P.shape[0]
    for i in prange(N):
        _one(i, P, Y0, sq, sv, ss, se, sm, offsets, q, v, s, e, m, save_t, kind, idx, t_end,
             rtol, atol, h0, hmax, max_steps, n_expr, method, out, status, fail_t, steps,
             rejected, stiff_steps)


@njit(cache=True, nogil=True, error_model="numpy")
def integrate_serial(P, Y0, sq, sv, ss, se, sm, offsets, q, v, s, e, m,
                     save_t, kind, idx, t_end, rtol, atol, h0, hmax, max_steps, n_expr, method,
                     out, status, fail_t, steps, rejected, stiff_steps):
    for i in range(P.shape[0]):
        _one(i, P, Y0, sq, sv, ss, se, sm, offsets, q, v, s, e, m, save_t, kind, idx, t_end,
             rtol, atol, h0, hmax, max_steps, n_expr, method, out, status, fail_t, steps,
             rejected, stiff_steps)


@_jit
def _one(i, P, Y0, sq, sv, ss, se, sm, offsets, q, v, s, e, m, save_t, kind, idx, t_end,
         rtol, atol, h0, hmax, max_steps, n_expr, method, out, status, fail_t, steps,
         rejected, stiff_steps):
    st, ft, a, r, ns = integrate_one(P[i], Y0[i], sq, sv, ss, se, sm, q, v, s, e, m,
                                     offsets[i], offsets[i + 1], save_t, kind, idx, t_end,
                                     rtol, atol, h0, hmax, max_steps, n_expr, method, out[i])
    status[i] = st
    fail_t[i] = ft
    steps[i] = a
    rejected[i] = r
    stiff_steps[i] = ns
    if st != 0:
        for k in range(save_t.shape[0]):
            if save_t[k] > ft:
                for j in range(out.shape[2]):
                    out[i, k, j] = np.nan
'''

_BATCH_LOADED: dict[str, ModuleType] = {}
#: bump when the code generated outside the template (_fast_source, _dfdt_source) changes
GENERATOR_VERSION = "5"


def _dfdt_source(cm: CompiledModel) -> tuple[str, bool]:
    sym = parse(cm.model)
    t = sp.Symbol("t")
    rates = sym.substituted_rates
    if not any(r.has(t) for r in rates):
        return ("@njit(cache=True, nogil=True)\ndef dfdt(t, y, p, out):\n    return out\n",
                False)
    names = set(cm.model.state_names) | set(cm.model.parameter_names)
    body = [f"    out[{i}] = {_code(sp.diff(r, t))}" for i, r in enumerate(rates)]
    src = "\n".join(["@njit(cache=True, nogil=True, error_model='numpy')",
                     "def dfdt(t, y, p, out):", *_unpack(sym, names), *body, "    return out"])
    return src + "\n", True


@dataclass
class SplitRhs:
    """The right-hand side split for segment-wise evaluation (see :func:`split_rhs`)."""

    const: list[str]  # parameter-only expressions, in evaluation order (pre)
    table: dict  # parameter-only subterm -> its slot symbol ``_c<k>`` (pre)
    slots: list[str]  # names stored in ``c``, in order
    body: list[tuple[str, sp.Expr]]  # per-stage assignments, ending with ``dy[i]``


def split_rhs(cm: CompiledModel, guard: str = "fallback") -> SplitRhs:
    """The right-hand side split in two, from the model's parsed formulas.

    Between two change points the parameters are constant, so everything that depends on
    parameters only is the same for a whole segment: the expressions of parameters only
    (exercise drive, PTH, neutral couplings) and, inside the others, every maximal
    parameter-only subterm (``1/tau_M``, ``k_cons + k_lab``, ``alpha/D_TGFb`` ...). These
    go to ``pre`` (once per segment); the rest, with its powers in the log domain
    (:func:`neurobone.model.powers.log_domain`, ``guard`` as there), is evaluated at
    every stage. The arithmetic is the model's up to rounding (``x/D`` becomes
    ``x*(1/D)``).
    """
    sym = parse(cm.model)
    m = cm.model
    needed = _needed(sym)
    invariant = set(m.parameter_names)
    const: list[str] = []
    for name, e in sym.expressions:
        if name in needed and {x.name for x in e.free_symbols} <= invariant:
            const.append(name)
            invariant.add(name)
    table: dict[sp.Expr, sp.Symbol] = {}

    def is_inv(e: sp.Expr) -> bool:
        return {x.name for x in e.free_symbols} <= invariant

    def slot(e: sp.Expr) -> sp.Expr:
        if e.is_Symbol or e.is_Number:
            return e
        if e not in table:
            table[e] = sp.Symbol(f"_c{len(table)}")
        return table[e]

    def hoist(e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        if is_inv(e):
            return slot(e)
        if isinstance(e, (sp.Add, sp.Mul)):
            inv = [a for a in e.args if is_inv(a)]
            var = [hoist(a) for a in e.args if not is_inv(a)]
            if len(inv) > 1:
                return e.func(slot(e.func(*inv)), *var, evaluate=False)
            return e.func(*[slot(a) for a in inv], *var, evaluate=False)
        return e.func(*[hoist(a) for a in e.args], evaluate=False)

    body = [(n, hoist(e)) for n, e in sym.expressions if n in needed and n not in const]
    outs = [f"dy[{i}]" for i in range(len(sym.rates))]
    body += [(o, hoist(r)) for o, r in zip(outs, sym.rates)]
    body = log_domain(body, outs, guard=guard)
    slots = list(const) + [str(v) for v in table.values()]
    return SplitRhs(const, table, slots, body)


def _fast_source(cm: CompiledModel) -> str:
    """``pre(p, c)`` and ``rhsc(t, y, p, c, dy)``: the right-hand side split in two
    (:func:`split_rhs`); ``pre`` computes the parameter-only terms into ``c`` once per
    segment, ``rhsc`` -- generated from the same parsed formulas as the model's ``rhs``
    -- reads them from ``c``."""
    sym = parse(cm.model)
    m = cm.model
    params = set(m.parameter_names)
    sp_ = split_rhs(cm)
    exprs = dict(sym.expressions)
    pre = [f"    {n} = {_code(exprs[n])}" for n in sp_.const]
    pre += [f"    {v} = {_code(e)}" for e, v in sp_.table.items()]
    pre += [f"    c[{k}] = {n}" for k, n in enumerate(sp_.slots)]
    body = [f"    {n} = c[{k}]" for k, n in enumerate(sp_.slots)]
    body += [f"    {n} = {_code(e)}" for n, e in sp_.body]
    names = set(m.state_names) | params
    out = [f"N_CONST = {max(len(sp_.slots), 1)}", "",
           "@njit(cache=True, nogil=True, error_model='numpy')",
           "def pre(p, c):", *_unpack(sym, params), *pre, "    return c", "",
           "@njit(cache=True, nogil=True, error_model='numpy')",
           "def rhsc(t, y, p, c, dy):", *_unpack(sym, names), *body, "    return dy", ""]
    return "\n".join(out)


def batch_kernels(model: Model | CompiledModel) -> ModuleType:
    """The compiled batch module of ``model`` (generated once, cached on disk)."""
    cm = model if isinstance(model, CompiledModel) else compile_model(model)
    kernels = cm.module.__name__
    tag = hashlib.sha256((_TEMPLATE + GENERATOR_VERSION).encode()).hexdigest()[:10]
    key = f"{kernels}_{tag}"
    mod = _BATCH_LOADED.get(key)
    if mod is not None:
        return mod
    path = cache_dir() / f"{cm.source_path.stem}_batch_{tag}.py"

    def source() -> str:
        dfdt, has_t = _dfdt_source(cm)
        return fill_template(_TEMPLATE, MODEL=repr(cm.model.name), KERNELS=kernels,
                             HAS_T=has_t, HAS_EXPR=len(cm.model.expressions) > 0, DFDT=dfdt,
                             FAST=_fast_source(cm))

    mod = load_generated(path, f"neurobone_batch_{key}", source)
    _BATCH_LOADED[key] = mod
    return mod


# ----------------------------------------------------------------------------- API
#: subjects with one schedule from which they run in lanes (fewer leave too many idle)
LANES_GROUP = 8


def lane_groups(sched: BatchSchedule, ix: np.ndarray,
                minimum: int = LANES_GROUP) -> dict[bytes, list[int]]:
    """Subjects of ``ix`` grouped by identical schedules, groups of at least ``minimum``.

    Lanes advance together between the change points of one schedule, so subjects run
    in lanes with others whose own rows are the same (row for row: subjects with no rows
    of their own form one group).
    """
    off = sched.offsets
    groups: dict[bytes, list[int]] = {}
    if off[-1] == 0:  # no subject has rows of its own
        groups = {b"": [int(i) for i in ix]}
    else:
        cols = (sched.pindex, sched.value, sched.start, sched.end, sched.mask)
        for i in ix:
            a, b = off[i], off[i + 1]
            key = b"".join(c[a:b].tobytes() for c in cols)
            groups.setdefault(key, []).append(int(i))
    return {k: g for k, g in groups.items() if len(g) >= minimum}


def resolve_outputs(
    model: Model, outputs: Sequence[str] | None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, kinds (0 state, 1 expression, 2 parameter) and indices of ``outputs``.

    Default: every state, then every named output that is not a state.
    """
    if outputs is None:
        outputs = list(dict.fromkeys(model.state_names + list(model.outputs)))
    names = list(dict.fromkeys(outputs))
    kinds, idx = [], []
    for name in names:
        target = model.outputs.get(name, name)
        if target in model.state_names:
            kinds.append(0)
            idx.append(model.state_names.index(target))
        elif target in model.expression_names:
            kinds.append(1)
            idx.append(model.expression_names.index(target))
        elif target in model.parameter_names:
            kinds.append(2)
            idx.append(model.parameter_names.index(target))
        else:
            valid = ", ".join(sorted(set(model.state_names) | set(model.expression_names)
                                     | set(model.outputs)))
            raise InputError(f"unknown output {name!r} for model {model.name!r}; valid: {valid}")
    return names, np.array(kinds, np.int32), np.array(idx, np.int64)


def parameter_matrix(cm: CompiledModel, parameters, n: int | None = None) -> np.ndarray:
    """An (N, n_params) matrix from an array, a DataFrame of named columns or a mapping.

    Missing names take the model's defaults; a 1-D vector or a mapping is repeated for
    ``n`` subjects.
    """
    base = cm.parameter_vector()
    if parameters is None:
        if n is None:
            raise InputError(
                "simulate_batch needs parameters (N x n_params) or initial states to know N")
        return np.tile(base, (n, 1))
    if isinstance(parameters, pd.DataFrame):
        P = np.tile(base, (len(parameters), 1))
        for col in parameters.columns:
            P[:, cm._pindex(col)] = parameters[col].to_numpy(float)
        return P
    if isinstance(parameters, Mapping):
        if n is None:
            raise InputError("a parameter mapping needs the number of subjects (from initial)")
        return np.tile(cm.parameter_vector(parameters), (n, 1))
    P = np.asarray(parameters, dtype=float)
    if P.ndim == 1:
        if n is None:
            P = P[None, :]
        else:
            P = np.tile(P, (n, 1))
    if P.ndim != 2 or P.shape[1] != cm.n_params:
        raise InputError(f"parameters must have shape (N, {cm.n_params}) for model "
                         f"{cm.model.name!r}, got {P.shape}")
    return np.ascontiguousarray(P)


def simulate_batch(
    model: Model | CompiledModel | str,
    days: float,
    parameters: np.ndarray | pd.DataFrame | Mapping[str, float] | None = None,
    initial: np.ndarray | None = None,
    schedules: Sequence[Sequence[Override]] | BatchSchedule | None = None,
    save_days: np.ndarray | Sequence[float] | None = None,
    outputs: Sequence[str] | None = None,
    rtol: float = RTOL,
    progress: Callable[[int, int], None] | None = None,
    *,
    atol_factor: float = 1e-4,
    species: str | None = None,
    chunk_size: int | None = None,
    threads: int | None = None,
    max_steps: int = 5_000_000,
    hmax: float | None = None,
    on_failure: str = "warn",
    method: str = "auto",
    lanes: bool | None = None,
) -> BatchResult:
    """Integrate N subjects from day 0 to ``days``.

    Parameters
    ----------
    model : a registered model name, a :class:`Model` or a compiled model.
    parameters : (N, n_params) array in ``model.parameter_names`` order; or a DataFrame
        whose columns are parameter names (others default); or one vector/mapping for
        every subject.
    initial : (N, n_states) initial states, one (n_states,) vector for every subject, or
        None for the model's declared initial values.
    schedules : one list of :class:`Override` per subject, or a :class:`BatchSchedule`.
    save_days : days to store (default every day ``0, 1, ..., days``).
    outputs : states, expressions, named outputs or parameters to keep (default every
        state and named output).
    rtol : relative tolerance; the absolute tolerance of each state is
        ``rtol * atol_factor * state.scale`` (as in the single-subject engine).
    progress : called as ``progress(done, total)`` after each chunk of subjects.
    chunk_size : subjects per compiled call (progress granularity).
    threads : Numba threads (default: all); 1 runs the serial kernel.
    max_steps : per-subject limit of steps (accepted plus rejected).
    on_failure : ``"warn"`` (default), ``"raise"`` (:class:`SolverError`) or
        ``"ignore"``; the result's ``status``/``fail_day``/``failures()`` always tell.
    method : ``"auto"`` (default: Dormand-Prince 5(4), switching per subject to RODAS4
        when stiffness is detected and back when it is gone), ``"rodas4"`` (stiff
        Rosenbrock method throughout) or ``"dopri5"`` (explicit throughout).
    lanes : run subjects that share a schedule 16 per SIMD instruction
        (:mod:`neurobone.engine.lanes`: Dormand-Prince in lock step; a subject that turns
        stiff or fails there is integrated again by the scalar engine with ``method``).
        ``True``: the subjects whose schedule rows are shared by at least ``LANES_GROUP``
        (8) subjects; default ``None``: the same when the machine supports it,
        ``method`` is not ``"rodas4"`` and at least ``LANES_FROM`` (256) subjects
        qualify; a boolean array: exactly those subjects, where the machine supports
        it; ``False``: none.
    """
    from neurobone.engine.solve import resolve

    cm = resolve(model, species)
    m = cm.model
    numeric = isinstance(days, (int, float, np.integer, np.floating))
    if not numeric or not math.isfinite(days) or days <= 0:
        raise InputError(f"days must be a positive number, got {days!r}")
    days = float(days)
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if on_failure not in ("warn", "raise", "ignore"):
        raise InputError(f"on_failure must be warn, raise or ignore, got {on_failure!r}")

    n_hint = None
    if initial is not None and np.ndim(initial) == 2:
        n_hint = len(initial)
    elif isinstance(schedules, BatchSchedule):
        n_hint = schedules.n_subjects
    elif schedules is not None:
        n_hint = len(schedules)
    P = parameter_matrix(cm, parameters, n_hint)
    N = P.shape[0]
    if not np.all(np.isfinite(P)):
        bad = np.nonzero(~np.all(np.isfinite(P), axis=1))[0]
        raise InputError(f"non-finite parameters for subjects {bad[:5].tolist()}")

    if initial is None:
        Y0 = np.tile(cm.initial_vector(), (N, 1))
    else:
        Y0 = np.asarray(initial, dtype=float)
        if Y0.ndim == 1:
            Y0 = np.tile(Y0, (N, 1))
        if Y0.shape != (N, cm.n_states):
            raise InputError(f"initial must have shape ({N}, {cm.n_states}), got {Y0.shape}")
    Y0 = np.ascontiguousarray(Y0)

    if schedules is None:
        sched = BatchSchedule.empty(m, N)
    elif isinstance(schedules, BatchSchedule):
        sched = schedules
        if sched.parameter_names != tuple(m.parameter_names):
            raise InputError("the BatchSchedule was built for a different model")
    else:
        sched = BatchSchedule.from_overrides(m, schedules)
    if sched.n_subjects != N:
        raise InputError(f"{sched.n_subjects} schedules for {N} subjects")

    if save_days is None:
        save = np.arange(int(math.floor(days + 1e-9)) + 1, dtype=float)
        if save[-1] < days - 1e-9:
            save = np.append(save, days)
    else:
        save = np.asarray(save_days, dtype=float).ravel()
        if len(save) and (np.any(np.diff(save) < 0) or save[0] < 0 or save[-1] > days
                          or not np.all(np.isfinite(save))):
            raise InputError(f"save_days must be sorted and within 0..{days:g}")
    names, kinds, idx = resolve_outputs(m, outputs)
    atol = rtol * atol_factor * np.array([s.scale for s in m.states])
    hmax_ = float(hmax) if hmax is not None else days

    mod = batch_kernels(cm)
    values = np.full((N, len(save), len(names)), np.nan)
    status = np.zeros(N, np.int32)
    fail_t = np.full(N, np.nan)
    steps = np.zeros(N, np.int64)
    rejected = np.zeros(N, np.int64)
    stiff = np.zeros(N, np.int64)

    import numba

    # which subjects run in lanes: decided for the whole call, so that it never depends
    # on the chunking (a subject's result in lanes does not depend on its block mates)
    groups = {k: np.asarray(g) for k, g in lane_groups(sched, np.arange(N), minimum=1).items()}
    in_lanes = np.zeros(N, bool)
    if isinstance(lanes, (bool, np.bool_)) or lanes is None:
        if lanes or lanes is None:
            for g in groups.values():
                if len(g) >= LANES_GROUP:
                    in_lanes[g] = True
        if lanes is None:
            if not (method != "rodas4" and in_lanes.sum() >= LANES_FROM and lanes_available()):
                in_lanes[:] = False
        elif lanes and (method == "rodas4" or not lanes_available()):
            raise InputError("lanes=True needs method 'auto' or 'dopri5' and an x86-64 CPU "
                             "with AVX2 or AVX-512 and glibc's libmvec (neurobone.engine.lanes)")
    else:
        mask = np.asarray(lanes)
        if mask.shape != (N,) or mask.dtype != bool:
            raise InputError(f"lanes must be None, True, False or a boolean array of {N} "
                             f"subjects, got {type(lanes).__name__}")
        in_lanes = mask.copy() if method != "rodas4" and lanes_available() else in_lanes
    lmod = lanes_kernels(cm) if in_lanes.any() else None
    prev_threads = numba.get_num_threads()
    if threads is not None:
        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    serial = numba.get_num_threads() == 1
    kernel = mod.integrate_serial if serial else mod.integrate_batch
    n_lanes = 0
    n_handed = 0

    def scalar(ix: np.ndarray) -> None:
        sl = sched.take(ix)
        o = np.full((len(ix), len(save), len(names)), np.nan)
        st, ft = np.zeros(len(ix), np.int32), np.full(len(ix), np.nan)
        a, r, k = (np.zeros(len(ix), np.int64) for _ in range(3))
        with numba.parallel_chunksize(1):
            kernel(P[ix], Y0[ix], sl.shared_pindex, sl.shared_value, sl.shared_start,
                   sl.shared_end, sl.shared_mask, sl.offsets, sl.pindex, sl.value, sl.start,
                   sl.end, sl.mask, save, kinds, idx, days, float(rtol), atol, 1e-4, hmax_,
                   int(max_steps), len(m.expressions), METHODS[method], o, st, ft, a, r, k)
        values[ix], status[ix], fail_t[ix] = o, st, ft
        steps[ix], rejected[ix], stiff[ix] = a, r, k

    def vector(ix: np.ndarray) -> np.ndarray:
        # subjects with the same schedule, in lock step: their common rows (the shared
        # ones, then their own) are passed as the kernel's rows; returns the subjects
        # handed back to the scalar engine
        o = np.full((len(ix), len(save), len(names)), np.nan)
        st, ft = np.zeros(len(ix), np.int32), np.full(len(ix), np.nan)
        a, r = np.zeros(len(ix), np.int64), np.zeros(len(ix), np.int64)
        e0, i0 = np.zeros(0), np.zeros(0, np.int32)
        lo, hi = sched.offsets[ix[0]], sched.offsets[ix[0] + 1]
        rows = [np.concatenate([sh, own[lo:hi]]) for sh, own in (
            (sched.shared_pindex, sched.pindex), (sched.shared_value, sched.value),
            (sched.shared_start, sched.start), (sched.shared_end, sched.end),
            (sched.shared_mask, sched.mask))]
        run = lmod.integrate_lanes_serial if serial else lmod.integrate_lanes
        with numba.parallel_chunksize(1):
            run(np.ascontiguousarray(P[ix]), np.ascontiguousarray(Y0[ix]), *rows,
                i0, e0, e0, e0, i0, save, kinds, idx, days, float(rtol), atol, 1e-4, hmax_,
                int(max_steps), len(m.expressions), o, st, ft, a, r)
        values[ix], status[ix], fail_t[ix], steps[ix], rejected[ix] = o, st, ft, a, r
        return ix[st == HANDOVER]

    chunk = int(chunk_size) if chunk_size else max(1, min(N, 16384 if progress else N))
    prev_slp = numba.config.SLP_VECTORIZE
    # the kernels compile on their first call: with LLVM's SLP vectoriser, which Numba
    # leaves off by default (measured: the lanes 15-18 % faster, results within rounding)
    numba.config.SLP_VECTORIZE = 1
    try:
        done = 0
        while done < N:
            hi = min(N, done + chunk)
            ix = np.arange(done, hi)
            if lmod is not None:
                grouped = np.zeros(N, bool)
                back = []
                for g in groups.values():
                    g = g[(g >= done) & (g < hi)]  # this chunk's members, in order
                    g = g[in_lanes[g]]
                    if len(g) == 0:
                        continue
                    grouped[g] = True
                    back.append(vector(g))
                    n_lanes += len(g) - len(back[-1])
                    n_handed += len(back[-1])
                rest = np.sort(np.concatenate([ix[~grouped[ix]], *back]).astype(np.int64))
                if len(rest):
                    scalar(rest)
            else:
                scalar(ix)
            done = hi
            if progress is not None:
                progress(done, N)
    finally:
        numba.set_num_threads(prev_threads)
        numba.config.SLP_VECTORIZE = prev_slp

    res = BatchResult(m.name, save, values, names, status, fail_t, steps, rejected, stiff,
                      meta={"rtol": rtol, "atol_factor": atol_factor, "method": method,
                            "schedule_rows": sched.n_rows, "lanes": n_lanes,
                            "handed_over": n_handed})
    if not res.ok:
        if on_failure == "raise":
            raise SolverError(_failure_message(res))
        if on_failure == "warn":
            warnings.warn(_failure_message(res), RuntimeWarning, stacklevel=2)
    return res
