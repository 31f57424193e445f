"""Helpers shared by the engine tests: the mixed cohorts, their reference trajectories,
the agreement criterion and small test models. Test modules import from here only
(never from each other)."""

from __future__ import annotations

import functools
import importlib.util  # noqa: F401 - registry.available() needs it loaded
import math

import numpy as np

from neurobone.engine.result import Result
from neurobone.engine.simulate import as_compiled, simulate
from neurobone.engine.solvers import BDF
from neurobone.engine.steady import initialise
from neurobone.errors import SolverError
from neurobone.model.definition import Component, Expression, Parameter, State, compose
from neurobone.model.registry import available
from neurobone.model.timed import Override

#: agreement required between the solvers (relative, on every output; see relerr)
TOL = 1e-4

# per model: species, days, parameters varied between subjects, inputs (name, value),
# parameters every subject has (optional), parameters that are shares of a whole and must
# stay within 0..1 when other tests perturb every parameter (optional)
SPECS = {
    "lemaire2004": dict(
        species=None, days=160.0,
        vary=["D_R", "k_B", "D_C", "D_A", "K_OP"],
        inputs=[("I_P", 1e3), ("I_O", 2e5), ("I_L", 1e3)],
    ),
    "pivonka2008": dict(
        species=None, days=160.0,
        vary=["D_OBu", "D_OBp", "A_OBa", "D_OCp", "A_OCa"],
        inputs=[("I_P", 250.0), ("I_O", 5e4), ("I_L", 1e3)],
    ),
    "neurobone": dict(
        species="mouse", days=200.0,
        vary=["D_OBp", "A_OCa", "k_grow", "k_lab", "k_aff"],
        inputs=[("ex_load_ap", 1.5), ("ex_central", 0.8), ("ovx", 1.0)],
        # baseline scans below the young-adult means: T-scores of about -0.5 and -0.9
        # rather than exactly 0, where only round-off would be compared
        fixed={"abmd_fn_base": 0.80, "abmd_ls_base": 0.95},
        # above 1, the beta2 signal (x_b2*tone + 1 - x_b2) turns negative at low tone
        fractions=["x_b2"],
    ),
}
MODELS = [m for m in SPECS if m in available()]


def relerr(a: np.ndarray, b: np.ndarray) -> float:
    """Largest relative difference ``|a - b| / (|b| + 0.01 * max|b|)``.

    ``relerr <= 1e-4`` means ``|a - b| <= 1e-4 |b| + 1e-6 max|b| + 1e-16``: relative,
    with an absolute floor at a millionth of the output's peak for outputs that start at
    or cross zero (connectivity above baseline, T-score), and at 1e-16 for outputs that
    are numerically zero throughout (a pool at 0 holds Newton residue such as 1e-69).
    NaN anywhere (in either) makes it NaN, which fails every ``<=`` check.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise AssertionError(f"shapes differ: {a.shape} vs {b.shape}")
    if np.any(np.isnan(a)) or np.any(np.isnan(b)):
        return math.nan
    peak = max(float(np.max(np.abs(b))), 1e-300)
    return float(np.max(np.abs(a - b) / (np.abs(b) + 0.01 * peak + 1e-12)))


def mixed_cohort(name: str, seed: int = 1):
    """Six subjects of model ``name``: own parameters (homeostatic where the model has a
    homeostatic start), own initial states (two away from the steady state) and own
    schedules (none, windows, weekday programmes, overlapping overrides of one input,
    short pulses, one for ever). Returns ``cm, P, Y, schedules, days``."""
    spec = SPECS[name]
    cm = as_compiled(name, spec["species"])
    rng = np.random.default_rng(seed)
    (a, va), (b, vb), (c, vc) = spec["inputs"]
    days = spec["days"]
    schedules = [
        [],
        [Override(a, va, 20.0, 80.0)],
        [Override(a, va, 10.5, 120.0, weekdays=(0, 2, 4))],
        [Override(b, vb, 5.0, 60.0), Override(b, 0.5 * vb, 30.0, 90.0),
         Override(c, vc, 40.0, 41.5)],
        [Override(c, vc, 0.0, math.inf), Override(a, va, 3.0, 100.0, weekdays=(1, 2, 3, 4, 5))],
        [Override(a, va, 7.0, 9.0), Override(b, vb, 12.25, 12.75),
         Override(a, 0.3 * va, 50.0, days)],
    ]
    n = len(schedules)
    P = np.empty((n, cm.n_params))
    Y = np.empty((n, cm.n_states))
    for i in range(n):
        values = dict(spec.get("fixed", {}))
        if i > 0:
            for q in spec["vary"]:
                values[q] = cm.model.parameter(q).value * float(np.exp(rng.normal(0.0, 0.15)))
        p = cm.parameter_vector(values)
        try:  # homeostatic start where the model has one
            y0, p = initialise(cm, p)
        except SolverError:
            y0 = cm.initial_vector()
        if i in (2, 5):  # start away from the steady state
            for j, s in enumerate(cm.model.states):
                if s.steady and y0[j] != 0.0:
                    y0[j] *= 1.0 + 0.2 * rng.uniform(-1, 1)
        P[i], Y[i] = p, y0
    return cm, P, Y, schedules, days


def mixed_days(days: float) -> np.ndarray:
    """Own end days for the six subjects of :func:`mixed_cohort`: the full run; exactly
    the end of subject 1's override window; a fractional end inside subject 2's weekday
    programme; exactly the end of subject 3's pulse; two others."""
    return np.array([days, 80.0, 0.3 * days + 0.3, 41.5, 0.62 * days, 0.9 * days])


@functools.lru_cache(maxsize=None)
def reference(name: str) -> tuple:
    """The mixed cohort of ``name`` and its reference trajectories (SciPy's BDF at rtol
    1e-8): ``cm, P, Y, schedules, days, ref`` with ``ref`` a :class:`Result`."""
    cm, P, Y, schedules, days = mixed_cohort(name)
    ref = simulate(cm, days, parameters=P, initial=Y, schedule=schedules, solver=BDF(),
                   on_failure="raise")
    return cm, P, Y, schedules, days, ref


def assert_agrees(label: str, res: Result, ref: Result, tol: float = TOL,
                  subjects=None) -> float:
    """Every output of every subject (or of ``subjects``: indices into ``res``, the
    same into ``ref`` unless given as pairs) agrees within ``tol`` (:func:`relerr`);
    returns the worst difference."""
    np.testing.assert_array_equal(res.t, ref.t)
    assert res.names == ref.names or set(res.names) <= set(ref.names)
    pairs = [(i, i) for i in range(res.n_subjects)] if subjects is None else subjects
    worst = {}
    for i, k in pairs:
        for out in res.names:
            worst[(i, out)] = relerr(res[out][i], ref[out][k])
    bad = {key: v for key, v in worst.items() if not v <= tol}
    assert not bad, f"{label}: outputs differ by more than {tol:g}: {bad}"
    return max(worst.values())


# Robertson's chemical kinetics (Hairer & Wanner, Solving ODEs II, Sec. IV.1): the classic
# stiff test problem.
ROBERTSON = compose(
    "robertson",
    [Component(
        "robertson",
        parameters=(
            Parameter("k1", 0.04, "1/day", "slow reaction", "Robertson 1966"),
            Parameter("k2", 3e7, "1/day", "very fast reaction", "Robertson 1966"),
            Parameter("k3", 1e4, "1/day", "fast reaction", "Robertson 1966"),
        ),
        states=(
            State("y1", 1.0, "1", "A", rate="-k1*y1 + k3*y2*y3", scale=1.0),
            State("y2", 0.0, "1", "B", rate="k1*y1 - k3*y2*y3 - k2*y2**2", scale=1e-5),
            State("y3", 0.0, "1", "C", rate="k2*y2**2", scale=1.0),
        ),
        expressions=(Expression("total", "y1 + y2 + y3", "1", "conserved sum"),),
    )],
    description="Robertson stiff test problem", citation="Robertson 1966",
)

# u falls through zero at t = 1; v integrates u**n, a power with a parameter exponent that
# the lanes compute as exp(n*log(u)) -- undefined for u < 0, where pow(u, 2.0) is not
NEGATIVE_BASE = compose("negbase", [Component(
    "negbase",
    parameters=(Parameter("n", 2.0, "1", "exponent", "test"),),
    states=(State("u", 1.0, "1", "falls linearly", rate="-1", scale=1.0),
            State("v", 0.0, "1", "integral of u**n", rate="u**n", scale=1.0)),
)], description="a power of a base that turns negative", citation="test")


def spy_atomic_writes(monkeypatch) -> list[str]:
    """Route ``neurobone.files.atomic_write`` through a check that each file is written
    to a temporary beside its target and appears under its name only by the final rename;
    returns the list of the names written, in order."""
    from pathlib import Path

    import neurobone.files as files
    from neurobone.atomic import TMP_PREFIX

    seen: list[str] = []
    real = files.atomic_write

    def spy(path, writer):
        def check(tmp):
            assert tmp.name.startswith(TMP_PREFIX) and tmp.parent == Path(path).parent
            writer(tmp)
            assert not Path(path).exists()  # nothing under the final name yet
        seen.append(Path(path).name)
        return real(path, check)

    monkeypatch.setattr(files, "atomic_write", spy)
    return seen
