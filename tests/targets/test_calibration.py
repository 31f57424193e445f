"""One test per row of ../shared/targets/calibration.csv.

Each row's scenarios are the YAML files in neurobone/data/targets (mean subject, no
measurement noise); the simulated figure must lie in the row's accepted range.
"""

import pandas as pd
import pytest

from neurobone.fit.targets import EXTRA_ROWS, TARGETS, Runs

from ..conftest import SHARED

CSV = SHARED / "targets" / "calibration.csv"
ROWS = pd.read_csv(CSV).to_dict("records") if CSV.exists() else []


@pytest.fixture(scope="module")
def runs():
    return Runs()


def test_every_row_has_a_target():
    assert ROWS, "calibration.csv not found beside the project"
    assert {r["id"] for r in ROWS} <= set(TARGETS)


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_target_in_range(row, runs):
    value = TARGETS[row["id"]].measure(runs)
    assert row["low"] <= value <= row["high"], (
        f"{row['id']} ({row['measure']}): simulated {value:.3g}, "
        f"accepted [{row['low']}, {row['high']}], central {row['central']}"
    )


@pytest.mark.parametrize("row", EXTRA_ROWS.to_dict("records"), ids=list(EXTRA_ROWS["id"]))
def test_extra_target_in_range(row, runs):
    value = TARGETS[row["id"]].measure(runs)
    assert row["low"] <= value <= row["high"], (row["id"], value)
