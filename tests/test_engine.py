"""The engine (:func:`neurobone.engine.simulate.simulate`) on mixed cohorts.

Every subject of a mixed cohort (own parameters, own initial state, own schedule
including weekday schedules and overlapping overrides) is compared, on every kept
output, with the reference solver (SciPy's BDF at rtol 1e-8); then the result's views,
schedules, failure reporting, progress/chunk/thread invariance and bad input.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurobone.engine import kernels, platform
from neurobone.engine.result import STATUS, Result
from neurobone.engine.schedule import Schedule
from neurobone.engine.simulate import as_compiled, simulate
from neurobone.engine.solvers import (
    BDF,
    Dopri5,
    Lanes,
    Rodas4,
    Switching,
    default_solver,
    solver_named,
)
from neurobone.errors import InputError, SolverError
from neurobone.model.definition import Component, Expression, Parameter, State, compose
from neurobone.model.timed import Override, weekday_mask
from tests.helpers import (
    MODELS,
    ROBERTSON,
    TOL,
    assert_agrees,
    mixed_cohort,
    mixed_days,
    reference,
    relerr,
)

LANES = pytest.mark.skipif(not platform.lanes_available(),
                           reason="no AVX2/AVX-512 libmvec lanes here")
#: every solver of the engine; Lanes only where the machine has them
ALL_SOLVERS = [BDF(), Rodas4(), Dopri5(), Switching(),
               pytest.param(Lanes(), marks=LANES, id="Lanes")]


def solver_id(solver) -> str:
    return type(solver).__name__


# ----------------------------------------------------------------------------- agreement
@pytest.mark.parametrize("solver", [Switching(), Rodas4()], ids=solver_id)
@pytest.mark.parametrize("name", MODELS)
def test_compiled_solvers_agree_with_bdf_on_mixed_cohort(name, solver):
    cm, P, Y, schedules, days, ref = reference(name)
    res = simulate(cm, days, parameters=P, initial=Y, schedule=schedules, solver=solver)
    assert res.ok, res.failures()
    assert res.values.shape == (len(P), int(days) + 1, len(res.names))
    assert res.names == ref.names
    assert_agrees(name, res, ref)
    if isinstance(solver, Rodas4):
        assert np.all(res.stiff_steps == res.steps)


def test_dopri5_agrees_on_a_non_stiff_model():
    cm, P, Y, schedules, days, ref = reference("lemaire2004")
    res = simulate(cm, days, parameters=P, initial=Y, schedule=schedules, solver=Dopri5())
    assert res.ok and np.all(res.stiff_steps == 0)
    assert_agrees("lemaire2004", res, ref)


def test_one_subject_is_a_result_of_one():
    # what the single-subject engine was: one subject, its 1-D outputs at res[name][0]
    cm, P, Y, schedules, days, ref = reference("lemaire2004")
    names = cm.model.parameter_names
    one = simulate(cm, days, parameters=dict(zip(names, P[3], strict=True)), initial=Y[3],
                   schedule=schedules[3], solver=BDF())
    assert one.n_subjects == 1 and one.values.shape == (1, int(days) + 1, len(one.names))
    np.testing.assert_array_equal(one.values[0], ref.values[3])
    # a full parameter vector means the same as the mapping
    vec = simulate(cm, days, parameters=P[3], initial=Y[3], schedule=schedules[3],
                   solver=BDF())
    np.testing.assert_array_equal(vec.values, one.values)
    # the default solver for one subject is the compiled switching method
    assert isinstance(default_solver(1), Switching) and not isinstance(default_solver(1), Lanes)
    dflt = simulate(cm, days, parameters=P[3], initial=Y[3], schedule=schedules[3])
    assert isinstance(dflt.meta["solver"], Switching)
    assert_agrees("default solver", dflt, ref, subjects=[(0, 3)])


def test_the_reference_solver_stops_at_its_step_budget():
    """SciPy has no step limit: BDF counts right-hand-side evaluations against max_steps
    and reports "too many steps" instead of crawling on (a fuzzed steady state did)."""
    cm, P, Y, schedules, days, _ = reference("lemaire2004")
    res = simulate(cm, days, parameters=P[3], initial=Y[3], schedule=schedules[3],
                   solver=BDF(max_steps=20), on_failure="ignore")
    assert STATUS[int(res.status[0])] == "too many steps"
    assert np.isnan(res.values[0, -1]).all()
    ok = simulate(cm, days, parameters=P[3], initial=Y[3], schedule=schedules[3],
                  solver=BDF(max_steps=100_000))
    assert int(ok.status[0]) == 0


# Robertson with a weekly doubled first rate constant and a pulse of the third
ROBERTSON_SCHEDULES = [[], [Override("k1", 0.08, 3.0, 30.0, weekdays=(1, 3))],
                       [Override("k3", 2e4, 0.5, 20.0)]]


def test_switching_detects_stiffness_and_agrees():
    days = 40.0
    outs = ["y1", "y2", "y3", "total"]
    res = simulate(ROBERTSON, days, schedule=ROBERTSON_SCHEDULES, outputs=outs,
                   solver=Switching())
    assert res.ok
    # the explicit method hands over to RODAS: most accepted steps are stiff ones
    assert np.all(res.stiff_steps > 0.5 * res.steps)
    ref = simulate(ROBERTSON, days, schedule=ROBERTSON_SCHEDULES, outputs=outs, solver=BDF())
    assert_agrees("robertson", res, ref)
    # the explicit method alone needs many more steps for the same accuracy
    explicit = simulate(ROBERTSON, days, schedule=ROBERTSON_SCHEDULES, outputs=["y1"],
                        solver=Dopri5())
    assert explicit.ok and np.all(explicit.stiff_steps == 0)
    assert np.all(explicit.steps > 5 * res.steps)


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("name", MODELS)
def test_analytic_jacobian_matches_finite_differences(name):
    # the Rosenbrock method needs the exact Jacobian (a wrong one loses its order)
    cm, P, Y, _, _ = mixed_cohort(name)
    rng = np.random.default_rng(0)
    n = cm.n_states
    scales = np.array([s.scale for s in cm.model.states])
    for i in range(len(P)):
        y = Y[i] * (1 + 0.3 * rng.uniform(-1, 1, n)) + 1e-3 * scales
        J = cm.jac(0.0, y, P[i], np.zeros((n, n))).copy()
        Jn = np.zeros((n, n))
        for j in range(n):
            h = 1e-6 * max(abs(y[j]), cm.model.states[j].scale)
            e = np.zeros(n)
            e[j] = h
            up = cm.rhs(0.0, y + e, P[i], np.zeros(n)).copy()
            down = cm.rhs(0.0, y - e, P[i], np.zeros(n)).copy()
            Jn[:, j] = (up - down) / (2 * h)
        assert np.max(np.abs(Jn)) > 0
        scale = np.maximum(np.abs(Jn), 1e-8 * np.max(np.abs(Jn)))
        assert np.max(np.abs(J - Jn) / scale) < 1e-4, i


@pytest.mark.parametrize("name", MODELS)
def test_segment_constant_right_hand_side_equals_the_models(name):
    # the compiled solvers compute the parameter-only terms once per segment (pre) and
    # the rest at every stage (rhsc); together they must be the model's rhs up to rounding
    cm, P, Y, _, _ = mixed_cohort(name)
    mod = cm.module
    rng = np.random.default_rng(3)
    n = cm.n_states
    scales = np.array([s.scale for s in cm.model.states])
    for i in range(len(P)):
        p = P[i] * np.exp(rng.normal(0, 0.05, len(P[i])))
        y = Y[i] * (1 + 0.2 * rng.uniform(-1, 1, n)) + 0.01 * scales
        c = kernels.call(mod.pre, p, np.zeros(mod.N_CONST)).copy()
        fast = kernels.call(mod.rhsc, 1.5, y, p, c, np.zeros(n)).copy()
        ref = cm.rhs(1.5, y, p, np.zeros(n)).copy()
        assert np.max(np.abs(ref)) > 0
        np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=1e-14 * np.max(np.abs(ref)))


# ----------------------------------------------------------------------------- results
def test_save_days_outputs_and_tidy_views():
    cm, P, Y, schedules, days, _ = reference("lemaire2004")
    save = np.array([0.0, 0.5, 20.0, 20.25, 33.3, 80.0, days])
    outs = ["C", "RANKL", "pi_C", "I_P"]  # state, named output, expression, parameter
    res = simulate(cm, days, parameters=P, initial=Y, schedule=schedules, save_days=save,
                   outputs=outs, solver=Switching())
    assert res.names == outs and res.values.shape == (len(P), len(save), 4)
    np.testing.assert_array_equal(res.t, save)
    # fractional save days come from the dense output: compare with the reference
    ref = simulate(cm, days, parameters=P, initial=Y, schedule=schedules, save_days=save,
                   outputs=outs, solver=BDF())
    assert_agrees("save_days", res, ref)
    # parameters are reported right-continuously: I_P is on from day 20 and off at day 80
    assert res["I_P"][1].tolist() == [0.0, 0.0, 1e3, 1e3, 1e3, 0.0, 0.0]
    assert ref["I_P"][1].tolist() == [0.0, 0.0, 1e3, 1e3, 1e3, 0.0, 0.0]
    # tidy: subject, day, variable, value
    df = res.tidy()
    assert list(df.columns) == ["subject", "day", "variable", "value"]
    assert len(df) == res.values.size
    row = df[(df.subject == 3) & (df.day == 33.3) & (df.variable == "C")]
    assert row.value.item() == res.values[3, 4, 0]
    row = df[(df.subject == 5) & (df.day == 20.25) & (df.variable == "I_P")]
    assert row.value.item() == res.values[5, 3, 3]
    # wide: one subject without a subject column, all subjects with one
    w = res.wide(2)
    assert list(w.columns) == ["day", *outs] and len(w) == len(save)
    np.testing.assert_array_equal(w["C"], res.values[2, :, 0])
    wa = res.wide()
    assert list(wa.columns) == ["subject", "day", *outs] and len(wa) == len(P) * len(save)
    sel = wa[wa.subject == 4]
    np.testing.assert_array_equal(sel["RANKL"], res.values[4, :, 1])
    np.testing.assert_array_equal(sel["day"], save)
    # final: one row per subject at the last saved day
    fin = res.final()
    assert fin.shape == (len(P), 4) and fin.loc[5, "C"] == res.values[5, -1, 0]
    # one subject alone
    one = res.subject(4)
    assert one.n_subjects == 1
    np.testing.assert_array_equal(one.values[0], res.values[4])
    np.testing.assert_array_equal(one["pi_C"][0], res["pi_C"][4])
    np.testing.assert_array_equal(res.subject(-1).values[0], res.values[-1])
    with pytest.raises(InputError, match="out of range"):
        res.subject(6)
    with pytest.raises(InputError, match="was not kept"):
        res["B"]
    assert "subjects=6" in repr(res) and "lemaire2004" in repr(res)
    assert res.units["C"] == cm.model.states[cm.state_index("C")].unit


def test_default_outputs_and_plot():
    cm, P, Y, schedules, days, ref = reference("pivonka2008")
    m = cm.model
    assert ref.names == list(dict.fromkeys(m.state_names + list(m.outputs)))
    for name in m.state_names:
        assert ref.units[name] == m.states[cm.state_index(name)].unit
    fig = ref.plot(["OCa", "BV"])
    try:
        assert len(fig.axes) == 2
        lines = fig.axes[0].get_lines()
        assert len(lines) == len(P)
        np.testing.assert_array_equal(lines[2].get_ydata(), ref["OCa"][2])
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


@pytest.mark.parametrize("solver", ALL_SOLVERS, ids=solver_id)
def test_final_state_and_own_end_days(solver):
    # (c) subjects with their own end days: NaN after the end, the final state equals
    # the state saved at the last day
    cm, P, Y, schedules, days, _ = reference("lemaire2004")
    t_end = mixed_days(days)
    save = np.unique(np.concatenate([np.arange(0.0, days + 1), t_end]))
    res = simulate(cm, t_end, parameters=P, initial=Y, schedule=schedules, save_days=save,
                   outputs=cm.model.state_names, solver=solver)
    assert res.ok, res.failures()
    assert res.final_state.shape == (len(P), cm.n_states)
    assert res.state_names == cm.model.state_names
    for i, te in enumerate(t_end):
        k = int(np.searchsorted(save, te))
        assert save[k] == te
        np.testing.assert_array_equal(res.values[i, k], res.final_state[i])
        assert np.all(np.isfinite(res.values[i, : k + 1]))
        assert np.all(np.isnan(res.values[i, k + 1:]))
    assert np.all(np.isfinite(res.values[0]))  # the longest subject runs to the end


@pytest.mark.parametrize("solver", ALL_SOLVERS, ids=solver_id)
def test_a_subject_of_zero_days(solver):
    cm = as_compiled("pivonka2008")
    y0 = cm.initial_vector() * np.array([1.1, 0.9, 1.0, 1.0])
    res = simulate(cm, [0.0, 5.5], initial=np.array([y0, y0]), outputs=cm.model.state_names,
                   solver=solver)
    assert res.ok and res.t.tolist() == [0, 1, 2, 3, 4, 5, 5.5]
    np.testing.assert_array_equal(res.values[0, 0], y0)
    np.testing.assert_array_equal(res.final_state[0], y0)
    assert np.all(np.isnan(res.values[0, 1:]))
    np.testing.assert_array_equal(res.values[1, 0], y0)
    np.testing.assert_array_equal(res.final_state[1], res.values[1, -1])
    assert np.all(np.isfinite(res.values[1])) and np.all(res.values[1, -1] != y0)


@pytest.mark.parametrize("solver", [BDF(), Switching(),
                                    pytest.param(Lanes(), marks=LANES, id="Lanes")],
                         ids=solver_id)
def test_own_end_days_agree_with_the_full_run(solver):
    # a subject that ends early follows the same path as when it runs to the end
    cm, P, Y, schedules, days, ref = reference("lemaire2004")
    t_end = mixed_days(days)
    res = simulate(cm, t_end, parameters=P, initial=Y, schedule=schedules, solver=solver)
    assert res.ok and res.values.shape == ref.values.shape
    for i, te in enumerate(t_end):
        k = int(math.floor(te)) + 1
        for out in res.names:
            assert relerr(res[out][i, :k], ref[out][i, :k]) <= TOL, (i, out)


def test_final_state_of_a_full_run_is_the_last_state():
    cm, P, Y, schedules, days, ref = reference("neurobone")
    res = simulate(cm, days, parameters=P, initial=Y, schedule=schedules,
                   outputs=cm.model.state_names, solver=BDF())
    np.testing.assert_array_equal(res.final_state, res.values[:, -1, :])
    np.testing.assert_array_equal(res.values[:, :, :],
                                  ref.values[:, :, :len(cm.model.state_names)])


# ----------------------------------------------------------------------------- schedules
def test_schedule_representation_is_compact_and_round_trips():
    cm, P, Y, schedules, days = mixed_cohort("lemaire2004")
    names = cm.model.parameter_names
    sch = Schedule.from_overrides(names, schedules)
    assert len(sch) == len(schedules) and sch.n_rows == sum(map(len, schedules))
    for i, ovs in enumerate(schedules):
        assert sch.for_subject(i) == ovs
    assert sch.slice(2, 4).for_subject(1) == schedules[3]
    took = sch.take([5, 0, 5, 3])
    assert [took.for_subject(i) for i in range(4)] == [schedules[5], [], schedules[5],
                                                       schedules[3]]
    # shared rows come before a subject's own
    shared = [Override("I_L", 7.0, 1.0, 2.0, weekdays=(6,))]
    both = Schedule.from_overrides(names, schedules, shared=shared)
    assert both.for_subject(4) == shared + schedules[4]
    assert both.take([1]).for_subject(0) == shared + schedules[1]
    # a weekly programme over ten years is one row, shared rows are stored once
    weekly = Override("I_P", 100.0, 365.0, 6 * 365.0, weekdays=(0, 2, 4))
    big = Schedule.from_overrides(names, None, shared=[weekly], n=1_000_000)
    assert big.n_rows == 1 and big.nbytes < 9 * 1_000_001
    assert big.for_subject(123456) == [weekly]
    assert weekday_mask((0, 2, 4)) == 0b10101 and weekday_mask(None) == 127


def test_shared_and_array_built_schedules_match_override_lists():
    cm, P, Y, _, days = mixed_cohort("lemaire2004")
    n = len(P)
    shared = Override("I_P", 500.0, 10.0, 100.0, weekdays=(1, 3, 5))
    own = [Override("I_O", 1e5 * (i + 1), 5.0 * i + 1, 60.0) for i in range(n)]
    sch = Schedule.from_arrays(
        cm.model.parameter_names, n,
        subject=[-1, *range(n)][::-1],  # any order: rows are grouped by subject
        parameter=(["I_P"] + ["I_O"] * n)[::-1],
        value=([500.0] + [1e5 * (i + 1) for i in range(n)])[::-1],
        start=([10.0] + [5.0 * i + 1 for i in range(n)])[::-1],
        end=([100.0] + [60.0] * n)[::-1],
        mask=([weekday_mask((1, 3, 5))] + [127] * n)[::-1],
    )
    for i in range(n):
        assert sch.for_subject(i) == [shared, own[i]]
    outs = ["R", "B", "C"]
    a = simulate(cm, days, parameters=P, initial=Y, schedule=sch, outputs=outs)
    both = [[shared, own[i]] for i in range(n)]
    b = simulate(cm, days, parameters=P, initial=Y, schedule=both, outputs=outs)
    np.testing.assert_array_equal(a.values, b.values)
    # the shared weekly schedule does change the trajectory
    c = simulate(cm, days, parameters=P, initial=Y, schedule=[[own[i]] for i in range(n)],
                 outputs=outs)
    assert np.max(np.abs(c.values - a.values) / np.abs(a.values)) > 1e-3
    # one list of overrides is shared by every subject
    d = simulate(cm, days, parameters=P, initial=Y, schedule=[shared], outputs=outs)
    e = simulate(cm, days, parameters=P, initial=Y, schedule=[[shared]] * n, outputs=outs)
    np.testing.assert_array_equal(d.values, e.values)
    # parameter indices work as names do
    idx = Schedule.from_arrays(cm.model.parameter_names, n, [-1], [cm.param_index("I_P")],
                               500.0, 10.0, 100.0, weekday_mask((1, 3, 5)))
    assert idx.for_subject(2) == [shared]


def test_later_overrides_win_where_they_overlap():
    # subject 3 of the cohort: I_O 2e5 on 5..60, then 1e5 on 30..90 (the later wins),
    # I_L 1e3 on 40..41.5
    cm, P, Y, schedules, days, ref = reference("lemaire2004")
    res = simulate(cm, days, parameters=P[[3]], initial=Y[[3]], schedule=[schedules[3]],
                   outputs=["I_O", "I_L"],
                   save_days=[0, 5, 29.5, 30, 40.5, 59.9, 60, 89.9, 90], solver=Rodas4())
    assert res["I_O"][0].tolist() == [0, 2e5, 2e5, 1e5, 1e5, 1e5, 1e5, 1e5, 0]
    assert res["I_L"][0].tolist() == [0, 0, 0, 0, 1e3, 0, 0, 0, 0]


def test_schedule_bad_input_is_an_input_error():
    names = as_compiled("lemaire2004").model.parameter_names
    with pytest.raises(InputError, match="unknown parameter"):
        Schedule.from_overrides(names, [[Override("nope", 1.0)]])
    with pytest.raises(InputError, match="needs per-subject overrides or n"):
        Schedule.from_overrides(names, None)
    with pytest.raises(InputError, match="3 schedules given for 2"):
        Schedule.from_overrides(names, [[], [], []], n=2)
    with pytest.raises(InputError, match="unknown parameters"):
        Schedule.from_arrays(names, 2, [0], ["nope"], 1.0, 0.0, 1.0)
    with pytest.raises(InputError, match="subject index"):
        Schedule.from_arrays(names, 2, [2], ["I_P"], 1.0, 0.0, 1.0)
    with pytest.raises(InputError, match="start < end"):
        Schedule.from_arrays(names, 2, [0], ["I_P"], 1.0, 5.0, 5.0)
    with pytest.raises(InputError, match="weekday masks"):
        Schedule.from_arrays(names, 2, [0], ["I_P"], 1.0, 0.0, 5.0, 128)
    with pytest.raises(InputError, match="must be after"):
        Override("I_P", 1.0, 9.0, 3.0)
    with pytest.raises(InputError, match="weekdays"):
        weekday_mask((7,))


# ----------------------------------------------------------------------------- failures
# y' = a*y**2 from y = 1 blows up at t = 1/a; a = 0 stays at 1
BLOWUP = compose("blowup", [Component(
    "blowup",
    parameters=(Parameter("a", 0.0, "1/day", "growth", "test"),),
    states=(State("y", 1.0, "1", "blows up at 1/a", rate="a*y**2", scale=1.0),),
)], description="finite-time blow-up", citation="test")


@pytest.mark.parametrize("solver", ALL_SOLVERS, ids=solver_id)
def test_a_blow_up_fails_that_subject_only(solver):
    a = np.array([[0.0], [1.0], [0.0], [0.5]])
    with pytest.warns(RuntimeWarning, match=r"solver failed for 2 of 4 subjects"):
        res = simulate(BLOWUP, 3.0, parameters=a, save_days=np.linspace(0, 3, 13),
                       solver=solver)
    assert not res.ok
    assert res.status[0] == 0 and res.status[2] == 0
    assert res.status[1] in STATUS and res.status[1] != 0
    assert res.status[3] in STATUS and res.status[3] != 0
    np.testing.assert_array_equal(res.values[[0, 2], :, 0], 1.0)
    np.testing.assert_array_equal(res.final_state[[0, 2]], 1.0)
    for i, t_blow in ((1, 1.0), (3, 2.0)):
        day = res.fail_day[i]
        # a lower-order solution lags the true blow-up by its error
        assert 0.5 * t_blow < day < t_blow * (1 + 1e-5), (i, day)
        k = np.searchsorted(res.t, day, side="right")
        assert np.all(np.isnan(res.values[i, k:])) and np.all(np.isfinite(res.values[i, :k]))
        assert np.all(np.isnan(res.final_state[i]))
    assert np.all(np.isnan(res.fail_day[[0, 2]]))
    f = res.failures()
    assert f.subject.tolist() == [1, 3]
    assert set(f.reason) <= set(STATUS.values()) - {"ok"}


def test_failures_are_reported_per_subject():
    cm, P, Y, schedules, days = mixed_cohort("lemaire2004")
    # subject 4 cannot finish within the step budget that the steady subject 0 needs
    tight = Switching(max_steps=40)
    with pytest.warns(RuntimeWarning, match="solver failed for"):
        res = simulate(cm, days, parameters=P, initial=Y, schedule=schedules, solver=tight)
    assert res.status[0] == 0 and res.status[4] == 2 and not res.ok
    f = res.failures()
    assert 4 in f.subject.tolist()
    assert f.set_index("subject").loc[4, "reason"] == "too many steps"
    day = f.set_index("subject").loc[4, "day"]
    assert 0 < day < days
    k = np.searchsorted(res.t, day, side="right")
    assert np.all(np.isnan(res.values[4, k:])) and np.all(np.isfinite(res.values[4, :k]))
    assert np.all(np.isfinite(res.values[0]))
    with pytest.raises(SolverError, match=r"subject 4 at day"):
        res.raise_on_failure()
    with pytest.raises(SolverError, match=r"subject 4 at day"):
        simulate(cm, days, parameters=P, initial=Y, schedule=schedules, solver=tight,
                 on_failure="raise")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = simulate(cm, days, parameters=P, initial=Y, schedule=schedules, solver=tight,
                         on_failure="ignore")
    np.testing.assert_array_equal(quiet.status, res.status)
    ok = simulate(cm, 10, parameters=P, initial=Y, schedule=schedules)
    assert ok.raise_on_failure() is ok and ok.failures().empty


# a state that falls through 2 while an expression takes the log of its distance to 2
NEGLOG = compose("neglog", [Component(
    "neglog",
    parameters=(Parameter("k", 1.0, "1/day", "decay", "test"),),
    states=(State("y", 3.0, "1", "decays", rate="-k*y", scale=1.0),),
    expressions=(Expression("e", "log(y - 2)", "1", "undefined below 2"),),
)], description="an output that turns NaN", citation="test")


@pytest.mark.parametrize("solver", ALL_SOLVERS, ids=solver_id)
def test_a_blow_up_names_the_subject_the_day_and_the_state(solver):
    a = np.array([[0.0], [1.0]])
    with pytest.raises(SolverError) as exc:
        simulate(BLOWUP, 3.0, parameters=a, solver=solver, on_failure="raise")
    msg = str(exc.value)
    assert "\n" not in msg
    assert re.search(r"solver failed for 1 of 2 subjects: subject 1 at day [01]\.\d\d \(.+; "
                     r"state 'y' (= [-+.\de]+ \(.+ x its scale\)|is |= .+ changing at)", msg), msg
    with pytest.warns(RuntimeWarning, match="state 'y'"):
        res = simulate(BLOWUP, 3.0, parameters=a, solver=solver)
    assert res.failures().state.tolist()[0].startswith("state 'y'")
    assert res.subject(1).failed_state[0].startswith("state 'y'")
    # with on_failure="ignore" nothing is integrated again, and nothing is said
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = simulate(BLOWUP, 3.0, parameters=a, solver=solver, on_failure="ignore")
    assert quiet.status[1] != 0 and quiet.failures().state.tolist() == [""]


@pytest.mark.parametrize("solver", ALL_SOLVERS, ids=solver_id)
def test_absurd_parameters_end_in_a_solver_error_naming_the_state(solver):
    # D_OBu = 1e300: the states reach 1e299 and stay finite; an explicit solver follows
    # them without complaint, so the engine checks what it returns
    with pytest.raises(SolverError) as exc:
        simulate("pivonka2008", 5, parameters={"D_OBu": 1e300}, solver=solver,
                 on_failure="raise")
    msg = str(exc.value)
    assert "subject 0 at day" in msg and "state 'OBp'" in msg and "\n" not in msg, msg
    with pytest.warns(RuntimeWarning):
        res = simulate("pivonka2008", 5, parameters={"D_OBu": 1e300}, solver=solver)
    day = res.fail_day[0]
    assert np.all(np.isnan(res.values[0, res.t > day]))
    assert np.all(np.isfinite(res.values[0, res.t < day]))
    assert np.all(np.isnan(res.final_state[0]))


def test_huge_states_and_non_finite_outputs_are_failures():
    import warnings

    with warnings.catch_warnings():  # the message is all there is to say: no numpy warning
        warnings.simplefilter("error")
        with pytest.raises(SolverError, match=r"state 'C' = [\d.]+e\+30\d \(inf x its scale\)"):
            simulate("lemaire2004", 3.5, schedule=[Override("D_C", 1e308, 2.5, 4)],
                     solver=Switching(), on_failure="raise")
    with pytest.warns(RuntimeWarning, match=r"subject 0 at day 1\.00 \(state out of range; "
                                             r"state 'OBp' = 1\.\d+e\+299"):
        res = simulate("pivonka2008", 5, parameters={"D_OBu": 1e300}, solver=Switching())
    assert res.status[0] == 4 and res.fail_day[0] == 1.0 and STATUS[4] == "state out of range"
    assert np.all(np.isfinite(res.values[0, 0])) and np.all(np.isnan(res.values[0, 1:]))
    # an expression that turns NaN while the states are finite: status 5 on that day
    with pytest.warns(RuntimeWarning, match=r"subject 0 at day 1\.00 \(non-finite output; "
                                             r"output 'e' is nan\)"):
        res = simulate(NEGLOG, 3, outputs=["y", "e"], solver=Switching())
    assert res.status[0] == 5 and np.isfinite(res["e"][0, 0]) and np.isnan(res["e"][0, 1])
    # a subject that ends early has NaN after its end, and that is no failure
    ok = simulate(NEGLOG, [0.3, 0.2], outputs=["y", "e"], save_days=[0.0, 0.1, 0.2, 0.3])
    assert ok.ok and np.isnan(ok["e"][1, 3]) and np.isfinite(ok["e"][0, 3])


@pytest.mark.parametrize("solver", ALL_SOLVERS, ids=solver_id)
def test_a_kernel_that_raises_fails_its_subject_only(solver):
    # D_TGFb = 0: the Jacobian's D_TGFb**(-2) raises ZeroDivisionError in Numba whatever
    # the error model (Rodas4 ended in SystemError, steady states in ZeroDivisionError)
    cm = as_compiled("pivonka2008")
    P = np.tile(cm.parameter_vector(), (3, 1))
    P[1, cm.param_index("D_TGFb")] = 0.0
    res = simulate(cm, 3, parameters=P, solver=solver, on_failure="ignore")
    assert res.status[0] == 0 and res.status[2] == 0 and res.status[1] != 0
    alone = simulate(cm, 3, parameters=P[[0, 2]], solver=solver)
    np.testing.assert_array_equal(res.values[[0, 2]], alone.values)
    with pytest.raises(SolverError, match=r"subject 1 at day 0\.00 \(.*state 'OBp'"):
        simulate(cm, 3, parameters=P, solver=solver, on_failure="raise")


def test_bdf_reports_scipy_refusals_as_failures_without_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = simulate("pivonka2008", 5, parameters={"D_OBu": 1e300}, solver=BDF(),
                       on_failure="ignore")
    assert res.status[0] == 3 and res.fail_day[0] == 0.0


def test_a_steady_state_that_cannot_exist_names_the_state():
    from neurobone.engine.steady import steady_state

    with pytest.raises(SolverError, match=r"no steady state found for model 'pivonka2008': "
                                          r"integrating 20 years towards it failed: .*state 'OBp'"):
        steady_state("pivonka2008", parameters={"D_OBu": 1e300})
    with pytest.raises(SolverError, match=r"the rate of state 'M_ax' is nan at the initial state"):
        steady_state("neurobone", parameters={"tau_M": 0.0})
    # a negative base to a fractional power: plasticity, and with it W_l's rate, is nan
    with pytest.raises(SolverError, match=r"the rate of state 'W_l' is nan at the initial state"):
        steady_state("neurobone", parameters={"age_plast50": -660.0, "n_plast": 2.5})
    with pytest.raises(SolverError, match=r"the rate of state 'OBp' is nan at the initial state"):
        steady_state("pivonka2008", parameters={"D_TGFb": 0.0})  # was ZeroDivisionError


def test_threads_are_checked_against_numbas_limit():
    import numba

    top = numba.config.NUMBA_NUM_THREADS
    for bad in (0, -2, top + 1, 1000, 1.5, True, "2"):
        with pytest.raises(InputError, match=rf"threads must be an integer from 1 to {top} "):
            simulate("lemaire2004", 2, threads=bad)
    assert simulate("lemaire2004", 2, threads=np.int64(top)).ok


def test_the_result_size_is_checked_against_memory_before_allocating(monkeypatch):
    from neurobone.engine import simulate as sim

    need = 8 * 300 * 1001 * 3
    monkeypatch.setattr(sim, "available_memory", lambda: int(need / sim.MEMORY_SHARE) - 1)
    P = np.tile(as_compiled("lemaire2004").parameter_vector(), (300, 1))
    outs = ["B", "C", "R"]
    with pytest.raises(InputError, match=r"300 subjects x 1,001 saved days x 3 outputs = "
                                         r"0\.00721 GB, more than this machine can hold"):
        simulate("lemaire2004", 1000, parameters=P, outputs=outs)
    with pytest.raises(InputError, match="more than this machine can hold"):
        simulate("lemaire2004", 1e6, save_days=np.arange(0, 1e6, 0.5))
    monkeypatch.setattr(sim, "available_memory", lambda: int(need / sim.MEMORY_SHARE) + 1)
    assert simulate("lemaire2004", 1000, parameters=P, outputs=outs).ok
    monkeypatch.setattr(sim, "available_memory", lambda: None)  # unknown: not checked
    assert sim.check_memory(10**9, 10**9, 10) == 8 * 10**19
    with pytest.raises(InputError, match="too many days"):
        simulate("lemaire2004", 1e12)
    assert sim.available_memory() is None or sim.available_memory() > 0


def test_overrides_and_set_values_must_be_finite_numbers():
    from neurobone.model.timed import parse_set

    for text in ("I_P=nan", "I_P=inf", "I_P=-inf", "I_P=1e999", "I_P=" + "9" * 400,
                 "I_P=1@nan:", "I_P=1@inf:", "I_P=1@0:nan", "I_P=1@-1:3", "I_P=1@5:2"):
        with pytest.raises(InputError):
            parse_set(text)
    assert parse_set("I_P=1e300").value == 1e300
    assert parse_set("I_P=2@1:").end == math.inf
    for kw in (dict(value=math.nan), dict(value=math.inf), dict(value="1"), dict(value=True),
               dict(value=None), dict(value=1.0, start=math.nan),
               dict(value=1.0, end=math.nan), dict(value=1.0, start=math.inf),
               dict(value=1.0, weekdays=(1.5,)), dict(value=1.0, weekdays=(True,)),
               dict(value=1.0, weekdays=(7,))):
        with pytest.raises(InputError):
            Override("I_P", **kw)
    o = Override("I_P", np.int64(3), np.float32(1.0), weekdays=[np.int64(2), 4])
    assert (o.value, o.start, o.weekdays) == (3.0, 1.0, (2, 4)) and type(o.value) is float
    with pytest.raises(InputError):
        Override(None, 1.0)


def test_sbml_export_refuses_non_finite_values(tmp_path):
    from neurobone.io.sbml import to_sbml, write_sbml

    for kw in (dict(parameters={"I_P": math.nan}), dict(parameters={"I_P": math.inf}),
               dict(parameters={"I_P": True}), dict(initial={"C": -math.inf})):
        with pytest.raises(InputError, match="SBML export: .*'(I_P|C)'"):
            to_sbml("lemaire2004", **kw)
    vec = as_compiled("lemaire2004").parameter_vector()
    vec[0] = math.nan
    with pytest.raises(InputError, match="values must be finite"):
        to_sbml("lemaire2004", parameters=vec)
    out = tmp_path / "x.xml"
    with pytest.raises(InputError):
        write_sbml(out, "lemaire2004", parameters={"I_P": math.nan})
    assert not out.exists()


# ----------------------------------------------------------------------------- invariance
@pytest.mark.parametrize("solver", [Switching(), BDF()], ids=solver_id)
def test_progress_chunks_and_threads_give_identical_results(solver):
    cm, P, Y, schedules, days = mixed_cohort("lemaire2004")
    calls = []
    a = simulate(cm, 60, parameters=P, initial=Y, schedule=schedules, solver=solver,
                 progress=lambda *args: calls.append(args), chunk_size=4)
    assert calls == [(4, 6, "integrating"), (6, 6, "integrating")]
    b = simulate(cm, 60, parameters=P, initial=Y, schedule=schedules, solver=solver,
                 threads=1)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.final_state, b.final_state)
    np.testing.assert_array_equal(a.steps, b.steps)
    calls.clear()
    c = simulate(cm, 60, parameters=P, initial=Y, schedule=schedules, solver=solver,
                 progress=lambda *args: calls.append(args))
    assert calls == [(6, 6, "integrating")]
    np.testing.assert_array_equal(a.values, c.values)


def test_a_subject_does_not_depend_on_the_others():
    cm, P, Y, schedules, days, _ = reference("pivonka2008")
    full = simulate(cm, days, parameters=P, initial=Y, schedule=schedules)
    pick = np.array([5, 3, 3, 0, 2])
    part = simulate(cm, days, parameters=P[pick], initial=Y[pick],
                    schedule=[schedules[i] for i in pick])
    np.testing.assert_array_equal(part.values, full.values[pick])


def test_dataframe_parameters_and_mapping_initial_states():
    cm, P, Y, schedules, days, ref = reference("lemaire2004")
    vary = ["D_R", "k_B", "D_C", "D_A", "K_OP"]
    frame = pd.DataFrame({q: P[:, cm.param_index(q)] for q in vary})
    res = simulate(cm, days, parameters=frame, initial=Y, schedule=schedules, solver=BDF())
    np.testing.assert_array_equal(res.values, ref.values)
    init = simulate(cm, 5, initial={"C": 2e-3}, outputs=["C", "B"], solver=BDF())
    assert init["C"][0, 0] == 2e-3 and init["B"][0, 0] == cm.initial_vector()[1]


# ----------------------------------------------------------------------------- bad input
def test_bad_input_is_an_input_error():
    cm, P, Y, schedules, days = mixed_cohort("lemaire2004")
    with pytest.raises(InputError, match="shape"):
        simulate(cm, 10, parameters=P[:, :5])
    with pytest.raises(InputError, match="unknown output"):
        simulate(cm, 10, parameters=P, outputs=["nope"])
    with pytest.raises(InputError, match="different numbers of subjects"):
        simulate(cm, 10, parameters=P, initial=Y, schedule=schedules[:2])
    with pytest.raises(InputError, match="different numbers of subjects"):
        simulate(cm, [10, 20], parameters=P)
    with pytest.raises(InputError, match="initial must have shape"):
        simulate(cm, 10, parameters=P, initial=Y[:, :2])
    with pytest.raises(InputError, match="days"):
        simulate(cm, -1, parameters=P)
    with pytest.raises(InputError, match="days"):
        simulate(cm, 0, parameters=P)
    with pytest.raises(InputError, match="days"):
        simulate(cm, math.nan)
    with pytest.raises(InputError, match="save_days"):
        simulate(cm, 10, parameters=P, save_days=[0, 20])
    with pytest.raises(InputError, match="save_days"):
        simulate(cm, 10, parameters=P, save_days=[5, 1])
    with pytest.raises(InputError, match="non-finite parameters"):
        bad = P.copy()
        bad[2, 0] = math.nan
        simulate(cm, 10, parameters=bad)
    with pytest.raises(InputError, match="initial states must be finite"):
        simulate(cm, 10, initial=np.full(cm.n_states, math.inf))
    with pytest.raises(InputError, match="on_failure"):
        simulate(cm, 10, on_failure="shout")
    with pytest.raises(InputError, match="Solver object"):
        simulate(cm, 10, solver="bdf")
    for threads in (0, -2, 1.5, True):
        with pytest.raises(InputError, match="threads"):
            simulate(cm, 10, threads=threads)
    for chunk in (0, -3):
        with pytest.raises(InputError, match="chunk_size"):
            simulate(cm, 10, parameters=P, chunk_size=chunk)
    with pytest.raises(InputError, match="unknown parameter"):
        simulate(cm, 10, schedule=[Override("nope", 1.0)])
    other = Schedule.empty(as_compiled("pivonka2008").model.parameter_names, 1)
    with pytest.raises(InputError, match="different model"):
        simulate(cm, 10, schedule=other)
    with pytest.raises(InputError, match="parameters 6, schedule 2"):
        simulate(cm, 10, parameters=P, schedule=Schedule.empty(cm.model.parameter_names, 2))


@pytest.mark.parametrize("make, needle", [
    (lambda: Switching(rtol=0.0), "rtol"),
    (lambda: Rodas4(rtol=2.0), "rtol"),
    (lambda: Rodas4(rtol=1e-320), r"rtol must be within \[1e-14, 1\)"),  # underflowed at day 0
    (lambda: Dopri5(rtol=math.nan), "rtol"),
    (lambda: BDF(rtol=True), "rtol"),
    (lambda: Dopri5(atol_factor=-1.0), "atol_factor"),
    (lambda: Lanes(max_steps=0), "max_steps"),
    (lambda: Switching(max_steps=1.5), "max_steps"),
    (lambda: BDF(hmax=0.0), "hmax"),
    (lambda: BDF(method="RK45"), "BDF, Radau or LSODA"),
    (lambda: solver_named("euler"), "unknown solver"),
])
def test_bad_solver_options_are_input_errors(make, needle):
    with pytest.raises(InputError, match=needle):
        make()


def test_solvers_by_name():
    assert solver_named("BDF", rtol=1e-9) == BDF(rtol=1e-9)
    assert isinstance(solver_named("lanes"), Lanes)
    assert solver_named("switching", max_steps=10).max_steps == 10


def test_bdf_methods_agree():
    cm, P, Y, schedules, days, ref = reference("pivonka2008")
    for method in ("Radau", "LSODA"):
        res = simulate(cm, days, parameters=P[:3], initial=Y[:3], schedule=schedules[:3],
                       solver=BDF(method=method))
        assert res.ok
        assert_agrees(method, res, ref, subjects=[(i, i) for i in range(3)])


def test_default_solver_follows_the_machine(monkeypatch):
    from neurobone.engine import solvers

    big = solvers.LANES_FROM
    assert isinstance(default_solver(big - 1), Switching)
    assert isinstance(default_solver(big), Lanes) == platform.lanes_available()
    # without lanes the default is the compiled switching method and Lanes is refused
    monkeypatch.setattr(platform, "vector_width", lambda: 0)
    assert not platform.lanes_available()
    assert type(default_solver(10 * big)) is Switching
    with pytest.raises(InputError, match="not available"):
        simulate("lemaire2004", 10, solver=Lanes())


# ----------------------------------------------------------------------------- docs
DOC = (Path(__file__).resolve().parents[1] / "docs" / "engine.md").read_text()


def test_docs_example_runs():
    # the runnable example of docs/engine.md
    code = re.search(r"```python\n(.*?)```", DOC, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "docs/engine.md", "exec"), ns)
    res = ns["res"]
    assert isinstance(res, Result)
    assert res.ok and res.values.shape == (1000, 21, 3)
    head = "<Result model='lemaire2004' subjects=1000 days=0..140 points=21"
    assert repr(res).startswith(head)
    for value in ns.values():
        if isinstance(value, Result):
            assert value.ok
