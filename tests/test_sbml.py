"""SBML export: libSBML consistency and libRoadRunner reproducing the reference solver."""

from __future__ import annotations

import importlib.util  # noqa: F401 - registry.available() needs it loaded
import math
import subprocess
import sys
from html import unescape

import numpy as np
import pytest

from neurobone.engine.simulate import as_compiled, simulate
from neurobone.engine.solvers import BDF
from neurobone.engine.steady import initialise
from neurobone.errors import SolverError
from neurobone.io.sbml import check_sbml, split_overrides, to_sbml
from neurobone.model.registry import available
from neurobone.model.timed import Override
from tests.helpers import relerr

libsbml = pytest.importorskip("libsbml")

TOL = 1e-4
#: libRoadRunner takes several minutes (5 to 15 here) to load the whole brain-bone model:
#: its LLVM code generation inlines every assignment rule, and the ten-year fracture
#: outputs are a chain of several hundred thousand inlined terms. An export that keeps
#: only the outputs asked for (``to_sbml(..., outputs=...)``) loads in seconds; the
#: whole document is checked in make test-slow.
ROADRUNNER_LOADS_THE_WHOLE_BRAIN_BONE_MODEL_SLOWLY = pytest.mark.slow


def light_outputs(m) -> list[str]:
    """The named outputs without the ten-year fracture probabilities (the slow ones)."""
    return [o for o in m.outputs if not o.endswith("fracture_10y")]


def roadrunner_run(text: str, days: float, names: list[str]) -> np.ndarray:
    roadrunner = pytest.importorskip("roadrunner")
    rr = roadrunner.RoadRunner(text)
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-16
    n = int(round(days)) + 1
    return rr.simulate(0, days, n, selections=["time", *names])


def compare(cm, days, overrides, parameters=None, initial=None, species=None, outputs=None):
    """Export (keeping ``outputs``, default all), run in libRoadRunner and compare every
    state and kept output with the reference solver (SciPy's BDF at rtol 1e-10)."""
    text = to_sbml(cm, parameters=parameters, overrides=overrides, initial=initial,
                   outputs=outputs)
    assert check_sbml(text) == []
    kept = list(cm.model.outputs) if outputs is None else list(outputs)
    names = list(dict.fromkeys(cm.model.state_names + kept))
    ref = simulate(cm, days, parameters=parameters, initial=initial, schedule=overrides,
                   solver=BDF(rtol=1e-10), on_failure="raise", outputs=names)
    assert ref.names == names
    out = roadrunner_run(text, days, names)
    np.testing.assert_allclose(out[:, 0], ref.t, atol=1e-9)
    errs = {n: relerr(out[:, j + 1], ref[n][0]) for j, n in enumerate(names)}
    bad = {k: v for k, v in errs.items() if v > TOL}
    assert not bad, f"libRoadRunner differs from neurobone by more than {TOL:g}: {bad}"
    return errs


@pytest.mark.parametrize("name", available())
def test_export_is_consistent_and_uses_project_names(name):
    cm = as_compiled(name)
    m = cm.model
    ovs = [Override(m.parameter_names[-1], 1.0, 5.0, 50.0, weekdays=(1, 4))]
    text = to_sbml(cm, overrides=ovs)
    doc = libsbml.readSBMLFromString(text)
    assert doc.getLevel() == 3
    doc.checkConsistency()
    errors = [doc.getError(i).getMessage() for i in range(doc.getNumErrors())
              if doc.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR]
    assert errors == []
    sm = doc.getModel()
    for s in m.states:  # states: variables with rate rules, ids = state names
        assert sm.getParameter(s.name) is not None and sm.getRateRule(s.name) is not None
    for e in m.expressions:
        assert sm.getAssignmentRule(e.name) is not None
    for p in m.parameters:
        pid = p.name if p.name != ovs[0].name else f"{p.name}_base"
        prm = sm.getParameter(pid)
        assert prm is not None and prm.getConstant() and prm.getValue() == pytest.approx(p.value)
        assert p.source in unescape(libsbml.XMLNode.convertXMLNodeToString(prm.getNotes()))
    assert sm.getNumEvents() >= 3  # start, end and the weekday clock
    assert sm.getTimeUnits() == "u_day"


def test_lemaire2004_pth_infusion_in_roadrunner():
    cm = as_compiled("lemaire2004")
    y0, _ = initialise(cm, cm.parameter_vector())
    # Lemaire 2004 Fig. 4: continuous PTH infusion, plus a weekday OPG schedule and an
    # overlapping override (the later one wins) to exercise the event translation
    ovs = [Override("I_P", 1e3, 20.0, 80.0),
           Override("I_O", 2e5, 10.5, 60.0, weekdays=(0, 2, 4)),
           Override("I_P", 300.0, 50.0, 55.0)]
    compare(cm, 140.0, ovs, initial=y0)


@pytest.mark.skipif("pivonka2008" not in available(), reason="pivonka2008 not written yet")
def test_pivonka2008_in_roadrunner():
    cm = as_compiled("pivonka2008")
    y0, p = initialise(cm, cm.parameter_vector())
    ovs = [Override("I_P", 250.0, 10.0, 70.0), Override("I_O", 5e4, 30.0, 90.0, weekdays=(1, 3, 5))]
    compare(cm, 150.0, ovs, parameters=p, initial=y0)


@pytest.mark.skipif("neurobone" not in available(), reason="brain-bone model not written yet")
def test_brain_bone_weekly_schedule_in_roadrunner():
    cm = as_compiled("neurobone", "mouse")
    p = cm.parameter_vector()
    try:
        y0, p = initialise(cm, p)
    except SolverError:
        y0 = cm.initial_vector()
    # treadmill 5 days a week from day 7 to day 70, ovariectomy at day 30
    ovs = [Override("ex_load_ax", 0.5, 7.0, 70.0, weekdays=(0, 1, 2, 3, 4)),
           Override("ex_load_ap", 1.5, 7.0, 70.0, weekdays=(0, 1, 2, 3, 4)),
           Override("ex_central", 0.8, 7.0, 70.0, weekdays=(0, 1, 2, 3, 4)),
           Override("ovx", 1.0, 30.0)]
    compare(cm, 120.0, ovs, parameters=p, initial=y0, outputs=light_outputs(cm.model))


@pytest.mark.parametrize("whole", [
    pytest.param(False, id="light"),
    pytest.param(True, id="whole", marks=ROADRUNNER_LOADS_THE_WHOLE_BRAIN_BONE_MODEL_SLOWLY)])
@pytest.mark.skipif("neurobone" not in available(), reason="brain-bone model not written yet")
def test_brain_bone_human_scenario_in_roadrunner(whole):
    # the benchmark workload's scenario (menopause, running 3 days a week), shortened
    from neurobone.scenario.compile import compile_scenario
    from neurobone.scenario.schema import parse_scenario

    scn = parse_scenario(dict(
        species="human", subject=dict(sex="female", age_years=50), duration_days=400,
        exercise=[dict(modality="running", minutes=40, days_per_week=3, start_day=100.25,
                       end_day=300)],
        interventions=[dict(kind="menopause", start_day=0)]))
    plan = compile_scenario(scn)
    assert any(o.weekdays for o in plan.overrides)
    compare(plan.cm, plan.duration, plan.overrides, parameters=plan.parameters,
            initial=plan.initial, outputs=None if whole else light_outputs(plan.cm.model))


def test_whole_run_overrides_become_parameter_values():
    ovs = [Override("I_P", 5.0, 10, 20), Override("I_P", 7.0), Override("I_O", 1.0, 3, 4),
           Override("I_P", 9.0, 30, 40)]
    constant, timed = split_overrides(ovs)
    assert constant == {"I_P": 7.0}
    assert timed == [Override("I_O", 1.0, 3, 4), Override("I_P", 9.0, 30, 40)]
    text = to_sbml("lemaire2004", parameters=constant, overrides=timed)
    sm = libsbml.readSBMLFromString(text).getModel()
    assert sm.getParameter("I_P_base").getValue() == 7.0
    assert not math.isnan(sm.getParameter("I_O_base").getValue())


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "neurobone.cli", *args], capture_output=True,
                          text=True)


def test_cli_export_sbml(tmp_path):
    out = tmp_path / "lemaire.xml"
    r = run_cli("export-sbml", "--model", "lemaire2004", "--set", "I_P=1000@20:80",
                "--set", "k_B=0.2", "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert check_sbml(text) == []
    sm = libsbml.readSBMLFromString(text).getModel()
    assert sm.getParameter("k_B").getValue() == 0.2
    assert sm.getEvent("nb_start_0") is not None and sm.getEvent("nb_end_0") is not None


@pytest.mark.parametrize("args, needle", [
    (["--model", "nope"], "valid:"),
    (["--model", "lemaire2004", "--set", "NOPE=1"], "unknown parameter"),
    (["--model", "lemaire2004", "--set", "I_P=1@9:3"], "must be after"),
    (["--model", "lemaire2004", "--species", "fish"], "species"),
])
def test_cli_export_sbml_bad_input(tmp_path, args, needle):
    r = run_cli("export-sbml", *args, "-o", str(tmp_path / "x.xml"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_cli_export_sbml_unwritable_output():
    r = run_cli("export-sbml", "--model", "lemaire2004", "-o", "/nonexistent/dir/x.xml")
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_export_keeps_the_outputs_asked_for_and_what_the_rates_need():
    from neurobone.errors import InputError
    from neurobone.model import brainbone

    m = brainbone.build("human")
    sm = libsbml.readSBMLFromString(to_sbml(m, outputs=["abmd_fn"])).getModel()
    rules = {sm.getRule(i).getVariable() for i in range(sm.getNumRules())}
    assert "abmd_fn" in rules and "hip_fracture_10y" not in rules
    assert set(m.state_names) <= rules  # every rate rule stays
    whole = libsbml.readSBMLFromString(to_sbml(m)).getModel()
    assert sm.getNumRules() < whole.getNumRules()
    with pytest.raises(InputError, match="unknown output 'nope'"):
        to_sbml(m, outputs=["nope"])


def test_cli_export_outputs_bad_name_is_one_line(tmp_path):
    r = run_cli("export-sbml", "--model", "lemaire2004", "--outputs", "B,nope",
                "-o", str(tmp_path / "x.xml"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "nope" in r.stderr and not (tmp_path / "x.xml").exists()
