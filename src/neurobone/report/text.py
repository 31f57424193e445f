"""Sentences generated from a study's numbers (never pre-written conclusions).

Every figure in a sentence is read from the result: the comparisons table, the ANOVA,
the path decomposition, the variability and instrument tables. The wording only follows
the sign of a difference ("raised" / "lowered") and whether its 95 % confidence
interval contains zero; it says nothing the numbers do not.
"""

from __future__ import annotations

import numpy as np

from neurobone.study.stats import format_p


def _num(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:.3g}"


def _signed(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:+.3g}"


def _units(result, output: str) -> tuple[str, str]:
    """Unit suffixes for values and for differences (percentage points for % outputs)."""
    unit = result.units.get(output, "")
    if not unit or unit == "1":
        return "", ""
    if unit == "%":
        return " %", " percentage points"
    return f" {unit}", f" {unit}"


def _pct(x: float) -> str:
    return "0" if abs(x) < 0.05 else f"{x:.1f}"


def comparison_sentence(result, row) -> str:
    """One comparison as a sentence: direction, percent size with CI, p, then absolute values."""
    label = result.label(row.output, unit=False)
    u, du = _units(result, row.output)
    value = getattr(row, "value", result.value_of(row.output))
    first = float(result.animals["day"].min())
    if value == "change_pct":
        label = f"the change in {label} from day {first:g} was"
        u, du = " %", " percentage points"
    elif value == "change":
        label = f"the change in {label} from day {first:g} was"
    head = f"{row.arm} vs {row.reference}: {label}"
    if not np.isfinite(row.diff):
        return f"{head} could not be compared (missing values)."
    values = f"{_num(row.mean_arm)} vs {_num(row.mean_reference)}{u} on day {row.day:g}"
    if value == "change_pct":
        values = (f"mean change {_signed(row.mean_arm)} % vs {_signed(row.mean_reference)} % "
                  f"by day {row.day:g}")
    elif value == "change":
        values = (f"mean change {_signed(row.mean_arm)}{u} vs {_signed(row.mean_reference)}{u} "
                  f"by day {row.day:g}")
    if row.diff == 0:
        return f"{head} the same in both arms ({values})."
    word = "higher" if row.diff > 0 else "lower"
    size = f" {_pct(abs(row.pct_diff))} %" if np.isfinite(row.pct_diff) else ""
    if value == "change_pct":
        size = f" {_pct(abs(row.diff))} percentage points"
    elif value == "change":
        size = f" {_num(abs(row.diff))}{du}"
    if not np.isfinite(row.ci_low):
        return (f"{head}{size} {word} ({values}, a difference of {_signed(row.diff)}{du}; no "
                "interval or p-value: no spread within the arms).")
    pct_ci = (f"95 % CI {row.pct_ci_low:+.1f} to {row.pct_ci_high:+.1f} %; "
              if np.isfinite(row.pct_ci_low) else "")
    contains = "contains" if row.ci_low <= 0 <= row.ci_high else "excludes"
    test = "paired t-test" if result.study.paired else "Welch"
    return (f"{head}{size} {word} ({pct_ci}{test} {format_p(row.p)}, Holm-adjusted "
            f"{format_p(row.p_holm)}): {values}, a difference of {_signed(row.diff)}{du} "
            f"(95 % CI {_signed(row.ci_low)} to {_signed(row.ci_high)}; "
            f"the interval {contains} 0).")


def anova_sentence(result, row) -> str:
    label = result.label(row.output, unit=False)
    if not np.isfinite(row.F):
        return f"{label}: one-way ANOVA across arms not available."
    F = f"{row.F:.1f}" if row.F >= 10 else f"{row.F:.3g}"
    return (f"One-way ANOVA of {label} across the {row.n_arms} arms on day {row.day:g}: "
            f"F({row.df_between:g}, {row.df_within:g}) = {F}, {format_p(row.p)}.")


def decomposition_sentences(result) -> list[str]:
    df = result.decomposition()
    out = []
    for r in df.itertuples():
        label = result.label(r.output, unit=False)
        u, du = _units(result, r.output)
        if not np.isfinite(r.neural_share):
            out.append(f"In the mean {noun(result)} of arm {r.arm!r}, exercise did not change "
                       f"{label}; there is no effect to split into paths.")
            continue
        out.append(
            f"In the mean {noun(result)} of arm {r.arm!r}, exercise changed {label} by "
            f"{_signed(r.effect)}{du} on day {r.day:g} ({_num(r.no_exercise)}{u} without exercise, "
            f"{_num(r.full)}{u} with it). Switching off the neural path removes "
            f"{_share(r.neural_share)} of that effect, switching off the mechanical path "
            f"{_share(r.mechanical_share)}; the interaction of the two paths is "
            f"{_share(r.interaction_share)}.")
    return out


def attribution_sentences(result) -> list[str]:
    """Each drug-and-exercise arm's effect split into drug, neural and mechanical parts
    (:meth:`StudyResult.attribution`), worded from its numbers."""
    from neurobone.scenario.run import attribution_sentences as sentences

    if not hasattr(result, "attribution"):
        return []
    df = result.attribution()
    return [f"In the mean {noun(result)} of arm {arm!r}: {text}"
            for arm, g in df.groupby("arm", sort=False) for text in sentences(g)]


def noun(result, plural: bool = False) -> str:
    """What a study's subjects are called (:meth:`Study.noun`): mice, women, men or
    participants."""
    return result.study.noun(plural)


def _share(x: float) -> str:
    v = 100.0 * x
    return "0 %" if abs(v) < 0.5 else f"{v:.0f} %"


def variability_sentence(result) -> str:
    if result.source == "data":
        return (f"Measured data: the spread within an arm is that of the {noun(result, True)} "
                "measured (biology and measurement error together).")
    vs = result.variations
    if not vs:
        return (f"No model parameter varies between {noun(result, True)} (the model declares "
                "no cv > 0), so the spread within an arm is instrument error only.")
    cvs = [100 * v.cv for v in vs]
    rng = f"{min(cvs):.0f} %" if min(cvs) == max(cvs) else f"{min(cvs):.0f}-{max(cvs):.0f} %"
    return (f"{len(vs)} model parameter(s) vary between {noun(result, True)} (log-normal, CV "
            f"{rng}: {', '.join(v.name for v in vs)}); each {noun(result)}'s outcomes are then "
            "measured with instrument error.")


def findings(result) -> dict[str, list[str]]:
    """Generated sentences by section: ``primary``, ``secondary``, ``anova``, ``paths``,
    ``variability``."""
    primary = result.primary
    comp = result.comparisons()
    out: dict[str, list[str]] = {}
    out["primary"] = [comparison_sentence(result, r)
                      for r in comp[comp["output"] == primary].itertuples()]
    secondary = []
    pairs = result.study.comparison_pairs
    if pairs:
        first = pairs[0]
        for o in result.outputs:
            if o == primary:
                continue
            sel = comp[(comp["output"] == o) & (comp["arm"] == first[0])
                       & (comp["reference"] == first[1])]
            secondary += [comparison_sentence(result, r) for r in sel.itertuples()]
    out["secondary"] = secondary
    if not pairs:
        out["primary"] = ["A study of one arm has no comparisons between arms; the table "
                          "below gives each outcome's mean ± SD."]
    an = result.anova()
    out["anova"] = ([anova_sentence(result, r) for r in an.itertuples()]
                    if an["n_arms"].max() > 1 else [])
    out["paths"] = decomposition_sentences(result)
    out["attribution"] = attribution_sentences(result)
    out["factorial"] = factorial_sentences(result)
    out["variability"] = [variability_sentence(result)]
    return out


def factorial_sentences(result) -> list[str]:
    """The interaction of a factorial design, per output, from :meth:`StudyResult.factorial`."""
    out = []
    for r in result.factorial().itertuples():
        if ":" not in r.term:
            continue
        label = result.label(r.output, unit=False)
        text = (f"{label}: interaction {r.term.replace(':', ' × ')} on day {r.day:g}, "
                f"F({r.df:g}, {r.df_resid:g}) = {r.F:.3g}, {format_p(r.p)}")
        if np.isfinite(r.estimate):
            text += (f"; difference of differences {_signed(r.estimate)} (95 % CI "
                     f"{_signed(r.ci_low)} to {_signed(r.ci_high)})")
        out.append(text + ".")
    return out
