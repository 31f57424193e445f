"""Beta-blockers: a daily dose -> the occupancy of beta1 and beta2 adrenergic receptors.

The data (affinities, pharmacokinetics, doses, each value with its source or the word
"assumed" and a reason) are in ``data/beta_blockers.csv``, one row per drug and species;
docs/model.md ("Beta-blockers") has the table. Occupancy follows the free-drug
hypothesis for a competitive antagonist at equilibrium:

    occ_i = C / (C + Kd_i)            C: average unbound steady-state plasma concentration

and C is proportional to the daily dose (linear kinetics), so each receptor has a dose
``d50_i`` that occupies half of it and ``occ_i = dose / (dose + d50_i)``. The row's
``method`` says how ``d50_i`` is found:

``pk``
    ``C = fu * F * dose_rate / CL`` (``clearance_kind`` ``total``) or ``dose_rate / CLu``
    (``unbound_oral``: an unbound oral clearance, first pass and binding included), with
    ``Kd_i = 10^-pKd_i``. Per-kilogram human clearances are multiplied by
    :data:`HUMAN_BODY_WEIGHT_KG`.
``equipotent``
    beta1 potency from an in vivo comparison with a reference drug of the same species
    (``reference_mg_per_mg`` mg of it block beta1 like 1 mg of this drug); beta2 from the
    drug's ``Kd(beta2)/Kd(beta1)`` ratio at the same concentration.
``bsa``
    no rodent data: the rodent dose (mg/kg/day) is turned into a human-equivalent dose
    by body-surface-area scaling (:data:`KM`) and the human relation is used (assumed).

Humans take doses in mg/day, mice and rats in mg/kg/day. The average concentration
ignores the peaks and troughs of once- or twice-daily dosing, and the rodent propranolol
half-life is about an hour (Smits 1979), so a daily injection gives brief high
occupancy rather than the average: the rodent values are the coarsest here.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from neurobone.errors import InputError

#: human body weight for per-kilogram clearances and human-equivalent doses (assumed)
HUMAN_BODY_WEIGHT_KG = 70.0
#: body-weight / body-surface-area factors for dose scaling between species
#: (Reagan-Shaw et al. 2008, FASEB J 22:659, doi 10.1096/fj.07-9574LSF, after the FDA
#: 2005 guidance)
KM = {"human": 37.0, "rat": 6.0, "mouse": 3.0}
#: species and the dose unit each takes
SPECIES = {"human": "dose_mg_per_day", "mouse": "dose_mg_per_kg_per_day",
           "rat": "dose_mg_per_kg_per_day"}
UNIT = {"dose_mg_per_day": "mg/day", "dose_mg_per_kg_per_day": "mg/kg/day"}
_PLURAL = {"human": "humans", "mouse": "mice", "rat": "rats"}
_MIN_PER_DAY = 1440.0
_METHODS = ("pk", "equipotent", "bsa")


@dataclass(frozen=True)
class Potency:
    """The doses that occupy half of the beta1 and beta2 receptors (in the species'
    unit: mg/day for humans, mg/kg/day for rodents), and how they were found."""

    drug: str
    species: str
    d50_b1: float
    d50_b2: float
    method: str

    def occupancy(self, dose: float) -> tuple[float, float]:
        return _hyperbola(dose, self.d50_b1), _hyperbola(dose, self.d50_b2)


def _hyperbola(dose: float, d50: float) -> float:
    if dose == 0.0:
        return 0.0
    if math.isinf(d50):
        return 0.0
    return dose / (dose + d50)


@lru_cache(maxsize=1)
def table() -> tuple[dict, ...]:
    """The rows of ``data/beta_blockers.csv`` as dictionaries of strings."""
    with resources.files("neurobone.data").joinpath("beta_blockers.csv").open(
            newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def drugs() -> tuple[str, ...]:
    """The drug names, sorted."""
    return tuple(sorted({r["drug"] for r in table()}))


#: the drug names (for the scenario schema)
DRUGS = drugs()


def _row(drug: str, species: str) -> dict:
    check_drug(drug)
    check_species(species)
    for r in table():
        if r["drug"] == drug and r["species"] == species:
            return r
    raise InputError(f"no {species} data for {drug}")  # pragma: no cover - table is complete


def check_drug(drug) -> str:
    """``drug`` when it is a known beta-blocker, else a one-line InputError."""
    if not isinstance(drug, str) or drug not in DRUGS:
        raise InputError(f"unknown beta-blocker {drug!r}; valid: {', '.join(DRUGS)}")
    return drug


def check_species(species) -> str:
    if not isinstance(species, str) or species not in SPECIES:
        raise InputError(f"unknown species {species!r} for a beta-blocker dose; valid: "
                         f"{', '.join(SPECIES)}")
    return species


def _num(r: dict, key: str) -> float:
    text = (r.get(key) or "").strip()
    if not text:
        raise InputError(f"beta_blockers.csv: {r['drug']} ({r['species']}) has no {key}")
    return float(text)


def _unbound_nM_per_dose(r: dict) -> float:
    """Average unbound concentration (nM) per unit daily dose of a ``pk`` row."""
    cl = _num(r, "clearance") / 1000.0  # L/min (per kg where the unit says so)
    unit = r["clearance_unit"]
    if r["species"] == "human" and unit == "mL/min/kg":
        cl *= HUMAN_BODY_WEIGHT_KG
    elif unit not in ("mL/min", "mL/min/kg"):
        raise InputError(f"beta_blockers.csv: unknown clearance unit {unit!r}")
    if r["clearance_kind"] == "unbound_oral":
        exposure = 1.0
    elif r["clearance_kind"] == "total":
        exposure = _num(r, "fu") * _num(r, "bioavailability")
    else:
        raise InputError(f"beta_blockers.csv: unknown clearance kind {r['clearance_kind']!r}")
    mg_per_l = exposure / (cl * _MIN_PER_DAY)  # per mg/day (or mg/kg/day with L/min/kg)
    return mg_per_l * 1e6 / _num(r, "mw_g_per_mol")


def _kd_nM(r: dict, receptor: str) -> float:
    return 10.0 ** (9.0 - _num(r, f"pkd_{receptor}"))


@lru_cache(maxsize=None)
def potency(drug: str, species: str = "human") -> Potency:
    """The half-occupancy doses of ``drug`` in ``species`` (module docstring)."""
    r = _row(drug, species)
    method = r["method"]
    if method == "pk":
        c = _unbound_nM_per_dose(r)
        d1, d2 = _kd_nM(r, "b1") / c, _kd_nM(r, "b2") / c
    elif method == "equipotent":
        ref = potency(r["reference_drug"], species)
        d1 = ref.d50_b1 / _num(r, "reference_mg_per_mg")
        d2 = d1 * _num(r, "kd_ratio_b2_b1")
    elif method == "bsa":
        human = potency(drug, "human")
        per_kg = human_equivalent_factor(species)  # mg/day (human) per mg/kg/day
        d1, d2 = human.d50_b1 / per_kg, human.d50_b2 / per_kg
    else:
        raise InputError(f"beta_blockers.csv: unknown method {method!r}; valid: "
                         f"{', '.join(_METHODS)}")
    return Potency(drug, species, d1, d2, method)


def human_equivalent_factor(species: str) -> float:
    """Human mg/day equivalent to 1 mg/kg/day in ``species`` by body-surface-area
    scaling (``KM``) for a human of :data:`HUMAN_BODY_WEIGHT_KG`."""
    check_species(species)
    return KM[species] / KM["human"] * HUMAN_BODY_WEIGHT_KG


def default_dose(drug: str, species: str = "human") -> float:
    """The drug's usual daily dose in ``species``: mg/day for humans (Khosla et al.
    2018's doses), mg/kg/day for rodents (propranolol: Bonnet et al. 2006-2008's
    0.1 mg/kg/day; others scaled from the human dose by body surface area, assumed)."""
    r = _row(drug, species)
    if (r["default_dose"] or "").strip():
        return _num(r, "default_dose")
    return default_dose(drug, "human") / human_equivalent_factor(species)


def dose_unit(species: str) -> str:
    """The name of the dose field ``species`` takes (``dose_mg_per_day`` for humans,
    ``dose_mg_per_kg_per_day`` for rodents)."""
    return SPECIES[check_species(species)]


def check_dose(value, name: str = "dose") -> float:
    """``value`` as a float when it is a finite number >= 0, else a one-line InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise InputError(f"{name} must be a finite number >= 0, got {v!r}")
    return v


def species_dose(species: str, dose_mg_per_day=None, dose_mg_per_kg_per_day=None) -> float:
    """The one dose given, in the unit ``species`` takes, checked (one-line InputError
    when both, neither or the other species' unit is given, or the value is not a
    finite number >= 0)."""
    check_species(species)
    given = {k: v for k, v in (("dose_mg_per_day", dose_mg_per_day),
                               ("dose_mg_per_kg_per_day", dose_mg_per_kg_per_day))
             if v is not None}
    want = SPECIES[species]
    if len(given) == 2:
        raise InputError("give dose_mg_per_day or dose_mg_per_kg_per_day, not both "
                         f"({_PLURAL[species]} take {want})")
    if not given:
        raise InputError(f"no dose given: {_PLURAL[species]} take {want} ({UNIT[want]})")
    (name, value), = given.items()
    if name != want:
        raise InputError(f"{_PLURAL[species]} take {want} ({UNIT[want]}), not {name}")
    return check_dose(value, name)


def occupancy(drug: str, dose_mg_per_day: float | None = None,
              dose_mg_per_kg_per_day: float | None = None,
              species: str = "human") -> tuple[float, float]:
    """(beta1, beta2) receptor occupancy, 0-1, of ``drug`` at a daily dose: mg/day for
    humans, mg/kg/day for mice and rats (module docstring)."""
    check_drug(drug)
    dose = species_dose(species, dose_mg_per_day, dose_mg_per_kg_per_day)
    return potency(drug, species).occupancy(dose)


def dose_for_occupancy(drug: str, target: float, species: str = "human") -> float:
    """The daily dose at which the drug's larger receptor occupancy equals ``target``
    (0-1; ``inf`` for 1)."""
    p = potency(check_drug(drug), species)
    t = float(target)
    if not 0.0 <= t <= 1.0 or math.isnan(t):
        raise InputError(f"occupancy must be between 0 and 1, got {target!r}")
    if t == 1.0:
        return math.inf
    return t / (1.0 - t) * min(p.d50_b1, p.d50_b2)


def occupancy_at_max(drug: str, target: float, species: str = "human") -> tuple[float, float]:
    """(beta1, beta2) occupancy of ``drug`` at the dose whose larger occupancy is
    ``target``: the other receptor follows from the drug's selectivity."""
    dose = dose_for_occupancy(drug, target, species)
    if math.isinf(dose):
        return 1.0, 1.0
    return potency(drug, species).occupancy(dose)
