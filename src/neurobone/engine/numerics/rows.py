"""Schedule rows: which parameter values are in force, and when they next change.

A subject's schedule is rows ``(parameter index, value, start, end, weekday mask)``: the
parameter takes the value on ``[start, end)``, on the weekdays whose bits are set (bit d
for weekday d, day ``t`` having weekday ``floor(t) % 7``; ``FULL`` = every day). Rows
shared by every subject (``sq, sv, ss, se, sm``) come first; the subject's own rows are
``q, v, s, e, m`` from ``lo`` to ``hi``. Where rows overlap on one parameter the later
row wins, as :class:`neurobone.model.timed.Override` lists do.
"""

import math

import numpy as np

from neurobone.engine.numerics.interface import jit

#: weekday mask with every day set
FULL = 127


@jit
def row_active(t, s, e, m):
    """Whether a row ``[s, e)`` with weekday mask ``m`` is in force at ``t``."""
    if t < s or t >= e:
        return False
    if m == FULL:
        return True
    return (m >> (int(math.floor(t)) % 7)) & 1 == 1


@jit
def row_next(t, s, e, m):
    """The next time after ``t`` at which the row may switch on or off (inf if never)."""
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
    return e  # the mask is all on or all off beyond t


@jit
def params_at(t, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi):
    """Set ``p`` to the parameters in force at ``t`` (right-continuous). Only entries that
    rows override are touched: ``p`` must equal ``base`` elsewhere."""
    for r in range(sq.shape[0]):
        p[sq[r]] = base[sq[r]]
    for r in range(lo, hi):
        p[q[r]] = base[q[r]]
    for r in range(sq.shape[0]):
        if row_active(t, ss[r], se[r], sm[r]):
            p[sq[r]] = sv[r]
    for r in range(lo, hi):
        if row_active(t, s[r], e[r], m[r]):
            p[q[r]] = v[r]


@jit
def next_change(t, t_end, p, base, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi):
    """The first time after ``t`` where the parameters differ from ``p`` (else
    ``t_end``); ``pn`` is scratch equal to ``base`` outside the overridden entries.
    Candidate times where no value actually changes are skipped."""
    tc = t
    while True:
        nxt = t_end
        for r in range(sq.shape[0]):
            c = row_next(tc, ss[r], se[r], sm[r])
            if c < nxt:
                nxt = c
        for r in range(lo, hi):
            c = row_next(tc, s[r], e[r], m[r])
            if c < nxt:
                nxt = c
        if nxt >= t_end:
            return t_end
        params_at(nxt, base, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        for r in range(sq.shape[0]):
            if pn[sq[r]] != p[sq[r]]:
                return nxt
        for r in range(lo, hi):
            if pn[q[r]] != p[q[r]]:
                return nxt
        tc = nxt


@jit
def change_times(t_end, base, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi):
    """Every change point of a schedule in ``(0, t_end)``, with 0 first and ``t_end``
    last (the points :func:`next_change` visits one after another)."""
    p = base.copy()
    pn = base.copy()
    params_at(0.0, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
    out = [0.0]
    t = 0.0
    while t < t_end:
        t = next_change(t, t_end, p, base, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        params_at(t, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        out.append(t)
    return np.array(out)


@jit
def values_at(times, base, idx, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi):
    """The values of parameters ``idx`` in force at each of ``times`` (one row each)."""
    out = np.empty((times.shape[0], idx.shape[0]))
    p = base.copy()
    for k in range(times.shape[0]):
        params_at(times[k], base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        for u in range(idx.shape[0]):
            out[k, u] = p[idx[u]]
    return out
