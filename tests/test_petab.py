"""PEtab export and import (neurobone.io.petab, `neurobone export-petab`, `neurobone fit
PROBLEM.yaml`): the export passes the petab linter, reads back into the same data,
parameters and bounds, and its likelihood is neurobone's objective, by libRoadRunner
directly and by pyPESTO's libRoadRunner objective; a foreign problem and bad input are
one line.

The two-week mouse scenario of tests/test_fit_lsq.py keeps each export to a few seconds."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurobone.errors import InputError
from neurobone.fit.lsq import check_data, objective
from neurobone.io import petab as nbpetab
from tests.conftest import assert_one_line_error
from tests.test_fit_lsq import SCENARIO, synthetic

petab = pytest.importorskip("petab.v1")

PARAMS = ["k_grow", "g_T"]
#: away from the scenario's values (0.187, 0.141): the model must follow the parameters
AT = {"k_grow": 0.26, "g_T": 0.2}


@pytest.fixture(scope="module")
def data():
    return synthetic(replicates=2)


@pytest.fixture(scope="module")
def exported(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("petab") / "problem"
    return nbpetab.export_problem(data, SCENARIO, PARAMS, out, bounds={"g_T": (0.05, 0.5)})


def test_export_passes_the_petab_linter(exported):
    assert sorted(p.name for p in exported.out_dir.iterdir()) == sorted(nbpetab.FILES.values())
    assert nbpetab.lint(exported.problem) == []
    assert petab.lint_problem(petab.Problem.from_yaml(str(exported.problem))) is False
    # no temporary folder is left beside it
    assert [p.name for p in exported.out_dir.parent.iterdir()] == [exported.out_dir.name]


def test_tables_say_what_the_fit_does(exported, data):
    obs = pd.read_csv(exported.out_dir / "observables.tsv", sep="\t")
    assert list(obs["observableName"]) == ["bv_tv", "p1np", "connectivity"]
    assert set(obs["noiseDistribution"]) == {"normal"}
    par = pd.read_csv(exported.out_dir / "parameters.tsv", sep="\t").set_index("parameterId")
    assert set(par["parameterScale"]) == {"log10"}
    # default bounds value/10..value*10 (fit.batch.parameter_ranges), g_T's given
    np.testing.assert_allclose(par.loc["k_grow", ["lowerBound", "upperBound"]],
                               [par.loc["k_grow", "nominalValue"] / 10,
                                par.loc["k_grow", "nominalValue"] * 10], rtol=1e-15)
    np.testing.assert_allclose(par.loc["g_T", ["lowerBound", "upperBound"]], [0.05, 0.5])
    meas = pd.read_csv(exported.out_dir / "measurements.tsv", sep="\t")
    assert len(meas) == len(data)
    np.testing.assert_array_equal(meas["noiseParameters"], data["sd"])


def test_round_trip_gives_back_data_parameters_and_bounds(exported, data):
    prob = nbpetab.read_problem(exported.problem)
    want = check_data(data, [*data["output"].unique()], 14.0, 0.05)
    pd.testing.assert_frame_equal(prob.data, want[["day", "output", "value", "sd"]])
    assert prob.parameters == PARAMS
    assert prob.bounds == {r.name: (r.low, r.high) for r in exported.ranges}
    assert prob.bounds["g_T"] == (0.05, 0.5)
    assert prob.scenario["duration_days"] == 14 and prob.scenario["species"] == "mouse"


def test_one_sd_per_output_is_the_noise_formula(tmp_path):
    """Data with one SD per output: the SD is the observable's noise formula (no
    noiseParameters), and reads back the same."""
    data = synthetic(replicates=1)
    data["sd"] = data.groupby("output")["sd"].transform("mean")
    exp = nbpetab.export_problem(data, SCENARIO, PARAMS, tmp_path / "p")
    assert nbpetab.lint(exp.problem) == []
    obs = pd.read_csv(exp.out_dir / "observables.tsv", sep="\t").set_index("observableName")
    meas = pd.read_csv(exp.out_dir / "measurements.tsv", sep="\t")
    assert "noiseParameters" not in meas.columns
    for o, sd in data.groupby("output")["sd"]:
        assert float(obs.loc[o, "noiseFormula"]) == sd.iloc[0]
    prob = nbpetab.read_problem(exp.problem)
    np.testing.assert_array_equal(prob.data["sd"], data["sd"])


def test_sbml_model_carries_the_scenario(exported):
    text = (exported.out_dir / "model.xml").read_text()
    assert nbpetab.NAMESPACE in text
    scn = nbpetab.scenario_of(text)
    assert scn["exercise"][0]["modality"] == "treadmill"
    from neurobone.io.sbml import to_sbml

    assert nbpetab.scenario_of(to_sbml("lemaire2004")) is None


def test_likelihood_is_neurobones_objective_by_roadrunner(exported):
    """libRoadRunner on the exported SBML at parameters away from the scenario's: the
    chi-square of the measurement table equals neurobone's objective."""
    roadrunner = pytest.importorskip("roadrunner")
    meas = pd.read_csv(exported.out_dir / "measurements.tsv", sep="\t")
    obs = pd.read_csv(exported.out_dir / "observables.tsv", sep="\t").set_index("observableId")
    rr = roadrunner.RoadRunner(str(exported.out_dir / "model.xml"))
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-14
    for p, v in AT.items():
        rr[p] = v
    days = sorted(set(meas["time"]))
    ids = list(obs["observableFormula"])
    sim = rr.simulate(times=[0.0, *days], selections=["time", *ids])
    col = {i: k + 1 for k, i in enumerate(ids)}
    row = {d: k + 1 for k, d in enumerate(days)}
    model = np.array([sim[row[t], col[obs.loc[o, "observableFormula"]]]
                      for o, t in zip(meas["observableId"], meas["time"], strict=True)])
    chi2 = float(np.sum(((model - meas["measurement"]) / meas["noiseParameters"]) ** 2))
    prob = nbpetab.read_problem(exported.problem)
    want = objective(prob.data, prob.scenario, AT)
    assert want > 5  # not at the optimum, where agreement would be cheap
    assert chi2 == pytest.approx(want, rel=1e-4)


@pytest.mark.slow  # about 25 s: pyPESTO loads the SBML into libRoadRunner (16 s here)
def test_pypesto_roadrunner_objective_equals_neurobones(tmp_path):
    """pyPESTO's libRoadRunner objective is a negative log-likelihood; converted to the
    chi-square (chi2_from_nllh) it equals neurobone's objective at the same parameters.

    pyPESTO 0.7's libRoadRunner objective takes neither time-point-specific noise
    parameters (flattened first, petab's own function) nor replicates (libRoadRunner
    2.10 refuses a repeated output time, CV_TOO_CLOSE): one measurement per output and
    day here."""
    pypesto_petab = pytest.importorskip("pypesto.petab")
    from pypesto.objective.roadrunner import SolverOptions

    data = synthetic(replicates=1)
    exp = nbpetab.export_problem(data, SCENARIO, PARAMS, tmp_path / "p")
    problem = petab.Problem.from_yaml(str(exp.problem))
    petab.flatten_timepoint_specific_output_overrides(problem)
    pp = pypesto_petab.PetabImporter(problem, output_folder=str(tmp_path / "pypesto"),
                                    simulator_type="roadrunner").create_problem()
    pp.objective.solver_options = SolverOptions(relative_tolerance=1e-10,
                                                absolute_tolerance=1e-14,
                                                maximum_num_steps=100000)
    assert list(pp.x_names) == PARAMS
    prob = nbpetab.read_problem(exp.problem)
    for values in ({"k_grow": 0.187, "g_T": 0.141}, AT, {"k_grow": 0.1, "g_T": 0.05}):
        nllh = pp.objective(np.log10([values[p] for p in PARAMS]))
        chi2 = nbpetab.chi2_from_nllh(nllh, prob.data["sd"])
        assert chi2 == pytest.approx(objective(prob.data, prob.scenario, values), rel=1e-4)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e3, 1e3), st.floats(1e-3, 1e3)), min_size=1,
                max_size=20))
def test_chi2_from_nllh_inverts_the_normal_likelihood(rows):
    r = np.array([a for a, _ in rows])
    sd = np.array([s for _, s in rows])
    nllh = float(np.sum(0.5 * np.log(2 * np.pi * sd ** 2) + 0.5 * (r / sd) ** 2))
    chi2 = float(np.sum((r / sd) ** 2))
    assert nbpetab.chi2_from_nllh(nllh, sd) == pytest.approx(chi2, rel=1e-9, abs=1e-6)


def test_parameter_that_moves_the_set_up_is_refused(data, tmp_path):
    with pytest.raises(InputError, match="changes the subject's set-up") as exc:
        nbpetab.export_problem(data, SCENARIO, ["k_tb"], tmp_path / "p")
    assert "\n" not in str(exc.value) and "mtb_ref" in str(exc.value)
    assert not (tmp_path / "p").exists()


def test_export_replaces_a_previous_export(data, tmp_path):
    out = tmp_path / "p"
    nbpetab.export_problem(data, SCENARIO, PARAMS, out)
    nbpetab.export_problem(data, SCENARIO, PARAMS, out, bounds={"k_grow": (0.1, 0.4)})
    par = pd.read_csv(out / "parameters.tsv", sep="\t").set_index("parameterId")
    assert tuple(par.loc["k_grow", ["lowerBound", "upperBound"]]) == (0.1, 0.4)
    assert [p.name for p in tmp_path.iterdir()] == ["p"]


def test_folder_with_other_files_is_refused(data, tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds other files"):
        nbpetab.export_problem(data, SCENARIO, PARAMS, tmp_path / "p")
    assert (tmp_path / "p" / "notes.txt").read_text() == "mine"


@pytest.fixture
def foreign(exported, tmp_path):
    """The exported problem with a model neurobone did not export (no annotation)."""
    from neurobone.io.sbml import to_sbml

    out = tmp_path / "foreign"
    shutil.copytree(exported.out_dir, out)
    (out / "model.xml").write_text(to_sbml("lemaire2004"))
    return out / "problem.yaml"


def test_foreign_problem_is_one_line(foreign, cli):
    with pytest.raises(InputError, match="neurobone fits its own models") as exc:
        nbpetab.read_problem(foreign)
    assert "\n" not in str(exc.value) and "supported:" in str(exc.value)
    code, _, err = cli("fit", foreign)
    assert_one_line_error(code, err, "neurobone fits its own models")


@pytest.mark.parametrize("edit, needle", [
    (lambda m: m.assign(noiseParameters="sigma"), "SD as a positive number"),
    (lambda m: m.assign(simulationConditionId="other"), "exactly one condition"),
    (lambda m: m.assign(time=99.0), None),
])
def test_unsupported_problem_is_one_line(exported, tmp_path, edit, needle):
    out = tmp_path / "edited"
    shutil.copytree(exported.out_dir, out)
    meas = pd.read_csv(out / "measurements.tsv", sep="\t")
    edit(meas).to_csv(out / "measurements.tsv", sep="\t", index=False)
    if needle is None:  # read, but the fit refuses a day outside the scenario
        prob = nbpetab.read_problem(out / "problem.yaml")
        with pytest.raises(InputError, match="outside the scenario"):
            nbpetab.fit_problem(out / "problem.yaml")
        assert set(prob.data["day"]) == {99.0}
        return
    with pytest.raises(InputError, match=needle) as exc:
        nbpetab.read_problem(out / "problem.yaml")
    assert "\n" not in str(exc.value)


SD_TEXT = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.sampled_from(["", "sigma", "1e-3", "-0.5", "0", "2,5"]))


@settings(max_examples=15, deadline=None)
@given(st.lists(SD_TEXT, min_size=1, max_size=4))
def test_any_sd_column_reads_back_or_is_one_line(exported, texts):
    """Whatever a measurement table's SDs hold: the positive numbers read back as they
    are, anything else is one line naming the SD."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p"
        shutil.copytree(exported.out_dir, out)
        meas = pd.read_csv(out / "measurements.tsv", sep="\t", dtype=str)
        meas.loc[:len(texts) - 1, "noiseParameters"] = texts
        meas.to_csv(out / "measurements.tsv", sep="\t", index=False)
        sd = pd.to_numeric(pd.Series(texts), errors="coerce").to_numpy(float)
        if (np.isfinite(sd) & (sd > 0)).all():
            prob = nbpetab.read_problem(out / "problem.yaml")
            np.testing.assert_array_equal(prob.data["sd"].to_numpy()[:len(texts)], sd)
        else:
            with pytest.raises(InputError) as exc:
                nbpetab.read_problem(out / "problem.yaml")
            assert "\n" not in str(exc.value)


def test_cli_export_and_bad_input(data, tmp_path, cli):
    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)
    import yaml

    scn = tmp_path / "s.yaml"
    scn.write_text(yaml.safe_dump(SCENARIO))
    code, out, err = cli("export-petab", csv, "--scenario", scn, "--params", "k_grow,g_T",
                         "-o", tmp_path / "p")
    assert code == 0, err
    assert "the petab linter passes" in out and (tmp_path / "p" / "problem.yaml").is_file()
    code, _, err = cli("export-petab", csv, "--scenario", scn, "--params", "k_nope",
                       "-o", tmp_path / "q")
    assert_one_line_error(code, err, "unknown parameter 'k_nope'")
    assert not (tmp_path / "q").exists()
    code, _, err = cli("fit", tmp_path / "p" / "problem.yaml", "--params", "k_grow")
    assert_one_line_error(code, err, "leave out --scenario")
    code, _, err = cli("fit", tmp_path / "missing.yaml")
    assert_one_line_error(code, err, "does not exist")
    code, _, err = cli("fit", csv)
    assert_one_line_error(code, err, "--scenario (or --design) is required")


@pytest.mark.slow  # two fits, about 45 s
def test_cli_fit_of_the_problem_is_the_fit_of_the_data(exported, data, tmp_path, cli):
    import yaml

    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)
    scn = tmp_path / "s.yaml"
    scn.write_text(yaml.safe_dump(SCENARIO))
    code, a, err = cli("fit", exported.problem, "--starts", "0", "--json")
    assert code == 0, err
    code, b, err = cli("fit", csv, "--scenario", scn, "--params", "k_grow,g_T",
                       "--bounds", "g_T=0.05:0.5", "--starts", "0", "--json")
    assert code == 0, err
    ja, jb = json.loads(a), json.loads(b)
    assert ja["objective"] == pytest.approx(jb["objective"], rel=1e-9)
    for p in PARAMS:
        assert math.isclose(ja["parameters"][p]["estimate"], jb["parameters"][p]["estimate"],
                            rel_tol=1e-9)
