"""PEtab v1 export and import of a least-squares fit (:mod:`neurobone.fit.lsq`).

:func:`export_problem` writes the fit that ``neurobone fit DATA --scenario S --params
a,b`` would run as a PEtab v1 problem (https://petab.readthedocs.io), so that other
tools (pyPESTO, AMICI, COPASI, ...) can load it::

    from neurobone.io.petab import export_problem, fit_problem, read_problem

    export_problem("data.csv", "examples/mouse_treadmill.yaml", ["k_grow", "g_T"], "fit/")
    prob = read_problem("fit/problem.yaml")  # data, scenario, parameters, bounds
    res = fit_problem("fit/problem.yaml")    # neurobone's fit of that problem

**The problem folder** (written to a temporary folder beside it, then renamed):

* ``model.xml`` -- the scenario as SBML (:func:`neurobone.io.sbml.to_sbml`: its subject's
  parameters and start, its schedule as events), keeping only the outputs the data
  measure. Its ``<annotation>`` holds the scenario itself (``<nb:scenario
  xmlns:nb="urn:neurobone:petab:1">`` with the scenario as JSON), and its notes say so:
  that is how :func:`read_problem` knows a model neurobone exported.
* ``conditions.tsv`` -- one condition, ``scenario`` (the schedule is in the model).
* ``observables.tsv`` -- one observable ``obs_<output>`` per output in the data, its
  formula the output's SBML id, normal noise whose SD (the data's ``sd``, or ``cv *
  |value|``) is the number itself when all the output's data have one SD, else
  ``noiseParameter1_obs_<output>``, each measurement's.
* ``measurements.tsv`` -- one row per datum: time (day), measurement (value) and, for
  outputs of varying SD, ``noiseParameters`` the datum's SD.
* ``parameters.tsv`` -- the fitted parameters, ``log10`` scale, the bounds
  :func:`neurobone.fit.lsq.fit` uses (``bounds``, or value/spread .. value*spread:
  :func:`neurobone.fit.batch.parameter_ranges`), nominal value the scenario's. A
  parameter the schedule overrides is the SBML constant ``<name>_base`` (its value
  outside the overrides, as in the engine).
* ``problem.yaml`` -- the PEtab problem file.

**What is exact.** neurobone sets up a subject anew for every parameter vector (its
homeostasis, start state and protocol follow from the parameters), while an SBML model
starts from fixed numbers. The export therefore accepts only parameters the subject's
set-up does not depend on (checked by setting each up at both its bounds): for those the
SBML model at any parameter values is the scenario neurobone runs, and the PEtab
likelihood is neurobone's objective (see :func:`chi2_from_nllh`). A parameter that moves
the set-up (``k_tb`` moves ``mtb_ref`` and the start of ``mtb``) is refused with a line
saying so.

**Import** (:func:`read_problem`, :func:`fit_problem`, ``neurobone fit PROBLEM.yaml``)
reads a problem neurobone exported back into data, scenario, parameters and bounds. A
problem whose SBML model is not neurobone's is refused: neurobone fits its own models.
Supported: one simulation condition without parameter or state columns, no
pre-equilibration, observables of model outputs (``lin``, normal noise whose SD is a
number or a ``noiseParameter`` given as a number per measurement), estimated parameters
with bounds, no priors.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from neurobone.errors import InputError, NeuroboneError
from neurobone.files import check_output_dir, quoted

#: the XML namespace of the annotation naming the scenario
NAMESPACE = "urn:neurobone:petab:1"
#: the condition of every exported problem
CONDITION = "scenario"
#: the files of a problem folder
FILES = {"sbml": "model.xml", "conditions": "conditions.tsv",
         "observables": "observables.tsv", "measurements": "measurements.tsv",
         "parameters": "parameters.tsv", "yaml": "problem.yaml"}
#: relative change of the set-up (start state, other parameters, schedule) that counts
SETUP_RTOL = 1e-9

SUPPORTED = ("supported: problems written by `neurobone export-petab` (one condition, "
             "observables of model outputs with normal noise of known SD, log10-scaled "
             "estimated parameters with bounds)")


def _petab():
    try:
        import petab.v1 as petab
    except ImportError:  # pragma: no cover - the [petab] extra
        raise InputError("PEtab needs the petab package: pip install 'neurobone[petab]'"
                         ) from None
    return petab


def observable_id(output: str) -> str:
    """The PEtab observable of a model output: ``obs_<output>``."""
    return "obs_" + re.sub(r"[^A-Za-z0-9_]", "_", output)


def chi2_from_nllh(nllh: float, sd: Sequence[float]) -> float:
    """neurobone's objective from a PEtab negative log-likelihood of normal noise.

    PEtab (pyPESTO) reports ``nllh = sum(0.5*log(2*pi*sd^2) + 0.5*((y - m)/sd)^2)``;
    neurobone's least-squares objective is ``chi2 = sum(((y - m)/sd)^2)``, so ``chi2 =
    2*nllh - sum(log(2*pi*sd^2))`` over the measurements' SDs ``sd``.
    """
    sd = np.asarray(sd, float)
    return float(2.0 * nllh - np.sum(np.log(2.0 * np.pi * sd ** 2)))


# ----------------------------------------------------------------------------- export
def _sbml_id(doc_model, m, output: str) -> str:
    """The SBML id an output is read from: its own name when the document has it (a
    state, an expression, a named output's rule), else its target."""
    if doc_model.getElementBySId(output) is not None:
        return output
    target = m.outputs.get(output, output)
    if doc_model.getElementBySId(target) is None:  # pragma: no cover - to_sbml keeps it
        raise InputError(f"PEtab export: output {output!r} is not in the SBML model")
    return target


def _annotate(text: str, scenario: dict) -> str:
    import libsbml

    doc = libsbml.readSBMLFromString(text)
    sm = doc.getModel()
    body = json.dumps(scenario, sort_keys=True).replace("&", "&amp;").replace(
        "<", "&lt;").replace(">", "&gt;")
    rc = sm.appendAnnotation(f'<nb:scenario xmlns:nb="{NAMESPACE}">{body}</nb:scenario>')
    if rc != libsbml.LIBSBML_OPERATION_SUCCESS:  # pragma: no cover - well-formed XML
        raise InputError("PEtab export: cannot annotate the SBML model")
    sm.appendNotes('<body xmlns="http://www.w3.org/1999/xhtml"><p>neurobone scenario '
                   f'export for PEtab: the scenario is in the annotation ({NAMESPACE})</p>'
                   '</body>')
    return libsbml.writeSBMLToString(doc)


def scenario_of(sbml_text_or_model) -> dict | None:
    """The scenario a neurobone-exported SBML model carries, or None (a foreign model)."""
    import libsbml

    sm = sbml_text_or_model
    if isinstance(sm, str):
        doc = libsbml.readSBMLFromString(sm)
        sm = doc.getModel()
    if sm is None or not sm.isSetAnnotation():
        return None
    ann = sm.getAnnotation()
    for i in range(ann.getNumChildren()):
        node = ann.getChild(i)
        if node.getURI() == NAMESPACE and node.getName() == "scenario":
            text = "".join(node.getChild(k).getCharacters() for k in range(node.getNumChildren()))
            try:
                out = json.loads(text)
            except ValueError:
                return None
            return out if isinstance(out, dict) else None
    return None


def _setup(scn, values: Mapping[str, float]):
    from neurobone.scenario.compile import compile_scenario

    plan = compile_scenario(scn.model_copy(update={"parameters": {**scn.parameters,
                                                                   **values}}))
    return plan


def _setup_changes(plan0, plan1, name: str, value: float) -> list[str]:
    """What of the subject's set-up differs between two plans, besides ``name`` itself
    (set to ``value`` in ``plan1``; the set-up may rescale it too)."""
    cm = plan0.cm
    m = cm.model
    j = cm.param_index(name)
    out = [] if np.isclose(plan1.parameters[j], value, rtol=SETUP_RTOL, atol=0) else \
        [f"{name} itself, rescaled by the subject's rules"]
    for i, p in enumerate(m.parameter_names):
        if i != j and not np.isclose(plan0.parameters[i], plan1.parameters[i],
                                     rtol=SETUP_RTOL, atol=0):
            out.append(p)
    for i, s in enumerate(m.state_names):
        a, b = plan0.initial[i], plan1.initial[i]
        if not np.isclose(a, b, rtol=SETUP_RTOL, atol=1e-30 * m.states[i].scale):
            out.append(f"start of {s}")
    sched0 = [(o.name, o.value, o.start, o.end, o.weekdays) for o in plan0.overrides]
    sched1 = [(o.name, o.value, o.start, o.end, o.weekdays) for o in plan1.overrides]
    if len(sched0) != len(sched1) or any(
            a[0] != b[0] or a[2:] != b[2:] or not np.isclose(a[1], b[1], rtol=SETUP_RTOL, atol=0)
            for a, b in zip(sched0, sched1, strict=False)):
        out.append("the schedule")
    return out


def _check_folder(out_dir: str | Path) -> Path:
    """The folder, checked: writable, and new, empty or a previous export's."""
    out_dir = check_output_dir(out_dir, "PEtab folder")
    if out_dir.exists():
        extra = sorted(p.name for p in out_dir.iterdir() if p.name not in FILES.values())
        if extra:
            raise InputError(f"PEtab export: folder {quoted(out_dir)} holds other files "
                             f"({', '.join(extra[:3])}); give a new or empty folder, or one "
                             "a previous export wrote")
    return out_dir


def _write_folder(out_dir: Path, write) -> None:
    """Write the folder through ``write(tmp_dir)`` into a temporary folder beside
    ``out_dir``, then rename it into place (an existing problem folder is replaced)."""
    out_dir = _check_folder(out_dir)
    parent = Path(os.path.abspath(out_dir)).parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=parent))
    try:
        write(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if out_dir.exists():
            # the previous export moves aside, the new one in, the previous one goes
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=parent))
            os.replace(out_dir, old / "x")
            try:
                os.replace(tmp, out_dir)
            except OSError:
                os.replace(old / "x", out_dir)  # the previous export back in place
                shutil.rmtree(old, ignore_errors=True)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    except OSError as exc:
        raise InputError(f"cannot write PEtab folder {quoted(out_dir)}: "
                         f"{exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass
class Export:
    """What :func:`export_problem` wrote: the folder, its problem file, the parameters
    (``Range``: name, value, low, high), the outputs and the number of measurements."""

    out_dir: Path
    problem: Path
    ranges: list
    outputs: list[str]
    n_data: int

    def __repr__(self) -> str:
        return (f"<PEtab problem {self.problem}: {self.n_data} measurements of "
                f"{', '.join(self.outputs)}; parameters {', '.join(r.name for r in self.ranges)}>")


def export_problem(data, scenario, parameters: Sequence[str], out_dir: str | Path, *,
                   bounds: Mapping[str, Sequence[float]] | None = None, spread: float = 10.0,
                   cv: float = 0.05) -> Export:
    """Write a least-squares fit as a PEtab v1 problem folder.

    Parameters
    ----------
    data : a DataFrame or a CSV/Parquet file, as for :func:`neurobone.fit.lsq.fit`
        (``day``, ``output``, ``value``, optional ``sd``).
    scenario : a scenario file, mapping or :class:`~neurobone.scenario.schema.Scenario`.
    parameters : the model parameters to estimate; each must leave the subject's set-up
        (start, other parameters, schedule) unchanged over its bounds (module docstring).
    out_dir : the folder to write (new, empty, or a previous export's: replaced).
    bounds, spread : the bounds, as for :func:`neurobone.fit.lsq.fit`.
    cv : relative measurement error where the data have no ``sd``.

    Returns an :class:`Export`. Bad input raises :class:`~neurobone.errors.InputError`
    (nothing is written); the written problem passes the petab linter (checked: a
    problem that does not is not written).
    """
    import libsbml

    from neurobone.engine.kernels import compile_model
    from neurobone.fit.batch import parameter_ranges
    from neurobone.fit.lsq import check_data, check_options, read_data
    from neurobone.io.sbml import split_overrides, to_sbml
    from neurobone.scenario.compile import base_parameters, model_for
    from neurobone.scenario.run import as_scenario

    petab = _petab()
    check_options(spread, 0, 0, cv)
    out_dir = _check_folder(out_dir)
    df = read_data(data)
    scn = as_scenario(scenario)
    m = model_for(scn)
    cm = compile_model(m)
    ranges = parameter_ranges(cm, base_parameters(cm, scn.parameters), parameters, spread,
                              bounds)
    data_ = check_data(df, m.all_outputs, float(scn.duration_days), cv)
    if len(data_) < len(ranges):
        raise InputError(f"data: {len(data_)} measurement(s) for {len(ranges)} parameters; a "
                         "fit needs at least as many data as parameters")
    plan = _setup(scn, {})
    constant, timed = split_overrides(plan.overrides)
    scheduled = {o.name for o in timed}
    for r in ranges:
        if r.name in constant:
            raise InputError(f"PEtab export: {r.name!r} is set by the scenario's schedule for "
                             "the whole run, so its value changes nothing; fit another "
                             "parameter")
        for v in (r.low, r.high):
            changed = _setup_changes(plan, _setup(scn, {r.name: v}), r.name, v)
            if changed:
                raise InputError(
                    f"PEtab export: {r.name!r} changes the subject's set-up ("
                    f"{', '.join(changed[:4])}{', ...' if len(changed) > 4 else ''} at "
                    f"{v:g}), which neurobone recomputes for every value but an SBML model "
                    "starts from fixed numbers; export only parameters the set-up does not "
                    "depend on (fit this one with `neurobone fit`)")
    outputs = list(dict.fromkeys(data_["output"]))
    values = dict(zip(m.parameter_names, map(float, plan.parameters), strict=True))
    text = to_sbml(cm, parameters={**values, **constant}, overrides=timed,
                   initial=plan.initial, outputs=outputs)
    scenario_json = scn.model_dump(mode="json", exclude_none=True)
    text = _annotate(text, scenario_json)
    sm = libsbml.readSBMLFromString(text).getModel()
    obs_ids = {o: observable_id(o) for o in outputs}
    # an output measured with one SD has it in its noise formula; the others take each
    # measurement's SD from its noiseParameters
    fixed = {o: float(g.iloc[0]) for o, g in data_.groupby("output", sort=False)["sd"]
             if g.nunique() == 1}
    observables = pd.DataFrame({
        petab.OBSERVABLE_ID: [obs_ids[o] for o in outputs],
        petab.OBSERVABLE_NAME: outputs,
        petab.OBSERVABLE_FORMULA: [_sbml_id(sm, m, o) for o in outputs],
        petab.OBSERVABLE_TRANSFORMATION: petab.LIN,
        petab.NOISE_FORMULA: [repr(fixed[o]) if o in fixed else f"noiseParameter1_{obs_ids[o]}"
                              for o in outputs],
        petab.NOISE_DISTRIBUTION: petab.NORMAL})
    measurements = pd.DataFrame({
        petab.OBSERVABLE_ID: [obs_ids[o] for o in data_["output"]],
        petab.SIMULATION_CONDITION_ID: CONDITION,
        petab.TIME: data_["day"].to_numpy(float),
        petab.MEASUREMENT: data_["value"].to_numpy(float)})
    if len(fixed) < len(outputs):
        measurements[petab.NOISE_PARAMETERS] = np.where(data_["output"].isin(list(fixed)),
                                                        np.nan, data_["sd"].to_numpy(float))
    conditions = pd.DataFrame({petab.CONDITION_ID: [CONDITION],
                               petab.CONDITION_NAME: ["the scenario (its schedule is in "
                                                      "the model's events)"]})
    table = pd.DataFrame({
        petab.PARAMETER_ID: [f"{r.name}_base" if r.name in scheduled else r.name
                             for r in ranges],
        petab.PARAMETER_NAME: [r.name for r in ranges],
        petab.PARAMETER_SCALE: petab.LOG10,
        petab.LOWER_BOUND: [r.low for r in ranges],
        petab.UPPER_BOUND: [r.high for r in ranges],
        petab.NOMINAL_VALUE: [r.value if r.value > 0 else math.sqrt(r.low * r.high)
                              for r in ranges],
        petab.ESTIMATE: 1})
    problem_yaml = {
        "format_version": 1,
        "parameter_file": FILES["parameters"],
        "problems": [{"sbml_files": [FILES["sbml"]],
                      "condition_files": [FILES["conditions"]],
                      "measurement_files": [FILES["measurements"]],
                      "observable_files": [FILES["observables"]]}]}

    def write(tmp: Path) -> None:
        import yaml

        (tmp / FILES["sbml"]).write_text(text, encoding="utf-8")
        conditions.to_csv(tmp / FILES["conditions"], sep="\t", index=False)
        observables.to_csv(tmp / FILES["observables"], sep="\t", index=False)
        measurements.to_csv(tmp / FILES["measurements"], sep="\t", index=False,
                            float_format="%.17g")
        table.to_csv(tmp / FILES["parameters"], sep="\t", index=False, float_format="%.17g")
        (tmp / FILES["yaml"]).write_text(yaml.safe_dump(problem_yaml, sort_keys=False),
                                         encoding="utf-8")
        errors = lint(tmp / FILES["yaml"])
        if errors:  # pragma: no cover - an export bug, not a user's error
            raise NeuroboneError("PEtab export: the problem does not pass the petab linter: "
                                 + "; ".join(errors[:3]))

    _write_folder(out_dir, write)
    return Export(out_dir, out_dir / FILES["yaml"], ranges, outputs, len(data_))


def lint(problem_yaml: str | Path) -> list[str]:
    """The petab linter's (``petab.v1.lint_problem``) errors of a problem file (empty when
    it passes); its messages are collected from its log."""
    import logging

    petab = _petab()
    problem = _load(problem_yaml)
    messages: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.ERROR:
                messages.append(record.getMessage())

    handler = _Collect()
    log = logging.getLogger("petab")
    log.addHandler(handler)
    try:
        failed = petab.lint_problem(problem)
    finally:
        log.removeHandler(handler)
    if failed and not messages:
        messages.append("the linter reports errors")
    return messages if failed else []


# ----------------------------------------------------------------------------- import
def _load(path: str | Path):
    petab = _petab()
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"PEtab problem {quoted(path)} does not exist")
    try:
        return petab.Problem.from_yaml(str(path))
    except Exception as exc:  # petab raises many kinds (YAML, schema, pandas, libSBML)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"PEtab problem {quoted(path)} cannot be read: {first}") from None


@dataclass
class Problem:
    """A PEtab problem as a neurobone fit: the data (``day, output, value, sd``), the
    scenario (a mapping), the parameters and their bounds."""

    data: pd.DataFrame
    scenario: dict
    parameters: list[str]
    bounds: dict[str, tuple[float, float]]


def read_problem(path: str | Path) -> Problem:
    """Read a PEtab v1 problem that neurobone exported (:func:`export_problem`) back into
    data, scenario, parameters and bounds.

    A problem whose SBML model carries no neurobone scenario is refused with one line
    (:class:`~neurobone.errors.InputError`), as is one using PEtab features the fit has
    no counterpart for (module docstring).
    """
    petab = _petab()
    from neurobone.scenario.compile import model_for
    from neurobone.scenario.run import as_scenario

    where = f"PEtab problem {quoted(path)}"
    prob = _load(path)
    sm = getattr(prob.model, "sbml_model", None)
    scenario = scenario_of(sm) if sm is not None else None
    if scenario is None:
        raise InputError(f"{where}: its model was not exported by neurobone (no neurobone "
                         f"scenario annotation, {NAMESPACE}); neurobone fits its own models "
                         f"only; {SUPPORTED}")
    scn = as_scenario(scenario)
    m = model_for(scn)
    cond = prob.condition_df
    meas = prob.measurement_df
    obs = prob.observable_df
    par = prob.parameter_df
    if cond is None or len(cond) != 1 or len(cond.columns.difference([petab.CONDITION_NAME])) \
            or set(meas[petab.SIMULATION_CONDITION_ID].astype(str)) != {str(cond.index[0])}:
        raise InputError(f"{where}: needs exactly one condition that sets nothing (the "
                         f"schedule is in the model); {SUPPORTED}")
    if petab.PREEQUILIBRATION_CONDITION_ID in meas.columns and \
            meas[petab.PREEQUILIBRATION_CONDITION_ID].notna().any() and \
            (meas[petab.PREEQUILIBRATION_CONDITION_ID].astype(str) != "").any():
        raise InputError(f"{where}: pre-equilibration is not supported; {SUPPORTED}")
    if petab.OBSERVABLE_PARAMETERS in meas.columns and \
            meas[petab.OBSERVABLE_PARAMETERS].notna().any():
        raise InputError(f"{where}: observableParameters are not supported; {SUPPORTED}")
    outputs, fixed = {}, {}
    for oid, row in obs.iterrows():
        name = str(row.get(petab.OBSERVABLE_NAME, "") or "")
        formula = str(row[petab.OBSERVABLE_FORMULA]).strip()
        output = name if name in m.all_outputs else formula
        if output not in m.all_outputs or m.outputs.get(output, output) not in (
                formula, m.outputs.get(formula, formula)):
            raise InputError(f"{where}: observable {oid!r} ({formula!r}) is not a model "
                             f"output; {SUPPORTED}")
        trans = row.get(petab.OBSERVABLE_TRANSFORMATION, petab.LIN)
        dist = row.get(petab.NOISE_DISTRIBUTION, petab.NORMAL)
        if (isinstance(trans, str) and trans != petab.LIN) or \
                (isinstance(dist, str) and dist != petab.NORMAL):
            raise InputError(f"{where}: observable {oid!r} is {trans}/{dist}; only lin "
                             f"observables with normal noise are fitted; {SUPPORTED}")
        noise = str(row[petab.NOISE_FORMULA]).strip()
        try:
            fixed_sd = float(noise)
        except ValueError:
            fixed_sd = None
        if noise != f"noiseParameter1_{oid}" and not (
                fixed_sd is not None and math.isfinite(fixed_sd) and fixed_sd > 0):
            raise InputError(f"{where}: observable {oid!r}: the noise formula must be the "
                             f"SD, a positive number or noiseParameter1_{oid} (each "
                             f"measurement's); {SUPPORTED}")
        outputs[oid] = output
        fixed[oid] = fixed_sd
    ids = meas[petab.OBSERVABLE_ID].astype(str)
    per_row = pd.to_numeric(meas[petab.NOISE_PARAMETERS], errors="coerce").to_numpy(float) \
        if petab.NOISE_PARAMETERS in meas.columns else np.full(len(meas), np.nan)
    sd = np.array([per_row[k] if fixed[o] is None else fixed[o] for k, o in enumerate(ids)])
    if not (np.isfinite(sd) & (sd > 0)).all():
        raise InputError(f"{where}: every measurement needs its SD as a positive number in "
                         f"noiseParameters (or its observable's noise formula); {SUPPORTED}")
    data = pd.DataFrame({"day": meas[petab.TIME].to_numpy(float),
                         "output": [outputs[o] for o in meas[petab.OBSERVABLE_ID]],
                         "value": meas[petab.MEASUREMENT].to_numpy(float),
                         "sd": sd})
    names, bounds = [], {}
    for pid, row in par.iterrows():
        if not int(row[petab.ESTIMATE]):
            raise InputError(f"{where}: parameter {pid!r} is fixed (estimate 0); set fixed "
                             f"values in the scenario's parameters: instead; {SUPPORTED}")
        for col in (petab.OBJECTIVE_PRIOR_TYPE, petab.INITIALIZATION_PRIOR_TYPE):
            if col in par.columns and isinstance(row[col], str) and row[col].strip():
                raise InputError(f"{where}: parameter {pid!r} has a prior ({col}); the "
                                 f"least-squares fit takes none; {SUPPORTED}")
        name = pid if pid in m.parameter_names else (
            pid[:-5] if pid.endswith("_base") and pid[:-5] in m.parameter_names else None)
        if name is None:
            raise InputError(f"{where}: parameter {pid!r} is not a parameter of model "
                             f"{m.name!r}; {SUPPORTED}")
        names.append(name)
        bounds[name] = (float(row[petab.LOWER_BOUND]), float(row[petab.UPPER_BOUND]))
    if not names:
        raise InputError(f"{where}: no parameter to estimate; {SUPPORTED}")
    return Problem(data, scenario, names, bounds)


def fit_problem(path: str | Path, **options):
    """neurobone's least-squares fit (:func:`neurobone.fit.lsq.fit`) of a PEtab problem
    neurobone exported; ``options`` as for it (``n_starts``, ``seed``, ``progress``)."""
    from neurobone.fit.lsq import fit

    prob = read_problem(path)
    return fit(prob.data, prob.scenario, prob.parameters, bounds=prob.bounds, **options)
