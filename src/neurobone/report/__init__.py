"""The report folder of a study: figures, tables and an HTML page tying them together.

:func:`write_report` writes into one folder:

========================================  ==============================================
``index.html``                            the page: findings, results, comparisons,
                                          figures, design, methods
``<output>_timecourse.png``               mean ± SD over time by arm, one per output
``<primary>_final.png``                   every animal on the last day, means, 95 % CI,
                                          comparisons
``path_decomposition.png``                neural / mechanical / interaction shares
``results.csv``                           per arm, day and output: n, mean, SD, SEM, CI
``comparisons.csv``                       every comparison of every output, last day
``anova.csv``                             one-way ANOVA per output, last day
``animals.csv``                           every measurement: true and measured value
``decomposition.csv``                     the path decomposition table
``parameters.csv``                        each animal's varied parameters
``instruments.csv``                       the instrument of each output, with sources
``study.yaml``                            the design as run (command-line options applied)
========================================  ==============================================
"""

from __future__ import annotations

from pathlib import Path

import yaml

from neurobone.errors import InputError

__all__ = ["write_report", "prepare_folder"]


def prepare_folder(out: str | Path) -> Path:
    """Create the report folder (and parents); one-line errors when it cannot be."""
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"report folder {str(out)!r} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".neurobone-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write the report folder {str(out)!r}: {exc.strerror}") from None
    return out


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


def write_report(result, out: str | Path) -> Path:
    """Write ``result``'s report folder to ``out``; returns the path of ``index.html``."""
    from neurobone.report.html import page

    folder = prepare_folder(out)
    primary = result.primary
    figures: dict[str, tuple[str, str]] = {}
    n = result.study.n_per_arm

    name = f"{primary}_timecourse.png"
    _save(result.plot_timecourse(primary), folder / name)
    figures[name] = (f"{result.label(primary, unit=False)} over time",
                     f"Measured values, mean ± SD of the {n} animals of each arm on each measurement day.")
    name = f"{primary}_final.png"
    _save(result.plot_final(primary), folder / name)
    figures[name] = (f"{result.label(primary, unit=False)} on day {result.last_day:g}",
                     "Each dot is one animal (measured); black bars are the arm's mean and 95 % "
                     "confidence interval; brackets show the study's comparisons with "
                     "Holm-adjusted Welch p-values.")
    if not result.decomposition().empty:
        name = "path_decomposition.png"
        _save(result.plot_decomposition(), folder / name)
        figures[name] = ("Paths of the exercise effect",
                         "Share of the decomposition arm's exercise effect lost when the neural or "
                         "the mechanical path is switched off (mean animal, no noise); the "
                         "interaction is the remainder. Bars left of 0 are negative shares.")
    for o in result.outputs:
        if o == primary:
            continue
        name = f"{o}_timecourse.png"
        _save(result.plot_timecourse(o), folder / name)
        figures[name] = (f"{result.label(o, unit=False)} over time",
                         f"Measured values, mean ± SD of the {n} animals of each arm.")

    tables = {
        "results.csv": result.summary(),
        "comparisons.csv": result.comparisons(),
        "anova.csv": result.anova(),
        "animals.csv": result.animals,
        "decomposition.csv": result.decomposition(),
        "parameters.csv": result.parameters,
        "instruments.csv": result.instrument_table(),
    }
    for fname, df in tables.items():
        df.to_csv(folder / fname, index=False)
    design = result.study.model_dump(mode="json", exclude_none=True)
    (folder / "study.yaml").write_text(
        f"# the design as run by neurobone {result.version}\n"
        + yaml.safe_dump(design, sort_keys=False, allow_unicode=True))
    files = list(figures) + list(tables) + ["study.yaml"]
    index = folder / "index.html"
    index.write_text(page(result, figures, files), encoding="utf-8")
    return index
