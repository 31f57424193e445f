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
        ("p (paired t)" if result.study.paired else "p (Welch)"): [p_value(x) for x in c["p"]],
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
    rows.insert(6, ("paired", "yes: every arm holds the same subjects" if s.paired else "no"))
    rows.insert(7, ("day compared", f"{result.day:g}"))
    design = pd.DataFrame(rows, columns=["", "value"])

    def who(a) -> str:
        if not a.subject:
            return "as the study"
        return ", ".join(f"{k.replace('_', ' ')} {v:g}" if isinstance(v, (int, float))
                         else f"{k} {v}" for k, v in a.subject.items())

    arms = pd.DataFrame([dict(arm=a.name, description=a.description, subjects=who(a),
                              exercise=_describe_exercise(a),
                              interventions=_describe_interventions(a),
                              **({"factors": ", ".join(f"{k} {v}" for k, v in a.factors.items())}
                                 if s.factor_names else {}))
                         for a in s.arms])
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


def _interval(lo, hi) -> str:
    return f"{signed(lo)} to {signed(hi)}" if np.isfinite(lo) else "n/a"


def extra_sections(result, tables: dict) -> list[str]:
    """ANCOVA, mixed model, factorial ANOVA and mediation: the tables the report wrote."""
    parts = []
    an = tables.get("ancova.csv")
    if an is not None and len(an):
        an = an[an["output"] == result.primary]
        parts.append("<h3>Comparisons adjusted for baseline (ANCOVA)</h3><p class='meta'>"
                     f"Measured {esc(result.label(result.primary))} on day {result.day:g}, "
                     "adjusted for each subject's first measurement (OLS <code>y ~ arm + "
                     "baseline</code> on the two arms; Holm within the outcome): the "
                     "alternative to change scores.</p>")
        parts.append(table(pd.DataFrame({
            "arm": an["arm"], "vs": an["reference"],
            "adjusted difference": [signed(x) for x in an["diff"]],
            "95 % CI": [_interval(a, b) for a, b in zip(an["ci_low"], an["ci_high"], strict=True)],
            "p": [p_value(x) for x in an["p"]], "p (Holm)": [p_value(x) for x in an["p_holm"]]})))
    mx = tables.get("mixed.csv")
    if mx is not None and len(mx):
        mx = mx[mx["term"] == "slope"]
        conv = "" if mx["converged"].all() else " Some fits did not converge (column converged)."
        parts.append("<h3>Linear mixed model of every measurement day</h3><p class='meta'>"
                     f"Measured {esc(result.label(result.primary))}: statsmodels MixedLM "
                     "<code>y ~ arm * day</code> with a random intercept per subject (REML); "
                     "each arm's difference in slope per day from the reference arm." + conv
                     + "</p>")
        parts.append(table(pd.DataFrame({
            "arm": mx["arm"], "vs": mx["reference"],
            "slope difference per day": [signed(x) for x in mx["estimate"]],
            "95 % CI": [_interval(a, b) for a, b in zip(mx["ci_low"], mx["ci_high"], strict=True)],
            "p": [p_value(x) for x in mx["p"]]})))
    fa = tables.get("factorial.csv")
    if fa is not None and len(fa):
        parts.append("<h3>Factorial ANOVA</h3><p class='meta'>OLS with every main effect and "
                     "interaction, type II sums of squares; for two factors of two levels the "
                     "interaction's difference of differences with its 95 % CI.</p>")
        parts.append(table(pd.DataFrame({
            "outcome": [result.label(o) for o in fa["output"]], "term": fa["term"],
            "F": [fmt(x) for x in fa["F"]],
            "df": [f"{a:g}, {b:g}" for a, b in zip(fa["df"], fa["df_resid"], strict=True)],
            "p": [p_value(x) for x in fa["p"]],
            "difference of differences": [signed(x) for x in fa["estimate"]],
            "95 % CI": [_interval(a, b) for a, b in zip(fa["ci_low"], fa["ci_high"],
                                                       strict=True)]})))
    me = tables.get("mediation.csv")
    if me is not None and len(me):
        r0 = me.iloc[0]
        parts.append("<h3>Mediation</h3><p class='meta'>Indirect effect of arm "
                     f"{esc(r0['arm'])} (against {esc(r0['reference'])}) on "
                     f"{esc(result.label(result.primary, unit=False))} through each mediator, on "
                     f"the analysed values of day {result.day:g}: product of coefficients a×b "
                     "(OLS <code>M ~ X</code>, <code>Y ~ X + M</code>), percentile bootstrap "
                     f"95 % CI ({int(r0['n_boot'])} resamples of the subjects within each arm, "
                     f"seed {int(r0['seed'])}). Exploratory.</p>")
        parts.append(table(pd.DataFrame({
            "mediator": [result.label(m, unit=False) for m in me["mediator"]],
            "a": [fmt(x) for x in me["a"]], "b": [fmt(x) for x in me["b"]],
            "indirect a×b": [signed(x) for x in me["indirect"]],
            "95 % CI": [_interval(a, b) for a, b in zip(me["ci_low"], me["ci_high"], strict=True)],
            "direct": [signed(x) for x in me["direct"]], "total": [signed(x) for x in me["total"]],
        })))
    return parts


def page(result, figures: dict[str, tuple[str, str]], files: list[str],
         tables: dict | None = None, preface: tuple[str, str] | None = None) -> str:
    """The full index.html. ``figures`` maps a file name to (title, caption); ``tables``
    the report's tables by file name (for the ANCOVA, mixed model, factorial and
    mediation sections); ``preface`` a (heading, preformatted text) section shown first."""
    s = result.study
    f = findings(result)
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    pair = " (paired: the same subjects in every arm)" if s.paired else ""
    what_run = ("measured data analysed with the design" if result.source == "data"
                else f"hypothesis <code>{esc(s.hypothesis)}</code> · seed {s.seed}")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(s.name)}: neurobone "
             f"study report</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(s.name)}</h1>",
             f"<p class='meta'>study file <code>{esc(s._source)}</code> · neurobone "
             f"{esc(result.version)} · {what_run} · {len(result.arms)} arms × {s.n_per_arm} "
             f"{esc(noun(result, True))}{pair}"
             f" · generated {now}</p>"]
    if s.question:
        parts.append(f"<p><b>Question:</b> {esc(s.question)}</p>")
    if s.description:
        parts.append(f"<p>{esc(s.description)}</p>")
    for n in result.notes:
        parts.append(f"<p class='note'>{esc(n)}</p>")
    if preface is not None:  # (heading, preformatted text), e.g. a virtual trial's printout
        parts.append(f"<h2>{esc(preface[0])}</h2><pre>{esc(preface[1])}</pre>")
    what = (f"each {noun(result)}'s measured percent change from its first measurement to day "
            f"{result.day:g}" if result.analysis_value == "change_pct"
            else f"each {noun(result)}'s absolute change from its first measurement to day "
            f"{result.day:g}" if result.analysis_value == "change"
            else f"measured values on day {result.day:g}")
    parts.append("<h2>Findings</h2><p class='meta'>Generated from the numbers below; "
                 f"differences are arm minus reference in {what}.</p>")
    if f["question"]:
        parts.append("<h3>Conclusions</h3><ul>"
                     + "".join(f"<li>{esc(x)}</li>" for x in f["question"]) + "</ul>")
    parts.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in f["primary"]) + "</ul>")
    if f["secondary"]:
        parts.append("<p>Secondary outcomes, first comparison (exploratory: Holm adjusts "
                     "within each outcome, not across outcomes):</p><ul>"
                     + "".join(f"<li>{esc(x)}</li>" for x in f["secondary"]) + "</ul>")
    if f["paths"]:
        parts.append(f"<p>Paths of the exercise effect (mean {noun(result)}, no noise):</p><ul>"
                     + "".join(f"<li>{esc(x)}</li>" for x in f["paths"]) + "</ul>")
    if f.get("attribution"):
        parts.append(f"<p>Drug, neural and mechanical parts of each drug-and-exercise arm's "
                     f"effect (mean {noun(result)}, no noise; each part switched on alone, "
                     "the interaction the remainder):</p><ul>"
                     + "".join(f"<li>{esc(x)}</li>" for x in f["attribution"]) + "</ul>")
    if f["factorial"]:
        parts.append("<p>Factorial design:</p><ul>"
                     + "".join(f"<li>{esc(x)}</li>" for x in f["factorial"]) + "</ul>")
    parts.append("<ul>" + "".join(f"<li>{esc(x)}</li>" for x in f["anova"] + f["variability"])
                 + "</ul>")

    parts.append(f"<h2>Results on day {result.day:g}</h2>"
                 "<p class='meta'>Measured values, mean ± SD.</p>")
    parts.append(table(final_table(result)))
    how = ("mean of the subjects' paired differences (arm minus reference) with its 95 % "
           "confidence interval; paired t-test" if s.paired else
           "difference in means (arm minus reference) with Welch 95 % confidence interval; "
           "percent of the reference mean; Welch t-test")
    parts.append(f"<h3>Comparisons</h3><p class='meta'>{how[0].upper() + how[1:]}; Holm "
                 "adjustment across the comparisons of each outcome; outcomes other than the "
                 "primary are exploratory.</p>")
    parts.append(table(comparison_table(result)))
    an = result.anova()
    parts.append("<h3>One-way ANOVA across arms</h3>")
    parts.append(table(pd.DataFrame({
        "outcome": [result.label(o) for o in an["output"]], "day": [f"{d:g}" for d in an["day"]],
        "F": [fmt(x) for x in an["F"]],
        "df": [f"{a:g}, {b:g}" if np.isfinite(a) else "n/a"
               for a, b in zip(an["df_between"], an["df_within"], strict=True)],
        "p": [p_value(x) for x in an["p"]],
        "Welch F": [fmt(x) for x in an["F_welch"]],
        "Welch df": [f"{a:g}, {b:.3g}" if np.isfinite(b) else "n/a"
                     for a, b in zip(an["df_between"], an["df_welch"], strict=True)],
        "Welch p": [p_value(x) for x in an["p_welch"]]})))
    parts += extra_sections(result, tables or {})

    parts.append("<h2>Figures</h2>")
    for name, (title, caption) in figures.items():
        parts.append(f"<figure><img src='{esc(name)}' alt='{esc(title)}'>"
                     f"<figcaption><b>{esc(title)}.</b> {esc(caption)}</figcaption></figure>")

    parts.append("<h2>Design</h2>")
    parts.append(design_tables(result))
    parts.append("<h2>Methods</h2>")
    if result.source == "data":
        parts.append(f"<p>{esc(f['variability'][0])}</p>")
    else:
        parts += _simulation_methods(result, f)
    parts += _statistics_methods(result)
    parts.append("<h2>Files</h2><ul>"
                 + "".join(f"<li><a href='{esc(x)}'>{esc(x)}</a></li>" for x in files)
                 + "</ul></body></html>")
    return "\n".join(parts)


def _simulation_methods(result, f) -> list[str]:
    parts = []
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
        "CV": [f"{100 * c:.1f} %" for c in it["cv"]], "source": it["source"],
        "between-subject CV": [f"{100 * c:.0f} %" if c > 0 else "" for c in
                               it["between_subject_cv"]],
        "between-subject source": it["between_subject_source"]})))
    return parts


def _statistics_methods(result) -> list[str]:
    parts = []
    compared = (f"of each {noun(result)}'s percent change from its first measurement"
                if result.study.analysis == "change" else f"of day-{result.day:g} values")
    signed_ = [o for o in result.outputs if result.value_of(o) == "change"]
    if signed_:
        compared += (f"; {', '.join(signed_)} can cross zero and is compared on its absolute "
                     "change, never a percent change")
    test = ("the paired t-test of each subject's difference between arms (every arm holds the "
            "same subjects)" if result.study.paired else
            "Welch's unequal-variance t-test and interval (Satterthwaite degrees of freedom)")
    parts.append("<h3>Statistics</h3><p>Per arm and day: mean and SD of the measured values. "
                 f"Comparisons on day {result.day:g} ({compared}): {test}; the percent interval "
                 "divides the difference interval by the reference mean; Holm's step-down "
                 "adjustment within each outcome (secondary outcomes are exploratory); one-way "
                 "ANOVA (statsmodels OLS) and Welch's ANOVA (statsmodels anova_oneway, unequal "
                 "variances); ANCOVA on the baseline; a linear mixed model of every day "
                 "(statsmodels MixedLM).")
    if result.source == "simulation":
        parts[-1] += (" The path decomposition uses four runs of the decomposition arm's mean "
                      f"{noun(result)}: as given, without exercise, with the neural path off "
                      "and with the mechanical path off.")
    parts[-1] += "</p>"
    if result.timings:
        parts.append("<p class='meta'>Run time: " + ", ".join(
            f"{k} {v:.2f} s" for k, v in result.timings.items()) + "</p>")
    return parts
