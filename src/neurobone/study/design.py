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
from typing import Any, Literal, Optional

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
from neurobone.yamlfile import message, read_yaml

#: spacing of the default measurement days
DEFAULT_INTERVAL_DAYS = 7.0
#: the study neurobone runs when no file is given
ARTICLE_STUDY = "article_mouse"


class _Strict(BaseModel):
    model_config = STRICT


class Arm(_Strict):
    """One group of the study: what its subjects do (exercise) and receive (interventions,
    drug regimens: docs/drugs.md)."""

    name: str = Field(min_length=1, description="unique name, used in tables and figures")
    description: str = ""
    exercise: list[Exercise] = []
    interventions: list[Intervention] = []
    drugs: list[Drug] = []


class Study(_Strict):
    """The design of an in-silico study (see docs/studies.md for every field)."""

    name: str = Field(min_length=1)
    description: str = ""
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
    arms: list[Arm] = Field(min_length=1)
    comparisons: Optional[list[tuple[str, str]]] = None
    decomposition_arm: Optional[str] = None

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
        """Outputs kept for every subject, the primary outcome first. By default the
        model's outputs for the species; under the change analysis (percent change from
        baseline) without the outputs that can cross zero (a T-score), whose change is
        not a percentage."""
        if self.outputs is not None:
            outs = self.outputs
        else:
            outs = brainbone.MODEL.outputs_for(self.species)
            if self.analysis == "change":
                outs = [o for o in outs if o not in brainbone.MODEL.signed_outputs]
        return list(dict.fromkeys([self.primary, *outs]))

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
            species=self.species, hypothesis=self.hypothesis, subject=self.subject,
            duration_days=self.duration_days, parameters=dict(self.parameters),
            exercise=list(a.exercise), interventions=list(a.interventions),
            drugs=list(a.drugs), outputs=self.output_names,
        )

    def with_options(self, *, n_per_arm: int | None = None, seed: int | None = None,
                     hypothesis: str | None = None) -> "Study":
        """A copy with the command-line options applied, validated like the file."""
        data = self.model_dump()
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

    # where the study came from (for messages and the report)
    _source: str = "<study>"

    def __repr__(self) -> str:
        return (f"<Study {self.name!r}: {self.species}, {len(self.arms)} arms x "
                f"{self.n_per_arm}, {self.duration_days:g} days, seed {self.seed}, "
                f"hypothesis {self.hypothesis!r}>")

    __str__ = __repr__


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
    if study.analysis == "change":
        for o in study.output_names:
            if o in model.signed_outputs:
                where_ = ("primary_outcome",) if o == study.primary_outcome else ("outputs",)
                errs.append((where_, f"{o} can cross zero, so its change from baseline is not a "
                                     "percentage; use analysis: endpoint to analyse it"))
    for k, v in study.measurement.items():
        if k not in study.output_names:
            errs.append((("measurement", k), f"{k!r} is not one of the study's outputs "
                                                  f"({', '.join(study.output_names)})"))
        elif not (0 <= v < 1):
            errs.append((("measurement", k),
                         f"instrument CV must be a fraction in [0, 1), got {v:g}"))
    for k in study.parameters:
        if k not in model.parameter_names:
            errs.append((("parameters", k),
                         f"unknown parameter {k!r} for model {model.name!r}"))
    for i, arm in enumerate(study.arms):
        errs += protocol_errors(model, study.species, study.subject.sex, study.duration_days,
                                arm.exercise, arm.interventions, ("arms", i), drugs=arm.drugs)
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


def packaged_studies() -> list[str]:
    """Names of the studies shipped with neurobone (``data/studies/*.yaml``)."""
    folder = resources.files("neurobone.data").joinpath("studies")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def packaged_study(name: str = ARTICLE_STUDY) -> Study:
    """A study shipped with neurobone, by name (default: the article's mouse study)."""
    folder = resources.files("neurobone.data").joinpath("studies")
    res = folder.joinpath(f"{name}.yaml")
    if not res.is_file():
        raise InputError(f"no packaged study {name!r}; available: {', '.join(packaged_studies())}")
    with resources.as_file(res) as path:
        return load_study(path)


def article_study() -> Study:
    """The article's mouse study (data/studies/article_mouse.yaml)."""
    return packaged_study(ARTICLE_STUDY)
