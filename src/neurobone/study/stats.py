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
"""

from __future__ import annotations

import math
import warnings

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
        rows.append(dict(output=out, day=day, arm=arm, n=n, mean=mean, sd=sd, sem=sem,
                         ci_low=mean - h, ci_high=mean + h))
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
    """Welch's comparison of ``mean(x) - mean(y)``: difference, SE, df, CI, t and p."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    nx, ny = len(x), len(y)
    diff = float(np.mean(x) - np.mean(y)) if nx and ny else np.nan
    out = dict(diff=diff, se=np.nan, df=np.nan, ci_low=np.nan, ci_high=np.nan, t=np.nan, p=np.nan)
    if nx < 2 or ny < 2:
        return out
    vx, vy = np.var(x, ddof=1) / nx, np.var(y, ddof=1) / ny
    se = math.sqrt(vx + vy)
    if se == 0:
        return out
    df = (vx + vy) ** 2 / (vx ** 2 / (nx - 1) + vy ** 2 / (ny - 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = sps.ttest_ind(x, y, equal_var=False)
    h = sps.t.ppf(0.5 + level / 2, df) * se
    out.update(se=se, df=float(df), ci_low=diff - h, ci_high=diff + h,
               t=float(res.statistic), p=float(res.pvalue))
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted).

    With the m finite p-values sorted ascending, the j-th (1-based) becomes
    ``max over i <= j of min(1, (m - i + 1) * p_(i))`` (Holm 1979, Scand J Stat 6:65);
    the same as ``statsmodels.stats.multitest.multipletests(method="holm")``.
    """
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = np.nonzero(np.isfinite(p))[0]
    m = len(ok)
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
        out[order] = np.maximum.accumulate(adj)
    return out


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
            pct = (lambda v: 100.0 * v / mref) if relative else (lambda v: np.nan)
            block.append(dict(
                output=out, day=day, arm=arm, reference=ref,
                n_arm=int(np.isfinite(x).sum()), n_reference=int(np.isfinite(y).sum()),
                mean_arm=float(np.nanmean(x)) if len(x) else np.nan, mean_reference=mref,
                diff=w["diff"], ci_low=w["ci_low"], ci_high=w["ci_high"],
                pct_diff=pct(w["diff"]), pct_ci_low=pct(w["ci_low"]), pct_ci_high=pct(w["ci_high"]),
                t=w["t"], df=w["df"], p=w["p"],
            ))
        adj = holm(np.array([r["p"] for r in block]))
        for r, a in zip(block, adj):
            r["p_holm"] = float(a)
        rows += block
    return pd.DataFrame(rows)


def anova(animals: pd.DataFrame, *, day: float | None = None, outputs: list[str] | None = None,
          value: str = "measured") -> pd.DataFrame:
    """One-way ANOVA across arms for each output on ``day`` (default: the last day)."""
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    day = float(animals["day"].max()) if day is None else float(day)
    outputs = outputs or list(dict.fromkeys(animals["output"]))
    at = animals[np.isclose(animals["day"], day)]
    rows = []
    for out in outputs:
        d = at.loc[at["output"] == out, ["arm", value]].rename(columns={value: "y"})
        d = d[np.isfinite(d["y"])]
        row = dict(output=out, day=day, n_arms=int(d["arm"].nunique()), n=len(d),
                   F=np.nan, df_between=np.nan, df_within=np.nan, p=np.nan)
        if row["n_arms"] >= 2 and len(d) > row["n_arms"]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                table = anova_lm(smf.ols("y ~ C(arm)", data=d).fit())
            row.update(F=float(table.loc["C(arm)", "F"]), df_between=float(table.loc["C(arm)", "df"]),
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
