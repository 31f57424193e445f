"""Power of a study by simulation: how many subjects per arm a comparison needs.

:func:`power` answers "with n subjects per arm, how often would this study find the
difference?" for several n at once, with the study's own machinery and statistics:

1. **One pool per arm.** The study is run once by :func:`~neurobone.study.run.run_study`
   with ``pool`` subjects per arm (default ``max(10 * max(n_values), 200)``): every
   subject with its own physiology (between-subject parameter variability), its own
   life history and the arm's protocol, all integrated in one call of the batched engine.
   Each subject's streams are keyed by arm name and index, so the first ``n_per_arm``
   subjects of a pool are exactly the study's own animals. The pool keeps each subject's
   *true* value of the output on the first and the last measurement day.
2. **Resampled studies.** For each of ``n_reps`` replicate studies, ``n`` subjects are
   drawn per arm from that arm's pool without replacement, and their outputs are
   *measured again* by the study's instruments (:mod:`neurobone.study.measurement`: each
   reading is an independent draw, so a replicate study gets fresh instrument error on
   both days). The analysis value is the study's: each subject's percent change from its
   first measurement (``analysis: change``) or the last-day measured value (``endpoint``).
   Common random numbers: the subjects (and readings) of a replicate at ``n`` are the
   first ``n`` of the same replicate at a larger ``n``, so the curve is smooth in n.
3. **The study's test.** Each comparison ``(arm, reference)`` is Welch's t-test
   (:func:`neurobone.study.stats.welch`'s statistic, vectorised over replicates; the
   degenerate cases go through that function itself), Holm-adjusted across the
   comparisons of the output as the study adjusts them (``adjust="none"``: unadjusted);
   a replicate *detects* the difference when the adjusted p-value is below ``alpha``.
4. **Power** is the share of replicates that detect it, with a Wilson 95 % binomial
   interval (``statsmodels.stats.proportion.proportion_confint``).

Averaged over pools, a replicate is exactly a study of n independent subjects per arm (a
draw without replacement from an independent pool is an independent draw from the
population), so the power is unbiased; but the replicates share one pool, so the estimate
also carries the pool's sampling error, which the binomial interval does not include. It
grows with n / pool (hence the default pool of ten times the largest n); run again with
another ``seed`` to see it.

The resampling core, :func:`resample_power`, takes plain arrays (a pool of values per
arm) and is tested against the closed form for normal data.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from neurobone.engine.simulate import Progress
from neurobone.errors import InputError
from neurobone.scenario.variability import key, stream
from neurobone.study import stats
from neurobone.study.design import Study
from neurobone.study.measurement import instruments_for
from neurobone.study.run import as_study, run_study

#: confidence level of the binomial interval of a power
LEVEL = 0.95
#: the least resamples per n that give a usable estimate
MIN_REPS = 10
#: default pool per arm: POOL_FACTOR times the largest n, at least MIN_POOL subjects
POOL_FACTOR = 10
MIN_POOL = 200
#: the columns of :meth:`PowerResult.table`
COLUMNS = ["comparison", "arm", "reference", "output", "n", "power", "ci_low", "ci_high",
           "n_reps"]

#: ``analyse(arm, sample, rng) -> values``: a sample of pool rows ``(n_reps, n, ...)`` to the
#: analysed value of each subject ``(n_reps, n)``
Analyse = Callable[[str, np.ndarray, np.random.Generator], np.ndarray]


def label(arm: str, reference: str) -> str:
    """The name of a comparison in tables: ``arm vs reference``."""
    return f"{arm} vs {reference}"


# ----------------------------------------------------------------------------- the core
def welch_p(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Welch's two-sided p-value of each row of ``x`` against the same row of ``y``
    (``(R, n_x)`` and ``(R, n_y)`` -> ``(R,)``): ``scipy.stats.ttest_ind(equal_var=False)``
    over the rows; rows with a non-finite value or a constant group go through
    :func:`neurobone.study.stats.welch`, the study's own comparison (NaN when undefined)."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    p = np.full(x.shape[0], np.nan)
    if x.shape[1] < 2 or y.shape[1] < 2:
        return p
    finite = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
    plain = finite & (np.ptp(x, axis=1) > 0) & (np.ptp(y, axis=1) > 0)
    if plain.any():
        p[plain] = sps.ttest_ind(x[plain], y[plain], axis=1, equal_var=False).pvalue
    for i in np.nonzero(~plain)[0]:
        p[i] = stats.welch(x[i], y[i])["p"]
    return p


def _nested_samples(size: int, n_max: int, n_reps: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_reps, n_max)`` row indices into a pool of ``size``: each row a uniformly random
    ordered draw without replacement, so its first ``n`` entries are a random subset of
    ``n`` for every ``n`` (nested samples)."""
    keys = rng.random((n_reps, size))
    if n_max < size:
        first = np.argpartition(keys, n_max - 1, axis=1)[:, :n_max]
    else:
        first = np.broadcast_to(np.arange(size), (n_reps, size)).copy()
    order = np.argsort(np.take_along_axis(keys, first, axis=1), axis=1)
    return np.take_along_axis(first, order, axis=1)


def resample_power(pools: Mapping[str, np.ndarray], pairs: Sequence[tuple[str, str]],
                   n_values: Sequence[int], *, n_reps: int = 200, alpha: float = 0.05,
                   rng: np.random.Generator | None = None, analyse: Analyse | None = None,
                   adjust: str = "holm",
                   progress: Callable[[int], None] | None = None) -> pd.DataFrame:
    """The power of each comparison at each n, by resampling pools of subjects.

    ``pools`` maps each arm to its pool: an array whose rows are subjects (1-D: one value
    per subject). For each n, ``n_reps`` replicate studies draw n rows per arm without
    replacement (nested across n: see :func:`_nested_samples`); ``analyse(arm, rows, rng)``
    turns the drawn rows ``(n_reps, n_max, ...)`` into each subject's analysed value
    ``(n_reps, n_max)`` (default: the rows themselves, for 1-D pools). Each pair is
    compared by :func:`welch_p`, the family of pairs Holm-adjusted per replicate
    (:func:`neurobone.study.stats.holm_rows`; ``adjust="none"``: unadjusted), and a
    replicate detects the
    difference when the p-value is below ``alpha``.

    Returns one row per pair and n: ``arm, reference, n, detected, n_reps, power, ci_low,
    ci_high`` (Wilson 95 % interval). ``progress(k)`` is called after each n.
    """
    from statsmodels.stats.proportion import proportion_confint

    rng = rng if rng is not None else np.random.default_rng()
    ns = sorted({int(n) for n in n_values})
    n_max = ns[-1]
    arms = list(dict.fromkeys(a for pair in pairs for a in pair))
    values: dict[str, np.ndarray] = {}
    for a in arms:
        pool = np.asarray(pools[a])
        if len(pool) < n_max:
            raise InputError(f"arm {a!r}: a pool of {len(pool)} subjects cannot give "
                             f"{n_max} without replacement")
        rows = pool[_nested_samples(len(pool), n_max, n_reps, rng)]
        v = rows if analyse is None else analyse(a, rows, rng)
        values[a] = np.asarray(v, float).reshape(n_reps, n_max)
    out = []
    for k, n in enumerate(ns):
        p = np.column_stack([welch_p(values[a][:, :n], values[r][:, :n]) for a, r in pairs])
        if adjust == "holm":
            p = stats.holm_rows(p)
        detected = (p < alpha).sum(axis=0)  # NaN (an undefined test) detects nothing
        for (a, r), d in zip(pairs, detected, strict=True):
            out.append({"arm": a, "reference": r, "n": n, "detected": int(d), "n_reps": n_reps})
        if progress is not None:
            progress(k + 1)
    df = pd.DataFrame(out, columns=["arm", "reference", "n", "detected", "n_reps"])
    df["power"] = df["detected"] / df["n_reps"]
    lo, hi = proportion_confint(df["detected"].to_numpy(), df["n_reps"].to_numpy(),
                                alpha=1 - LEVEL, method="wilson")
    df["ci_low"] = np.clip(np.asarray(lo, float), 0.0, 1.0)
    df["ci_high"] = np.clip(np.asarray(hi, float), 0.0, 1.0)
    return df


# ----------------------------------------------------------------------------- the result
@dataclass
class PowerResult:
    """Power by n of a study's comparisons (:func:`power`).

    :meth:`table` is tidy: one row per comparison and n with the power and its Wilson
    95 % interval. :meth:`n_for` gives the smallest n that reaches a power.
    """

    study: str
    output: str
    analysis: str
    alpha: float
    n_reps: int
    pool: dict[str, int]
    seed: int
    adjust: str
    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def comparisons(self) -> list[str]:
        return list(dict.fromkeys(self.rows["comparison"]))

    @property
    def n_values(self) -> list[int]:
        return sorted(set(int(n) for n in self.rows["n"]))

    def table(self) -> pd.DataFrame:
        """``comparison, arm, reference, output, n, power, ci_low, ci_high, n_reps``."""
        return self.rows[COLUMNS].copy()

    def n_for(self, target: float = 0.8, *, by: str = "power") -> dict[str, int | None]:
        """The smallest n whose power reaches ``target``, per comparison (None: no n of the
        analysis does). ``by="ci_low"`` asks it of the interval's lower end instead (the n
        that reaches the target with 95 % confidence, as far as the replicates go)."""
        if by not in ("power", "ci_low"):
            raise InputError(f"by must be 'power' or 'ci_low', got {by!r}")
        out: dict[str, int | None] = {}
        for c in self.comparisons:
            g = self.rows[(self.rows["comparison"] == c) & (self.rows[by] >= target)]
            out[c] = int(g["n"].min()) if len(g) else None
        return out

    def describe(self) -> str:
        """One line: what was computed."""
        what = "percent change from baseline" if self.analysis == "change" else "last-day value"
        k = len(self.comparisons)
        test = (f"Welch, Holm across {k} comparison{'s' if k > 1 else ''}"
                if self.adjust == "holm" else "Welch, unadjusted")
        pools = sorted(set(self.pool.values()))
        pool = f"{pools[0]}" if len(pools) == 1 else f"{pools[0]}-{pools[-1]}"
        return (f"{self.output}, {what}; {test}; alpha {self.alpha:g}; {self.n_reps} "
                f"resamples per n; pools of {pool} per arm; seed {self.seed}")

    def wide(self, digits: int = 2) -> pd.DataFrame:
        """Power with its interval as text: one row per n, one column per comparison."""
        t = self.rows.assign(cell=[f"{p:.{digits}f} ({lo:.{digits}f}-{hi:.{digits}f})"
                                   for p, lo, hi in zip(self.rows["power"], self.rows["ci_low"],
                                                        self.rows["ci_high"], strict=True)])
        w = t.pivot(index="n", columns="comparison", values="cell")[self.comparisons]
        w.columns.name = None
        return w.reset_index()

    def __repr__(self) -> str:
        lines = [f"<PowerResult {self.study!r}: {self.describe()}>",
                 "  power (95 % CI) by subjects per arm:"]
        lines += ["  " + line for line in self.wide().to_string(index=False).splitlines()]
        reach = self.n_for(0.8)
        lines.append("  n for 80 % power: " + "; ".join(
            f"{c}: {n if n is not None else f'> {max(self.n_values)}'}"
            for c, n in reach.items()))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        reach = self.n_for(0.8)
        items = "".join(f"<li>{html.escape(c)}: "
                        f"{n if n is not None else f'more than {max(self.n_values)}'}</li>"
                        for c, n in reach.items())
        return (f"<p><b>{html.escape(self.study)}</b>: power by subjects per arm. "
                f"{html.escape(self.describe())}</p>"
                + self.wide().to_html(index=False, escape=True)
                + f"<p>n for 80 % power:</p><ul>{items}</ul>")

    def plot(self, target: float = 0.8, ax=None):
        """Power against n, one line per comparison with its 95 % band, and the
        ``target`` line; returns the matplotlib Figure."""
        import matplotlib.pyplot as plt

        from neurobone.study.plots import PALETTE, _style

        if ax is None:
            fig, ax = plt.subplots(figsize=(7.2, 4.4), dpi=110)
        else:
            fig = ax.figure
        for i, c in enumerate(self.comparisons):
            g = self.rows[self.rows["comparison"] == c].sort_values("n")
            colour = PALETTE[(i + 1) % len(PALETTE)]
            ax.fill_between(g["n"], g["ci_low"], g["ci_high"], color=colour, alpha=0.18,
                            linewidth=0)
            ax.plot(g["n"], g["power"], "o-", color=colour, label=c, markersize=4)
        ax.axhline(target, color="#444444", linestyle="--", linewidth=1)
        ax.axhline(self.alpha, color="#999999", linestyle=":", linewidth=1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("subjects per arm (n)")
        ax.set_ylabel(f"power (alpha {self.alpha:g})")
        ax.set_title(f"{self.study}: {self.output}", loc="left", fontsize=10)
        _style(ax)
        ax.legend(frameon=False, fontsize=8)
        fig.tight_layout()
        return fig


# ----------------------------------------------------------------------------- power()
def check_options(study: Study, n_values: Sequence[int], *,
                  comparisons: Sequence[tuple[str, str]] | None = None, alpha: float = 0.05,
                  n_reps: int = 200, pool: int | None = None, output: str | None = None,
                  adjust: str = "holm") -> tuple[list[int], list[tuple[str, str]], str, int]:
    """Check :func:`power`'s options before any work (one-line
    :class:`~neurobone.errors.InputError`); returns the sorted n values, the pairs, the
    output and the pool size per arm."""
    try:
        ns = sorted({int(n) for n in n_values})
    except (TypeError, ValueError):
        raise InputError(f"n_values must be whole numbers, got {n_values!r}") from None
    if not ns:
        raise InputError("give at least one n (subjects per arm)")
    if any(int(n) != n for n in n_values):
        raise InputError(f"n_values must be whole numbers, got {list(n_values)}")
    if ns[0] < 2:
        raise InputError(f"every n must be at least 2 subjects per arm, got {ns[0]}")
    if not (isinstance(n_reps, (int, np.integer)) and n_reps >= MIN_REPS):
        raise InputError(f"reps must be a whole number of at least {MIN_REPS}, got {n_reps!r}")
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise InputError(f"alpha must be between 0 and 1 (exclusive), got {alpha!r}")
    if adjust not in ("holm", "none"):
        raise InputError(f"adjust must be 'holm' or 'none', got {adjust!r}")
    pairs = ([tuple(c) for c in comparisons] if comparisons is not None
             else study.comparison_pairs)
    for c in pairs:
        if len(c) != 2:
            raise InputError(f"a comparison is (arm, reference), got {c!r}")
        for a in c:
            study.arm(a)  # an unknown arm: one line naming the arms
        if c[0] == c[1]:
            raise InputError(f"comparison compares arm {c[0]!r} with itself")
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        raise InputError(f"study {study.name!r} has no comparison (it needs two arms)")
    output = output or study.primary
    if output not in study.output_names:
        raise InputError(f"{output!r} is not one of the study's outputs "
                         f"({', '.join(study.output_names)})")
    size = max(POOL_FACTOR * ns[-1], MIN_POOL) if pool is None else pool
    if not (isinstance(size, (int, np.integer)) and size >= ns[-1]):
        raise InputError(f"pool must be a whole number of subjects per arm of at least the "
                         f"largest n ({ns[-1]}), got {pool!r}")
    return ns, pairs, output, int(size)


def power(study: Study | dict | str | Path | None, n_values: Sequence[int], *,
          comparisons: Sequence[tuple[str, str]] | None = None, alpha: float = 0.05,
          n_reps: int = 200, seed: int | None = None, pool: int | None = None,
          progress: Progress | None = None, output: str | None = None,
          adjust: str = "holm") -> PowerResult:
    """The power of ``study``'s comparisons for each n (subjects per arm) in ``n_values``.

    ``study`` is a :class:`Study`, a mapping, a YAML path or None (the article's study).
    ``comparisons``: ``(arm, reference)`` pairs (default: the study's). ``output``: the
    output compared (default: the primary outcome), on the study's analysis value.
    ``pool``: subjects simulated per arm (default ``max(10 * max(n_values), 200)``);
    ``seed``: the seed of the pool and the resampling (default: the study's). ``adjust``:
    ``"holm"`` (across the comparisons, as the study) or ``"none"``.
    ``progress(done, total, stage)`` as :func:`~neurobone.study.run.run_study`'s.

    The method (what is simulated once, what is redrawn) is this module's docstring.
    """
    study = as_study(study)
    ns, pairs, output, size = check_options(study, n_values, comparisons=comparisons,
                                            alpha=alpha, n_reps=n_reps, pool=pool,
                                            output=output, adjust=adjust)
    seed = study.seed if seed is None else seed
    arms = [a for a in study.arm_names if any(a in p for p in pairs)]
    pool_study = study.with_options(n_per_arm=size, seed=seed)
    # only the arms compared are simulated; the comparisons travel with the copy
    data = pool_study.model_dump()
    data["arms"] = [a for a in data["arms"] if a["name"] in arms]
    data["comparisons"] = [list(p) for p in pairs]
    data["decomposition_arm"] = None
    pool_study = Study.model_validate(data)
    pool_study._source = study._source

    extra = len(ns)
    total = [0]

    def sim_progress(done: int, tot: int, stage: str) -> None:
        total[0] = tot
        if progress is not None:
            progress(done, tot + extra, f"pool: {stage}")

    t0 = time.perf_counter()
    res = run_study(pool_study, progress=sim_progress, decompose_paths=False)
    timings = {"pool": time.perf_counter() - t0}
    notes = [f"pool: {x}" for x in res.notes]

    days = study.days
    at = res.animals[res.animals["output"] == output]
    pools: dict[str, np.ndarray] = {}
    for a in arms:
        sub = at[at["arm"] == a]
        first = sub[stats.on_day(sub["day"], days[0])].sort_values("animal")["true"].to_numpy()
        last = sub[stats.on_day(sub["day"], days[-1])].sort_values("animal")["true"].to_numpy()
        both = np.column_stack([first, last])
        ok = np.isfinite(both).all(axis=1)
        if not ok.all():
            notes.append(f"arm {a!r}: {int((~ok).sum())} pooled subject(s) could not be "
                         "integrated and are left out of the pool")
        pools[a] = both[ok]
        if len(pools[a]) < ns[-1]:
            raise InputError(f"arm {a!r}: only {len(pools[a])} of {size} pooled subjects "
                             f"could be integrated, fewer than n = {ns[-1]}")

    instrument = instruments_for([output], study.measurement)[output]
    same_day = len(days) == 1
    change = study.analysis == "change"

    def analyse(arm: str, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        first, last = rows[..., 0], rows[..., 1]
        if instrument is not None:  # a replicate study measures again: fresh readings
            last = instrument.measure(last, rng)
            if change:
                first = last if same_day else instrument.measure(first, rng)
        return 100.0 * (last / first - 1.0) if change else last

    def resample_progress(k: int) -> None:
        if progress is not None:
            progress(total[0] + k, total[0] + extra, f"resampling n = {ns[k - 1]}")

    t0 = time.perf_counter()
    rng = stream(seed, key("power"), key(output))
    df = resample_power(pools, pairs, ns, n_reps=n_reps, alpha=alpha, rng=rng, analyse=analyse,
                        adjust=adjust, progress=resample_progress)
    timings["resampling"] = time.perf_counter() - t0
    df.insert(0, "comparison", [label(a, r) for a, r in zip(df["arm"], df["reference"],
                                                              strict=True)])
    df.insert(3, "output", output)
    order = {label(a, r): i for i, (a, r) in enumerate(pairs)}
    df = df.sort_values(["comparison", "n"], key=lambda s: s.map(order) if s.name ==
                        "comparison" else s).reset_index(drop=True)
    return PowerResult(study=study.name, output=output, analysis=study.analysis, alpha=alpha,
                       n_reps=n_reps, pool={a: len(p) for a, p in pools.items()}, seed=int(seed),
                       adjust=adjust, rows=df, notes=notes, timings=timings)


__all__ = ["PowerResult", "check_options", "label", "power", "resample_power",
           "welch_p"]
