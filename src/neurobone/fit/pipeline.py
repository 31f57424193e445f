"""The calibration of the brain-bone model: fit, check, write the values the model reads.

For each mechanism hypothesis, two steps, each a least-squares fit of a few parameters
to the *calibration* rows they act on (``data/target_rows.csv``); *validation* rows are
never evaluated during a fit:

1. ``circuit``: the kinetics of circuit connectivity (``k_grow``, ``W_max``,
   ``k_cdec``, ``age_plast50``) from the connectivity rows;
2. ``bone``: every other fitted parameter jointly, mouse and human rows together (the
   parameters shared by the species -- ``g_T``, ``g_scl``, the single RANKL gain
   ``a_E_L`` -- are fitted once; species-specific ones carry a ``mouse:`` or ``human:``
   prefix).

Each hypothesis is fitted the same way to the same rows, except that the contested
circuit-block row MC3 is left out for ``interoceptive`` and ``mechanical``, whose
neural gain ``g_T`` is fixed by the hypothesis instead. The result of each hypothesis
-- values, convergence, the identifiability of every step, the simulated value of
every row, calibration and validation -- is written to
``src/neurobone/data/calibration/<hypothesis>.json``, which the model reads
(:func:`neurobone.model.brainbone.calibrated_values`): a fitted value is never copied
by hand. From the command line (about 10 minutes per hypothesis on two cores)::

    python -m neurobone.fit.pipeline                 # all three hypotheses
    python -m neurobone.fit.pipeline article         # one

and then ``python -m neurobone.fit.report > docs/calibration.md``.
"""

from __future__ import annotations

import json
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np

from neurobone.atomic import atomic_write
from neurobone.fit.calibrate import calibrate
from neurobone.fit.targets import Runs, evaluate, load_targets
from neurobone.model.brainbone import HYPOTHESES

#: (name, parameters, rows); rows are calibration rows only (checked)
STEPS = [
    ("circuit", ["k_grow", "W_max", "k_cdec", "mouse:age_plast50"],
     ["MC5a", "MC5b", "MC5c", "MC8", "E25"]),
    ("bone",
     ["g_T", "g_scl", "a_E_L", "k_ES", "k_ER", "mouse:act_drive", "mouse:L_hab", "mouse:a_S",
      "human:L_hab", "human:a_S", "human:K_b1", "human:e_b2"],
     ["MC1", "MC2", "MC3", "MC4", "MC6", "MC7", "HU1", "E01", "E04", "E05", "E06", "E24",
      "HC1", "HC2", "HC3", "HT1", "E11", "E12", "E16", "E17", "E19", "E21", "E30", "E31",
      "E32", "E36", "E37"]),
]
#: bounds (low, high) of fitted values where the default (start / 20 .. start * 20) is wrong
BOUNDS = {
    "mouse:age_plast50": (300.0, 3000.0),
    "mouse:a_S": (1e-5, 1e-2),
    "human:a_S": (1e-7, 3e-4),
    "human:e_b2": (-5.0, -0.01),
    "k_ES": (1e-3, 2.0),
    "k_ER": (0.05, 5.0),
}
#: rows a hypothesis leaves out (the contested circuit-block row, when its neural gain is
#: fixed by the hypothesis)
LEFT_OUT = {"article": (), "interoceptive": ("MC3",), "mechanical": ("MC3",)}
#: weight of the residuals of the shared rows (../shared/targets/calibration.csv: the
#: effects the model must reproduce); the project's own rows weigh 1
SHARED_WEIGHT = 2.0
#: starting values of the first fit (later fits start from the last written values)
START = {"mouse:a_S": 1e-3, "human:a_S": 3e-5, "human:e_b2": -0.6, "k_ES": 0.3}


def shared_rows() -> set[str]:
    """Ids of the shared rows (../shared/targets/calibration.csv)."""
    import pandas as pd

    from neurobone.fit.targets import _csv_path

    path = _csv_path()
    return set(pd.read_csv(path)["id"]) if path else set()


def output_path(hypothesis: str) -> Path:
    return Path(str(resources.files("neurobone.data"))) / "calibration" / f"{hypothesis}.json"


def _split(values: dict[str, float]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {"any": {}, "mouse": {}, "human": {}}
    for k, v in values.items():
        species, _, name = k.rpartition(":")
        out[species or "any"][name] = float(v)
    return out


def _previous(hypothesis: str) -> dict[str, float]:
    path = output_path(hypothesis)
    if not path.is_file():
        return {}
    vals = json.loads(path.read_text())["values"]
    return {(k if s == "any" else f"{s}:{k}"): v for s, d in vals.items() for k, v in d.items()}


def run(hypothesis: str = "article", log=sys.stderr, max_evaluations: int = 60) -> dict:
    """Calibrate ``hypothesis`` (module docstring) and return the record written."""
    if hypothesis not in HYPOTHESES:
        raise ValueError(f"unknown hypothesis {hypothesis!r}; valid: {', '.join(HYPOTHESES)}")
    table = load_targets()
    role = dict(zip(table["id"], table["role"], strict=True))
    weights = {i: SHARED_WEIGHT for i in shared_rows()}
    fixed_by_hypothesis = HYPOTHESES[hypothesis]
    previous = _previous(hypothesis)
    # the fit starts from the values last written (or the model's defaults)
    values: dict[str, float] = {}
    steps = []
    for name, params, rows in STEPS:
        rows = [r for r in rows if r not in LEFT_OUT[hypothesis]]
        bad = [r for r in rows if role.get(r) != "calibration"]
        if bad:
            raise ValueError(f"step {name!r} names rows that are not calibration rows: {bad}")
        params = [p for p in params if p.rpartition(":")[2] not in fixed_by_hypothesis]
        start = {p: previous.get(p, START.get(p)) for p in params}
        start = {p: v for p, v in start.items() if v is not None}
        t0 = time.time()

        def progress(msg: str, name: str = name) -> None:  # name bound: used in this step only
            print(f"{hypothesis} {name}: {msg}", file=log, flush=True)

        fit = calibrate(params, rows, hypothesis=hypothesis, start=start, fixed=values,
                        bounds=BOUNDS, max_evaluations=max_evaluations, table=table,
                        progress=progress, weights=weights)
        values.update(fit.values)
        ident = fit.identifiability()
        steps.append({"step": name, "parameters": params, "rows": rows,
                      "converged": fit.converged, "message": fit.message, "cost": fit.cost,
                      "evaluations": fit.evaluations, "failed_evaluations": fit.failed_evaluations,
                      "seconds": round(time.time() - t0, 1),
                      "rank": ident["rank"], "singular_values": ident["singular_values"],
                      "identifiable": ident["identifiable"],
                      "relative_se": fit.standard_errors()})
        print(json.dumps({"hypothesis": hypothesis, **steps[-1], "values": fit.values}),
              file=log, flush=True)
    record = {"hypothesis": hypothesis, "values": _split(values), "steps": steps}
    with np.errstate(all="ignore"):
        res = evaluate(table, Runs(_flatten(record["values"]), hypothesis))
    record["rows"] = {r.id: {"simulated": None if not np.isfinite(r.simulated)
                             else float(r.simulated),
                             "in_range": bool(r.in_range), "role": r.role}
                      for r in res.itertuples()}
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    atomic_write(output_path(hypothesis), lambda tmp: tmp.write_text(text))
    return record


def _flatten(values: dict[str, dict[str, float]]) -> dict[str, float]:
    return {(k if s == "any" else f"{s}:{k}"): v for s, d in values.items() for k, v in d.items()}


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(HYPOTHESES)
    for h in names:
        t0 = time.time()
        rec = run(h)
        rows = rec["rows"].values()
        val = [r for r in rows if r["role"] == "validation"]
        cal = [r for r in rows if r["role"] == "calibration"]
        print(f"{h}: calibration {sum(r['in_range'] for r in cal)}/{len(cal)} in range, "
              f"validation {sum(r['in_range'] for r in val)}/{len(val)} in range, "
              f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
