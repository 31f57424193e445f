"""Draws of the calibrated parameters: the calibration's uncertainty, shipped with the model.

The calibration (:mod:`neurobone.fit.pipeline`) fits each step's parameters to its
target rows by weighted least squares, the rows' accepted ranges read as central value
plus or minus two SDs. Around that optimum the posterior of the log parameters (flat
prior on the log scale) is approximated by a normal distribution -- the Laplace
approximation -- with covariance ``inv(J' J)``, ``J`` the Jacobian of the weighted
residuals with respect to the log parameters at the calibrated values (computed anew
here, one batched ensemble per step). Steps are treated as independent (the second step
is fitted with the first step's values fixed, so their covariance is not estimated).

A parameter the rows barely inform (log-scale SD above :data:`MAX_LOG_SD`, i.e. not
known within a factor of e, or in the Jacobian's null space) is not drawn: the normal
approximation would put most of its mass outside any plausible range, where the prior
bounds, not the data, decide. It is held at its calibrated value, and the others are
drawn from their normal distribution given it; the provenance file lists it.

Run (a few minutes per hypothesis on two cores)::

    python -m neurobone.fit.laplace               # every hypothesis
    python -m neurobone.fit.laplace article       # one

It writes ``data/calibration/<hypothesis>-draws.csv`` (one row per draw, one column per
parameter, species-specific ones prefixed ``mouse:``/``human:``) and
``<hypothesis>-draws.json`` (method, rows, the held parameters, the log-scale mean and
covariance of each step, seed, date, the calibration file's hash), which
:func:`neurobone.model.brainbone.calibration_draws` reads and
:mod:`neurobone.fit.uncertainty` runs.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from neurobone.atomic import atomic_write
from neurobone.fit.calibrate import row_residuals
from neurobone.fit.pipeline import SHARED_WEIGHT, _flatten, output_path, shared_rows
from neurobone.fit.targets import load_targets
from neurobone.model.brainbone import HYPOTHESES

#: draws written per hypothesis
DRAWS = 400
#: a parameter whose log-scale SD exceeds this is held at its value (module docstring)
MAX_LOG_SD = 1.0
#: forward-difference step on the log scale
LOG_STEP = 1e-3


def draws_path(hypothesis: str, suffix: str) -> Path:
    return output_path(hypothesis).with_name(f"{hypothesis}-draws.{suffix}")


def step_jacobian(params: list[str], rows: list[str], values: dict[str, float],
                  hypothesis: str, table, weights) -> np.ndarray:
    """d(weighted residual)/d(log |parameter|) of ``rows`` at ``values``: one ensemble of
    ``len(params) + 1`` parameter sets."""
    sub = table[table["id"].isin(rows)].set_index("id").loc[rows].reset_index()
    sets = [dict(values)]
    for p in params:
        moved = dict(values)
        moved[p] = values[p] * float(np.exp(LOG_STEP))
        sets.append(moved)
    r = row_residuals(sets, sub, hypothesis, table, weights)
    if not np.isfinite(r).all():
        raise RuntimeError(f"{hypothesis}: a run failed while computing the Jacobian")
    return ((r[1:] - r[0]) / LOG_STEP).T


def calibration_draws(hypothesis: str, n: int = DRAWS, seed: int = 0, log=sys.stderr):
    """``(draws, provenance)``: ``draws`` maps each calibrated parameter to ``n`` values
    (module docstring); ``provenance`` is the record written beside them."""
    record = json.loads(output_path(hypothesis).read_text())
    values = _flatten(record["values"])
    table = load_targets()
    weights = {i: SHARED_WEIGHT for i in shared_rows()}
    rng = np.random.default_rng(seed)
    out = {p: np.full(n, v) for p, v in values.items()}
    steps = []
    for step in record["steps"]:
        params, rows = step["parameters"], step["rows"]
        J = step_jacobian(params, rows, values, hypothesis, table, weights)
        cov = np.linalg.pinv(J.T @ J)
        sd = np.sqrt(np.clip(np.diag(cov), 0, None))
        _, s, vt = np.linalg.svd(J)
        rank = int(np.sum(s > 1e-6 * s[0]))
        null = np.sqrt(np.sum(vt[rank:] ** 2, axis=0)) if rank < len(params) else \
            np.zeros(len(params))
        held = [p for j, p in enumerate(params) if sd[j] > MAX_LOG_SD or null[j] > 0.5]
        free = [j for j, p in enumerate(params) if p not in held]
        entry = {"step": step["step"], "parameters": params, "rows": rows,
                 "held": held, "log_sd_full": dict(zip(params, sd.tolist(), strict=True))}
        if free:
            Jf = J[:, free]
            cov_f = np.linalg.inv(Jf.T @ Jf)
            mean = np.log(np.abs([values[params[j]] for j in free]))
            z = rng.multivariate_normal(np.zeros(len(free)), cov_f, size=n)
            for k, j in enumerate(free):
                p = params[j]
                out[p] = np.sign(values[p]) * np.exp(mean[k] + z[:, k])
            entry.update({"drawn": [params[j] for j in free],
                          "log_mean": mean.tolist(), "log_cov": cov_f.tolist()})
        steps.append(entry)
        print(f"{hypothesis} {step['step']}: drawn {entry.get('drawn', [])}, held {held}",
              file=log, flush=True)
    source = output_path(hypothesis).read_bytes()
    provenance = {
        "hypothesis": hypothesis,
        "method": ("Laplace approximation of the calibration's posterior (flat prior on "
                   "log parameters) at the least-squares values; covariance inv(J'J) of "
                   "the weighted residuals of each step's rows; steps independent; "
                   f"parameters with log-scale SD above {MAX_LOG_SD} held at their "
                   "values (neurobone.fit.laplace)"),
        "draws": n, "seed": seed,
        "date": _dt.date.today().isoformat(),
        "calibration_file_sha256": hashlib.sha256(source).hexdigest(),
        "steps": steps,
    }
    return out, provenance


def write(hypothesis: str, n: int = DRAWS, seed: int = 0) -> Path:
    """Compute and write one hypothesis' draws and provenance (atomically)."""
    draws, provenance = calibration_draws(hypothesis, n, seed)
    names = list(draws)
    lines = [",".join(["draw", *names])]
    for k in range(n):
        lines.append(",".join([str(k), *(repr(float(draws[p][k])) for p in names)]))
    text = "\n".join(lines) + "\n"
    csv_path = draws_path(hypothesis, "csv")
    atomic_write(csv_path, lambda tmp: tmp.write_text(text))
    js = json.dumps(provenance, indent=1, sort_keys=True) + "\n"
    atomic_write(draws_path(hypothesis, "json"), lambda tmp: tmp.write_text(js))
    return csv_path


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or list(HYPOTHESES)
    for h in names:
        print(f"wrote {write(h)}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
