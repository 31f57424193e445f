"""Personalised prescriptions (neurobone.prescription): the person's checks, the plan
space and its safety rules, the search's optimality, reproducibility, JSON and CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurobone.errors import InputError
from neurobone.prescription.person import AGE_RANGE, Person
from neurobone.prescription.plans import (
    COMMON_PLANS,
    DAYS_PER_WEEK,
    Plan,
    Session,
    allowed_modalities,
    neighbours,
    rules,
)
from neurobone.prescription.search import DISCLAIMER, prescribe

#: a short, cheap search (the defaults are 2 years and 12/48 draws)
QUICK = {"horizon_years": 0.5, "draws": 3, "final_draws": 4}


@pytest.fixture(scope="module")
def woman():
    return Person(62, "female", t_score_spine=-2.0, t_score=-1.8)


@pytest.fixture(scope="module")
def result(woman):
    return prescribe(woman, max_minutes_week=120, seed=1, **QUICK)


# ------------------------------------------------------------------------------ person
@given(st.floats(allow_nan=False, allow_infinity=False))
@settings(max_examples=60, deadline=None)
def test_an_age_outside_the_range_is_refused(age):
    if AGE_RANGE[0] <= age <= AGE_RANGE[1]:
        assert Person(age).age == age
    else:
        with pytest.raises(InputError, match="age"):
            Person(age)


@pytest.mark.parametrize("kwargs, match", [
    ({"t_score_spine": -9}, "t-score-spine"), ({"t_score": 5}, "t-score"),
    ({"sex": "other"}, "valid: female, male"), ({"menopause_age": 51, "sex": "male"}, "women"),
    ({"t_score": float("nan")}, "finite"), ({"t_score": True}, "finite")])
def test_impossible_profiles_are_refused(kwargs, match):
    with pytest.raises(InputError, match=match):
        Person(60, **kwargs)


# ------------------------------------------------------------------------------ plan space
plans = st.lists(
    st.sampled_from([(m, r) for m, r in rules().items()]).flatmap(
        lambda mr: st.builds(Session, st.just(mr[0]), st.integers(1, mr[1].max_days),
                             st.sampled_from(mr[1].minutes),
                             st.sampled_from(mr[1].intensities))),
    max_size=4, unique_by=lambda s: s.modality).map(lambda ss: Plan.of(*ss))


@given(plans)
@settings(max_examples=100, deadline=None)
def test_weekdays_are_one_session_a_day_and_as_many_as_asked(plan):
    if plan.days > DAYS_PER_WEEK:
        with pytest.raises(InputError, match="one a day"):
            plan.weekdays()
        return
    days = plan.weekdays()
    used = [d for s in plan.sessions for d in days[s]]
    assert len(used) == len(set(used)) == plan.days
    assert all(0 <= d < DAYS_PER_WEEK for d in used)
    for s in plan.sessions:
        assert len(days[s]) == s.days_per_week


@given(plans, st.sampled_from([-3.2, -2.0, 0.5]), st.sampled_from([45, 75, 90]),
       st.sampled_from([60.0, 150.0, 300.0]))
@settings(max_examples=100, deadline=None)
def test_neighbours_stay_on_the_grid(plan, t, age, limit):
    person = Person(age, t_score=t)
    allowed = allowed_modalities(person)
    for n in neighbours(plan, allowed):
        for s in n.sessions:
            rule = rules()[s.modality]
            assert s.minutes in rule.minutes and s.intensity in rule.intensities
            assert 1 <= s.days_per_week <= max(rule.max_days, plan.days)
        if not n.problems(person, limit, allowed):
            assert n.minutes_per_week <= limit and n.days <= DAYS_PER_WEEK


def test_high_impact_is_not_offered_with_osteoporosis():
    weak = Person(70, t_score=-2.8)
    allowed = allowed_modalities(weak)
    assert "running" not in allowed and "jumping" not in allowed
    assert "resistance" in allowed and "walking" in allowed
    plan = Plan.of(Session("jumping", 2, 10.0, 50.0))
    assert any("T-score" in p for p in plan.problems(weak, 150, allowed))
    with pytest.raises(InputError, match="valid: walking"):
        allowed_modalities(weak, exclude=("yoga",))
    # osteoporosis is a T-score of -2.5 or lower: the threshold itself excludes impact
    at = allowed_modalities(Person(65, t_score=-2.5))
    assert "running" not in at and "jumping" not in at
    assert "running" in allowed_modalities(Person(65, t_score=-2.4))


# ------------------------------------------------------------------------------ search
def test_the_plan_keeps_every_limit(result, woman):
    allowed = allowed_modalities(woman)
    assert result.plan.problems(woman, 120, allowed) == []
    assert result.plan.minutes_per_week <= 120
    assert result.plan.sessions, "some exercise should beat none for bone"


def test_no_feasible_neighbour_is_better_than_the_plan(result, woman):
    """A local optimum of the goal on the grid: every feasible neighbour, evaluated with the
    same draws, scores no more than the plan plus the step tolerance."""
    from neurobone.prescription.search import _Evaluator, _score

    allowed = allowed_modalities(woman)
    cands = [p for p in neighbours(result.plan, allowed)
             if not p.problems(woman, 120, allowed)]
    days = float(round(0.5 * 365.25))
    ev = _Evaluator(woman, days, days, 3, 1)
    s = _score(ev.run([result.plan, *cands], [0.0, days]), "abmd", ("spine", "femoral_neck"))
    assert (s[1:] <= s[0] + 0.01 + 1e-9).all()


def test_the_prescription_beats_the_feasible_common_plans_and_no_exercise(result):
    t = result.table().set_index("name")
    assert t.loc["prescription", "score"] > t.loc["no exercise", "score"]
    for name, row in t.iterrows():
        if name != "prescription" and row["within_limits"]:
            assert t.loc["prescription", "score"] >= row["score"] - 0.05


def test_same_seed_same_prescription(woman, result):
    again = prescribe(woman, max_minutes_week=120, seed=1, **QUICK)
    assert again.plan == result.plan
    assert again.score == result.score


def test_json_shape_and_disclaimer(result):
    doc = json.loads(json.dumps(result.to_json()))
    assert set(doc) >= {"plan", "drug", "predicted", "alternatives", "waiting", "disclaimer"}
    for s in doc["plan"]:
        assert set(s) >= {"modality", "minutes", "days_per_week", "intensity"}
    assert [a["name"] for a in doc["alternatives"]] == list(COMMON_PLANS)
    assert [w["delay_years"] for w in doc["waiting"]] == [1.0, 5.0]
    for w in doc["waiting"]:
        assert w["cost"] == pytest.approx(w["start_later"] - w["start_now"])
    assert doc["disclaimer"] == DISCLAIMER and DISCLAIMER in repr(result)
    assert np.isfinite(doc["predicted"]["score"])


def test_bad_options_are_input_errors(woman):
    for kwargs, match in [({"goal": "x"}, "valid: abmd, fracture"),
                          ({"sites": ["knee"]}, "valid: spine"),
                          ({"horizon_years": 50}, "horizon"),
                          ({"max_minutes_week": -1}, "max-minutes"),
                          ({"draws": 1}, "draws"), ({"exclude": ("yoga",)}, "yoga")]:
        with pytest.raises(InputError, match=match):
            prescribe(woman, **kwargs)


@pytest.mark.parametrize("args, match", [
    (["--age", "7"], "age: 7 years is outside"),
    (["--age", "62", "--t-score-spine", "-9"], "t-score-spine"),
    (["--age", "62", "--exclude", "yoga"], "unknown modality 'yoga'"),
    (["--age", "62", "--goal", "best"], "valid: abmd, fracture"),
    # a trial period is checked even when nothing was measured after it
    (["--age", "62", "--trial-plan", "bogus"], "trial-plan: 'bogus' is not valid"),
    (["--age", "62", "--trial-days", "-3"], "trial days")])
def test_cli_bad_input_is_one_line_and_exit_2(args, match):
    proc = subprocess.run([sys.executable, "-m", "neurobone.cli", "prescribe", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    # no blank line before the message (a progress bar on a non-terminal stderr wrote one)
    lines = proc.stderr.rstrip().splitlines()
    assert len(lines) == 1 and match in lines[0] and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_any_drug_screens_every_drug_and_searches_the_best_two(woman):
    rx = prescribe(woman, drug="any", max_minutes_week=90, seed=1, **QUICK)
    note = next(n for n in rx.notes if n.startswith("drug any:"))
    kept = note.split("(")[-1].rstrip(")").split(", ")
    assert len(kept) == 2 and rx.to_json()["drug"]["name"] in kept
    assert all(d in note for d in ("denosumab", "zoledronate", "romosozumab"))


def test_a_drug_at_its_labelled_dose_joins_the_plan_and_the_alternatives(woman):
    rx = prescribe(woman, drug="zoledronate", max_minutes_week=90, seed=1, **QUICK)
    doc = rx.to_json()
    assert doc["drug"] == {"name": "zoledronate", "dose_mg": 5.0, "every_days": 365.0,
                           "labelled": True}
    names = [a["name"] for a in doc["alternatives"]]
    assert "zoledronate alone" in names
    t = rx.table().set_index("name")
    # the combination searched with the drug beats the drug alone and no treatment
    assert t.loc["prescription", "score"] >= t.loc["zoledronate alone", "score"] - 0.05
    assert t.loc["zoledronate alone", "score"] > t.loc["no exercise", "score"]
    assert "zoledronate" in repr(rx)
    with pytest.raises(InputError, match="valid: denosumab"):
        prescribe(woman, drug="aspirin")


def test_waiting_that_scores_higher_is_called_a_gain_and_explained(woman):
    """Romosozumab stops after its labelled year: at the same date, a course started a
    year later has lost less of its gain than one started now. The result says which way
    waiting goes, with both numbers, and explains a gain in a note."""
    rx = prescribe(woman, drug="romosozumab", max_minutes_week=60, seed=1,
                   horizon_years=1.0, draws=2, final_draws=4)
    w = rx.waiting[rx.waiting["output"] == "goal"].set_index("delay_years")
    text = repr(rx)
    for delay, row in w.iterrows():
        assert row["cost"] == pytest.approx(row["start_later"] - row["start_now"])
        verdict = "waiting gains" if row["cost"] > 0 else "waiting costs"
        assert f"starting {delay:g} year(s) later: goal abmd {row['cost']:+.3g}" in text
        assert f"{verdict} {abs(row['cost']):.3g})" in text
    gains = w[w["cost"] > 0]
    assert len(gains), w  # the year-long course ends: waiting a year keeps more at the date
    for delay in gains.index:
        assert any(n.startswith(f"starting {delay:g} year(s) later scores higher")
                   and "romosozumab course ends after 365 days" in n for n in rx.notes)


def test_an_early_response_narrows_the_bands_around_the_truth():
    """A copy of the person taken as the truth: its measured response to six months of a
    LIFTMOR-like programme (spine DXA, P1NP and CTX: the changes its model run gives)
    personalises the prescription. The 90 % band of the plan's predicted spine gain over
    the posterior copies is narrower than over the prior copies taken through the same
    trial, and holds the truth's own prediction."""
    from neurobone.prescription.personal import Trial
    from neurobone.prescription.search import OUTPUTS, _Evaluator

    person = Person(62, "female", t_score_spine=-2.0)
    lift = COMMON_PLANS["LIFTMOR-like: high-intensity resistance and impact 2x/week"]
    days, seed, n_prior, horizon = 182.0, 3, 300, 0.5
    H = float(round(horizon * 365.25))
    measures = (("dxa_spine", "abmd_ls"), ("p1np", "p1np"), ("ctx", "ctx"))
    probe = _Evaluator(person, H, H, n_prior, seed, trial=Trial.of(lift, days, p1np=0.0))
    v = probe.run([Plan()], [-days, 0.0], duration=0.0, drug=False)[0]
    j = OUTPUTS.index("p1np")
    truth = int(np.argsort(v[:, 1, j] / v[:, 0, j])[int(0.85 * n_prior)])  # a strong responder
    change = {m: 100 * (v[truth, 1, OUTPUTS.index(o)] / v[truth, 0, OUTPUTS.index(o)] - 1)
              for m, o in measures}
    trial = Trial.of(lift, days, **change)
    post = prescribe(person, trial=trial, horizon_years=horizon, draws=4, final_draws=150,
                     seed=seed, prior_draws=n_prior, max_minutes_week=60)
    assert post.diagnostics["posterior"]["effective_sample_size"] < 0.8 * n_prior
    # the prior copies through the same trial, then the posterior's plan
    k = OUTPUTS.index("abmd_ls")
    pv = probe.run([post.plan], [0.0, H], drug=False)[0]
    prior_gain = 100 * (pv[:, 1, k] / pv[:, 0, k] - 1)
    lo, hi = np.percentile(prior_gain, [5, 95])
    row = post.table().iloc[0]
    assert row["abmd_ls_pct_high"] - row["abmd_ls_pct_low"] < 0.85 * (hi - lo)
    assert row["abmd_ls_pct_low"] <= prior_gain[truth] <= row["abmd_ls_pct_high"]
    assert "personalised by a trial" in repr(post)
    assert post.to_json()["trial"]["measured_percent_change"] == pytest.approx(change)


@pytest.mark.parametrize("kwargs, match", [
    ({"days": 3}, "trial days"), ({"dxa_spine": 900}, "dxa-spine"),
    ({"bmi": 2}, "unknown measurement 'bmi'"), ({}, "at least one measurement")])
def test_bad_trials_are_input_errors(kwargs, match):
    from neurobone.prescription.personal import Trial

    days = kwargs.pop("days", 182)
    with pytest.raises(InputError, match=match):
        Trial.of(Plan(), days, **kwargs)
