"""The brain-bone model through scenarios: structure, neutrality of the couplings,
species and hypotheses, the scenario result and the path decomposition."""

import matplotlib
import numpy as np
import pytest

import neurobone as nb
from neurobone.engine.kernels import compile_model
from neurobone.engine.simulate import simulate
from neurobone.engine.solvers import BDF
from neurobone.errors import InputError, ModelError
from neurobone.model import brainbone, pivonka2008
from neurobone.model.timed import Override
from neurobone.scenario.compile import compile_scenario
from neurobone.scenario.run import decompose, run_scenario
from neurobone.scenario.schema import parse_scenario
from neurobone.scenario.subjects import reference

TREADMILL = {"modality": "treadmill", "minutes": 45, "days_per_week": 5}


def test_every_parameter_has_unit_species_and_source():
    for m in (brainbone.MODEL, brainbone.build("human")):
        for p in m.parameters:
            assert p.unit and p.source and p.species in ("any", "mouse", "human"), p.name
    for p in brainbone.MODEL.presets["human"]:
        assert p.species == "human", p.name


def test_neutral_couplings_reproduce_pivonka_exactly():
    """With the coupling gains off (no mechanostat or sympathetic feedback), the cells
    of each region's core follow Pivonka 2008 exactly, whatever the bone volume does."""
    cm = compile_model(brainbone.MODEL)
    ref = reference(cm, cm.parameter_vector({"g_scl": 0.0, "g_T": 0.0}))
    cells = [(k, f"{k}_{r}") for r in ("ax", "ap") for k in ("OBp", "OBa", "OCa")]
    for k, name in cells:
        assert ref.y[cm.state_index(name)] == pytest.approx(pivonka2008.STEADY_STATE[k], rel=1e-9)
    # a PTH infusion in both models: identical cell trajectories at both regions
    ov = [Override("I_P", 1e3, 5, 30)]
    a = simulate(cm, 60, parameters=ref.p, initial=ref.y, schedule=ov, solver=BDF())
    b = simulate(pivonka2008.MODEL, 60, schedule=ov, solver=BDF())
    assert a["OCa_ap"][0, 30] > 1.5 * a["OCa_ap"][0, 0]  # the infusion does something
    for k, name in cells:
        np.testing.assert_allclose(a[name][0], b[k][0], rtol=1e-6)


def test_sedentary_young_adult_is_at_homeostasis():
    base = {"species": "mouse", "duration_days": 56, "outputs": ["bv_tv", "connectivity"]}
    # the reference subject starts at homeostasis: without ageing (the osteoblast decline
    # and the set point's rise with age off) nothing moves
    still = run_scenario({**base, "parameters": {"a_OB": 0.0, "a_S": 0.0}})
    assert np.ptp(still["bv_tv"]) < 1e-9 and np.ptp(still["connectivity"]) < 1e-12
    # with the mouse's ageing, only a slow drift (MC1: -3 % to +3 % over 8 weeks)
    r = run_scenario(base)
    assert np.ptp(r["connectivity"]) < 1e-12 and -3.0 <= r.change("bv_tv") <= 3.0


def test_species_presets_and_hypotheses():
    h = brainbone.build("human")
    # beta2 follows the bone's sympathetic tone in mice, not in women (autonomic.py)
    assert h.parameter("x_b2").value == 0.0 and brainbone.MODEL.parameter("x_b2").value == 1.0
    assert brainbone.build("mouse", "mechanical").parameter("g_T").value == 0.0
    with pytest.raises(ModelError, match="valid: article"):
        brainbone.build("mouse", "nope")
    with pytest.raises(ModelError, match="valid"):
        brainbone.MODEL.for_species("dog")


# ----------------------------------------------------------------------------- the result
def test_scenario_result_defaults_to_the_models_outputs_per_species():
    mouse = run_scenario({"species": "mouse", "duration_days": 7})
    assert mouse.plan.outputs == list(brainbone.DEFAULT_OUTPUTS["mouse"])
    assert list(mouse.table().columns) == ["day", *brainbone.DEFAULT_OUTPUTS["mouse"]]
    assert list(mouse.t) == list(range(8)) and len(mouse["bv_tv"]) == 8
    # the engine result keeps every state, named output and expression of the one subject
    assert mouse.result.n_subjects == 1
    assert {"OBa_ap", "Vtb_ax", "Vct_ap", "abmd_ls", "E2"} <= set(mouse.result.names)
    assert list(mouse.table(outputs=["OBa_ap"]).columns) == ["day", "OBa_ap"]
    human = run_scenario({"species": "human", "subject": {"age_years": 40}, "duration_days": 7})
    assert human.plan.outputs == list(brainbone.DEFAULT_OUTPUTS["human"])


def test_change_is_a_percentage_except_for_outputs_that_cross_zero():
    r = run_scenario({"species": "human", "subject": {"age_years": 60, "t_score": -0.1},
                      "duration_days": 365, "outputs": ["abmd_ls", "t_score"]})
    ls, t = r["abmd_ls"], r["t_score"]
    assert r.change("abmd_ls") == pytest.approx(100 * (ls[-1] / ls[0] - 1))
    assert r.change("abmd_ls", relative=False) == pytest.approx(ls[-1] - ls[0])
    assert r.change("abmd_ls", day=100) == pytest.approx(100 * (ls[100] / ls[0] - 1))
    assert "t_score" in r.plan.cm.model.signed_outputs
    assert t[0] == pytest.approx(-0.1) and t[-1] < 0  # anchored, and it falls
    assert r.change("t_score") == pytest.approx(t[-1] - t[0])  # a difference, not %


def test_plot_returns_a_figure():
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = run_scenario({"species": "mouse", "duration_days": 7}).plot(["bv_tv", "connectivity"])
    assert isinstance(fig, Figure) and len(fig.axes) == 2


def test_plan_with_parameters_and_overrides():
    plan = compile_scenario(parse_scenario({"species": "mouse", "duration_days": 28,
                                            "outputs": ["bv_tv"]}))
    base = plan.run(outputs=["bv_tv"])["bv_tv"][0]
    ovx = plan.with_overrides([Override("ovx", 1.0, 0)]).run(outputs=["bv_tv"])["bv_tv"][0]
    assert ovx[-1] < base[-1]
    assert plan.with_parameters({"g_T": 0.0}).parameters[plan.cm.param_index("g_T")] == 0.0
    assert plan.parameters[plan.cm.param_index("g_T")] != 0.0  # the plan itself is unchanged
    # the solver can be chosen: the reference BDF agrees with the default
    bdf = plan.run(BDF(), outputs=["bv_tv"])["bv_tv"][0]
    np.testing.assert_allclose(bdf, base, rtol=1e-6)


# ----------------------------------------------------------------------------- exercise
def test_circuit_inhibition_blocks_connectivity_and_activation_raises_it():
    ex = {"species": "mouse", "duration_days": 28, "outputs": ["connectivity"],
          "exercise": [TREADMILL]}
    run = run_scenario(ex)["connectivity"][-1]
    inhibited = {**ex, "interventions": [{"kind": "circuit_inhibition"}]}
    inh = run_scenario(inhibited)["connectivity"][-1]
    act = run_scenario({"species": "mouse", "duration_days": 28, "outputs": ["connectivity"],
                        "interventions": [{"kind": "circuit_activation"}]})["connectivity"][-1]
    assert run > 1.3 and inh == pytest.approx(1.0) and act > 1.1


def test_regular_training_beats_sporadic_at_equal_weekly_minutes():
    base = {"species": "mouse", "duration_days": 56, "outputs": ["connectivity", "bv_tv"]}
    regular = run_scenario({**base, "exercise": [{**TREADMILL, "days_per_week": 4}]})
    sporadic = run_scenario({**base,
                             "exercise": [{**TREADMILL, "minutes": 90, "days_per_week": 2}]})
    assert regular["connectivity"][-7:].mean() > sporadic["connectivity"][-7:].mean()


def test_connectivity_decays_after_detraining_and_bone_follows():
    r = run_scenario({"species": "mouse", "duration_days": 120,
                      "outputs": ["connectivity", "bv_tv"],
                      "exercise": [{**TREADMILL, "end_day": 56}]})
    c, bv = r["connectivity"], r["bv_tv"]
    assert c[56] > c[90] > c[120] > 1.0
    assert bv[56] > bv[0] and bv[120] < bv[56]


def test_swimming_and_walking_do_less_for_bone_than_impact():
    base = {"species": "human", "subject": {"age_years": 60}, "duration_days": 365,
            "outputs": ["abmd_ls"]}

    def gain(block):
        return run_scenario({**base, "exercise": [block]}).change("abmd_ls")

    swim = gain({"modality": "swimming", "minutes": 45, "days_per_week": 3})
    walk = gain({"modality": "walking", "minutes": 30, "days_per_week": 5, "speed_km_per_h": 6})
    jump = gain({"modality": "jumping", "minutes": 10, "days_per_week": 3})
    assert jump > walk and jump > swim


# ----------------------------------------------------------------------------- decomposition
EXERCISE_8W = {"species": "mouse", "duration_days": 56, "outputs": ["bv_tv"],
               "exercise": [TREADMILL]}


@pytest.fixture(scope="module")
def shares():
    """The bv_tv decomposition under each hypothesis, and under a circuit block."""
    out = {h: decompose({**EXERCISE_8W, "hypothesis": h}).iloc[0]
           for h in ("article", "interoceptive", "mechanical")}
    out["blocked"] = decompose({**EXERCISE_8W,
                                "interventions": [{"kind": "circuit_inhibition"}]}).iloc[0]
    return out


def test_decomposition_table_columns():
    d = decompose(EXERCISE_8W)
    assert list(d.columns) == ["output", "day", "effect", "full", "no_exercise", "neural_off",
                               "mechanical_off", "neural_share", "mechanical_share",
                               "interaction_share"]
    assert d.iloc[0].day == 56 and d.iloc[0].effect == pytest.approx(d.iloc[0].full
                                                                     - d.iloc[0].no_exercise)


def test_article_hypothesis_has_the_largest_neural_share(shares):
    """Under the article's hypothesis the neural path carries a sizeable share of the
    running gain, more than under the alternatives. The share of the path decomposition
    (neural path off) is smaller than the loss under a circuit block (MC3, ~70 %),
    because the block also silences the circuit's resting relay."""
    a = shares["article"]
    assert a.effect > 0
    assert 0.25 < a.neural_share < 0.85 and 0.15 < a.mechanical_share < 0.75
    assert a.neural_share > shares["interoceptive"].neural_share
    assert a.neural_share > shares["mechanical"].neural_share
    assert abs(a.interaction_share) < 0.1


def test_circuit_block_removes_the_neural_share(shares):
    a, b = shares["article"], shares["blocked"]
    # with the circuit blocked, switching the neural path off changes nothing, and
    # without the mechanical path exercise does nothing
    assert b.full == pytest.approx(b.neural_off, rel=1e-9)
    assert b.mechanical_off == pytest.approx(b.no_exercise, rel=1e-9)
    # nothing is left for the neural path; the effect left is the mechanical one
    assert abs(b.neural_share) < 1e-3 and b.mechanical_share == pytest.approx(1.0, abs=1e-3)
    # the block also silences the circuit's resting relay of the skeletal afferent
    # signal (sympathetic tone up), so it is not the same as the neural path off: the
    # blocked sedentary mouse loses bone
    assert b.no_exercise < a.no_exercise
    # MC3: the block loses 40-100 % of the exercise gain
    assert 0.0 <= b.effect <= 0.6 * a.effect


def test_mechanical_hypothesis_has_no_neural_share(shares):
    m = shares["mechanical"]
    assert m.neural_share == pytest.approx(0.0, abs=1e-5)  # solver tolerance
    assert m.mechanical_share == pytest.approx(1.0, abs=1e-5)
    assert m.mechanical_off == pytest.approx(m.no_exercise, rel=1e-6)


def test_hypotheses_order_the_neural_share_at_the_same_effect(shares):
    a, i, m = shares["article"], shares["interoceptive"], shares["mechanical"]
    # interoceptive: only the afferent signal that loading adds reaches bone through the
    # circuit (grown connectivity does not act); mechanical: no neural path
    assert a.neural_share > i.neural_share > m.neural_share
    # every hypothesis is calibrated to the exercise effect of MC2: +5 % to +30 % BV/TV
    # over sedentary at week 8
    for h in (a, i, m):
        assert 5.0 <= 100 * h.effect / h.no_exercise <= 30.0


def test_decompose_needs_a_model_with_paths():
    with pytest.raises(InputError, match="no paths"):
        decompose({"model": "lemaire2004", "duration_days": 10})


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("data, needle", [
    ({"species": "cat", "duration_days": 5}, "species"),
    ({"duration_days": -1}, "duration_days"),
    ({"duration_days": 5, "foo": 1}, "foo: unknown field"),
    ({"duration_days": 5, "interventions": [{"kind": "teleport"}]}, "interventions.0.kind"),
    ({"duration_days": 5, "subject": {"age_years": 40}}, "age_years is for humans"),
    ({"duration_days": 5,
      "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 9}]}, "days_per_week"),
    ({"species": "human", "duration_days": 5,
      "subject": {"age_years": 60, "years_since_menopause": 5, "menopause_age_years": 50}},
     "not both"),
    ({"duration_days": 5, "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 2,
                                        "weekdays": [1, 7]}]}, "exercise.0.weekdays.1"),
    ({"duration_days": 5, "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 2,
                                        "weekdays": [1]}]}, "days_per_week is 2"),
    ({"duration_days": 5, "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 2,
                                        "weekdays": [1, 1]}]}, "repeat a day"),
])
def test_schema_errors_name_the_field(data, needle):
    with pytest.raises(InputError, match=needle):
        parse_scenario(data)


@pytest.mark.parametrize("data, needle", [
    ({"duration_days": 5, "exercise": [{"modality": "swim", "minutes": 5, "days_per_week": 2}]},
     "valid: treadmill, wheel"),
    ({"duration_days": 5,
      "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 2, "pace": 3}]},
     "speed_m_per_min"),
    ({"duration_days": 5, "parameters": {"nope": 1}}, "unknown parameter 'nope'"),
    ({"duration_days": 5, "outputs": ["nope"]}, "unknown output 'nope'"),
    ({"duration_days": 5, "interventions": [{"kind": "menopause"}]}, "human female"),
    ({"model": "lemaire2004", "duration_days": 5, "exercise": [TREADMILL]}, "use model: neurobone"),
    ({"duration_days": 5, "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 5},
                                       {"modality": "wheel", "minutes": 5, "days_per_week": 3}]},
     r"exercise\[1\]: 3 days a week do not fit beside the 5 weekdays"),
    ({"duration_days": 5, "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 2},
                                       {"modality": "wheel", "minutes": 5, "days_per_week": 1,
                                        "weekdays": [3]}]},
     r"exercise\[1\].weekdays: day 3 is taken by exercise\[0\]"),
])
def test_compile_errors_are_clear(data, needle):
    with pytest.raises(InputError, match=needle):
        compile_scenario(parse_scenario(data))


def _weekdays(exercise, duration=30.0):
    plan = compile_scenario(parse_scenario(dict(
        species="human", subject=dict(sex="female", age_years=60), duration_days=duration,
        exercise=exercise)))
    return [o.weekdays for o in plan.overrides if o.name == "ex_load_ap"]


def test_blocks_at_the_same_time_train_on_different_weekdays():
    two = dict(minutes=30, days_per_week=2)
    got = _weekdays([dict(modality="resistance", **two), dict(modality="walking", **two),
                     dict(modality="jumping", minutes=5, days_per_week=2, weekdays=[6, 5])])
    assert got == [(0, 3), (1, 4), (5, 6)]
    # blocks in separate windows keep the usual pattern
    got = _weekdays([dict(modality="walking", end_day=10, **two),
                     dict(modality="running", start_day=10, **two)])
    assert got == [(0, 3), (0, 3)]


def test_a_block_on_its_own_weekdays_changes_the_load_on_those_days_only():
    base = dict(species="human", subject=dict(sex="female", age_years=60), duration_days=14,
                outputs=["load_signal_ap"])
    res = run_scenario(dict(base, exercise=[dict(modality="resistance", minutes=30,
                                                 days_per_week=2, weekdays=[2, 5])]))
    days = np.floor(res.t[:-1]).astype(int) % 7
    loaded = res["load_signal_ap"][:-1] > res["load_signal_ap"].min() + 1e-9
    assert set(days[loaded]) == {2, 5}


def test_top_level_namespace_exports_the_layers():
    assert nb.run_scenario is run_scenario and nb.decompose is decompose
    assert nb.Override is Override and nb.BDF is BDF
    from neurobone.cohort import run_cohort
    from neurobone.study import run_study

    assert nb.run_study is run_study and nb.run_cohort is run_cohort
    with pytest.raises(AttributeError):
        nb.simulate_batch  # noqa: B018 - removed in engine v2
