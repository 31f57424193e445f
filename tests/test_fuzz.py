"""Property-based fuzzing of the command line's contract (issue 13).

Hypothesis generates scenario files, study files, population blocks and argument lists
-- valid ones and near misses: wrong types, NaN, infinities, huge, tiny and negative
numbers, booleans for numbers, unknown names, empty lists, control characters in
strings and names -- and runs ``neurobone`` in this process (``neurobone.cli.main``, as
the ``cli`` fixture does). Every case must keep the contract:

* exit 0, and every number the command wrote is finite; or
* exit 2 with exactly one line on stderr (``neurobone: error: ...``), no traceback,
  and no output file (or report folder, or cohort store) left behind;

never exit 1 (an internal error) or another code.

How much runs (``CASES``): ``make test`` runs the default budget (deterministic:
``derandomize=True``, the same cases on every run; about 50 s warm on two cores);
``make test-slow`` runs the slow budget with fresh random cases every time.

=========================  =======  ======
property                   default  slow
=========================  =======  ======
simulate a scenario file       300    1500
simulate --model/--set         300    1500
export-sbml                    120     600
steady-state                   120     600
study files (parse)            400    2000
run a study file                 4      40
cohort with a population        50     300
=========================  =======  ======

That is 1294 generated cases by default and 6540 in the slow run.

``KNOWN`` lists breaks that are reported but not yet fixed: a case matching one is
counted, not failed, and the break gets its own reproducer marked
``xfail(strict=True)``, which fails the run (XPASS) once it is fixed so that its entry
goes. It is empty: every break fails the test. The breaks it held while issue 13 was
being worked on have plain reproducers at the end of this module.

``NEUROBONE_FUZZ_LOG=FILE`` appends one JSON line per case (property, arguments,
files, exit code, the break if any) and, with ``NEUROBONE_FUZZ_COLLECT=1``, no break
fails the test and the slow budget is deterministic too. That is how the closing
note's numbers were counted: both budgets logged on the code before the fixes, and
the logged cases (files and arguments) run again on the fixed code, so that both
counts are of the same cases (Hypothesis's own choices drift once the code under test
changes).
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# ----------------------------------------------------------------------------- budgets
#: generated cases per property: (default, slow)
CASES = {
    "simulate_scenario": (300, 1500),
    "simulate_model": (300, 1500),
    "export_sbml": (120, 600),
    "steady_state": (120, 600),
    "parse_study": (400, 2000),
    "run_study": (4, 40),
    "cohort": (50, 300),
}
BUDGETS = [pytest.param("default", id="default"),
           pytest.param("slow", id="slow", marks=pytest.mark.slow)]
LOG = os.environ.get("NEUROBONE_FUZZ_LOG")
COLLECT = os.environ.get("NEUROBONE_FUZZ_COLLECT") == "1"


def budget_settings(name: str, budget: str):
    fast, slow = CASES[name]
    return settings(max_examples=fast if budget == "default" else slow, deadline=None,
                    database=None, derandomize=budget == "default" or COLLECT, print_blob=True,
                    suppress_health_check=list(HealthCheck))


# ----------------------------------------------------------------------------- near misses
NAN, INF = math.nan, math.inf
#: values that are not a sensible number, for any numeric field
BAD_NUMBERS = [NAN, INF, -INF, 1e300, -1e300, 1e-320, -1.0, 0.0, -0.0, True, False, None,
               "abc", "", "12", "1e999", [], [1.0], {}, {"a": 1}, "x\ny", "\x00", "\x1b[31m"]
#: strings that are not a sensible name
BAD_NAMES = ["", "nope", "I_P ", "tau\nM", "a\rb", "\x07", "\x1b[2J", "名前", "x" * 300,
             "treadmill\n", "__class__", "..", "/etc/passwd"]
#: command-line numbers that are not sensible
BAD_ARG_NUMBERS = ["nan", "inf", "-inf", "1e12", "1e308", "1e999", "-1", "0", "-0", "abc", "",
                   "1e-320", "0x10", "1_0", " 3", "3\n", "\x00"]


def bad_value():
    """A bad number or name; a fresh copy, so that later mutations of a drawn document
    never reach the module's constants (which would make generation depend on state)."""
    import copy

    return st.sampled_from(BAD_NUMBERS + BAD_NAMES).map(copy.deepcopy)


# ----------------------------------------------------------------------------- models
def _models():
    from neurobone.model import brainbone
    from neurobone.model.registry import get_model

    out = {name: get_model(name) for name in ("lemaire2004", "pivonka2008")}
    out["mouse"] = brainbone.build("mouse")
    out["human"] = brainbone.build("human")
    return out


MODELS = _models()
MODALITIES = {"mouse": ["treadmill", "wheel"],
              "human": ["walking", "running", "jumping", "resistance",
                        "hiit_resistance_impact", "swimming", "cycling"]}
KINDS = ["circuit_inhibition", "circuit_activation", "beta_blocker", "ovariectomy",
         "menopause", "hindlimb_unloading", "bed_rest", "estradiol"]


def parameter_values(model, k: int = 2):
    """Up to ``k`` parameters of ``model`` at 0.5-2 times their value (0: a small one)."""
    names = st.sampled_from(model.parameter_names)
    return st.dictionaries(names, st.floats(0.5, 2.0), max_size=k).map(
        lambda d: {n: (model.parameter(n).value or 0.01) * f for n, f in d.items()})


# ----------------------------------------------------------------------------- scenarios
#: intensities the valid cases use (in each modality's unit)
INTENSITY = {"treadmill": (0, 30), "wheel": (0, 15), "walking": (2, 8), "running": (6, 20),
             "jumping": (0, 200), "resistance": (30, 100), "hiit_resistance_impact": (50, 100),
             "swimming": (0, 1), "cycling": (0, 1)}


@st.composite
def exercise_block(draw, species: str, duration: float):
    from neurobone.model.brainbone import dosing

    modality = draw(st.sampled_from(MODALITIES[species]))
    lo, hi = INTENSITY[modality]
    block = {"modality": modality, "minutes": draw(st.integers(5, 120)),
             "days_per_week": draw(st.integers(1, 7))}
    if draw(st.booleans()):
        block[dosing.intensity_field(species, modality)] = draw(st.floats(lo, hi))
    if draw(st.booleans()):
        start = draw(st.floats(0, duration))
        block["start_day"] = start
        if draw(st.booleans()):
            block["end_day"] = draw(st.floats(start + 0.5, start + 10))
    return block


@st.composite
def exercise_blocks(draw, species: str, duration: float):
    """None, one or two exercise blocks; two train in separate windows (or overlap on
    the same weekdays now and then: an error)."""
    blocks = draw(st.lists(exercise_block(species, duration), max_size=2))
    if len(blocks) == 2 and draw(st.integers(0, 4)):
        blocks[0]["start_day"] = 0.0
        blocks[0]["end_day"] = duration / 2
        blocks[1]["start_day"] = duration / 2
        blocks[1].pop("end_day", None)
    return blocks


@st.composite
def intervention(draw, species: str, duration: float):
    kinds = [k for k in KINDS if species == "human" or k != "menopause"]
    iv = {"kind": draw(st.sampled_from(kinds))}
    if iv["kind"] == "beta_blocker" and draw(st.booleans()):
        iv["drug"] = draw(st.sampled_from(["propranolol", "atenolol", "nebivolol"]))
    if iv["kind"] in ("circuit_inhibition", "circuit_activation") and draw(st.booleans()):
        iv["intensity"] = draw(st.floats(0, 1))
    if draw(st.booleans()):
        iv["start_day"] = draw(st.floats(0, duration))
    return iv


@st.composite
def subject_block(draw, species: str):
    sub = {"sex": draw(st.sampled_from(["female", "female", "male"]))}
    if species == "mouse":
        if draw(st.booleans()):
            sub["age_weeks"] = draw(st.floats(6, 40))
    else:
        if draw(st.booleans()):
            sub["age_years"] = draw(st.floats(20, 80))
        if draw(st.booleans()):
            sub["t_score"] = draw(st.floats(-3.5, 1.5))
    return sub


@st.composite
def scenario(draw, short: bool = True):
    """A valid scenario mapping (a few days; any model, species, protocol)."""
    which = draw(st.sampled_from(["neurobone"] * 6 + ["lemaire2004", "pivonka2008"]))
    species = draw(st.sampled_from(["mouse", "human"]))
    duration = draw(st.floats(0.5, 6.0) if short else st.floats(1, 30))
    data: dict = {"species": species, "duration_days": duration}
    if which != "neurobone":
        data["model"] = which
        model = MODELS[which]
    else:
        model = MODELS[species]
        if draw(st.booleans()):
            data["hypothesis"] = draw(st.sampled_from(["article", "interoceptive",
                                                       "mechanical"]))
        data["exercise"] = draw(exercise_blocks(species, duration))
        data["interventions"] = draw(st.lists(intervention(species, duration), max_size=2))
        if draw(st.booleans()):
            data["outputs"] = draw(st.lists(st.sampled_from(model.outputs_for(species)),
                                            min_size=1, max_size=4, unique=True))
    data["subject"] = draw(subject_block(species))
    if draw(st.booleans()):
        data["parameters"] = draw(parameter_values(model))
    return data


def _paths(data, prefix=()):
    """Every (path, value) of a nested mapping/list."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield (*prefix, k), v
            yield from _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield (*prefix, i), v
            yield from _paths(v, (*prefix, i))


def _set(data, path, value):
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()


@st.composite
def mutated(draw, base, max_mutations: int = 2):
    """``base`` with up to ``max_mutations`` near misses: a value replaced by a bad
    number or name, a key removed, an unknown (possibly control-character) key added, a
    list emptied or the whole document replaced by a non-mapping."""
    import copy

    data = copy.deepcopy(draw(base))
    n = draw(st.integers(0, max_mutations))
    for _ in range(n):
        paths = list(_paths(data))
        how = draw(st.sampled_from(["value", "value", "value", "delete", "key", "empty",
                                    "top"]))
        if how == "top":
            return draw(st.sampled_from([[], [data], "text", 12, None, {}]))
        if not paths:
            continue
        path, old = draw(st.sampled_from(paths))
        if how == "value":
            _set(data, path, draw(bad_value()))
        elif how == "delete" and isinstance(path[-1], str):
            _set(data, path, _DELETE)
        elif how == "key":
            parent = path[:-1]
            node = data
            for key in parent:
                node = node[key]
            if isinstance(node, dict):
                node[draw(st.sampled_from(BAD_NAMES))] = draw(st.sampled_from([1, "x", None]))
        elif how == "empty" and isinstance(old, (list, dict)):
            _set(data, path, [] if isinstance(old, list) else {})
    return data


# ----------------------------------------------------------------------------- the contract
#: breaks of the contract reported but not fixed yet: (owner, what, property, break,
#: arguments, stderr) patterns -- a matching case is counted, not failed; each needs a
#: reproducer marked xfail(strict=True) at the end of this module. Empty: none known.
KNOWN: list[tuple[str, str, str, str, str, str]] = []

_counter = itertools.count()
COUNTS: dict[str, list[int]] = {}


def _numbers_finite(df: pd.DataFrame) -> bool:
    num = df.select_dtypes("number")
    return bool(num.apply(lambda c: c.map(lambda x: math.isfinite(float(x)))).all().all()) \
        if len(num.columns) else True


def verdict(code: int, out: str, err: str, outputs: list[Path], check_ok) -> str | None:
    """What breaks the contract in one run (None: nothing)."""
    lines = err.strip().splitlines()
    if code == 2:
        if len(lines) != 1:
            return f"exit 2 with {len(lines)} lines on stderr"
        if not lines[0].startswith("neurobone: error: "):
            return "exit 2 without 'neurobone: error:'"
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", lines[0]):
            return "exit 2 with a control character in the message"
        left = [p for p in outputs if p.exists()]
        if left:
            what = "an empty" if all(p.is_file() and p.stat().st_size == 0 for p in left) else "a"
            return f"exit 2 left {what} output {left[0].name}"
        return None
    if code != 0:
        return f"exit {code}: {lines[-1] if lines else ''}"
    if "Traceback" in err:
        return "a traceback on stderr"
    return check_ok(out)


def record(prop: str, argv: list, files: dict, code: int, err: str, broke: str | None) -> None:
    COUNTS.setdefault(prop, [0, 0, 0])
    COUNTS[prop][0] += 1
    args = " ".join(str(a) for a in argv)
    known = broke is not None and any(
        re.fullmatch(p, prop) and re.search(b, broke) and re.search(a, args)
        and re.search(e, err) for _owner, _what, p, b, a, e in KNOWN)
    if broke is not None:
        COUNTS[prop][1 if not known else 2] += 1
    if LOG:
        with open(LOG, "a") as fh:
            fh.write(json.dumps({"property": prop, "argv": [str(a) for a in argv],
                                 "files": files, "code": code, "stderr": err[-400:],
                                 "broke": broke, "known": known}, default=repr) + "\n")
    if broke is not None and not known and not COLLECT:
        raise AssertionError(f"contract broken: {broke}\nargv: {argv}\nfiles: {files}\n"
                             f"stderr: {err}")


def write_yaml(path: Path, data) -> str:
    text = yaml.safe_dump(data, allow_unicode=False, sort_keys=False)
    path.write_text(text)
    return text


def csv_ok(path: Path | None):
    def check(out: str) -> str | None:
        from io import StringIO

        text = path.read_text() if path is not None else out
        if path is not None and not path.exists():
            return "exit 0 without the output file"
        try:
            df = pd.read_csv(StringIO(text))
        except Exception as exc:  # noqa: BLE001
            return f"exit 0 with unreadable CSV: {exc}"
        if df.empty or not _numbers_finite(df):
            return "exit 0 with non-finite or no numbers in the CSV"
        return None
    return check


@pytest.fixture
def run(cli):
    """The ``cli`` fixture, with the warnings Python would print on stderr (pytest
    records them instead) added to stderr: a warning is a line too."""
    import warnings

    def go(*argv):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code, out, err = cli(*argv)
        hidden = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
        err += "".join(f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}\n"
                       for w in caught if not issubclass(w.category, hidden))
        return code, out, err
    return go


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A fresh folder per generated case (the cases of one test share ``tmp_path``)."""
    monkeypatch.chdir(tmp_path)

    def new() -> Path:
        d = tmp_path / f"case{next(_counter)}"
        d.mkdir()
        return d
    return new


# ----------------------------------------------------------------------------- simulate
@pytest.mark.parametrize("budget", BUDGETS)
def test_simulate_scenario_files(run, workdir, budget):
    @budget_settings("simulate_scenario", budget)
    @given(data=mutated(scenario()), to_file=st.booleans(),
           solver=st.sampled_from(["switching", "switching", "bdf", "rodas4", "dopri5",
                                   "lanes"]))
    def prop(data, to_file, solver):
        d = workdir()
        scn = d / "scenario.yaml"
        text = write_yaml(scn, data)
        out = d / "out.csv"
        argv = ["simulate", scn, "--solver", solver, *(["-o", out] if to_file else [])]
        code, stdout, err = run(*argv)
        broke = verdict(code, stdout, err, [out], csv_ok(out if to_file else None))
        record("simulate_scenario", argv, {"scenario.yaml": text}, code, err, broke)

    prop()


def sometimes_bad(good, bad, one_in: int = 6):
    """A good choice, or one time in ``one_in`` a bad one."""
    # the bad choice is the largest k: Hypothesis leans to small numbers
    return st.integers(1, one_in).flatmap(
        lambda k: st.sampled_from(bad) if k == one_in else (
            good if isinstance(good, st.SearchStrategy) else st.sampled_from(good)))


@st.composite
def set_option(draw, model):
    name = draw(sometimes_bad(model.parameter_names, BAD_NAMES))
    base = model.parameter(name).value if name in model.parameter_names else 1.0
    value = draw(sometimes_bad(st.floats(0.25, 4.0).map(lambda f: repr((base or 0.01) * f)),
                               BAD_ARG_NUMBERS + ["1e300", "-1e300", "0"], 3))
    window = draw(sometimes_bad(["", "", "@1:3", "@0:", "@2.5:4", "@1:"],
                                ["@nan:", "@3:1", "@-1:2", "@inf:", "@1e300:", "@x:y",
                                 "@1:1e999", "@1e-320:1"]))
    return f"{name}={value}{window}"


@st.composite
def model_args(draw, command: str):
    which = draw(st.sampled_from(["lemaire2004", "lemaire2004", "pivonka2008", "neurobone"]))
    model = MODELS["mouse" if which == "neurobone" else which]
    argv = [command, "--model", draw(sometimes_bad([which], BAD_NAMES))]
    for _ in range(draw(st.integers(0, 2))):
        argv += ["--set", draw(set_option(model))]
    if which == "neurobone" and draw(st.booleans()):
        argv += ["--species", draw(st.sampled_from(["mouse", "human", "fish", "Mouse\n"]))]
    return argv


@pytest.mark.parametrize("budget", BUDGETS)
def test_simulate_a_model_with_set_options(run, workdir, budget):
    @budget_settings("simulate_model", budget)
    @given(argv=model_args("simulate"),
           days=sometimes_bad(["1", "2", "3.5", "5", "0.25"], BAD_ARG_NUMBERS),
           solver=sometimes_bad(["switching", "bdf", "rodas4", "dopri5", "lanes", "BDF"],
                                ["euler", "", "bdf\n"]),
           rtol=sometimes_bad(["1e-6", "1e-4", "1e-8", "0.01"], BAD_ARG_NUMBERS),
           to_file=st.booleans())
    def prop(argv, days, solver, rtol, to_file):
        out = workdir() / "out.csv"
        argv = [*argv, "--days", days, "--solver", solver, "--rtol", rtol,
                *(["-o", out] if to_file else [])]
        code, stdout, err = run(*argv)
        broke = verdict(code, stdout, err, [out], csv_ok(out if to_file else None))
        record("simulate_model", argv, {}, code, err, broke)

    prop()


# ----------------------------------------------------------------------------- export-sbml
def sbml_ok(path: Path):
    def check(_out: str) -> str | None:
        if not path.exists():
            return "exit 0 without the SBML file"
        text = path.read_text()
        if re.search(r'value="(-?INF|NaN|nan|inf)"', text, re.I):
            return "exit 0 with a non-finite value in the SBML"
        return None
    return check


@pytest.mark.parametrize("budget", BUDGETS)
def test_export_sbml(run, workdir, budget):
    @budget_settings("export_sbml", budget)
    @given(argv=model_args("export-sbml"))
    def prop(argv):
        out = workdir() / "model.xml"
        argv = [*argv, "-o", out]
        code, stdout, err = run(*argv)
        broke = verdict(code, stdout, err, [out], sbml_ok(out))
        record("export_sbml", argv, {}, code, err, broke)

    prop()


# ----------------------------------------------------------------------------- steady-state
def steady_ok(out: str) -> str | None:
    rows = [line.split("\t") for line in out.strip().splitlines()]
    if not rows or any(len(r) != 3 for r in rows):
        return "exit 0 without one line per state"
    if not all(math.isfinite(float(r[1])) for r in rows):
        return "exit 0 with a non-finite steady state"
    return None


@pytest.mark.parametrize("budget", BUDGETS)
def test_steady_state(run, workdir, budget):
    @budget_settings("steady_state", budget)
    @given(argv=model_args("steady-state"))
    def prop(argv):
        workdir()
        code, stdout, err = run(*argv)
        broke = verdict(code, stdout, err, [], steady_ok)
        record("steady_state", argv, {}, code, err, broke)

    prop()


# ----------------------------------------------------------------------------- studies
@st.composite
def study(draw):
    species = draw(st.sampled_from(["mouse", "human"]))
    duration = draw(st.floats(2, 10))
    arms = [{"name": "control"}]
    for i in range(draw(st.integers(1, 2))):
        arm = {"name": draw(st.sampled_from([f"arm {i}", f"arm-{i}", f"A{i}"]))}
        arm["exercise"] = draw(exercise_blocks(species, duration))
        arm["interventions"] = draw(st.lists(intervention(species, duration), max_size=1))
        arms.append(arm)
    data = {"name": draw(st.sampled_from(["fuzz", "a study", "s"])), "species": species,
            "duration_days": duration, "n_per_arm": draw(st.integers(2, 3)),
            "seed": draw(st.integers(0, 2**31)), "arms": arms,
            "subject": draw(subject_block(species))}
    if draw(st.booleans()):
        data["measurement_days"] = sorted(draw(st.lists(st.floats(0, duration), min_size=1,
                                                        max_size=3)))
    if draw(st.booleans()):
        data["analysis"] = "endpoint"
    if draw(st.booleans()):
        data["parameters"] = draw(parameter_values(MODELS[species], 1))
    if draw(st.booleans()):
        data["measurement"] = {MODELS[species].primary_for(species): draw(st.floats(0, 0.5))}
    return data


@pytest.mark.parametrize("budget", BUDGETS)
def test_study_files_parse_or_give_one_located_line(workdir, budget):
    from neurobone.errors import InputError
    from neurobone.study import load_study

    @budget_settings("parse_study", budget)
    @given(data=mutated(study(), 3))
    def prop(data):
        import warnings

        path = workdir() / "study.yaml"
        text = write_yaml(path, data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                load_study(path)
                code, err = 0, ""
            except InputError as exc:
                code, err = 2, f"neurobone: error: {exc}\n"
            except Exception as exc:  # noqa: BLE001 - what the fuzzing looks for
                code, err = 1, f"{type(exc).__name__}: {exc}"
        err += "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
        broke = verdict(code, "", err, [], lambda _out: None)
        if broke is None and code == 2 and not str(err).startswith(f"neurobone: error: {path}"):
            broke = "a study error that does not name the file"
        record("parse_study", ["load_study", path], {"study.yaml": text}, code, err, broke)

    prop()


def report_ok(folder: Path):
    def check(_out: str) -> str | None:
        if not (folder / "index.html").exists():
            return "exit 0 without the report"
        animals = pd.read_csv(folder / "animals.csv")
        if not _numbers_finite(animals[["day", "true", "measured"]]):
            return "exit 0 with non-finite measurements"
        return None
    return check


@pytest.mark.parametrize("budget", BUDGETS)
def test_run_study_files(run, workdir, budget):
    @budget_settings("run_study", budget)
    @given(data=st.one_of(study(), mutated(study(), 1)),
           n=sometimes_bad([None, "2", "3"], ["1", "0", "-3", "abc", "1e3"], 4))
    def prop(data, n):
        d = workdir()
        path = d / "study.yaml"
        text = write_yaml(path, data)
        out = d / "report"
        argv = ["run", path, "--out", out, *(["--n", n] if n is not None else [])]
        code, stdout, err = run(*argv)
        broke = verdict(code, stdout, err, [out], report_ok(out))
        record("run_study", argv, {"study.yaml": text}, code, err, broke)

    prop()


# ----------------------------------------------------------------------------- cohorts
@st.composite
def covariate(draw, lo: float, hi: float):
    a = draw(st.floats(lo, hi))
    b = draw(st.floats(lo, hi))
    low, high = min(a, b), max(a, b) + 0.5
    return draw(st.sampled_from([
        a, None,
        {"dist": "uniform", "low": low, "high": high},
        {"dist": "truncnormal", "mean": (low + high) / 2, "sd": 1.0, "low": low, "high": high},
        {"dist": "lognormal", "median": max(a, 0.1), "cv": 0.2},
        {"dist": "histogram", "edges": [low, (low + high) / 2, high], "weights": [1, 2]},
    ]))


@st.composite
def cohort_scenario(draw):
    data = draw(scenario())
    data.pop("model", None)
    data.pop("parameters", None)
    if data["species"] == "mouse":
        pop = {"age_weeks": draw(covariate(10, 20))}
    else:
        pop = {"age_years": draw(covariate(40, 70)), "t_score": draw(covariate(-2.5, 0.5))}
        if draw(st.booleans()):
            pop["menopause_age_years"] = draw(covariate(45, 55))
    pop["variability"] = draw(st.booleans())
    if draw(st.booleans()):
        pop["activity"] = draw(covariate(0.7, 1.3))
    if draw(st.booleans()):
        pop["female_fraction"] = draw(st.floats(0, 1))
    data["population"] = pop
    return data


@pytest.mark.parametrize("budget", BUDGETS)
def test_cohort_population_blocks(run, workdir, budget):
    @budget_settings("cohort", budget)
    @given(data=mutated(cohort_scenario(), 2),
           n=sometimes_bad(["1", "2", "3"], ["0", "-1", "abc", "1.5", ""]),
           options=st.lists(st.sampled_from([
               ("--threads", "1"), ("--threads", "0"), ("--threads", "-2"),
               ("--threads", "1000"), ("--threads", "x"), ("--rtol", "1e-4"),
               ("--rtol", "1e-320"), ("--rtol", "nan"), ("--rtol", "2"),
               ("--trajectory-step", "0.5"), ("--trajectory-step", "0"),
               ("--trajectory-step", "-1"), ("--trajectory-step", "nan"),
               ("--trajectory-step", "1e-12"), ("--trajectory-every", "0"),
               ("--chunk-size", "0"), ("--chunk-size", "1"), ("--seed", "-1"),
               ("--seed", "7")]), max_size=2, unique_by=lambda o: o[0]))
    def prop(data, n, options):
        d = workdir()
        path = d / "scenario.yaml"
        text = write_yaml(path, data)
        out = d / "store"
        argv = ["cohort", path, "--n", n, "--out", out, "--solver", "switching",
                *itertools.chain.from_iterable(options)]
        code, stdout, err = run(*argv)
        broke = verdict(code, stdout, err, [out], lambda _out: None if (
            out / "manifest.json").exists() else "exit 0 without a manifest")
        record("cohort", argv, {"scenario.yaml": text}, code, err, broke)

    prop()


# ----------------------------------------------------------------------------- the counts
def test_budgets_add_up():
    """The module docstring's table and totals are the budgets that run."""
    doc = __doc__
    for name, (fast, slow) in CASES.items():
        assert re.search(rf"\s{fast}\s+{slow}\n", doc), name
    fast = sum(f for f, _ in CASES.values())
    slow = sum(s for _, s in CASES.values())
    assert f"That is {fast} generated cases by default and {slow} in the slow run." in doc


# ----------------------------------------------------------------------------- known breaks
# Minimal reproducers of breaks the fuzzing found in the CLI and the store (once listed in
# ``KNOWN``, since fixed): kept as plain tests.
@pytest.mark.parametrize("argv", [
    ["simulate", "--model", "lemaire2004", "--days", "nan"],
    ["export-sbml", "--model", "nope"],
])
def test_known_a_rejected_command_leaves_no_output_file(cli, tmp_path, argv):
    out = tmp_path / "out"
    code, _, err = cli(*argv, "-o", out)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_known_cohort_threads_beyond_numba_are_refused_before_the_run(cli, tmp_path):
    scn = tmp_path / "s.yaml"
    scn.write_text("species: mouse\nduration_days: 2\n")
    code, _, err = cli("cohort", scn, "--n", "2", "--out", tmp_path / "c", "--threads", "1000")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "c").exists()


def test_known_cohort_tiny_trajectory_step_is_refused(cli, tmp_path):
    scn = tmp_path / "s.yaml"
    scn.write_text("species: mouse\nduration_days: 5\n")
    code, _, err = cli("cohort", scn, "--n", "2", "--out", tmp_path / "c",
                       "--trajectory-step", "1e-12")
    assert code == 2 and len(err.strip().splitlines()) == 1, err


def test_known_a_study_that_fails_while_running_leaves_no_report(cli, tmp_path):
    study = tmp_path / "s.yaml"
    study.write_text("name: s\nduration_days: 7\nn_per_arm: 2\nseed: 1\n"
                     "parameters: {tau_M: 0}\narms: [{name: a}, {name: b}]\n")
    code, _, err = cli("run", study, "--out", tmp_path / "report")
    assert code == 2 and "the rate of state 'M_ax' is nan" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "report").exists(), err



_BAD_CONTAINERS = {id(v) for v in BAD_NUMBERS + BAD_NAMES if isinstance(v, (list, dict))}


@settings(max_examples=300, deadline=None, database=None)
@given(data=mutated(study(), 3))
def test_mutated_documents_share_nothing_with_the_bad_value_constants(data):
    """A drawn document is mutated in place, so a bad list or mapping put into it must be
    a copy: otherwise a later mutation changes the module's constants under later examples
    (a list that contains itself, and generation that depends on state)."""
    shared = [path for path, v in _paths(data) if id(v) in _BAD_CONTAINERS]
    assert not shared, shared
