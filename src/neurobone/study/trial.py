"""Virtual trials: the placebo-controlled pivotal trials of the drugs, as in-silico studies.

A trial definition (``src/neurobone/data/trials/NAME.yaml``) is a study of women whose
covariates are drawn from the trial's inclusion criteria (``population:``, the
distributions of :mod:`neurobone.scenario.population`: age, years since menopause,
femoral-neck T-score), with between-subject parameter variability, the trial's visits
(``visits_months``), DXA and marker instrument error (:mod:`neurobone.study.measurement`)
and a placebo arm. :func:`run_trial` runs it as a study (:func:`~neurobone.study.run.run_study`,
each arm's subjects its own draws from the one population) and tabulates, at every visit,
the percent change of lumbar spine, total hip and femoral neck aBMD against placebo with
its 95 % confidence interval, the markers' time courses, and the published values
(``src/neurobone/data/trials/published.csv``, each with its source and whether it was
checked) beside the simulated ones.

Calcium and vitamin D, given to both arms of every trial, are not represented in the
model: both arms are the same in that respect, so it cancels in the placebo-adjusted
differences, but the placebo arm's own loss is the model's untreated loss.

See docs/trials.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field

from neurobone.errors import InputError
from neurobone.model.subjects import Covariates
from neurobone.scenario.population import Population, resolve, sample_covariates
from neurobone.scenario.subjects import covariates_of_frame
from neurobone.study.design import Study, parse_study
from neurobone.study.run import StudyResult, run_study
from neurobone.units import DAYS_PER_YEAR

#: days per month of the trials' visits (365.25 / 12)
DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0
#: the outputs every trial measures: DXA of three sites and the two reference markers
OUTPUTS = ["abmd_ls", "abmd_th", "abmd_fn", "ctx", "p1np"]
#: the DXA outputs compared with placebo (percent change from each subject's baseline)
DXA = ["abmd_ls", "abmd_th", "abmd_fn"]
MARKERS = ["ctx", "p1np"]
CALCIUM_VITAMIN_D = ("calcium and vitamin D supplements (both arms) are not represented in the "
                     "model; being the same in both arms, they cancel in the differences "
                     "from placebo")


class TrialDefinition(BaseModel):
    """One built-in trial (a YAML file of ``src/neurobone/data/trials``)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    title: str
    drug: str
    population: Population
    visits_months: list[float] = Field(min_length=2)
    n_per_arm: int = Field(ge=2)
    seed: int = Field(ge=0)
    arms: list[dict]

    @property
    def duration_days(self) -> float:
        return round(max(self.visits_months) * DAYS_PER_MONTH)

    @property
    def visit_days(self) -> list[float]:
        return [float(round(m * DAYS_PER_MONTH)) for m in self.visits_months]

    def study(self, n_per_arm: int | None = None, seed: int | None = None) -> Study:
        """The trial as a :class:`~neurobone.study.design.Study` (women; every arm
        compared with the first, placebo)."""
        placebo = self.arms[0]["name"]
        return parse_study({
            "name": self.name, "description": self.title, "species": "human",
            "subject": {"sex": "female"}, "duration_days": self.duration_days,
            "n_per_arm": n_per_arm or self.n_per_arm,
            "seed": self.seed if seed is None else seed,
            "measurement_days": self.visit_days, "primary_outcome": "abmd_ls",
            "outputs": OUTPUTS, "arms": self.arms,
            "comparisons": [[a["name"], placebo] for a in self.arms[1:]],
        }, source=f"trial {self.name}")


def _folder():
    return resources.files("neurobone.data") / "trials"


@lru_cache(maxsize=1)
def trial_names() -> tuple[str, ...]:
    """The built-in trials' names."""
    return tuple(sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".yaml")))


def load_trial(name: str) -> TrialDefinition:
    """The built-in trial ``name``; an unknown name raises
    :class:`~neurobone.errors.InputError` naming the valid ones."""
    if name not in trial_names():
        raise InputError(f"unknown trial {name!r}; trials: {', '.join(trial_names())}")
    data = yaml.safe_load((_folder() / f"{name}.yaml").read_text())
    return TrialDefinition.model_validate(data)


def published_values(name: str | None = None) -> pd.DataFrame:
    """The published values (``published.csv``), of one trial or all: ``trial, arm,
    output, month, value, ci_low, ci_high, unit, kind, use, source, checked, role,
    fitted_parameter``. ``use`` is ``target`` for a value read in its source,
    ``unverified`` (shown, never a target) or ``none``; ``ci_low, ci_high`` the published
    95 % confidence interval where the source gives one; ``role`` calibration
    (``fitted_parameter`` was fitted to it: by ``scripts/calibrate_drugs.py`` or the
    model-wide fit) or validation (never fitted)."""
    df = pd.read_csv(_folder() / "published.csv")
    return df if name is None else df[df["trial"] == name].reset_index(drop=True)


def trial_covariates(trial: TrialDefinition, study: Study) -> dict[str, Covariates]:
    """Each arm's subjects drawn from the trial's population: arm ``k`` holds subjects
    ``k*n .. k*n+n-1`` of one reproducible population (seed: the study's)."""
    n = study.n_per_arm
    spec = resolve(trial.population, "human", study.subject)
    out = {}
    for k, arm in enumerate(study.arm_names):
        df = sample_covariates(spec, "human", study.seed, k * n, n, np.nan)
        out[arm] = covariates_of_frame(df)
    return out


@dataclass
class TrialResult:
    """A virtual trial's study result and its tables."""

    trial: TrialDefinition
    study: StudyResult
    #: every visit's difference from placebo in percent change from baseline (percentage
    #: points, Welch 95 % CI) of the DXA sites and the markers
    dxa: pd.DataFrame
    markers: pd.DataFrame
    published: pd.DataFrame

    def __str__(self) -> str:
        return format_trial(self)

    def __repr__(self) -> str:
        roles = self.published["role"].value_counts()
        return (f"<TrialResult {self.trial.name}: {len(self.trial.arms)} arms x "
                f"{self.study.study.n_per_arm} women, visits at months "
                f"{', '.join(f'{m:g}' for m in self.trial.visits_months)}; "
                f"{len(self.published)} published values ({roles.get('calibration', 0)} "
                f"calibration, {roles.get('validation', 0)} validation)>")

    def _repr_html_(self) -> str:
        cols = ["arm", "output", "month", "role", "value", "ci_low", "ci_high", "simulated",
                "sim_ci_low", "sim_ci_high", "published_in_ci", "simulated_in_published_ci"]
        head = repr(self).replace("<", "&lt;").replace(">", "&gt;")
        return f"<p><code>{head}</code></p>" + self.published[cols].to_html(index=False)

    def plot(self):
        """Each DXA site's difference from placebo over the visits (mean and 95 % CI per
        arm) with the published differences (black, with their CI where given); returns
        the matplotlib Figure."""
        import matplotlib.pyplot as plt

        from neurobone.study.plots import arm_colours

        arms = [a["name"] for a in self.trial.arms[1:]]
        colours = arm_colours([self.trial.arms[0]["name"], *arms])
        fig, axes = plt.subplots(1, len(DXA), figsize=(4.2 * len(DXA), 3.6), sharey=True)
        names = {"abmd_ls": "lumbar spine", "abmd_th": "total hip", "abmd_fn": "femoral neck"}
        pub = self.published[self.published["kind"] == "difference_vs_placebo"]
        for ax, out in zip(axes, DXA, strict=True):
            for arm in arms:
                d = self.dxa[(self.dxa["arm"] == arm) & (self.dxa["output"] == out)]
                x = np.concatenate([[0.0], d["month"].to_numpy(float)])
                y = np.concatenate([[0.0], d["difference"].to_numpy(float)])
                lo = np.concatenate([[0.0], d["ci_low"].to_numpy(float)])
                hi = np.concatenate([[0.0], d["ci_high"].to_numpy(float)])
                ax.plot(x, y, "-o", ms=3, color=colours[arm], label=f"{arm} (simulated)")
                ax.fill_between(x, lo, hi, color=colours[arm], alpha=0.18, lw=0)
                p = pub[(pub["arm"] == arm) & (pub["output"] == out)]
                for r in p.itertuples():
                    err = (None if pd.isna(r.ci_low) else
                           [[r.value - r.ci_low], [r.ci_high - r.value]])
                    ax.errorbar([r.month], [r.value], yerr=err, fmt="s", ms=5,
                                mfc=colours[arm], mec="black", ecolor="black", capsize=3)
            ax.axhline(0.0, color="0.6", lw=0.8)
            ax.set_title(names[out])
            ax.set_xlabel("month")
        axes[0].set_ylabel("aBMD change, percentage points vs placebo")
        axes[0].legend(fontsize=7, frameon=False, loc="upper left")
        fig.suptitle(f"{self.trial.title}: simulated (line, 95 % CI band) and published "
                     "(squares)", fontsize=9)
        fig.tight_layout()
        return fig


def _dxa_table(trial: TrialDefinition, res: StudyResult) -> pd.DataFrame:
    rows = []
    placebo = trial.arms[0]["name"]
    for month, day in zip(trial.visits_months[1:], trial.visit_days[1:], strict=True):
        comp = res.comparisons(day=day, outputs=DXA + MARKERS, value="change_pct")
        for _, c in comp.iterrows():
            rows.append({"month": month, "day": day, "arm": c["arm"], "reference": placebo,
                         "output": c["output"], "difference": c["diff"],
                         "ci_low": c["ci_low"], "ci_high": c["ci_high"], "p": c["p"]})
    return pd.DataFrame(rows)


def _marker_table(trial: TrialDefinition, res: StudyResult) -> pd.DataFrame:
    a = res.animals[res.animals["output"].isin(MARKERS)]
    g = a.groupby(["arm", "output", "day"], sort=False)
    df = g.agg(mean=("measured", "mean"), change_pct=("change_pct", "mean")).reset_index()
    month = dict(zip(trial.visit_days, trial.visits_months, strict=True))
    df.insert(2, "month", df["day"].map(month))
    # percent difference of the arm's mean from placebo's on the same day
    placebo = df[df["arm"] == trial.arms[0]["name"]].set_index(["output", "day"])["mean"]
    ref = df.set_index(["output", "day"]).index.map(placebo)
    df["pct_vs_placebo"] = 100.0 * (df["mean"].to_numpy() / np.asarray(ref, float) - 1.0)
    return df


def _beside(trial: TrialDefinition, res: StudyResult, dxa: pd.DataFrame) -> pd.DataFrame:
    """The published values with the simulated value of the same quantity."""
    pub = published_values(trial.name).copy()
    sim, lo, hi = [], [], []
    for _, r in pub.iterrows():
        s = l_ = h = np.nan
        if r["kind"] == "difference_vs_placebo":
            row = dxa[(dxa["arm"] == r["arm"]) & (dxa["output"] == r["output"])
                      & np.isclose(dxa["month"], r["month"])]
            if len(row):
                s, l_, h = row[["difference", "ci_low", "ci_high"]].iloc[0]
        elif r["kind"] == "change_from_baseline":
            day = round(r["month"] * DAYS_PER_MONTH)
            c = mean_change(res, r["arm"], r["output"], day)
            if c is not None:
                s, l_, h = c
        elif r["kind"] == "percent_difference_vs_placebo":
            # the marker's mean percent change from baseline minus placebo's
            row = dxa[(dxa["arm"] == r["arm"]) & (dxa["output"] == r["output"])
                      & np.isclose(dxa["month"], r["month"])]
            if len(row):
                s, l_, h = row[["difference", "ci_low", "ci_high"]].iloc[0]
        sim.append(s)
        lo.append(l_)
        hi.append(h)
    pub["simulated"], pub["sim_ci_low"], pub["sim_ci_high"] = sim, lo, hi
    inside = (pub["value"] >= pub["sim_ci_low"]) & (pub["value"] <= pub["sim_ci_high"])
    pub["published_in_ci"] = np.where(pub["sim_ci_low"].notna() & pub["value"].notna(),
                                      np.where(inside, "yes", "no"), "")
    # the simulated mean inside the published 95 % CI (where the source gives one)
    within = (pub["simulated"] >= pub["ci_low"]) & (pub["simulated"] <= pub["ci_high"])
    pub["simulated_in_published_ci"] = np.where(
        pub["ci_low"].notna() & pub["simulated"].notna(), np.where(within, "yes", "no"), "")
    return pub


def mean_change(res: StudyResult, arm: str, output: str, day: float):
    """Mean percent change from baseline of ``arm``'s ``output`` on ``day`` and its t-based
    95 % CI (None if not measured)."""
    from scipy import stats as st

    a = res.animals
    v = a[(a["arm"] == arm) & (a["output"] == output) & np.isclose(a["day"], day)]["change_pct"]
    v = v.dropna().to_numpy()
    if len(v) < 2:
        return None
    m, se = v.mean(), v.std(ddof=1) / np.sqrt(len(v))
    t = st.t.ppf(0.975, len(v) - 1)
    return m, m - t * se, m + t * se


def run_trial(name: str, n_per_arm: int | None = None, seed: int | None = None,
              *, progress=None) -> TrialResult:
    """Run the built-in trial ``name`` (:func:`trial_names`); ``n_per_arm`` and ``seed``
    override the definition's (a modest virtual n: 30 women per arm in every built-in trial)."""
    trial = load_trial(name)
    if n_per_arm is not None and n_per_arm < 2:
        raise InputError(f"n_per_arm: at least 2 (got {n_per_arm})")
    study = trial.study(n_per_arm, seed)
    res = run_study(study, progress=progress, decompose_paths=False,
                    covariates=trial_covariates(trial, study))
    res.notes.append(CALCIUM_VITAMIN_D)
    dxa = _dxa_table(trial, res)
    markers = _marker_table(trial, res)
    return TrialResult(trial, res, dxa, markers, _beside(trial, res, dxa))


def format_trial(result: TrialResult) -> str:
    """The printout of a trial: DXA against placebo per visit with 95 % CI, the markers'
    time courses, and the published values beside the simulated ones."""
    t = result.trial
    n = result.study.study.n_per_arm
    lines = [t.title, f"virtual women: {n} per arm (seed {result.study.study.seed}); "
             f"{CALCIUM_VITAMIN_D}", "",
             "aBMD, percent change from baseline, difference from placebo (95 % CI):",
             f"{'month':>5}  {'arm':18s} {'lumbar spine':>22s} {'total hip':>22s} "
             f"{'femoral neck':>22s}"]
    d = result.dxa
    for (month, arm), g in d[d["output"].isin(DXA)].groupby(["month", "arm"], sort=False):
        cells = []
        for out in DXA:
            r = g[g["output"] == out].iloc[0]
            cells.append(f"{r['difference']:+5.1f} ({r['ci_low']:+5.1f}, {r['ci_high']:+5.1f})")
        lines.append(f"{month:5g}  {arm:18s} " + " ".join(f"{c:>22s}" for c in cells))
    lines += ["", "markers, arm mean (percent change from baseline):",
              f"{'month':>5}  {'arm':18s} {'CTX ug/L':>18s} {'P1NP ug/L':>18s}"]
    m = result.markers
    for (arm, month), g in m.groupby(["arm", "month"], sort=False):
        cells = []
        for out in MARKERS:
            r = g[g["output"] == out].iloc[0]
            pct = "" if month == 0 else f" ({r['change_pct']:+4.0f} %)"
            cells.append(f"{r['mean']:.3g}{pct}")
        lines.append(f"{month:5g}  {arm:18s} " + " ".join(f"{c:>18s}" for c in cells))
    lines += ["", "published beside simulated (role: calibration = the figure "
              "scripts/calibrate_drugs.py fitted the named parameter to; validation = "
              "never fitted):"]
    for _, r in result.published.iterrows():
        val = "n/a" if pd.isna(r["value"]) else f"{r['value']:+g}"
        if pd.notna(r["ci_low"]):
            val += f" (95 % CI {r['ci_low']:+g}, {r['ci_high']:+g})"
        sim = "n/a" if pd.isna(r["simulated"]) else f"{r['simulated']:+.1f}"
        ci = ("" if pd.isna(r["sim_ci_low"])
              else f" (95 % CI {r['sim_ci_low']:+.1f}, {r['sim_ci_high']:+.1f})")
        inside = {"yes": "; published inside the simulated CI",
                  "no": "; published OUTSIDE the simulated CI"}.get(r["published_in_ci"], "")
        inside += {"yes": "; simulated inside the published CI",
                   "no": "; simulated OUTSIDE the published CI"}.get(
                       r["simulated_in_published_ci"], "")
        role = r["role"] + (f" of {r['fitted_parameter']}"
                            if isinstance(r["fitted_parameter"], str) else "")
        use = "" if r["use"] == "target" else f", {r['use']}"
        lines.append(f"  {r['arm']} {r['output']} month {r['month']:g} ({r['kind']}, "
                     f"{r['unit']}): published {val}, simulated {sim}{ci}{inside} "
                     f"[{role}{use}]")
        lines.append(f"      source: {r['source']}")
    return "\n".join(lines)


def format_trial_list() -> str:
    """One line per built-in trial: its name, drug and title."""
    rows = [load_trial(n) for n in trial_names()]
    width = max(len(t.name) for t in rows)
    return "\n".join(f"{t.name:{width}s}  {t.drug:13s} {t.title}" for t in rows)


def validation_table(n_per_arm: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Run every built-in trial and return its published values beside the simulated ones,
    the calibration/validation bookkeeping of the drugs: ``role`` is ``calibration`` for
    the figure ``scripts/calibrate_drugs.py`` fitted ``fitted_parameter`` to (a single
    simulated woman there, the trial's virtual population here) and ``validation`` for
    every other figure, which the fit never saw; ``published_in_ci`` says whether the
    published value lies in the simulated 95 % confidence interval; ``use`` says whether
    the value was read in its source (``target``) or not (``unverified``: shown, not
    judged)."""
    frames = [run_trial(name, n_per_arm, seed).published for name in trial_names()]
    df = pd.concat(frames, ignore_index=True)
    cols = ["trial", "arm", "output", "month", "kind", "role", "fitted_parameter", "value",
            "ci_low", "ci_high", "simulated", "sim_ci_low", "sim_ci_high", "published_in_ci",
            "simulated_in_published_ci", "use", "source"]
    return df[cols]


def validation_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per ``role`` (calibration, validation): ``rows``; ``judged``, the rows with a
    published value read in its source (``use`` target) and a simulated CI;
    ``published_in_sim_ci``, how many of those hold the published value inside the
    simulated 95 % CI; ``with_published_ci``, the judged rows whose source gives a 95 %
    CI, and ``sim_in_published_ci``, how many of those hold the simulated mean inside it."""
    judged = table[(table["use"] == "target") & table["published_in_ci"].isin(["yes", "no"])]
    rows = []
    for role in ("calibration", "validation"):
        j = judged[judged["role"] == role]
        with_ci = j[j["simulated_in_published_ci"].isin(["yes", "no"])]
        rows.append({"role": role, "rows": int((table["role"] == role).sum()),
                     "judged": len(j),
                     "published_in_sim_ci": int((j["published_in_ci"] == "yes").sum()),
                     "with_published_ci": len(with_ci),
                     "sim_in_published_ci":
                         int((with_ci["simulated_in_published_ci"] == "yes").sum())})
    return pd.DataFrame(rows)


def validation_markdown(table: pd.DataFrame) -> str:
    """The validation table and its summary as Markdown (docs/trials.md)."""
    head = ("| trial | arm | output | month | role | published (95 % CI) | simulated (95 % CI) "
            "| published in simulated CI | simulated in published CI | use |")
    lines = [head, "|" + "---|" * 10]
    for _, r in table.iterrows():
        val = "n/a" if pd.isna(r["value"]) else f"{r['value']:+g}"
        if pd.notna(r["ci_low"]):
            val += f" ({r['ci_low']:+g}, {r['ci_high']:+g})"
        sim = ("n/a" if pd.isna(r["simulated"]) else
               f"{r['simulated']:+.1f} ({r['sim_ci_low']:+.1f}, {r['sim_ci_high']:+.1f})")
        role = r["role"] + (f" ({r['fitted_parameter']})"
                            if isinstance(r["fitted_parameter"], str) else "")
        lines.append(f"| {r['trial']} | {r['arm']} | {r['output']} | {r['month']:g} | {role} "
                     f"| {val} | {sim} | {r['published_in_ci'] or '-'} "
                     f"| {r['simulated_in_published_ci'] or '-'} | {r['use']} |")
    lines.append("")
    for _, s in validation_summary(table).iterrows():
        lines.append(f"- {s['role']} rows: {s['rows']}; judged (a published value read in "
                     f"its source): {s['judged']}; published value inside the simulated "
                     f"95 % CI: {s['published_in_sim_ci']} of {s['judged']}; simulated mean "
                     f"inside the published 95 % CI: {s['sim_in_published_ci']} of "
                     f"{s['with_published_ci']} (the rows whose source gives a CI)")
    return "\n".join(lines)
