"""Between-animal variability: each subject's parameters, drawn reproducibly.

Which parameters vary, and by how much, is the model's statement: every
:class:`~neurobone.model.definition.Parameter` with ``cv > 0`` varies between subjects
with that coefficient of variation; the others are the same for every subject. The
model owner chooses them so that they leave the young-adult homeostasis unchanged, so
the plan's homeostatic references (``OBa_ref``, ``OCa_ref``) stay valid for every
subject.

Distribution: log-normal and **median-preserving**. Subject ``i`` gets::

    theta_i = theta_plan * exp(sigma * z_i),   sigma^2 = ln(1 + cv^2),   z_i ~ N(0, 1)

so the coefficient of variation of ``theta`` is exactly ``cv``, and the calibrated
mean-subject value (the plan's) is the population's median and geometric mean: the
typical animal is the calibrated one, and a rate and its time constant (``1/theta``)
describe the same population. The arithmetic mean is ``theta_plan * sqrt(1 + cv^2)``
(0.5 % above the plan's value at cv = 10 %).

Reproducibility: every subject has its own random stream, derived from the study seed
with :class:`numpy.random.SeedSequence` and keyed by the arm's *name* (a stable hash,
not Python's salted ``hash``) and the subject's index in the arm. So the same seed gives
the same animals whatever the order of the arms, and the first 3 animals of an arm are
the same with ``n_per_arm`` 3 or 10. The measurement noise of each subject and output
has its own stream too (:func:`stream` with the ``MEASUREMENT`` key), so adding an
output or changing an instrument does not change the animals.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from neurobone.model.definition import Model

#: stream purposes (the last-but-one key of a subject's stream)
PHYSIOLOGY = 0
MEASUREMENT = 1


def key(text: str) -> int:
    """A stable 32-bit key of a name (SHA-256; the same in every Python process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def stream(seed: int, *keys: int) -> np.random.Generator:
    """The random generator of one (seed, keys...) stream."""
    seq = np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in keys))
    return np.random.Generator(np.random.PCG64(seq))


@dataclass(frozen=True)
class Variation:
    """One parameter that varies between subjects."""

    name: str
    index: int
    cv: float
    unit: str
    source: str

    @property
    def sigma(self) -> float:
        """Standard deviation of ``ln(theta)``."""
        return math.sqrt(math.log1p(self.cv ** 2))


def variations(model: Model) -> list[Variation]:
    """The model's parameters with ``cv > 0``, in alphabetical order (the draw order)."""
    out = [Variation(p.name, i, float(p.cv), p.unit, p.source)
           for i, p in enumerate(model.parameters) if p.cv and p.cv > 0]
    return sorted(out, key=lambda v: v.name)


def draw_factors(model: Model, seed: int, arm: str, n: int, first: int = 0) -> np.ndarray:
    """Log-normal factors (median 1, CV ``cv``) of subjects ``first .. first+n-1`` of
    ``arm``: shape ``(n, len(variations(model)))``, columns in :func:`variations` order."""
    vs = variations(model)
    sig = np.array([v.sigma for v in vs])
    a = key(arm)
    out = np.ones((n, len(vs)))
    if not vs:
        return out
    for row in range(n):
        z = stream(seed, a, first + row, PHYSIOLOGY).standard_normal(len(vs))
        out[row] = np.exp(sig * z)
    return out


def apply_factors(base: np.ndarray, model: Model, factors: np.ndarray) -> np.ndarray:
    """One parameter vector per row of ``factors``: ``base`` with every varied
    parameter multiplied by its factor."""
    P = np.tile(np.asarray(base, float), (len(factors), 1))
    idx = [v.index for v in variations(model)]
    if idx:
        P[:, idx] *= factors
    return P


def draw_parameters(base: np.ndarray, model: Model, seed: int, arm: str, n: int,
                    first: int = 0) -> np.ndarray:
    """Parameter vectors of subjects ``first .. first+n-1`` of ``arm`` (shape ``(n, len(base))``).

    Each row is ``base`` with every varied parameter multiplied by its own log-normal
    factor (median 1, coefficient of variation ``cv``).
    """
    return apply_factors(base, model, draw_factors(model, seed, arm, n, first))


def parameter_table(P: np.ndarray, model: Model, arm: str) -> pd.DataFrame:
    """The varied parameters of an arm's subjects: ``arm, animal`` then one column each."""
    vs = variations(model)
    df = pd.DataFrame({"arm": arm, "animal": np.arange(1, len(P) + 1)})
    for v in vs:
        df[v.name] = P[:, v.index]
    return df
