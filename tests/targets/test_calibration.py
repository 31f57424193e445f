"""The target rows: the shared effects the model must reproduce, and the calibration.

- One test per row of ../shared/targets/calibration.csv: the simulated figure lies in
  the row's accepted range (scenarios in neurobone/data/targets, mean subject, no noise).
- One test per project row (``data/target_rows.csv``): the model, as shipped, gives the
  value the calibration pipeline recorded for it (the recorded table in
  docs/calibration.md is what the model does).
- The calibration's design: roles, row and parameter counts, validation rows never
  fitted, recorded convergence.
"""

import math

import pandas as pd
import pytest

from neurobone.fit import pipeline
from neurobone.fit.report import record
from neurobone.fit.targets import TARGETS, Runs, evaluate, load_targets
from neurobone.model.brainbone import HYPOTHESES


@pytest.fixture(scope="module")
def runs():
    return Runs()


@pytest.fixture(scope="module")
def table(shared_dir):
    return load_targets(shared_dir / "targets" / "calibration.csv")


def test_every_row_has_a_target(shared_dir):
    rows = pd.read_csv(shared_dir / "targets" / "calibration.csv")
    assert len(rows) and set(rows["id"]) <= set(TARGETS)


def test_target_in_range(calibration_row, runs):
    row = calibration_row
    value = TARGETS[row["id"]].measure(runs)
    assert row["low"] <= value <= row["high"], (
        f"{row['id']} ({row['measure']}): simulated {value:.3g}, "
        f"accepted [{row['low']}, {row['high']}], central {row['central']}")


def test_project_row_as_recorded(project_row, runs):
    rec = record("article")["rows"][project_row["id"]]
    value = TARGETS[project_row["id"]].measure(runs)
    if rec["simulated"] is None:
        assert not math.isfinite(value)
    else:
        assert value == pytest.approx(rec["simulated"], rel=1e-3, abs=1e-6)
    assert rec["role"] == project_row["role"]


def test_roles_and_counts(table):
    """Validation rows are at least a third of all rows; there are at least twice as
    many calibration rows as fitted parameters; every row has a role."""
    assert set(table["role"]) == {"calibration", "validation"}
    n_val = int((table["role"] == "validation").sum())
    n_cal = int((table["role"] == "calibration").sum())
    assert 3 * n_val >= len(table)
    n_params = sum(len(params) for _, params, _ in pipeline.STEPS)
    assert n_cal >= 2 * n_params


def test_no_step_fits_a_validation_row(table):
    role = dict(zip(table["id"], table["role"], strict=True))
    for _, _, rows in pipeline.STEPS:
        assert all(role[r] == "calibration" for r in rows)
    fitted = {r for _, _, rows in pipeline.STEPS for r in rows}
    assert fitted == {r for r, x in role.items() if x == "calibration"}


@pytest.mark.parametrize("hypothesis", list(HYPOTHESES))
def test_every_hypothesis_calibrated_alike(hypothesis):
    """Each hypothesis's record: every step converged, the same rows as the article's
    except the contested circuit-block row, and a rank for its Jacobian."""
    rec, art = record(hypothesis), record("article")
    assert rec, f"{hypothesis} has not been calibrated (python -m neurobone.fit.pipeline)"
    for st, st_art in zip(rec["steps"], art["steps"], strict=True):
        assert st["converged"], (hypothesis, st["step"], st["message"])
        assert set(st_art["rows"]) - set(st["rows"]) <= set(pipeline.LEFT_OUT[hypothesis])
        assert 0 < st["rank"] <= len(st["parameters"])
        assert st["failed_evaluations"] == 0


def test_a_measure_can_leave_its_range():
    """The check can fail: with the neural gain at zero, the article's circuit-block
    row (MC3, 40-100 % of the gain lost) is out of range, since blocking changes little."""
    table = pd.DataFrame([dict(id="MC3", species="mouse", measure="MC3", low=40.0, high=100.0,
                               central=70.0, role="calibration")])
    out = evaluate(table, Runs(parameters={"g_T": 0.0}))
    assert not out.in_range.iloc[0] and abs(out.simulated.iloc[0]) < 5.0
