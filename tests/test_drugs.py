"""Beta-blockers: the sourced dose -> beta1/beta2 occupancy relation
(``neurobone.model.brainbone.drugs``, ``data/beta_blockers.csv``) and the scenario's
``beta_blocker`` intervention that uses it."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurobone.errors import InputError
from neurobone.model.brainbone import drugs
from neurobone.model.brainbone.drugs import default_dose, occupancy
from neurobone.scenario.compile import compile_scenario
from neurobone.scenario.schema import load_scenario, parse_scenario

#: Khosla et al. 2018 (J Clin Invest 128:4832): daily doses of its four active arms
KHOSLA = [("propranolol", 40.0), ("propranolol", 80.0), ("atenolol", 50.0), ("nebivolol", 5.0)]
#: Bonnet et al. 2006 (J Pharmacol Exp Ther 318:1118): propranolol s.c. in OVX rats
BONNET = [0.1, 5.0, 20.0]
SPECIES_DOSE = {"human": "dose_mg_per_day", "mouse": "dose_mg_per_kg_per_day",
                "rat": "dose_mg_per_kg_per_day"}
#: every value column of the table and the column holding its source
SOURCED = {"pkd_b1": "affinity_source", "pkd_b2": "affinity_source", "fu": "fu_source",
           "bioavailability": "bioavailability_source", "clearance": "clearance_source",
           "reference_mg_per_mg": "reference_source", "kd_ratio_b2_b1": "kd_ratio_source",
           "default_dose": "default_dose_source"}


def occ(drug, dose, species="human"):
    return occupancy(drug, species=species, **{SPECIES_DOSE[species]: dose})


def ratio(pair):
    return pair[0] / pair[1]


# ----------------------------------------------------------------------------- the table
def test_every_value_of_the_table_has_a_doi_a_pmid_or_the_word_assumed():
    rows = drugs.table()
    assert {(r["drug"], r["species"]) for r in rows} == {
        (d, s) for d in ("propranolol", "atenolol", "nebivolol")
        for s in ("human", "mouse", "rat")}
    for r in rows:
        for value, source in SOURCED.items():
            if r[value].strip():
                text = r[source]
                assert ("doi" in text or "PMID" in text or "assumed" in text), (
                    f"{r['drug']} {r['species']} {value}: {text!r}")
        if r["method"] == "bsa":
            assert r["clearance_source"].startswith("assumed")
        if r["species"] != "human":
            assert r["dose_unit"] == "mg/kg/day"
        else:
            assert r["dose_unit"] == "mg/day"


def test_drug_names():
    assert drugs.DRUGS == ("atenolol", "nebivolol", "propranolol")


# ----------------------------------------------------------------------------- humans
def test_selectivity_order_at_khosla_doses():
    """Propranolol occupies beta2 at least as much as beta1 (Baker 2005: 8.3-fold
    beta2-selective); atenolol and nebivolol occupy beta1 more, nebivolol by far
    (Khosla's order: propranolol non-selective << atenolol < nebivolol)."""
    r = {(d, x): ratio(occ(d, x)) for d, x in KHOSLA}
    assert r["propranolol", 40.0] <= 1.0 and r["propranolol", 80.0] <= 1.0
    assert r["atenolol", 50.0] > 1.5
    assert r["nebivolol", 5.0] > 10.0
    assert r["propranolol", 80.0] < r["atenolol", 50.0] < r["nebivolol", 5.0]
    assert r["atenolol", 50.0] > 3 * r["propranolol", 80.0]


def _unbound_nM(mg_per_l, mw):
    return mg_per_l * 1e6 / mw


def test_propranolol_and_atenolol_follow_their_sources():
    """The occupancies recomputed by hand from the cited numbers: Baker 2005 (log KD),
    Straka 1987 (unbound oral clearance 359 mL/min/kg, 70 kg assumed), Brown 1976
    (clearance 97.3 mL/min), Kirch & Gorg 1982 (F 0.5, 3 % bound)."""
    c = _unbound_nM(80 / (0.359 * 70 * 1440), 259.34)  # propranolol 40 mg twice daily
    want = (c / (c + 10 ** (9 - 8.16)), c / (c + 10 ** (9 - 9.08)))
    assert occ("propranolol", 80) == pytest.approx(want, rel=1e-9)
    c = _unbound_nM(0.97 * 0.5 * 50 / (0.0973 * 1440), 266.34)  # atenolol 50 mg/day
    want = (c / (c + 10 ** (9 - 6.66)), c / (c + 10 ** (9 - 5.99)))
    assert occ("atenolol", 50) == pytest.approx(want, rel=1e-9)


def test_occupancies_at_khosla_doses_lie_where_the_sources_put_them():
    # propranolol: average unbound ~4-9 nM against Kd 6.9 nM (beta1) and 0.83 nM (beta2)
    b1, b2 = occ("propranolol", 40)
    assert 0.3 < b1 < 0.45 and 0.8 < b2 < 0.9
    b1, b2 = occ("propranolol", 80)
    assert 0.5 < b1 < 0.6 and 0.88 < b2 < 0.95
    # atenolol 50 mg/day: ~0.65 uM unbound against Kd 0.22 uM (beta1), 1.0 uM (beta2)
    b1, b2 = occ("atenolol", 50)
    assert 0.7 < b1 < 0.8 and 0.35 < b2 < 0.45
    # nebivolol 5 mg/day blocks beta1 like atenolol 25 mg (Van Bortel 1997, exercise
    # tachycardia) to 50 mg (PMID 15770434, 24-h heart rate)
    b1, b2 = occ("nebivolol", 5)
    assert occ("atenolol", 25)[0] - 1e-12 <= b1 <= occ("atenolol", 50)[0]
    assert b2 < 0.05  # 46-fold beta1-selective (Bundkirchen 2003)


def test_default_doses():
    assert default_dose("propranolol") == 80.0
    assert default_dose("atenolol") == 50.0
    assert default_dose("nebivolol") == 5.0
    assert default_dose("propranolol", "rat") == 0.1
    assert default_dose("propranolol", "mouse") == 0.1
    # no rodent data for atenolol and nebivolol: the human dose by body-surface area,
    # so the rodent occupancy at the default equals the human one (assumed)
    for d in ("atenolol", "nebivolol"):
        for s in ("mouse", "rat"):
            assert default_dose(d, s) == pytest.approx(default_dose(d) / 70 * 37 / drugs.KM[s])
            assert occ(d, default_dose(d, s), s) == pytest.approx(occ(d, default_dose(d)))


# ----------------------------------------------------------------------------- rodents
def test_rats_at_bonnet_doses():
    """Low-dose propranolol occupies mostly beta2 (beta2-selective drug, unbound level
    below the beta1 Kd); 20 mg/kg/day blocks both."""
    o = [occ("propranolol", x, "rat") for x in BONNET]
    assert o[0][0] < 0.1 and 0.2 < o[0][1] < 0.5
    assert o[2][0] > 0.85 and o[2][1] > 0.95
    assert all(b2 > b1 for b1, b2 in o)


# ----------------------------------------------------------------------------- shape
@pytest.mark.parametrize("species", ["human", "mouse", "rat"])
@pytest.mark.parametrize("drug", ["propranolol", "atenolol", "nebivolol"])
def test_monotone_in_dose_and_zero_at_zero(drug, species):
    assert occ(drug, 0.0, species) == (0.0, 0.0)
    base = default_dose(drug, species)
    doses = [base * f for f in (0.01, 0.1, 0.5, 1, 2, 10, 100)]
    o = [occ(drug, x, species) for x in doses]
    for a, b in zip(o, o[1:], strict=False):  # consecutive pairs (one shorter)
        assert b[0] > a[0] and b[1] > a[1]


@settings(max_examples=200, deadline=None)
@given(drug=st.sampled_from(["propranolol", "atenolol", "nebivolol"]),
       species=st.sampled_from(["human", "mouse", "rat"]),
       dose=st.floats(0, 1e12, allow_nan=False, allow_infinity=False))
def test_occupancies_are_finite_and_in_0_1(drug, species, dose):
    for v in occ(drug, dose, species):
        assert math.isfinite(v) and 0.0 <= v <= 1.0


def test_occupancy_override_sets_the_larger_receptor():
    b1, b2 = drugs.occupancy_at_max("atenolol", 0.8)
    assert b1 == pytest.approx(0.8) and b2 < b1
    b1, b2 = drugs.occupancy_at_max("propranolol", 0.8)
    assert b2 == pytest.approx(0.8) and b1 < b2
    assert drugs.occupancy_at_max("nebivolol", 0.0) == (0.0, 0.0)
    assert drugs.occupancy_at_max("nebivolol", 1.0) == (1.0, 1.0)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, match", [
    (lambda: occupancy("metoprolol", 50), r"unknown beta-blocker 'metoprolol'; valid: "
                                          r"atenolol, nebivolol, propranolol"),
    (lambda: occupancy("atenolol", math.nan), "finite number >= 0"),
    (lambda: occupancy("atenolol", math.inf), "finite number >= 0"),
    (lambda: occupancy("atenolol", -1), "finite number >= 0"),
    (lambda: occupancy("atenolol", True), "must be a number"),
    (lambda: occupancy("atenolol", "50"), "must be a number"),
    (lambda: occupancy("atenolol", 50, 1), "not both"),
    (lambda: occupancy("atenolol"), "no dose given: humans take dose_mg_per_day"),
    (lambda: occupancy("atenolol", dose_mg_per_kg_per_day=1), "humans take dose_mg_per_day"),
    (lambda: occupancy("atenolol", 50, species="mouse"),
     "mice take dose_mg_per_kg_per_day"),
    (lambda: occupancy("atenolol", 50, species="dog"), "unknown species 'dog'"),
    (lambda: default_dose("timolol"), "valid: atenolol, nebivolol, propranolol"),
    (lambda: drugs.occupancy_at_max("atenolol", 1.5), "between 0 and 1"),
])
def test_errors_are_one_line(call, match):
    with pytest.raises(InputError, match=match) as exc:
        call()
    assert "\n" not in str(exc.value)


# ----------------------------------------------------------------------------- scenarios
def _overrides(plan):
    return {o.name: o for o in plan.overrides if o.name in ("occ_b1", "occ_b2")}


def test_scenario_file_with_a_dose_sets_the_occupancies(tmp_path):
    f = tmp_path / "atenolol.yaml"
    f.write_text("species: human\n"
                 "subject: {sex: female, age_years: 62, years_since_menopause: 10}\n"
                 "duration_days: 140\n"
                 "interventions:\n"
                 "  - {kind: beta_blocker, drug: atenolol, dose_mg_per_day: 50,"
                 " start_day: 7, end_day: 140}\n")
    scn = load_scenario(f)
    assert scn.interventions[0].dose_mg_per_day == 50
    ov = _overrides(compile_scenario(scn))
    b1, b2 = occupancy("atenolol", 50)
    assert ov["occ_b1"].value == pytest.approx(b1) and ov["occ_b2"].value == pytest.approx(b2)
    assert (ov["occ_b1"].start, ov["occ_b1"].end) == (7.0, 140.0)


def _mouse(iv):
    return parse_scenario({"species": "mouse", "duration_days": 56,
                           "interventions": [{"kind": "beta_blocker", **iv}]})


def test_mouse_scenarios_take_mg_per_kg_a_default_dose_or_an_occupancy():
    ov = _overrides(compile_scenario(_mouse({"drug": "propranolol",
                                             "dose_mg_per_kg_per_day": 5})))
    want = occupancy("propranolol", dose_mg_per_kg_per_day=5, species="mouse")
    assert (ov["occ_b1"].value, ov["occ_b2"].value) == pytest.approx(want)
    # no dose: the drug's usual dose; no drug: propranolol
    ov = _overrides(compile_scenario(_mouse({})))
    want = occupancy("propranolol", dose_mg_per_kg_per_day=default_dose("propranolol", "mouse"),
                     species="mouse")
    assert (ov["occ_b1"].value, ov["occ_b2"].value) == pytest.approx(want)
    # a direct occupancy instead of a dose
    ov = _overrides(compile_scenario(_mouse({"drug": "atenolol", "occupancy": 0.9})))
    assert ov["occ_b1"].value == pytest.approx(0.9) and ov["occ_b2"].value < 0.9


@pytest.mark.parametrize("iv, match", [
    ({"dose_mg_per_day": 3}, "mice take dose_mg_per_kg_per_day"),
    ({"dose_mg_per_kg_per_day": 1, "dose_mg_per_day": 3}, "not both"),
    ({"occupancy": 0.5, "dose_mg_per_kg_per_day": 1}, "occupancy or dose_mg_per_kg_per_day"),
    ({"dose_mg_per_kg_per_day": -1}, "greater than or equal to 0"),
    ({"dose_mg_per_kg_per_day": ".nan"}, "finite number"),
    ({"drug": "metoprolol"}, "'atenolol', 'nebivolol' or 'propranolol'"),
])
def test_bad_beta_blocker_fields_are_one_line_errors(iv, match):
    if iv.get("dose_mg_per_kg_per_day") == ".nan":
        iv = {"dose_mg_per_kg_per_day": math.nan}
    with pytest.raises(InputError, match=match) as exc:
        _mouse(iv)
    assert "\n" not in str(exc.value)


def test_dose_fields_belong_to_beta_blockers():
    with pytest.raises(InputError, match="beta_blocker field"):
        parse_scenario({"species": "mouse", "duration_days": 10,
                        "interventions": [{"kind": "bed_rest", "dose_mg_per_kg_per_day": 1}]})


def test_wrong_unit_in_a_file_names_the_file_and_the_interventions(tmp_path):
    f = tmp_path / "bb.yaml"
    f.write_text("species: human\nsubject: {sex: female, age_years: 60}\nduration_days: 30\n"
                 "interventions:\n  - {kind: beta_blocker, dose_mg_per_kg_per_day: 1}\n")
    with pytest.raises(InputError, match=r"bb\.yaml:\d+: interventions: beta_blocker: humans "
                                         r"take dose_mg_per_day"):
        load_scenario(f)
