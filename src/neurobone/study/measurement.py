"""Instrument error: what the experimenter measures, given the model's true value.

Each output that a study measures has an :class:`Instrument` with its precision as a
parameter (value, unit, source). Two error models:

* ``lognormal``: multiplicative noise, ``measured = true * exp(sigma*z - sigma^2/2)``
  with ``sigma^2 = ln(1 + cv^2)``: the coefficient of variation of repeated measurements
  is ``cv`` and the instrument is unbiased (mean-preserving: the mean of repeated
  measurements is the true value). Used for scanners, densitometers and assays, whose
  precision is reported as a CV.
* ``poisson``: counting noise of imaged synapses. Connectivity is relative to the
  sedentary baseline; an animal whose true connectivity is ``c`` has
  ``Poisson(counts * c)`` synapses counted, and the measured connectivity is that count
  divided by ``counts`` (the expected count at baseline). The CV is ``1/sqrt(counts*c)``.

Each measurement (subject, output, day) is an independent draw: repeated scans have
independent precision errors. A study file can change any instrument's CV, or give one
to an output without a default instrument, with ``measurement: {output: cv}``; a CV of 0
switches the error off. Outputs without an instrument are reported as the model's value.

Some outputs also vary between subjects in ways the model does not carry: serum marker
concentrations differ between healthy people several-fold while the model gives every
subject at homeostasis the same value. :data:`BETWEEN_SUBJECT` gives such an output a
between-subject biological CV: each subject's value is the model's times its own
log-normal set-point factor (median 1), constant over the study. It cancels in a
subject's percent change from baseline, but not between subjects on one day, so
endpoint comparisons of markers are not over-powered by assay error alone. A study
changes these CVs with ``between_subject: {output: cv}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

#: error models
KINDS = ("lognormal", "poisson")

_MICROCT = ("in vivo micro-CT short-term precision of trabecular BV/TV and related indices "
            "0.85-2.65 % (Lan et al. 2013, Bone 56:83); micro-CT guidelines: Bouxsein et al. "
            "2010, JBMR 25:1468")
_DXA = ("DXA precision ~1 % CV at the lumbar spine and 1.5-2 % at the hip (ISCD precision "
        "assessment: Baim et al. 2005, J Clin Densitom 8:371; design brief MODEL.md)")
_BTM = ("serum bone turnover markers: analytical plus within-subject variability ~10-15 % CV "
        "(Seibel 2005, Clin Biochem Rev 26:97; Hannon & Eastell 2000, Osteoporos Int 11 "
        "Suppl 6:S30); CTX varies more than P1NP")


@dataclass(frozen=True)
class Instrument:
    """How one output is measured, and how precisely."""

    output: str
    method: str
    kind: str
    value: float
    unit: str
    source: str

    @property
    def cv(self) -> float:
        """Coefficient of variation of a measurement (at the reference for counts)."""
        if self.kind == "poisson":
            return 1.0 / math.sqrt(self.value) if self.value > 0 else 0.0
        return self.value

    def measure(self, true: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Measured values of ``true`` (any shape); one independent draw per value."""
        true = np.asarray(true, float)
        ok = np.isfinite(true)
        out = true.copy()
        if self.kind == "poisson":
            if self.value <= 0:
                return out
            lam = np.where(ok, np.clip(true, 0.0, None) * self.value, 0.0)
            out[ok] = (rng.poisson(lam) / self.value)[ok]
            return out
        if self.value <= 0:
            return out
        s2 = math.log1p(self.value ** 2)
        z = rng.standard_normal(true.shape)
        out[ok] = (true * np.exp(math.sqrt(s2) * z - s2 / 2))[ok]
        return out

    def describe(self) -> str:
        if self.kind == "poisson":
            return (f"{self.method}: Poisson counts, {self.value:g} {self.unit} "
                    f"(CV {100 * self.cv:.0f} % at baseline)")
        return f"{self.method}: log-normal, CV {100 * self.value:.3g} %"


#: default instruments by output name
INSTRUMENTS: dict[str, Instrument] = {i.output: i for i in (
    Instrument("bv_tv", "in vivo micro-CT (trabecular BV/TV)", "lognormal", 0.02,
               "CV (fraction)", _MICROCT),
    Instrument("bv_tv_spine", "micro-CT of the vertebral body (trabecular BV/TV)", "lognormal",
               0.02, "CV (fraction)", _MICROCT),
    Instrument("ct_th", "micro-CT cortical thickness (Ct.Th)", "lognormal", 0.01,
               "CV (fraction)",
               "assumed 1 %, the low end of in vivo micro-CT precision errors (0.85-2.65 %, "
               "Lan et al. 2013, Bone 56:83): a cortical shell is segmented more "
               "reproducibly than trabeculae (mouse tibia: Oliviero et al. 2022, Front "
               "Endocrinol 13:915938)"),
    Instrument("abmd_ls", "DXA lumbar spine aBMD", "lognormal", 0.01, "CV (fraction)", _DXA),
    Instrument("abmd_th", "DXA total hip aBMD", "lognormal", 0.015, "CV (fraction)", _DXA),
    Instrument("abmd_fn", "DXA femoral neck aBMD", "lognormal", 0.02, "CV (fraction)", _DXA),
    Instrument("p1np", "serum P1NP immunoassay", "lognormal", 0.10, "CV (fraction)", _BTM),
    Instrument("ctx", "serum CTX immunoassay", "lognormal", 0.15, "CV (fraction)", _BTM),
    Instrument("connectivity", "synapse imaging (puncta counts)", "poisson", 100.0,
               "synapses counted per animal at baseline",
               "assumed: ~100 synapses counted per animal (a few imaged dendrite segments) "
               "gives the ~10 % CV typical of synapse-density counts by confocal imaging"),
    Instrument("sympathetic_tone", "bone norepinephrine / TH+ fibre density", "lognormal", 0.15,
               "CV (fraction)",
               "assumed: inter-assay CV of catecholamine immunoassays and of nerve-fibre "
               "density counts is typically 10-15 %"),
)}


#: key of the set-point factors' random streams (the scenario layer uses 0 for a
#: subject's physiology and 1 for the measurement error)
BIOLOGY = 2

_REFERENCE_INTERVALS = (
    "derived from the reference intervals of 194 healthy premenopausal European women aged "
    "35-39 (Bone 2012, PMID 22348982, doi:10.1016/j.bone.2012.02.003; automated Elecsys "
    "assays: P1NP 17.3-83.4 ng/mL, CTX 0.111-0.791 ng/mL): taken as log-normal 2.5-97.5 % "
    "intervals, the instrument's variance (analytical plus within-subject) removed")

#: between-subject biological CV (fraction) by species and output: (cv, source). Mice
#: have none by default: no measured between-animal CV of serum markers in C57BL/6J mice
#: is sourced here (set one with ``between_subject:`` in the study file).
BETWEEN_SUBJECT: dict[tuple[str, str], tuple[float, str]] = {
    ("human", "p1np"): (0.40, _REFERENCE_INTERVALS),
    ("human", "ctx"): (0.51, _REFERENCE_INTERVALS),
}


def between_subject_for(species: str, outputs: list[str],
                        overrides: dict[str, float] | None = None
                        ) -> dict[str, tuple[float, str]]:
    """The between-subject biological CV of each output that has one: the default of
    :data:`BETWEEN_SUBJECT` or the study's override (0 switches it off)."""
    overrides = overrides or {}
    out = {}
    for o in outputs:
        if o in overrides:
            out[o] = (float(overrides[o]), "study file (between_subject:)")
        elif (species, o) in BETWEEN_SUBJECT:
            out[o] = BETWEEN_SUBJECT[(species, o)]
    return {o: v for o, v in out.items() if v[0] > 0}


def set_point_factors(cv: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` log-normal set-point factors of median 1 and coefficient of variation ``cv``."""
    sigma = math.sqrt(math.log1p(cv ** 2))
    return np.exp(sigma * rng.standard_normal(n))


def instruments_for(outputs: list[str], overrides: dict[str, float] | None = None
                    ) -> dict[str, Instrument | None]:
    """The instrument of each output (None: reported as the model's value).

    ``overrides`` maps outputs to a CV (fraction): it replaces the default instrument's
    precision (for counts, the expected count becomes ``1/cv^2``) or adds a log-normal
    instrument to an output that has none.
    """
    overrides = overrides or {}
    out: dict[str, Instrument | None] = {}
    for o in outputs:
        inst = INSTRUMENTS.get(o)
        if o in overrides:
            cv = float(overrides[o])
            src = "study file (measurement:)"
            if inst is None:
                inst = Instrument(o, f"{o} (study-specified instrument)", "lognormal", cv,
                                  "CV (fraction)", src)
            elif inst.kind == "poisson":
                inst = replace(inst, value=(1.0 / cv ** 2 if cv > 0 else 0.0), source=src)
            else:
                inst = replace(inst, value=cv, source=src)
        out[o] = inst
    return out


def instrument_table(instruments: dict[str, Instrument | None],
                     between: dict[str, tuple[float, str]] | None = None) -> pd.DataFrame:
    """One row per output: method, error model, value, unit, CV, source, and the
    between-subject biological CV with its source (0 and empty if none)."""
    between = between or {}
    rows = []
    for o, i in instruments.items():
        if i is None:
            row = dict(output=o, method="none: the model's value is reported", kind="",
                       value=np.nan, unit="", cv=0.0, source="")
        else:
            row = dict(output=o, method=i.method, kind=i.kind, value=i.value, unit=i.unit,
                       cv=i.cv, source=i.source)
        cv, src = between.get(o, (0.0, ""))
        rows.append({**row, "between_subject_cv": cv, "between_subject_source": src})
    return pd.DataFrame(rows)
