"""Lock-step vectorised lanes (neurobone.engine.lanes) against the scalar engines."""

from __future__ import annotations

import numpy as np
import pytest

from neurobone.engine import batch as batch_module
from neurobone.engine.batch import BatchSchedule, simulate_batch
from neurobone.engine.lanes import available, lanes_kernels
from neurobone.engine.schedule import Override
from neurobone.engine.solve import simulate
from neurobone.errors import InputError
from neurobone.model.definition import Component, Parameter, State, compose

from tests.test_batch import MODELS, ROBERTSON, SPECS, TOL, mixed_cohort, relerr

pytestmark = pytest.mark.skipif(not available(), reason="no AVX2/AVX-512 libmvec lanes here")

N = 19  # not a multiple of the lane block: the last block is padded


def shared_cohort(name: str, n: int = N, seed: int = 7):
    """n subjects with their own parameters and initial states and one shared schedule
    (a weekday programme, an overlapping override of the same input, a short pulse)."""
    cm, P6, Y6, _, days = mixed_cohort(name)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(P6), n)
    P = P6[pick] * np.exp(rng.normal(0.0, 0.05, (n, P6.shape[1])))
    P[:, [cm.param_index(a) for a, _ in SPECS[name]["inputs"]]] = P6[0, [
        cm.param_index(a) for a, _ in SPECS[name]["inputs"]]]
    Y = Y6[pick]
    (a, va), (b, vb), (c, vc) = SPECS[name]["inputs"]
    shared = [Override(a, va, 10.5, 120.0, weekdays=(0, 2, 4)),
              Override(a, 0.5 * va, 60.0, 70.0),
              Override(b, vb, 30.0, 31.25)]
    return cm, P, Y, shared, days


@pytest.mark.parametrize("name", MODELS)
def test_lanes_agree_with_the_single_engine(name):
    # every subject, every output, every day; at rtol 1e-7 because at the default 1e-6
    # the T-score (an offset output crossing zero) of one subject of this cohort differs
    # by 1.6e-4 of the criterion's floor -- in the scalar engine exactly as in the lanes
    cm, P, Y, shared, days = shared_cohort(name)
    sch = BatchSchedule.from_overrides(cm, None, shared=shared, n=N)
    res = simulate_batch(cm, days, P, Y, sch, lanes=True, rtol=1e-7)
    assert res.ok and res.meta["lanes"] == N and res.meta["handed_over"] == 0
    names = cm.model.parameter_names
    for i in range(N):
        ref = simulate(cm, days, parameters=dict(zip(names, P[i])), initial=Y[i],
                       overrides=shared)
        for j, out in enumerate(res.names):
            assert relerr(res.values[i, :, j], ref[out]) <= TOL, (i, out)


def test_lanes_match_the_scalar_dopri5():
    # the same method with the same step-size control: equal to rounding
    cm, P, Y, shared, days = shared_cohort("neurobone")
    sch = BatchSchedule.from_overrides(cm, None, shared=shared, n=N)
    a = simulate_batch(cm, days, P, Y, sch, lanes=True, method="dopri5")
    b = simulate_batch(cm, days, P, Y, sch, lanes=False, method="dopri5")
    np.testing.assert_allclose(a.values, b.values, rtol=1e-7, atol=1e-12)
    assert np.all(np.abs(a.steps - b.steps) <= 2)


def test_a_subject_does_not_depend_on_its_block_mates():
    cm, P, Y, shared, days = shared_cohort("neurobone")
    sch = BatchSchedule.from_overrides(cm, None, shared=shared, n=N)
    full = simulate_batch(cm, days, P, Y, sch, lanes=True)
    pick = np.array([17, 3, 3, 11, 0, 1, 2, 5, 4])
    part = simulate_batch(cm, days, P[pick], Y[pick], sch.take(pick), lanes=True)
    np.testing.assert_array_equal(part.values, full.values[pick])


def test_subjects_are_grouped_by_schedule():
    # ten subjects share an own-row schedule (a group: lanes, its rows after the shared
    # ones, as in the scalar engine), one has a schedule of its own (scalar), nine have
    # none (a second group)
    cm, P, Y, shared, days = shared_cohort("lemaire2004", n=20)
    extra = [Override("I_O", 1e5, 5.0, 50.0), Override("I_P", 0.0, 40.0, 45.0)]
    own = [list(extra) if i < 10 else [] for i in range(20)]
    own[12] = [Override("I_O", 2e5, 5.0, 50.0)]
    sch = BatchSchedule.from_overrides(cm, own, shared=shared)
    res = simulate_batch(cm, days, P, Y, sch, lanes=True)
    assert res.ok and res.meta["lanes"] == 19 and res.meta["handed_over"] == 0
    alone = simulate_batch(cm, days, P[[12]], Y[[12]], sch.take([12]), lanes=False)
    np.testing.assert_array_equal(res.values[12], alone.values[0])
    names = cm.model.parameter_names
    for i in (0, 9, 15):
        ref = simulate(cm, days, parameters=dict(zip(names, P[i])), initial=Y[i],
                       overrides=shared + own[i])
        for j, out in enumerate(res.names):
            assert relerr(res.values[i, :, j], ref[out]) <= TOL, (i, out)
    # fewer than LANES_GROUP subjects with one schedule stay scalar
    few = simulate_batch(cm, days, P[:5], Y[:5], sch.take(np.arange(5)), lanes=True)
    assert few.meta["lanes"] == 0


def test_stiff_subjects_are_handed_to_the_scalar_engine():
    days = 40.0
    res = simulate_batch(ROBERTSON, days, None, None,
                         BatchSchedule.from_overrides(ROBERTSON, None, n=8), lanes=True,
                         outputs=["y1", "y2", "y3"])
    assert res.ok and res.meta["handed_over"] == 8 and np.all(res.stiff_steps > 0)
    scalar = simulate_batch(ROBERTSON, days, None, None,
                            BatchSchedule.from_overrides(ROBERTSON, None, n=8), lanes=False,
                            outputs=["y1", "y2", "y3"])
    np.testing.assert_array_equal(res.values, scalar.values)


# u falls through zero at t = 1; v integrates u**n, a power with a parameter exponent that
# the lanes compute as exp(n*log(u)) -- undefined for u < 0, where pow(u, 2.0) is not
NEGATIVE_BASE = compose("negbase", [Component(
    "negbase",
    parameters=(Parameter("n", 2.0, "1", "exponent", "test"),),
    states=(State("u", 1.0, "1", "falls linearly", rate="-1", scale=1.0),
            State("v", 0.0, "1", "integral of u**n", rate="u**n", scale=1.0)),
)], description="a power of a base that turns negative", citation="test")


def test_a_non_positive_power_base_is_handed_over_and_exact():
    days = 3.0
    res = simulate_batch(NEGATIVE_BASE, days, None, None,
                         BatchSchedule.from_overrides(NEGATIVE_BASE, None, n=8), lanes=True,
                         save_days=[0, 1, 2, 3], rtol=1e-8)
    assert res.ok and res.meta["handed_over"] == 8
    t = np.array([0, 1, 2, 3.0])
    np.testing.assert_allclose(res["v"][0], (1 - (1 - t) ** 3) / 3, rtol=1e-6, atol=1e-9)


def test_lanes_true_without_support_is_an_input_error(monkeypatch):
    cm, P, Y, shared, days = shared_cohort("lemaire2004", n=2)
    with pytest.raises(InputError, match="lanes=True needs"):
        simulate_batch(cm, 10, P, Y, None, lanes=True, method="rodas4")
    monkeypatch.setattr(batch_module, "lanes_available", lambda: False)
    with pytest.raises(InputError, match="AVX"):
        simulate_batch(cm, 10, P, Y, None, lanes=True)
    res = simulate_batch(cm, 10, P, Y, None)  # default: quietly scalar
    assert res.ok and res.meta["lanes"] == 0


def test_generated_vector_kernels_equal_the_models():
    # prev and rhsv over a block of lanes, each lane its own state and parameters
    cm, P, Y, shared, days = shared_cohort("neurobone")
    mod = lanes_kernels(cm)
    bmod = batch_module.batch_kernels(cm)
    L, n = mod.LANES, cm.n_states
    rng = np.random.default_rng(2)
    WK = np.zeros(mod.N_WORK)
    ys = []
    for j in range(L):
        mod._set_lane(j, P[j % N], WK)
        y = Y[j % N] * (1 + 0.1 * rng.uniform(-1, 1, n))
        ys.append(y)
        for i in range(n):
            WK[mod.OFF_Y + i * L + j] = y[i]
        WK[mod.OFF_T + j] = 2.5
    mod.prev(WK)  # the parameter-only terms, every lane at once
    for j in range(L):
        c = bmod.pre(P[j % N].copy(), np.zeros(bmod.N_CONST))
        np.testing.assert_allclose(WK[mod.OFF_C + np.arange(len(c)) * L + j], c, rtol=1e-12)
    mod.rhsv(WK)
    for j in range(L):
        want = cm.rhs(2.5, ys[j], P[j % N], np.zeros(n))
        got = WK[mod.OFF_DY + np.arange(n) * L + j]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14 * np.max(np.abs(want)))


def test_a_mask_chooses_the_subjects_and_bad_masks_are_input_errors():
    cm, P, Y, shared, days = shared_cohort("lemaire2004", n=6)
    own = [[], [], [Override("I_O", 1e5, 5.0, 50.0)], [], [], []]
    sch = BatchSchedule.from_overrides(cm, own, shared=shared)
    mask = np.array([True, False, True, True, False, False])
    res = simulate_batch(cm, 60, P, Y, sch, lanes=mask)  # groups of any size
    assert res.ok and res.meta["lanes"] == 3
    ref = simulate_batch(cm, 60, P, Y, sch, lanes=False)
    np.testing.assert_array_equal(res.values[~mask], ref.values[~mask])
    np.testing.assert_allclose(res.values[mask], ref.values[mask], rtol=1e-4)
    with pytest.raises(InputError, match="boolean array of 6"):
        simulate_batch(cm, 60, P, Y, sch, lanes=np.ones(5, bool))
