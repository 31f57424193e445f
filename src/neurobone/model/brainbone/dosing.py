"""Exercise sessions -> the model's daily inputs ``ex_load_ax``, ``ex_load_ap`` and
``ex_central``.

Each modality has a row in ``data/modalities.csv`` (species, peak load relative to body
weight or to habitual activity, loading cycles, central drive, sources). A session
becomes:

- an osteogenic load index after Turner & Robling (2003, Exerc Sport Sci Rev 31:45):
  magnitude dominates (rule 1 of Turner 1998) and cycles saturate within a bout
  (rule 2: a few dozen cycles give most of the response; Rubin & Lanyon 1984, J Bone
  Joint Surg Am 66:397; Umemura et al. 1997, J Bone Miner Res 12:1480):

      ex_load = max((peak/habitual)^m - 1, 0) * (1 - exp(-cycles / N_sat))

  with m = 2 (strain-energy density grows with strain squared) and N_sat = 40 cycles;
  loads at or below the habitual peak (ordinary walking) add nothing; each region gets
  its share of it (``site_ax``, ``site_ap``: how much the modality loads the spine and
  the hip or hindlimb);
- a central drive that saturates with minutes (the circuit stays active about an hour
  after a run, Kindel 2026, so a longer session adds little):

      ex_central = drive * (1 - exp(-minutes / tau_session))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from neurobone.errors import InputError

#: exponent of load magnitude (strain energy ~ strain^2)
M_EXP = 2.0
#: cycles over which a bout's response saturates (Rubin & Lanyon 1984: 36 cycles a day
#: maintain bone; Umemura 1997: 5 jumps a day gave most of the gain of 40)
N_SAT = 40.0
#: minutes over which a session's central drive saturates
TAU_SESSION = 20.0
#: the sensible range of each modality's intensity field (in its unit); a value outside
#: is an input error, not an extrapolation of the load and drive lines of modalities.csv.
#: Assumed, generous bounds: above what the animals or people can do, not a
#: recommendation.
INTENSITY_RANGE = {
    # mice: incremental treadmill tests of C57BL/6 end at about 30-45 m/min; voluntary
    # wheel running reaches about 10-15 km a night (modalities.csv: De Bono et al. 2006)
    "treadmill": (0.0, 50.0),
    "wheel": (0.0, 20.0),
    # humans: walking turns into running at about 7-8 km/h; the fastest sprint reaches
    # about 45 km/h
    "walking": (0.0, 10.0),
    "running": (0.0, 45.0),
    "jumping": (0.0, 500.0),
    # 100 % of the one-repetition maximum by definition
    "resistance": (0.0, 100.0),
    "hiit_resistance_impact": (0.0, 100.0),
    "swimming": (0.0, 1.0),
    "cycling": (0.0, 1.0),
}


@lru_cache(maxsize=1)
def modality_table() -> pd.DataFrame:
    """The modality table shipped with the package (with sources)."""
    with resources.files("neurobone.data").joinpath("modalities.csv").open() as fh:
        return pd.read_csv(fh)


def modalities(species: str) -> list[str]:
    t = modality_table()
    return list(t.loc[t.species == species, "modality"])


def intensity_field(species: str, modality: str) -> str:
    return str(_row(species, modality)["intensity_field"])


def intensity_range(species: str, modality: str) -> tuple[float, float]:
    """The sensible range of the modality's intensity field (:data:`INTENSITY_RANGE`)."""
    _row(species, modality)  # an unknown modality: the valid ones
    return INTENSITY_RANGE[modality]


def check_intensity(species: str, modality: str, value) -> float:
    """``value`` of the modality's intensity field as a float, or :class:`InputError`
    saying what is wrong: not a number (booleans are not numbers), not finite, or outside
    the modality's sensible range."""
    name = intensity_field(species, modality)
    lo, hi = intensity_range(species, modality)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}")
    try:
        x = float(value)
    except ValueError:
        raise InputError(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}"
                         ) from None
    if not math.isfinite(x):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    if not lo <= x <= hi:
        raise InputError(f"{name} must be within {lo:g}..{hi:g} for {modality} (the "
                         f"modality's sensible range), got {x:g}")
    return x


@lru_cache(maxsize=None)
def _row(species: str, modality: str) -> pd.Series:
    """The modality's row of the table (cached: every subject of a batch asks, and the
    table is read-only; callers must not change it)."""
    t = modality_table()
    rows = t[(t.species == species) & (t.modality == modality)]
    if rows.empty:
        raise InputError(
            f"unknown {species} exercise modality {modality!r}; "
            f"valid: {', '.join(modalities(species))}"
        )
    return rows.iloc[0]


@dataclass(frozen=True)
class SessionDose:
    """The two daily inputs one session gives."""

    load: float
    central: float
    peak: float
    cycles: float
    load_ax: float
    load_ap: float


def session_dose(species: str, modality: str, minutes: float,
                 intensity: float | None = None) -> SessionDose:
    """Osteogenic load index and central drive of one session.

    ``intensity`` is in the modality's own field (see ``intensity_field``), defaulting
    to the table's reference intensity.
    """
    r = _row(species, modality)
    if isinstance(minutes, bool) or not (isinstance(minutes, (int, float))
                                         and math.isfinite(minutes) and minutes > 0):
        raise InputError(f"{modality}: minutes must be a positive number, got {minutes!r}")
    ref = float(r.reference_intensity)
    x = ref if intensity is None else check_intensity(species, modality, intensity)
    peak = float(r.peak_load) + float(r.load_per_intensity) * (x - ref)
    if r.bout_cycles > 0:
        # discrete repetitions: the intensity field is the count for jumps, %1RM otherwise
        cycles = x if r.intensity_field == "jumps_per_session" else float(r.bout_cycles)
    else:
        cycles = float(r.cycles_per_min) * minutes
    rel = max(peak, 0.0) / float(r.habitual_load)
    magnitude = max(rel**M_EXP - 1.0, 0.0)
    load = magnitude * (1.0 - math.exp(-cycles / N_SAT))
    drive = float(r.central_drive) + float(r.central_per_intensity) * (x - ref)
    central = min(max(drive, 0.0), 1.0) * (1.0 - math.exp(-minutes / TAU_SESSION))
    return SessionDose(load=load, central=central, peak=peak, cycles=cycles,
                       load_ax=load * float(r.site_ax), load_ap=load * float(r.site_ap))


def spread_weekdays(days_per_week: int) -> tuple[int, ...]:
    """Training days: 5 or more run from day 0 (weekdays, weekend off); fewer are spread
    evenly over the week (3 -> days 0, 2, 4)."""
    if not 1 <= days_per_week <= 7:
        raise InputError(f"days_per_week must be 1-7, got {days_per_week}")
    if days_per_week >= 5:
        return tuple(range(days_per_week))
    return tuple(sorted({int(math.floor(i * 7 / days_per_week)) for i in range(days_per_week)}))
