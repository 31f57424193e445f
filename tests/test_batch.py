"""Batched engine: agreement with the single-subject engine on mixed cohorts.

Every subject of a mixed cohort (own parameters, own initial state, own schedule
including weekday schedules and overlapping overrides) is compared, on every kept
output, with :func:`neurobone.engine.solve.simulate` run at a tight tolerance.
"""

from __future__ import annotations

import functools
import importlib.util  # noqa: F401 - registry.available() needs it loaded
import math

import numpy as np
import pytest

from neurobone.engine.batch import BatchSchedule, simulate_batch, weekday_mask
from neurobone.engine.schedule import Override
from neurobone.engine.solve import resolve, simulate
from neurobone.engine.steady import initialise
from neurobone.errors import InputError, SolverError
from neurobone.model.definition import Component, Expression, Parameter, State, compose
from neurobone.model.registry import available

#: agreement required between the engines (relative, on every output)
TOL = 1e-4

# per model: species, days, parameters varied between subjects, inputs (name, value)
SPECS = {
    "lemaire2004": dict(
        species=None, days=160.0,
        vary=["D_R", "k_B", "D_C", "D_A", "K_OP"],
        inputs=[("I_P", 1e3), ("I_O", 2e5), ("I_L", 1e3)],
    ),
    "pivonka2008": dict(
        species=None, days=160.0,
        vary=["D_OBu", "D_OBp", "A_OBa", "D_OCp", "A_OCa"],
        inputs=[("I_P", 250.0), ("I_O", 5e4), ("I_L", 1e3)],
    ),
    "neurobone": dict(
        species="mouse", days=200.0,
        vary=["D_OBp", "A_OCa", "k_grow", "k_lab", "K_aff"],
        inputs=[("ex_load", 1.5), ("ex_central", 0.8), ("E2_target", 0.1)],
    ),
}
MODELS = [m for m in SPECS if m in available()]


def relerr(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference ``|a - b| / (|b| + 0.01 * max|b|)``.

    ``relerr <= 1e-4`` means ``|a - b| <= 1e-4 |b| + 1e-6 max|b| + 1e-16``: relative,
    with an absolute floor at a millionth of the output's peak for outputs that start at
    or cross zero (connectivity above baseline, T-score), and at 1e-16 for outputs that
    are numerically zero throughout (a pool at 0 holds Newton residue such as 1e-69).
    """
    peak = max(float(np.max(np.abs(b))), 1e-300)
    return float(np.max(np.abs(a - b) / (np.abs(b) + 0.01 * peak + 1e-12)))


def mixed_cohort(name: str, seed: int = 1):
    spec = SPECS[name]
    cm = resolve(name, spec["species"])
    rng = np.random.default_rng(seed)
    (a, va), (b, vb), (c, vc) = spec["inputs"]
    days = spec["days"]
    schedules = [
        [],
        [Override(a, va, 20.0, 80.0)],
        [Override(a, va, 10.5, 120.0, weekdays=(0, 2, 4))],
        [Override(b, vb, 5.0, 60.0), Override(b, 0.5 * vb, 30.0, 90.0),
         Override(c, vc, 40.0, 41.5)],
        [Override(c, vc, 0.0, math.inf), Override(a, va, 3.0, 100.0, weekdays=(1, 2, 3, 4, 5))],
        [Override(a, va, 7.0, 9.0), Override(b, vb, 12.25, 12.75),
         Override(a, 0.3 * va, 50.0, days)],
    ]
    n = len(schedules)
    P = np.empty((n, cm.n_params))
    Y = np.empty((n, cm.n_states))
    for i in range(n):
        values = {}
        if i > 0:
            for q in spec["vary"]:
                values[q] = cm.model.parameter(q).value * float(np.exp(rng.normal(0.0, 0.15)))
        p = cm.parameter_vector(values)
        try:  # homeostatic start where the model has one
            y0, p = initialise(cm, p)
        except SolverError:
            y0 = cm.initial_vector()
        if i in (2, 5):  # start away from the steady state
            for j, s in enumerate(cm.model.states):
                if s.steady and y0[j] != 0.0:
                    y0[j] *= 1.0 + 0.2 * rng.uniform(-1, 1)
        P[i], Y[i] = p, y0
    return cm, P, Y, schedules, days


@functools.lru_cache(maxsize=None)
def reference(name: str):
    """The mixed cohort and its single-engine trajectories (tight tolerance)."""
    cm, P, Y, schedules, days = mixed_cohort(name)
    refs = [simulate(cm, days, parameters=dict(zip(cm.model.parameter_names, P[i])),
                     initial=Y[i], overrides=ovs)
            for i, ovs in enumerate(schedules)]
    return cm, P, Y, schedules, days, refs


def assert_agrees(name, res, refs):
    worst = {}
    for i, ref in enumerate(refs):
        np.testing.assert_array_equal(res.t, ref.t)
        for j, out in enumerate(res.names):
            worst[(i, out)] = relerr(res.values[i, :, j], ref[out])
    bad = {k: v for k, v in worst.items() if v > TOL}
    assert not bad, f"{name}: outputs differ by more than {TOL:g}: {bad}"
    return max(worst.values())


@pytest.mark.parametrize("method", ["auto", "rodas4"])
@pytest.mark.parametrize("name", MODELS)
def test_batch_agrees_with_single_engine_on_mixed_cohort(name, method):
    cm, P, Y, schedules, days, refs = reference(name)
    res = simulate_batch(cm, days, parameters=P, initial=Y, schedules=schedules, method=method)
    assert res.ok, res.failures()
    assert res.values.shape == (len(P), int(days) + 1, len(res.names))
    assert_agrees(name, res, refs)
    if method == "rodas4":
        assert np.all(res.stiff_steps == res.steps)


def test_dopri5_agrees_on_a_non_stiff_model():
    cm, P, Y, schedules, days, refs = reference("lemaire2004")
    res = simulate_batch(cm, days, P, Y, schedules, method="dopri5")
    assert res.ok and np.all(res.stiff_steps == 0)
    assert_agrees("lemaire2004", res, refs)


# Robertson's chemical kinetics (Hairer & Wanner, Solving ODEs II, Sec. IV.1): the classic
# stiff test problem, here with a weekly doubled first rate constant.
ROBERTSON = compose(
    "robertson",
    [Component(
        "robertson",
        parameters=(
            Parameter("k1", 0.04, "1/day", "slow reaction", "Robertson 1966"),
            Parameter("k2", 3e7, "1/day", "very fast reaction", "Robertson 1966"),
            Parameter("k3", 1e4, "1/day", "fast reaction", "Robertson 1966"),
        ),
        states=(
            State("y1", 1.0, "1", "A", rate="-k1*y1 + k3*y2*y3", scale=1.0),
            State("y2", 0.0, "1", "B", rate="k1*y1 - k3*y2*y3 - k2*y2**2", scale=1e-5),
            State("y3", 0.0, "1", "C", rate="k2*y2**2", scale=1.0),
        ),
        expressions=(Expression("total", "y1 + y2 + y3", "1", "conserved sum"),),
    )],
    description="Robertson stiff test problem", citation="Robertson 1966",
)


def test_auto_method_detects_stiffness_and_agrees():
    days = 40.0
    schedules = [[], [Override("k1", 0.08, 3.0, 30.0, weekdays=(1, 3))],
                 [Override("k3", 2e4, 0.5, 20.0)]]
    res = simulate_batch(ROBERTSON, days, None, None, schedules,
                         outputs=["y1", "y2", "y3", "total"], method="auto")
    assert res.ok
    # the explicit method hands over to RODAS: most accepted steps are stiff ones
    assert np.all(res.stiff_steps > 0.5 * res.steps)
    refs = [simulate(ROBERTSON, days, overrides=ovs) for ovs in schedules]
    assert_agrees("robertson", res, refs)
    # the explicit method alone needs many more steps for the same accuracy
    explicit = simulate_batch(ROBERTSON, days, None, None, schedules, outputs=["y1"],
                              method="dopri5")
    assert np.all(explicit.steps > 5 * res.steps)


@pytest.mark.parametrize("name", MODELS)
def test_analytic_jacobian_matches_finite_differences(name):
    # the Rosenbrock method needs the exact Jacobian (a wrong one loses its order)
    cm, P, Y, _, _ = mixed_cohort(name)
    rng = np.random.default_rng(0)
    n = cm.n_states
    for i in range(len(P)):
        scales = np.array([s.scale for s in cm.model.states])
        y = Y[i] * (1 + 0.3 * rng.uniform(-1, 1, n)) + 1e-3 * scales
        J = cm.jac(0.0, y, P[i], np.zeros((n, n)))
        Jn = np.zeros((n, n))
        for j in range(n):
            h = 1e-6 * max(abs(y[j]), cm.model.states[j].scale)
            e = np.zeros(n)
            e[j] = h
            up = cm.rhs(0.0, y + e, P[i], np.zeros(n))
            down = cm.rhs(0.0, y - e, P[i], np.zeros(n))
            Jn[:, j] = (up - down) / (2 * h)
        scale = np.maximum(np.abs(Jn), 1e-8 * np.max(np.abs(Jn)))
        assert np.max(np.abs(J - Jn) / scale) < 1e-4


@pytest.mark.parametrize("name", MODELS)
def test_segment_constant_right_hand_side_equals_the_models(name):
    # the batched engine precomputes parameter-only terms once per segment (pre) and
    # evaluates the rest (rhsc); together they must be the model's rhs up to rounding
    from neurobone.engine.batch import batch_kernels

    cm, P, Y, _, _ = mixed_cohort(name)
    mod = batch_kernels(cm)
    rng = np.random.default_rng(3)
    n = cm.n_states
    for i in range(len(P)):
        p = P[i] * np.exp(rng.normal(0, 0.05, len(P[i])))
        y = Y[i] * (1 + 0.2 * rng.uniform(-1, 1, n)) + 0.01 * np.array(
            [s.scale for s in cm.model.states])
        c = mod.pre(p, np.zeros(mod.N_CONST))
        fast = mod.rhsc(1.5, y, p, c, np.zeros(n))
        ref = cm.rhs(1.5, y, p, np.zeros(n))
        np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-14 * np.max(np.abs(ref)))


def test_save_days_outputs_and_tidy_views():
    cm, P, Y, schedules, days, _ = reference("lemaire2004")
    save = np.array([0.0, 0.5, 20.0, 20.25, 33.3, 80.0, days])
    outs = ["C", "RANKL", "pi_C", "I_P"]  # state, named output, expression, parameter
    res = simulate_batch(cm, days, P, Y, schedules, save_days=save, outputs=outs)
    assert res.names == outs and res.values.shape == (len(P), len(save), 4)
    # fractional save days come from the dense output: compare with the single engine
    ref = simulate(cm, days, parameters=dict(zip(cm.model.parameter_names, P[1])), initial=Y[1],
                   overrides=schedules[1], dt=0.05)
    for k, d in enumerate(save):
        r = int(np.argmin(np.abs(ref.t - d)))
        assert abs(ref.t[r] - d) < 1e-9
        for j, out in enumerate(outs):
            assert res.values[1, k, j] == pytest.approx(ref[out][r], rel=TOL)
    # parameters are reported right-continuously: I_P is on from day 20 and off at day 80
    assert res["I_P"][1].tolist() == [0.0, 0.0, 1e3, 1e3, 1e3, 0.0, 0.0]
    df = res.to_frame()
    assert list(df.columns) == ["subject", "day", "variable", "value"]
    assert len(df) == res.values.size
    row = df[(df.subject == 3) & (df.day == 33.3) & (df.variable == "C")]
    assert row.value.item() == res.values[3, 4, 0]
    w = res.wide(2)
    assert list(w.columns) == ["day", *outs] and np.allclose(w["C"], res.values[2, :, 0])
    fin = res.final()
    assert fin.shape == (len(P), 4) and fin.loc[5, "C"] == res.values[5, -1, 0]
    assert "subjects=6" in repr(res) and "lemaire2004" in repr(res)


def test_schedule_representation_is_compact_and_round_trips():
    cm, P, Y, schedules, days = mixed_cohort("lemaire2004")
    sch = BatchSchedule.from_overrides(cm, schedules)
    for i, ovs in enumerate(schedules):
        assert sch.for_subject(i) == ovs
    assert sch.slice(2, 4).for_subject(1) == schedules[3]
    # a weekly programme over ten years is one row, shared rows are stored once
    weekly = Override("I_P", 100.0, 365.0, 6 * 365.0, weekdays=(0, 2, 4))
    big = BatchSchedule.from_overrides(cm, None, shared=[weekly], n=1_000_000)
    assert big.n_rows == 1 and big.nbytes < 9 * 1_000_001
    assert big.for_subject(123456) == [weekly]
    assert weekday_mask((0, 2, 4)) == 0b10101 and weekday_mask(None) == 127


def test_shared_and_array_built_schedules_match_override_lists():
    cm, P, Y, _, days = mixed_cohort("lemaire2004")
    n = len(P)
    shared = Override("I_P", 500.0, 10.0, 100.0, weekdays=(1, 3, 5))
    own = [Override("I_O", 1e5 * (i + 1), 5.0 * i + 1, 60.0) for i in range(n)]
    sch = BatchSchedule.from_arrays(
        cm, n,
        subject=[-1, *range(n)],
        parameter=["I_P"] + ["I_O"] * n,
        value=[500.0] + [1e5 * (i + 1) for i in range(n)],
        start=[10.0] + [5.0 * i + 1 for i in range(n)],
        end=[100.0] + [60.0] * n,
        mask=[weekday_mask((1, 3, 5))] + [127] * n,
    )
    a = simulate_batch(cm, days, P, Y, sch, outputs=["R", "B", "C"])
    both = [[shared, own[i]] for i in range(n)]
    b = simulate_batch(cm, days, P, Y, both, outputs=["R", "B", "C"])
    np.testing.assert_allclose(a.values, b.values, rtol=1e-12)
    # the shared weekly schedule does change the trajectory
    c = simulate_batch(cm, days, P, Y, [[own[i]] for i in range(n)], outputs=["R", "B", "C"])
    assert np.max(np.abs(c.values - a.values) / np.abs(a.values)) > 1e-3


def test_failures_are_reported_per_subject():
    cm, P, Y, schedules, days = mixed_cohort("lemaire2004")
    # subject 4 cannot finish within the step budget that the steady subject 0 needs
    with pytest.warns(RuntimeWarning, match="solver failed for"):
        res = simulate_batch(cm, days, P, Y, schedules, max_steps=40)
    assert res.status[0] == 0 and res.status[4] == 2 and not res.ok
    f = res.failures()
    assert 4 in f.subject.tolist()
    day = f.set_index("subject").loc[4, "day"]
    assert 0 < day < days
    k = np.searchsorted(res.t, day, side="right")
    assert np.all(np.isnan(res.values[4, k:])) and np.all(np.isfinite(res.values[4, :k]))
    assert np.all(np.isfinite(res.values[0]))
    with pytest.raises(SolverError, match=r"subject 4 at day"):
        simulate_batch(cm, days, P, Y, schedules, max_steps=40, on_failure="raise")


def test_progress_chunks_and_threads_give_identical_results():
    cm, P, Y, schedules, days = mixed_cohort("lemaire2004")
    calls = []
    a = simulate_batch(cm, 60, P, Y, schedules, progress=lambda d, t: calls.append((d, t)),
                       chunk_size=4)
    assert calls == [(4, 6), (6, 6)]
    b = simulate_batch(cm, 60, P, Y, schedules, threads=1)
    np.testing.assert_array_equal(a.values, b.values)


def test_bad_input_is_an_input_error():
    cm, P, Y, schedules, days = mixed_cohort("lemaire2004")
    with pytest.raises(InputError, match="shape"):
        simulate_batch(cm, 10, P[:, :5])
    with pytest.raises(InputError, match="unknown output"):
        simulate_batch(cm, 10, P, outputs=["nope"])
    with pytest.raises(InputError, match="schedules"):
        simulate_batch(cm, 10, P, Y, schedules[:2])
    with pytest.raises(InputError, match="days"):
        simulate_batch(cm, -1, P)
    with pytest.raises(InputError, match="save_days"):
        simulate_batch(cm, 10, P, save_days=[0, 20])


def test_docs_example_runs():
    # the runnable example of docs/engine.md
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "engine.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "docs/engine.md", "exec"), ns)
    res = ns["res"]
    assert res.ok and res.values.shape == (1000, 21, 3)
    head = "<BatchResult model='lemaire2004' subjects=1000 days=0..140 points=21"
    assert repr(res).startswith(head)
    from neurobone.engine.lanes import available

    fast = ns["fast"]
    assert fast.ok and fast.meta["lanes"] == (1000 if available() else 0)
