"""The report's HTML page (and the fragment notebooks show for a StudyResult).

Plain HTML with inline CSS, no scripts: it opens from the folder on any machine.
Every number on the page is read from the result.
"""

from __future__ import annotations

import datetime as _dt
import html

import numpy as np
import pandas as pd

from neurobone.model.brainbone import HYPOTHESIS_DESCRIPTIONS
from neurobone.report.text import findings, noun
from neurobone.study.stats import p_value

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1040px;margin:2em auto;
     padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
.meta{color:#555;font-size:.92em} figure{margin:1em 0}
figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}
.note{background:#fff8e1;border-left:4px solid #f0c040;padding:.4em .8em}
code{background:#f4f4f4;padding:0 .2em}
"""


def esc(x) -> str:
    return html.escape(str(x))


def fmt(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    if isinstance(x, (int, np.integer)):
        return str(x)
    return f"{x:.{digits}g}"


def signed(x, digits: int = 4) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:+.{digits}g}"


def table(df: pd.DataFrame, numeric: set[str] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for r in df.itertuples(index=False):
        cells = []
        for c, v in zip(df.columns, r, strict=True):
            cls = ' class="num"' if c in numeric else ""
            cells.append(f"<td{cls}>{esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def final_table(result, value: str = "measured") -> pd.DataFrame:
    """Arms as rows, outputs as columns: ``mean ± SD`` on the last day."""
    f = result.final(value)
    out = pd.DataFrame({"arm": result.arms})
    out["n"] = [int(f.loc[f["arm"] == a, "n"].max()) if (f["arm"] == a).any() else 0
                for a in result.arms]
    for o in result.outputs:
        col = []
        for a in result.arms:
            r = f[(f["arm"] == a) & (f["output"] == o)]
            col.append(f"{fmt(r['mean'].iloc[0])} ± {fmt(r['sd'].iloc[0], 2)}" if len(r) else "")
        out[result.label(o)] = col
    return out


def comparison_table(result, outputs: list[str] | None = None) -> pd.DataFrame:
    c = result.comparisons(outputs=outputs)
    return pd.DataFrame({
        "outcome": [result.label(o) for o in c["output"]],
        "arm": c["arm"], "vs": c["reference"],
        "difference": [signed(x) for x in c["diff"]],
        "95 % CI": [f"{signed(a)} to {signed(b)}"
                    for a, b in zip(c["ci_low"], c["ci_high"], strict=True)],
        "% difference": [f"{x:+.1f} %" if np.isfinite(x) else "n/a" for x in c["pct_diff"]],
        "% 95 % CI": [f"{a:+.1f} to {b:+.1f} %" if np.isfinite(a) else "n/a"
                      for a, b in zip(c["pct_ci_low"], c["pct_ci_high"], strict=True)],
        "p (Welch)": [p_value(x) for x in c["p"]],
        "p (Holm)": [p_value(x) for x in c["p_holm"]],
    })


def _describe_exercise(arm) -> str:
    parts = []
    for e in arm.exercise:
        extra = ", ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, (int, float))
                          else f"{k} {v}"
                          for k, v in e.intensity_fields.items())
        end = f"{e.end_day:g}" if e.end_day is not None else "end"
        parts.append(f"{e.modality} ({extra}{', ' if extra else ''}{e.minutes:g} min, "
                     f"{e.days_per_week}/week, days {e.start_day:g}-{end})")
    return "; ".join(parts) or "none"


def _describe_interventions(arm) -> str:
    parts = []
    for iv in arm.interventions:
        opts = [f"{k} {v}" for k, v in iv.model_dump().items()
                if k not in ("kind", "start_day", "end_day") and v is not None]
        end = f"{iv.end_day:g}" if iv.end_day is not None else "end"
        parts.append(f"{iv.kind.replace('_', ' ')}{' (' + ', '.join(opts) + ')' if opts else ''}, "
                     f"days {iv.start_day:g}-{end}")
    return "; ".join(parts) or "none"


def design_tables(result) -> str:
    s = result.study
    subj = ", ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, float) else f"{k} {v}"
                     for k, v in s.subject.model_dump().items() if v is not None)
    rows = [
        ("study", s.name), ("source", s._source), ("species", s.species), ("subjects", subj),
        ("duration", f"{s.duration_days:g} days"), ("subjects per arm", s.n_per_arm),
        ("mechanism hypothesis",
         f"{s.hypothesis}: {HYPOTHESIS_DESCRIPTIONS.get(s.hypothesis, '')}"),
        ("seed", s.seed), ("measurement days", ", ".join(f"{d:g}" for d in s.days)),
        ("primary outcome", result.label(s.primary)),
        ("parameter overrides",
         ", ".join(f"{k} = {v:g}" for k, v in s.parameters.items()) or "none"),
        ("neurobone version", result.version), ("solver", result.solver),
    ]
    design = pd.DataFrame(rows, columns=["", "value"])
    arms = pd.DataFrame([dict(arm=a.name, description=a.description,
                              exercise=_describe_exercise(a),
                              interventions=_describe_interventions(a)) for a in s.arms])
    return table(design) + table(arms)


def result_fragment(result) -> str:
    """The HTML a notebook shows for a StudyResult: design line, final table, comparisons."""
    s = result.study
    head = (f"<p><b>{esc(s.name)}</b>: {len(result.arms)} arms × {s.n_per_arm}, "
            f"{s.duration_days:g} days, hypothesis <code>{esc(s.hypothesis)}</code>, seed "
            f"{s.seed}</p>")
    return (head + f"<p>Day {result.day:g}, measured, mean ± SD</p>"
            + table(final_table(result))
            + "<p>Comparisons of the primary outcome</p>"
            + table(comparison_table(result, [result.primary])))


def page(result, figures: dict[str, tuple[str, str]], files: list[str]) -> str:
    """The full index.html. ``figures`` maps a file name to (title, caption)."""
    s = result.study
    f = findings(result)
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(s.name)}: neurobone "
             f"study report</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(s.name)}</h1>",
             f"<p class='meta'>neurobone {esc(result.version)} · hypothesis "
             f"<code>{esc(s.hypothesis)}</code> · seed {s.seed} · {len(result.arms)} arms × "
             f"{s.n_per_arm} · generated {now}</p>"]
    if s.description:
        parts.append(f"<p>{esc(s.description)}</p>")
    for n in result.notes:
        parts.append(f"<p class='note'>{esc(n)}</p>")
    what = (f"each {noun(result)}'s measured percent change from its first measurement to the last "
            "measurement day" if result.analysis_value == "change_pct"
            else "measured values on the last measurement day")
    parts.append("<h2>Findings</h2><p class='meta'>Generated from the numbers below; "
                 f"differences are arm minus reference in {what}.</p>")
    parts.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in f["primary"]) + "</ul>")
    if f["secondary"]:
        parts.append("<p>Other outcomes, first comparison:</p><ul>"
                     + "".join(f"<li>{esc(x)}</li>" for x in f["secondary"]) + "</ul>")
    if f["paths"]:
        parts.append(f"<p>Paths of the exercise effect (mean {noun(result)}, no noise):</p><ul>"
                     + "".join(f"<li>{esc(x)}</li>" for x in f["paths"]) + "</ul>")
    parts.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in f["anova"] + f["variability"])
                 + "</ul>")

    parts.append(f"<h2>Results on day {result.day:g}</h2>"
                 "<p class='meta'>Measured values, mean ± SD.</p>")
    parts.append(table(final_table(result)))
    parts.append("<h3>Comparisons</h3><p class='meta'>Difference in means (arm minus reference) "
                 "with Welch 95 % confidence interval; percent of the reference mean; Welch "
                 "t-test; Holm adjustment across the comparisons of each outcome.</p>")
    parts.append(table(comparison_table(result)))
    an = result.anova()
    parts.append("<h3>One-way ANOVA across arms</h3>")
    parts.append(table(pd.DataFrame({
        "outcome": [result.label(o) for o in an["output"]], "day": [f"{d:g}" for d in an["day"]],
        "F": [fmt(x) for x in an["F"]],
        "df": [f"{a:g}, {b:g}" if np.isfinite(a) else "n/a"
               for a, b in zip(an["df_between"], an["df_within"], strict=True)],
        "p": [p_value(x) for x in an["p"]]})))

    parts.append("<h2>Figures</h2>")
    for name, (title, caption) in figures.items():
        parts.append(f"<figure><img src='{esc(name)}' alt='{esc(title)}'>"
                     f"<figcaption><b>{esc(title)}.</b> {esc(caption)}</figcaption></figure>")

    parts.append("<h2>Design</h2>")
    parts.append(design_tables(result))
    parts.append("<h2>Methods</h2>")
    parts.append(f"<h3>Between-{noun(result)} variability</h3>")
    parts.append(f"<p>{esc(f['variability'][0])} Parameters are drawn log-normally around the "
                 "calibrated mean subject, which is their median (see docs/studies.md); every "
                 f"{noun(result)} has its own random stream derived from the seed, the arm name "
                 "and its index.</p>")
    vt = result.variation_table()
    if len(vt):
        parts.append(table(vt.assign(cv=[f"{100 * x:.1f} %" for x in vt["cv"]])))
    parts.append("<h3>Instruments</h3>")
    it = result.instrument_table()
    parts.append(table(pd.DataFrame({
        "output": it["output"], "method": it["method"], "error model": it["kind"],
        "value": [fmt(v) for v in it["value"]], "unit": it["unit"],
        "CV": [f"{100 * c:.1f} %" for c in it["cv"]], "source": it["source"]})))
    compared = (f"of each {noun(result)}'s percent change from its first measurement"
                if result.analysis_value == "change_pct" else "of last-day values")
    parts.append("<h3>Statistics</h3><p>Per arm and day: mean and SD of the measured values. "
                 f"Comparisons ({compared}): Welch's unequal-variance t-test and interval "
                 "(Satterthwaite degrees of freedom); the percent interval divides the difference "
                 "interval by the reference mean; Holm's step-down adjustment within each "
                 "outcome; one-way ANOVA (statsmodels OLS). The path decomposition uses four runs "
                 f"of the decomposition arm's mean {noun(result)}: as given, without exercise, "
                 "with the neural path off and with the mechanical path off.</p>")
    if result.timings:
        parts.append("<p class='meta'>Run time: " + ", ".join(
            f"{k} {v:.2f} s" for k, v in result.timings.items()) + "</p>")
    parts.append("<h2>Files</h2><ul>"
                 + "".join(f"<li><a href='{esc(x)}'>{esc(x)}</a></li>" for x in files)
                 + "</ul></body></html>")
    return "\n".join(parts)
