"""Study files: the design of an in-silico animal (or human) study, validated.

A study is a set of arms that share one subject, species, duration and mechanism
hypothesis; each arm is a scenario's ``exercise`` and ``interventions``. Every arm has
``n_per_arm`` subjects whose physiology varies (:mod:`neurobone.scenario.variability`)
and whose outcomes are measured with instrument error
(:mod:`neurobone.study.measurement`) on the measurement days::

    name: my_study
    species: mouse
    subject: {sex: female, age_weeks: 12}
    duration_days: 56
    n_per_arm: 10
    seed: 1
    arms:
      - name: sedentary
      - name: exercise
        exercise:
          - {modality: treadmill, speed_m_per_min: 12, minutes: 45, days_per_week: 5}

Every field is described in docs/studies.md. Errors name the file, the line, the field
and the reason, as scenario errors do.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from neurobone.errors import InputError
from neurobone.model import brainbone
from neurobone.model.brainbone import HYPOTHESES
from neurobone.scenario.fields import STRICT, Integer, Number
from neurobone.scenario.schema import (
    MAX_DAYS,
    Drug,
    Exercise,
    Intervention,
    Scenario,
    Subject,
    invalid,
    key,
    located,
    protocol_errors,
)
from neurobone.study.measurement import between_subject_for, instruments_for
from neurobone.yamlfile import message, read_yaml

if TYPE_CHECKING:
    import pandas as pd

#: spacing of the default measurement days
DEFAULT_INTERVAL_DAYS = 7.0
#: the study neurobone runs when no file is given
ARTICLE_STUDY = "article_mouse"
#: the study-specific conclusions a report can compute from a study's numbers
#: (:mod:`neurobone.study.questions`; the built-in studies of docs/studies.md)
QUESTIONS = ("time-course", "exercise-types", "age", "early-intervention", "detraining",
             "regularity")


class _Strict(BaseModel):
    model_config = STRICT


#: the subject fields an arm may set (the covariates of its subjects)
SUBJECT_FIELDS = tuple(Subject.model_fields)
#: what subjects are called, by species and sex: (singular, plural)
NOUNS = {("mouse", None): ("mouse", "mice"), ("human", "female"): ("woman", "women"),
         ("human", "male"): ("man", "men"), ("human", None): ("participant", "participants")}
#: the two ways of giving the menopause: an arm that sets one replaces the study's other
_MENOPAUSE = ("years_since_menopause", "menopause_age_years")


class Arm(_Strict):
    """One group of the study: who its subjects are (``subject``: covariates that replace
    the study's), what they do (exercise) and receive (interventions, drug regimens:
    docs/drugs.md); ``factors`` gives its level of each factor of a factorial design."""

    name: str = Field(min_length=1, description="unique name, used in tables and figures")
    description: str = ""
    subject: dict[str, Any] = Field(
        default_factory=dict,
        description="subject fields of this arm (age, sex, T-score, menopause), replacing "
                    "the study's")
    exercise: list[Exercise] = []
    interventions: list[Intervention] = []
    drugs: list[Drug] = []
    factors: dict[str, str] = Field(
        default_factory=dict, description="factorial design: this arm's level of each factor")


class Study(_Strict):
    """The design of an in-silico study (see docs/studies.md for every field)."""

    name: str = Field(min_length=1)
    description: str = ""
    question: str = Field("", description="the question the study asks, in one line "
                                          "(`neurobone studies`)")
    conclusions: Optional[Literal[QUESTIONS]] = Field(  # type: ignore[valid-type]
        None, description="the study-specific conclusions computed from the numbers "
                          "(docs/studies.md, built-in studies)")
    companion: Optional[str] = Field(
        None, description="another study (a built-in name, or a path relative to this file) "
                          "run beside this one with the same hypothesis and seed, which the "
                          "conclusions compare with (time-course: the mouse counterpart)")
    decompose_every_arm: bool = Field(
        False, description="split the exercise effect of every arm with exercise into paths, "
                           "not only the decomposition arm's")
    run_seconds: Optional[Number] = Field(
        None, gt=0, description="the warm run time measured on the development machine "
                                "(shown by `neurobone studies`; not used by the run)")
    species: Literal["mouse", "human"] = "mouse"
    hypothesis: Literal[tuple(HYPOTHESES)] = "article"  # type: ignore[valid-type]
    subject: Subject = Subject()
    duration_days: Number = Field(gt=0, le=MAX_DAYS)
    n_per_arm: Integer = Field(ge=2, le=100_000, description="subjects per arm")
    seed: Integer = Field(ge=0, lt=2**63,
                          description="seed of the population and the measurement noise")
    parameters: dict[str, Number] = {}
    measurement_days: Optional[list[Number]] = None
    primary_outcome: Optional[str] = None
    analysis: Literal["change", "endpoint"] = Field(
        "change", description="change: compare each subject's percent change from its own first "
        "measurement (longitudinal in vivo micro-CT or DXA); endpoint: compare last-day values")
    outputs: Optional[list[str]] = None
    measurement: dict[str, Number] = Field(
        default_factory=dict,
        description="instrument CV overrides (fraction) by output, e.g. {bv_tv: 0.03}")
    between_subject: dict[str, Number] = Field(
        default_factory=dict,
        description="between-subject biological CV overrides (fraction) by output: each "
                    "subject's own set point, e.g. {p1np: 0.3}")
    arms: list[Arm] = Field(min_length=1)
    comparisons: Optional[list[tuple[str, str]]] = None
    decomposition_arm: Optional[str] = None
    paired: bool = Field(
        False, description="every arm has the same subjects (the same physiology, history "
                           "and instrument draws): an in-silico crossover; comparisons are "
                           "paired t-tests")
    day: Optional[Number] = Field(
        None, ge=0, description="the measurement day compared (default: the last)")
    mediators: Optional[list[str]] = Field(
        None, description="outputs tested as mediators of the decomposition arm's effect on "
                          "the primary outcome (default: connectivity and sympathetic_tone "
                          "when measured)")

    @model_validator(mode="after")
    def _species_fields(self):
        self.subject.check_species(self.species)
        return self

    # ------------------------------------------------------------------ resolved design
    @property
    def drug_names(self) -> tuple[str, ...]:
        """The drugs any arm takes (their components join the study's one model)."""
        return tuple(sorted({d.name for a in self.arms for d in a.drugs}))

    @property
    def model(self):
        """The brain-bone model of the study's species and hypothesis (with the PK/PD
        components of the drugs its arms take)."""
        names = self.drug_names
        return brainbone.build(self.species, self.hypothesis,
                               **({"drugs": names} if names else {}))

    @property
    def primary(self) -> str:
        """The primary outcome (default: the model's for the species: BV/TV for mice,
        lumbar spine aBMD for humans)."""
        return self.primary_outcome or brainbone.MODEL.primary_for(self.species)

    @property
    def output_names(self) -> list[str]:
        """Outputs kept for every subject, the primary outcome first (by default the
        model's outputs for the species). An output that can cross zero (a T-score) is
        analysed as an absolute change, never as a percent change
        (:meth:`analysis_column`)."""
        outs = self.outputs if self.outputs is not None else brainbone.MODEL.outputs_for(
            self.species)
        return list(dict.fromkeys([self.primary, *outs]))

    def analysis_column(self, output: str) -> str:
        """The column of the animals table that ``output`` is compared on: ``measured``
        (endpoint analysis), ``change_pct`` (change analysis: percent change from the
        subject's first measurement) or ``change`` (change analysis of an output that can
        cross zero, a T-score: its absolute change, in the output's unit)."""
        if self.analysis == "endpoint":
            return "measured"
        return "change" if output in self.model.signed_outputs else "change_pct"

    def subject_of(self, arm: str | Arm) -> Subject:
        """The subject of ``arm``: the study's, with the arm's own fields in place (an arm
        giving one way of stating the menopause replaces the study's other way)."""
        a = arm if isinstance(arm, Arm) else self.arm(arm)
        if not a.subject:
            return self.subject
        base = self.subject.model_dump(exclude_none=True)
        if any(k in a.subject for k in _MENOPAUSE):
            for k in _MENOPAUSE:
                base.pop(k, None)
        return Subject.model_validate({**base, **a.subject})

    def noun(self, plural: bool = False) -> str:
        """What the subjects are called: mice; women or men (a human study whose arms
        are all of one sex); participants (both sexes)."""
        sex = None
        if self.species == "human":
            sexes = {self.subject_of(a).sex for a in self.arms}
            sex = sexes.pop() if len(sexes) == 1 else None
        one, many = NOUNS[(self.species, sex)]
        return many if plural else one

    @property
    def factor_names(self) -> list[str]:
        """The factors of a factorial design (empty if the arms name none)."""
        return list(dict.fromkeys(k for a in self.arms for k in a.factors))

    @property
    def mediator_names(self) -> list[str]:
        """The mediators tested (see the ``mediators`` field)."""
        if self.mediators is not None:
            return list(self.mediators)
        return [o for o in ("connectivity", "sympathetic_tone") if o in self.output_names]

    @property
    def days(self) -> list[float]:
        """Measurement days: as given, or weekly from day 0 plus the last day."""
        if self.measurement_days is not None:
            return sorted(set(float(d) for d in self.measurement_days))
        n = int(math.floor(self.duration_days / DEFAULT_INTERVAL_DAYS + 1e-9))
        days = [k * DEFAULT_INTERVAL_DAYS for k in range(n + 1)]
        if days[-1] < self.duration_days - 1e-9:
            days.append(float(self.duration_days))
        return days

    @property
    def arm_names(self) -> list[str]:
        return [a.name for a in self.arms]

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise InputError(f"study {self.name!r} has no arm {name!r}; "
                         f"arms: {', '.join(self.arm_names)}")

    @property
    def comparison_pairs(self) -> list[tuple[str, str]]:
        """``(arm, reference)`` pairs: as given, or :func:`default_comparisons`."""
        if self.comparisons is not None:
            return [tuple(c) for c in self.comparisons]
        return default_comparisons(self.arms)

    @property
    def decomposition_arm_name(self) -> str | None:
        """The arm whose exercise effect is split into paths: as given, or the first arm
        with exercise and no intervention (else the first with exercise; None if none)."""
        if self.decomposition_arm is not None:
            return self.decomposition_arm
        with_ex = [a for a in self.arms if a.exercise]
        plain = [a for a in with_ex if not a.interventions]
        choice = plain or with_ex
        return choice[0].name if choice else None

    def scenario(self, arm: str | Arm) -> Scenario:
        """The scenario of one arm (the mean subject of that arm)."""
        a = arm if isinstance(arm, Arm) else self.arm(arm)
        return Scenario(
            species=self.species, hypothesis=self.hypothesis, subject=self.subject_of(a),
            duration_days=self.duration_days, parameters=dict(self.parameters),
            exercise=list(a.exercise), interventions=list(a.interventions),
            drugs=list(a.drugs), outputs=self.output_names,
        )

    def observation_cvs(self) -> dict[str, float]:
        """The CV of one subject's measurement around its arm's mean subject, per output
        with an instrument or a between-subject CV: the two combined,
        ``sqrt(cv_instrument^2 + cv_between^2)``. A fit to this study's data
        (:func:`neurobone.fit_lsq` with the study as design) takes it as the rows' SD."""
        outs = self.output_names
        inst = instruments_for(outs, self.measurement)
        between = between_subject_for(self.species, outs, self.between_subject)
        cvs = {}
        for o in outs:
            a = inst[o].cv if inst.get(o) is not None else 0.0
            b = between.get(o, (0.0, ""))[0]
            if a > 0 or b > 0:
                cvs[o] = math.hypot(a, b)
        return cvs

    def with_options(self, *, n_per_arm: int | None = None, seed: int | None = None,
                     hypothesis: str | None = None, day: float | None = None) -> "Study":
        """A copy with the command-line options applied, validated like the file
        (``day`` must be one of the measurement days)."""
        if day is not None:
            check_day(day, self.days)
        data = self.model_dump()
        if day is not None:
            data["day"] = day
        if n_per_arm is not None:
            data["n_per_arm"] = n_per_arm
        if seed is not None:
            data["seed"] = seed
        if hypothesis is not None:
            data["hypothesis"] = hypothesis
        names = {"n_per_arm": "--n", "seed": "--seed", "hypothesis": "--hypothesis"}
        try:
            out = Study.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = key(err["loc"][0]) if err["loc"] else "(top level)"
            raise InputError(f"{names.get(field, field)}: {message(err)}") from None
        out._source = self._source
        return out

    @property
    def comparison_day(self) -> float:
        """The day compared: ``day`` or the last measurement day."""
        return float(self.day) if self.day is not None else self.days[-1]

    # where the study came from (for messages and the report)
    _source: str = "<study>"

    def __repr__(self) -> str:
        return (f"<Study {self.name!r}: {self.species}, {len(self.arms)} arms x "
                f"{self.n_per_arm}, {self.duration_days:g} days, seed {self.seed}, "
                f"hypothesis {self.hypothesis!r}>")

    __str__ = __repr__


def check_day(day: float, days: list[float]) -> float:
    """``day`` if it is one of the measured ``days``; else an InputError naming them."""
    for d in days:
        if math.isclose(float(day), d, rel_tol=0, abs_tol=1e-12):
            return d
    raise InputError(f"day {float(day):g} was not measured; measured days: "
                     f"{', '.join(f'{d:g}' for d in days)}")


def _same(a: list[BaseModel], b: list[BaseModel]) -> bool:
    return [x.model_dump() for x in a] == [x.model_dump() for x in b]


def default_comparisons(arms: list[Arm]) -> list[tuple[str, str]]:
    """Every arm against the first (the control), then every arm against its *parent*:
    the arm with the same exercise and one intervention fewer (e.g. exercise + circuit
    inhibition against exercise), when that parent is not the control itself."""
    if len(arms) < 2:
        return []
    ref = arms[0]
    pairs = [(a.name, ref.name) for a in arms[1:]]
    for b in arms[1:]:
        ivs = [iv.model_dump() for iv in b.interventions]
        for a in arms[1:]:
            if a is b or not _same(a.exercise, b.exercise):
                continue
            have = [iv.model_dump() for iv in a.interventions]
            if len(have) + 1 == len(ivs) and all(iv in ivs for iv in have):
                pairs.append((b.name, a.name))
    return list(dict.fromkeys(pairs))


# ----------------------------------------------------------------------------- checks
def _semantic_errors(study: Study) -> list[tuple[tuple, str]]:
    """Cross-field checks that Pydantic cannot express: (location, reason) pairs."""
    errs: list[tuple[tuple, str]] = []
    names = study.arm_names
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            errs.append((("arms", i, "name"), f"arm name {n!r} is used twice"))
        seen.add(n)
    for i, (a, b) in enumerate(study.comparisons or []):
        for j, x in enumerate((a, b)):
            if x not in names:
                errs.append((("comparisons", i, j), f"unknown arm {x!r}; arms: {', '.join(names)}"))
        if a == b:
            errs.append((("comparisons", i), f"compares arm {a!r} with itself"))
    if study.decomposition_arm is not None:
        if study.decomposition_arm not in names:
            errs.append((("decomposition_arm",),
                         f"unknown arm {study.decomposition_arm!r}; arms: {', '.join(names)}"))
        elif not study.arm(study.decomposition_arm).exercise:
            errs.append((("decomposition_arm",),
                         f"arm {study.decomposition_arm!r} has no exercise to decompose"))
    if study.measurement_days is not None and not study.measurement_days:
        errs.append((("measurement_days",), "give at least one day (or leave the field out: "
                                            "weekly from day 0 and the last day)"))
    for i, d in enumerate(study.measurement_days or []):
        if not (0 <= d <= study.duration_days):
            errs.append((("measurement_days", i),
                         f"day {d:g} is outside the study (0 to {study.duration_days:g})"))
    model = study.model
    valid_out = list(model.outputs)
    for i, o in enumerate(study.outputs or []):
        if o not in valid_out:
            errs.append((("outputs", i), f"unknown output {o!r}; valid: {', '.join(valid_out)}"))
    if study.primary_outcome is not None and study.primary_outcome not in valid_out:
        errs.append((("primary_outcome",),
                     f"unknown output {study.primary_outcome!r}; valid: {', '.join(valid_out)}"))
    for i, m in enumerate(study.mediators or []):
        if m not in study.output_names:
            errs.append((("mediators", i), f"{m!r} is not one of the study's outputs "
                                           f"({', '.join(study.output_names)})"))
        elif m == study.primary:
            errs.append((("mediators", i), f"{m!r} is the primary outcome, not a mediator"))
    if study.day is not None and not any(math.isclose(study.day, d, rel_tol=0, abs_tol=1e-12)
                                         for d in study.days):
        errs.append((("day",), f"day {study.day:g} is not a measurement day; measured days: "
                               f"{', '.join(f'{d:g}' for d in study.days)}"))
    errs += _factor_errors(study)
    for k, v in study.measurement.items():
        if k not in study.output_names:
            errs.append((("measurement", k), f"{k!r} is not one of the study's outputs "
                                                  f"({', '.join(study.output_names)})"))
        elif not (0 <= v < 1):
            errs.append((("measurement", k),
                         f"instrument CV must be a fraction in [0, 1), got {v:g}"))
    for k, v in study.between_subject.items():
        if k not in study.output_names:
            errs.append((("between_subject", k), f"{k!r} is not one of the study's outputs "
                                                  f"({', '.join(study.output_names)})"))
        elif not (0 <= v <= 2):
            errs.append((("between_subject", k),
                         f"between-subject CV must be a fraction in [0, 2], got {v:g}"))
        elif k in model.signed_outputs and v > 0:
            errs.append((("between_subject", k), f"{k} can cross zero: a multiplicative "
                                                  "set point does not apply"))
    for k in study.parameters:
        if k not in model.parameter_names:
            errs.append((("parameters", k),
                         f"unknown parameter {k!r} for model {model.name!r}"))
    for i, arm in enumerate(study.arms):
        bad = sorted(set(arm.subject) - set(SUBJECT_FIELDS))
        if bad:
            errs.append((("arms", i, "subject", bad[0]),
                         f"unknown subject field; valid: {', '.join(SUBJECT_FIELDS)}"))
            continue
        try:
            subject = study.subject_of(arm)
            subject.check_species(study.species)
        except ValidationError as exc:
            err = exc.errors()[0]
            errs.append((("arms", i, "subject", *err["loc"]), message(err)))
            continue
        except ValueError as exc:
            errs.append((("arms", i, "subject"), str(exc)))
            continue
        errs += protocol_errors(model, study.species, subject.sex, study.duration_days,
                                arm.exercise, arm.interventions, ("arms", i), drugs=arm.drugs)
    return errs


def _factor_errors(study: Study) -> list[tuple[tuple, str]]:
    """A factorial design: every arm names every factor; each factor has two or more
    levels; every combination of levels is one arm."""
    names = study.factor_names
    if not names:
        return []
    errs: list[tuple[tuple, str]] = []
    for i, a in enumerate(study.arms):
        missing = [f for f in names if f not in a.factors]
        if missing:
            errs.append((("arms", i, "factors"), f"arm {a.name!r} gives no level of factor "
                                                 f"{missing[0]!r}; factors: {', '.join(names)}"))
    if errs:
        return errs
    for f in names:
        if len({a.factors[f] for a in study.arms}) < 2:
            errs.append((("arms", 0, "factors", f), f"factor {f!r} has one level only"))
    cells = [tuple(a.factors[f] for f in names) for a in study.arms]
    for i, c in enumerate(cells):
        if cells.index(c) != i:
            errs.append((("arms", i, "factors"), f"arm {study.arms[i].name!r} has the same levels "
                                                 f"as arm {study.arms[cells.index(c)].name!r}"))
    n_cells = math.prod(len({a.factors[f] for a in study.arms}) for f in names)
    if not errs and len(set(cells)) < n_cells:
        errs.append((("arms",), f"a factorial design needs one arm per combination of levels "
                                f"({n_cells}); the arms give {len(set(cells))}"))
    return errs


def parse_study(data: Any, *, source: str = "<study>", root: yaml.Node | None = None) -> Study:
    """Validate a study mapping; errors name the file, line, field and reason."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a study must be a YAML mapping of fields")
    try:
        study = Study.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, source, root) from None
    errs = _semantic_errors(study)
    if errs:
        raise located(errs, source, root)
    study._source = source
    return study


def load_study(path: str | Path) -> Study:
    """Read and validate a study YAML file."""
    data, root = read_yaml(path, "study")
    return parse_study(data, source=str(path), root=root)


def _file_of(name: str) -> str:
    """The file stem of a built-in study name (``time-course`` -> ``time_course``)."""
    return name.strip().replace("-", "_")


def packaged_studies() -> list[str]:
    """Names of the built-in studies (``data/studies/*.yaml``; ``time_course.yaml`` is
    ``time-course``)."""
    folder = resources.files("neurobone.data").joinpath("studies")
    return sorted(p.name[:-5].replace("_", "-") for p in folder.iterdir()
                  if p.name.endswith(".yaml"))


def packaged_study(name: str = ARTICLE_STUDY) -> Study:
    """A built-in study, by name (``time-course`` or ``time_course``; default: the
    article's mouse study)."""
    folder = resources.files("neurobone.data").joinpath("studies")
    res = folder.joinpath(f"{_file_of(name)}.yaml")
    if not name.strip() or "/" in name or not res.is_file():
        raise InputError(f"unknown study {name!r}: not a file and not a built-in study; "
                         f"built-in studies: {', '.join(packaged_studies())}")
    with resources.as_file(res) as path:
        return load_study(path)


def list_studies() -> pd.DataFrame:
    """The built-in studies, one row each: ``name`` (for :func:`packaged_study`,
    ``run_study(name)`` and ``neurobone run NAME``), ``question``, ``species``, ``arms``,
    ``n_per_arm``, ``duration_days``, ``paired`` and ``run_seconds`` (the warm run time
    measured on the development machine; NaN where none was measured)."""
    import pandas as pd

    rows = []
    for name in packaged_studies():
        s = packaged_study(name)
        rows.append(dict(name=name, question=s.question, species=s.species,
                         arms=len(s.arms), n_per_arm=s.n_per_arm,
                         duration_days=float(s.duration_days), paired=s.paired,
                         run_seconds=float(s.run_seconds) if s.run_seconds else math.nan))
    return pd.DataFrame(rows, columns=["name", "question", "species", "arms", "n_per_arm",
                                       "duration_days", "paired", "run_seconds"])


def hypothesis_names(which: str | list[str] | tuple[str, ...] | None) -> list[str | None]:
    """The mechanism hypotheses asked for: one name, a comma-separated list (or a list),
    or ``all`` (:data:`~neurobone.model.brainbone.HYPOTHESES`); ``[None]`` for None (the
    study's own). An unknown name raises :class:`InputError` naming the valid ones."""
    if which is None:
        return [None]
    if isinstance(which, str):
        names = (list(HYPOTHESES) if which.strip() == "all"
                 else [x.strip() for x in which.split(",") if x.strip()])
    else:
        names = [str(x).strip() for x in which]
    bad = [x for x in names if x not in HYPOTHESES]
    if bad or not names:
        raise InputError(f"--hypothesis: unknown hypothesis {bad[0] if bad else which!r}; "
                         f"valid: {', '.join(HYPOTHESES)} or all")
    return list(dict.fromkeys(names))


def find_study(ref: str | Path) -> Study:
    """A study by reference: a YAML file (an existing path, or a name ending in ``.yaml``
    or ``.yml``) or a built-in study's name (:func:`packaged_studies`)."""
    text = str(ref)
    if Path(text).is_file() or text.endswith((".yaml", ".yml")) or "/" in text:
        return load_study(text)
    return packaged_study(text)


def companion_of(study: Study) -> Study | None:
    """The study's companion (``companion:``), run with the study's subjects per arm, seed
    and hypothesis; None without one. A path is relative to the study's own file, else
    (a report's copy of a built-in study) to the built-in studies' folder."""
    if study.companion is None:
        return None
    ref = study.companion
    if ref.endswith((".yaml", ".yml")) or "/" in ref:
        base = Path(study._source).parent if Path(study._source).is_file() else Path.cwd()
        path = base / ref
        if not path.is_file():
            # a report's copy of a built-in study (study.yaml) names its companion
            # relative to the built-in studies' folder
            builtin = resources.files("neurobone.data").joinpath("studies", *Path(ref).parts)
            if builtin.is_file():
                with resources.as_file(builtin) as p:
                    return load_study(p).with_options(n_per_arm=study.n_per_arm,
                                                      seed=study.seed,
                                                      hypothesis=study.hypothesis)
        comp = load_study(path)
    else:
        comp = packaged_study(ref)
    return comp.with_options(n_per_arm=study.n_per_arm, seed=study.seed,
                             hypothesis=study.hypothesis)


def article_study() -> Study:
    """The article's mouse study (data/studies/article_mouse.yaml)."""
    return packaged_study(ARTICLE_STUDY)
