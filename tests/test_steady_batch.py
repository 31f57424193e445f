"""Batched homeostasis (neurobone.engine.steady.initialise_batch, steady_states;
neurobone.scenario.subjects.references): the same steady states and homeostatic
references as the one-row method for random parameter draws, held states kept, rows
failing on their own; a least-squares fit gives the same estimates with either."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurobone.engine.kernels import compile_model
from neurobone.engine.steady import initialise_batch, steady_states, steady_vector
from neurobone.errors import SolverError
from neurobone.fit import batch as fit_batch
from neurobone.fit.lsq import fit
from neurobone.model.registry import get_model
from neurobone.scenario.compile import base_parameters, model_for
from neurobone.scenario.run import as_scenario
from neurobone.scenario.subjects import reference, references

SCENARIO = {"species": "mouse", "duration_days": 14,
            "exercise": [{"modality": "treadmill", "minutes": 45, "days_per_week": 5}],
            "outputs": ["bv_tv", "p1np"]}
#: parameters drawn (log-uniformly around their values): bone turnover, the circuit, the
#: mechanostat, sclerostin and the estrogen effect
VARIED = ["k_tb", "k_grow", "g_T", "W_max", "g_scl", "a_E_L"]


@pytest.fixture(scope="module")
def mouse():
    scn = as_scenario(SCENARIO)
    cm = compile_model(model_for(scn))
    return cm, base_parameters(cm, scn.parameters)


def per_row(cm, B):
    out = []
    for b in B:
        try:
            out.append(reference(cm, b))
        except SolverError:
            out.append(None)
    return out


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.floats(-0.7, 0.7), min_size=len(VARIED), max_size=len(VARIED)),
                min_size=1, max_size=4))
def test_batched_references_equal_the_one_row_method(mouse, logs):
    cm, base = mouse
    B = np.tile(base, (len(logs), 1))
    B[:, [cm.param_index(p) for p in VARIED]] *= np.exp(np.array(logs))
    Y, P, failure = references(cm, B)
    for i, ref in enumerate(per_row(cm, B)):
        if ref is None:  # the one-row method's failure; the batched may do better
            continue
        assert failure[i] == ""
        np.testing.assert_allclose(Y[i], ref.y, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(P[i], ref.p, rtol=1e-9, atol=1e-15)


def test_held_states_keep_their_start_and_references_match_their_states(mouse):
    cm, base = mouse
    m = cm.model
    start = m.rules.reference_start(m, base)
    B = np.tile(base, (3, 1))
    B[1, cm.param_index("k_tb")] *= 2
    B[2, cm.param_index("age_ref")] *= 1.5  # a held state's start depends on its row
    Y, P, failure = references(cm, B)
    assert failure == ["", "", ""]
    for name in start:
        k = cm.state_index(name)
        held = [m.rules.reference_start(m, b)[name] for b in B]
        np.testing.assert_array_equal(Y[:, k], held)
    for q in m.parameters:
        if q.reference_of in m.state_names:
            np.testing.assert_array_equal(P[:, cm.param_index(q.name)],
                                          Y[:, cm.state_index(q.reference_of)])
    # at homeostasis: every steady, unheld state's rate is 0
    dy = np.zeros(cm.n_states)
    idx = [i for i, s in enumerate(m.states) if s.steady and s.name not in start]
    scale = np.array([m.states[i].scale for i in idx])
    for i in range(3):
        assert np.max(np.abs(cm.rhs(0.0, Y[i], P[i], dy)[idx] / scale)) < 1e-9


def test_a_row_that_cannot_be_solved_fails_alone(mouse):
    cm, base = mouse
    B = np.tile(base, (3, 1))
    B[1, cm.param_index("k_tb")] = np.nan
    h = initialise_batch(cm, B, initial=cm.initial_vector(
        cm.model.rules.reference_start(cm.model, base)),
        hold=tuple(cm.model.rules.reference_start(cm.model, base)))
    assert h.failure[0] == h.failure[2] == "" and "not finite" in h.failure[1]
    assert list(h.ok) == [True, False, True]
    np.testing.assert_allclose(h.y[0], h.y[2], rtol=1e-12)
    assert 1 in h.fallback and 0 not in h.fallback


def test_a_model_without_references_matches_steady_vector():
    cm = compile_model(get_model("lemaire2004"))
    rng = np.random.default_rng(3)
    P = np.tile(cm.parameter_vector(), (5, 1))
    P *= np.exp(rng.uniform(-0.2, 0.2, P.shape))
    h = steady_states(cm, P)
    assert h.ok.all()
    for i in range(5):
        np.testing.assert_allclose(h.y[i], steady_vector(cm, P[i]), rtol=1e-9, atol=1e-15)


def test_a_fit_is_unchanged_by_the_batched_references(monkeypatch, mouse):
    cm, _ = mouse
    scn = as_scenario(SCENARIO)
    days, outputs = [4.0, 7.0, 14.0], ["bv_tv", "p1np"]
    v, failure, _ = fit_batch.evaluate(scn, cm, ["k_grow"], np.array([[0.26]]),
                                       outputs, days)
    assert failure == [""]
    rng = np.random.default_rng(2)
    data = [{"day": d, "output": o, "value": v[0, i, k] * (1 + 0.02 * rng.standard_normal()),
             "sd": 0.02 * v[0, i, k]} for i, o in enumerate(outputs) for k, d in enumerate(days)]
    import pandas as pd

    data = pd.DataFrame(data)
    batched = fit(data, SCENARIO, ["k_grow"], n_starts=0)

    def one_at_a_time(cm, B):
        refs = [reference(cm, b) for b in B]
        return (np.array([r.y for r in refs]), np.array([r.p for r in refs]),
                [""] * len(refs))

    monkeypatch.setattr(fit_batch, "references", one_at_a_time)
    rowwise = fit(data, SCENARIO, ["k_grow"], n_starts=0)
    for p in ("k_grow",):
        assert batched.estimates[p] == pytest.approx(rowwise.estimates[p], rel=1e-6)
        assert batched.low[p] == pytest.approx(rowwise.low[p], rel=1e-6)
        assert batched.high[p] == pytest.approx(rowwise.high[p], rel=1e-6)
    assert batched.objective == pytest.approx(rowwise.objective, rel=1e-8)


def test_failed_references_are_reported_by_the_fit_not_scored(monkeypatch, mouse):
    """Rows whose homeostasis is not found are failures the least-squares fit counts and
    names (penalised, never given the model's values): here every k_grow above 0.3."""
    cm, _ = mouse
    scn = as_scenario(SCENARIO)
    days, outputs = [4.0, 7.0, 14.0], ["bv_tv", "p1np"]
    v, _, _ = fit_batch.evaluate(scn, cm, ["k_grow"], np.array([[0.26]]), outputs, days)
    import pandas as pd

    data = pd.DataFrame([{"day": d, "output": o, "value": v[0, i, k], "sd": 0.02 * v[0, i, k]}
                         for i, o in enumerate(outputs) for k, d in enumerate(days)])
    k = cm.param_index("k_grow")
    real = fit_batch.references

    def failing_above(cm, B):
        Y, P, why = real(cm, B)
        return Y, P, [w or ("no steady state (test)" if b[k] > 0.3 else "")
                      for w, b in zip(why, B, strict=True)]

    monkeypatch.setattr(fit_batch, "references", failing_above)
    res = fit(data, SCENARIO, ["k_grow"], n_starts=0)
    assert res.diagnostics["failed_evaluations"] > 0
    assert any("runs failed" in n and "no steady state (test)" in n for n in res.notes)
    assert res.estimates["k_grow"] == pytest.approx(0.26, rel=1e-3)
    assert res.high["k_grow"] is None or res.high["k_grow"] <= 0.3


def test_a_run_over_the_fits_step_budget_fails_alone(monkeypatch, mouse):
    """fit.batch's step budget: with one step a day allowed (and no floor), the run fails
    with 'too many steps' and is reported, not scored; with the default it runs."""
    cm, _ = mouse
    scn = as_scenario(SCENARIO)
    X = np.array([[0.26]])
    v, failure, _ = fit_batch.evaluate(scn, cm, ["k_grow"], X, ["bv_tv"], [14.0])
    assert failure == [""] and np.isfinite(v).all()
    assert fit_batch.solver_for(14).max_steps == fit_batch.MIN_STEPS
    monkeypatch.setattr(fit_batch, "STEPS_PER_DAY", 1)
    monkeypatch.setattr(fit_batch, "MIN_STEPS", 1)
    v, failure, _ = fit_batch.evaluate(scn, cm, ["k_grow"], X, ["bv_tv"], [14.0])
    assert "too many steps" in failure[0] and np.isnan(v).all()
