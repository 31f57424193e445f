"""The generated docs match the model definitions, and documented examples run."""

from pathlib import Path

import pytest

from neurobone.model.reference import render
from neurobone.model.registry import get_model
from neurobone.scenario.exercise import modality_table
from neurobone.scenario.run import run_scenario

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name, path", [("neurobone", "model-reference.md"),
                                        ("pivonka2008", "model-reference-pivonka2008.md"),
                                        ("lemaire2004", "model-reference-lemaire2004.md")])
def test_model_reference_is_up_to_date(name, path):
    text = (ROOT / "docs" / path).read_text()
    assert text == render(get_model(name)), (
        f"docs/{path} is stale: python -m neurobone.model.reference {name} > docs/{path}")


def test_scenario_docs_list_every_modality():
    text = (ROOT / "docs" / "scenarios.md").read_text()
    for r in modality_table().itertuples():
        assert f"`{r.modality}`" in text and f"`{r.intensity_field}`" in text


@pytest.mark.parametrize("path", ["mouse_treadmill.yaml", "mouse_ovx_betablocker.yaml", "human_liftmor.yaml"])
def test_example_scenarios_run(path):
    res = run_scenario(ROOT / "examples" / path)
    assert len(res.table()) == int(res.scenario.duration_days) + 1
