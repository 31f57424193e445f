"""The fixed numerics (:mod:`neurobone.engine.numerics`) imported directly, where they
run as plain Python: the LU solve against NumPy, the schedule rows against a brute-force
evaluation of the :class:`~neurobone.model.timed.Override` list they come from."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from neurobone.engine.numerics import linalg, rows
from neurobone.engine.schedule import Schedule
from neurobone.model.timed import Override


def test_the_numerics_run_as_plain_python():
    for f in (linalg.lu_factor, linalg.lu_solve, rows.params_at, rows.next_change):
        assert not hasattr(f, "overloads"), f  # not a Numba dispatcher
    from neurobone.engine.numerics import interface

    with pytest.raises(NotImplementedError, match="generated per model"):
        interface.rhsc(0.0, None, None, None, None)


# ----------------------------------------------------------------------------- linalg
def lu_solve(A: np.ndarray, b: np.ndarray) -> tuple[bool, np.ndarray]:
    n = A.shape[0]
    LU = np.array(A, dtype=float, order="C")
    piv = np.empty(n, np.int64)
    ok = linalg.lu_factor(LU, piv)
    x = np.array(b, dtype=float)
    if ok:
        linalg.lu_solve(LU, piv, x)
    return ok, x


@st.composite
def systems(draw):
    n = draw(st.integers(1, 8))
    A = np.array(draw(st.lists(st.floats(-10.0, 10.0, allow_subnormal=False),
                               min_size=n * n, max_size=n * n))).reshape(n, n)
    if draw(st.booleans()):
        # diagonally dominant with its rows permuted: well conditioned, and the
        # elimination fails or loses everything unless it pivots
        A[np.diag_indices(n)] = 0.0
        A[np.diag_indices(n)] = np.abs(A).sum(axis=1) + 1.0
        A = A[list(draw(st.permutations(range(n))))]
    b = np.array(draw(st.lists(st.floats(-100.0, 100.0), min_size=n, max_size=n)))
    # rows of very different size: the pivoting must not care
    scale = 10.0 ** np.array(draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n)))
    return A * scale[:, None], b * scale


@settings(max_examples=300, deadline=None)
@given(systems())
def test_lu_solve_agrees_with_numpy(system):
    A, b = system
    cond = np.linalg.cond(A)
    assume(np.isfinite(cond) and cond < 1e8)
    ok, x = lu_solve(A, b)
    assert ok
    want = np.linalg.solve(A, b)
    tol = 1e-14 * cond * max(1.0, float(np.max(np.abs(want))))
    np.testing.assert_allclose(x, want, rtol=0, atol=tol)
    # the residual is small relative to the data (backward stability)
    r = A @ x - b
    assert np.max(np.abs(r)) <= 1e-12 * (np.max(np.abs(A)) * np.max(np.abs(x))
                                         + np.max(np.abs(b)) + 1e-300) * A.shape[0]


def test_lu_needs_pivoting_and_reports_singular_matrices():
    ok, x = lu_solve(np.array([[0.0, 2.0], [3.0, 0.0]]), np.array([4.0, 9.0]))
    assert ok and x.tolist() == [3.0, 2.0]
    ok, _ = lu_solve(np.array([[1.0, 2.0], [2.0, 4.0]]), np.array([1.0, 1.0]))
    assert not ok
    ok, _ = lu_solve(np.zeros((3, 3)), np.ones(3))
    assert not ok
    ok, _ = lu_solve(np.array([[math.nan, 1.0], [1.0, 1.0]]), np.ones(2))
    assert not ok


# ----------------------------------------------------------------------------- rows
NAMES = ("a", "b", "c")
BASE = np.array([1.0, 2.0, 3.0])
Q = 0.25  # every start and end is a multiple of a quarter day, as are the weekday edges


def brute_force(overrides: list[Override], t: float) -> np.ndarray:
    """The parameters at ``t`` straight from the Override semantics: the later wins."""
    p = BASE.copy()
    for o in overrides:
        on = o.start <= t < o.end and (o.weekdays is None or math.floor(t) % 7 in o.weekdays)
        if on:
            p[NAMES.index(o.name)] = o.value
    return p


@st.composite
def overrides(draw):
    start = draw(st.integers(0, 120)) * Q
    length = draw(st.one_of(st.integers(1, 100).map(lambda k: k * Q), st.just(math.inf)))
    weekdays = draw(st.one_of(st.none(), st.sets(st.integers(0, 6)).map(
        lambda s: tuple(sorted(s)))))
    # values equal to the base values make change points where nothing changes
    value = draw(st.sampled_from([0.0, 1.0, 2.0, 5.0, 7.5]))
    return Override(draw(st.sampled_from(NAMES)), value, start, start + length, weekdays)


def columns(shared, own):
    sch = Schedule.from_overrides(NAMES, [own], shared=shared)
    sq, sv, ss, se, sm, off, q, v, s, e, m = sch.columns
    return (sq, sv, ss, se, sm, q, v, s, e, m, int(off[0]), int(off[1]))


@settings(max_examples=200, deadline=None)
@given(st.lists(overrides(), max_size=3), st.lists(overrides(), max_size=4),
       st.integers(1, 160).map(lambda k: k * Q))
def test_rows_agree_with_the_override_list(shared, own, t_end):
    cols = columns(shared, own)
    sq, sv, ss, se, sm, q, v, s, e, m, lo, hi = cols
    grid = np.arange(0.0, t_end + Q / 2, Q)
    want = [brute_force(shared + own, t) for t in grid]
    p = BASE.copy()
    pn = BASE.copy()
    for k, t in enumerate(grid):
        # params_at, reusing p as the engines do (right-continuous: at t and inside the
        # quarter day after it)
        for tt in (t, t + 0.1, t + Q * 0.999):
            rows.params_at(tt, BASE, p, *cols)
            np.testing.assert_array_equal(p, brute_force(shared + own, tt))
        rows.params_at(t, BASE, p, *cols)
        np.testing.assert_array_equal(p, want[k])
        if t >= t_end:
            continue
        # next_change: the first quarter day after t where a value differs, else t_end
        changes = [g for j, g in enumerate(grid) if g > t and not np.array_equal(want[j], p)]
        expected = changes[0] if changes else t_end
        got = rows.next_change(t, t_end, p, BASE, pn, sq, sv, ss, se, sm, q, v, s, e, m,
                               lo, hi)
        assert got == expected, (t, got, expected)
        np.testing.assert_array_equal(p, want[k])  # next_change leaves p alone


def test_a_weekly_programme_over_years_changes_on_its_weekdays_only():
    weekly = [Override("a", 5.0, 0.5, 3650.0, weekdays=(0, 2, 4))]
    sq, sv, ss, se, sm, q, v, s, e, m, lo, hi = columns(weekly, [])
    p, pn = BASE.copy(), BASE.copy()
    t, seen = 0.0, []
    while t < 3660.0:
        rows.params_at(t, BASE, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        seen.append((t, p[0]))
        t = rows.next_change(t, 3660.0, p, BASE, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
    # on at 0.5 (day 0 is a Monday of the programme), off at 1, on at 2, off at 3, on at 4,
    # off at 5, on at 7 ...; off for good at 3650
    assert seen[:8] == [(0.0, 1.0), (0.5, 5.0), (1.0, 1.0), (2.0, 5.0), (3.0, 1.0),
                        (4.0, 5.0), (5.0, 1.0), (7.0, 5.0)]
    assert seen[-1] == (3650.0, 1.0)
    sessions = sum(1 for d in range(3650) if d % 7 in (0, 2, 4))
    assert len(seen) == 1 + 2 * sessions  # the start, then every session on and off
