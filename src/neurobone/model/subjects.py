"""Subjects of a model: who they are (covariates) and how that sets them up.

What an age, a sex, a menopause or a baseline scan means for a model's parameters and
initial state is the model's own knowledge, so it lives with the model, as a
:class:`SubjectRules` object (``Model.rules``). Every caller -- one scenario, a study's
arms, a cohort's chunks -- passes :class:`Covariates` for N subjects to one executor
(:func:`neurobone.scenario.subjects.initialise_subjects`), which asks the rules and runs
the engine. The rules are pure: they read and write parameter matrices and return
timed overrides; they never integrate.

The steps, for N subjects at once:

1. :meth:`SubjectRules.reference_start`: the states fixed in the young-adult reference
   (e.g. its age and bone volume); the rest of the reference is put at homeostasis,
   with the parameters flagged ``reference_of`` resolved;
2. :meth:`SubjectRules.plan_life`: each subject's life history from the reference to
   its age at the start: its length and the overrides during it (a menopause), and
   covariate effects on the parameters (habitual activity);
3. :meth:`SubjectRules.settle`: after the history, what persists (hormonal status) and
   the baselines that anchor measured outputs (DXA);
4. :meth:`SubjectRules.rows_during`: a subject's own overrides during the scenario (a
   natural menopause that falls within it).

The rules also turn a protocol -- exercise blocks and interventions -- into the model's
overrides (:meth:`SubjectRules.protocol_rows`).

The published models (Lemaire 2004, Pivonka 2008) use the base class: no covariates, a
homeostatic start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from neurobone.model.timed import Override

if TYPE_CHECKING:  # pragma: no cover
    from neurobone.model.definition import Model


@dataclass
class Covariates:
    """Covariates of N subjects, one array each (NaN: not given).

    ``sex`` ("female"/"male"); ``age_days`` at the start (NaN: the model's reference
    age); ``menopause_age_days`` (women: age at the final menstrual period, which may lie
    ahead; NaN: the model's rule); baseline ``t_score`` (femoral neck), ``t_score_spine``
    (lumbar spine), ``abmd_ls`` and ``abmd_th`` (g/cm2) that anchor the DXA outputs;
    ``activity``: habitual loading relative to the reference (1).
    """

    sex: np.ndarray
    age_days: np.ndarray
    menopause_age_days: np.ndarray
    t_score: np.ndarray
    abmd_ls: np.ndarray
    abmd_th: np.ndarray
    activity: np.ndarray
    t_score_spine: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        n = len(self.sex)
        if len(self.t_score_spine) == 0 and n:
            self.t_score_spine = np.full(n, np.nan)
        for f in fields(self):
            v = np.asarray(getattr(self, f.name), dtype=object if f.name == "sex" else float)
            if v.shape != (n,):
                raise ValueError(f"covariate {f.name} has shape {v.shape}, expected ({n},)")
            setattr(self, f.name, v)

    @property
    def n(self) -> int:
        return len(self.sex)

    def __len__(self) -> int:
        return self.n

    @classmethod
    def of(cls, n: int = 1, *, sex: str | Sequence[str] = "female", **values) -> "Covariates":
        """``n`` subjects; each covariate a number (for all) or a sequence (per subject)."""
        names = {f.name for f in fields(cls)} - {"sex"}
        bad = sorted(set(values) - names)
        if bad:
            raise ValueError(f"unknown covariates {bad}; valid: {', '.join(sorted(names))}")
        cols = {k: np.broadcast_to(np.asarray(values.get(k, np.nan if k != "activity" else 1.0),
                                              float), (n,)).copy() for k in names}
        sexes = np.broadcast_to(np.asarray(sex, dtype=object), (n,)).copy()
        return cls(sex=sexes, **cols)

    def take(self, ix) -> "Covariates":
        return Covariates(**{f.name: getattr(self, f.name)[ix] for f in fields(self)})


@dataclass
class LifePlan:
    """What a model's rules ask the executor to integrate for N subjects.

    ``span`` is each subject's history in days (0: none); ``rows`` its overrides during
    it (days from the history's start); ``states`` sets states of the reference start
    per subject before the history (NaN: keep the reference's)."""

    span: np.ndarray
    rows: list[list[Override]]
    states: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class SubjectRules:
    """The rules of a model without covariates: every subject starts at homeostasis."""

    #: covariates the rules read (the others must be left unset)
    covariates: tuple[str, ...] = ()
    #: intervention kinds the model understands
    interventions: tuple[str, ...] = ()
    #: paths from a protocol to the outcomes, each with the parameter that switches it
    #: off (1 on, 0 off) for counterfactual runs: ``{"neural": "neural_path"}``
    paths: dict[str, str] = {}

    def reference_start(self, model: "Model", p: np.ndarray) -> dict[str, float]:
        """States fixed in the reference subject (held while the rest settles)."""
        return {}

    def plan_life(self, model: "Model", cov: Covariates, P: np.ndarray) -> LifePlan:
        """Each subject's history from the reference (may edit ``P`` in place)."""
        return LifePlan(np.zeros(cov.n), [[] for _ in range(cov.n)])

    def settle(self, model: "Model", cov: Covariates, P: np.ndarray, Y: np.ndarray,
               plan: LifePlan, observe: "Callable[[str], np.ndarray]") -> None:
        """After the history (``Y``: each subject's state): edit ``P`` in place.
        ``observe(name)`` is the model's expression ``name`` of every subject at its state
        (with the parameters as they are when it is called)."""

    def rows_during(self, model: "Model", cov: Covariates, P: np.ndarray, days: float
                    ) -> list[list[Override]]:
        """Each subject's own overrides during a scenario of ``days``."""
        return [[] for _ in range(cov.n)]

    def protocol_rows(self, model: "Model", p: np.ndarray, *, exercise: Sequence = (),
                      interventions: Sequence = (), sex: str = "female",
                      duration: float = math.inf, drugs: Sequence = ()) -> list[Override]:
        """The overrides of a protocol (exercise blocks, interventions, drug regimens),
        shared by its subjects; values taken from parameters come from ``p``."""
        if exercise or interventions or drugs:
            from neurobone.errors import InputError

            raise InputError(f"model {model.name!r} has no exercise, intervention or drug inputs; "
                             "use model: neurobone")
        return []
