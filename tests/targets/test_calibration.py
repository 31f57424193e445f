"""One test per row of ../shared/targets/calibration.csv.

Each row's scenarios are the YAML files in neurobone/data/targets (mean subject, no
measurement noise); the simulated figure must lie in the row's accepted range. The rows
are parametrized by ``tests/conftest.py`` (three of them run by ``make test``, every row
by ``make test-all``).
"""

import pandas as pd
import pytest

from neurobone.fit.targets import TARGETS, Runs, evaluate


@pytest.fixture(scope="module")
def runs():
    return Runs()


def _check(row, runs):
    value = TARGETS[row["id"]].measure(runs)
    assert row["low"] <= value <= row["high"], (
        f"{row['id']} ({row['measure']}): simulated {value:.3g}, "
        f"accepted [{row['low']}, {row['high']}], central {row['central']}"
    )


def test_every_row_has_a_target(shared_dir):
    rows = pd.read_csv(shared_dir / "targets" / "calibration.csv")
    assert len(rows) and set(rows["id"]) <= set(TARGETS)


def test_target_in_range(calibration_row, runs):
    _check(calibration_row, runs)


def test_extra_target_in_range(extra_calibration_row, runs):
    _check(extra_calibration_row, runs)


def test_a_measure_can_leave_its_range():
    """The check can fail: with the neural path off, the article's circuit-block row
    (MC3, 40-100 % of the gain lost) is out of range, since blocking changes nothing."""
    table = pd.DataFrame([dict(id="MC3", species="mouse", measure="MC3", low=40.0, high=100.0,
                               central=70.0)])
    out = evaluate(table, Runs(parameters={"neural_path": 0.0}))
    assert not out.in_range.iloc[0] and abs(out.simulated.iloc[0]) < 1.0
