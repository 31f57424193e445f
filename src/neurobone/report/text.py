"""Sentences generated from a study's numbers (never pre-written conclusions).

Every figure in a sentence is read from the result: the comparisons table, the ANOVA,
the path decomposition, the variability and instrument tables. The wording only follows
the sign of a difference ("raised" / "lowered") and whether its 95 % confidence
interval contains zero; it says nothing the numbers do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from neurobone.study.run import IMPLAUSIBLE
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
        d = abs(row.diff)
        size = f" {_pct(d) if d >= 1 else _num(d)} percentage points"
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
    """Generated sentences by section: ``question`` (the study's own conclusions),
    ``primary``, ``secondary``, ``anova``, ``paths``,
    ``variability``."""
    primary = result.primary
    comp = result.comparisons()
    out: dict[str, list[str]] = {}
    out["question"] = conclusions(result)
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


# ------------------------------------------------------------------ built-in questions
def _days(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if x >= 2 * 365.25:
        return f"{x / 365.25:.1f} years"
    if x >= 60:
        return f"{x / 30.44:.1f} months"
    return f"{x:.3g} days"


def _ci(r) -> str:
    if not np.isfinite(r.ci_low):
        return "no interval"
    return f"95 % CI {_signed(r.ci_low)} to {_signed(r.ci_high)}"


def _diff_unit(result, output: str) -> str:
    value = result.value_of(output)
    if value == "change_pct":
        return " percentage points"
    return _units(result, output)[1]


def time_course_sentences(result) -> list[str]:
    """Half-times of the exercise effect per output, in this study's species and in its
    companion's, and what carrying the kinetics across species rests on."""
    from neurobone.study.questions import half_times

    out = []
    tables = [half_times(result)]
    if result.companion is not None:
        tables.append(half_times(result.companion))
    for res, t in zip([result, result.companion][:len(tables)], tables, strict=True):
        for r in t.itertuples():
            label = res.label(r.output, unit=False)
            u = _units(res, r.output)[1]
            if not np.isfinite(r.t_half_days):
                out.append(f"{res.study.noun(True).capitalize()}: {r.arm} did not change "
                           f"{label} over {r.reference}.")
                continue
            spread = (f" (each {res.study.noun()}'s own half-time: middle half "
                      f"{_days(r.t_half_q25)} to {_days(r.t_half_q75)})"
                      if np.isfinite(r.t_half_q25) else "")
            rising = (f" It was still growing on the last day, so this is the half-time of the "
                      f"effect reached by day {r.last_day:g}, a lower bound on the half-time of "
                      "its plateau." if r.peak_day >= r.last_day else "")
            out.append(f"{res.study.noun(True).capitalize()}: the effect of {r.arm} on {label} "
                       f"reached half its largest value ({_signed(r.peak)}{u}, day "
                       f"{r.peak_day:g}) after {_days(r.t_half_days)}{spread}; on day "
                       f"{r.last_day:g} it was {_signed(r.last)}{u}.{rising}")
    if result.companion is not None:
        a, b = (t.set_index("output")["t_half_days"] for t in tables)
        neural = [o for o in ("connectivity", "sympathetic_tone") if o in a and o in b]
        bone = [(result.primary, result.companion.primary)]
        pairs = [(o, o) for o in neural] + bone
        for o_h, o_m in pairs:
            th, tm = a.get(o_h, np.nan), b.get(o_m, np.nan)
            if np.isfinite(th) and np.isfinite(tm) and tm > 0:
                word = "slower" if th > tm else "faster" if th < tm else "as fast"
                growing = [n for n, t in ((result.study.noun(True), tables[0]),
                                          (result.companion.study.noun(True), tables[1]))
                           if _still_growing(t, o_h if t is tables[0] else o_m)]
                bound = (f"; a lower bound: the effect was still growing at the end in "
                         f"{' and '.join(growing)}" if growing else "")
                out.append(f"{result.label(o_h, unit=False)} ({result.study.noun(True)}) vs "
                           f"{result.companion.label(o_m, unit=False)} "
                           f"({result.companion.study.noun(True)}): half-time "
                           f"{_days(th)} vs {_days(tm)}, {th / tm:.2g} times "
                           f"({word} in {result.study.noun(True)}{bound}).")
        out.append(_kinetics_caveat(result))
    return out


def _still_growing(table, output: str) -> bool:
    row = table[table["output"] == output]
    return bool(len(row)) and float(row["peak_day"].iloc[0]) >= float(row["last_day"].iloc[0])


#: the parameters that set the circuit's kinetics and the remodelling pace
CIRCUIT_KINETICS = ("k_grow", "W_max", "k_cdec")
BONE_PACE = ("tau_acc", "k_tb", "s_OB")


def _kinetics_caveat(result) -> str:
    """What the cross-species kinetics rest on, read from the model's parameter table."""
    table = result.study.model.parameter_table().set_index("name")
    other = result.companion.study.model.parameter_table().set_index("name")
    same = [p for p in CIRCUIT_KINETICS if p in table.index and p in other.index
            and np.isclose(table.loc[p, "value"], other.loc[p, "value"])]
    assumed = [p for p in CIRCUIT_KINETICS if p in table.index
               and "assumption" in str(table.loc[p, "source"])]
    scaled = [f"{p} {table.loc[p, 'value']:.3g} vs {other.loc[p, 'value']:.3g} "
              f"{table.loc[p, 'unit']}"
              for p in BONE_PACE if p in table.index and p in other.index
              and not np.isclose(table.loc[p, "value"], other.loc[p, "value"])]
    both = [p for p in CIRCUIT_KINETICS if p in table.index and p in other.index]
    differ = [f"{p} {table.loc[p, 'value']:.3g} vs {other.loc[p, 'value']:.3g} "
              f"{table.loc[p, 'unit']}" for p in both if p not in same]
    text = "Uncertainty of carrying kinetics across species: "
    if same:
        text += (f"the circuit's kinetics ({', '.join(same)}) have the same values in both "
                 "species")
        if assumed:
            text += (f", and their {result.study.species} sources say they were carried over "
                     "from the mouse as an assumption (human plasticity is an open question "
                     "of the article)")
        if not differ:
            text += (", so the model cannot say how fast the circuit changes in people: its "
                     "neural half-times in people are the mouse's kinetics in a human setting, "
                     "and a difference between the species' neural half-times comes from the "
                     "programmes and the rest of the model, not from the circuit's kinetics")
        text += "."
    if differ:
        text += (f" The circuit's kinetics differ by species ({'; '.join(differ)}), each "
                 "as sourced in the parameter table.")
    text += (" The bone pace differs by species through the remodelling parameters "
             f"({'; '.join(scaled) or 'none differ'}).")
    return text


def ranking_sentences(result, outputs: list[str] | None = None) -> list[str]:
    """Arms ranked per output by their difference from the first arm, with the neural and
    mechanical shares of each arm's exercise effect."""
    from neurobone.study.questions import ranking

    t = ranking(result, outputs)
    out = []
    for o, g in t.groupby("output", sort=False):
        du = _diff_unit(result, o)
        parts = [f"{r.arm} {_signed(r.diff)} ({_ci(r)})" for r in g.itertuples()]
        none = [r.arm for r in g.itertuples()
                if np.isfinite(r.ci_low) and r.ci_low <= 0 <= r.ci_high]
        text = (f"{result.label(o, unit=False)}, ranked by the difference from "
                f"{g['reference'].iloc[0]} on day {result.day:g} ({du.strip() or 'units'}): "
                + "; ".join(parts) + ".")
        if none:
            text += f" Intervals containing 0: {', '.join(none)}."
        out.append(text)
        sh = [f"{r.arm} {_share(r.neural_share)} neural / {_share(r.mechanical_share)} "
              "mechanical" for r in g.itertuples() if np.isfinite(r.neural_share)]
        if sh:
            out.append(f"Paths of the effect on {result.label(o, unit=False)} (mean "
                       f"{noun(result)}): " + "; ".join(sh) + ".")
    return out


def exercise_types_sentences(result) -> list[str]:
    sites = [o for o in result.outputs if o.startswith("abmd") or o in ("bv_tv", "ct_th")]
    return ranking_sentences(result, sites or [result.primary])


def regularity_sentences(result) -> list[str]:
    """Schedules of the same weekly volume ranked, and whether the benefit rises or falls
    with the number of sessions a week."""
    from neurobone.study.questions import ranking, sessions

    sites = [o for o in result.outputs if o.startswith("abmd") or o in ("bv_tv", "ct_th")]
    out = ranking_sentences(result, sites or [result.primary])
    t = ranking(result, sites or [result.primary])
    vols = {a: sessions(result, a) for a in t["arm"].unique()}
    minutes = sorted({v[1] for v in vols.values()})
    if len(minutes) > 1:
        out.append("Note: the schedules do not have the same weekly minutes ("
                   + ", ".join(f"{a} {v[1]:g} min" for a, v in vols.items()) + ").")
    for o, g in t.groupby("output", sort=False):
        n = np.array([vols[a][0] for a in g["arm"]], float)
        d = g["diff"].to_numpy(float)
        if len(n) < 3 or np.ptp(n) == 0:
            continue
        rho = float(pd.Series(n).corr(pd.Series(d), method="spearman"))
        word = ("rose" if rho > 0 else "fell") + " with the number of sessions a week"
        if rho == 0:
            word = "did not follow the number of sessions a week"
        best = g.iloc[0]
        out.append(f"{result.label(o, unit=False)}: the benefit {word} (Spearman rank "
                   f"correlation {rho:+.2f} over {len(n)} schedules); the largest was "
                   f"{best.arm}.")
    pairs = [(a, b) for a, b in result.study.comparison_pairs
             if a in vols and b in vols and vols[a][0] != vols[b][0]]
    comp = result.comparisons(outputs=sites or [result.primary])
    for a, b in pairs:
        for r in comp[(comp["arm"] == a) & (comp["reference"] == b)].itertuples():
            out.append(comparison_sentence(result, r))
    out += _detectable_sentences(result, t)
    return out


def _detectable_sentences(result, ranked) -> list[str]:
    """The spread between the exercise arms set against the change one subject's two
    measurements can show by chance (1.96 × √2 × the instrument's CV, in percent):
    what a paired simulation resolves in a group mean may be invisible in one person."""
    out = []
    for o, g in ranked.groupby("output", sort=False):
        inst = result.instruments.get(o)
        if inst is None or result.value_of(o) != "change_pct" or inst.cv <= 0 or len(g) < 2:
            continue
        spread = float(g["diff"].max() - g["diff"].min())
        lsc = 1.96 * np.sqrt(2) * 100 * inst.cv
        out.append(f"{result.label(o, unit=False)}: the schedules differ by at most "
                   f"{_num(spread)} percentage points, {_num(100 * spread / lsc)} % of the change "
                   f"two {inst.method} measurements of one {noun(result)} can differ by chance "
                   f"(1.96 × √2 × its {100 * inst.cv:.3g} % CV = {lsc:.2g} %).")
    return out


#: a difference whose size and interval are all below this (in the output's difference
#: unit) is the integrator's rounding of no effect, not an effect to describe
NO_EFFECT = 1e-9


def age_sentences(result) -> list[str]:
    """The benefit over a same-age control by age at the start, and its decline."""
    from neurobone.study.questions import benefit_by_age

    rows, fits = benefit_by_age(result)
    out = []
    for f in fits.itertuples():
        g = rows[rows["output"] == f.output]
        du = _diff_unit(result, f.output)
        size = np.nanmax(np.abs(g[["diff", "ci_low", "ci_high"]].to_numpy(dtype=float)))
        if size < NO_EFFECT:  # rounding error of an output the programme does not move
            out.append(f"The programme did not change {result.label(f.output, unit=False)} at "
                       f"any age under the {result.study.hypothesis} hypothesis (every "
                       f"difference and interval bound below {NO_EFFECT:g}{du}).")
            continue
        parts = [f"at {r.age_years:g}: {_signed(r.diff)} ({_ci(r)})" for r in g.itertuples()]
        out.append(f"Benefit of the programme on {result.label(f.output, unit=False)} over a "
                   f"same-age control by day {result.day:g}{du and ' (' + du.strip() + ')'}: "
                   + "; ".join(parts) + ".")
        if np.isfinite(f.slope_per_decade):
            trend = ("shrank" if f.slope_per_decade * np.sign(f.benefit_youngest) < 0
                     else "grew")
            test = ""
            if np.isfinite(f.slope_p):
                contains = "contains" if f.slope_ci_low <= 0 <= f.slope_ci_high else "excludes"
                test = (f", 95 % CI {_signed(f.slope_ci_low)} to {_signed(f.slope_ci_high)} "
                        f"(each {noun(result)}'s own slope, paired; {format_p(f.slope_p)}; the "
                        f"interval {contains} 0)")
                if contains == "contains":
                    trend = f"did not change clearly (point estimate: {trend})"
            ratio = (f"; at {f.oldest:g} it was {100 * f.ratio_oldest_to_youngest:.0f} % of "
                     f"its value at {f.youngest:g}" if np.isfinite(f.ratio_oldest_to_youngest)
                     else "")
            out.append(f"The benefit on {result.label(f.output, unit=False)} {trend} with age "
                       f"at the start: slope {_signed(f.slope_per_decade)}{du} per decade of "
                       f"age (least-squares line through the {len(g)} ages){test}{ratio}.")
    fac = result.factorial() if not result.study.paired else []
    for r in fac[fac["term"].str.contains(":")].itertuples() if len(fac) else []:
        if r.output in set(fits["output"]):
            out.append(f"{result.label(r.output, unit=False)}: age × exercise interaction "
                       f"F({r.df:g}, {r.df_resid:g}) = {r.F:.3g}, {format_p(r.p)} (factorial "
                       "ANOVA).")
    return out


def early_intervention_sentences(result) -> list[str]:
    """What starting earlier is worth: each comparison of two start days."""
    from neurobone.study.questions import start_value

    out = []
    t = start_value(result)
    for r in t.itertuples():
        du = " percentage points" if r.value == "change_pct" else _units(result, r.output)[1]
        label = result.label(r.output, unit=False)
        change = (" (percent change from day 0)" if r.value == "change_pct"
                  else " (change from day 0)" if r.value == "change" else "")
        if np.isfinite(r.years_earlier):
            what = (f"Starting at {r.start_age:.0f} instead of {r.reference_start_age:.0f} "
                    f"({r.years_earlier:.3g} years earlier)")
        else:
            what = f"Starting at {r.start_age:.0f} rather than never"
        if not np.isfinite(r.diff):
            out.append(f"{what}: {label} could not be compared.")
            continue
        word = "higher" if r.diff > 0 else "lower" if r.diff < 0 else "the same"
        out.append(f"{what}: {label}{change} at {r.age_at_day:.0f} (day {r.day:g}) "
                   f"{_signed(r.diff)}{du} {word} ({_ci(r)}, Holm-adjusted "
                   f"{format_p(r.p_holm)}).")
    prim = t[(t["output"] == result.primary)]
    base = prim[~np.isfinite(prim["years_earlier"])]
    if len(base) and base["diff"].iloc[0] != 0:
        g0 = float(base["diff"].iloc[0])
        for r in prim[np.isfinite(prim["years_earlier"])].itertuples():
            if r.reference == base["arm"].iloc[0]:
                out.append(f"On {result.label(r.output, unit=False)}, starting "
                           f"{r.years_earlier:.3g} years earlier than at "
                           f"{r.reference_start_age:.0f} added {100 * r.diff / g0:.0f} % to the "
                           f"gain of starting at {r.reference_start_age:.0f} rather than never.")
    return out


def detraining_sentences(result) -> list[str]:
    """The gain at the stop, what is kept at the end, and the half-life of the loss."""
    from neurobone.study.questions import detraining

    out = []
    for r in detraining(result).itertuples():
        label = result.label(r.output, unit=False)
        u = _units(result, r.output)[1]
        if r.at_stop == 0 or not np.isfinite(r.at_stop):
            out.append(f"{label}: no effect of {r.arm} at the stop to lose.")
            continue
        text = (f"{label}: the effect of {r.arm} over {r.reference} was {_signed(r.at_stop)}{u} "
                f"at the stop (day {r.stop_day:g}) and {_signed(r.last)}{u} on day "
                f"{r.last_day:g}, ")
        if r.kept < 0:
            text += (f"reversed: it overshot to the other side of {r.reference} "
                     f"({100 * -r.kept:.0f} % of the effect at the stop, opposite in sign)")
        elif r.kept > 1.05:
            text += f"{100 * r.kept:.0f} % of it: it went on growing after the stop"
        else:
            text += f"{100 * r.kept:.0f} % of it kept"
        if r.half_life_kind == "observed":
            text += f"; half of it was lost {_days(r.half_life_days)} after the stop"
        elif r.half_life_kind == "extrapolated":
            text += (f"; it had not halved by the end: a log-linear fit after the stop gives a "
                     f"half-life of {_days(r.half_life_days)} (extrapolated)")
        elif r.kept <= 1.05:
            text += "; it did not decline after the stop"
        out.append(text + ".")
    comp = result.comparisons(outputs=[result.primary])
    for r in comp.itertuples():
        out.append(comparison_sentence(result, r))
    return out


#: the conclusions of each built-in question (the study's ``conclusions:`` field)
QUESTION_SENTENCES = {
    "time-course": time_course_sentences,
    "exercise-types": exercise_types_sentences,
    "age": age_sentences,
    "early-intervention": early_intervention_sentences,
    "detraining": detraining_sentences,
    "regularity": regularity_sentences,
}


def conclusions(result) -> list[str]:
    """The study's own conclusions (its ``conclusions:`` question), generated from its
    numbers; empty for a study without one."""
    kind = result.study.conclusions
    lines = QUESTION_SENTENCES[kind](result) if kind else []
    caveats = [n for n in result.notes if n.startswith(IMPLAUSIBLE)]
    if lines and caveats:
        lines = [f"Caution: {len(caveats)} output(s) reach values almost no subject has "
                 "(see the notes); the sentences below are what the model computes, not "
                 "findings.", *lines]
    return lines
