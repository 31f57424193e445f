"""Drug regimens -> timed overrides of each drug's input rate.

A regimen entry (the scenario's ``drugs:`` list, read by attribute) gives a drug, a dose
in mg, an interval, a window ``[start_day, end_day)``, doses to miss (``skip``), an
adherence (each dose taken with that probability, drawn from ``seed``: the same file
gives the same doses) and a ``mode``:

``bolus`` (default)
    each dose is the input rate ``dose / window`` over the drug's input window at the
    dose day (``window`` in ``data/drug_pk.csv``): a schedule row, so the engines stop
    exactly at its start and end and the amount delivered is the dose (times the
    bioavailability, in the model) to the solver's tolerance;
``continuous``
    the same dose per interval infused at a constant rate over the whole window (for
    teriparatide: continuous PTH exposure, the catabolic control).

Several entries of one drug are dose changes and sequences: their windows must not
overlap (contradictory entries are an error naming both). Nor may the windows of the
two PTH1 receptor agonists (teriparatide, abaloparatide): one may follow the other.

In a cohort each subject draws her own doses (``key``: the cohort's seed and the
subject's index join the entry's ``seed``), so adherence differs between subjects and
each subject's draw is reproducible whatever the chunking (:func:`drawn`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from neurobone.errors import InputError
from neurobone.model.components import pharmacology
from neurobone.model.timed import Override

#: the drugs a regimen may name
DRUGS = tuple(pharmacology.PREFIX)
#: the drugs labelled to treat osteoporosis (a prescription's ``drug: any`` tries these;
#: estradiol prevents bone loss and beta-blockers treat the heart)
OSTEOPOROSIS = ("denosumab", "zoledronate", "alendronate", "teriparatide", "romosozumab",
                "abaloparatide")
MODES = ("bolus", "continuous")


def check_drug(name) -> str:
    if not isinstance(name, str) or name not in DRUGS:
        raise InputError(f"unknown drug {name!r}; valid: {', '.join(DRUGS)}")
    return name


def dose_range(drug: str) -> tuple[float, float]:
    """The doses (mg) accepted for ``drug``: the range its sources studied."""
    return (pharmacology.value(drug, "dose_min"), pharmacology.value(drug, "dose_max"))


def default_dose(drug: str) -> float:
    return pharmacology.value(drug, "dose_default")


def default_interval(drug: str) -> float:
    return pharmacology.value(drug, "every_default")


def _get(entry, name, default=None):
    v = getattr(entry, name, None)
    return default if v is None else v


def dose_days(entry, duration: float) -> list[float]:
    """The days the entry's doses are due (before skips and adherence)."""
    drug = entry.name
    every = float(_get(entry, "every_days", default_interval(drug)))
    start = float(_get(entry, "start_day", 0.0))
    end = float(_get(entry, "end_day", duration))
    n = max(int(math.ceil((end - start) / every - 1e-9)), 0)
    return [start + k * every for k in range(n)]


def drawn(entry) -> bool:
    """Whether the entry's doses are drawn (bolus doses at an adherence below 1)."""
    return (_get(entry, "mode", "bolus") == "bolus"
            and float(_get(entry, "adherence", 1.0)) < 1.0)


def taken_days(i: int, entry, duration: float, key: Sequence[int] = ()) -> list[float]:
    """The days the entry's doses are taken: due, not skipped, and drawn taken at the
    entry's adherence (from the entry's ``seed``, followed by ``key`` when given: a
    cohort's seed and the subject's index)."""
    due = dose_days(entry, duration)
    skip = [float(s) for s in (_get(entry, "skip", ()) or ())]
    for s in skip:
        if not any(abs(s - d) < 1e-9 for d in due):
            near = ", ".join(f"{d:g}" for d in due[:6]) + (" ..." if len(due) > 6 else "")
            raise InputError(f"drugs[{i}].skip: day {s:g} is not a dose day of "
                             f"{entry.name}; dose days: {near or 'none'}")
    days = [d for d in due if not any(abs(s - d) < 1e-9 for s in skip)]
    adherence = float(_get(entry, "adherence", 1.0))
    if adherence < 1.0:
        seed = int(_get(entry, "seed", 0))
        rng = np.random.default_rng([seed, *(int(k) for k in key)] if key else seed)
        taken = rng.random(len(days)) < adherence
        days = [d for d, t in zip(days, taken, strict=True) if t]
    return days


def max_rate(drug: str) -> float:
    """The highest exposure accepted, mg/day: the drug's ``rate_max`` row where a label
    gives a more frequent regimen than the osteoporosis one (alendronate for Paget's
    disease, zoledronate for bone metastases), else the highest studied dose at the
    labelled (or usual) interval. A dose in range given more often is out of range."""
    if any(r["drug"] == drug and r["parameter"] == "rate_max" for r in pharmacology.table()):
        return pharmacology.value(drug, "rate_max")
    return dose_range(drug)[1] / default_interval(drug)


def check_entry(i: int, entry, duration: float) -> None:
    """A one-line InputError naming the field and the valid choices for a bad entry."""
    try:
        drug = check_drug(entry.name)
    except InputError as exc:
        raise InputError(f"drugs[{i}].name: {exc}") from None
    dose = float(_get(entry, "dose_mg", default_dose(drug)))
    lo, hi = dose_range(drug)
    if not lo <= dose <= hi:
        raise InputError(f"drugs[{i}].dose_mg: {dose:g} mg of {drug} is outside the "
                         f"studied range {lo:g}-{hi:g} mg (labelled dose "
                         f"{default_dose(drug):g} mg)")
    mode = _get(entry, "mode", "bolus")
    if mode not in MODES:
        raise InputError(f"drugs[{i}].mode: unknown mode {mode!r}; valid: {', '.join(MODES)}")
    every = float(_get(entry, "every_days", default_interval(drug)))
    window = pharmacology.value(drug, "window")
    if every < window:
        raise InputError(f"drugs[{i}].every_days: {every:g} must be at least the "
                         f"{drug} input window ({window:g} days)")
    cap = max_rate(drug)
    if dose / every > cap * (1 + 1e-9):
        raise InputError(f"drugs[{i}].every_days: {dose:g} mg of {drug} every {every:g} days "
                         f"is {dose / every:.3g} mg/day, above the highest exposure accepted "
                         f"({cap:.3g} mg/day); give every_days of at least {dose / cap:.3g}")
    start = float(_get(entry, "start_day", 0.0))
    end = float(_get(entry, "end_day", duration))
    if end <= start:
        raise InputError(f"drugs[{i}]: end_day {end:g} must be after start_day {start:g}")


def _group(drug: str) -> str:
    """Entries of one group may not overlap: one drug, or the PTH1 receptor agonists."""
    return "PTH1R" if drug in pharmacology.PTH1R_AGONISTS else drug


def check_entries(entries: Sequence, duration: float) -> None:
    """Every entry checked (:func:`check_entry`), and no two windows of one drug, or of
    the two PTH1 receptor agonists, overlapping."""
    spans: dict[str, list[tuple[int, str, float, float]]] = {}
    for i, e in enumerate(entries):
        check_entry(i, e, duration)
        drug = e.name
        start = float(_get(e, "start_day", 0.0))
        end = float(_get(e, "end_day", duration))
        for j, other, a, b in spans.get(_group(drug), []):
            if start < b and a < end:
                if other != drug:
                    raise InputError(
                        f"drugs[{i}]: {drug} from day {start:g} to {end:g} overlaps {other} "
                        f"in drugs[{j}] (day {a:g} to {b:g}); both act on the PTH1 receptor: "
                        "give them in sequence (end_day of one = start_day of the next)")
                raise InputError(f"drugs[{i}]: {drug} from day {start:g} to {end:g} overlaps "
                                 f"drugs[{j}] (day {a:g} to {b:g}); give each dose change "
                                 "its own window (end_day of one = start_day of the next)")
        spans.setdefault(_group(drug), []).append((i, drug, start, end))


def dosing_rows(entries: Sequence, duration: float, key: Sequence[int] = (),
                only: bool | None = None) -> list[Override]:
    """The overrides of every regimen entry (module docstring). ``key`` extends the
    adherence draws' seed (a cohort subject's own draw); ``only`` keeps the entries
    whose doses are drawn (True) or those whose are not (False); every entry is checked
    either way."""
    check_entries(entries, duration)
    out: list[Override] = []
    for i, e in enumerate(entries):
        if only is not None and drawn(e) != only:
            continue
        drug = e.name
        start = float(_get(e, "start_day", 0.0))
        end = float(_get(e, "end_day", duration))
        name = f"{pharmacology.PREFIX[drug]}_in"
        dose = float(_get(e, "dose_mg", default_dose(drug)))
        every = float(_get(e, "every_days", default_interval(drug)))
        if _get(e, "mode", "bolus") == "continuous":
            if end > start:
                out.append(Override(name, dose / every, start, end))
            continue
        window = pharmacology.value(drug, "window")
        out += [Override(name, dose / window, d, d + window)
                for d in taken_days(i, e, duration, key)]
    return out
