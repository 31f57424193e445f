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


def instrument_table(instruments: dict[str, Instrument | None]) -> pd.DataFrame:
    """One row per output: method, error model, value, unit, CV, source."""
    rows = []
    for o, i in instruments.items():
        if i is None:
            rows.append(dict(output=o, method="none: the model's value is reported", kind="",
                             value=np.nan, unit="", cv=0.0, source=""))
        else:
            rows.append(dict(output=o, method=i.method, kind=i.kind, value=i.value, unit=i.unit,
                             cv=i.cv, source=i.source))
    return pd.DataFrame(rows)
