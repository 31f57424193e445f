"""Search weekly exercise plans for one person, across their uncertainty.

:func:`prescribe` finds the feasible plan (:mod:`neurobone.prescription.plans`) with the
best expected outcome at the horizon for a person (:class:`~neurobone.prescription.person.
Person`):

1. **The person's uncertainty.** ``draws`` virtual copies of the person, each with the
   model's between-subject parameter variability drawn around the reference (the spread a
   cohort has; :func:`~neurobone.scenario.variability.draw_parameters`), each set up from
   the person's age, menopause and T-scores by the one subject initialisation. Until the
   person's own measurements personalise it (the fitting layer), this population spread
   is the person's prior.
2. **The goal.** ``"abmd"``: maximise the mean, over the draws, of the percent change of
   aBMD at the chosen sites (spine ``abmd_ls`` and femoral neck ``abmd_fn`` by default,
   averaged) from day 0 to the horizon; ``"fracture"``: minimise the mean 10-year
   probability (percent) of a major osteoporotic fracture (``mof_fracture_10y``) at the
   horizon (the score is minus that probability).
3. **The search.** Steepest-ascent local search on the plan grid from several starts
   (no exercise, and each common plan made feasible where it is): at each step every
   feasible neighbour of the current plan is evaluated for every draw in one batched
   engine call (:func:`neurobone.simulate`, SIMD lanes), and the search moves to the best
   neighbour while it improves the goal by more than ``tol``. Each plan is evaluated once
   (cached), and the best plan found over the starts is kept.
4. **What it is worth.** The best plan and the common plans with ``final_draws`` draws:
   trajectories with 90 % bands (5th-95th percentiles over the draws: the person's
   uncertainty, not measurement error), and the cost of waiting 1 or 5 years to start the
   best plan (the outcome at the same date, starting now against starting later).
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neurobone.engine.kernels import compile_model
from neurobone.engine.simulate import Progress, simulate
from neurobone.engine.solvers import Lanes
from neurobone.errors import InputError, SolverError
from neurobone.prescription.person import Person
from neurobone.prescription.personal import Trial, log_likelihood, resample
from neurobone.prescription.plans import (
    COMMON_PLANS,
    Plan,
    Session,
    allowed_modalities,
    neighbours,
    rules,
)
from neurobone.scenario.compile import base_parameters, model_for, protocol
from neurobone.scenario.schema import parse_scenario
from neurobone.scenario.subjects import covariates_of_subject, initialise_subjects, reference
from neurobone.scenario.variability import draw_parameters
from neurobone.units import DAYS_PER_YEAR

DISCLAIMER = ("neurobone is a research model: its prescriptions are hypotheses to test, "
              "not medical advice")
GOALS = ("abmd", "fracture")
SITES = {"spine": "abmd_ls", "femoral_neck": "abmd_fn", "total_hip": "abmd_th"}
OUTPUTS = ["abmd_ls", "abmd_fn", "abmd_th", "t_score_spine", "t_score", "mof_fracture_10y",
           "hip_fracture_10y", "connectivity", "sympathetic_tone", "ctx", "p1np"]
#: the delays whose cost is reported (years)
DELAYS = (1.0, 5.0)
#: the engine's relative tolerance for plan evaluations (the cohort's)
RTOL = 5e-5
#: labelled course lengths (days): a drug is never given past them (Evenity label: 210 mg
#: once monthly for 12 months; the dose row of data/drug_pk.csv)
MAX_COURSE_DAYS = {"romosozumab": 365.0}
#: steps of the local search from one start, at most
MAX_STEPS = 25
#: with ``drug="any"``: drugs kept for the full search after the screen of the starting
#: plans (each drug's best start)
SCREEN_KEEP = 2


@dataclass
class Prescription:
    """The result of :func:`prescribe`: the plan, its predicted outcome with bands, the
    common plans beside it and the cost of waiting."""

    person: Person
    goal: str
    sites: tuple[str, ...]
    horizon_years: float
    max_minutes_week: float
    plan: Plan
    score: float
    summary: pd.DataFrame        # one row per plan: name, plan, outcome means and bands
    trajectories: pd.DataFrame   # day, plan, output, mean, low, high
    waiting: pd.DataFrame        # delay_years, output, start_now, start_later, cost
    search: pd.DataFrame         # one row per evaluated plan: plan, score, start, step
    diagnostics: dict
    notes: list[str] = field(default_factory=list)
    drug: str | None = None
    trial: Trial | None = None

    def table(self) -> pd.DataFrame:
        """One row per plan (the prescription first): outcome means and 90 % bands."""
        return self.summary.copy()

    def __repr__(self) -> str:
        best = self.summary.iloc[0]
        lines = [f"<Prescription for a {self.person.describe()}: goal {self.goal}, "
                 f"{self.horizon_years:g} years, at most {self.max_minutes_week:g} min/week>",
                 f"  plan: {self.plan.describe()}"
                 + (f" + {self.drug} at its labelled dose" if self.drug else "")]
        if self.trial is not None:
            post = self.diagnostics.get("posterior") or {}
            lines.insert(1, f"  personalised by a trial ({self.trial.describe()}; effective "
                            f"sample size {post.get('effective_sample_size', float('nan')):g} "
                            f"of {post.get('prior_draws', 0)}); the plan starts when it ends")
        for s in self.plan.sessions:
            if rules()[s.modality].supervised:
                lines.append(f"  ({s.modality} is done supervised, as in its source trial)")
        for site in self.sites:
            col = SITES[site]
            lines.append(f"  {col} {best[f'{col}_pct']:+.1f} % (90 % band "
                         f"{best[f'{col}_pct_low']:+.1f} to {best[f'{col}_pct_high']:+.1f})")
        lines.append(f"  10-year major osteoporotic fracture probability at the horizon "
                     f"{best['mof_fracture_10y']:.1f} % (90 % band "
                     f"{best['mof_fracture_10y_low']:.1f} to {best['mof_fracture_10y_high']:.1f})")
        for row in self.summary.iloc[1:].itertuples(index=False):
            lines.append(f"  vs {row.name}: goal {self.goal} {row.score:+.3g} "
                         f"(prescription {self.score:+.3g})")
        for row in self.waiting[self.waiting["output"] == "goal"].itertuples(index=False):
            verdict = "waiting costs" if row.cost < 0 else "waiting gains"
            lines.append(f"  starting {row.delay_years:g} year(s) later: goal {self.goal} "
                         f"{row.cost:+.3g} at the same date (now {row.start_now:+.3g}, later "
                         f"{row.start_later:+.3g}: {verdict} {abs(row.cost):.3g})")
        lines.append(f"  {DISCLAIMER}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        """``{"plan", "drug", "predicted", "alternatives", "waiting", "disclaimer", ...}``."""
        def outcome(row) -> dict:
            out = {}
            for col in ("abmd_ls", "abmd_fn", "abmd_th"):
                out[f"{col}_pct_change"] = {"mean": row[f"{col}_pct"],
                                            "low": row[f"{col}_pct_low"],
                                            "high": row[f"{col}_pct_high"]}
            for col in ("mof_fracture_10y", "hip_fracture_10y"):
                out[col] = {"mean": row[col], "low": row[f"{col}_low"],
                            "high": row[f"{col}_high"]}
            return out

        best = self.summary.iloc[0]
        return {
            "person": self.person.subject(),
            "goal": self.goal, "sites": list(self.sites),
            "horizon_years": self.horizon_years,
            "max_minutes_week": self.max_minutes_week,
            "plan": self.plan.to_json(),
            "drug": self.drug and self._drug_json(),
            "trial": self.trial.to_json() if self.trial is not None else None,
            "predicted": {"score": self.score, **outcome(best)},
            "alternatives": [{"name": r["name"], "plan": r["plan_json"], "drug": r["drug"],
                              "score": r["score"],
                              "within_limits": bool(r["within_limits"]),
                              "problems": r["problems"], **outcome(r)}
                             for _, r in self.summary.iloc[1:].iterrows()],
            "waiting": [{"delay_years": r.delay_years, "start_now": r.start_now,
                         "start_later": r.start_later, "cost": r.cost}
                        for r in self.waiting[self.waiting["output"] == "goal"]
                        .itertuples(index=False)],
            "diagnostics": self.diagnostics,
            "notes": self.notes,
            "disclaimer": DISCLAIMER,
        }

    def _drug_json(self) -> dict:
        from neurobone.model.brainbone.regimens import default_dose, default_interval

        return {"name": self.drug, "dose_mg": default_dose(self.drug),
                "every_days": default_interval(self.drug), "labelled": True}

    def plot(self):
        """aBMD at each chosen site over the horizon: the prescription and the common plans,
        mean and 90 % band over the person's draws. Returns the Figure."""
        import matplotlib.pyplot as plt

        sites = [SITES[s] for s in self.sites]
        fig, axes = plt.subplots(1, len(sites), figsize=(5.2 * len(sites), 3.8), squeeze=False)
        for ax, col in zip(axes[0], sites, strict=True):
            for k, name in enumerate(self.summary["name"]):
                t = self.trajectories[(self.trajectories["plan"] == name)
                                      & (self.trajectories["output"] == col)]
                years = t["day"] / DAYS_PER_YEAR
                ax.plot(years, t["mean"], color=f"C{k}", lw=2 if k == 0 else 1.2,
                        label=name if k else "prescription: " + self.plan.describe()
                        + (f" + {self.drug}" if self.drug else ""))
                ax.fill_between(years, t["low"], t["high"], color=f"C{k}", alpha=0.15, lw=0)
            ax.set_xlabel("years from now")
            ax.set_ylabel(f"{col}, g/cm2")
            ax.set_title(col)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.suptitle(f"{self.person.describe()}: mean and 90 % band over the person's "
                     "parameter uncertainty (no measurement error)", fontsize=9)
        fig.tight_layout(rect=(0, 0.16, 1, 1))
        fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False,
                   title=DISCLAIMER, title_fontsize=7)
        return fig


def _check(goal, sites, horizon_years, max_minutes_week, draws, final_draws, seed, tol):
    if goal not in GOALS:
        raise InputError(f"goal: {goal!r} is not valid; valid: {', '.join(GOALS)}")
    bad = [s for s in sites if s not in SITES]
    if bad or not sites:
        raise InputError(f"sites: {bad[0] if bad else 'none'!r} is not valid; valid: "
                         f"{', '.join(SITES)}")
    for name, v, lo, hi in (("horizon-years", horizon_years, 0.25, 10.0),
                            ("max-minutes-week", max_minutes_week, 0.0, 1500.0),
                            ("tol", tol, 0.0, 1.0)):
        if (isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v)
                or not lo <= v <= hi):
            raise InputError(f"{name}: must be a number from {lo:g} to {hi:g}, got {v!r}")
    for name, v, lo in (("draws", draws, 2), ("final-draws", final_draws, 2), ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise InputError(f"{name}: must be an integer of at least {lo}, got {v!r}")


class _Evaluator:
    """Plans x draws of one person through one batched engine call per batch of plans."""

    def __init__(self, person: Person, days: float, longest: float, n: int, seed: int,
                 drug: str | None = None, trial: Trial | None = None):
        self.person, self.days, self.drug, self.trial = person, days, drug, trial
        #: the trial's length: the plan under search starts after it (day 0 of the search)
        self.T = trial.days if trial is not None else 0.0
        longest = longest + self.T
        scn = parse_scenario({"species": "human", "subject": person.subject(),
                              "duration_days": longest,
                              "drugs": [{"name": drug}] if drug else []})
        self.scn = scn
        self.cm = compile_model(model_for(scn))
        self.ref = reference(self.cm, base_parameters(self.cm, {}))
        P = draw_parameters(self.ref.p, self.cm.model, seed, "prescribe", n)
        subj = initialise_subjects(self.cm, covariates_of_subject(scn.subject, "human", n=n),
                                   ref=self.ref, P=P, days=longest)
        ok = subj.status == 0
        if not ok.any():
            raise SolverError(f"the person could not be set up: {subj.failure[0]}")
        self.P, self.Y0 = subj.parameters[ok], subj.initial[ok]
        self.own = [r for r, k in zip(subj.rows, ok, strict=True) if k]
        self.n = int(ok.sum())
        self.notes = list(dict.fromkeys(subj.notes))
        if self.n < n:
            self.notes.append(f"{n - self.n} of {n} draws could not be set up and are left out")
        self.rows_cache: dict = {}
        self.subjects = 0
        self.calls = 0

    def subset(self, idx: np.ndarray) -> "_Evaluator":
        """The evaluator of copies ``idx`` (repeats allowed: a resampled posterior)."""
        out = copy.copy(self)
        out.P, out.Y0 = self.P[idx], self.Y0[idx]
        out.own = [self.own[i] for i in idx]
        out.n, out.subjects, out.calls = len(idx), 0, 0
        return out

    def rows(self, plan: Plan, start_day: float, duration: float, drug: bool):
        key = (plan, start_day, duration, drug)
        if key not in self.rows_cache:
            T = self.T
            regimen = []
            if drug and self.drug:
                regimen = [{"name": self.drug, "start_day": T + start_day}]
                if self.drug in MAX_COURSE_DAYS:
                    regimen[0]["end_day"] = min(T + duration,
                                                T + start_day + MAX_COURSE_DAYS[self.drug])
            trial = self.trial.plan.blocks(0.0, T) if self.trial is not None else []
            scn = parse_scenario({"species": "human", "subject": self.person.subject(),
                                  "duration_days": T + duration,
                                  "exercise": trial + plan.blocks(T + start_day),
                                  "drugs": regimen})
            self.rows_cache[key] = protocol(self.cm, scn, self.ref)
        return self.rows_cache[key]

    def run(self, plans: list[Plan], save_days, *, start_day: float = 0.0,
            duration: float | None = None, drug: bool | list[bool] = True) -> np.ndarray:
        """Values ``(plans, draws, days, outputs)`` (NaN where a draw failed); ``drug``
        (one flag, or one per plan): with the evaluator's drug at its labelled dosing.
        Days count from the end of the trial (if any), which runs first."""
        duration = self.days if duration is None else duration
        flags = drug if isinstance(drug, list) else [drug] * len(plans)
        sched, idx = [], []
        for plan, with_drug in zip(plans, flags, strict=True):
            rows = self.rows(plan, start_day, duration, with_drug)
            for k in range(self.n):
                sched.append(self.own[k] + rows)
                idx.append(k)
        res = simulate(self.cm, self.T + duration, parameters=self.P[idx],
                       initial=self.Y0[idx], schedule=sched,
                       save_days=[self.T + d for d in save_days], outputs=OUTPUTS,
                       solver=Lanes(rtol=RTOL), on_failure="ignore")
        self.subjects += len(idx)
        self.calls += 1
        v = np.array(res.values, float)
        v[np.asarray(res.status) != 0] = np.nan
        return v.reshape(len(plans), self.n, len(save_days), len(OUTPUTS))


def _score(values: np.ndarray, goal: str, sites) -> np.ndarray:
    """The goal per plan (larger is better) from values ``(plans, draws, 2 days, outputs)``."""
    if goal == "fracture":
        mof = values[:, :, -1, OUTPUTS.index("mof_fracture_10y")]  # percent
        return -np.nanmean(mof, axis=1)
    cols = [OUTPUTS.index(SITES[s]) for s in sites]
    pct = 100 * (values[:, :, -1, cols] / values[:, :, 0, cols] - 1)
    return np.nanmean(pct.mean(axis=2), axis=1)


def _feasible_start(plan: Plan, allowed, max_minutes: float, person: Person) -> Plan | None:
    """``plan`` cut down to what is allowed (modalities, days, minutes); None if nothing is."""
    table = rules()
    sessions = []
    for s in plan.sessions:
        if s.modality not in allowed:
            continue
        rule = table[s.modality]
        sessions.append(Session(s.modality, min(s.days_per_week, rule.max_days),
                                min(rule.minutes, key=lambda m: abs(m - s.minutes)),
                                min(rule.intensities, key=lambda v: abs(v - s.intensity))))
    cut = Plan.of(*sessions)
    while cut.sessions and cut.problems(person, max_minutes, allowed):
        # drop a session of the longest kind until the plan fits
        longest = max(cut.sessions, key=lambda s: s.minutes)
        rest = [s for s in cut.sessions if s is not longest]
        if longest.days_per_week > 1:
            rest.append(Session(longest.modality, longest.days_per_week - 1, longest.minutes,
                                longest.intensity))
        cut = Plan.of(*rest)
    return cut


def _starts(person: Person, allowed, max_minutes_week) -> list[Plan]:
    """The search's starting plans: no exercise and each common plan made feasible."""
    starts = [Plan()] + [p for p in (_feasible_start(c, allowed, max_minutes_week, person)
                                     for c in COMMON_PLANS.values()) if p is not None]
    return list(dict.fromkeys(starts))


def _search(ev: _Evaluator, person: Person, allowed, goal, sites, max_minutes_week, tol,
            days, tick, k0: int, n_starts_total: int):
    """The local search with ``ev`` (its drug, if any, with every plan): the best plan, its
    score, every plan's score and the trace."""
    scores: dict[Plan, float] = {}
    trace = []

    def evaluate(plans: list[Plan]) -> None:
        todo = [p for p in dict.fromkeys(plans) if p not in scores]
        if todo:
            vals = ev.run(todo, [0.0, days])
            for p, s in zip(todo, _score(vals, goal, sites), strict=True):
                scores[p] = float(s) if np.isfinite(s) else -math.inf

    starts = _starts(person, allowed, max_minutes_week)
    evaluate(starts)
    best_plan, best_score = Plan(), scores[Plan()]
    for k, start in enumerate(starts):
        current = start
        for step in range(MAX_STEPS):
            trace.append({"drug": ev.drug, "start": k, "step": step,
                          "plan": current.describe(), "score": scores[current]})
            cands = [p for p in neighbours(current, allowed)
                     if not p.problems(person, max_minutes_week, allowed)]
            evaluate(cands)
            if not cands:
                break
            nxt = max(cands, key=lambda p: scores[p])
            if scores[nxt] <= scores[current] + tol:
                break
            current = nxt
        if scores[current] > best_score + 1e-12:
            best_plan, best_score = current, scores[current]
        tick(k0 + k + 1, n_starts_total, "searching")
    return best_plan, best_score, scores, trace, len(starts)


def _outcomes(v: np.ndarray) -> dict:
    """Means and 90 % bands at the horizon from values ``(draws, days, outputs)``."""
    row = {}
    for col in ("abmd_ls", "abmd_fn", "abmd_th"):
        j = OUTPUTS.index(col)
        pct = 100 * (v[:, -1, j] / v[:, 0, j] - 1)
        row[f"{col}_pct"] = float(np.nanmean(pct))
        row[f"{col}_pct_low"], row[f"{col}_pct_high"] = map(float, np.nanpercentile(pct, [5, 95]))
    for col in ("mof_fracture_10y", "hip_fracture_10y"):
        x = v[:, -1, OUTPUTS.index(col)]
        row[col] = float(np.nanmean(x))
        row[f"{col}_low"], row[f"{col}_high"] = map(float, np.nanpercentile(x, [5, 95]))
    return row


def _copies(person: Person, days: float, longest: float, draws: int, final_draws: int,
            seed: int, drug: str | None, trial: Trial | None, prior_draws: int
            ) -> tuple[_Evaluator, _Evaluator, dict]:
    """The evaluators of the search (``draws`` copies) and of the report (``final_draws``):
    the prior's copies, or with a trial, copies resampled from ``prior_draws`` prior
    copies in proportion to the likelihood of what the trial measured."""
    if trial is None:
        return (_Evaluator(person, days, longest, draws, seed, drug=drug),
                _Evaluator(person, days, longest, final_draws, seed, drug=drug), {})
    prior = _Evaluator(person, days, longest, prior_draws, seed, drug=drug, trial=trial)
    # the trial alone: days -T .. 0 of the search's clock
    v = prior.run([Plan()], [-trial.days, 0.0], duration=0.0, drug=False)[0]
    cols = [OUTPUTS.index(o) for o in trial.outputs]
    ll = log_likelihood(trial, v[:, 0, cols], v[:, 1, cols])
    rng = np.random.default_rng([seed, 7])
    idx, ess = resample(ll, draws, rng)
    idx_final, _ = resample(ll, final_draws, rng)
    info = {"prior_draws": prior.n, "effective_sample_size": round(ess, 1),
            "distinct_search_copies": int(len(set(idx.tolist()))),
            "distinct_report_copies": int(len(set(idx_final.tolist())))}
    return prior.subset(idx), prior.subset(idx_final), info


def prescribe(person: Person, *, goal: str = "abmd", sites=("spine", "femoral_neck"),
              horizon_years: float = 2.0, max_minutes_week: float = 150.0,
              exclude: tuple[str, ...] = (), drug: str | None = None,
              trial: Trial | None = None, prior_draws: int = 400, draws: int = 12,
              final_draws: int = 48, seed: int = 0, tol: float = 0.01,
              progress: Progress | None = None) -> Prescription:
    """The best feasible weekly exercise plan for ``person``, optionally with a drug (see
    the module docstring).

    Parameters
    ----------
    person : the :class:`~neurobone.prescription.person.Person`.
    goal : ``"abmd"`` (mean percent change of aBMD at ``sites``) or ``"fracture"``
        (10-year major osteoporotic fracture probability at the horizon).
    sites : of ``spine``, ``femoral_neck``, ``total_hip`` (goal ``abmd``).
    horizon_years : the plan's length, 0.25-10 years.
    max_minutes_week : the most exercise minutes a week the person will do.
    exclude : modalities not to use (e.g. ``("running",)``).
    drug : None (exercise only), a drug of docs/drugs.md at its labelled dose and interval
        (the exercise plan is searched with it), or ``"any"`` (each osteoporosis drug in
        turn, ``regimens.OSTEOPOROSIS``; the best combination wins).
    trial : an early response (:class:`~neurobone.prescription.personal.Trial`): a plan
        followed for some days and the changes measured over it. The copies of the person
        are then resampled from ``prior_draws`` prior copies in proportion to the
        likelihood of the measurements (the person's posterior), and the plan under search
        starts when the trial ends.
    draws : copies of the person in the search; ``final_draws`` for the reported bands.
    seed : the draws follow from it (same seed, same prescription).
    tol : the least improvement of the goal (its units) a search step must make.
    progress : ``progress(done, total, stage)``; stages ``setting up``, ``searching``,
        ``reporting``.

    Bad input raises :class:`~neurobone.errors.InputError` naming the field and the valid
    choices.
    """
    from neurobone.model.brainbone.regimens import DRUGS, OSTEOPOROSIS

    if not isinstance(person, Person):
        raise InputError(f"person: give a neurobone.prescription.Person, got "
                         f"{type(person).__name__}")
    sites = (sites,) if isinstance(sites, str) else tuple(sites)
    exclude = (exclude,) if isinstance(exclude, str) else tuple(exclude)
    _check(goal, sites, horizon_years, max_minutes_week, draws, final_draws, seed, tol)
    if drug is not None and drug != "any" and drug not in DRUGS:
        raise InputError(f"drug: {drug!r} is not valid; valid: {', '.join(DRUGS)}, any")
    allowed = allowed_modalities(person, exclude)
    t0 = time.perf_counter()
    tick = progress or (lambda *a: None)
    days = float(round(horizon_years * DAYS_PER_YEAR))
    longest = days + max(DELAYS) * DAYS_PER_YEAR
    tick(0, 3, "setting up")
    if trial is not None and not isinstance(trial, Trial):
        raise InputError(f"trial: give a neurobone.prescription.personal.Trial, got "
                         f"{type(trial).__name__}")
    if isinstance(prior_draws, bool) or not isinstance(prior_draws, numbers.Integral) or \
            prior_draws < max(draws, final_draws):
        raise InputError(f"prior-draws: must be an integer of at least draws and final-draws "
                         f"({max(draws, final_draws)}), got {prior_draws!r}")
    candidates = list(OSTEOPOROSIS) if drug == "any" else [drug]
    finals: dict = {}
    searched, trace, calls, subjects, n_starts = [], [], 0, 0, 0
    notes: list[str] = []
    made = {}
    if len(candidates) > SCREEN_KEEP:
        # --drug any: every drug with the starting plans (one batched call each), then the
        # full search for the SCREEN_KEEP drugs that did best there
        screen = []
        for d in candidates:
            tick(0, 3, f"screening ({d})")
            made[d] = _copies(person, days, longest, draws, final_draws, seed, d, trial,
                              prior_draws)
            starts = _starts(person, allowed, max_minutes_week)
            score = _score(made[d][0].run(starts, [0.0, days]), goal, sites)
            screen.append((float(np.max(np.where(np.isfinite(score), score, -np.inf))), d))
        kept = [d for _, d in sorted(screen, reverse=True)[:SCREEN_KEEP]]
        for d in candidates:
            if d not in kept:  # the kept ones are counted with their search below
                calls, subjects = calls + made[d][0].calls, subjects + made[d][0].subjects
        notes.append(f"drug any: {', '.join(candidates)} screened with the starting plans; "
                     f"the exercise search run with the best {SCREEN_KEEP} ({', '.join(kept)})")
        candidates = kept
    for i, d in enumerate(candidates):
        tick(0, 3, f"setting up{f' ({d})' if d else ''}")
        ev, fin_d, info = made.get(d) or _copies(person, days, longest, draws, final_draws,
                                                 seed, d, trial, prior_draws)
        finals[d] = (fin_d, info)
        plan, score, scores, tr, n = _search(ev, person, allowed, goal, sites,
                                             max_minutes_week, tol, days, tick, 4 * i,
                                             4 * len(candidates))
        searched.append((score, d, plan, len(scores)))
        trace += tr
        calls, subjects, n_starts = calls + ev.calls, subjects + ev.subjects, n_starts + n
        notes += [x for x in ev.notes if x not in notes]
    best_score, best_drug, best_plan, _ = max(searched, key=lambda r: r[0])
    plans_evaluated = sum(r[3] for r in searched)
    t_search = time.perf_counter() - t0

    # the prescription and the plans beside it, with more draws and trajectories
    t1 = time.perf_counter()
    fin, posterior = finals[best_drug]
    named: dict[str, tuple[Plan, bool]] = {"prescription": (best_plan, True)}
    named.update({name: (plan, False) for name, plan in COMMON_PLANS.items()})
    if best_drug:
        guideline = "guideline: 150 min/week walking + 2 strength sessions"
        named[f"{best_drug} alone"] = (Plan(), True)
        named[f"{best_drug} + {guideline.removeprefix('guideline: ')}"] = (
            COMMON_PLANS[guideline], True)
    grid = np.unique(np.r_[np.linspace(0.0, days, 25), days])
    vals = fin.run([p for p, _ in named.values()], grid,
                   drug=[with_drug for _, with_drug in named.values()])
    final_scores = _score(vals[:, :, [0, -1], :], goal, sites)
    rows, traj = [], []
    for i, (name, (plan, with_drug)) in enumerate(named.items()):
        problems = plan.problems(person, max_minutes_week, allowed)
        rows.append({"name": name, "plan": plan.describe(), "plan_json": plan.to_json(),
                     "drug": best_drug if with_drug else None,
                     "score": float(final_scores[i]),
                     "minutes_per_week": plan.minutes_per_week,
                     "within_limits": not problems, "problems": "; ".join(problems),
                     **_outcomes(vals[i])})
        for j, col in enumerate(OUTPUTS):
            x = vals[i, :, :, j]
            lo, hi = np.nanpercentile(x, [5, 95], axis=0)
            traj.append(pd.DataFrame({"day": grid, "plan": name, "output": col,
                                      "mean": np.nanmean(x, axis=0), "low": lo, "high": hi}))
    tick(1, 2, "reporting")
    # the cost of waiting: the same date, starting now against starting `delay` years later
    waiting = []
    for delay in DELAYS:
        d = float(round(delay * DAYS_PER_YEAR))
        end = d + days
        now = fin.run([best_plan], [0.0, end], duration=end)
        later = fin.run([best_plan], [0.0, end], start_day=d, duration=end)
        s_now = float(_score(now, goal, sites)[0])
        s_later = float(_score(later, goal, sites)[0])
        waiting.append({"delay_years": delay, "output": "goal", "start_now": s_now,
                        "start_later": s_later, "cost": s_later - s_now})
        for site in sites:
            j = OUTPUTS.index(SITES[site])
            a = float(np.nanmean(now[0, :, -1, j]))
            b = float(np.nanmean(later[0, :, -1, j]))
            waiting.append({"delay_years": delay, "output": SITES[site], "start_now": a,
                            "start_later": b, "cost": b - a})
    tick(2, 2, "reporting")
    for w in waiting:
        if w["output"] == "goal" and w["cost"] > 0:
            course = (f"; its {best_drug} course ends after {MAX_COURSE_DAYS[best_drug]:g} days"
                      if best_drug in MAX_COURSE_DAYS else "")
            notes.append(f"starting {w['delay_years']:g} year(s) later scores higher at the "
                         f"same date than starting now ({w['start_later']:+.3g} against "
                         f"{w['start_now']:+.3g}): the plan's gain is not kept to that date"
                         f"{course}")
    if not best_plan.sessions:
        notes.append("no feasible plan improved the goal over no exercise"
                     + (f" with {best_drug}" if best_drug else ""))
    diagnostics = {
        "plans_evaluated": plans_evaluated, "starts": n_starts,
        "search_subjects": subjects, "batched_calls": calls + fin.calls,
        "draws": draws, "final_draws": fin.n,
        "drugs_searched": [d for d in candidates if d],
        "search_scores_by_drug": {str(d): sc for sc, d, _, _ in searched},
        "seconds": {"search": round(t_search, 2),
                    "report": round(time.perf_counter() - t1, 2),
                    "total": round(time.perf_counter() - t0, 2)},
        "allowed_modalities": sorted(allowed),
        "posterior": posterior or None,
    }
    if posterior and posterior["effective_sample_size"] < 20:
        notes.append(f"the measurements are matched by few of the {prior_draws} prior copies "
                     f"(effective sample size {posterior['effective_sample_size']:g}): the "
                     "posterior is coarse; raise prior_draws or check the measurements")
    return Prescription(person, goal, sites, float(horizon_years), float(max_minutes_week),
                        best_plan, float(final_scores[0]), pd.DataFrame(rows),
                        pd.concat(traj, ignore_index=True), pd.DataFrame(waiting),
                        pd.DataFrame(trace), diagnostics, notes, drug=best_drug, trial=trial)
