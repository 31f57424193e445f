"""The study results as Rich tables for the terminal (used by ``neurobone run``)."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from neurobone.report.html import fmt
from neurobone.report.text import _share, conclusions, noun
from neurobone.study.stats import format_p, p_value


def short_label(result, output: str) -> str:
    """Column header: the output name with its unit."""
    unit = result.units.get(output, "")
    return f"{output} ({unit})" if unit and unit != "1" else output


def results_table(result, value: str = "measured") -> Table:
    """Mean ± SD per arm (rows) and output (columns) on the day compared."""
    f = result.final(value)
    t = Table(title=f"{result.study.name}: day {result.day:g}, {value}, mean ± SD "
                    f"(n = {result.study.n_per_arm} per arm)", title_justify="left")
    t.add_column("arm")
    change = result.analysis_value in ("change_pct", "change")
    if change:  # what the comparisons test: each animal's change in the primary outcome
        fc = result.final(result.analysis_value)
        pct = " (%)" if result.analysis_value == "change_pct" else ""
        t.add_column(f"{result.primary} change{pct}", justify="right")
    for o in result.outputs:
        t.add_column(short_label(result, o), justify="right")
    for a in result.arms:
        cells = []
        if change:
            r = fc[(fc["arm"] == a) & (fc["output"] == result.primary)]
            m = r["mean"].iloc[0] if len(r) else np.nan
            cells.append((f"{m:+.1f}" if pct else f"{m:+.3g}") + f" ± {fmt(r['sd'].iloc[0], 2)}"
                         if len(r) else "")
        for o in result.outputs:
            r = f[(f["arm"] == a) & (f["output"] == o)]
            cells.append(f"{fmt(r['mean'].iloc[0])} ± {fmt(r['sd'].iloc[0], 2)}" if len(r) else "")
        t.add_row(a, *cells)
    return t


def comparisons_table(result, output: str | None = None) -> Table:
    """The comparisons of one output (default: the primary outcome)."""
    output = output or result.primary
    c = result.comparisons(outputs=[output])
    unit = result.units.get(output, "")
    value = result.value_of(output)
    what = {"change_pct": "change from baseline (%)",
            "change": f"change from baseline to day {result.day:g}"}.get(value,
                                                                         f"day {result.day:g}")
    test = "paired t-test" if result.study.paired else "Welch"
    t = Table(title=f"Comparisons of {short_label(result, output)}: {what} "
                    f"({test}; Holm across comparisons)", title_justify="left")
    relative = value == "measured"
    cols = [("arm", "left"), ("vs", "left"), ("difference", "right"), ("95 % CI", "right")]
    cols += [("% diff", "right"), ("% 95 % CI", "right")] if relative else []
    for col, just in cols + [("p", "right"), ("p Holm", "right")]:
        t.add_column(col, justify=just)
    for r in c.itertuples():
        pct_ci = (f"{r.pct_ci_low:+.1f} to {r.pct_ci_high:+.1f}" if np.isfinite(r.pct_ci_low)
                  else "n/a")
        pct = ([f"{r.pct_diff:+.1f} %" if np.isfinite(r.pct_diff) else "n/a", pct_ci]
               if relative else [])
        t.add_row(r.arm, r.reference, f"{r.diff:+.3g}",
                  f"{r.ci_low:+.3g} to {r.ci_high:+.3g}" if np.isfinite(r.ci_low) else "n/a",
                  *pct, p_value(r.p), p_value(r.p_holm))
    if value == "change_pct":
        t.caption = (f"differences in percentage points of each subject's change from day "
                     f"{result.animals['day'].min():g} to day {result.day:g}")
    elif unit and unit != "1":
        t.caption = f"differences in {'percentage points' if unit == '%' else unit}"
    return t


def print_results(result, console: Console | None = None) -> None:
    """Print the results table, the primary comparisons, the ANOVA and the notes."""
    console = console or Console()
    console.print(results_table(result))
    console.print(comparisons_table(result))
    an = result.anova()
    row = an[an["output"] == result.primary]
    if len(row) and np.isfinite(row["F"].iloc[0]):
        r = row.iloc[0]
        console.print(f"One-way ANOVA of {short_label(result, result.primary)} across arms: "
                      f"F({r['df_between']:g}, {r['df_within']:g}) = {r['F']:.4g}, "
                      f"{format_p(r['p'])}",
                      highlight=False)
    dec = result.decomposition()
    drow = dec[dec["output"] == result.primary] if len(dec) else dec
    if len(drow) and np.isfinite(drow["neural_share"].iloc[0]):
        r = drow.iloc[0]
        console.print(f"Exercise effect on {short_label(result, result.primary)} in arm "
                      f"{r['arm']!r} by path (mean {noun(result)}): neural "
                      f"{_share(r['neural_share'])}, "
                      f"mechanical {_share(r['mechanical_share'])}, interaction "
                      f"{_share(r['interaction_share'])}",
                      highlight=False)
    att = result.attribution() if result.source == "simulation" else None
    if att is not None and len(att):
        for r in att[att["output"] == result.primary].itertuples():
            if not np.isfinite(r.drug_share):
                continue
            verdict = ("about additive" if r.combination == "additive"
                       else f"{r.combination} than additive")
            console.print(f"Effect on {short_label(result, result.primary)} in arm {r.arm!r} "
                          f"(mean {noun(result)}): drug {_share(r.drug_share)}, neural "
                          f"{_share(r.neural_share)}, mechanical {_share(r.mechanical_share)}, "
                          f"interaction {_share(r.interaction_share)} ({verdict})",
                          highlight=False)
    lines = conclusions(result)
    if lines:
        console.print("Conclusions (generated from the numbers):", highlight=False)
        for line in lines:
            console.print(f"- {line}", highlight=False)
    for n in result.notes:
        console.print(f"note: {n}", style="yellow", highlight=False)


def hypotheses_table(results) -> Table:
    """The primary comparisons of one study run under several hypotheses: one row per
    comparison, one column per hypothesis (difference and 95 % CI)."""
    first = results[0]
    t = Table(title=f"{first.study.name}: {short_label(first, first.primary)}, difference "
                    f"(95 % CI) on day {first.day:g}, one column per hypothesis",
              title_justify="left")
    t.add_column("comparison")
    for r in results:
        t.add_column(r.study.hypothesis, justify="right")
    value, unit = first.value_of(first.primary), first.units.get(first.primary, "")
    if value == "change_pct":
        t.caption = (f"differences in percentage points of each subject's change from day "
                     f"{first.animals['day'].min():g} to day {first.day:g}")
    elif value == "change":
        t.caption = (f"differences of each subject's change from day "
                     f"{first.animals['day'].min():g}" + (f", in {unit}" if unit else ""))
    elif unit and unit != "1":
        t.caption = f"differences in {'percentage points' if unit == '%' else unit}"
    comps = [r.comparisons(outputs=[r.primary]) for r in results]
    for k, row in enumerate(comps[0].itertuples()):
        cells = []
        for c in comps:
            x = c.iloc[k]
            ci = (f" ({x['ci_low']:+.3g} to {x['ci_high']:+.3g})" if np.isfinite(x["ci_low"])
                  else "")
            cells.append(f"{x['diff']:+.3g}{ci}")
        t.add_row(f"{row.arm} vs {row.reference}", *cells)
    return t


def print_hypotheses(results, console: Console | None = None) -> None:
    """The study's primary comparisons side by side, one column per hypothesis, then its
    conclusions, one block of lines per hypothesis."""
    console = console or Console()
    console.print(hypotheses_table(results))
    for r in results:
        lines = conclusions(r)
        if lines:
            console.print(f"Conclusions under {r.study.hypothesis}:", highlight=False)
            for line in lines:
                console.print(f"  [{r.study.hypothesis}] {line}", highlight=False, markup=False)
