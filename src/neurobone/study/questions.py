"""The numbers behind the built-in studies' conclusions (docs/studies.md, built-in studies).

Each function reads a :class:`~neurobone.study.run.StudyResult` and returns a table; the
sentences of the report (:mod:`neurobone.report.text`) are generated from these tables,
never written in advance. Kinetics (half-times, the loss after stopping) are read from
the arms' mean ``true`` values (the model's value of each subject, without instrument
error; the measured values for a lab's own data), so that a half-time is not set by one
noisy reading; the differences between arms with their intervals come from the study's
comparisons (:meth:`StudyResult.comparisons`).

- :func:`half_times`: how fast an arm's exercise effect comes (time-course);
- :func:`ranking`: arms ranked by their effect per output, with the path shares
  (exercise-types, regularity);
- :func:`benefit_by_age`: the benefit over a same-age control by age at the start, and
  its slope per decade (age);
- :func:`start_value`: what an earlier start is worth (early-intervention);
- :func:`detraining`: the gain at the stop, what is kept at the end and the half-life of
  the loss (detraining).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25


def _value(result) -> str:
    return "measured" if result.source == "data" else "true"


def effect_curve(result, arm: str, reference: str, output: str) -> pd.DataFrame:
    """``arm``'s mean minus ``reference``'s mean of ``output`` on every measured day
    (``effect``), and that difference's change from the first day (``delta``)."""
    a = result.animals
    a = a[a["output"] == output]
    means = a.groupby(["arm", "day"])[_value(result)].mean()
    d = (means.loc[arm] - means.loc[reference]).sort_index()
    return pd.DataFrame({"day": d.index.to_numpy(float), "effect": d.to_numpy(float),
                         "delta": d.to_numpy(float) - float(d.iloc[0])})


def _first_crossing(days: np.ndarray, y: np.ndarray, level: float) -> float:
    """The first day (linear interpolation between measured days) on which ``y`` reaches
    ``level`` (``y`` starting below it); NaN if it never does."""
    for k in range(1, len(y)):
        if y[k] >= level:
            if y[k] == y[k - 1]:
                return float(days[k])
            f = (level - y[k - 1]) / (y[k] - y[k - 1])
            return float(days[k - 1] + np.clip(f, 0.0, 1.0) * (days[k] - days[k - 1]))
    return float("nan")


def half_time(days: np.ndarray, delta: np.ndarray) -> tuple[float, float, float]:
    """``(t_half, peak, peak_day)`` of a response ``delta`` (0 on the first day): the
    first day it reaches half its largest absolute value, that value (signed) and its
    day."""
    if len(delta) < 2 or not np.all(np.isfinite(delta)):
        return float("nan"), float("nan"), float("nan")
    k = int(np.argmax(np.abs(delta)))
    peak = float(delta[k])
    if peak == 0:
        return float("nan"), 0.0, float("nan")
    return _first_crossing(days, np.abs(delta), abs(peak) / 2), peak, float(days[k])


def half_times(result, arm: str | None = None, reference: str | None = None,
               outputs: list[str] | None = None) -> pd.DataFrame:
    """How fast ``arm``'s effect over ``reference`` comes, per output (default: the
    study's first comparison, every output): the half-time (first day the mean effect
    reaches half its largest value), the largest effect and its day, the effect on the
    last day, and, in a paired study, the spread of the subjects' own half-times
    (quartiles)."""
    pairs = result.study.comparison_pairs
    if arm is None or reference is None:
        if not pairs:
            return pd.DataFrame(columns=HALF_TIME_COLUMNS)
        arm, reference = arm or pairs[0][0], reference or pairs[0][1]
    rows = []
    for o in outputs or result.outputs:
        c = effect_curve(result, arm, reference, o)
        t, peak, peak_day = half_time(c["day"].to_numpy(), c["delta"].to_numpy())
        q25 = q75 = float("nan")
        if result.study.paired:
            a = result.animals[result.animals["output"] == o]
            w = a.pivot_table(index=["animal", "day"], columns="arm", values=_value(result))
            own = []
            for _, g in (w[arm] - w[reference]).groupby(level="animal"):
                g = g.droplevel("animal").sort_index()
                own.append(half_time(g.index.to_numpy(float),
                                     (g - g.iloc[0]).to_numpy(float))[0])
            own = np.array(own)
            if np.isfinite(own).sum() >= 2:
                q25, q75 = np.nanpercentile(own, [25, 75])
        rows.append(dict(species=result.study.species, arm=arm, reference=reference, output=o,
                         t_half_days=t, peak=peak, peak_day=peak_day,
                         last=float(c["delta"].iloc[-1]), last_day=float(c["day"].iloc[-1]),
                         t_half_q25=q25, t_half_q75=q75))
    return pd.DataFrame(rows, columns=HALF_TIME_COLUMNS)


HALF_TIME_COLUMNS = ["species", "arm", "reference", "output", "t_half_days", "peak", "peak_day",
                     "last", "last_day", "t_half_q25", "t_half_q75"]


def ranking(result, outputs: list[str] | None = None, reference: str | None = None
            ) -> pd.DataFrame:
    """Every arm compared with ``reference`` (default: the first arm), ranked per output
    by the difference (largest first), with the neural and mechanical shares of the arm's
    exercise effect where the study split it (``decompose_every_arm``)."""
    ref = reference or result.arms[0]
    comp = result.comparisons(outputs=outputs)
    comp = comp[comp["reference"] == ref].copy()
    dec = result.decomposition()
    shares = (dec.set_index(["arm", "output"])[["neural_share", "mechanical_share"]]
              if len(dec) else None)
    neural, mech = [], []
    for r in comp.itertuples():
        key = (r.arm, r.output)
        ok = shares is not None and key in shares.index
        neural.append(float(shares.loc[key, "neural_share"]) if ok else float("nan"))
        mech.append(float(shares.loc[key, "mechanical_share"]) if ok else float("nan"))
    comp["neural_share"], comp["mechanical_share"] = neural, mech
    comp = comp.sort_values(["output", "diff"], ascending=[True, False], kind="stable")
    comp["rank"] = comp.groupby("output").cumcount() + 1
    order = {o: i for i, o in enumerate(result.outputs)}
    comp = comp.sort_values(["output", "rank"], key=lambda s: s.map(order)
                            if s.name == "output" else s, kind="stable")
    return comp[["output", "rank", "arm", "reference", "diff", "ci_low", "ci_high", "p_holm",
                 "neural_share", "mechanical_share"]].reset_index(drop=True)


def sessions(result, arm: str) -> tuple[int, float]:
    """``(sessions per week, minutes per week)`` of an arm's exercise."""
    blocks = result.study.arm(arm).exercise
    n = sum(int(b.days_per_week) for b in blocks)
    return n, float(sum(b.days_per_week * b.minutes for b in blocks))


def benefit_by_age(result, outputs: list[str] | None = None) -> tuple[pd.DataFrame,
                                                                      pd.DataFrame]:
    """The benefit of each exercise arm over its same-age reference (the comparisons whose
    two arms share an age) by age at the start, per output; and per output the
    least-squares slope of the benefit per decade of age and the ratio of the oldest
    age's benefit to the youngest's."""
    s = result.study
    comp = result.comparisons(outputs=outputs)
    age = {a: s.subject_of(a).age_years for a in result.arms}
    same = [age[a] == age[b] for a, b in zip(comp["arm"], comp["reference"], strict=True)]
    comp = comp[same].copy()
    comp.insert(0, "age_years", [age[a] for a in comp["arm"]])
    order = {o: i for i, o in enumerate(result.outputs)}
    comp = comp.sort_values(["output", "age_years"], key=lambda c: c.map(order)
                            if c.name == "output" else c, kind="stable")
    fits = []
    for o, g in comp.groupby("output", sort=False):
        x, y = g["age_years"].to_numpy(float), g["diff"].to_numpy(float)
        ok = np.isfinite(y)
        slope = (float(np.polyfit(x[ok], y[ok], 1)[0]) * 10 if ok.sum() >= 2
                 and np.ptp(x[ok]) > 0 else float("nan"))
        ratio = (float(y[-1] / y[0]) if len(y) >= 2 and np.isfinite(y[0]) and y[0] != 0
                 else float("nan"))
        lo, hi, p = _own_slopes(result, g, o) if s.paired else (np.nan, np.nan, np.nan)
        fits.append(dict(output=o, youngest=float(x[0]), oldest=float(x[-1]),
                         benefit_youngest=float(y[0]), benefit_oldest=float(y[-1]),
                         slope_per_decade=slope, slope_ci_low=lo, slope_ci_high=hi,
                         slope_p=p, ratio_oldest_to_youngest=ratio))
    return (comp[["age_years", "output", "arm", "reference", "diff", "ci_low", "ci_high",
                  "p_holm"]].reset_index(drop=True), pd.DataFrame(fits))


def _own_slopes(result, pairs: pd.DataFrame, output: str) -> tuple[float, float, float]:
    """In a paired study: each subject's own benefit at each age (its value in the
    exercise arm minus its value in the same-age reference), the least-squares slope of
    those benefits per decade of age for each subject, and the 95 % CI and two-sided
    p-value (one-sample t-test) of the mean slope: the test of "the benefit depends on
    age" that respects the pairing."""
    from scipy import stats as sps

    a = result.animals
    a = a[(a["output"] == output) & np.isclose(a["day"], result.day)]
    w = a.pivot_table(index="animal", columns="arm", values=result.value_of(output))
    x = pairs["age_years"].to_numpy(float)
    ben = np.column_stack([(w[r.arm] - w[r.reference]).to_numpy(float)
                           for r in pairs.itertuples()])
    ok = np.all(np.isfinite(ben), axis=1)
    if ok.sum() < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan"), float("nan")
    xc = x - x.mean()
    slopes = 10 * (ben[ok] - ben[ok].mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    n = len(slopes)
    m, se = float(slopes.mean()), float(slopes.std(ddof=1) / np.sqrt(n))
    if se == 0:
        return m, m, 0.0 if m != 0 else 1.0
    q = float(sps.t.ppf(0.975, n - 1))
    p = float(2 * sps.t.sf(abs(m / se), n - 1))
    return m - q * se, m + q * se, p


def start_day(result, arm: str) -> float:
    """The day an arm's exercise starts (NaN without exercise)."""
    blocks = result.study.arm(arm).exercise
    return min(float(b.start_day) for b in blocks) if blocks else float("nan")


def start_value(result, outputs: list[str] | None = None) -> pd.DataFrame:
    """Every comparison of two arms that start exercise on different days (or one never
    does), per output: the ages at the start, the years earlier, and the difference with
    its interval."""
    s = result.study
    comp = result.comparisons(outputs=outputs)
    rows = []
    for r in comp.itertuples():
        d_arm, d_ref = start_day(result, r.arm), start_day(result, r.reference)
        if np.isfinite(d_arm) and np.isfinite(d_ref) and d_arm == d_ref:
            continue
        a0 = s.subject_of(r.arm).age_years
        rows.append(dict(output=r.output, arm=r.arm, reference=r.reference,
                         start_age=a0 + d_arm / DAYS_PER_YEAR if np.isfinite(d_arm) else np.nan,
                         reference_start_age=(a0 + d_ref / DAYS_PER_YEAR if np.isfinite(d_ref)
                                              else np.nan),
                         years_earlier=((d_ref - d_arm) / DAYS_PER_YEAR
                                        if np.isfinite(d_ref) else np.nan),
                         day=r.day, age_at_day=a0 + r.day / DAYS_PER_YEAR, value=r.value,
                         diff=r.diff, ci_low=r.ci_low, ci_high=r.ci_high, p_holm=r.p_holm))
    return pd.DataFrame(rows, columns=["output", "arm", "reference", "start_age",
                                       "reference_start_age", "years_earlier", "day",
                                       "age_at_day", "value", "diff", "ci_low", "ci_high",
                                       "p_holm"])


def stop_day(result, arm: str) -> float:
    """The day an arm's exercise ends (NaN if it runs to the end or there is none)."""
    blocks = result.study.arm(arm).exercise
    if not blocks:
        return float("nan")
    end = max(float(b.end_day) if b.end_day is not None else np.inf for b in blocks)
    return end if end < result.study.duration_days else float("nan")


def detraining(result, outputs: list[str] | None = None) -> pd.DataFrame:
    """For the arm whose exercise stops before the end, against the arm without exercise
    (the first such arm), per output: the effect (change from day 0 of the mean
    difference) on the last measured day up to the stop, on the last day, the share kept,
    and the half-life of the loss: the days after the stop until the effect falls to half
    its value at the stop (interpolated between measured days), or, when it does not
    within the study, extrapolated from a log-linear fit of the effect after the stop
    (``half_life_kind``)."""
    arms = result.arms
    stopped = [a for a in arms if np.isfinite(stop_day(result, a))]
    never = [a for a in arms if not result.study.arm(a).exercise]
    if not stopped or not never:
        return pd.DataFrame(columns=DETRAINING_COLUMNS)
    arm, ref = stopped[0], never[0]
    stop = stop_day(result, arm)
    rows = []
    for o in outputs or result.outputs:
        c = effect_curve(result, arm, ref, o)
        days, y = c["day"].to_numpy(), c["delta"].to_numpy()
        before = days <= stop + 1e-9
        if not before.any() or before.all():
            continue
        k = int(np.nonzero(before)[0][-1])
        at_stop, last = float(y[k]), float(y[-1])
        kept = last / at_stop if at_stop != 0 else float("nan")
        after_d, after_y = days[k:], y[k:]
        hl, kind = float("nan"), "none"
        if at_stop != 0:
            frac = after_y / at_stop
            t = _first_crossing(after_d, -frac, -0.5)
            if np.isfinite(t):
                hl, kind = t - days[k], "observed"
            else:
                ok = frac > 0
                if ok.sum() >= 3 and frac[ok][-1] < frac[ok][0]:
                    slope = np.polyfit(after_d[ok] - days[k], np.log(frac[ok]), 1)[0]
                    if slope < 0:
                        hl, kind = float(np.log(2) / -slope), "extrapolated"
        rows.append(dict(output=o, arm=arm, reference=ref, stop_day=days[k], at_stop=at_stop,
                         last_day=float(days[-1]), last=last, kept=kept, half_life_days=hl,
                         half_life_kind=kind))
    return pd.DataFrame(rows, columns=DETRAINING_COLUMNS)


DETRAINING_COLUMNS = ["output", "arm", "reference", "stop_day", "at_stop", "last_day", "last",
                      "kept", "half_life_days", "half_life_kind"]
