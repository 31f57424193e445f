"""Statistics of a study, as a reviewer expects them.

* :func:`summarize`: per arm, day and output: n, mean, SD, SEM and the t-based 95 %
  confidence interval of the mean.
* :func:`compare`: for each ``(arm, reference)`` pair: the difference in means with its
  95 % confidence interval (Welch: unequal variances, Satterthwaite degrees of freedom),
  the percent difference relative to the reference mean (its interval is the
  difference's interval divided by the reference mean, i.e. the reference mean is
  treated as known), Welch's t-test p-value and the Holm-adjusted p-value. The Holm
  family is the set of comparisons of one outcome on one day.
* :func:`anova`: one-way ANOVA across all arms (statsmodels OLS ``value ~ C(arm)``)
  and Welch's ANOVA, which does not assume equal variances
  (``statsmodels.stats.oneway.anova_oneway(use_var="unequal")``).
* :func:`paired`: for a paired design (every arm the same subjects), the mean of the
  subjects' differences with its t interval and the paired t-test
  (``scipy.stats.ttest_rel``).
* :func:`ancova`: each comparison adjusted for the baseline (statsmodels OLS
  ``follow-up ~ arm + baseline``), the alternative to change scores.
* :func:`mixed`: a linear mixed model of every measurement day (statsmodels
  ``MixedLM``: ``value ~ C(arm) * day``, a random intercept per subject): each arm's
  difference in slope per day from the reference arm.
* :func:`factorial`: two-way ANOVA of a factorial design with the interaction term
  (statsmodels OLS ``value ~ C(A) * C(B)``, type II sums of squares) and the
  interaction contrast (difference of differences) with its interval.
* :func:`mediation`: the indirect effect of an arm through a mediator, product of
  coefficients ``a*b`` (OLS ``M ~ X`` and ``Y ~ X + M``) with a seeded percentile
  bootstrap interval (subjects resampled within arm).

Every function takes the tidy animals table (``arm, animal, day, output`` plus a value
column) and returns a DataFrame.

The tests and corrections are the libraries': Welch's test is
``scipy.stats.ttest_ind(equal_var=False)`` with its ``confidence_interval``; Holm's
adjustment gives ``statsmodels.stats.multitest.multipletests(method="holm")``'s values
(:func:`holm`, computed here: statsmodels collects garbage on every call). Degenerate
inputs (fewer than two values in a group, every group constant) give NaN statistics,
decided here before the libraries are called; warnings the libraries raise otherwise
(e.g. SciPy's precision-loss warning for nearly identical values) reach the caller.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps

#: confidence level of every interval
LEVEL = 0.95
#: two days closer than this are the same measurement day (measurement days are given in
#: days; NumPy's default tolerance, 1e-8 absolute, would merge day 0 with a day 1e-9)
DAY_TOL = 1e-12


def on_day(days, day: float) -> np.ndarray:
    """Mask of the rows of ``days`` that are measurement day ``day``."""
    return np.isclose(np.asarray(days, float), float(day), rtol=0.0, atol=DAY_TOL)


def _ordered(df: pd.DataFrame, arms: list[str] | None) -> list[str]:
    return list(arms) if arms is not None else list(dict.fromkeys(df["arm"]))


def summarize(animals: pd.DataFrame, value: str = "measured", arms: list[str] | None = None
              ) -> pd.DataFrame:
    """Mean, SD, SEM and 95 % CI of the mean per arm, day and output."""
    arms = _ordered(animals, arms)
    rows = []
    for (out, day, arm), g in animals.groupby(["output", "day", "arm"], sort=False):
        x = g[value].to_numpy(float)
        x = x[np.isfinite(x)]
        n = len(x)
        mean = float(np.mean(x)) if n else np.nan
        sd = float(np.std(x, ddof=1)) if n > 1 else np.nan
        sem = sd / math.sqrt(n) if n > 1 else np.nan
        h = sps.t.ppf(0.5 + LEVEL / 2, n - 1) * sem if n > 1 else np.nan
        rows.append({"output": out, "day": day, "arm": arm, "n": n, "mean": mean, "sd": sd,
                     "sem": sem, "ci_low": mean - h, "ci_high": mean + h})
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df["arm"] = pd.Categorical(df["arm"], categories=arms, ordered=True)
    outs = list(dict.fromkeys(animals["output"]))
    df["output"] = pd.Categorical(df["output"], categories=outs, ordered=True)
    df = df.sort_values(["output", "day", "arm"]).reset_index(drop=True)
    df["arm"] = df["arm"].astype(str)
    df["output"] = df["output"].astype(str)
    return df


def welch(x: np.ndarray, y: np.ndarray, level: float = LEVEL) -> dict:
    """Welch's comparison of ``mean(x) - mean(y)``: difference, SE, df, CI, t and p.

    ``scipy.stats.ttest_ind(x, y, equal_var=False)`` and its ``confidence_interval``;
    non-finite values are dropped first. With fewer than two values in a group, or both
    groups constant, only ``diff`` is defined (the rest is NaN). With one group
    constant, Welch's test is the one-sample test of the other group against that
    constant (``scipy.stats.ttest_1samp``; SciPy's ``ttest_ind`` would warn of precision
    loss for the exactly constant group).
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    nx, ny = len(x), len(y)
    diff = float(np.mean(x) - np.mean(y)) if nx and ny else np.nan
    out = {"diff": diff, "se": np.nan, "df": np.nan, "ci_low": np.nan, "ci_high": np.nan,
           "t": np.nan, "p": np.nan}
    if nx < 2 or ny < 2:
        return out
    const_x, const_y = np.ptp(x) == 0, np.ptp(y) == 0
    if const_x and const_y:
        return out
    se = math.sqrt(np.var(x, ddof=1) / nx + np.var(y, ddof=1) / ny)
    if const_x or const_y:
        # mean(x) - mean(y) = sign * (mean(v) - c): the varying group v against the constant c
        v, c, sign = (y, float(np.mean(x)), -1.0) if const_x else (x, float(np.mean(y)), 1.0)
        res = sps.ttest_1samp(v, popmean=c)
        ci = res.confidence_interval(level)
        lo, hi = sorted((sign * (ci.low - c), sign * (ci.high - c)))
    else:
        res = sps.ttest_ind(x, y, equal_var=False)
        ci = res.confidence_interval(level)
        lo, hi = ci.low, ci.high
        sign = 1.0
    out.update(se=se, df=float(res.df), ci_low=float(lo), ci_high=float(hi),
               t=float(sign * res.statistic), p=float(res.pvalue))
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979, Scand J Stat 6:65) of one family;
    NaN stays NaN and is not counted in the family.

    The same values as ``statsmodels.stats.multitest.multipletests(method="holm")``
    (tests/test_study.py checks it), computed here because that function runs a full
    ``gc.collect()`` on every call, about a second each in a process holding many
    compiled kernels.
    """
    p = np.asarray(p, float)
    return holm_rows(p.reshape(1, -1))[0].reshape(p.shape)


def holm_rows(p: np.ndarray) -> np.ndarray:
    """Holm's adjustment of each row of ``p`` (``(R, k)``; a row is one family), as
    :func:`holm` does it for one family: NaN stays NaN and is not
    counted in the family."""
    p = np.asarray(p, float)
    if p.ndim != 2 or p.shape[1] == 0:
        return p.copy()
    ok = np.isfinite(p)
    m = ok.sum(axis=1, keepdims=True)
    order = np.argsort(np.where(ok, p, np.inf), axis=1, kind="stable")
    s = np.take_along_axis(p, order, axis=1)
    s_ok = np.take_along_axis(ok, order, axis=1)  # the finite ones first
    factor = np.maximum(m - np.arange(p.shape[1]), 1)
    adj = np.where(s_ok, np.minimum(1.0, factor * np.where(s_ok, s, 0.0)), np.nan)
    adj = np.maximum.accumulate(np.where(s_ok, adj, -np.inf), axis=1)
    adj = np.where(s_ok, adj, np.nan)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=1)
    return out


#: the columns of :func:`compare`'s table
COMPARISON_COLUMNS = ["output", "day", "value", "arm", "reference", "n_arm", "n_reference",
                      "mean_arm", "mean_reference", "diff", "ci_low", "ci_high", "pct_diff",
                      "pct_ci_low", "pct_ci_high", "t", "df", "p", "p_holm"]


def paired_diff(x: np.ndarray, y: np.ndarray, level: float = LEVEL) -> dict:
    """The paired comparison of ``x - y`` (the same subjects, in order): the mean
    difference, its t interval and the paired t-test (``scipy.stats.ttest_rel``). Pairs
    with a non-finite value are dropped; fewer than two pairs, or differences that are
    all equal, give NaN statistics (the difference itself is defined)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    if x.shape != y.shape:
        raise ValueError(f"paired groups differ in size: {len(x)} and {len(y)}")
    ok = np.isfinite(x) & np.isfinite(y)
    d = x[ok] - y[ok]
    out = {"diff": float(np.mean(d)) if len(d) else np.nan, "se": np.nan, "df": np.nan,
           "ci_low": np.nan, "ci_high": np.nan, "t": np.nan, "p": np.nan}
    if len(d) < 2 or np.ptp(d) == 0:
        return out
    res = sps.ttest_rel(x[ok], y[ok])
    ci = res.confidence_interval(level)
    out.update(se=float(np.std(d, ddof=1) / math.sqrt(len(d))), df=float(res.df),
               ci_low=float(ci.low), ci_high=float(ci.high), t=float(res.statistic),
               p=float(res.pvalue))
    return out


def _column(value, output: str) -> str:
    return value if isinstance(value, str) else value[output]


def compare(animals: pd.DataFrame, pairs: list[tuple[str, str]], *, day: float | None = None,
            outputs: list[str] | None = None, value: str | dict[str, str] = "measured",
            paired: bool = False) -> pd.DataFrame:
    """Each ``(arm, reference)`` pair for each output on ``day`` (default: the last day).

    ``value`` is the column compared, or a mapping output -> column. ``paired``: the
    arms hold the same subjects (matched by ``animal``), compared by :func:`paired_diff`
    instead of Welch's test."""
    day = float(animals["day"].max()) if day is None else float(day)
    outputs = outputs or list(dict.fromkeys(animals["output"]))
    at = animals[on_day(animals["day"], day)]
    rows = []
    for out in outputs:
        col = _column(value, out)
        sub = at[at["output"] == out]
        vals = {a: g.set_index("animal")[col] for a, g in sub.groupby("arm", sort=False)}
        block = []
        empty = pd.Series(dtype=float)
        for arm, ref in pairs:
            xs, ys = vals.get(arm, empty), vals.get(ref, empty)
            if paired:
                common = xs.index.intersection(ys.index)
                x, y = xs.loc[common].to_numpy(float), ys.loc[common].to_numpy(float)
                w = paired_diff(x, y)
            else:
                x, y = xs.to_numpy(float), ys.to_numpy(float)
                w = welch(x, y)
            mref = float(np.nanmean(y)) if len(y) else np.nan
            relative = col == "measured" and mref != 0.0 and np.isfinite(mref)
            pct = {k: 100.0 * w[k] / mref if relative else np.nan
                   for k in ("diff", "ci_low", "ci_high")}
            block.append({
                "output": out, "day": day, "value": col, "arm": arm, "reference": ref,
                "n_arm": int(np.isfinite(x).sum()), "n_reference": int(np.isfinite(y).sum()),
                "mean_arm": float(np.nanmean(x)) if len(x) else np.nan, "mean_reference": mref,
                "diff": w["diff"], "ci_low": w["ci_low"], "ci_high": w["ci_high"],
                "pct_diff": pct["diff"], "pct_ci_low": pct["ci_low"], "pct_ci_high": pct["ci_high"],
                "t": w["t"], "df": w["df"], "p": w["p"],
            })
        adj = holm(np.array([r["p"] for r in block]))
        for r, a in zip(block, adj, strict=True):
            r["p_holm"] = float(a)
        rows += block
    # no pairs (a one-arm study): an empty table that still has its columns
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def anova(animals: pd.DataFrame, *, day: float | None = None, outputs: list[str] | None = None,
          value: str | dict[str, str] = "measured") -> pd.DataFrame:
    """One-way ANOVA across arms for each output on ``day`` (default: the last day):
    the classical F test (``F``, ``p``) and Welch's (``F_welch``, ``df_welch``,
    ``p_welch``: ``statsmodels.stats.oneway.anova_oneway(use_var="unequal")``).

    F and p are NaN with fewer than two arms, no residual degrees of freedom, or no
    spread within any arm; Welch's also when an arm has fewer than two values or no
    spread (its weight would be infinite).
    """
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    day = float(animals["day"].max()) if day is None else float(day)
    outputs = outputs or list(dict.fromkeys(animals["output"]))
    at = animals[on_day(animals["day"], day)]
    rows = []
    for out in outputs:
        col = _column(value, out)
        d = at.loc[at["output"] == out, ["arm", col]].rename(columns={col: "y"})
        d = d[np.isfinite(d["y"])]
        row = {"output": out, "day": day, "value": col, "n_arms": int(d["arm"].nunique()),
               "n": len(d), "F": np.nan, "df_between": np.nan, "df_within": np.nan,
               "p": np.nan, "F_welch": np.nan, "df_welch": np.nan, "p_welch": np.nan}
        if row["n_arms"] < 2 or len(d) <= row["n_arms"]:
            rows.append(row)
            continue
        if not d.groupby("arm", sort=False)["y"].nunique().gt(1).any():
            # no spread within any arm: F is undefined (all equal) or infinite, and OLS
            # would return round-off instead; F and p are NaN, as in Welch's comparison
            row.update(df_between=float(row["n_arms"] - 1), df_within=float(len(d) - row["n_arms"]))
        else:
            table = anova_lm(smf.ols("y ~ C(arm)", data=d).fit())
            row.update(F=float(table.loc["C(arm)", "F"]),
                       df_between=float(table.loc["C(arm)", "df"]),
                       df_within=float(table.loc["Residual", "df"]),
                       p=float(table.loc["C(arm)", "PR(>F)"]))
            row.update(welch_anova([g.to_numpy(float) for _, g in
                                    d.groupby("arm", sort=False)["y"]]))
        rows.append(row)
    return pd.DataFrame(rows)


def welch_anova(groups: list[np.ndarray]) -> dict:
    """Welch's one-way ANOVA of ``groups`` (Welch 1951, Biometrika 38:330) by
    ``statsmodels.stats.oneway.anova_oneway(use_var="unequal")``: ``F_welch``,
    ``df_welch`` (the denominator's degrees of freedom) and ``p_welch``; NaN when a group
    has fewer than two values or no spread."""
    from statsmodels.stats.oneway import anova_oneway

    nan = {"F_welch": np.nan, "df_welch": np.nan, "p_welch": np.nan}
    if len(groups) < 2 or any(len(g) < 2 or np.ptp(g) == 0 for g in groups):
        return nan
    res = anova_oneway(groups, use_var="unequal", welch_correction=True)
    return {"F_welch": float(res.statistic), "df_welch": float(res.df[1]),
            "p_welch": float(res.pvalue)}


def _ci(fit, name: str, level: float = LEVEL) -> tuple[float, float]:
    lo, hi = fit.conf_int(alpha=1 - level).loc[name]
    return float(lo), float(hi)


def _quoted(name: str) -> str:
    """A value quoted for a patsy formula (arm names hold spaces and plus signs)."""
    return repr(str(name))


#: the columns of :func:`ancova`'s table
ANCOVA_COLUMNS = ["output", "day", "baseline_day", "arm", "reference", "n_arm", "n_reference",
                  "diff", "ci_low", "ci_high", "p", "p_holm", "baseline_slope"]


def ancova(animals: pd.DataFrame, pairs: list[tuple[str, str]], *, day: float | None = None,
           outputs: list[str] | None = None) -> pd.DataFrame:
    """Each ``(arm, reference)`` pair compared on ``day``'s measured value adjusted for
    the subject's baseline (first-day) value: statsmodels OLS ``y ~ C(arm) + baseline``
    on the two arms' subjects; ``diff`` is the arm's coefficient (the baseline-adjusted
    difference, in the output's unit) with its 95 % interval and p; Holm within each
    output. ANCOVA on baseline is the more powerful alternative to change scores
    (Vickers & Altman 2001, BMJ 323:1123, doi:10.1136/bmj.323.7321.1123)."""
    import statsmodels.formula.api as smf

    first = float(animals["day"].min())
    day = float(animals["day"].max()) if day is None else float(day)
    outputs = outputs or list(dict.fromkeys(animals["output"]))
    rows = []
    for out in outputs:
        sub = animals[animals["output"] == out]
        base = sub[on_day(sub["day"], first)].set_index(["arm", "animal"])["measured"]
        end = sub[on_day(sub["day"], day)].set_index(["arm", "animal"])["measured"]
        d = pd.DataFrame({"y": end, "baseline": base}).dropna().reset_index()
        block = []
        for arm, ref in pairs:
            g = d[d["arm"].isin([arm, ref])]
            n_a, n_r = int((g["arm"] == arm).sum()), int((g["arm"] == ref).sum())
            row = {"output": out, "day": day, "baseline_day": first, "arm": arm,
                   "reference": ref, "n_arm": n_a, "n_reference": n_r, "diff": np.nan,
                   "ci_low": np.nan, "ci_high": np.nan, "p": np.nan, "baseline_slope": np.nan}
            if n_a >= 2 and n_r >= 2 and len(g) > 3 and day != first and g["y"].nunique() > 1:
                g = g.assign(treated=(g["arm"] == arm).astype(float))
                fit = smf.ols("y ~ treated + baseline", data=g).fit()
                lo, hi = _ci(fit, "treated")
                row.update(diff=float(fit.params["treated"]), ci_low=lo, ci_high=hi,
                           p=float(fit.pvalues["treated"]),
                           baseline_slope=float(fit.params["baseline"]))
            block.append(row)
        adj = holm(np.array([r["p"] for r in block]))
        for r, a in zip(block, adj, strict=True):
            r["p_holm"] = float(a)
        rows += block
    return pd.DataFrame(rows, columns=ANCOVA_COLUMNS)


#: the columns of :func:`mixed`'s table
MIXED_COLUMNS = ["output", "arm", "reference", "term", "estimate", "ci_low", "ci_high", "p",
                 "n_subjects", "n_obs", "converged"]


def mixed(animals: pd.DataFrame, reference: str, *, outputs: list[str] | None = None,
          value: str = "measured", arms: list[str] | None = None,
          paired: bool = False) -> pd.DataFrame:
    """A linear mixed model of every measurement of each output (statsmodels
    ``MixedLM.from_formula("y ~ C(arm, Treatment(reference)) * day", groups=subject)``,
    a random intercept per subject, REML). One row per arm other than ``reference``
    and term: ``slope`` (the arm's difference in change per day from the reference's,
    the arm-by-day interaction) and ``offset`` (the difference on day 0).

    Measurements of the same subject are correlated; the random intercept says so,
    which the day-by-day tests cannot. ``paired``: every arm holds the same subjects
    (matched by ``animal``), so the random intercept is the animal's across arms. The
    fit's ``converged`` flag is reported."""
    import warnings

    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    outputs = outputs or list(dict.fromkeys(animals["output"]))
    arms = _ordered(animals, arms)
    rows = []
    for out in outputs:
        d = animals.loc[animals["output"] == out, ["arm", "animal", "day", value]]
        d = d.rename(columns={value: "y"})
        d = d[np.isfinite(d["y"])]
        d = d.assign(subject=d["animal"].astype(str) if paired
                     else d["arm"].astype(str) + "/" + d["animal"].astype(str))
        others = [a for a in arms if a != reference and a in set(d["arm"])]
        blank = [dict(output=out, arm=a, reference=reference, term=t, estimate=np.nan,
                      ci_low=np.nan, ci_high=np.nan, p=np.nan, n_subjects=0, n_obs=len(d),
                      converged=False) for a in others for t in ("slope", "offset")]
        if reference not in set(d["arm"]) or not others or d["day"].nunique() < 2 \
                or d["y"].nunique() < 2:
            rows += blank
            continue
        formula = f"y ~ C(arm, Treatment({_quoted(reference)})) * day"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            fit = smf.mixedlm(formula, d, groups=d["subject"]).fit(reml=True)
        converged = bool(fit.converged) and not any(
            issubclass(w.category, ConvergenceWarning) for w in caught)
        ci = fit.conf_int(alpha=1 - LEVEL)
        lev = f"C(arm, Treatment({_quoted(reference)}))"
        for a in others:
            for term, name in (("slope", f"{lev}[T.{a}]:day"), ("offset", f"{lev}[T.{a}]")):
                rows.append(dict(output=out, arm=a, reference=reference, term=term,
                                 estimate=float(fit.params[name]), ci_low=float(ci.loc[name, 0]),
                                 ci_high=float(ci.loc[name, 1]), p=float(fit.pvalues[name]),
                                 n_subjects=int(d["subject"].nunique()), n_obs=len(d),
                                 converged=converged))
    return pd.DataFrame(rows, columns=MIXED_COLUMNS)


#: the columns of :func:`factorial`'s table
FACTORIAL_COLUMNS = ["output", "day", "term", "F", "df", "df_resid", "p", "estimate", "ci_low",
                     "ci_high"]


def factorial(animals: pd.DataFrame, levels: dict[str, dict[str, str]], *,
              day: float | None = None, outputs: list[str] | None = None,
              value: str | dict[str, str] = "measured") -> pd.DataFrame:
    """Two-way (or more) ANOVA of a factorial design with every interaction: statsmodels
    OLS ``y ~ C(A) * C(B)`` and ``anova_lm(typ=2)``. ``levels`` maps each arm to its
    level of each factor. For two factors of two levels each, the interaction row also
    gives the interaction contrast (the difference of differences: the effect of A at
    B's second level minus at its first; levels in order of first appearance) with its
    95 % interval (the OLS coefficient of the interaction term)."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    day = float(animals["day"].max()) if day is None else float(day)
    outputs = outputs or list(dict.fromkeys(animals["output"]))
    names = list(dict.fromkeys(f for lv in levels.values() for f in lv))
    var = {f: f"f{i}" for i, f in enumerate(names)}
    at = animals[on_day(animals["day"], day) & animals["arm"].isin(list(levels))]
    rows = []
    for out in outputs:
        col = _column(value, out)
        d = at.loc[at["output"] == out, ["arm", col]].rename(columns={col: "y"})
        d = d[np.isfinite(d["y"])]
        order = {f: list(dict.fromkeys(levels[a][f] for a in levels)) for f in names}
        for f in names:
            d[var[f]] = pd.Categorical([levels[a][f] for a in d["arm"]], categories=order[f])
        rhs = " * ".join(f"C({var[f]})" for f in names)
        if len(d) <= math.prod(len(v) for v in order.values()) or d["y"].nunique() < 2:
            continue
        fit = smf.ols(f"y ~ {rhs}", data=d).fit()
        table = anova_lm(fit, typ=2)
        two_by_two = len(names) == 2 and all(len(order[f]) == 2 for f in names)
        for term in table.index:
            if term == "Residual":
                continue
            label = term
            for f in names:
                label = label.replace(f"C({var[f]})", f)
            row = dict(output=out, day=day, term=label, F=float(table.loc[term, "F"]),
                       df=float(table.loc[term, "df"]),
                       df_resid=float(table.loc["Residual", "df"]),
                       p=float(table.loc[term, "PR(>F)"]), estimate=np.nan, ci_low=np.nan,
                       ci_high=np.nan)
            if two_by_two and ":" in term:
                a, b = names
                name = (f"C({var[a]})[T.{order[a][1]}]:C({var[b]})[T.{order[b][1]}]")
                lo, hi = _ci(fit, name)
                row.update(estimate=float(fit.params[name]), ci_low=lo, ci_high=hi)
            rows.append(row)
    return pd.DataFrame(rows, columns=FACTORIAL_COLUMNS)


#: the columns of :func:`mediation`'s table
MEDIATION_COLUMNS = ["output", "mediator", "arm", "reference", "n", "a", "b", "indirect",
                     "ci_low", "ci_high", "direct", "total", "proportion", "n_boot", "seed"]


def mediation_effects(x: np.ndarray, m: np.ndarray, y: np.ndarray) -> tuple[float, float, float,
                                                                              float]:
    """``(a, b, direct, total)`` by OLS: ``a`` of ``M ~ X``, ``b`` (M) and ``direct`` (X)
    of ``Y ~ X + M``, ``total`` of ``Y ~ X``; the indirect effect is ``a * b``
    (= total - direct for OLS)."""
    import statsmodels.api as sm

    X1 = sm.add_constant(np.column_stack([x]), has_constant="add")
    a = float(sm.OLS(m, X1).fit().params[1])
    total = float(sm.OLS(y, X1).fit().params[1])
    X2 = sm.add_constant(np.column_stack([x, m]), has_constant="add")
    p = sm.OLS(y, X2).fit().params
    return a, float(p[2]), float(p[1]), total


def mediation(x: np.ndarray, m: np.ndarray, y: np.ndarray, *, n_boot: int = 1000,
              seed: int = 0, level: float = LEVEL) -> dict:
    """The indirect effect of a binary treatment ``x`` (1: arm, 0: reference) on ``y``
    through the mediator ``m``: product of coefficients ``a*b`` (Baron & Kenny 1986,
    J Pers Soc Psychol 51:1173), with a percentile bootstrap interval (Preacher & Hayes
    2008, Behav Res Methods 40:879, doi:10.3758/BRM.40.3.879): ``n_boot`` resamples of
    the subjects with replacement within each group (seeded: the same seed gives the same
    interval); the point estimate is statsmodels OLS, the refits ``numpy.linalg.lstsq``
    (the same least squares).
    Returns ``n, a, b, indirect, ci_low, ci_high, direct, total, proportion``
    (indirect / total)."""
    x, m, y = (np.asarray(v, float) for v in (x, m, y))
    ok = np.isfinite(x) & np.isfinite(m) & np.isfinite(y)
    x, m, y = x[ok], m[ok], y[ok]
    out = dict(n=len(x), a=np.nan, b=np.nan, indirect=np.nan, ci_low=np.nan, ci_high=np.nan,
               direct=np.nan, total=np.nan, proportion=np.nan)
    groups = [np.nonzero(x == v)[0] for v in (0.0, 1.0)]
    if any(len(g) < 2 for g in groups) or np.ptp(m) == 0 or np.ptp(y) == 0:
        return out
    a, b, direct, total = mediation_effects(x, m, y)
    rng = np.random.default_rng(seed)
    boot = np.empty(n_boot)
    one = np.ones(len(x))
    for k in range(n_boot):
        ix = np.concatenate([rng.choice(g, len(g), replace=True) for g in groups])
        if np.ptp(m[ix]) == 0:
            boot[k] = np.nan
            continue
        # the same two OLS fits as mediation_effects, by least squares (numpy.linalg.lstsq:
        # statsmodels' per-fit overhead would dominate a thousand refits)
        ak = np.linalg.lstsq(np.column_stack([one, x[ix]]), m[ix], rcond=None)[0][1]
        bk = np.linalg.lstsq(np.column_stack([one, x[ix], m[ix]]), y[ix], rcond=None)[0][2]
        boot[k] = ak * bk
    alpha = 1 - level
    lo, hi = np.nanpercentile(boot, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    out.update(a=a, b=b, indirect=a * b, ci_low=float(lo), ci_high=float(hi), direct=direct,
               total=total, proportion=(a * b / total) if total != 0 else np.nan)
    return out


def p_value(p: float) -> str:
    """A p-value for a table: ``0.012``, ``0.34``, ``< 0.001``; NaN gives ``n/a``."""
    if p is None or not np.isfinite(p):
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def format_p(p: float) -> str:
    """A p-value for a sentence: ``p = 0.012``, ``p < 0.001``, ``p = n/a``."""
    v = p_value(p)
    return f"p {v}" if v.startswith("<") else f"p = {v}"
