"""Scenario files: the YAML schema, validated with Pydantic, errors with file:line.

A scenario describes one subject's protocol::

    species: mouse                          # or human
    subject: {sex: female, age_weeks: 12}   # human: age_years; optional baseline aBMD or T-score
    duration_days: 56
    hypothesis: article                     # article | interoceptive | mechanical
    parameters: {}                          # optional overrides by parameter name
    exercise:
      - {modality: treadmill, speed_m_per_min: 12, minutes: 45, days_per_week: 5,
         start_day: 0, end_day: 56}
    interventions:
      - {kind: circuit_inhibition, start_day: 0, end_day: 56}
    outputs: [bv_tv, connectivity, sympathetic_tone]

See docs/scenarios.md for every field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from neurobone.errors import InputError, ModelError
from neurobone.model.brainbone import HYPOTHESES
from neurobone.model.brainbone.dosing import check_intensity, intensity_field
from neurobone.model.brainbone.drugs import DRUGS
from neurobone.model.brainbone.protocol import INTERVENTIONS
from neurobone.model.brainbone.regimens import DRUGS as REGIMEN_DRUGS
from neurobone.model.brainbone.regimens import MODES as REGIMEN_MODES
from neurobone.scenario.fields import STRICT, Integer, Number
from neurobone.scenario.population import (
    ABMD_MAX,
    AGE_WEEKS_MAX,
    AGE_YEARS_MAX,
    T_SCORE_RANGE,
    Population,
)
from neurobone.units import DAYS_PER_YEAR
from neurobone.yamlfile import message, read_yaml
from neurobone.yamlfile import where as file_line

INTERVENTION_KINDS = tuple(INTERVENTIONS)
#: the longest scenario or study (and the last day of any of its windows): 60 years
MAX_DAYS = DAYS_PER_YEAR * 60


class _Strict(BaseModel):
    model_config = STRICT


class Subject(_Strict):
    sex: Literal["female", "male"] = "female"
    age_weeks: Optional[Number] = Field(None, gt=0, le=AGE_WEEKS_MAX,
                                        description="mouse age at the start")
    age_years: Optional[Number] = Field(None, gt=0, le=AGE_YEARS_MAX,
                                        description="human age at the start")
    years_since_menopause: Optional[Number] = Field(
        None, ge=0, le=AGE_YEARS_MAX,
        description="human: postmenopausal for this many years at the start"
    )
    menopause_age_years: Optional[Number] = Field(
        None, gt=0, le=AGE_YEARS_MAX,
        description="human: age at the final menstrual period (may lie ahead)"
    )
    abmd_ls: Optional[Number] = Field(None, gt=0, le=ABMD_MAX,
                                      description="baseline lumbar spine aBMD, g/cm2")
    abmd_th: Optional[Number] = Field(None, gt=0, le=ABMD_MAX,
                                      description="baseline total hip aBMD, g/cm2")
    t_score: Optional[Number] = Field(None, ge=T_SCORE_RANGE[0], le=T_SCORE_RANGE[1],
                                      description="baseline femoral neck T-score")
    t_score_spine: Optional[Number] = Field(None, ge=T_SCORE_RANGE[0], le=T_SCORE_RANGE[1],
                                            description="baseline lumbar spine T-score")

    @model_validator(mode="after")
    def _menopause(self):
        if self.years_since_menopause is not None and self.menopause_age_years is not None:
            raise ValueError("give years_since_menopause or menopause_age_years, not both")
        return self

    def check_species(self, species: str) -> None:
        """Raise ValueError when an age field belongs to the other species."""
        if species == "mouse" and self.age_years is not None:
            raise ValueError("subject.age_years is for humans; mice use age_weeks")
        if species == "human" and self.age_weeks is not None:
            raise ValueError("subject.age_weeks is for mice; humans use age_years")


class Exercise(BaseModel):
    """One exercise block; intensity fields depend on the modality (docs/scenarios.md)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    modality: str
    minutes: Number = Field(gt=0, le=600)
    days_per_week: Integer = Field(ge=1, le=7)
    weekdays: Optional[list[Annotated[Integer, Field(ge=0, le=6)]]] = Field(
        None, description="training days of the week, 0-6 (day 0 is the scenario's first "
                          "day); default: spread over the week, clear of other blocks")
    start_day: Number = Field(0.0, ge=0, le=MAX_DAYS)
    end_day: Optional[Number] = Field(None, gt=0, le=MAX_DAYS)

    @model_validator(mode="after")
    def _window(self):
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day {self.end_day:g} must be after start_day {self.start_day:g}")
        if self.weekdays is not None:
            if len(set(self.weekdays)) != len(self.weekdays):
                raise ValueError(f"weekdays {self.weekdays} repeat a day")
            if len(self.weekdays) != self.days_per_week:
                raise ValueError(f"weekdays {self.weekdays} name {len(self.weekdays)} days but "
                                 f"days_per_week is {self.days_per_week}")
        return self

    @property
    def intensity_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Intervention(_Strict):
    kind: Literal[INTERVENTION_KINDS]  # type: ignore[valid-type]
    start_day: Number = Field(0.0, ge=0, le=MAX_DAYS)
    end_day: Optional[Number] = Field(None, gt=0, le=MAX_DAYS)
    drug: Optional[Literal[DRUGS]] = Field(  # type: ignore[valid-type]
        None, description="beta_blocker: propranolol (default), atenolol or nebivolol"
    )
    dose_mg_per_day: Optional[Number] = Field(
        None, ge=0, description="beta_blocker, humans: daily dose, mg/day (default the "
        "drug's usual dose)"
    )
    dose_mg_per_kg_per_day: Optional[Number] = Field(
        None, ge=0, description="beta_blocker, mice: daily dose, mg/kg/day (default the "
        "drug's usual dose)"
    )
    occupancy: Optional[Number] = Field(
        None, ge=0, le=1, description="beta_blocker: instead of a dose, the occupancy of "
        "the receptor the drug occupies most (the other follows from its selectivity)"
    )
    intensity: Optional[Number] = Field(
        None, ge=0, le=1, description="circuit_activation / circuit_inhibition strength (default 1)"
    )
    fraction: Optional[Number] = Field(
        None, ge=0, le=1, description="unloading: fraction of habitual load removed"
    )

    @model_validator(mode="after")
    def _window(self):
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day {self.end_day:g} must be after start_day {self.start_day:g}")
        return self

    @model_validator(mode="after")
    def _dose(self):
        doses = [n for n in ("dose_mg_per_day", "dose_mg_per_kg_per_day")
                 if getattr(self, n) is not None]
        if doses and self.kind != "beta_blocker":
            raise ValueError(f"{doses[0]} is a beta_blocker field, not a {self.kind} one")
        if len(doses) == 2:
            raise ValueError("give dose_mg_per_day (humans) or dose_mg_per_kg_per_day "
                             "(mice), not both")
        if doses and self.occupancy is not None:
            raise ValueError(f"give occupancy or {doses[0]}, not both")
        return self


class Drug(_Strict):
    """One drug regimen (docs/drugs.md): a dose every ``every_days`` from ``start_day``
    to ``end_day``; several entries of one drug are dose changes and sequences."""

    name: Literal[REGIMEN_DRUGS]  # type: ignore[valid-type]
    dose_mg: Optional[Number] = Field(None, gt=0, description="dose, mg (default: labelled)")
    every_days: Optional[Number] = Field(None, gt=0, le=MAX_DAYS,
                                         description="dosing interval (default: labelled)")
    start_day: Number = Field(0.0, ge=0, le=MAX_DAYS)
    end_day: Optional[Number] = Field(None, gt=0, le=MAX_DAYS,
                                      description="stop (default: the end of the scenario)")
    skip: list[Annotated[Number, Field(ge=0, le=MAX_DAYS)]] = Field(
        [], description="dose days missed")
    adherence: Number = Field(1.0, ge=0, le=1, description="share of doses taken (drawn)")
    seed: Integer = Field(0, ge=0, description="seed of the adherence draw")
    mode: Literal[REGIMEN_MODES] = "bolus"  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _window(self):
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day {self.end_day:g} must be after start_day {self.start_day:g}")
        if self.mode == "continuous" and (self.skip or self.adherence < 1):
            raise ValueError("skip and adherence are for bolus doses, not mode: continuous")
        return self


class Scenario(_Strict):
    species: Literal["mouse", "human"] = "mouse"
    model: str = "neurobone"
    hypothesis: Literal[tuple(HYPOTHESES)] = "article"  # type: ignore[valid-type]
    subject: Subject = Subject()
    duration_days: Number = Field(gt=0, le=MAX_DAYS)
    parameters: dict[str, Number] = {}
    exercise: list[Exercise] = []
    interventions: list[Intervention] = []
    drugs: list[Drug] = Field([], description="drug regimens (docs/drugs.md)")
    outputs: Optional[list[str]] = Field(
        None, description="outputs to keep (default: the model's for the species)")
    population: Optional[Population] = None  # virtual cohorts (docs/cohorts.md)

    @model_validator(mode="after")
    def _species_fields(self):
        self.subject.check_species(self.species)
        if self.population is not None:
            self.population.check_species(self.species)
        return self


def key(name) -> str:
    """A name from a file as it may appear in a located message: itself when printable,
    else its ``repr`` (a name holding a newline must not break the one-line message)."""
    text = str(name)
    return text if text.isprintable() else repr(text)


def located(errors: list[tuple[tuple, str]], source: str, root: yaml.Node | None) -> InputError:
    """One-line :class:`InputError` for the first of ``(location, reason)`` pairs:
    ``file:line: field: reason``, names with control characters shown as ``repr`` (the
    line is found from the names as they are)."""
    loc, msg = errors[0]
    field = ".".join(key(x) for x in loc) or "(top level)"
    extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    # Pydantic quotes some inputs as they are ("Input tag 'x<newline>y' found ...")
    msg = re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], msg)
    return InputError(f"{file_line(key(source), root, loc)}: {field}: {msg}{extra}")


def invalid(exc: ValidationError, source: str, root: yaml.Node | None) -> InputError:
    """:func:`located` for a Pydantic validation failure."""
    return located([(tuple(e["loc"]), message(e)) for e in exc.errors()], source, root)


def exercise_errors(species: str, blocks: list[Exercise], where: tuple) -> list[tuple[tuple, str]]:
    """``(location, reason)`` of every bad modality, unknown intensity field and intensity
    value (not a number, not finite, outside the modality's range) of exercise ``blocks``
    at location ``where``."""
    errs: list[tuple[tuple, str]] = []
    for i, block in enumerate(blocks):
        try:
            name = intensity_field(species, block.modality)
        except InputError as exc:
            errs.append(((*where, i, "modality"), str(exc)))
            continue
        for k, v in block.intensity_fields.items():
            if k != name:
                errs.append(((*where, i, k), f"unknown field for {block.modality}; its "
                                                  f"intensity field is {name!r}"))
                continue
            try:
                check_intensity(species, block.modality, v)
            except InputError as exc:
                errs.append(((*where, i, k), str(exc)))
    return errs


def protocol_errors(model, species: str, sex: str, duration: float, exercise: list[Exercise],
                    interventions: list[Intervention],
                    where: tuple = (), drugs: list = ()) -> list[tuple[tuple, str]]:
    """The errors the model's protocol rules find in exercise blocks and interventions
    (a bad intensity, overlapping blocks, an intervention the subject cannot have),
    located at the field where possible, else at ``where + ("exercise",)`` or
    ``where + ("interventions",)``."""
    import numpy as np

    from neurobone.model import brainbone

    p = np.array([q.value for q in model.parameters])
    try:
        model.rules.protocol_rows(model, p, exercise=exercise, interventions=interventions,
                                  sex=sex, duration=duration,
                                  **({"drugs": drugs} if drugs else {}))
        return []
    except (InputError, ModelError) as exc:
        msg = str(exc)
    if model.name == brainbone.MODEL.name:
        errs = exercise_errors(species, exercise, (*where, "exercise"))
        if errs:
            return errs
    if msg.startswith("drugs"):
        m = re.match(r"drugs\[(\d+)\](?:\.(\w+))?: ", msg)
        loc: tuple = (*where, "drugs")
        if m:
            loc += (int(m.group(1)),) + ((m.group(2),) if m.group(2) else ())
        return [(loc, msg[m.end():] if m else msg.removeprefix("drugs: "))]
    if msg.startswith("exercise"):
        field = "exercise"
    elif msg.startswith("interventions"):
        field = "interventions"
        msg = msg.removeprefix("interventions: ")
    else:
        field = "exercise" if exercise else "interventions"
    return [((*where, field), msg)]


def scenario_model(scn: Scenario):
    """The model a scenario names, for its species and hypothesis (InputError when the
    name is not a registered model)."""
    from neurobone.model import brainbone
    from neurobone.model.registry import available, get_model

    if scn.model == brainbone.MODEL.name:
        names = tuple(sorted({d.name for d in scn.drugs}))
        # without drugs: the two-argument call every other caller makes
        return brainbone.build(scn.species, scn.hypothesis, **({"drugs": names} if names else {}))
    if scn.model not in available():
        raise InputError(f"unknown model {scn.model!r}; valid: {', '.join(available())}")
    return get_model(scn.model)


def _semantic_errors(scn: Scenario) -> list[tuple[tuple, str]]:
    """Checks that need the model: the model's name, parameter names, outputs, and the
    protocol (exercise intensities in their modality's range, overlapping blocks,
    interventions the subject can have)."""
    try:
        model = scenario_model(scn)
    except InputError as exc:
        return [(("model",), str(exc))]
    errs: list[tuple[tuple, str]] = []
    for k in scn.parameters:
        if k not in model.parameter_names:
            errs.append((("parameters", k),
                         f"unknown parameter {k!r} for model {model.name!r}; valid: "
                         f"{', '.join(sorted(model.parameter_names))}"))
    valid = model.all_outputs
    for i, o in enumerate(scn.outputs or []):
        if o not in valid:
            errs.append((("outputs", i),
                         f"unknown output {o!r}; valid: {', '.join(model.outputs)}"))
    errs += protocol_errors(model, scn.species, scn.subject.sex, scn.duration_days,
                            scn.exercise, scn.interventions, drugs=scn.drugs)
    return errs


def parse_scenario(data: dict, *, source: str = "<scenario>",
                   root: yaml.Node | None = None) -> Scenario:
    """Validate a scenario mapping; errors name the file, line, field and reason."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a scenario must be a YAML mapping of fields")
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc, source, root) from None
    errs = _semantic_errors(scn)
    if errs:
        raise located(errs, source, root)
    return scn


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    data, root = read_yaml(path, "scenario")
    return parse_scenario(data, source=str(path), root=root)
