"""Target evaluation for several parameter sets at once, and the least-squares calibration."""

from __future__ import annotations

import numpy as np
import pytest

from neurobone.fit.calibrate import calibrate
from neurobone.fit.targets import Ensemble, Runs, evaluate, simulated
from neurobone.model import brainbone


def test_an_ensemble_gives_each_set_what_it_gives_alone():
    k_grow = brainbone.build("mouse").parameter("k_grow").value  # the calibrated value
    sets = [{}, {"k_grow": 0.5 * k_grow}, {"W_max": 1.2}]
    ens = simulated(Ensemble(sets), ["MC5a", "MC5b"])
    for k, values in enumerate(sets):
        alone = evaluate(runs=Runs(values), ids=["MC5a", "MC5b"])["simulated"].to_numpy()
        np.testing.assert_allclose(ens[k], alone, rtol=1e-12)
    assert ens[1, 1] > ens[0, 1]  # slower growth: a later rise half-time


def test_least_squares_finds_a_connectivity_plateau():
    fit = calibrate(["W_max"], ["MC5a"], start={"W_max": 1.0})
    t = fit.table()
    assert fit.converged and t.loc[0, "in_range"]
    assert t.loc[0, "simulated"] == pytest.approx(t.loc[0, "central"], rel=1e-3)
    assert fit.identifiability()["identifiable"] == {"W_max": True}
    assert fit.failed_evaluations == 0 and fit.evaluations > 1


def test_a_set_that_cannot_be_integrated_gives_nan_and_leaves_the_others():
    # D_OBu = 1e300 blows the cell populations up, tau_M = 0 divides by zero: both sets
    # fail alone; the good set beside them keeps the value it has alone
    ens = simulated(Ensemble([{}, {"D_OBu": 1e300}, {"tau_M": 0.0}]), ["MC5a"])
    alone = evaluate(runs=Runs({}), ids=["MC5a"])["simulated"].to_numpy()
    np.testing.assert_allclose(ens[0], alone, rtol=1e-12)
    assert np.isnan(ens[1]).all() and np.isnan(ens[2]).all()
