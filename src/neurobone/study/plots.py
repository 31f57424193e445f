"""Figures of a study result (matplotlib; each function returns its Figure).

* :func:`timecourse`: mean ± SD of an output over time, one line per arm;
* :func:`final`: every animal on the last day (dots), each arm's mean and 95 % CI, and
  the study's comparisons with their Holm-adjusted p-values;
* :func:`decomposition`: the exercise effect split into neural, mechanical and
  interaction shares (stacked bars, one per output).

Arms keep one colour in every figure.
"""

from __future__ import annotations

import numpy as np

from neurobone.study.stats import on_day

#: colour-blind-safe palette (Okabe & Ito 2008), one colour per arm in study order
PALETTE = ["#000000", "#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#F0E442"]
#: path colours of the decomposition
PATH_COLOURS = {"neural": "#0072B2", "mechanical": "#E69F00", "interaction": "#999999"}


def arm_colours(arms: list[str]) -> dict[str, str]:
    return {a: PALETTE[i % len(PALETTE)] for i, a in enumerate(arms)}


def _style(ax) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)


def _new(ax, size):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=size, dpi=110)
    return fig, ax


def timecourse(result, output: str, value: str = "measured", ax=None):
    """Mean ± SD of ``output`` by arm on every measurement day."""
    s = result.summary(value)
    s = s[s["output"] == output]
    fig, ax = _new(ax, (7.2, 4.4))
    colours = arm_colours(result.arms)
    n_arms = len(result.arms)
    span = float(s["day"].max() - s["day"].min()) or 1.0
    for i, arm in enumerate(result.arms):
        g = s[s["arm"] == arm].sort_values("day")
        # a small horizontal offset per arm keeps the error bars apart
        dx = (i - (n_arms - 1) / 2) * span * 0.007
        ax.errorbar(g["day"] + dx, g["mean"], yerr=g["sd"], color=colours[arm], marker="o",
                    markersize=4, linewidth=1.6, capsize=2.5, elinewidth=1, label=arm)
    ax.set_xlabel("day of the study")
    ax.set_ylabel(result.label(output))
    days = np.unique(s["day"])
    if len(days) <= 16:
        ax.set_xticks(days)
        ax.set_xticklabels([f"{d:g}" for d in days])
    what = "measured" if value == "measured" else "model value"
    ax.set_title(f"{result.label(output, unit=False)} by arm ({what}, mean ± SD, "
                 f"n = {result.study.n_per_arm} per arm)", fontsize=10.5, loc="left")
    _style(ax)
    ax.legend(frameon=False, fontsize=8.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def final(result, output: str, value: str | None = None, ax=None, comparisons: bool = True):
    """Dots for every animal on the last day, each arm's mean and 95 % CI, comparisons.

    ``value`` defaults to the study's analysis: each animal's percent change from its
    first measurement (``change_pct``) or the measured value, so that the brackets'
    p-values test what the dots show."""
    value = value or result.value_of(output)
    day = result.day
    a = result.animals
    a = a[(a["output"] == output) & on_day(a["day"], day)]
    summ = result.final(value)
    summ = summ[summ["output"] == output].set_index("arm")
    arms = result.arms
    fig, ax = _new(ax, (max(5.0, 1.25 * len(arms) + 2.0), 5.0))
    colours = arm_colours(arms)
    rng = np.random.default_rng(0)  # jitter only: fixed so the figure is reproducible
    for i, arm in enumerate(arms):
        y = a.loc[a["arm"] == arm, value].to_numpy(float)
        x = i + rng.uniform(-0.16, 0.16, len(y))
        ax.scatter(x, y, s=22, color=colours[arm], alpha=0.75, edgecolor="white", linewidth=0.5,
                   zorder=3)
        if arm in summ.index:
            r = summ.loc[arm]
            ax.errorbar([i + 0.32], [r["mean"]],
                        yerr=[[r["mean"] - r["ci_low"]], [r["ci_high"] - r["mean"]]],
                        color="black", marker="_", markersize=16, capsize=4, linewidth=1.4,
                        zorder=4)
    ax.set_xticks(range(len(arms)))
    ax.set_xticklabels([_wrap(x) for x in arms], fontsize=8.5)
    ax.set_xlim(-0.6, len(arms) - 0.4)
    if value in ("change_pct", "change"):
        first = float(result.animals["day"].min())
        unit = "%" if value == "change_pct" else result.units.get(output, "")
        ax.set_ylabel(f"change in {result.label(output, unit=False)}"
                      + (f" ({unit})" if unit and unit != "1" else ""))
        ax.axhline(0.0, color="0.6", linewidth=0.8, zorder=1)
        title = f"change in {result.label(output, unit=False)} from day {first:g} to day {day:g}"
    else:
        ax.set_ylabel(result.label(output))
        title = f"{result.label(output, unit=False)} on day {day:g}"
    ax.set_title(f"{title} (dots: {result.study.noun(True)}; bar: mean and 95 % CI)", fontsize=10.5,
                 loc="left")
    _style(ax)
    if comparisons:
        _brackets(ax, result, output, arms, a[value].to_numpy(float))
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int = 14) -> str:
    words, lines, cur = text.split(" "), [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "\n".join(lines)


def _brackets(ax, result, output: str, arms: list[str], values: np.ndarray) -> None:
    from neurobone.study.stats import format_p

    comp = result.comparisons(outputs=[output])
    if comp.empty:
        return
    finite = values[np.isfinite(values)]
    if not len(finite):
        return
    lo, hi = float(finite.min()), float(finite.max())
    step = (hi - lo or abs(hi) or 1.0) * 0.09
    level = hi + step
    pos = {a: i for i, a in enumerate(arms)}
    # shorter brackets lower: they then nest instead of crossing
    comp = comp.assign(width=[abs(pos[r.arm] - pos[r.reference]) for r in comp.itertuples()])
    for r in comp.sort_values(["width"]).itertuples():
        x1, x2 = sorted((pos[r.arm], pos[r.reference]))
        ax.plot([x1, x1, x2, x2], [level - step * 0.25, level, level, level - step * 0.25],
                color="#555555", linewidth=0.9)
        ax.text((x1 + x2) / 2, level, f"{format_p(r.p_holm)}", ha="center", va="bottom",
                fontsize=7.5, color="#333333")
        level += step
    ax.set_ylim(top=level + step * 0.2)
    test = "paired t-test" if result.study.paired else "Welch t-test"
    ax.text(1.0, -0.2, f"p: {test}, Holm-adjusted", transform=ax.transAxes, ha="right",
            va="top", fontsize=7.5, color="#555555")


def decomposition(result, ax=None):
    """The decomposition arm's exercise effect split into paths, one bar per output."""
    df = result.decomposition()
    fig, ax = _new(ax, (7.2, 0.9 * max(len(df), 1) + 1.9))
    if df.empty:
        ax.text(0.5, 0.5, "no arm with exercise: nothing to decompose", ha="center",
                va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    parts = [("neural", "neural_share"), ("mechanical", "mechanical_share"),
             ("interaction", "interaction_share")]
    labels = []
    for k, r in enumerate(df.itertuples()):
        pos_left, neg_left = 0.0, 0.0
        for name, col in parts:
            v = 100.0 * float(getattr(r, col))
            if not np.isfinite(v) or abs(v) < 0.05:
                continue
            left = pos_left if v >= 0 else neg_left + v
            ax.barh(k, abs(v), left=left, color=PATH_COLOURS[name], edgecolor="white", height=0.6,
                    label=name if name not in ax.get_legend_handles_labels()[1] else None)
            if abs(v) >= 8:
                ax.text(left + abs(v) / 2, k, f"{v:.0f} %", ha="center", va="center",
                        fontsize=8.5, color="white" if name != "interaction" else "black")
            if v >= 0:
                pos_left += v
            else:
                neg_left += v
        labels.append(f"{result.label(r.output)}\nexercise effect {r.effect:+.3g}")
    ax.set_yticks(range(len(df)))
    ax.set_yticklabels(labels, fontsize=8.5)
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.axvline(100, color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xlabel("share of the exercise effect (%)")
    arm = df["arm"].iloc[0] if "arm" in df else ""
    ax.set_title(f"Exercise effect by path (arm {arm!r}, mean animal, day {df['day'].iloc[0]:g})",
                 fontsize=10.5, loc="left")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.legend(frameon=False, fontsize=8.5, ncol=3, loc="upper center",
              bbox_to_anchor=(0.5, -0.22 if len(df) < 3 else -0.12))
    fig.tight_layout()
    return fig
