"""`neurobone export-sbml --scenario`: the scenario's subject and schedule in SBML,
reproduced by libRoadRunner."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neurobone.scenario.run import run_scenario

roadrunner = pytest.importorskip("roadrunner")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mouse_treadmill.yaml"


# the export keeps the scenario's outputs only, so libRoadRunner loads it in seconds
# (the whole model, fracture outputs inlined, takes minutes: tests/test_sbml.py)
def test_scenario_export_reproduced_by_roadrunner(tmp_path):
    out = tmp_path / "scenario.xml"
    r = subprocess.run([sys.executable, "-m", "neurobone.cli", "export-sbml",
                        "--scenario", str(EXAMPLE), "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rr = roadrunner.RoadRunner(str(out))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    sim = rr.simulate(0, 56, 57, ["time", "Vtb_ap", "W_c", "OCa_ap"])
    ref = run_scenario(EXAMPLE)
    np.testing.assert_allclose(sim["time"], ref.t, atol=1e-9)
    for name in ("Vtb_ap", "W_c", "OCa_ap"):
        want = ref[name]  # one subject: a 1-D array over the days
        assert want.shape == (57,)
        np.testing.assert_allclose(sim[name], want, rtol=1e-4, atol=1e-9 * np.abs(want).max())


def test_scenario_export_bad_combination_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "neurobone.cli", "export-sbml",
                        "--scenario", str(EXAMPLE), "--species", "human",
                        "-o", str(tmp_path / "x.xml")], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
