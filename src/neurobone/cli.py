"""Command-line interface: a thin layer over the library.

Every command parses its arguments, calls one library function and prints or writes
the result. Bad input raises :class:`~neurobone.errors.NeuroboneError`; :func:`main`
turns it (and Click's usage errors) into one line on stderr and exit code 2. Ctrl-C
(SIGINT) ends a command with ``neurobone: interrupted`` and exit code 130, SIGTERM with
the same line and 143. Output files are checked before the work (nothing is created)
and written atomically at its end (:mod:`neurobone.files`): a command that fails or is
interrupted leaves the previous file or none. The guarantees: docs/reliability.md.
"""

from __future__ import annotations

import math
import signal
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from neurobone.errors import InputError, NeuroboneError
from neurobone.files import check_output_file, write_output
from neurobone.yamlfile import one_line

try:  # Typer >= 0.16 vendors Click
    from typer._click import exceptions as cx
except ImportError:  # pragma: no cover - older Typer uses Click itself
    from click import exceptions as cx

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="neurobone: exercise -> brain -> bone models, in-silico studies and virtual cohorts.",
)
console = Console()


def _progress_bar():
    """A transient progress bar on stderr, shown only when stderr is a terminal: rich
    writes a blank line to a non-terminal stream, which would make a one-line error two
    lines (docs/reliability.md)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    err = Console(stderr=True)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=True,
                    disable=not err.is_terminal)


def _days(value: str) -> float:
    from neurobone.scenario.schema import MAX_DAYS

    try:
        d = float(value)
    except ValueError:
        raise InputError(f"--days must be a positive number of days, got {value!r}") from None
    if not math.isfinite(d) or d <= 0:
        raise InputError(f"--days must be a positive number of days, got {value!r}")
    if d > MAX_DAYS:
        raise InputError(f"--days must be at most {MAX_DAYS:g} (60 years), got {value!r}")
    return d


def check_writable(path: Path) -> Path:
    """Fail early, with one line, when ``path`` cannot be written; creates nothing
    (:func:`neurobone.files.check_output_file`)."""
    return check_output_file(path)


@app.command("models")
def models_cmd() -> None:
    """List the models with a one-line description and citation."""
    from neurobone.model.registry import available, get_model

    table = Table("model", "description", "citation", show_lines=False)
    for name in available():
        m = get_model(name)
        table.add_row(name, m.description, m.citation)
    console.print(table)


@app.command("warm-up")
def warm_up_cmd(
    model: Optional[List[str]] = typer.Option(
        None, "--model", "-m", help="model to prepare (repeatable; default: every model)"),
) -> None:
    """Compile the kernels now (cached on disk: later runs load them in under a second)."""
    import time

    from neurobone.engine.solvers import warm_up_models
    from neurobone.model.registry import available, get_model

    names = model or available()
    for name in names:
        get_model(name)  # unknown names: one line, before any process starts
    t0 = time.perf_counter()
    for name, solver, took in warm_up_models(names):
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in took.items())
        console.print(f"{name} ({solver}): {parts}", highlight=False)
    console.print(f"kernels ready in {time.perf_counter() - t0:.1f} s "
                  f"(cache: {config_dir()})", highlight=False)


def config_dir() -> str:
    from neurobone import config

    return str(config.settings().cache_dir)


@app.command("simulate")
def simulate_cmd(
    scenario: Optional[Path] = typer.Argument(
        None, help="scenario YAML file (docs/scenarios.md); without it, --model and --days"
    ),
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="model name (see `neurobone models`)"),
    days: Optional[str] = typer.Option(None, "--days", "-d",
                                       help="simulated days (positive number)"),
    set_: Optional[List[str]] = typer.Option(
        None, "--set", "-s",
        help="parameter override NAME=VALUE, or NAME=VALUE@START:END for days START to END",
    ),
    species: Optional[str] = typer.Option(None, "--species", help="species preset (mouse, human)"),
    solver: str = typer.Option("switching", "--solver",
                               help="bdf, rodas4, dopri5, switching or lanes"),
    rtol: float = typer.Option(1e-8, "--rtol", help="relative tolerance of the solver"),
    out: Optional[Path] = typer.Option(None, "-o", "--out",
                                       help="CSV file to write (default: stdout)"),
    uncertainty: Optional[int] = typer.Option(
        None, "--uncertainty",
        help="scenario only: run N draws of the calibrated parameters and write their "
             "bands (day, output, low, median, high, calibrated) instead"),
    level: float = typer.Option(0.95, "--level", help="with --uncertainty: the band's level"),
    seed: int = typer.Option(0, "--seed", help="with --uncertainty: which draws are run"),
    plot: Optional[Path] = typer.Option(None, "--plot",
                                        help="with --uncertainty: figure file (.png, .svg, ...)"),
) -> None:
    """Simulate a scenario file, or a model for N days; write one row per day as CSV.
    With --uncertainty N, the scenario's credible bands over the calibration's
    parameter uncertainty (docs/uncertainty.md)."""
    from neurobone.engine.solvers import solver_named
    from neurobone.model.timed import parse_set

    chosen = solver_named(solver, rtol=rtol)
    overrides = [parse_set(s) for s in (set_ or [])]
    if out is not None:
        check_writable(out)
    if uncertainty is None and plot is not None:
        raise InputError("--plot applies with --uncertainty only")
    if uncertainty is not None:
        if scenario is None:
            raise InputError("--uncertainty needs a scenario file (the calibrated brain-bone "
                             "model's parameters are drawn)")
        if overrides:
            raise InputError("--uncertainty and --set: set parameters under the scenario's "
                             "parameters: instead")
        fmt = None
        if plot is not None:
            check_output_file(plot, "figure file")
            fmt = _figure_format(plot)
        from neurobone.fit.uncertainty import scenario_bands

        res = scenario_bands(scenario, draws=uncertainty, level=level, seed=seed)
        err = Console(stderr=True)
        for text in res.notes:
            err.print(f"note: {text}", highlight=False, markup=False, soft_wrap=True)
        err.print(res.caption, highlight=False, markup=False, soft_wrap=True)
        _write_csv(res.bands, out)
        if plot is not None:
            import matplotlib

            matplotlib.use("Agg")
            fig = res.plot()
            write_output(plot, lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight",
                                                       format=fmt), "figure file")
        return
    if scenario is not None:
        if model is not None or days is not None or species is not None:
            raise InputError("give either a scenario file or --model/--days/--species, not both")
        from neurobone.scenario.compile import compile_scenario
        from neurobone.scenario.run import as_scenario

        plan = compile_scenario(as_scenario(scenario))
        for o in overrides:
            plan.cm.model.parameter(o.name)
        res = plan.with_overrides(overrides).run(chosen, outputs=plan.outputs)
        _write_csv(res.wide(0), out)
        return
    from neurobone.engine.simulate import simulate
    from neurobone.model.registry import get_model

    m = get_model(model or "lemaire2004")
    res = simulate(m, _days(days or "100"), schedule=overrides, species=species,
                   solver=chosen, on_failure="raise")
    _write_csv(res.wide(0), out)


@app.command("decompose")
def decompose_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file with exercise"),
    outputs: Optional[List[str]] = typer.Option(None, "--output",
                                                help="outputs to decompose "
                                                     "(default: the scenario's)"),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="CSV file to write"),
) -> None:
    """Split the scenario's exercise effect into neural and mechanical path shares."""
    from neurobone.scenario.run import decompose

    if out is not None:
        check_writable(out)
    df = decompose(scenario, outputs or None)
    if not df.effect.abs().gt(0).any():
        raise InputError(f"{scenario}: the scenario has no exercise "
                         "effect to decompose (add exercise blocks)")
    table = Table("output", "no exercise", "exercise", "effect", "neural", "mechanical",
                  "interaction")
    for r in df.itertuples():
        table.add_row(r.output, f"{r.no_exercise:.4g}", f"{r.full:.4g}", f"{r.effect:+.3g}",
                      f"{100 * r.neural_share:.0f} %", f"{100 * r.mechanical_share:.0f} %",
                      f"{100 * r.interaction_share:.0f} %")
    console.print(table)
    if out is not None:
        write_output(out, lambda tmp: df.to_csv(tmp, index=False))


@app.command("attribute")
def attribute_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file with drugs and exercise"),
    outputs: Optional[List[str]] = typer.Option(None, "--output",
                                                help="outputs to attribute "
                                                     "(default: the scenario's)"),
    day: Optional[float] = typer.Option(None, "--day", help="day to attribute "
                                                            "(default: the last)"),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="CSV file to write"),
) -> None:
    """Split a drug-and-exercise scenario's effect into drug, neural and mechanical parts
    and their interaction (six runs with pathways switched off; docs/drugs.md)."""
    from neurobone.scenario.run import attribute, attribution_sentences

    if out is not None:
        check_writable(out)
    df = attribute(scenario, outputs or None, day)
    table = Table("output", "untreated", "combination", "effect", "drug", "neural",
                  "mechanical", "interaction", "vs additive")
    for r in df.itertuples():
        table.add_row(r.output, f"{r.untreated:.4g}", f"{r.full:.4g}", f"{r.effect:+.3g}",
                      f"{100 * r.drug_share:.0f} %", f"{100 * r.neural_share:.0f} %",
                      f"{100 * r.mechanical_share:.0f} %",
                      f"{100 * r.interaction_share:.0f} %", r.combination)
    wide = console if console.is_terminal else Console(width=140)
    wide.print(table)
    for sentence in attribution_sentences(df):
        print(sentence)
    if out is not None:
        write_output(out, lambda tmp: df.to_csv(tmp, index=False))


def _names(option: str, text: str | None) -> list[str] | None:
    """Comma-separated names (None when the option is not given)."""
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise InputError(f"{option}: give names separated by commas")
    return names


def _bounds(items: list[str] | None) -> dict[str, tuple[float, float]]:
    """``NAME=LOW:HIGH`` items as ``{name: (low, high)}``."""
    out = {}
    for item in items or []:
        name, eq, rng = item.partition("=")
        low, colon, high = rng.partition(":")
        try:
            if not (eq and colon and name.strip()):
                raise ValueError
            out[name.strip()] = (float(low), float(high))
        except ValueError:
            raise InputError(f"--bounds {item!r}: give NAME=LOW:HIGH, "
                             "e.g. k_tb=0.01:0.04") from None
    return out


def _figure_format(path: Path) -> str:
    """The matplotlib format of a figure file, from its suffix (checked before the work)."""
    from matplotlib.figure import Figure

    kinds = Figure().canvas.get_supported_filetypes()
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in kinds:
        raise InputError(f"--plot {str(path)!r}: unknown figure format {fmt or '(none)'!r}; "
                         f"valid suffixes: {', '.join(sorted(kinds))}")
    return fmt


@app.command("sensitivity")
def sensitivity_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file (docs/scenarios.md)"),
    params: str = typer.Option(..., "--params", "-p",
                               help="comma-separated model parameters to vary"),
    outputs: Optional[str] = typer.Option(None, "--outputs",
                                          help="comma-separated outputs (default: the "
                                               "scenario's)"),
    day: Optional[float] = typer.Option(None, "--day",
                                        help="day whose output values are analysed "
                                             "(default: the scenario's last)"),
    method: str = typer.Option("sobol", "--method", help="sobol or morris"),
    n: int = typer.Option(256, "--n",
                          help="base samples (sobol: a power of two) or trajectories (morris)"),
    spread: float = typer.Option(2.0, "--spread",
                                 help="each parameter varies log-uniformly from value/S "
                                      "to value*S"),
    bounds: Optional[List[str]] = typer.Option(
        None, "--bounds", help="NAME=LOW:HIGH: that parameter's range instead (repeatable)"),
    seed: int = typer.Option(0, "--seed", help="random seed (the same seed, the same table)"),
    json_: bool = typer.Option(False, "--json", help="print one JSON object instead of a table"),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="CSV file of the indices"),
    plot: Optional[Path] = typer.Option(None, "--plot",
                                        help="figure file (.png, .pdf, .svg, ...)"),
) -> None:
    """Global sensitivity (SALib: Sobol' or Morris) of a scenario's outputs to its model's
    parameters (docs/sensitivity.md)."""
    import json

    from neurobone.fit.sensitivity import sensitivity

    names = _names("--params", params)
    wanted = _names("--outputs", outputs)
    ranges = _bounds(bounds)
    if out is not None:
        check_writable(out)
    fmt = None
    if plot is not None:
        check_output_file(plot, "figure file")
        fmt = _figure_format(plot)
    with _progress_bar() as bar:
        task = bar.add_task("sensitivity", total=None)

        def progress(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total, description=f"sensitivity: {stage}")

        res = sensitivity(scenario, names, outputs=wanted, days=day, method=method, n=n,
                          spread=spread, bounds=ranges or None, seed=seed, progress=progress)
    df = res.table()
    err = Console(stderr=True)
    for text in res.notes:
        err.print(f"note: {text}", highlight=False, markup=False)
    if json_:
        typer.echo(json.dumps(res.to_json()))
    else:
        s = res.seconds
        wide = console if console.is_terminal else Console(width=140)
        wide.print(f"{res.method}, n={res.n}, seed={res.seed}: {res.evaluations} "
                      f"evaluations in {s['total']:.1f} s (references "
                      f"{s.get('references', 0):.1f} s, scenario "
                      f"{s.get('integration', 0):.1f} s)", highlight=False)
        span = {r.name: f"{r.low:.3g}-{r.high:.3g}" for r in res.ranges}
        cols = [c for c in df.columns if c not in ("output", "day", "parameter")]
        table = Table("output", "day", "parameter", "range", *cols)
        for r in df.itertuples(index=False):
            row = r._asdict()
            table.add_row(row["output"], f"{row['day']:g}", row["parameter"],
                          span[row["parameter"]], *(f"{row[c]:.3g}" for c in cols))
        wide.print(table)
    if out is not None:
        write_output(out, lambda tmp: df.to_csv(tmp, index=False))
        if not json_:
            console.print(f"wrote {len(df)} rows to {out}", highlight=False)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        fig = res.plot()
        write_output(plot, lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight",
                                                   format=fmt), "figure file")
        if not json_:
            console.print(f"wrote {plot}", highlight=False)


@app.command("prescribe")
def prescribe_cmd(
    age: float = typer.Option(..., "--age", help="age in years (20-100)"),
    sex: str = typer.Option("female", "--sex", help="female or male"),
    t_score_spine: Optional[float] = typer.Option(None, "--t-score-spine",
                                                  help="lumbar spine T-score"),
    t_score: Optional[float] = typer.Option(None, "--t-score-fn", "--t-score",
                                            help="femoral neck T-score"),
    menopause_age: Optional[float] = typer.Option(None, "--menopause-age",
                                                  help="women: age at the final menstrual "
                                                       "period (default 51)"),
    max_minutes: float = typer.Option(150.0, "--max-minutes-week",
                                      help="the most exercise minutes a week"),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude",
                                                help="a modality not to use (repeatable)"),
    drug: Optional[str] = typer.Option(None, "--drug",
                                       help="a drug at its labelled dosing with the plan "
                                            "(docs/drugs.md), or any"),
    trial_plan: str = typer.Option("guideline", "--trial-plan",
                                   help="the plan of the trial period the measurements "
                                        "below come from: none, guideline, liftmor"),
    trial_days: float = typer.Option(182.0, "--trial-days",
                                     help="length of the trial period (days)"),
    dxa_spine: Optional[float] = typer.Option(None, "--dxa-spine",
                                              help="spine aBMD change over the trial, %"),
    dxa_fn: Optional[float] = typer.Option(None, "--dxa-fn",
                                           help="femoral-neck aBMD change over the trial, %"),
    ctx: Optional[float] = typer.Option(None, "--ctx", help="serum CTX change, %"),
    p1np: Optional[float] = typer.Option(None, "--p1np", help="serum P1NP change, %"),
    msna: Optional[float] = typer.Option(None, "--msna",
                                         help="muscle sympathetic nerve activity change, %"),
    prior_draws: int = typer.Option(400, "--prior-draws",
                                    help="prior copies weighed by the measurements"),
    goal: str = typer.Option("abmd", "--goal", help="abmd (percent change at the sites) or "
                                                    "fracture (10-year MOF probability)"),
    sites: str = typer.Option("spine,femoral_neck", "--sites",
                              help="comma-separated: spine, femoral_neck, total_hip"),
    horizon: float = typer.Option(2.0, "--horizon-years", help="the plan's length in years"),
    draws: int = typer.Option(12, "--draws", help="copies of the person in the search"),
    final_draws: int = typer.Option(48, "--final-draws",
                                    help="copies of the person for the reported bands"),
    seed: int = typer.Option(0, "--seed", help="random seed (same seed, same prescription)"),
    json_: bool = typer.Option(False, "--json", help="print one JSON object instead of text"),
    plot: Optional[Path] = typer.Option(None, "--plot",
                                        help="figure file (.png, .pdf, .svg, ...)"),
) -> None:
    """The best weekly exercise plan for one person, within safety rules, across their
    uncertainty (docs/prescribe.md). A research model, not medical advice."""
    import json

    from neurobone.prescription.person import Person
    from neurobone.prescription.personal import Trial
    from neurobone.prescription.search import DISCLAIMER, prescribe

    person = Person(age, sex, t_score_spine=t_score_spine, t_score=t_score,
                    menopause_age=menopause_age)
    trial = Trial.named(trial_plan, trial_days, dxa_spine=dxa_spine, dxa_femoral_neck=dxa_fn,
                        ctx=ctx, p1np=p1np, msna=msna)
    fmt = None
    if plot is not None:
        check_output_file(plot, "figure file")
        fmt = _figure_format(plot)
    with _progress_bar() as bar:
        task = bar.add_task("prescribe", total=None)

        def progress(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total, description=f"prescribe: {stage}")

        res = prescribe(person, goal=goal, sites=_names("--sites", sites),
                        horizon_years=horizon, max_minutes_week=max_minutes,
                        exclude=tuple(exclude or ()), drug=drug, trial=trial,
                        prior_draws=prior_draws, draws=draws, final_draws=final_draws,
                        seed=seed, progress=progress)
    err = Console(stderr=True)
    for text in res.notes:
        err.print(f"note: {text}", highlight=False, markup=False)
    if json_:
        typer.echo(json.dumps(res.to_json()))
    else:
        wide = console if console.is_terminal else Console(width=140)
        wide.print(repr(res), highlight=False, markup=False)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        fig = res.plot()
        write_output(plot, lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight",
                                                   format=fmt), "figure file")
        if not json_:
            console.print(f"wrote {plot}", highlight=False)
    if json_:
        err.print(DISCLAIMER, highlight=False, markup=False)


@app.command("serve")
def serve_cmd(
    port: int = typer.Option(8765, "--port", help="TCP port (1024-65535)"),
    host: str = typer.Option("127.0.0.1", "--host",
                             help="address to listen on (default: this machine only)"),
) -> None:
    """A local web app: the prescription form and the article's study (docs/web.md).
    Stop it with Ctrl-C."""
    from neurobone.web.app import serve

    if not 1024 <= port <= 65535:
        raise InputError(f"--port must be from 1024 to 65535, got {port}")
    # announced only once the address can be bound (a bad --host prints only its error)
    serve(host=host, port=port, announce=lambda url: console.print(
        f"neurobone at {url} (Ctrl-C stops it)", highlight=False))


FIT_METHODS = ("lsq", "bayes", "mixed")


def _study_of(text: str):
    """A study from a YAML file, else a built-in study's name."""
    from neurobone.study.design import load_study, packaged_studies, packaged_study

    if text.endswith((".yaml", ".yml")) or Path(text).exists():
        return load_study(Path(text))
    if text not in packaged_studies():
        raise InputError(f"--design {text!r}: no such study file or built-in study; built-in: "
                         f"{', '.join(packaged_studies())}")
    return packaged_study(text)


@app.command("fit")
def fit_cmd(
    data: Path = typer.Argument(..., help="data: CSV or Parquet, columns day, output, value "
                                          "[, sd] (docs/fitting.md); or a PEtab problem "
                                          ".yaml that neurobone exported"),
    scenario: Optional[Path] = typer.Option(None, "--scenario",
                                            help="scenario YAML file (not with a PEtab problem)"),
    design: Optional[str] = typer.Option(
        None, "--design", help="a study YAML file or a built-in study's name: the data's "
                               "'arm' column names its arms, each fitted as its scenario "
                               "(instead of --scenario)"),
    params: Optional[str] = typer.Option(None, "--params", "-p",
                                         help="comma-separated model parameters to fit (not "
                                              "with a PEtab problem)"),
    method: str = typer.Option("lsq", "--method",
                               help="lsq (least squares, profile intervals), bayes "
                                    "(posterior samples, credible intervals) or mixed "
                                    "(hierarchical: typical values and between-subject "
                                    "spread from a 'subject' column, SAEM)"),
    bounds: Optional[List[str]] = typer.Option(
        None, "--bounds", help="NAME=LOW:HIGH: that parameter's bounds (repeatable)"),
    spread: Optional[float] = typer.Option(None, "--spread",
                                           help="default bounds: value/S to value*S (default 10)"),
    starts: Optional[int] = typer.Option(None, "--starts",
                                         help="lsq: random starts besides the scenario's "
                                              "values (default 4)"),
    walkers: Optional[int] = typer.Option(None, "--walkers",
                                          help="bayes: walkers of the ensemble (default "
                                               "max(8, 4 x parameters))"),
    steps: Optional[int] = typer.Option(None, "--steps",
                                        help="bayes: steps kept per walker (default 300)"),
    burn: Optional[int] = typer.Option(None, "--burn",
                                       help="bayes: burn-in steps discarded first (default "
                                            "steps/2)"),
    explore: Optional[int] = typer.Option(None, "--explore",
                                          help="mixed: SAEM exploration iterations "
                                               "(default 250)"),
    converge: Optional[int] = typer.Option(None, "--converge",
                                           help="mixed: SAEM convergence iterations "
                                                "(default 150)"),
    seed: int = typer.Option(0, "--seed", help="random seed (starts; bayes: the samples)"),
    cv: Optional[float] = typer.Option(None, "--cv",
                                       help="relative error where the data have no sd "
                                            "(default 0.05)"),
    json_: bool = typer.Option(False, "--json", help="print one JSON object instead of a table"),
    out: Optional[Path] = typer.Option(None, "-o", "--out",
                                       help="lsq: CSV file of the estimates; mixed: that and "
                                            "NAME-subjects.csv (each subject's); bayes: "
                                            "report folder (summary, samples, figures, JSON, "
                                            "README)"),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="bayes: write the report into a non-empty folder that "
                                        "holds no neurobone report"),
    plot: Optional[Path] = typer.Option(None, "--plot",
                                        help="figure file (.png, .pdf, .svg, ...)"),
) -> None:
    """Fit a scenario's parameters to data: least squares with profile-likelihood 95 %
    intervals (--method lsq), or posterior samples with 95 % credible intervals (--method
    bayes) (docs/fitting.md). DATA may be a PEtab problem (.yaml) neurobone exported
    (least squares)."""
    import json


    if method not in FIT_METHODS:
        raise InputError(f"--method {method!r} is unknown; valid: {', '.join(FIT_METHODS)}")
    owner = {"--starts": "lsq", "--walkers": "bayes", "--steps": "bayes", "--burn": "bayes",
             "--overwrite": "bayes", "--explore": "mixed", "--converge": "mixed"}
    given = {"--starts": starts, "--walkers": walkers, "--steps": steps, "--burn": burn,
             "--overwrite": overwrite or None, "--explore": explore, "--converge": converge}
    wrong = [k for k, v in given.items() if v is not None and owner[k] != method]
    if wrong:
        raise InputError(f"{wrong[0]} applies to --method {owner[wrong[0]]} only, not "
                         f"{method}")
    petab_problem = data.suffix.lower() in (".yaml", ".yml")
    if petab_problem:
        given_ = [o for o, v in (("--scenario", scenario), ("--design", design),
                                 ("--params", params),
                                 ("--bounds", bounds), ("--spread", spread), ("--cv", cv))
                  if v is not None and v != []]
        if given_:
            raise InputError(f"{given_[0]}: a PEtab problem ({data}) names its scenario, "
                             "parameters, bounds and SDs itself; leave out --scenario, "
                             "--params, --bounds, --spread and --cv")
        if method != "lsq":
            raise InputError(f"--method {method}: a PEtab problem is fitted by least "
                             "squares (--method lsq)")
    else:
        if scenario is not None and design is not None:
            raise InputError("--scenario and --design: give one (a scenario for one group, "
                             "a study design for data with an 'arm' column)")
        if (scenario is None and design is None) or params is None:
            missing = ("--scenario (or --design)" if scenario is None and design is None
                       else "--params")
            raise InputError(f"{missing} is required with a data file (or give a PEtab "
                             "problem .yaml that `neurobone export-petab` wrote)")
        names = _names("--params", params)
        ranges = _bounds(bounds)
        if design is not None:
            scenario = _study_of(design)
    spread = 10.0 if spread is None else spread
    cv = 0.05 if cv is None else cv
    if out is not None:
        if method == "bayes":
            from neurobone.report import prepare_folder

            prepare_folder(out, overwrite)
        else:
            check_writable(out)
    fmt = None
    if plot is not None:
        check_output_file(plot, "figure file")
        fmt = _figure_format(plot)
    with _progress_bar() as bar:
        task = bar.add_task("fit", total=None)

        def progress(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total, description=f"fit: {stage}")

        if petab_problem:
            from neurobone.io.petab import fit_problem

            res = fit_problem(data, n_starts=4 if starts is None else starts, seed=seed,
                              progress=progress)
        elif method == "bayes":
            from neurobone.fit.bayes import fit

            res = fit(data, scenario, names, bounds=ranges or None, spread=spread,
                      walkers=walkers, steps=300 if steps is None else steps, burn=burn,
                      seed=seed, cv=cv, progress=progress)
        elif method == "mixed":
            from neurobone.fit.mixed import CONVERGE, EXPLORE, fit

            res = fit(data, scenario, names, bounds=ranges or None, spread=spread,
                      explore=EXPLORE if explore is None else explore,
                      converge=CONVERGE if converge is None else converge, seed=seed, cv=cv,
                      progress=progress)
        else:
            from neurobone.fit.lsq import fit

            res = fit(data, scenario, names, bounds=ranges or None, spread=spread,
                      n_starts=4 if starts is None else starts, seed=seed, cv=cv,
                      progress=progress)
    df = res.table()
    err = Console(stderr=True)
    for text in res.notes:
        err.print(f"note: {text}", highlight=False, markup=False)
    wide = console if console.is_terminal else Console(width=140)
    if json_:
        typer.echo(json.dumps(res.to_json()))
    elif method == "bayes":
        d = res.diagnostics
        wide.print(f"bayes: {d['n_data']} data, {len(df)} parameters, {d['walkers']} walkers x "
                   f"{d['steps']} steps (+{d['burn']} burn-in), acceptance "
                   f"{d['acceptance']:.2f}; {d['evaluations']} runs in {d['batched_calls']} "
                   f"batched calls, {res.seconds['total']:.1f} s", highlight=False)
        table = Table("parameter", "median", "low", "high", "identifiable", "R-hat", "ESS")
        for r in df.itertuples(index=False):
            table.add_row(r.parameter, f"{r.estimate:.4g}",
                          "open" if math.isnan(r.low) else f"{r.low:.4g}",
                          "open" if math.isnan(r.high) else f"{r.high:.4g}",
                          "yes" if r.identifiable else "no", f"{r.rhat:.3f}",
                          f"{r.ess_bulk:.0f}")
        wide.print(table)
    elif method == "mixed":
        d = res.diagnostics
        wide.print(f"mixed (SAEM): {d['n_subjects']} subjects, {d['n_data']} data, "
                   f"{len(df)} parameters, {d['iterations']} iterations; "
                   f"{d['evaluations']} runs in {d['batched_calls']} batched calls, "
                   f"{res.seconds['total']:.1f} s", highlight=False)
        table = Table("parameter", "typical", "low", "high", "omega", "CV %", "identifiable")
        for r in df.itertuples(index=False):
            table.add_row(r.parameter, f"{r.estimate:.4g}",
                          "open" if math.isnan(r.low) else f"{r.low:.4g}",
                          "open" if math.isnan(r.high) else f"{r.high:.4g}",
                          f"{r.omega:.3g}", f"{r.cv_pct:.0f}",
                          "yes" if r.identifiable else "no")
        wide.print(table)
    else:
        d = res.diagnostics
        wide.print(f"lsq: {d['n_data']} data, {len(df)} parameters, objective "
                   f"{res.objective:.4g} (reduced chi2 {d['reduced_chi2'] or float('nan'):.3g}), "
                   f"Jacobian rank {d['rank']}; {d['evaluations']} runs in "
                   f"{res.seconds['total']:.1f} s", highlight=False)
        table = Table("parameter", "estimate", "low", "high", "identifiable")
        for r in df.itertuples(index=False):
            table.add_row(r.parameter, f"{r.estimate:.4g}",
                          "open" if math.isnan(r.low) else f"{r.low:.4g}",
                          "open" if math.isnan(r.high) else f"{r.high:.4g}",
                          "yes" if r.identifiable else "no")
        wide.print(table)
        for direction in d["unidentifiable_directions"]:
            combo = " ".join(f"{c:+.3g}*log({p})" for p, c in direction.items())
            wide.print(f"no information along {combo}", highlight=False)
    if out is not None:
        if method == "bayes":
            from neurobone.report.posterior import write_posterior

            readme = write_posterior(res, out, overwrite=overwrite)
            if not json_:
                console.print(f"report: {readme}", highlight=False)
        else:
            write_output(out, lambda tmp: df.to_csv(tmp, index=False))
            if not json_:
                console.print(f"wrote {len(df)} rows to {out}", highlight=False)
            if method == "mixed":
                each = out.with_name(f"{out.stem}-subjects{out.suffix or '.csv'}")
                write_output(each, lambda tmp: res.individual.to_csv(tmp, index=False))
                if not json_:
                    console.print(f"wrote {len(res.individual)} subjects' estimates to "
                                  f"{each}", highlight=False)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        fig = res.plot()
        write_output(plot, lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight",
                                                   format=fmt), "figure file")
        if not json_:
            console.print(f"wrote {plot}", highlight=False)


@app.command("steady-state")
def steady_state_cmd(
    model: str = typer.Option("lemaire2004", "--model", "-m", help="model name"),
    set_: Optional[List[str]] = typer.Option(None, "--set", "-s",
                                             help="parameter override NAME=VALUE"),
    species: Optional[str] = typer.Option(None, "--species", help="species preset (mouse, human)"),
) -> None:
    """Print the model's steady state (one line per state)."""
    from neurobone.engine.steady import steady_state
    from neurobone.model.registry import get_model
    from neurobone.model.timed import parse_set

    m = get_model(model)
    params = {}
    for s in set_ or []:
        o = parse_set(s)
        if "@" in s:
            raise InputError(f"--set {s!r}: a steady state has no time, so no window "
                             "@START:END; give NAME=VALUE")
        m.parameter(o.name)
        params[o.name] = o.value
    ss = steady_state(m, parameters=params, species=species)
    units = {s.name: s.unit for s in m.states}
    for k, v in ss.items():
        typer.echo(f"{k}\t{v:.6e}\t{units[k]}")


@app.command("export-petab")
def export_petab_cmd(
    data: Path = typer.Argument(..., help="data: CSV or Parquet, columns day, output, value "
                                          "[, sd] (docs/fitting.md)"),
    scenario: Path = typer.Option(..., "--scenario", help="scenario YAML file"),
    params: str = typer.Option(..., "--params", "-p",
                               help="comma-separated model parameters to estimate"),
    bounds: Optional[List[str]] = typer.Option(
        None, "--bounds", help="NAME=LOW:HIGH: that parameter's bounds (repeatable)"),
    spread: float = typer.Option(10.0, "--spread", help="default bounds: value/S to value*S"),
    cv: float = typer.Option(0.05, "--cv", help="relative error where the data have no sd"),
    out: Path = typer.Option(..., "-o", "--out", help="folder of the PEtab problem"),
) -> None:
    """Write the fit `neurobone fit DATA --scenario S --params a,b` would run as a PEtab v1
    problem folder (SBML model, tables, problem.yaml; docs/fitting.md)."""
    from neurobone.files import check_output_dir
    from neurobone.io.petab import export_problem

    names = _names("--params", params)
    check_output_dir(out, "PEtab folder")
    exp = export_problem(data, scenario, names, out, bounds=_bounds(bounds) or None,
                         spread=spread, cv=cv)
    console.print(f"wrote {exp.problem} (PEtab v1: {exp.n_data} measurements of "
                  f"{', '.join(exp.outputs)}; estimated {', '.join(r.name for r in exp.ranges)};"
                  " the petab linter passes)", highlight=False, soft_wrap=True)


@app.command("export-sbml")
def export_sbml_cmd(
    model: Optional[str] = typer.Option(None, "--model", "-m",
                                        help="model name "
                                             "(see `neurobone models`; default lemaire2004)"),
    scenario: Optional[Path] = typer.Option(
        None, "--scenario", help="scenario YAML: its subject, parameters and schedule (as events)"),
    set_: Optional[List[str]] = typer.Option(
        None, "--set", "-s",
        help="parameter NAME=VALUE, or NAME=VALUE@START:END for days START to END (an SBML event)",
    ),
    species: Optional[str] = typer.Option(None, "--species", help="species preset (mouse, human)"),
    outputs: Optional[str] = typer.Option(
        None, "--outputs",
        help="comma-separated outputs to keep as assignment rules, or 'all' (default: the "
             "scenario's outputs with --scenario, else all); what the rate rules need is "
             "always kept"),
    out: Path = typer.Option(..., "-o", "--out", help="SBML file to write"),
) -> None:
    """Write a model (or a scenario) as SBML Level 3; schedules become events."""
    from neurobone.io.sbml import write_sbml
    from neurobone.model.registry import get_model
    from neurobone.model.timed import parse_set

    overrides = [parse_set(s) for s in (set_ or [])]
    keep = None if outputs in (None, "all") else [o.strip() for o in outputs.split(",")
                                                   if o.strip()]
    if keep == []:
        raise InputError("--outputs: give output names separated by commas, or 'all'")
    check_writable(out)
    if scenario is not None:
        from neurobone.scenario.compile import compile_scenario
        from neurobone.scenario.run import as_scenario

        plan = compile_scenario(as_scenario(scenario))
        if model is not None and model != plan.cm.model.name:
            raise InputError(f"--model {model!r} differs from the scenario's "
                             f"model {plan.cm.model.name!r}")
        if species is not None:
            raise InputError("--species comes from the scenario file; leave it out with --scenario")
        for o in overrides:
            plan.cm.model.parameter(o.name)
        if outputs is None:
            keep = plan.outputs
        write_output(out, lambda tmp: write_sbml(
            tmp, plan.cm,
            parameters=dict(zip(plan.cm.model.parameter_names, plan.parameters, strict=True)),
            overrides=plan.overrides + overrides, initial=plan.initial, outputs=keep),
            "SBML file")
        console.print(f"wrote {out} (SBML L3V2, scenario {scenario}, {len(plan.overrides)} timed "
                      "overrides as events)", highlight=False)
        return
    m = get_model(model or "lemaire2004")
    write_output(out, lambda tmp: write_sbml(tmp, m, overrides=overrides, species=species,
                                             outputs=keep), "SBML file")
    console.print(f"wrote {out} (SBML L3V2, model {m.name})", highlight=False)


@app.command("studies")
def studies_cmd() -> None:
    """List the built-in studies: name, question, species, arms, approximate run time."""
    from neurobone.study import list_studies

    t = Table(title="Built-in studies (run one with: neurobone run NAME)", title_justify="left")
    for col in ("name", "question", "species", "arms", "warm run"):
        t.add_column(col)
    for r in list_studies().itertuples():
        secs = f"~{r.run_seconds:.0f} s" if r.run_seconds == r.run_seconds else ""
        t.add_row(r.name, r.question, r.species, f"{r.arms} x {r.n_per_arm}", secs)
    (console if console.is_terminal else Console(width=160)).print(t)


@app.command("run")
def run_cmd(
    study: Optional[str] = typer.Argument(
        None, help="a built-in study's name (`neurobone studies`) or a study YAML file "
                   "(docs/studies.md); default: the article's mouse study"
    ),
    out: Path = typer.Option(Path("neurobone-report"), "--out", "-o",
                             help="report folder (default: ./neurobone-report; with several "
                                  "hypotheses one subfolder per hypothesis)"),
    n: Optional[int] = typer.Option(None, "--n",
                                    help="subjects per arm (default: the study's n_per_arm)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="random seed (default: the study's)"),
    hypothesis: Optional[str] = typer.Option(
        None, "--hypothesis", help="mechanism hypothesis: article, interoceptive, mechanical, a "
                                   "comma-separated list, or all (one result per hypothesis)"
    ),
    day: Optional[float] = typer.Option(
        None, "--day", help="the measurement day compared (default: the study's, else the last)"),
    overwrite: bool = typer.Option(
        False, "--overwrite",
        help="write into a non-empty folder that holds no neurobone report (its files are kept, "
             "those with the report's names replaced)"),
    uncertainty: Optional[int] = typer.Option(
        None, "--uncertainty",
        help="also run each arm's mean subject over N draws of the calibrated parameters: "
             "each comparison's difference over the model's parameter uncertainty, apart "
             "from the study's confidence intervals (docs/uncertainty.md)"),
) -> None:
    """Run an in-silico study: print mean ± SD per arm, the comparisons and the
    conclusions, write a report."""

    from neurobone.report import prepare_folder, write_report
    from neurobone.report.console import print_hypotheses, print_results
    from neurobone.study import as_study, hypothesis_names, run_hypotheses, run_study

    if uncertainty is not None and (isinstance(uncertainty, bool) or uncertainty < 2):
        raise InputError(f"--uncertainty must be a number of draws of at least 2, got "
                         f"{uncertainty}")
    hyps = hypothesis_names(hypothesis)
    spec = as_study(study).with_options(n_per_arm=n, seed=seed, day=day)
    many = len(hyps) > 1
    # every folder checked before the study runs (creates nothing)
    folders = [prepare_folder(out / h if many else out, overwrite) for h in hyps]
    with _progress_bar() as bar:
        task = bar.add_task(spec.name, total=None)

        def progress(done: int, total: int, stage: str) -> None:
            bar.update(task, completed=done, total=total, description=f"{spec.name}: {stage}")

        results = list(run_hypotheses(spec, hyps, progress=progress).values()) if many else [
            run_study(spec.with_options(hypothesis=hyps[0]), progress=progress)]
    wide = console if console.is_terminal else Console(width=140)
    for result, folder in zip(results, folders, strict=True):
        if many:
            wide.print(f"\n=== hypothesis {result.study.hypothesis} ===", highlight=False)
        print_results(result, wide)
        extra = None
        if uncertainty is not None:
            from neurobone.report.uncertainty import parameter_bands

            pb = parameter_bands(result, draws=uncertainty)
            _print_parameter_bands(pb, wide)
            extra = {"parameter_bands.csv": pb.arms,
                     "parameter_differences.csv": pb.differences,
                     "parameter_bands.png": pb.plot(result.primary)}
        index = write_report(result, folder, overwrite=overwrite, extra=extra)
        wide.print(f"report: {index}", highlight=False)
    if many:
        print_hypotheses(results, wide)


def _print_parameter_bands(pb, out: Console) -> None:
    table = Table(title=f"Over the calibration's parameter uncertainty ({pb.draws} draws; "
                        "mean subject of each arm)", title_justify="left",
                  caption=pb.caption)
    for col in ("comparison", "output", "day", "difference (calibrated)",
                f"{100 * pb.level:g} % band"):
        table.add_column(col)
    for r in pb.differences.itertuples():
        table.add_row(f"{r.arm} vs {r.reference}", r.output, f"{r.day:g}",
                      f"{r.calibrated:+.3g}", f"{r.low:+.3g} to {r.high:+.3g}")
    out.print(table)
    for note in pb.notes:
        out.print(f"note: {note}", style="yellow", highlight=False)


@app.command("trial")
def trial_cmd(
    name: Optional[str] = typer.Argument(None, help="built-in trial: freedom, neer2001, "
                                                    "frame, horizon_pft, khosla2018, "
                                                    "grey_zoledronate or fosit "
                                                    "(docs/trials.md); "
                                                    "none: list them"),
    out: Path = typer.Option(Path("neurobone-trial"), "--out", "-o",
                             help="report folder (default: ./neurobone-trial)"),
    n: Optional[int] = typer.Option(None, "--n", help="women per arm (default: the trial's, 30)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="random seed (default: the trial's)"),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="write into a non-empty folder that holds no report"),
) -> None:
    """Run a built-in placebo-controlled virtual trial: aBMD against placebo at each visit
    with 95 % CIs, CTX and P1NP, and the published values beside (with their sources and
    calibration or validation role); write a report. Without NAME: list the trials."""
    from neurobone.report import prepare_folder, write_trial_report
    from neurobone.study.trial import format_trial_list, load_trial, run_trial

    if name is None:
        print(format_trial_list())
        return
    load_trial(name)  # an unknown name or a bad --n fails before anything is created
    if n is not None and n < 2:
        raise InputError(f"--n: at least 2 women per arm (got {n})")
    folder = prepare_folder(out, overwrite)
    result = run_trial(name, n_per_arm=n, seed=seed)
    print(result)
    index = write_trial_report(result, folder, overwrite=overwrite)
    print(f"report: {index}")


@app.command("analyze")
def analyze_cmd(
    data: Path = typer.Argument(..., help="measurements in the study data format (CSV: arm, "
                                          "animal, day, output, measured), e.g. a report's "
                                          "animals.csv"),
    design: Path = typer.Option(..., "--design", help="the study YAML file of the design"),
    out: Path = typer.Option(Path("neurobone-analysis"), "--out", "-o",
                             help="report folder (default: ./neurobone-analysis)"),
    day: Optional[float] = typer.Option(
        None, "--day", help="the measured day compared (default: the design's, else the last)"),
    overwrite: bool = typer.Option(
        False, "--overwrite",
        help="write into a non-empty folder that holds no neurobone report"),
) -> None:
    """Analyse a lab's own measurements with a study design: the same statistics and
    report as `neurobone run`."""
    from neurobone.report import prepare_folder, write_report
    from neurobone.report.console import print_results
    from neurobone.study import load_study
    from neurobone.study.data import analyze_data

    spec = load_study(design)
    folder = prepare_folder(out, overwrite)
    result = analyze_data(data, spec, day=day)
    wide = console if console.is_terminal else Console(width=140)
    print_results(result, wide)
    index = write_report(result, folder, overwrite=overwrite)
    wide.print(f"report: {index}", highlight=False)


#: figure formats of ``neurobone power --plot``
PLOT_FORMATS = ("png", "svg", "pdf")


def parse_n_values(text: str, step: Optional[int] = None) -> list[int]:
    """``--n``: a range ``A..B`` (every ``step``-th n from A, B included when on the step;
    default step 1) or a list ``4,6,8``; every n at least 2."""
    text = text.strip()
    bad = (f"--n must be a range A..B (with --step) or a list such as 4,6,8 of whole numbers "
           f"of subjects per arm, got {text!r}")
    if ".." in text:
        lo, _, hi = text.partition("..")
        try:
            a, b = int(lo), int(hi)
        except ValueError:
            raise InputError(bad) from None
        if step is not None and step < 1:
            raise InputError(f"--step must be a positive whole number, got {step}")
        if b < a:
            raise InputError(f"--n {text}: the range ends before it starts")
        values = list(range(a, b + 1, step or 1))
    else:
        if step is not None:
            raise InputError("--step goes with a range --n A..B, not with a list")
        try:
            values = [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise InputError(bad) from None
        if not values:
            raise InputError(bad)
    if min(values) < 2:
        raise InputError(f"--n: every n must be at least 2 subjects per arm, got {min(values)}")
    if len(values) > 1000:
        raise InputError(f"--n {text}: {len(values)} values of n; give at most 1000")
    return sorted(set(values))


def parse_comparison(text: str, arms: list[str]) -> tuple[str, str]:
    """``--comparison ARM:REFERENCE``: split at the colon that leaves two of ``arms``
    (arm names may hold colons); an unknown arm is one line naming the arms."""
    cuts = [i for i, c in enumerate(text) if c == ":"]
    for i in cuts:
        a, r = text[:i].strip(), text[i + 1:].strip()
        if a in arms and r in arms:
            return a, r
    if not cuts:
        raise InputError(f"--comparison {text!r}: give ARM:REFERENCE; arms: {', '.join(arms)}")
    a, r = text[:cuts[0]].strip(), text[cuts[0] + 1:].strip()
    unknown = a if a not in arms else r
    raise InputError(f"--comparison {text!r}: unknown arm {unknown!r}; arms: {', '.join(arms)}")


@app.command("power")
def power_cmd(
    study: str = typer.Argument(..., help="a built-in study's name (`neurobone studies`) or a "
                                           "study YAML file (docs/studies.md)"),
    n: str = typer.Option(..., "--n",
                          help="subjects per arm: a range A..B (see --step) or a list 4,6,8"),
    hypothesis: Optional[str] = typer.Option(
        None, "--hypothesis", help="mechanism hypothesis: article, interoceptive, mechanical, a "
                                   "comma-separated list, or all (one table per hypothesis; "
                                   "default: the study's)"),
    step: Optional[int] = typer.Option(None, "--step", help="step of a range --n A..B "
                                                              "(default 1)"),
    comparison: Optional[List[str]] = typer.Option(
        None, "--comparison", "-c",
        help="ARM:REFERENCE to compare (repeatable; default: the study's comparisons)"),
    output: Optional[str] = typer.Option(None, "--output",
                                         help="output compared (default: the primary outcome)"),
    reps: int = typer.Option(200, "--reps", help="resampled studies per n (at least 10)"),
    alpha: float = typer.Option(0.05, "--alpha", help="significance level, in (0, 1)"),
    pool: Optional[int] = typer.Option(None, "--pool",
                                       help="subjects simulated per arm "
                                            "(default: 10 x the largest n, at least 200)"),
    seed: Optional[int] = typer.Option(None, "--seed", help="random seed (default: the study's)"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="CSV file of the power table"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="figure of power against n (PNG, "
                                                              "SVG or PDF)"),
) -> None:
    """Power of a study's comparisons by simulation, for each n: how many subjects per
    arm reach 80 % power."""
    import json

    import pandas as pd
    from rich.markup import escape

    from neurobone.study import find_study, hypothesis_names
    from neurobone.study.power import MIN_REPS, check_options, power

    spec = find_study(study)
    hyps = hypothesis_names(hypothesis)
    many = hypothesis is not None
    n_values = parse_n_values(n, step)
    pairs = [parse_comparison(c, spec.arm_names) for c in comparison] if comparison else None
    if reps < MIN_REPS:
        raise InputError(f"--reps must be at least {MIN_REPS} resampled studies, got {reps}")
    if not (0 < alpha < 1):
        raise InputError(f"--alpha must be between 0 and 1 (exclusive), got {alpha:g}")
    if pool is not None and pool < max(n_values):
        raise InputError(f"--pool must be at least the largest n ({max(n_values)}), got {pool}")
    if seed is not None:
        spec = spec.with_options(seed=seed)
    check_options(spec, n_values, comparisons=pairs, alpha=alpha, n_reps=reps, pool=pool,
                  output=output)  # the rest, before any work
    if out is not None:
        check_writable(out)
    plot_format = None
    if plot is not None:
        check_output_file(plot, "figure")
        plot_format = plot.suffix.lstrip(".").lower() or "png"
        if plot_format not in PLOT_FORMATS:
            raise InputError(f"--plot {str(plot)!r}: give a .png, .svg or .pdf file")
    results = {}
    with _progress_bar() as bar:
        for h in hyps:
            spec_h = spec.with_options(hypothesis=h) if h else spec
            label = f"{spec.name} ({spec_h.hypothesis})" if many else spec.name
            task = bar.add_task(label, total=None)

            def progress(done: int, total: int, stage: str, task=task, label=label) -> None:
                bar.update(task, completed=done, total=total, description=f"{label}: {stage}")

            results[spec_h.hypothesis] = power(spec_h, n_values, comparisons=pairs,
                                               alpha=alpha, n_reps=reps, pool=pool,
                                               output=output, progress=progress)

    def as_dict(result) -> dict:
        return {"study": result.study, "output": result.output, "analysis": result.analysis,
                "alpha": result.alpha, "n_reps": result.n_reps, "pool": result.pool,
                "seed": result.seed, "adjust": result.adjust, "n_for_80": result.n_for(0.8),
                "rows": result.table().to_dict("records"), "timings": result.timings}

    if as_json:
        if many:
            typer.echo(json.dumps({"hypotheses": {h: as_dict(r) for h, r in results.items()}},
                                  indent=1))
        else:
            typer.echo(json.dumps(as_dict(next(iter(results.values()))), indent=1))
    else:
        wide = console if console.is_terminal else Console(width=140)
        for h, result in results.items():
            where = f" under the {h} hypothesis" if many else ""
            tag = f"[{h}] " if many else ""
            t = Table(title=f"{escape(result.study)}: power by n{where}", title_justify="left")
            t.add_column("n", justify="right")
            for c in result.comparisons:
                t.add_column(f"{escape(c)}\npower (95 % CI)", justify="right")
            for _, row in result.wide().iterrows():
                t.add_row(str(row["n"]), *[row[c] for c in result.comparisons])
            wide.print(t)
            wide.print(result.describe(), highlight=False, markup=False)
            for c, k in result.n_for(0.8).items():
                wide.print(f"{tag}80 % power: {c}: "
                           + (f"n = {k} per arm" if k is not None
                              else f"not reached up to n = {max(result.n_values)}"),
                           highlight=False, markup=False)
            for note in result.notes:
                wide.print(f"note: {note}", highlight=False, markup=False)
    if many:
        table = pd.concat([r.table().assign(hypothesis=h) for h, r in results.items()],
                          ignore_index=True)
        table = table[["hypothesis", *[c for c in table.columns if c != "hypothesis"]]]
    else:
        table = next(iter(results.values())).table()
    if out is not None:
        write_output(out, lambda tmp: table.to_csv(tmp, index=False))
    if plot is not None:
        import matplotlib.pyplot as plt

        if many:  # one panel per hypothesis, the same axes
            fig, axes = plt.subplots(1, len(results), figsize=(6.2 * len(results), 4.4),
                                     dpi=110, sharey=True, squeeze=False)
            for ax, (h, result) in zip(axes[0], results.items(), strict=True):
                result.plot(ax=ax)
                ax.set_title(f"{result.study}: {result.output} ({h} hypothesis)", loc="left",
                             fontsize=10)
        else:
            fig = next(iter(results.values())).plot()
        try:
            write_output(plot, lambda tmp: fig.savefig(tmp, dpi=150, format=plot_format),
                         "figure")
        finally:
            plt.close(fig)


@app.command("cohort")
def cohort_cmd(
    scenario: Path = typer.Argument(...,
                                    help="scenario YAML file, optionally with a "
                                         "population: block (docs/cohorts.md)"),
    n: int = typer.Option(..., "--n", help="number of virtual subjects"),
    seed: int = typer.Option(0, "--seed",
                             help="random seed (non-negative integer); the "
                                  "same seed gives the same cohort"),
    out: Path = typer.Option(..., "--out", "-o",
                             help="cohort directory (a rerun with the same arguments resumes)"),
    chunk_size: int = typer.Option(1000, "--chunk-size",
                                   help="subjects per chunk (unit of work, memory and resumption)"),
    dask: Optional[str] = typer.Option(None, "--dask",
                                       help="run chunks on a Dask cluster: scheduler "
                                            "ADDRESS, or local:N worker processes"),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="replace a different cohort already in --out"),
    trajectory_every: int = typer.Option(100, "--trajectory-every",
                                         help="keep trajectories of subjects whose "
                                              "index is divisible by K"),
    trajectory_step: Optional[float] = typer.Option(
        None, "--trajectory-step",
        help="days between trajectory points (default: daily/weekly/monthly/quarterly, "
             "<= 160 points)"),
    threads: Optional[int] = typer.Option(None, "--threads",
                                          help="Numba threads per chunk (default: all cores)"),
    rtol: float = typer.Option(5e-5, "--rtol",
                               help="relative tolerance "
                                    "(default 5e-5; its accuracy: docs/cohorts.md)"),
    solver: Optional[str] = typer.Option(None, "--solver",
                                         help="lanes or switching "
                                              "(default: the lanes where this machine has them)"),
    wait: float = typer.Option(0.0, "--wait",
                               help="seconds to wait for another run writing "
                                    "into --out (default: refuse at once)"),
) -> None:
    """Simulate a virtual cohort in chunks into partitioned Parquet (query it with
    `neurobone query`)."""
    from neurobone.cohort.console import cohort_progress, dask_client, outcome_table
    from neurobone.cohort.run import run_cohort
    from neurobone.scenario.schema import load_scenario

    scn = load_scenario(scenario)  # file errors before a cluster starts
    if n <= 0:
        raise InputError(f"--n must be a positive number of subjects, got {n}")
    err = Console(stderr=True)

    def note(text: str) -> None:
        err.print(f"note: {text}", highlight=False, markup=False)

    with dask_client(dask) as (client, task_threads):
        with cohort_progress(scenario.stem) as progress:
            result = run_cohort(scn, n, seed, out, chunk_size, client=client, progress=progress,
                                overwrite=overwrite, trajectory_every=trajectory_every,
                                trajectory_step=trajectory_step, rtol=rtol, solver=solver,
                                threads=threads if threads is not None else task_threads,
                                lock_wait=wait, on_note=note)
    m = result.manifest
    rate = f" ({m['last_run_rate']:,.1f} subjects/s)" if m.get("last_run_rate") else ""
    console.print(f"{result.n} subjects in {result.n_chunks} chunks at {result.out_dir}: "
                  f"{m.get('last_run_subjects', 0)} simulated in "
                  f"{m.get('last_run_seconds', 0):.1f} s{rate}",
                  highlight=False)
    stages = m.get("last_run_stage_seconds") or {}
    if stages:
        console.print("time by stage: " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()),
                      highlight=False)
    table = outcome_table(result)
    if table is not None:
        console.print(table)


@app.command("query")
def query_cmd(
    directory: Path = typer.Argument(..., help="cohort directory written by `neurobone cohort`"),
    sql: str = typer.Argument(...,
                              help='SQL over the views summary and trajectories, '
                                   'e.g. "SELECT avg(abmd_ls_pct) FROM summary"'),
    out: Optional[Path] = typer.Option(None, "-o", "--out",
                                       help="write the result as CSV instead of printing it"),
    max_rows: int = typer.Option(50, "--max-rows", help="rows to print (the CSV gets all)"),
    unsafe: bool = typer.Option(
        False, "--unsafe",
        help="run the SQL with DuckDB's full access (files, COPY, ATTACH); default: read-only, "
             "inside the cohort directory"),
) -> None:
    """Query a cohort's Parquet store with DuckDB (views: summary, trajectories).

    The query is sandboxed unless --unsafe: it reads only the cohort's own files and
    writes none."""
    from neurobone.cohort.console import print_frame
    from neurobone.cohort.store import query

    if out is not None:
        check_writable(out)
    # the sandbox is query()'s default; --unsafe asks for DuckDB's full access
    df = query(directory, sql, unsafe=True) if unsafe else query(directory, sql)
    if out is not None:
        _write_csv(df, out)
    else:
        print_frame(df, console, max_rows)


@app.command("check")
def check_cmd(
    directory: Path = typer.Argument(..., help="cohort directory written by `neurobone cohort`"),
) -> None:
    """Check a cohort store's health: manifest, chunks, checksums, lock; exit 1 when damaged."""
    from neurobone.cohort.store import check_store

    report = check_store(directory)
    _print_check(report)
    if not report.get("healthy", False):
        raise typer.Exit(1)


def _print_check(report: dict) -> None:
    """One ``key: value`` line per entry of :func:`neurobone.cohort.store.check_store`'s
    report (lists and mappings one item a line, indented)."""
    for key, value in report.items():
        if isinstance(value, dict):
            typer.echo(f"{key}:")
            for k, v in value.items():
                typer.echo(f"  {k}: {one_line(str(v))}")
        elif isinstance(value, (list, tuple, set)):
            typer.echo(f"{key}: {len(value)}" if not value else f"{key}:")
            for v in value:
                typer.echo(f"  - {one_line(str(v))}")
        else:
            typer.echo(f"{key}: {one_line(str(value))}")


def _write_csv(df, out: Optional[Path]) -> None:
    if out is None:
        df.to_csv(sys.stdout, index=False)
    else:
        write_output(out, lambda tmp: df.to_csv(tmp, index=False))
        console.print(f"wrote {len(df)} rows x {df.shape[1]} columns to {out}", highlight=False)


class Terminated(BaseException):
    """Raised in the main thread by SIGTERM (:func:`main` installs the handler); like
    ``KeyboardInterrupt`` it is no ``Exception``, so no ``except Exception`` swallows it,
    and every ``finally`` on the way out runs (temporary files are removed)."""


#: exit codes of an interrupted command: 128 + the signal's number
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


def _terminate(signum, frame) -> None:
    raise Terminated()


def _error(text: str) -> None:
    """One line on stderr: ``neurobone: error: ...`` (control characters escaped)."""
    print(f"neurobone: error: {one_line(text)}", file=sys.stderr)


def _interrupted(code: int) -> None:
    try:
        print("neurobone: interrupted", file=sys.stderr)
    finally:
        sys.exit(code)


def _signal_in(exc: BaseException) -> int | None:
    """The exit code of a signal that ``exc`` carries as its cause: a signal whose handler
    raises while a compiled kernel's call returns surfaces as a ``SystemError`` ("returned
    a result with an exception set") caused by the ``KeyboardInterrupt`` or
    ``Terminated``; None when there is none."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, KeyboardInterrupt):
            return EXIT_INTERRUPTED
        if isinstance(cause, Terminated):
            return EXIT_TERMINATED
        cause = cause.__cause__ or cause.__context__
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user errors into one line and exit code 2, Ctrl-C
    into exit code 130 and SIGTERM into 143 (``neurobone: interrupted``)."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: no handler can be installed
        previous = None
    try:
        code = app(args=argv, standalone_mode=False)
    except NeuroboneError as exc:
        _error(str(exc))
        sys.exit(2)
    except cx.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help())
        sys.exit(0)
    except cx.UsageError as exc:
        _error(exc.format_message())
        sys.exit(2)
    except BrokenPipeError:  # output piped into `head` and the like
        sys.exit(0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _interrupted(EXIT_INTERRUPTED)
    except KeyboardInterrupt:  # outside Typer's own handling (which returns 130)
        _interrupted(EXIT_INTERRUPTED)
    except Terminated:
        _interrupted(EXIT_TERMINATED)
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: one line unless debugging
        interrupted = _signal_in(exc)
        if interrupted is not None:
            _interrupted(interrupted)
        from neurobone import config

        if config.settings().debug:
            raise
        print(one_line(f"neurobone: internal error: {type(exc).__name__}: {exc} "
                       "(set NEUROBONE_DEBUG=1 for the traceback)"), file=sys.stderr)
        sys.exit(1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    # Under standalone_mode=False Typer returns the code of a typer.Exit, and 130 for a
    # KeyboardInterrupt it caught (Ctrl-C); a command itself returns None.
    if isinstance(code, int) and not isinstance(code, bool) and code != 0:
        if code == EXIT_INTERRUPTED:
            _interrupted(code)
        sys.exit(code)


if __name__ == "__main__":
    main()
