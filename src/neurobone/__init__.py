"""neurobone: exercise -> brain -> bone.

The public API, importable from here (loaded on first use, so ``import neurobone`` is
quick)::

    import neurobone as nb

    res = nb.simulate("lemaire2004", 140, schedule=[nb.Override("I_P", 1e3, 20, 80)])
    res.plot()
    nb.run_scenario("examples/mouse_treadmill.yaml").table()
    nb.run_study()                    # the article's mouse study
    nb.list_studies()                 # the built-in studies; nb.run_study("time-course")
    nb.run_hypotheses("regularity", "all")   # {hypothesis: result}
    nb.power("my_study.yaml", range(4, 31, 2)).n_for(0.8)   # subjects per arm for 80 % power
    nb.analyze_data("animals.csv", "my_study.yaml")          # a lab's data, the study's analysis
    nb.run_cohort("examples/cohort_running.yaml", n=1000, seed=1, out_dir="cohort")
    nb.fit_lsq("data.csv", "examples/mouse_treadmill.yaml", ["k_tb", "g_T"])  # with intervals
    nb.export_petab("data.csv", "examples/mouse_treadmill.yaml", ["k_grow", "g_T"], "petab/")
    nb.fit_bayes("data.csv", "examples/mouse_treadmill.yaml", ["k_tb", "g_T"])  # posterior
    nb.fit_lsq("animals.csv", nb.load_study("my_study.yaml"), ["k_tb"])  # arms of a design
    nb.fit_mixed("mice.csv", "examples/mouse_treadmill.yaml", ["k_tb"])  # between subjects
    nb.scenario_bands("examples/mouse_treadmill.yaml", draws=100)  # parameter uncertainty
    nb.sensitivity("examples/mouse_treadmill.yaml", ["k_tb", "g_T"], outputs=["bv_tv"])

See README.md and docs/.
"""

from __future__ import annotations

import importlib

from neurobone._version import __version__  # noqa: F401 - re-exported

_EXPORTS = {
    # models
    "get_model": "neurobone.model.registry",
    "available_models": ("neurobone.model.registry", "available"),
    "Model": "neurobone.model.definition",
    "Override": "neurobone.model.timed",
    "Covariates": "neurobone.model.subjects",
    # engine
    "simulate": "neurobone.engine.simulate",
    "Result": "neurobone.engine.result",
    "Schedule": "neurobone.engine.schedule",
    "compile_model": "neurobone.engine.kernels",
    "steady_state": "neurobone.engine.steady",
    "solvers": ("neurobone.engine.solvers", None),
    "BDF": "neurobone.engine.solvers",
    "Rodas4": "neurobone.engine.solvers",
    "Dopri5": "neurobone.engine.solvers",
    "Switching": "neurobone.engine.solvers",
    "Lanes": "neurobone.engine.solvers",
    # scenarios
    "Scenario": "neurobone.scenario.schema",
    "load_scenario": "neurobone.scenario.schema",
    "compile_scenario": "neurobone.scenario.compile",
    "run_scenario": "neurobone.scenario.run",
    "decompose": "neurobone.scenario.run",
    "attribute": "neurobone.scenario.run",
    "initialise_subjects": "neurobone.scenario.subjects",
    # studies, cohorts
    "Study": "neurobone.study.design",
    "load_study": "neurobone.study.design",
    "run_study": "neurobone.study.run",
    "run_hypotheses": "neurobone.study.run",
    "list_studies": "neurobone.study.design",
    "packaged_study": "neurobone.study.design",
    "run_trial": "neurobone.study.trial",
    "trial_names": "neurobone.study.trial",
    "validation_table": "neurobone.study.trial",
    "power": "neurobone.study.power",
    "analyze_data": "neurobone.study.data",
    "PowerResult": "neurobone.study.power",
    "run_cohort": "neurobone.cohort.run",
    "open_cohort": "neurobone.cohort.store",
    "query": "neurobone.cohort.store",
    # fitting
    "fit_lsq": ("neurobone.fit.lsq", "fit"),
    "FitResult": "neurobone.fit.lsq",
    "fit_bayes": ("neurobone.fit.bayes", "fit"),
    "PosteriorResult": "neurobone.fit.bayes",
    "fit_mixed": ("neurobone.fit.mixed", "fit"),
    "scenario_bands": "neurobone.fit.uncertainty",
    "UncertaintyResult": "neurobone.fit.uncertainty",
    "MixedResult": "neurobone.fit.mixed",
    "sensitivity": "neurobone.fit.sensitivity",
    "SensitivityResult": "neurobone.fit.sensitivity",
    # prescriptions
    "prescribe": "neurobone.prescription.search",
    "Prescription": "neurobone.prescription.search",
    "Person": "neurobone.prescription.person",
    # output
    "write_report": "neurobone.report",
    "to_sbml": "neurobone.io.sbml",
    "write_sbml": "neurobone.io.sbml",
    "export_petab": ("neurobone.io.petab", "export_problem"),
    "read_petab": ("neurobone.io.petab", "read_problem"),
    "fit_petab": ("neurobone.io.petab", "fit_problem"),
    # settings, errors
    "config": ("neurobone.config", None),
    "NeuroboneError": "neurobone.errors",
    "InputError": "neurobone.errors",
    "ModelError": "neurobone.errors",
    "SolverError": "neurobone.errors",
}

__all__ = ["__version__", *_EXPORTS]  # noqa: PLE0605 - the lazy exports


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'neurobone' has no attribute {name!r}")
    module, attr = target if isinstance(target, tuple) else (target, name)
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
