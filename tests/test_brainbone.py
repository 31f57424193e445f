"""The brain-bone model: structure, neutrality of the couplings, species and hypotheses."""

import numpy as np
import pytest

from neurobone.engine.solve import simulate
from neurobone.errors import InputError, ModelError
from neurobone.model import brainbone, pivonka2008
from neurobone.model.codegen import compile_model
from neurobone.scenario.compile import compile_scenario, reference_homeostasis
from neurobone.scenario.run import decompose, run_scenario
from neurobone.scenario.schema import parse_scenario


def test_every_parameter_has_unit_species_and_source():
    for m in (brainbone.MODEL, brainbone.build("human")):
        for p in m.parameters:
            assert p.unit and p.source and p.species in ("any", "mouse", "human"), p.name
    for p in brainbone.MODEL.presets["human"]:
        assert p.species == "human", p.name


def test_neutral_couplings_reproduce_pivonka_exactly():
    """With the coupling gains off (no mechanostat or sympathetic feedback), the cells
    follow Pivonka 2008 exactly, whatever the bone volume does."""
    cm = compile_model(brainbone.MODEL)
    y0, p = reference_homeostasis(cm, cm.parameter_vector({"g_scl": 0.0, "g_T": 0.0}))
    piv = compile_model(pivonka2008.MODEL)
    for k in ("OBp", "OBa", "OCa"):
        assert y0[cm.state_index(k)] == pytest.approx(pivonka2008.STEADY_STATE[k], rel=1e-9)
    # a PTH infusion in both models: identical cell trajectories
    from neurobone.engine.schedule import Override
    ov = [Override("I_P", 1e3, 5, 30)]
    a = simulate(cm, 60, parameters=p, initial=y0, overrides=ov)
    b = simulate(piv, 60, overrides=ov)
    for k in ("OBp", "OBa", "OCa"):
        np.testing.assert_allclose(a[k], b[k], rtol=1e-6)


def test_sedentary_young_adult_is_at_homeostasis():
    r = run_scenario({"species": "mouse", "duration_days": 56, "outputs": ["bv_tv", "connectivity"]})
    assert np.ptp(r["bv_tv"]) < 1e-9 and np.ptp(r["connectivity"]) < 1e-12


def test_species_presets_and_hypotheses():
    h = brainbone.build("human")
    assert h.parameter("w_b2").value == 0.0 and brainbone.MODEL.parameter("w_b2").value == 1.0
    assert brainbone.build("mouse", "mechanical").parameter("g_T").value == 0.0
    with pytest.raises(ModelError, match="valid: article"):
        brainbone.build("mouse", "nope")
    with pytest.raises(ModelError, match="valid"):
        brainbone.MODEL.for_species("dog")


def test_circuit_inhibition_blocks_connectivity_and_activation_raises_it():
    ex = {"species": "mouse", "duration_days": 28, "outputs": ["connectivity"],
          "exercise": [{"modality": "treadmill", "minutes": 45, "days_per_week": 5}]}
    run = run_scenario(ex)["connectivity"][-1]
    inh = run_scenario({**ex, "interventions": [{"kind": "circuit_inhibition"}]})["connectivity"][-1]
    act = run_scenario({"species": "mouse", "duration_days": 28, "outputs": ["connectivity"],
                        "interventions": [{"kind": "circuit_activation"}]})["connectivity"][-1]
    assert run > 1.3 and inh == pytest.approx(1.0) and act > 1.1


def test_regular_training_beats_sporadic_at_equal_weekly_minutes():
    base = {"species": "mouse", "duration_days": 56, "outputs": ["connectivity", "bv_tv"]}
    regular = run_scenario({**base, "exercise": [{"modality": "treadmill", "minutes": 45, "days_per_week": 4}]})
    sporadic = run_scenario({**base, "exercise": [{"modality": "treadmill", "minutes": 90, "days_per_week": 2}]})
    assert regular["connectivity"][-7:].mean() > sporadic["connectivity"][-7:].mean()


def test_connectivity_decays_after_detraining_and_bone_follows():
    r = run_scenario({"species": "mouse", "duration_days": 120, "outputs": ["connectivity", "bv_tv"],
                      "exercise": [{"modality": "treadmill", "minutes": 45, "days_per_week": 5, "end_day": 56}]})
    c = r["connectivity"]
    assert c[56] > c[90] > c[120] > 1.0


def test_decomposition_shares_add_up():
    ex = {"species": "mouse", "duration_days": 56, "outputs": ["bv_tv"],
          "exercise": [{"modality": "treadmill", "minutes": 45, "days_per_week": 5}]}
    d = decompose(ex).iloc[0]
    assert d.neural_share + d.mechanical_share + d.interaction_share == pytest.approx(1.0)
    assert d.effect > 0 and 0 < d.neural_share < 1 and 0 < d.mechanical_share < 1
    mech = decompose({**ex, "hypothesis": "mechanical"}).iloc[0]
    assert mech.neural_share == pytest.approx(0.0, abs=1e-5)  # solver tolerance


def test_swimming_and_walking_do_less_for_bone_than_impact():
    base = {"species": "human", "subject": {"age_years": 60}, "duration_days": 365, "outputs": ["abmd_ls"]}
    def gain(block):
        return run_scenario({**base, "exercise": [block]}).change("abmd_ls")
    swim = gain({"modality": "swimming", "minutes": 45, "days_per_week": 3})
    walk = gain({"modality": "walking", "minutes": 30, "days_per_week": 5, "speed_km_per_h": 6})
    jump = gain({"modality": "jumping", "minutes": 10, "days_per_week": 3})
    assert jump > walk and jump > swim


@pytest.mark.parametrize("data, needle", [
    ({"species": "cat", "duration_days": 5}, "species"),
    ({"duration_days": -1}, "duration_days"),
    ({"duration_days": 5, "foo": 1}, "foo: unknown field"),
    ({"duration_days": 5, "interventions": [{"kind": "teleport"}]}, "interventions.0.kind"),
    ({"duration_days": 5, "subject": {"age_years": 40}}, "age_years is for humans"),
    ({"duration_days": 5, "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 9}]}, "days_per_week"),
])
def test_schema_errors_name_the_field(data, needle):
    with pytest.raises(InputError, match=needle):
        parse_scenario(data)


@pytest.mark.parametrize("data, needle", [
    ({"duration_days": 5, "exercise": [{"modality": "swim", "minutes": 5, "days_per_week": 2}]}, "valid: treadmill, wheel"),
    ({"duration_days": 5, "exercise": [{"modality": "treadmill", "minutes": 5, "days_per_week": 2, "pace": 3}]}, "speed_m_per_min"),
    ({"duration_days": 5, "parameters": {"nope": 1}}, "unknown parameter 'nope'"),
    ({"duration_days": 5, "outputs": ["nope"]}, "unknown output 'nope'"),
    ({"duration_days": 5, "interventions": [{"kind": "menopause"}]}, "human female"),
])
def test_compile_errors_are_clear(data, needle):
    with pytest.raises(InputError, match=needle):
        compile_scenario(parse_scenario(data))
