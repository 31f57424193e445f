"""Run every built-in virtual trial and write the drugs' calibration/validation table.

The table is :func:`neurobone.study.trial.validation_table` (each published figure beside
the simulated value and its 95 % confidence interval, ``role`` calibration or validation)
and a summary of how many rows of each role hold the published value inside the
simulated interval. ``--csv`` writes the table, ``--markdown`` the table and summary as
Markdown (docs/trials.md quotes it); both atomically.

    PYTHONPATH=src python scripts/trial_validation.py [--n 30] [--seed 1] \
        [--csv table.csv] [--markdown table.md]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from neurobone.atomic import atomic_write
from neurobone.study.trial import validation_markdown, validation_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=None, help="women per arm (default: each trial's)")
    ap.add_argument("--seed", type=int, default=None, help="seed (default: each trial's)")
    ap.add_argument("--csv", type=Path, default=None)
    ap.add_argument("--markdown", type=Path, default=None)
    args = ap.parse_args()
    df = validation_table(args.n, args.seed)
    md = validation_markdown(df)
    print(md)
    if args.csv:
        atomic_write(str(args.csv), lambda tmp: df.to_csv(tmp, index=False))
    if args.markdown:
        atomic_write(str(args.markdown), lambda tmp: tmp.write_text(md + "\n", encoding="utf-8"))


if __name__ == "__main__":
    main()
