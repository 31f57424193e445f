"""Lemaire et al. 2004 reproduced: steady state and published responses."""

import numpy as np
import pytest

from neurobone.engine.simulate import simulate
from neurobone.engine.solvers import BDF
from neurobone.engine.steady import steady_state
from neurobone.model.timed import Override

PUBLISHED_SS = {"R": 7.734e-4, "B": 7.282e-4, "C": 9.127e-4}  # pM, Lemaire 2004 / BIOMD0000000278


def run(days, **kw):
    """One subject with the reference solver (SciPy's BDF, rtol 1e-8): its outputs by
    name as 1-D arrays over the days, ``t`` the days."""
    res = simulate("lemaire2004", days, solver=BDF(), on_failure="raise", **kw)
    out = {name: res[name][0] for name in res.names}
    out["t"] = res.t
    return out


def test_steady_state_matches_paper_within_0p1_percent():
    ss = steady_state("lemaire2004")
    for k, v in PUBLISHED_SS.items():
        assert ss[k] == pytest.approx(v, rel=1e-3), k


def test_steady_state_is_stationary():
    ss = steady_state("lemaire2004")
    res = run(200, initial=ss)
    for k, v in ss.items():
        assert res[k][-1] == pytest.approx(v, rel=1e-6)


def _response(name, value, start=20, end=80, days=140):
    ss = steady_state("lemaire2004")
    return run(days, initial=ss, schedule=[Override(name, value, start, end)],
               outputs=["R", "B", "C", "I_P", "I_O", "I_L"])


def test_continuous_pth_raises_all_cells_then_recovers():
    # Lemaire 2004 Fig. 4 (I_P = 1e3 pM/day, days 20-80): osteoclasts rise at once,
    # then osteoblasts; all return to the steady state after the infusion stops.
    res = _response("I_P", 1e3)
    ss = steady_state("lemaire2004")
    c = res["C"]
    assert c[25] > 2 * ss["C"]
    assert res["B"][79] > 1.5 * ss["B"]
    assert res["R"][79] > 3 * ss["R"]
    # continuous PTH is catabolic: resorption outweighs formation while it lasts
    assert res["C"][79] / ss["C"] > res["B"][79] / ss["B"]
    for k in ("R", "B", "C"):
        assert res[k][-1] == pytest.approx(ss[k], rel=0.05)


def test_opg_administration_lowers_osteoclasts():
    # Lemaire 2004 Fig. 5 (I_O = 2e5 pM/day): osteoclasts fall, osteoblasts follow
    res = _response("I_O", 2e5)
    ss = steady_state("lemaire2004")
    assert res["C"][79] < 0.8 * ss["C"]
    assert res["B"][79] < ss["B"]
    assert res["C"][-1] == pytest.approx(ss["C"], rel=0.05)


def test_rankl_administration_raises_osteoclasts():
    # Lemaire 2004 Fig. 6 (I_L = 1e4 pM/day): osteoclasts rise several-fold
    res = _response("I_L", 1e4)
    ss = steady_state("lemaire2004")
    assert res["C"][79] > 2 * ss["C"]
    assert res["B"][79] > ss["B"]


def test_override_windows_are_exact():
    res = _response("I_P", 1e3)
    ip = res["I_P"]
    assert ip[19] == 0 and ip[20] == 1e3 and ip[79] == 1e3 and ip[80] == 0
    assert np.all(np.diff(res["t"]) == 1.0)
