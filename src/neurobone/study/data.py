"""A lab's own measurements, analysed as a study.

:func:`analyze_data` takes a tidy table in the study data format (the report's own
``animals.csv``: one row per subject, day and output, columns ``arm, animal, day,
output, measured``; ``true`` and the change columns are ignored and recomputed) and the
study design it came from, and returns a :class:`~neurobone.study.run.StudyResult` whose
statistics, figures and report are those of a simulated study: the same analysis of
the same numbers gives the same results.

The design gives the arms (their order, the comparisons, a factorial design's levels,
pairing), the species, the primary outcome and the analysis (``change`` or
``endpoint``); the data give the subjects, the days and the outputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neurobone.errors import InputError
from neurobone.files import quoted
from neurobone.study.design import Study
from neurobone.study.run import StudyResult, _units_labels, as_study, with_changes

#: the columns a data table must have
REQUIRED = ("arm", "animal", "day", "output", "measured")


def read_data(path: str | Path) -> pd.DataFrame:
    """Read a data table (CSV) in the study data format; one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no data file {quoted(path)}")
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the data file {quoted(path)}: {exc}") from None
    return df


def check_data(df: pd.DataFrame, study: Study, source: str = "data") -> pd.DataFrame:
    """The rows of ``df`` as the study analysis needs them, or an InputError naming the
    problem: the columns of :data:`REQUIRED`; arms and outputs the design knows; finite
    days within the study; numeric measurements; one row per subject, day and output."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{source}: expected a table (pandas DataFrame)")
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}; the study data "
                         f"format has columns {', '.join(REQUIRED)}")
    if df.empty:
        raise InputError(f"{source}: the table has no rows")
    d = df[list(REQUIRED)].copy()
    d["arm"] = d["arm"].astype(str)
    d["output"] = d["output"].astype(str)
    for col in ("day", "measured"):
        num = pd.to_numeric(d[col], errors="coerce")
        bad = num.isna() & d[col].notna()
        if bad.any():
            raise InputError(f"{source}: column {col} has a value that is not a number: "
                             f"{d.loc[bad, col].iloc[0]!r} (row {int(bad.idxmax()) + 2})")
        d[col] = num.astype(float)
    if not np.isfinite(d["day"]).all():
        raise InputError(f"{source}: column day has a missing or non-finite value")
    if np.isinf(d["measured"]).any():
        raise InputError(f"{source}: column measured has an infinite value")
    if d["animal"].isna().any():
        raise InputError(f"{source}: column animal has a missing value")
    unknown = sorted(set(d["arm"]) - set(study.arm_names))
    if unknown:
        raise InputError(f"{source}: arm {unknown[0]!r} is not in the design; arms: "
                         f"{', '.join(study.arm_names)}")
    absent = [a for a in study.arm_names if a not in set(d["arm"])]
    if absent:
        raise InputError(f"{source}: no rows for arm {absent[0]!r} of the design")
    valid = list(study.model.outputs)
    bad_out = [o for o in dict.fromkeys(d["output"]) if o not in valid]
    if bad_out:
        raise InputError(f"{source}: unknown output {bad_out[0]!r}; valid: {', '.join(valid)}")
    if study.primary not in set(d["output"]):
        raise InputError(f"{source}: no rows for the primary outcome {study.primary!r}")
    if (d["day"] < 0).any() or (d["day"] > study.duration_days).any():
        raise InputError(f"{source}: days must lie within the study (0 to "
                         f"{study.duration_days:g}); got {d['day'].min():g} to "
                         f"{d['day'].max():g}")
    dup = d.duplicated(["arm", "animal", "day", "output"])
    if dup.any():
        r = d[dup].iloc[0]
        raise InputError(f"{source}: two rows for arm {r['arm']!r}, animal {r['animal']!r}, "
                         f"day {r['day']:g}, output {r['output']!r}")
    small = d.groupby("arm")["animal"].nunique()
    if (small < 2).any():
        raise InputError(f"{source}: arm {small[small < 2].index[0]!r} has fewer than two "
                         "subjects")
    return d


def analyze_data(data: pd.DataFrame | str | Path, design: Study | dict | str | Path,
                 day: float | None = None) -> StudyResult:
    """Analyse a lab's measurements (a table or a CSV path in the study data format)
    with the study ``design``: a :class:`StudyResult` with the study's statistics,
    figures and report. ``day`` is the day compared (default: the design's ``day``, else
    the last measured day)."""
    study = as_study(design)
    source = str(data) if isinstance(data, (str, Path)) else "data"
    df = read_data(data) if isinstance(data, (str, Path)) else data
    d = check_data(df, study, source)
    outputs = list(dict.fromkeys([study.primary, *d["output"]]))
    days = sorted(set(d["day"]))
    n = int(d.groupby("arm")["animal"].nunique().max())
    spec = study.model_dump()
    spec.update(outputs=outputs, measurement_days=days, n_per_arm=max(n, 2), day=None,
                measurement={k: v for k, v in study.measurement.items() if k in outputs})
    spec["mediators"] = ([m for m in study.mediators if m in outputs]
                         if study.mediators is not None else None)
    from neurobone.study.design import parse_study

    s = parse_study(spec, source=study._source)
    if day is not None or study.day is not None:
        s = s.with_options(day=day if day is not None else study.day)
    # the arms in the design's order, days ascending (as a simulated study's table)
    d["arm"] = pd.Categorical(d["arm"], categories=s.arm_names, ordered=True)
    d["output"] = pd.Categorical(d["output"], categories=outputs, ordered=True)
    d = d.sort_values(["output", "arm", "animal", "day"], kind="stable")
    d["arm"] = d["arm"].astype(str)
    d["output"] = d["output"].astype(str)
    animals = with_changes(d.reset_index(drop=True))
    units, labels = _units_labels(s.model, outputs)
    counts = d.groupby("arm")["animal"].nunique()
    notes = [f"measured data from {source}: {len(d)} measurements of "
             f"{int(counts.sum())} subjects ({', '.join(f'{a} {counts[a]}' for a in s.arm_names)})"]
    if s.paired:
        ids = [set(d.loc[d["arm"] == a, "animal"]) for a in s.arm_names]
        if any(x != ids[0] for x in ids):
            notes.append("paired design: only the subjects present in both arms of a "
                         "comparison are compared")
    return StudyResult(s, animals, pd.DataFrame(), {}, [], units, labels, None,
                       solver="none (measured data)", notes=notes, source="data")
