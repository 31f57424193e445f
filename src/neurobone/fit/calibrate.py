"""Calibrate named parameters against named target rows (reproducible record of the fit).

:func:`calibrate` minimises the sum of squared distances to each row's central value,
scaled by the row's range, over log-parameters (Nelder-Mead), and returns the fitted
values. From Python::

    from neurobone.fit.calibrate import calibrate
    from neurobone.fit.targets import Runs, evaluate

    fitted = calibrate(["k_grow", "W_max"], ["MC5a", "MC5b"], species="mouse")
    print(fitted)                                  # {"k_grow": ..., "W_max": ...}
    rows = evaluate(runs=Runs(fitted, "article"), ids=["MC5a", "MC5b"])
    print(rows[["id", "simulated", "low", "high", "central", "in_range"]])

The fitted values are written into the parameter tables by hand, with the rows in each
parameter's ``source`` ("calibrated: MC5a, MC5b"). :mod:`neurobone.fit.pipeline` runs
the whole calibration step by step.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from neurobone.fit.targets import Runs, evaluate, load_targets
from neurobone.model.brainbone import build


def objective(values: dict[str, float], ids: list[str], hypothesis: str | None = None,
              table=None) -> float:
    """Sum over rows ``ids`` of ((simulated - central) / (high - low))^2 with the parameter
    ``values``; a run that fails scores 1e6."""
    table = load_targets() if table is None else table
    try:
        df = evaluate(table, Runs(values, hypothesis), ids)
    except Exception:  # noqa: BLE001 - a failed solve is a bad point, not an error
        return 1e6
    err = (df.simulated - df.central) / (df.high - df.low)
    return float(np.sum(err**2))


def calibrate(params: list[str], ids: list[str], *, species: str = "mouse",
              hypothesis: str = "article", start: dict[str, float] | None = None,
              fixed: dict[str, float] | None = None, maxiter: int = 200) -> dict[str, float]:
    """Fit ``params`` to the central values of rows ``ids``; ``fixed`` values apply to
    every run (e.g. parameters fitted in an earlier step). ``start`` overrides the model's
    values as starting points; returns ``{parameter: fitted value}``."""
    m = build(species, hypothesis)
    x0 = np.log([start[p] if start and p in start else m.parameter(p).value for p in params])
    table = load_targets()

    def f(x):
        v = objective({**(fixed or {}), **dict(zip(params, np.exp(x)))}, ids, hypothesis, table)
        return v

    res = minimize(f, x0, method="Nelder-Mead",
                   options={"maxiter": maxiter, "xatol": 1e-3, "fatol": 1e-4, "initial_simplex": None})
    return dict(zip(params, map(float, np.exp(res.x))))
