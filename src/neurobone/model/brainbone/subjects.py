"""How the brain-bone model's subjects are set up from their covariates.

1. The reference subject is a young adult (age ``age_ref``: a 12-week-old mouse, a
   30-year-old woman) at homeostasis with bone volume 1; its steady-state OBa and OCa
   become the references ``OBa_ref``, ``OCa_ref``.
2. Each subject lives its own life history from the reference age to its age at the
   start: ageing, and for women the menopause (at the age given, or at 51 years, the
   median age at the final menstrual period, for women of 52 and older whose age at
   menopause is not given). Habitual activity below the reference removes that share of
   habitual loading (``unloading``) for life.
3. After the history the hormonal status persists; the subject's bone volume becomes
   ``BV_start``, and baseline aBMD and T-score, when given, anchor the DXA outputs
   (otherwise the reference values change with the remodelled bone volume).
4. A woman whose menopause falls within the scenario gets it as her own overrides.

Subjects younger than the reference start from the reference state at their own age.
"""

from __future__ import annotations

import math

import numpy as np

from neurobone.errors import ModelError
from neurobone.model.brainbone.protocol import INTERVENTIONS, exercise_rows, intervention_rows
from neurobone.model.subjects import Covariates, LifePlan, SubjectRules
from neurobone.model.timed import Override
from neurobone.units import DAYS_PER_YEAR

#: median age at the final menstrual period (Gold 2013, SWAN, Am J Epidemiol 178:70)
MENOPAUSE_AGE_YEARS = 51.0
#: parameters whose values the menopause overrides take (they must not vary between
#: subjects, or each subject's overrides would need its own values)
MENOPAUSE_VALUES = ("E2_floor", "tau_E_natural")


class BrainBoneSubjects(SubjectRules):
    """Subject rules of the brain-bone model (module docstring)."""

    covariates = ("sex", "age_days", "menopause_age_days", "t_score", "abmd_ls", "abmd_th",
                  "activity")

    def reference_start(self, model, p: np.ndarray) -> dict[str, float]:
        return {"age": float(p[model.parameter_names.index("age_ref")]), "BV": 1.0}

    @staticmethod
    def _menopause(model, cov: Covariates, age: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Age at menopause (days) of each subject: inf for men, mice and women without
        one by the rule; notes on assumptions."""
        notes = []
        meno = np.full(cov.n, math.inf)
        if model.default_species != "human":
            return meno, notes
        female = cov.sex == "female"
        given = female & np.isfinite(cov.menopause_age_days)
        meno[given] = cov.menopause_age_days[given]
        rule = female & ~given & (age >= (MENOPAUSE_AGE_YEARS + 1) * DAYS_PER_YEAR)
        meno[rule] = MENOPAUSE_AGE_YEARS * DAYS_PER_YEAR
        if rule.any():
            notes.append("menopause assumed at 51 years (age at menopause not given)")
        return meno, notes

    def plan_life(self, model, cov: Covariates, P: np.ndarray) -> LifePlan:
        pi = model.parameter_names.index
        age_ref = P[:, pi("age_ref")]
        age = np.where(np.isfinite(cov.age_days), cov.age_days, age_ref)
        P[:, pi("unloading")] += 1.0 - np.where(np.isfinite(cov.activity), cov.activity, 1.0)
        meno, notes = self._menopause(model, cov, age)
        rows: list[list[Override]] = [[] for _ in range(cov.n)]
        past = np.nonzero(meno < age)[0]
        if len(past):
            self._check_shared(model, P)
            floor, tau = P[0, pi("E2_floor")], P[0, pi("tau_E_natural")]
            for i in past:
                t0 = max(meno[i] - age_ref[i], 0.0)
                rows[i] = [Override("E2_target", floor, t0), Override("tau_E", tau, t0)]
        young = age < age_ref
        if young.any():
            notes.append("subject younger than the reference age; started at the reference "
                         "state")
        states = {"age": np.where(young, age, np.nan)}
        return LifePlan(np.maximum(age - age_ref, 0.0), rows, states, notes)

    def settle(self, model, cov: Covariates, P: np.ndarray, Y: np.ndarray,
               plan: LifePlan) -> None:
        pi = model.parameter_names.index
        for i, rows in enumerate(plan.rows):  # the hormonal status reached persists
            for o in rows:
                P[i, pi(o.name)] = o.value
        bv = Y[:, model.state_names.index("BV")]
        P[:, pi("BV_start")] = bv
        w_ls, w_th = P[:, pi("w_ls")], P[:, pi("w_th")]
        ls, th, fn = pi("abmd_ls_base"), pi("abmd_th_base"), pi("abmd_fn_base")
        P[:, ls] = np.where(np.isfinite(cov.abmd_ls), cov.abmd_ls, P[:, ls] * (1 + w_ls * (bv - 1)))
        P[:, th] = np.where(np.isfinite(cov.abmd_th), cov.abmd_th, P[:, th] * (1 + w_th * (bv - 1)))
        anchored = P[:, pi("fn_young_mean")] + cov.t_score * P[:, pi("fn_young_sd")]
        P[:, fn] = np.where(np.isfinite(cov.t_score), anchored, P[:, fn] * (1 + w_th * (bv - 1)))

    def rows_during(self, model, cov: Covariates, P: np.ndarray, days: float
                    ) -> list[list[Override]]:
        pi = model.parameter_names.index
        rows: list[list[Override]] = [[] for _ in range(cov.n)]
        if model.default_species != "human":
            return rows
        age = np.where(np.isfinite(cov.age_days), cov.age_days, P[:, pi("age_ref")])
        meno, _ = self._menopause(model, cov, age)
        due = np.nonzero((meno >= age) & (meno - age < days))[0]
        if len(due):
            self._check_shared(model, P)
            floor, tau = P[0, pi("E2_floor")], P[0, pi("tau_E_natural")]
            for i in due:
                t = float(meno[i] - age[i])
                rows[i] = [Override("E2_target", floor, t), Override("tau_E", tau, t)]
        return rows

    @staticmethod
    def _check_shared(model, P: np.ndarray) -> None:
        for name in MENOPAUSE_VALUES:
            if model.parameter(name).cv:
                raise ModelError(f"parameter {name!r} sets the menopause overrides and must "
                                 "not vary between subjects (cv 0)")

    interventions = tuple(INTERVENTIONS)
    paths = {"neural": "neural_path", "mechanical": "mech_path"}

    def protocol_rows(self, model, p: np.ndarray, *, exercise=(), interventions=(),
                      sex: str = "female", duration: float = math.inf) -> list[Override]:
        return (exercise_rows(model.default_species, exercise, duration)
                + intervention_rows(model, p, interventions, sex, model.default_species))
