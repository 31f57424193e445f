"""How the brain-bone model's subjects are set up from their covariates.

1. The reference subject is a young adult (age ``age_ref``: a 12-week-old mouse, a
   30-year-old) at homeostasis with both compartments of both regions at volume 1; its
   steady-state OBa, OCa and mineralisation become the references (``OBa_ref``,
   ``OCa_ref``, ``mtb_ref``, ``mct_ref``).
2. Each subject lives its own life history from the reference age to its age at the
   start: ageing of every mechanism, and the sex-steroid course of its sex -- for women
   the menopause at the age given, or at 51 years (the median age at the final
   menstrual period, Gold 2013) when none is given; a menopause still ahead comes
   during the scenario by itself, as the model's estrogen course is a function of age.
   Habitual activity below the reference removes that share of habitual loading
   (``unloading``) for life.
3. After the history each subject's mineral index at each DXA site becomes its start
   value; a baseline aBMD or T-score, when given, anchors that site's aBMD (otherwise
   the young-adult reference aBMD scaled by the remodelled mineral).

Subjects younger than the reference start from the reference state at their own age.
"""

from __future__ import annotations

import math

import numpy as np

from neurobone.errors import InputError
from neurobone.model.brainbone.protocol import INTERVENTIONS, exercise_rows, intervention_rows
from neurobone.model.brainbone.regimens import dosing_rows
from neurobone.model.components.pharmacology import BETA_BLOCKERS
from neurobone.model.components.systemic import NEVER
from neurobone.model.subjects import Covariates, LifePlan, SubjectRules
from neurobone.units import DAYS_PER_YEAR

#: median age at the final menstrual period (Gold 2013, SWAN, Am J Epidemiol 178:70)
MENOPAUSE_AGE_YEARS = 51.0
#: DXA sites: (site, the covariate that anchors its aBMD directly, its reference mean and
#: SD parameters when a T-score anchors it, the T-score covariate)
DXA_SITES = (
    ("ls", "abmd_ls", "ls_young_mean", "ls_young_sd", "t_score_spine"),
    ("th", "abmd_th", None, None, None),
    ("fn", None, "fn_young_mean", "fn_young_sd", "t_score"),
)


#: step interventions and the drugs that act at the same place: a scenario gives each once
_SAME_PLACE = {"beta_blocker": (BETA_BLOCKERS, "block the beta-adrenergic receptors"),
               "estradiol": (("estradiol",), "set the estrogen action (E2_goal)")}


def _check_one_source(drugs, interventions) -> None:
    """A drug and a step intervention acting at the same place are contradictory: the
    step sets the occupancy (or the estrogen action) its own way and the drug's PK adds
    its own on top. One-line InputError at the drug entry."""
    for j, iv in enumerate(interventions):
        same = _SAME_PLACE.get(getattr(iv, "kind", None))
        if same is None:
            continue
        for i, d in enumerate(drugs):
            if d.name in same[0]:
                raise InputError(
                    f"drugs[{i}]: {d.name} and the {iv.kind} intervention (interventions[{j}]) "
                    f"both {same[1]}; give it once: as a drug (with its pharmacokinetics) or "
                    "as the step intervention")


class BrainBoneSubjects(SubjectRules):
    """Subject rules of the brain-bone model (module docstring)."""

    covariates = ("sex", "age_days", "menopause_age_days", "t_score", "t_score_spine",
                  "abmd_ls", "abmd_th", "activity")

    def reference_start(self, model, p: np.ndarray) -> dict[str, float]:
        start = {"age": float(p[model.parameter_names.index("age_ref")])}
        start.update({s.name: 1.0 for s in model.states if s.name.startswith(("Vtb_", "Vct_"))})
        return start

    @staticmethod
    def menopause_ages(model, cov: Covariates) -> tuple[np.ndarray, list[str]]:
        """Age at the final menstrual period (days) of each subject: :data:`NEVER` for
        men and mice; the given age, else 51 years, for women."""
        meno = np.full(cov.n, NEVER)
        if model.default_species != "human":
            return meno, []
        female = cov.sex == "female"
        given = female & np.isfinite(cov.menopause_age_days)
        meno[given] = cov.menopause_age_days[given]
        rule = female & ~given
        meno[rule] = MENOPAUSE_AGE_YEARS * DAYS_PER_YEAR
        note = "menopause assumed at 51 years (age at menopause not given)"
        return meno, [note] if rule.any() else []

    def plan_life(self, model, cov: Covariates, P: np.ndarray) -> LifePlan:
        pi = model.parameter_names.index
        age_ref = P[:, pi("age_ref")]
        age = np.where(np.isfinite(cov.age_days), cov.age_days, age_ref)
        P[:, pi("unloading")] += 1.0 - np.where(np.isfinite(cov.activity), cov.activity, 1.0)
        P[:, pi("male")] = (cov.sex == "male").astype(float)
        meno, notes = self.menopause_ages(model, cov)
        P[:, pi("meno_age")] = meno
        young = age < age_ref
        if young.any():
            notes.append("subject younger than the reference age; started at the reference state")
        states = {"age": np.where(young, age, np.nan)}
        return LifePlan(np.maximum(age - age_ref, 0.0), [[] for _ in range(cov.n)], states, notes)

    def settle(self, model, cov: Covariates, P: np.ndarray, Y: np.ndarray,
               plan: LifePlan, observe) -> None:
        pi = model.parameter_names.index
        bmc = {site: observe(f"bmc_{site}") for site, *_ in DXA_SITES}
        for site, abmd_cov, mean, sd, t_cov in DXA_SITES:
            base = pi(f"abmd_{site}_base")
            P[:, pi(f"bmc_{site}_start")] = bmc[site]
            value = P[:, base] * bmc[site]  # the reference aBMD, remodelled
            if t_cov is not None:
                t = getattr(cov, t_cov)
                value = np.where(np.isfinite(t), P[:, pi(mean)] + t * P[:, pi(sd)], value)
            if abmd_cov is not None:
                a = getattr(cov, abmd_cov)
                value = np.where(np.isfinite(a), a, value)
            P[:, base] = value

    interventions = tuple(INTERVENTIONS)
    paths = {"neural": "neural_path", "mechanical": "mech_path"}

    def protocol_rows(self, model, p: np.ndarray, *, exercise=(), interventions=(),
                      sex: str = "female", duration: float = math.inf, drugs=()):
        rows = (exercise_rows(model.default_species, exercise, duration)
                + intervention_rows(model, p, interventions, sex, model.default_species))
        if not drugs:
            return rows
        if model.default_species != "human":
            raise InputError("drugs: the drug PK/PD components take human doses (species: "
                             "human); mice: the beta_blocker and estradiol interventions")
        _check_one_source(drugs, interventions)
        rows += dosing_rows(drugs, duration)
        missing = sorted({r.name for r in rows} - set(model.parameter_names))
        if missing:
            raise InputError(f"drugs: the model lacks {missing}; build it with the scenario's "
                             "drugs (neurobone.model.brainbone.build(..., drugs=...))")
        return rows

