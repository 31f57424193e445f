"""The lanes (:class:`neurobone.engine.solvers.Lanes`: Dormand & Prince on several
subjects per SIMD instruction, each with its own schedule and end day) against the
reference and the scalar solvers; independence of a subject from its block mates;
handover of stiff and non-positive-base subjects; the generated vector kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurobone.engine import kernels, platform
from neurobone.engine.schedule import Schedule
from neurobone.engine.simulate import simulate
from neurobone.engine.solvers import BDF, Dopri5, Lanes, Rodas4, Switching
from neurobone.model.timed import Override
from tests.helpers import (
    MODELS,
    NEGATIVE_BASE,
    ROBERTSON,
    SPECS,
    TOL,
    mixed_cohort,
    mixed_days,
    reference,
    relerr,
)

pytestmark = pytest.mark.skipif(not platform.lanes_available(),
                                reason="no AVX2/AVX-512 libmvec lanes here")

N = 19  # not a multiple of the lane block: the last block is padded


def keep_fractions(cm, name: str, P: np.ndarray) -> np.ndarray:
    """``P`` with the model's shares of a whole (``SPECS[name]["fractions"]``) brought
    back within 0..1 after every parameter was perturbed."""
    for q in SPECS[name].get("fractions", ()):
        P[:, cm.param_index(q)] = np.clip(P[:, cm.param_index(q)], 0.0, 1.0)
    return P


def shared_cohort(name: str, n: int = N, seed: int = 7):
    """n subjects with their own parameters and initial states and one shared schedule
    (a weekday programme, an overlapping override of the same input, a short pulse)."""
    cm, P6, Y6, _, days = mixed_cohort(name)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(P6), n)
    P = keep_fractions(cm, name, P6[pick] * np.exp(rng.normal(0.0, 0.05, (n, P6.shape[1]))))
    inputs = [cm.param_index(a) for a, _ in SPECS[name]["inputs"]]
    P[:, inputs] = P6[0, inputs]
    Y = Y6[pick]
    (a, va), (b, vb), (c, vc) = SPECS[name]["inputs"]
    shared = [Override(a, va, 10.5, 120.0, weekdays=(0, 2, 4)),
              Override(a, 0.5 * va, 60.0, 70.0),
              Override(b, vb, 30.0, 31.25)]
    return cm, P, Y, shared, days


def own_cohort(name: str, n: int = 40, seed: int = 11):
    """n subjects built from the mixed cohort: own parameters, initial states, schedules
    (own rows of every kind) and end days (fractional, at change points, one of 0 days),
    in an order that is not the lanes' (longest first)."""
    cm, P6, Y6, schedules6, days = mixed_cohort(name)
    rng = np.random.default_rng(seed)
    pick = np.arange(n) % len(P6)
    P = keep_fractions(cm, name, P6[pick] * np.exp(rng.normal(0.0, 0.03, (n, P6.shape[1]))))
    inputs = [cm.param_index(a) for a, _ in SPECS[name]["inputs"]]
    P[:, inputs] = P6[pick][:, inputs]  # inputs off outside the schedules
    Y = Y6[pick]
    schedules = [schedules6[i] for i in pick]
    t_end = mixed_days(days)[pick] * rng.choice([1.0, 1.0, 0.75, 0.5], n)
    t_end[0] = days
    t_end[7] = 0.0
    return cm, P, Y, schedules, t_end, days


def assert_agrees_until_end(label, res, ref, t_end, tol=TOL):
    """Every output agrees up to each subject's end day; NaN after it in both."""
    bad = {}
    for i, te in enumerate(t_end):
        k = int(np.searchsorted(res.t, te, side="right"))
        for out in res.names:
            e = relerr(res[out][i, :k], ref[out][i, :k])
            if not e <= tol:
                bad[(i, out)] = e
        assert np.all(np.isnan(res.values[i, k:])) and np.all(np.isnan(ref.values[i, k:]))
    assert not bad, f"{label}: outputs differ by more than {tol:g}: {bad}"


# ----------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("name", MODELS)
def test_lanes_agree_with_bdf_on_a_shared_schedule(name):
    # every subject, every output, every day; at rtol 1e-7 because at the default 1e-6
    # the T-score (an offset output crossing zero) of one subject of this cohort differs
    # by 1.6e-4 of the criterion's floor -- in the scalar solvers exactly as in the lanes
    cm, P, Y, shared, days = shared_cohort(name)
    res = simulate(cm, days, parameters=P, initial=Y, schedule=shared, solver=Lanes(rtol=1e-7))
    assert res.ok and res.meta["handed_over"] == 0
    ref = simulate(cm, days, parameters=P, initial=Y, schedule=shared, solver=BDF())
    for i in range(N):
        for out in res.names:
            assert relerr(res[out][i], ref[out][i]) <= TOL, (i, out)


@pytest.mark.parametrize("name", MODELS)
def test_lanes_with_own_schedules_and_end_days_agree_with_bdf_and_switching(name):
    # (a) every subject its own rows and its own end day, more subjects than lanes
    cm, P, Y, schedules, t_end, days = own_cohort(name)
    solver = Lanes(rtol=1e-7)
    res = simulate(cm, t_end, parameters=P, initial=Y, schedule=schedules, solver=solver)
    assert res.ok, res.failures()
    assert res.meta["handed_over"] == 0 and res.meta["schedule_rows"] > 0
    assert res.values.shape == (len(P), int(days) + 1, len(res.names))
    ref = simulate(cm, t_end, parameters=P, initial=Y, schedule=schedules, solver=BDF())
    assert_agrees_until_end(f"{name} lanes vs BDF", res, ref, t_end)
    sw = simulate(cm, t_end, parameters=P, initial=Y, schedule=schedules,
                  solver=Switching(rtol=1e-7))
    assert_agrees_until_end(f"{name} lanes vs switching", res, sw, t_end)
    # a subject of 0 days: its initial state, then nothing
    np.testing.assert_array_equal(res.final_state[7], Y[7])
    assert np.all(np.isnan(res.values[7, 1:]))
    # the end day of every subject is where its final state is
    states = simulate(cm, t_end, parameters=P, initial=Y, schedule=schedules, solver=solver,
                      outputs=cm.model.state_names, save_days=np.unique(t_end))
    for i, te in enumerate(t_end):
        k = int(np.searchsorted(states.t, te))
        np.testing.assert_array_equal(states.values[i, k], states.final_state[i])
        np.testing.assert_array_equal(states.final_state[i], res.final_state[i])


def test_lanes_reproduce_the_reference_cohort():
    # the mixed cohort itself (6 subjects: one block, padded) against its BDF reference
    cm, P, Y, schedules, days, ref = reference("lemaire2004")
    res = simulate(cm, days, parameters=P, initial=Y, schedule=schedules, solver=Lanes())
    assert res.ok and res.meta["handed_over"] == 0
    assert_agrees_until_end("lemaire2004", res, ref, np.full(len(P), days))


def test_lanes_match_the_scalar_dopri5():
    # the same method with the same step-size control: equal to rounding
    cm, P, Y, shared, days = shared_cohort("neurobone")
    a = simulate(cm, days, parameters=P, initial=Y, schedule=shared, solver=Lanes())
    b = simulate(cm, days, parameters=P, initial=Y, schedule=shared, solver=Dopri5())
    assert a.ok and b.ok
    np.testing.assert_allclose(a.values, b.values, rtol=1e-7, atol=1e-12)
    assert np.all(np.abs(a.steps - b.steps) <= 2)
    assert np.all(a.steps > 10)


# ----------------------------------------------------------------------------- independence
def test_a_subject_does_not_depend_on_its_block_mates_chunks_or_threads():
    # (b) bit for bit: whatever the other subjects of its block, the order, the chunks
    # and the threads
    cm, P, Y, schedules, t_end, days = own_cohort("pivonka2008")
    n = len(P)

    save = np.arange(days + 1)

    def run(ix, **kw):
        # the save days of the full run, up to the last end day of these subjects
        return simulate(cm, t_end[ix], parameters=P[ix], initial=Y[ix],
                        schedule=[schedules[i] for i in ix], solver=Lanes(),
                        save_days=save[save <= t_end[ix].max()], **kw)

    full = run(np.arange(n))
    assert full.ok

    def same(part, ix):
        T = len(part.t)
        np.testing.assert_array_equal(part.values, full.values[ix, :T])
        assert np.all(np.isnan(full.values[ix, T:]))
        np.testing.assert_array_equal(part.final_state, full.final_state[ix])
        np.testing.assert_array_equal(part.status, full.status[ix])
        np.testing.assert_array_equal(part.steps, full.steps[ix])
        np.testing.assert_array_equal(part.rejected, full.rejected[ix])

    rng = np.random.default_rng(5)
    perm = rng.permutation(n)
    same(run(perm), perm)
    same(run(perm, chunk_size=5), perm)
    same(run(perm, chunk_size=16, threads=1), perm)
    same(run(np.arange(n), chunk_size=7, threads=2), np.arange(n))
    pick = np.array([17, 3, 3, 11, 0, 1, 2, 5, 4, 3])  # repeated subjects, other mates
    same(run(pick), pick)
    one = np.array([13])
    same(run(one), one)
    # the subjects of the longest end day run alone too
    longest = np.nonzero(t_end == t_end.max())[0]
    same(run(longest), longest)


def test_progress_of_the_lanes():
    cm, P, Y, shared, days = shared_cohort("lemaire2004")
    calls = []
    a = simulate(cm, 60, parameters=P, initial=Y, schedule=shared, solver=Lanes(),
                 chunk_size=8, progress=lambda *args: calls.append(args))
    assert calls == [(8, N, "integrating"), (16, N, "integrating"), (N, N, "integrating")]
    b = simulate(cm, 60, parameters=P, initial=Y, schedule=shared, solver=Lanes())
    np.testing.assert_array_equal(a.values, b.values)


# ----------------------------------------------------------------------------- handover
def test_stiff_subjects_are_handed_to_the_fallback():
    days = 40.0
    outs = ["y1", "y2", "y3"]
    sched = [[], [Override("k1", 0.08, 3.0, 30.0, weekdays=(1, 3))],
             [Override("k3", 2e4, 0.5, 20.0)]] * 3
    res = simulate(ROBERTSON, days, schedule=sched, outputs=outs, solver=Lanes())
    assert res.ok and res.meta["handed_over"] == 9 and np.all(res.stiff_steps > 0)
    # the default fallback: the switching method at the same tolerances, from day 0
    scalar = simulate(ROBERTSON, days, schedule=sched, outputs=outs, solver=Switching())
    np.testing.assert_array_equal(res.values, scalar.values)
    np.testing.assert_array_equal(res.steps, scalar.steps)
    # any fallback
    for fallback in (BDF(), Rodas4(rtol=1e-7)):
        res = simulate(ROBERTSON, days, schedule=sched, outputs=outs,
                       solver=Lanes(fallback=fallback))
        alone = simulate(ROBERTSON, days, schedule=sched, outputs=outs, solver=fallback)
        assert res.ok and res.meta["handed_over"] == 9
        np.testing.assert_array_equal(res.values, alone.values)


def test_only_the_stiff_subjects_are_handed_over():
    # k2 = 0 (and k3 small) leaves the problem non-stiff: those subjects stay in the lanes
    P = np.tile([0.04, 3e7, 1e4], (20, 1))
    P[::2, 1] = 0.0
    P[::2, 2] = 1.0
    res = simulate(ROBERTSON, 20.0, parameters=P, outputs=["y1", "y2"], solver=Lanes())
    assert res.ok and res.meta["handed_over"] == 10
    assert np.all(res.stiff_steps[1::2] > 0) and np.all(res.stiff_steps[::2] == 0)
    ref = simulate(ROBERTSON, 20.0, parameters=P, outputs=["y1", "y2"], solver=BDF())
    for i in range(20):
        for out in ("y1", "y2"):
            assert relerr(res[out][i], ref[out][i]) <= TOL, (i, out)


def test_a_non_positive_power_base_is_handed_over_and_exact():
    days = 3.0
    res = simulate(NEGATIVE_BASE, [days] * 8, save_days=[0, 1, 2, 3], solver=Lanes(rtol=1e-8))
    assert res.ok and res.meta["handed_over"] == 8
    t = np.array([0, 1, 2, 3.0])
    for i in range(8):
        np.testing.assert_allclose(res["v"][i], (1 - (1 - t) ** 3) / 3, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(res["u"][i], 1 - t, rtol=1e-9, atol=1e-12)


def test_a_subject_that_ends_before_the_base_turns_negative_stays_in_the_lanes():
    res = simulate(NEGATIVE_BASE, [0.9, 3.0, 0.5, 0.8], save_days=[0, 0.5, 0.9, 3.0],
                   solver=Lanes(rtol=1e-8))
    assert res.ok and res.meta["handed_over"] == 1
    t = np.array([0, 0.5, 0.9])
    np.testing.assert_allclose(res["v"][0, :3], (1 - (1 - t) ** 3) / 3, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res["v"][1], (1 - (1 - np.r_[t, 3.0]) ** 3) / 3, rtol=1e-6,
                               atol=1e-9)


# ----------------------------------------------------------------------------- kernels
def test_generated_vector_kernels_equal_the_models():
    # prev and rhsv over a block of lanes, each lane its own state and parameters
    cm, P, Y, shared, days = shared_cohort("neurobone")
    mod = cm.lanes()
    L, n, npar = mod.LANES, cm.n_states, cm.n_params
    assert L % mod.WIDTH == 0 and mod.WIDTH == platform.vector_width()
    assert mod.NS == n and mod.OFF_P == 0
    rng = np.random.default_rng(2)
    WK = np.zeros(mod.N_WORK)
    ys, ps = [], []
    for j in range(L):
        p = P[j % N] * np.exp(rng.normal(0.0, 0.02, npar))
        y = Y[j % N] * (1 + 0.1 * rng.uniform(-1, 1, n))
        ps.append(p)
        ys.append(y)
        WK[mod.OFF_P + np.arange(npar) * L + j] = p
        WK[mod.OFF_Y + np.arange(n) * L + j] = y
        WK[mod.OFF_T + j] = 2.5 + j
    kernels.call(mod.prev, WK)  # the parameter-only terms, every lane at once
    smod = cm.module
    for j in range(L):
        c = kernels.call(smod.pre, ps[j].copy(), np.zeros(smod.N_CONST)).copy()
        np.testing.assert_allclose(WK[mod.OFF_C + np.arange(len(c)) * L + j], c, rtol=1e-12)
    kernels.call(mod.rhsv, WK)
    for j in range(L):
        want = cm.rhs(2.5 + j, ys[j], ps[j], np.zeros(n)).copy()
        got = WK[mod.OFF_DY + np.arange(n) * L + j]
        assert np.max(np.abs(want)) > 0
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14 * np.max(np.abs(want)))


def test_lanes_with_a_prebuilt_schedule():
    cm, P, Y, shared, days = shared_cohort("lemaire2004")
    own = [[Override("I_O", 1e5 * (1 + i % 3), 5.0 + i, 50.0)] for i in range(N)]
    sch = Schedule.from_overrides(cm.model.parameter_names, own, shared=shared)
    a = simulate(cm, days, parameters=P, initial=Y, schedule=sch, solver=Lanes())
    b = simulate(cm, days, parameters=P, initial=Y, schedule=[shared + o for o in own],
                 solver=Lanes())
    np.testing.assert_array_equal(a.values, b.values)
    c = simulate(cm, days, parameters=P, initial=Y, schedule=shared, solver=Lanes())
    assert np.max(np.abs(a["C"] - c["C"]) / np.abs(c["C"])) > 1e-2


def test_a_trial_step_outside_the_domain_is_rejected_not_handed_over():
    # u decays, slowly and then (from day 5) fast; the step kept across the change point
    # overshoots u below zero in a trial stage, where u**1.5 (exp(1.5 log u) in the
    # lanes) is undefined. The true u stays positive: the lanes reject the trial step and
    # go on, as the scalar method does, instead of handing the subject over
    from neurobone.model.definition import Component, Parameter, State, compose

    decay = compose("fastdecay", [Component(
        "fastdecay",
        parameters=(Parameter("k", 0.01, "1/day", "decay rate", "test"),
                    Parameter("n", 1.5, "1", "exponent", "test")),
        states=(State("u", 1.0, "1", "decays", rate="-k*u", scale=1.0),
                State("v", 0.0, "1", "integral of u**n", rate="u**n", scale=1.0)))],
        description="a decay that turns fast", citation="test")
    res = simulate(decay, [10.0] * 8, save_days=[0, 5, 10],
                   schedule=[Override("k", 5.0, 5.0)], solver=Lanes(rtol=1e-6))
    assert res.ok and res.meta["handed_over"] == 0 and np.all(res.rejected > 0)
    u5 = math.exp(-0.05)
    np.testing.assert_allclose(res["u"][:, -1], u5 * math.exp(-25.0), rtol=1e-5, atol=1e-9)
    v10 = (1 - math.exp(-0.075)) / 0.015 + u5 ** 1.5 * (1 - math.exp(-37.5)) / 7.5
    np.testing.assert_allclose(res["v"][:, -1], v10, rtol=1e-5)
