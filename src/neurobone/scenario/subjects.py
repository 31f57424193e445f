"""Subjects from covariates: the one initialisation every caller uses.

:func:`initialise_subjects` sets up N subjects of a compiled model: their parameter
vectors, their states at the start of a scenario and their own overrides during it. It
asks the model's rules (:mod:`neurobone.model.subjects`; the brain-bone model's are in
:mod:`neurobone.model.brainbone.subjects`) what the covariates mean and runs the engine
for it; it knows no model's names. One scenario is N = 1; a study passes every animal
of every arm; a cohort passes a chunk.

Each subject's history is integrated on its own (its own end day, schedule and step
sizes), so a subject's start never depends on who else is initialised with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neurobone.engine.kernels import CompiledModel
from neurobone.engine.result import STATUS
from neurobone.engine.simulate import simulate
from neurobone.engine.solvers import Solver, Switching
from neurobone.engine.steady import initialise, initialise_batch
from neurobone.model.subjects import Covariates
from neurobone.model.timed import Override
from neurobone.units import DAYS_PER_WEEK, DAYS_PER_YEAR

#: solver of the life histories when the caller names none
HISTORY_SOLVER = Switching(rtol=1e-8)


@dataclass
class Reference:
    """The model's young-adult reference subject at homeostasis: its state and its
    parameter vector with the homeostatic references resolved."""

    y: np.ndarray
    p: np.ndarray


def reference(cm: CompiledModel, base: np.ndarray) -> Reference:
    """The reference subject of ``cm`` for the parameter vector ``base``."""
    rules = cm.model.rules
    start = rules.reference_start(cm.model, base)
    y = cm.initial_vector(start)
    y_ref, p_ref = initialise(cm, base, initial=y, hold=tuple(start))
    return Reference(y_ref, p_ref)


def references(cm: CompiledModel, B: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The reference subjects of the rows of ``B`` (N x n_params) at once: ``(Y, P,
    failures)``, row ``i`` what :func:`reference` gives for ``B[i]`` (found by
    :func:`~neurobone.engine.steady.initialise_batch`; ``failures[i]`` "" or why not)."""
    B = np.array(B, dtype=float, ndmin=2)
    rules = cm.model.rules
    N = len(B)
    starts = [rules.reference_start(cm.model, B[i]) for i in range(N)]
    Y = np.zeros((N, cm.n_states))
    P = B.copy()
    failure = [""] * N
    # rows holding the same states are solved together (one group for the model's rules)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, start in enumerate(starts):
        groups.setdefault(tuple(start), []).append(i)
    for hold, rows in groups.items():
        Y0 = np.array([cm.initial_vector(starts[i]) for i in rows])
        h = initialise_batch(cm, B[rows], initial=Y0, hold=hold)
        Y[rows], P[rows] = h.y, h.p
        for j, i in enumerate(rows):
            failure[i] = h.failure[j]
    return Y, P, failure


@dataclass
class Subjects:
    """N initialised subjects: ``parameters`` (N x n_params), ``initial`` states (N x
    n_states), their own overrides during a scenario (``rows``), the status of their
    histories (0: ok) with a reason per failed subject, and notes."""

    parameters: np.ndarray
    initial: np.ndarray
    rows: list[list[Override]]
    status: np.ndarray
    failure: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.parameters)


def initialise_subjects(cm: CompiledModel, covariates: Covariates, *,
                        ref: Reference, P: np.ndarray | None = None,
                        start: np.ndarray | None = None, days: float = 0.0,
                        solver: Solver | None = None, threads: int | None = None) -> Subjects:
    """Set up ``covariates.n`` subjects of ``cm`` from the reference ``ref``.

    ``P`` gives each subject's parameters (default: the reference's); varied parameters
    must leave the reference homeostasis unchanged, unless ``start`` gives each subject's
    own reference state (N x n_states, default: the reference's; a sensitivity analysis
    passes each sample's reference, with its parameters in ``P``). ``days`` is the length of the
    scenario that follows (for the subjects' own overrides during it). Histories are
    integrated with ``solver`` (default :data:`HISTORY_SOLVER`).
    """
    m = cm.model
    rules = m.rules
    n = covariates.n
    P = np.tile(ref.p, (n, 1)) if P is None else np.array(P, dtype=float)
    plan = rules.plan_life(m, covariates, P)
    Y = np.tile(ref.y, (n, 1)) if start is None else np.array(start, dtype=float)
    if Y.shape != (n, cm.n_states):
        raise ValueError(f"start has shape {Y.shape}, expected ({n}, {cm.n_states})")
    for name, values in plan.states.items():
        k = cm.state_index(name)
        Y[:, k] = np.where(np.isfinite(values), values, Y[:, k])
    status = np.zeros(n, np.int64)
    failure = [""] * n
    who = np.nonzero(plan.span > 0)[0]
    if len(who):
        res = simulate(cm, plan.span[who], parameters=P[who], initial=Y[who],
                       schedule=[plan.rows[i] for i in who], save_days=[],
                       outputs=m.state_names[:1], solver=solver or HISTORY_SOLVER,
                       threads=threads, on_failure="ignore")
        Y[who] = np.where((res.status == 0)[:, None], res.final_state, Y[who])
        for j in np.nonzero(res.status != 0)[0]:
            i = who[j]
            status[i] = res.status[j]
            failure[i] = (f"life history: {STATUS.get(int(res.status[j]), 'failed')} "
                          f"{res.fail_day[j]:.1f} days after the reference age")
    def observe(name: str) -> np.ndarray:
        k = m.expression_names.index(name)
        return cm.observe_all(np.zeros(n), Y, P)[:, k]

    rules.settle(m, covariates, P, Y, plan, observe)
    rows = rules.rows_during(m, covariates, P, days)
    return Subjects(P, Y, rows, status, failure, list(plan.notes))


def covariates_of_subject(subject, species: str, n: int = 1) -> Covariates:
    """The covariates a scenario's ``subject:`` block gives (``n`` identical subjects)."""
    if species == "mouse":
        age = subject.age_weeks * DAYS_PER_WEEK if subject.age_weeks is not None else np.nan
    else:
        age = subject.age_years * DAYS_PER_YEAR if subject.age_years is not None else np.nan
    meno = np.nan
    if subject.years_since_menopause is not None:
        meno = age - subject.years_since_menopause * DAYS_PER_YEAR
    elif subject.menopause_age_years is not None:
        meno = subject.menopause_age_years * DAYS_PER_YEAR
    nan = np.nan
    return Covariates.of(n, sex=subject.sex, age_days=age, menopause_age_days=meno,
                         t_score=subject.t_score if subject.t_score is not None else nan,
                         abmd_ls=subject.abmd_ls if subject.abmd_ls is not None else nan,
                         abmd_th=subject.abmd_th if subject.abmd_th is not None else nan,
                         t_score_spine=(subject.t_score_spine if subject.t_score_spine is not None
                                        else nan))


def covariates_of_frame(df: pd.DataFrame) -> Covariates:
    """The covariates of a sampled population table (:mod:`neurobone.scenario.population`)."""
    n = len(df)

    def col(name, default=np.nan):
        return df[name].to_numpy(float) if name in df else np.full(n, default)

    return Covariates(sex=df["sex"].to_numpy(object), age_days=col("age_days"),
                      menopause_age_days=col("menopause_age_years") * DAYS_PER_YEAR,
                      t_score=col("t_score"), abmd_ls=col("abmd_ls"), abmd_th=col("abmd_th"),
                      activity=col("activity", 1.0), t_score_spine=col("t_score_spine"))
