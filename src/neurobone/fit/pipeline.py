"""The calibration of the brain-bone model, step by step (a reproducible record).

Each step fits a few parameters to the rows they are identifiable from, holding the
earlier steps' values; the result is the values written into the parameter tables
(with "calibrated: <rows>" as their source). Takes about half an hour on two cores.
From Python::

    import json
    from neurobone.fit.pipeline import run

    fit = run("article")                   # progress: one JSON line per step on stderr
    with open("fit.json", "w") as fh:
        json.dump(fit, fh, indent=1)

    # again, from the values of an earlier fit (keys: parameters, "human_" + parameter)
    start = {**fit["mouse"], **{"human_" + k: v for k, v in fit["human"].items()}}
    fit = run("article", start=start)
"""

from __future__ import annotations

import json
import sys

from neurobone.fit.calibrate import calibrate
from neurobone.fit.targets import Runs, evaluate

#: (parameters, rows, species); hypothesis-specific steps are marked by their parameters
STEPS = [
    (["k_grow", "W_max", "k_cdec"], ["MC5a", "MC5b", "MC5c"], "mouse"),
    (["age_plast50"], ["MC8"], "mouse"),
    (["g_T", "g_scl", "a_E_L", "k_ER", "act_drive", "L_hab"], ["MC2", "MC3", "MC4", "MC6", "MC7", "HU1"], "mouse"),
]
HUMAN_STEP = (["turnover", "a_E_L", "a_T", "L_hab"], ["HC1", "HC2", "HC3", "HT1"], "human")
#: human values held fixed: age-related loss acts through sympathetic tone (a_T) and estrogen
HUMAN_FIXED = {"a_OB": 0.0}
#: parameters whose mouse value is also the human value
SHARED = {"k_grow", "W_max", "k_cdec", "g_T", "g_scl", "k_ER"}
#: for the non-default hypotheses: g_T is fixed (interoceptive: a modest neural gain;
#: mechanical: 0) and MC3 is left out of the fit
HYPOTHESIS_FIXED = {"article": {}, "interoceptive": {"g_T": 0.08}, "mechanical": {"g_T": 0.0}}


def run(hypothesis: str = "article", start: dict[str, float] | None = None, log=sys.stderr) -> dict:
    """Run every step for ``hypothesis`` (``article``, ``interoceptive`` or ``mechanical``).

    ``start``: starting values, by parameter name for the mouse steps and by
    ``"human_" + name`` for the human step (missing ones start from the model's values).
    Each mouse step's values are printed to ``log`` as one JSON line. Returns
    ``{"hypothesis", "mouse", "human", "mouse_targets", "human_targets"}``: the fitted
    values and the simulated value of each target row with them.
    """
    mouse: dict[str, float] = dict(HYPOTHESIS_FIXED[hypothesis])
    for params, rows, species in STEPS:
        params = [p for p in params if p not in HYPOTHESIS_FIXED[hypothesis]]
        if hypothesis != "article":
            rows = [r for r in rows if r != "MC3"]
        s = {p: (start or {}).get(p) for p in params if (start or {}).get(p) is not None}
        mouse.update(calibrate(params, rows, species=species, hypothesis=hypothesis, start=s or None,
                               fixed=mouse).values)
        print(json.dumps(mouse), file=log, flush=True)
    shared = {k: v for k, v in mouse.items() if k in SHARED}
    params, rows, species = HUMAN_STEP
    s = {p: (start or {}).get("human_" + p) for p in params if (start or {}).get("human_" + p) is not None}
    human = calibrate(params, rows, species=species, hypothesis=hypothesis, start=s or None,
                      fixed={**shared, **HUMAN_FIXED}).values
    out = {"hypothesis": hypothesis, "mouse": mouse, "human": human}
    res = evaluate(runs=Runs({**mouse}, hypothesis), ids=[r for _, rr, _ in STEPS for r in rr] + ["MC1"])
    out["mouse_targets"] = dict(zip(res.id, res.simulated))
    res = evaluate(runs=Runs({**shared, **HUMAN_FIXED, **human}, hypothesis),
                   ids=["HC1", "HC2", "HC3", "HC4", "HC5", "HT1"])
    out["human_targets"] = dict(zip(res.id, res.simulated))
    return out
