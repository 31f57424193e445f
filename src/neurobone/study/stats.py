"""Statistics of a study, as a reviewer expects them.

* :func:`summarize`: per arm, day and output: n, mean, SD, SEM and the t-based 95 %
  confidence interval of the mean.
* :func:`compare`: for each ``(arm, reference)`` pair: the difference in means with its
  95 % confidence interval (Welch: unequal variances, Satterthwaite degrees of freedom),
  the percent difference relative to the reference mean (its interval is the
  difference's interval divided by the reference mean, i.e. the reference mean is
  treated as known), Welch's t-test p-value and the Holm-adjusted p-value. The Holm
  family is the set of comparisons of one outcome on one day.
* :func:`anova`: one-way ANOVA across all arms (statsmodels OLS ``value ~ C(arm)``).

Every function takes the tidy animals table (``arm, animal, day, output`` plus a value
column) and returns a DataFrame.

The tests and corrections are the libraries': Welch's test is
``scipy.stats.ttest_ind(equal_var=False)`` with its ``confidence_interval``, Holm's
adjustment is ``statsmodels.stats.multitest.multipletests(method="holm")``. Degenerate
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
COMPARISON_COLUMNS = ["output", "day", "arm", "reference", "n_arm", "n_reference", "mean_arm",
                      "mean_reference", "diff", "ci_low", "ci_high", "pct_diff", "pct_ci_low",
                      "pct_ci_high", "t", "df", "p", "p_holm"]


def compare(animals: pd.DataFrame, pairs: list[tuple[str, str]], *, day: float | None = None,
            outputs: list[str] | None = None, value: str = "measured") -> pd.DataFrame:
    """Each ``(arm, reference)`` pair for each output on ``day`` (default: the last day)."""
    day = float(animals["day"].max()) if day is None else float(day)
    outputs = outputs or list(dict.fromkeys(animals["output"]))
    at = animals[np.isclose(animals["day"], day)]
    rows = []
    for out in outputs:
        sub = at[at["output"] == out]
        vals = {a: g[value].to_numpy(float) for a, g in sub.groupby("arm", sort=False)}
        block = []
        for arm, ref in pairs:
            x, y = vals.get(arm, np.array([])), vals.get(ref, np.array([]))
            w = welch(x, y)
            mref = float(np.nanmean(y)) if len(y) else np.nan
            relative = value != "change_pct" and mref != 0.0 and np.isfinite(mref)
            pct = {k: 100.0 * w[k] / mref if relative else np.nan
                   for k in ("diff", "ci_low", "ci_high")}
            block.append({
                "output": out, "day": day, "arm": arm, "reference": ref,
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
          value: str = "measured") -> pd.DataFrame:
    """One-way ANOVA across arms for each output on ``day`` (default: the last day).

    F and p are NaN with fewer than two arms, no residual degrees of freedom, or no
    spread within any arm.
    """
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    day = float(animals["day"].max()) if day is None else float(day)
    outputs = outputs or list(dict.fromkeys(animals["output"]))
    at = animals[np.isclose(animals["day"], day)]
    rows = []
    for out in outputs:
        d = at.loc[at["output"] == out, ["arm", value]].rename(columns={value: "y"})
        d = d[np.isfinite(d["y"])]
        row = {"output": out, "day": day, "n_arms": int(d["arm"].nunique()), "n": len(d),
               "F": np.nan, "df_between": np.nan, "df_within": np.nan, "p": np.nan}
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
        rows.append(row)
    return pd.DataFrame(rows)


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
