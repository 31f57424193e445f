"""The report folder of a study: figures, tables and an HTML page tying them together.

:func:`write_report` writes into one folder:

========================================  ==============================================
``index.html``                            the page: findings, results, comparisons,
                                          figures, design, methods
``<output>_timecourse.png|svg``           mean ± SD over time by arm, one per output
``<primary>_final.png|svg``               every subject on the day compared, means,
                                          95 % CI, comparisons
``path_decomposition.png|svg``            neural / mechanical / interaction shares
``results.csv``                           per arm, day and output: n, mean, SD, SEM, CI
``comparisons.csv``                       every comparison of every output, last day
``anova.csv``                             one-way ANOVA (and Welch's) per output
``ancova.csv``                            primary comparisons adjusted for baseline
``mixed.csv``                             mixed model of every day, primary outcome
``factorial.csv``                         factorial ANOVA with interactions (if any)
``mediation.csv``                         indirect effects through the mediators (if any)
``animals.csv``                           every measurement: true and measured value
``decomposition.csv``                     the path decomposition table
``parameters.csv``                        each animal's varied parameters
``instruments.csv``                       the instrument of each output, with sources
``study.yaml``                            the design as run (command-line options applied)
``.neurobone-report``                     the marker: this folder holds a neurobone report
                                          (JSON: version, the files written)
========================================  ==============================================

Every file is written atomically (a temporary file, then a rename:
:func:`neurobone.files.write_output`), so an interrupted run leaves each file whole: the
previous version or the new one. The marker is written first; a folder that is not empty
and has no marker is not a report, and :func:`prepare_folder` refuses it unless
``overwrite=True`` (the user's own files are then kept, those of the report's names
replaced). Rewriting a report removes the files of the previous one that the new one does
not have (a figure of an output no longer measured).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from neurobone.errors import InputError
from neurobone.files import check_output_dir, quoted, write_output, write_output_text

__all__ = ["write_report", "prepare_folder", "MARKER", "is_report_folder"]

#: the file that marks a folder as a neurobone report
MARKER = ".neurobone-report"
_LEGACY_HEADER = "# the design as run by neurobone"


def is_report_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a neurobone report: its marker file, or (reports written
    before the marker) an ``index.html`` beside a ``study.yaml`` neurobone wrote."""
    folder = Path(folder)
    if (folder / MARKER).is_file():
        return True
    try:
        with open(folder / "study.yaml", "rb") as fh:
            head = fh.read(len(_LEGACY_HEADER))
    except OSError:
        return False
    return (folder / "index.html").is_file() and head == _LEGACY_HEADER.encode()


def prepare_folder(out: str | Path, overwrite: bool = False) -> Path:
    """Check, before any work and without creating anything, that ``out`` can take a
    report: a folder that can be made or written, empty or holding a previous report
    (any folder with ``overwrite``). One-line :class:`InputError` otherwise."""
    out = check_output_dir(out, "report folder")
    if out.is_dir() and not overwrite and not is_report_folder(out):
        try:
            has_files = any(True for _ in out.iterdir())
        except OSError as exc:
            raise InputError(f"cannot read the report folder {quoted(out)}: "
                             f"{exc.strerror}") from None
        if has_files:
            raise InputError(f"report folder {quoted(out)} is not empty and holds no neurobone "
                             f"report (no {MARKER} file); choose a new folder, or pass "
                             "--overwrite to write the report among its files")
    return out


def _previous_files(folder: Path) -> list[str]:
    try:
        files = json.loads((folder / MARKER).read_text()).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [f for f in files if isinstance(f, str) and f and "/" not in f and "\\" not in f
            and not f.startswith(".")] if isinstance(files, list) else []


def _write_marker(folder: Path, version: str, files: list[str]) -> None:
    text = json.dumps({"neurobone_report": version, "files": sorted(set(files))}, indent=1)
    write_output_text(folder / MARKER, text + "\n", "report file")


def _save(fig, path: Path) -> list[str]:
    """``path`` (PNG) and the same figure as SVG beside it; the names written."""
    import matplotlib.pyplot as plt

    svg = path.with_suffix(".svg")
    try:
        write_output(path, lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight", format="png"),
                     "report file")
        write_output(svg, lambda tmp: fig.savefig(tmp, bbox_inches="tight", format="svg"),
                     "report file")
    finally:
        plt.close(fig)
    return [path.name, svg.name]


def _csv(df, path: Path) -> None:
    write_output(path, lambda tmp: df.to_csv(tmp, index=False), "report file")


def write_report(result, out: str | Path, overwrite: bool = False, *,
                 extra: dict | None = None, preface: tuple[str, str] | None = None) -> Path:
    """Write ``result``'s report folder to ``out``; returns the path of ``index.html``.

    ``out`` must be new, empty or a previous report unless ``overwrite`` (see
    :func:`prepare_folder`). ``extra`` adds files (name -> DataFrame, written as CSV; a
    matplotlib Figure, written as PNG and SVG; or text), listed with the others;
    ``preface`` a (heading, preformatted text) section at the top of ``index.html``."""
    from neurobone.report.html import page
    from neurobone.report.text import noun

    folder = prepare_folder(out, overwrite)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write the report folder {quoted(folder)}: "
                         f"{exc.strerror}") from None
    previous = _previous_files(folder)
    _write_marker(folder, result.version, previous)  # a report from here on, even if cut short

    primary = result.primary
    figures: dict[str, tuple[str, str]] = {}
    svgs: list[str] = []
    n = result.study.n_per_arm

    name = f"{primary}_timecourse.png"
    svgs += _save(result.plot_timecourse(primary), folder / name)
    figures[name] = (f"{result.label(primary, unit=False)} over time",
                     f"Measured values, mean ± SD of the {n} {noun(result, True)} "
                     "of each arm on each measurement day.")
    name = f"{primary}_final.png"
    svgs += _save(result.plot_final(primary), folder / name)
    figures[name] = (f"{result.label(primary, unit=False)} on day {result.day:g}",
                     f"Each dot is one {noun(result)} (measured); black bars are the arm's mean "
                     "and 95 % "
                     "confidence interval; brackets show the study's comparisons with "
                     "Holm-adjusted "
                     f"{'paired t-test' if result.study.paired else 'Welch'} p-values.")
    if not result.decomposition().empty:
        name = "path_decomposition.png"
        svgs += _save(result.plot_decomposition(), folder / name)
        figures[name] = ("Paths of the exercise effect",
                         "Share of the decomposition arm's exercise effect lost when the neural or "
                         f"the mechanical path is switched off (mean {noun(result)}, no noise); "
                         "the interaction is the remainder. Bars left of 0 are negative shares.")
    for o in result.outputs:
        if o == primary:
            continue
        name = f"{o}_timecourse.png"
        svgs += _save(result.plot_timecourse(o), folder / name)
        figures[name] = (f"{result.label(o, unit=False)} over time",
                         f"Measured values, mean ± SD of the {n} {noun(result, True)} of each "
                         "arm.")

    tables = {
        "results.csv": result.summary(),
        "comparisons.csv": result.comparisons(),
        "anova.csv": result.anova(),
        "ancova.csv": result.ancova(outputs=[primary]),
        "mixed.csv": result.mixed(),
        "animals.csv": result.animals,
    }
    if result.study.factor_names:
        tables["factorial.csv"] = result.factorial()
    if result.source == "simulation" and len(result.attribution()):
        tables["attribution.csv"] = result.attribution()
    mediation = result.mediation()
    if len(mediation):
        tables["mediation.csv"] = mediation
    if result.source == "simulation":
        tables.update({"decomposition.csv": result.decomposition(),
                       "parameters.csv": result.parameters,
                       "instruments.csv": result.instrument_table()})
    for fname, df in tables.items():
        _csv(df, folder / fname)
    extra_files: list[str] = []
    for fname, content in (extra or {}).items():
        if isinstance(content, str):
            write_output_text(folder / fname, content, "report file")
            extra_files.append(fname)
        elif hasattr(content, "savefig"):  # a matplotlib Figure: PNG and SVG
            extra_files += _save(content, folder / fname)
        else:
            _csv(content, folder / fname)
            extra_files.append(fname)
    design = result.study.model_dump(mode="json", exclude_none=True)
    write_output_text(folder / "study.yaml",
                      f"{_LEGACY_HEADER} {result.version}\n"
                      + yaml.safe_dump(design, sort_keys=False, allow_unicode=True), "report file")
    files = svgs + list(tables) + extra_files + ["study.yaml"]
    index = folder / "index.html"
    write_output_text(index, page(result, figures, files, tables, preface), "report file")
    written = files + ["index.html"]
    _write_marker(folder, result.version, written)
    for name in set(previous) - set(written):  # the previous report's, not this one's
        stale = folder / name
        if stale.is_file() and not stale.is_symlink():
            stale.unlink(missing_ok=True)
    return index


def write_trial_report(result, out: str | Path, overwrite: bool = False) -> Path:
    """Write a virtual trial's report (:class:`neurobone.study.trial.TrialResult`): the
    study report of its arms (:func:`write_report`), its ``index.html`` opening with the
    trial's printout, plus ``trial.txt`` (the printout), ``trial.png|svg``
    (:meth:`~neurobone.study.trial.TrialResult.plot`), ``trial_differences.csv`` (every
    visit's difference from placebo with its 95 % CI), ``trial_markers.csv`` (the
    markers' time courses) and ``trial_published.csv`` (the published values beside the
    simulated ones, with sources and calibration or validation role). Returns the path
    of ``index.html``."""
    text = str(result)
    return write_report(result.study, out, overwrite=overwrite,
                        extra={"trial.txt": text + "\n", "trial.png": result.plot(),
                               "trial_differences.csv": result.dxa,
                               "trial_markers.csv": result.markers,
                               "trial_published.csv": result.published},
                        preface=("Virtual trial: simulated beside published", text))
