"""Calibrate the drug PD parameters to their pivotal trials' lumbar spine aBMD gain.

Each target is one PD parameter of ``data/drug_pk.csv`` fitted (Brent's method on its
logarithm) so that the drug raises lumbar spine aBMD by the trial's figure more than
placebo at the trial's time, in one simulated woman standing for the trial's
population (70 years old, lumbar spine T-score -2.5: near the means of FREEDOM,
HORIZON-PFT, Neer 2001, FRAME and ACTIVE, a simplification; ULTRA's women, aged 60-80
with Z-scores above -2, had better bones). ``--check`` prints the figures not fitted
(ACTIVE's teriparatide arm) beside the simulated ones. ``--only DRUG`` fits one drug;
``--write`` puts the fitted values into ``data/drug_pk.csv`` (atomically); without it
the values are only printed.

    PYTHONPATH=src python scripts/calibrate_drugs.py [--only DRUG] [--write]
"""

from __future__ import annotations

import argparse
import csv
import io
import math
from importlib import resources

from scipy.optimize import brentq

from neurobone.atomic import atomic_write
from neurobone.model.components.pharmacology import PREFIX, value
from neurobone.scenario.run import run_scenario

SUBJECT = {"sex": "female", "age_years": 70, "t_score_spine": -2.5}
#: (drug, parameter, regimen, day, target % above placebo, bracket of the parameter)
TARGETS = (
    ("denosumab", "K", {"dose_mg": 60, "every_days": 182}, 1095, 9.2, (1e-4, 1.0)),
    ("zoledronate", "e", {"dose_mg": 5, "every_days": 365}, 1095, 7.0, (1e-3, 100.0)),
    ("teriparatide", "a", {"dose_mg": 0.02, "every_days": 1}, 639, 9.0, (1.0, 2000.0)),
    ("romosozumab", "K", {"dose_mg": 210, "every_days": 30}, 365, 13.0, (0.3, 100.0)),
    # ACTIVE (Miller et al. 2016, JAMA 316:722): 11.2 % vs 0.6 % with placebo at 18 months
    ("abaloparatide", "K", {"dose_mg": 0.08, "every_days": 1}, 548, 10.6, (5.0, 5000.0)),
    # ULTRA (Ettinger et al. 2004, Obstet Gynecol 104:443): 0.014 mg/day transdermal,
    # 2.6 % vs 0.6 % with placebo at 2 years (a patch delivers continuously)
    ("estradiol", "E2ref", {"dose_mg": 0.014, "every_days": 1, "mode": "continuous"}, 730,
     2.0, (8.0, 2000.0)),
)
#: figures not fitted, printed beside the simulated value (out of sample)
CHECKS = (
    # ACTIVE's teriparatide arm: 10.5 % vs 0.6 % with placebo at 18 months (Miller 2016)
    ("teriparatide", {"dose_mg": 0.02, "every_days": 1}, 548, 9.9),
)


def gain(drug: str, parameter: str, x: float, regimen: dict, day: int) -> float:
    """Lumbar spine aBMD, percent above placebo at ``day``, with the parameter at ``x``."""
    base = {"species": "human", "subject": SUBJECT, "duration_days": day + 1,
            "outputs": ["abmd_ls"]}
    placebo = run_scenario(base)["abmd_ls"]
    treated = run_scenario({**base, "drugs": [{"name": drug, **regimen}],
                            "parameters": {f"{PREFIX[drug]}_{parameter}": x}})["abmd_ls"]
    return 100.0 * (treated[day] / treated[0] - placebo[day] / placebo[0])


def check() -> None:
    """Print the figures not fitted (:data:`CHECKS`) beside the simulated value."""
    for drug, regimen, day, published in CHECKS:
        base = {"species": "human", "subject": SUBJECT, "duration_days": day + 1,
                "outputs": ["abmd_ls"]}
        placebo = run_scenario(base)["abmd_ls"]
        treated = run_scenario({**base, "drugs": [{"name": drug, **regimen}]})["abmd_ls"]
        g = 100.0 * (treated[day] / treated[0] - placebo[day] / placebo[0])
        print(f"check (not fitted): {drug} day {day}: {g:+.2f} % above placebo "
              f"(published {published:+.1f})", flush=True)


def calibrate(only: str | None = None) -> dict[tuple[str, str], float]:
    fitted = {}
    for drug, parameter, regimen, day, target, (lo, hi) in TARGETS:
        if only and drug != only:
            continue
        def f(logx, drug=drug, parameter=parameter, regimen=regimen, day=day, target=target):
            g = gain(drug, parameter, math.exp(logx), regimen, day)
            print(f"  {drug} {parameter}={math.exp(logx):.5g}: {g:+.2f} % (target {target:+.1f})",
                  flush=True)
            return g - target
        x = math.exp(brentq(f, math.log(lo), math.log(hi), xtol=1e-3, rtol=1e-3))
        fitted[(drug, parameter)] = x
        print(f"{drug} {parameter} = {x:.4g} (was {value(drug, parameter):.4g})", flush=True)
    return fitted


def write(fitted: dict[tuple[str, str], float]) -> None:
    path = resources.files("neurobone.data").joinpath("drug_pk.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows, fields = list(reader), reader.fieldnames
    for r in rows:
        if (r["drug"], r["parameter"]) in fitted:
            r["value"] = f"{fitted[(r['drug'], r['parameter'])]:.4g}"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write(str(path), lambda tmp: tmp.write_text(buf.getvalue(), encoding="utf-8"))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write the values to drug_pk.csv")
    ap.add_argument("--only", choices=[t[0] for t in TARGETS], help="fit this drug only")
    ap.add_argument("--check", action="store_true",
                    help="print the figures not fitted beside the simulated values")
    args = ap.parse_args()
    if args.check:
        check()
        raise SystemExit(0)
    fitted = calibrate(args.only)
    if args.write:
        write(fitted)
