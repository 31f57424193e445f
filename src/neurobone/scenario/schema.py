"""Scenario files: the YAML schema, validated with Pydantic, errors with file:line.

A scenario describes one subject's protocol::

    species: mouse                          # or human
    subject: {sex: female, age_weeks: 12}   # human: age_years; optional baseline aBMD or T-score
    duration_days: 56
    hypothesis: article                     # article | interoceptive | mechanical
    parameters: {}                          # optional overrides by parameter name
    exercise:
      - {modality: treadmill, speed_m_per_min: 12, minutes: 45, days_per_week: 5, start_day: 0, end_day: 56}
    interventions:
      - {kind: circuit_inhibition, start_day: 0, end_day: 56}
    outputs: [bv_tv, connectivity, sympathetic_tone]

See docs/scenarios.md for every field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from neurobone.errors import InputError
from neurobone.model.brainbone import HYPOTHESES
from neurobone.model.brainbone.protocol import BETA_BLOCKERS, INTERVENTIONS
from neurobone.scenario.population import Population
from neurobone.units import DAYS_PER_YEAR
from neurobone.yamlfile import read_yaml, validation_error

INTERVENTION_KINDS = tuple(INTERVENTIONS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Subject(_Strict):
    sex: Literal["female", "male"] = "female"
    age_weeks: Optional[float] = Field(None, gt=0, description="mouse age at the start")
    age_years: Optional[float] = Field(None, gt=0, le=110, description="human age at the start")
    years_since_menopause: Optional[float] = Field(
        None, ge=0, description="human: postmenopausal for this many years at the start"
    )
    menopause_age_years: Optional[float] = Field(
        None, gt=0, le=110, description="human: age at the final menstrual period (may lie ahead)"
    )
    abmd_ls: Optional[float] = Field(None, gt=0, description="baseline lumbar spine aBMD, g/cm2")
    abmd_th: Optional[float] = Field(None, gt=0, description="baseline total hip aBMD, g/cm2")
    t_score: Optional[float] = Field(None, ge=-6, le=4, description="baseline femoral neck T-score")

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

    model_config = ConfigDict(extra="allow")
    modality: str
    minutes: float = Field(gt=0, le=600)
    days_per_week: int = Field(ge=1, le=7)
    start_day: float = Field(0.0, ge=0)
    end_day: Optional[float] = None

    @model_validator(mode="after")
    def _window(self):
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day {self.end_day:g} must be after start_day {self.start_day:g}")
        return self

    @property
    def intensity_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Intervention(_Strict):
    kind: Literal[INTERVENTION_KINDS]  # type: ignore[valid-type]
    start_day: float = Field(0.0, ge=0)
    end_day: Optional[float] = None
    drug: Optional[Literal[tuple(BETA_BLOCKERS)]] = Field(  # type: ignore[valid-type]
        None, description="beta_blocker: propranolol, atenolol or nebivolol"
    )
    occupancy: Optional[float] = Field(
        None, ge=0, le=1, description="beta_blocker: receptor occupancy (overrides the drug's)"
    )
    intensity: Optional[float] = Field(
        None, ge=0, le=1, description="circuit_activation / circuit_inhibition strength (default 1)"
    )
    fraction: Optional[float] = Field(
        None, ge=0, le=1, description="unloading: fraction of habitual load removed"
    )

    @model_validator(mode="after")
    def _window(self):
        if self.end_day is not None and self.end_day <= self.start_day:
            raise ValueError(f"end_day {self.end_day:g} must be after start_day {self.start_day:g}")
        return self


class Scenario(_Strict):
    species: Literal["mouse", "human"] = "mouse"
    model: str = "neurobone"
    hypothesis: Literal[tuple(HYPOTHESES)] = "article"  # type: ignore[valid-type]
    subject: Subject = Subject()
    duration_days: float = Field(gt=0, le=DAYS_PER_YEAR * 60)
    parameters: dict[str, float] = {}
    exercise: list[Exercise] = []
    interventions: list[Intervention] = []
    outputs: Optional[list[str]] = Field(
        None, description="outputs to keep (default: the model's for the species)")
    population: Optional[Population] = None  # virtual cohorts (docs/cohorts.md)

    @model_validator(mode="after")
    def _species_fields(self):
        self.subject.check_species(self.species)
        if self.population is not None:
            self.population.check_species(self.species)
        return self


def parse_scenario(data: dict, *, source: str = "<scenario>", root: yaml.Node | None = None) -> Scenario:
    """Validate a scenario mapping; errors name the file, line, field and reason."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: a scenario must be a YAML mapping of fields")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source, root) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    data, root = read_yaml(path, "scenario")
    return parse_scenario(data, source=str(path), root=root)
