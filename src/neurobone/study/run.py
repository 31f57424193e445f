"""Run a study: every arm's animals through the model, measured, summarised.

:func:`run_study` does, in order:

1. the study's reference subject and each arm's protocol (exercise sessions and
   interventions as overrides, :mod:`neurobone.scenario.compile`);
2. every animal of every arm: its parameters drawn around the reference
   (:func:`~neurobone.scenario.variability.draw_factors`, one stream per arm and
   animal), then set up from the study's ``subject:`` block by the one subject
   initialisation (:func:`~neurobone.scenario.subjects.initialise_subjects`): an older
   subject (an aged mouse, a 65-year-old woman) first lives its own life history from the
   young-adult reference with its own parameters, so subjects differ at the start as
   they would in a real cohort;
3. every animal integrated in one call of :func:`neurobone.simulate` (progress per arm);
   an animal the compiled solver cannot finish is integrated again with the reference
   solver (:class:`~neurobone.engine.solvers.BDF`) and the result says so;
4. the outputs measured on the measurement days with instrument error
   (:mod:`neurobone.study.measurement`);
5. the exercise effect of the decomposition arm's mean subject split into the model's
   paths (:func:`~neurobone.scenario.run.decompose`).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from neurobone._version import __version__
from neurobone.engine.kernels import compile_model
from neurobone.engine.schedule import Schedule
from neurobone.engine.simulate import Progress, simulate
from neurobone.engine.solvers import BDF, Solver
from neurobone.errors import InputError
from neurobone.model.subjects import Covariates
from neurobone.scenario.compile import (
    base_parameters,
    model_for,
    shared_protocol,
    subject_doses,
)
from neurobone.scenario.subjects import covariates_of_subject, initialise_subjects, reference
from neurobone.scenario.variability import (
    MEASUREMENT,
    Variation,
    apply_factors,
    draw_factors,
    key,
    parameter_table,
    stream,
    variations,
)
from neurobone.study import stats
from neurobone.study.design import (
    Study,
    article_study,
    companion_of,
    find_study,
    hypothesis_names,
    parse_study,
)
from neurobone.study.measurement import (
    BIOLOGY,
    Instrument,
    between_subject_for,
    instrument_table,
    instruments_for,
    set_point_factors,
)

#: units of progress the path decomposition counts for (four mean-subject runs)
DECOMPOSITION_UNITS = 4


#: aBMD outputs checked for plausibility: (output, young-adult mean, young-adult SD)
_PLAUSIBLE = (("abmd_ls", "ls_young_mean", "ls_young_sd"),
              ("abmd_fn", "fn_young_mean", "fn_young_sd"))
#: a T-score above this is flagged: 4 SD above the young-adult mean, which about 3 in
#: 100,000 of the young-adult reference population reach (normal tail)
PLAUSIBLE_T_MAX = 4.0
#: the start of every note of :func:`implausible` (conclusions look for it)
IMPLAUSIBLE = "implausible values:"


def implausible(animals: pd.DataFrame, model, study: Study) -> list[str]:
    """Notes on true aBMD values beyond :data:`PLAUSIBLE_T_MAX` young-adult SDs above the
    young-adult mean: values almost no woman has, i.e. the model outside the range its
    calibration speaks for."""
    out = []
    for output, mean, sd in _PLAUSIBLE:
        if study.species != "human" or output not in set(animals["output"]):
            continue
        m, s = model.parameter(mean).value, model.parameter(sd).value
        rows = animals[animals["output"] == output]
        t = (rows["true"] - m) / s
        high = rows[t > PLAUSIBLE_T_MAX]
        if len(high):
            who = high.groupby("arm")["animal"].nunique()
            out.append(f"{IMPLAUSIBLE} {output} reaches {high['true'].max():.3g} g/cm2 "
                       f"(T-score {t.max():+.1f}; above +{PLAUSIBLE_T_MAX:g}, which almost no "
                       f"{study.noun()} has) in " + ", ".join(
                           f"{n} {study.noun(plural=n > 1)} of arm {a!r}"
                           for a, n in who.items())
                       + f" under the {study.hypothesis} hypothesis: the model is outside "
                         "the range its calibration speaks for; do not read these arms' "
                         "results as findings")
    return out


def as_study(study: Study | dict | str | Path | None) -> Study:
    """A :class:`Study` from an object, a mapping, a YAML path, a built-in study's name
    (``"time-course"``), or None (the article's)."""
    if study is None:
        return article_study()
    if isinstance(study, Study):
        return study
    if isinstance(study, dict):
        return parse_study(study)
    return find_study(study)


@dataclass
class StudyResult:
    """The outcome of a study.

    ``animals`` is the tidy table of every measurement: ``arm, animal, day, output,
    true, measured`` (``true`` is the model's value, ``measured`` what the instrument
    reads), with each subject's change from its first measurement (``change``, and
    ``change_pct`` in percent). ``parameters`` holds each animal's varied parameters.
    ``source`` is ``simulation`` (:func:`run_study`) or ``data`` (a lab's measurements,
    :func:`neurobone.study.data.analyze_data`: no true values, parameters or
    instruments).
    """

    study: Study
    animals: pd.DataFrame
    parameters: pd.DataFrame
    instruments: dict[str, Instrument | None]
    variations: list[Variation]
    units: dict[str, str]
    labels: dict[str, str]
    decomposition_table: pd.DataFrame | None = None
    solver: str = ""
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    source: str = "simulation"
    version: str = __version__
    #: the companion study's result (``companion:``; e.g. the mouse counterpart of a human
    #: time course), or None
    companion: "StudyResult | None" = None
    #: drug / neural / mechanical split of each arm with drugs and exercise
    #: (:func:`neurobone.scenario.run.attribute`, mean subject)
    attribution_table: pd.DataFrame | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ------------------------------------------------------------------ tables
    @property
    def arms(self) -> list[str]:
        return self.study.arm_names

    @property
    def outputs(self) -> list[str]:
        return self.study.output_names

    @property
    def primary(self) -> str:
        return self.study.primary

    @property
    def last_day(self) -> float:
        return float(self.animals["day"].max())

    def summary(self, value: str = "measured") -> pd.DataFrame:
        """Per arm, day and output: n, mean, SD, SEM, 95 % CI of the mean."""
        key_ = ("summary", value)
        if key_ not in self._cache:
            self._cache[key_] = stats.summarize(self.animals, value, self.arms)
        return self._cache[key_].copy()

    @property
    def day(self) -> float:
        """The day compared: the study's ``day`` (``--day``) or the last measurement day."""
        return float(self.study.day) if self.study.day is not None else self.last_day

    @property
    def days(self) -> list[float]:
        """The measured days."""
        return sorted(float(d) for d in self.animals["day"].unique())

    def final(self, value: str = "measured") -> pd.DataFrame:
        """:meth:`summary` on the day compared (:attr:`day`)."""
        s = self.summary(value)
        return s[stats.on_day(s["day"], self.day)].reset_index(drop=True)

    @property
    def analysis_value(self) -> str:
        """Column the primary outcome is compared on: ``change_pct`` (change analysis),
        ``change`` (change analysis of an output that crosses zero) or ``measured``."""
        return self.value_of(self.primary)

    def value_of(self, output: str) -> str:
        """Column ``output`` is compared on (:meth:`Study.analysis_column`)."""
        return self.study.analysis_column(output)

    def _values(self, outputs) -> dict[str, str]:
        return {o: self.value_of(o) for o in outputs}

    def _day(self, day: float | None) -> float:
        from neurobone.study.design import check_day

        return self.day if day is None else check_day(day, self.days)

    def comparisons(self, day: float | None = None, outputs: list[str] | None = None,
                    value: str | None = None) -> pd.DataFrame:
        """The study's comparisons on ``day`` (default: :attr:`day`), every output unless
        ``outputs``: difference, 95 % CI, p, Holm p (Welch's test; the paired t-test in a
        paired study), and ``role``: ``primary`` or ``secondary`` (exploratory: Holm
        adjusts within an outcome, not across outcomes). ``value`` defaults to the
        study's analysis per output (:meth:`value_of`): percent change from each
        subject's first measurement, absolute change for an output that crosses zero,
        or the measured value (endpoint analysis)."""
        outs = list(outputs or self.outputs)
        day = self._day(day)
        # every output at once (one table per day and value), then the outputs asked for
        every = list(dict.fromkeys([*self.outputs, *outs]))
        key_ = ("compare", day, tuple(every), value)
        if key_ not in self._cache:
            df = stats.compare(self.animals, self.study.comparison_pairs, day=day,
                               outputs=every, value=value or self._values(every),
                               paired=self.study.paired)
            df.insert(3, "role", ["primary" if o == self.primary else "secondary"
                                  for o in df["output"]])
            self._cache[key_] = df
        df = self._cache[key_]
        return pd.concat([df[df["output"] == o] for o in outs], ignore_index=True) \
            if outs != every else df.copy()

    def anova(self, day: float | None = None, value: str | None = None) -> pd.DataFrame:
        """One-way ANOVA (classical and Welch's) across arms per output on ``day``
        (default: :attr:`day`), on the study's analysis value (see :meth:`comparisons`)."""
        day = self._day(day)
        key_ = ("anova", day, value)
        if key_ not in self._cache:
            self._cache[key_] = stats.anova(self.animals, day=day, outputs=self.outputs,
                                            value=value or self._values(self.outputs))
        return self._cache[key_].copy()

    def ancova(self, day: float | None = None, outputs: list[str] | None = None) -> pd.DataFrame:
        """The comparisons on ``day``'s measured values adjusted for each subject's
        baseline (:func:`neurobone.study.stats.ancova`), the alternative to change scores."""
        day = self._day(day)
        outs = list(outputs or self.outputs)
        return stats.ancova(self.animals, self.study.comparison_pairs, day=day, outputs=outs)

    def mixed(self, outputs: list[str] | None = None, reference: str | None = None
              ) -> pd.DataFrame:
        """A linear mixed model of every measurement day (measured values; random
        intercept per subject): each arm's difference in slope per day from ``reference``
        (default: the first arm) (:func:`neurobone.study.stats.mixed`)."""
        ref = reference or self.arms[0]
        if ref not in self.arms:
            raise InputError(f"no arm {ref!r}; arms: {', '.join(self.arms)}")
        return stats.mixed(self.animals, ref, outputs=list(outputs or [self.primary]),
                           arms=self.arms, paired=self.study.paired)

    def factorial(self, day: float | None = None, outputs: list[str] | None = None
                  ) -> pd.DataFrame:
        """Factorial ANOVA with the interaction (empty unless the arms give ``factors``)."""
        if not self.study.factor_names:
            return pd.DataFrame(columns=stats.FACTORIAL_COLUMNS)
        day = self._day(day)
        outs = list(outputs or self.outputs)
        levels = {a.name: dict(a.factors) for a in self.study.arms}
        return stats.factorial(self.animals, levels, day=day, outputs=outs,
                               value=self._values(outs))

    def mediation(self, arm: str | None = None, reference: str | None = None,
                  mediators: list[str] | None = None, day: float | None = None,
                  n_boot: int = 1000) -> pd.DataFrame:
        """The indirect effect of ``arm`` against ``reference`` on the primary outcome
        through each mediator (default: the decomposition arm against the first arm, the
        study's mediators), on the analysis values of ``day``; a seeded percentile
        bootstrap (:func:`neurobone.study.stats.mediation`, the study's seed)."""
        arm = arm or self.study.decomposition_arm_name
        reference = reference or self.arms[0]
        meds = list(mediators if mediators is not None else self.study.mediator_names)
        if arm is None or arm == reference or not meds:
            return pd.DataFrame(columns=stats.MEDIATION_COLUMNS)
        for a in (arm, reference):
            if a not in self.arms:
                raise InputError(f"no arm {a!r}; arms: {', '.join(self.arms)}")
        for m in meds:
            if m not in self.outputs:
                raise InputError(f"no output {m!r}; outputs: {', '.join(self.outputs)}")
        day = self._day(day)
        at = self.animals[stats.on_day(self.animals["day"], day)
                          & self.animals["arm"].isin([arm, reference])]
        y_col = self.value_of(self.primary)
        wide = {o: at[at["output"] == o].set_index(["arm", "animal"])[self.value_of(o)]
                for o in [self.primary, *meds]}
        rows = []
        for m in meds:
            d = pd.DataFrame({"y": wide[self.primary], "m": wide[m]}).dropna().reset_index()
            x = (d["arm"] == arm).to_numpy(float)
            res = stats.mediation(x, d["m"].to_numpy(float), d["y"].to_numpy(float),
                                  n_boot=n_boot, seed=self.study.seed)
            rows.append(dict(output=self.primary, mediator=m, arm=arm, reference=reference,
                             **res, n_boot=n_boot, seed=self.study.seed))
        df = pd.DataFrame(rows, columns=stats.MEDIATION_COLUMNS)
        df.attrs["value"] = y_col
        return df

    def decomposition(self) -> pd.DataFrame:
        """Neural / mechanical / interaction shares of the decomposition arm's exercise
        effect (mean subject; :func:`neurobone.scenario.run.decompose`)."""
        if self.decomposition_table is None:
            return pd.DataFrame(columns=["arm", "output", "effect", "neural_share",
                                         "mechanical_share", "interaction_share"])
        return self.decomposition_table

    def attribution(self) -> pd.DataFrame:
        """Each arm with drugs and exercise: its effect on each output split into drug,
        neural and mechanical parts and their interaction, by switching each off in the
        arm's mean subject (:func:`neurobone.scenario.run.attribute`; empty if no arm
        combines a drug with exercise)."""
        if self.attribution_table is None:
            return pd.DataFrame(columns=["arm", "output", "effect", "drug_share",
                                         "neural_share", "mechanical_share",
                                         "interaction_share", "combination"])
        return self.attribution_table

    def instrument_table(self) -> pd.DataFrame:
        """Each output's instrument and its between-subject biological CV, with sources."""
        between = between_subject_for(self.study.species, self.outputs,
                                      self.study.between_subject)
        return instrument_table(self.instruments, between)

    def variation_table(self) -> pd.DataFrame:
        """The parameters that vary between animals: name, CV, unit, source."""
        return pd.DataFrame([dict(parameter=v.name, cv=v.cv, unit=v.unit, source=v.source)
                             for v in self.variations],
                            columns=["parameter", "cv", "unit", "source"])

    def label(self, output: str, unit: bool = True) -> str:
        """Axis label of an output (with its unit unless dimensionless)."""
        text = self.labels.get(output, output)
        u = self.units.get(output, "")
        return f"{text} ({u})" if unit and u and u != "1" else text

    # ------------------------------------------------------------------ figures
    def plot_timecourse(self, output: str | None = None, value: str = "measured", ax=None):
        """Mean ± SD of ``output`` (default: the primary outcome) over time, by arm."""
        from neurobone.study import plots

        return plots.timecourse(self, output or self.primary, value=value, ax=ax)

    def plot_final(self, output: str | None = None, value: str | None = None, ax=None):
        """Every animal's value on the last day (default: its change from baseline when the
        study's analysis is ``change``), with each arm's mean and 95 % CI."""
        from neurobone.study import plots

        return plots.final(self, output or self.primary, value=value, ax=ax)

    def plot_decomposition(self, ax=None):
        """Stacked bars: neural, mechanical and interaction shares of the exercise effect."""
        from neurobone.study import plots

        return plots.decomposition(self, ax=ax)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        s = self.study
        f = self.final()
        f = f[f["output"] == self.primary]
        lines = [f"<StudyResult {s.name!r}: {len(self.arms)} arms x {s.n_per_arm} "
                 f"{s.noun(True)}, {s.duration_days:g} days, "
                 f"hypothesis {s.hypothesis!r}, seed {s.seed}>",
                 f"  {self.primary} on day {self.day:g} (measured, mean ± SD):"]
        w = max(len(a) for a in self.arms)
        for r in f.itertuples():
            lines.append(f"    {r.arm:<{w}}  {r.mean:.4g} ± {r.sd:.2g}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        s = self.study
        head = (f"<p><b>{html.escape(s.name)}</b>: {len(self.arms)} arms × {s.n_per_arm}, "
                f"{s.duration_days:g} days, hypothesis <code>{html.escape(s.hypothesis)}</code>, "
                f"seed {s.seed}</p>")
        final = self.final()
        final = final[final["output"] == self.primary][["arm", "n", "mean", "sd", "ci_low",
                                                        "ci_high"]]
        comp = self.comparisons(outputs=[self.primary])[["arm", "reference", "diff", "ci_low",
                                                         "ci_high", "p", "p_holm"]]
        return (head + f"<p>{html.escape(self.label(self.primary))} on day {self.day:g} "
                "(measured)</p>" + final.to_html(index=False, float_format="{:.4g}".format)
                + "<p>Comparisons of the primary outcome</p>"
                + comp.to_html(index=False, float_format="{:.4g}".format))


# ----------------------------------------------------------------------------- running
def _located(study: Study, arm: str, exc: InputError) -> InputError:
    return InputError(f"{study._source}: arm {arm!r}: {exc}")


def run_study(study: Study | dict | str | Path | None = None, *,
              progress: Progress | None = None, solver: Solver | None = None,
              decompose_paths: bool = True,
              covariates: dict[str, Covariates] | None = None) -> StudyResult:
    """Run ``study`` (a :class:`Study`, a mapping, a YAML path, or None for the
    article's mouse study) and return its :class:`StudyResult`.

    ``covariates`` optionally gives an arm's subjects their own covariates (arm name ->
    :class:`~neurobone.model.subjects.Covariates` of ``n_per_arm`` subjects, e.g. drawn
    from a virtual population, :mod:`neurobone.study.trial`); an arm not named has the
    study's ``subject:`` block for every subject.

    ``progress(done, total, stage)`` is called as the work advances. ``solver`` chooses
    how the animals are integrated (default:
    :func:`~neurobone.engine.solvers.default_solver` for their number).
    """
    study = as_study(study)
    arms, n = study.arm_names, study.n_per_arm
    n_animals = len(arms) * n
    dec_arm = study.decomposition_arm_name if decompose_paths else None
    dec_arms = ([a.name for a in study.arms if a.exercise] if study.decompose_every_arm
                else [dec_arm]) if dec_arm else []
    total = len(arms) + n_animals + DECOMPOSITION_UNITS * len(dec_arms)
    done = 0
    timings: dict[str, float] = {}
    notes: list[str] = []

    def tick(k: int, stage: str) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, total, stage)

    # 1. the reference subject and each arm's protocol
    t0 = time.perf_counter()
    first = study.scenario(arms[0])
    # the study's model carries the drugs of every arm (model_for(first) those of one)
    cm = compile_model(study.model if study.drug_names else model_for(first))
    model = cm.model
    ref = reference(cm, base_parameters(cm, study.parameters))
    rows, drawn = {}, {}
    for a in arms:
        tick(0, f"compiling arm {a}")
        try:
            rows[a], drawn[a] = shared_protocol(cm, study.scenario(a), ref)
        except InputError as exc:
            raise _located(study, a, exc) from None
        tick(1, f"compiled arm {a}")
    timings["compile"] = time.perf_counter() - t0

    # 2. animals: a paired study draws one set of subjects that every arm shares
    vs = variations(model)
    factors = np.vstack([draw_factors(model, study.seed, stream_name(study, a), n)
                         for a in arms])
    t0 = time.perf_counter()
    covariates = covariates or {}
    for a, c in covariates.items():
        if a not in arms or len(c.age_days) != n:
            raise InputError(f"covariates: arm {a!r} needs {n} subjects' covariates; "
                             f"arms: {', '.join(arms)}")
    covs = [covariates[a] if a in covariates
            else covariates_of_subject(study.subject_of(a), study.species, n) for a in arms]
    covariates = Covariates(**{f.name: np.concatenate([getattr(c, f.name) for c in covs])
                               for f in dataclasses.fields(Covariates)})
    subj = initialise_subjects(cm, covariates, ref=ref, P=apply_factors(ref.p, model, factors),
                               days=study.duration_days)
    P, Y0 = subj.parameters, subj.initial
    notes += [f"subjects: {x}" for x in dict.fromkeys(subj.notes)]
    bad = np.nonzero(subj.status != 0)[0]
    if len(bad):
        notes.append(f"{len(bad)} subject(s) whose life history failed start from the "
                     "reference subject's state")
        Y0[bad] = ref.y
    timings["history"] = time.perf_counter() - t0
    # each subject's own draw of the doses taken at an adherence below 1
    schedules = [subj.rows[i] + rows[arms[i // n]]
                 + subject_doses(drawn[arms[i // n]], study.duration_days, (study.seed, i))
                 for i in range(n_animals)]
    if not vs:
        notes.append(f"the model declares no variability between {study.noun(plural=True)} "
                     "(no parameter has cv > 0): the spread within an arm is measurement "
                     "error only")

    # 3. integrate
    days = np.array(study.days, float)
    outputs = study.output_names
    t0 = time.perf_counter()
    tick(0, f"integrating {n_animals} animals")
    finished = [0]

    def animals_done(k: int, _total: int, _stage: str) -> None:
        tick(k - finished[0], f"integrating {n_animals} animals")
        finished[0] = k

    res = simulate(cm, study.duration_days, parameters=P, initial=Y0,
                   schedule=Schedule.from_overrides(model.parameter_names, schedules),
                   save_days=days, outputs=outputs, solver=solver, progress=animals_done,
                   chunk_size=n, on_failure="ignore")
    values = np.array(res.values)
    bad = np.nonzero(res.status != 0)[0]
    if len(bad):
        again = simulate(cm, study.duration_days, parameters=P[bad], initial=Y0[bad],
                         schedule=[schedules[i] for i in bad], save_days=days, outputs=outputs,
                         solver=BDF(), on_failure="ignore")
        values[bad] = again.values
        notes.append(f"{len(bad)} of the {study.noun(plural=True)} the compiled solver could "
                     "not finish were integrated with the reference solver (BDF)")
    solver_used = res.meta["solver"]
    timings["animals"] = time.perf_counter() - t0

    # 4. each subject's own set point of the outputs that vary beyond the model, then measure
    between = between_subject_for(study.species, outputs, study.between_subject)
    for j, out in enumerate(outputs):
        if out in between:
            for ai, a in enumerate(arms):
                for k in range(n):
                    rng = stream(study.seed, key(stream_name(study, a)), k, BIOLOGY, key(out))
                    values[ai * n + k, :, j] *= set_point_factors(between[out][0], rng, 1)[0]
    instruments = instruments_for(outputs, study.measurement)
    arm_col = np.repeat(arms, n * len(days))
    animal_col = np.tile(np.repeat(np.arange(1, n + 1), len(days)), len(arms))
    day_col = np.tile(days, n_animals)
    frames = []
    for j, out in enumerate(outputs):
        true = values[:, :, j]
        meas = true.copy()
        inst = instruments[out]
        if inst is not None:
            for ai, a in enumerate(arms):
                for k in range(n):
                    rng = stream(study.seed, key(stream_name(study, a)), k, MEASUREMENT,
                                 key(out))
                    i = ai * n + k
                    meas[i] = inst.measure(true[i], rng)
        frames.append(pd.DataFrame({"arm": arm_col, "animal": animal_col, "day": day_col,
                                    "output": out, "true": true.reshape(-1),
                                    "measured": meas.reshape(-1)}))
    animals = with_changes(pd.concat(frames, ignore_index=True))
    first_day = animals[(animals["output"] == study.primary) & (animals["day"] == days[0])]["true"]
    if len(first_day) > 1 and (np.nanstd(first_day)
                               <= 1e-9 * max(abs(np.nanmean(first_day)), 1e-300)):
        notes.append(f"every {study.noun()} starts with the same true {study.primary} (no varied "
                     f"parameter sets its baseline): the spread on day {days[0]:g} is "
                     "instrument error only")
    notes += implausible(animals, model, study)
    failed = animals.groupby(["arm", "animal"])["true"].apply(lambda s: s.isna().any())
    if failed.any():
        notes.append(f"{int(failed.sum())} of the {study.noun(plural=True)} could not be "
                     "integrated; "
                     "their values are NaN")

    # 5. decomposition of the mean subject
    dec = None
    if dec_arms:
        t0 = time.perf_counter()
        parts = []
        for a in dec_arms:
            tick(0, f"path decomposition of {a}")
            parts.append(_decomposition(study, a, outputs))
            tick(DECOMPOSITION_UNITS, f"path decomposition of {a}")
        dec = pd.concat(parts, ignore_index=True)
        timings["decomposition"] = time.perf_counter() - t0
    attr = None
    combined = attributable_arms(study) if decompose_paths else []
    if combined:
        t0 = time.perf_counter()
        attr = _attribution(study, combined, outputs)
        timings["attribution"] = time.perf_counter() - t0

    # 6. the companion study (e.g. the mouse counterpart of a human time course)
    companion = None
    comp = companion_of(study)
    if comp is not None:
        t0 = time.perf_counter()
        companion = run_study(comp, solver=solver, decompose_paths=False)
        timings["companion"] = time.perf_counter() - t0

    params = pd.concat([parameter_table(P[i * n:(i + 1) * n], model, a)
                        for i, a in enumerate(arms)],
                       ignore_index=True)
    units, labels = _units_labels(model, outputs)
    return StudyResult(study, animals, params, instruments, vs, units, labels, dec,
                       solver=repr(solver_used), notes=notes, timings=timings,
                       companion=companion, attribution_table=attr)


def run_hypotheses(study: Study | dict | str | Path | None = None,
                   hypotheses: str | list[str] | None = "all", *,
                   n_per_arm: int | None = None, seed: int | None = None,
                   day: float | None = None, progress: Progress | None = None,
                   solver: Solver | None = None) -> dict[str, StudyResult]:
    """Run ``study`` once under each mechanism hypothesis (``"all"``, a name, a
    comma-separated list or a list; :func:`~neurobone.study.design.hypothesis_names`),
    with the same parameter draws (seed) each time (their life histories, and so their
    states at the start, follow the mechanism); ``{hypothesis: StudyResult}`` in the order
    asked. ``n_per_arm``, ``seed`` and ``day`` override the study's, as on the command
    line. ``progress(done, total, stage)`` gets the stage prefixed with the hypothesis."""
    base = as_study(study)
    out: dict[str, StudyResult] = {}
    for h in hypothesis_names(hypotheses):
        spec = base.with_options(n_per_arm=n_per_arm, seed=seed, hypothesis=h, day=day)
        tell = None
        if progress is not None:
            def tell(done: int, total: int, stage: str, _h: str = spec.hypothesis) -> None:
                progress(done, total, f"{_h}: {stage}")
        out[spec.hypothesis] = run_study(spec, progress=tell, solver=solver)
    return out


def stream_name(study: Study, arm: str) -> str:
    """The name that keys an arm's random streams: the arm's own name, or, in a paired
    study, one name for every arm (every arm then has the same subjects and the same
    instrument draws)."""
    return PAIRED_STREAM if study.paired else arm


#: the stream key of a paired study's shared subjects
PAIRED_STREAM = "paired subjects"


def with_changes(animals: pd.DataFrame) -> pd.DataFrame:
    """``animals`` with each subject's change from its own first measurement (the earliest
    day): ``change`` (absolute, the output's unit) and ``change_pct`` (percent; NaN for a
    first value of 0)."""
    animals = animals.copy()
    order = animals.sort_values("day", kind="stable")
    first = order.groupby(["arm", "animal", "output"], sort=False)["measured"].transform("first")
    first = first.reindex(animals.index)
    animals["change"] = animals["measured"] - first
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * (animals["measured"] / first - 1.0)
    animals["change_pct"] = pct.where(first != 0)
    return animals


def _decomposition(study: Study, arm: str, outputs: list[str]) -> pd.DataFrame:
    from neurobone.scenario.run import decompose

    outs = [o for o in outputs if o != "connectivity"] or outputs
    df = decompose(study.scenario(arm), outputs=outs)
    df.insert(0, "arm", arm)
    return df


def attributable_arms(study: Study) -> list[str]:
    """The arms that combine a drug (``drugs:`` or a drug intervention) with exercise."""
    from neurobone.scenario.run import DRUG_INTERVENTIONS

    return [a.name for a in study.arms if a.exercise and (
        a.drugs or any(i.kind in DRUG_INTERVENTIONS for i in a.interventions))]


def _attribution(study: Study, arms: list[str], outputs: list[str]) -> pd.DataFrame:
    from neurobone.scenario.run import attribute

    outs = [o for o in outputs if o != "connectivity"] or outputs
    frames = []
    for arm in arms:
        df = attribute(study.scenario(arm), outputs=outs)
        df.insert(0, "arm", arm)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _units_labels(model, outputs: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    units, labels = {}, {}
    things = {e.name: e for e in model.expressions}
    things.update({s.name: s for s in model.states})
    for o in outputs:
        t = things.get(model.outputs.get(o, o))
        units[o] = (t.unit if t is not None else "").replace("ug/", "µg/")
        labels[o] = LABELS.get(o, t.description if t is not None else o)
    return units, labels


#: short axis labels of the usual outputs (others use the model's description)
LABELS = {
    "bv_tv": "trabecular BV/TV",
    "connectivity": "circuit connectivity (× sedentary baseline)",
    "sympathetic_tone": "sympathetic tone to bone (× young adult)",
    "p1np": "serum P1NP",
    "ctx": "serum CTX",
    "abmd_ls": "lumbar spine aBMD",
    "abmd_th": "total hip aBMD",
    "abmd_fn": "femoral neck aBMD",
    "t_score": "femoral neck T-score",
}
