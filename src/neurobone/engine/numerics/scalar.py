"""One subject's adaptive integration, and the parallel loop over subjects.

``method`` 0 is RODAS throughout, 1 Dormand-Prince throughout, 2 switches per subject:
Dormand-Prince, moving to RODAS when Hairer's stiffness test fires (15 steps in a row
with ``h*|lambda| > 3.25``) and back when the explicit method would be stable
(``h*||J|| <= 2`` for 20 steps, a requirement that quadruples on every return).

The subject integrates exactly to every change point of its schedule (no step straddles
a discontinuity) and carries its step size across it. Save points inside a step come
from the method's dense output; a save point at a change point is recorded after the
parameters switch (right-continuity), as every engine of the package does.
"""

import math

import numpy as np

from neurobone.engine.numerics.dopri5 import dp5_dense, dp5_step
from neurobone.engine.numerics.interface import (
    HAS_EXPR,
    HAS_T,
    N_CONST,
    dfdt,
    jac,
    jit,
    jit_parallel,
    observe,
    prange,
    pre,
    rhsc,
)
from neurobone.engine.numerics.rodas4 import rodas_dense, rodas_step
from neurobone.engine.numerics.rows import next_change, params_at

#: status codes: finished, step size underflow, too many steps, non-finite state
OK, UNDERFLOW, MAX_STEPS, NON_FINITE = 0, 1, 2, 3


@jit
def record(t, y, p, obuf, kind, idx, row):
    """Write the requested outputs at ``t`` into ``row``: kind 0 a state, 1 an
    expression, 2 a parameter (the value in force)."""
    if HAS_EXPR:
        observe(t, y, p, obuf)
    for j in range(kind.shape[0]):
        if kind[j] == 0:
            row[j] = y[idx[j]]
        elif kind[j] == 1:
            row[j] = obuf[idx[j]]
        else:
            row[j] = p[idx[j]]


@jit
def jnorm(J):
    """Infinity norm of ``J``: an upper bound of its spectral radius."""
    rho = 0.0
    for i in range(J.shape[0]):
        s = 0.0
        for j in range(J.shape[1]):
            s += abs(J[i, j])
        rho = max(rho, s)
    return rho


@jit
def integrate_one(base, y, t_end, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi,
                  save_t, kind, idx, rtol, atol, h0, hmax, max_steps, n_expr, method, out):
    """Integrate one subject from 0 to ``t_end``; ``y`` (its initial state) ends as the
    final state. Returns (status, fail time, accepted, rejected, accepted RODAS steps)."""
    n = y.shape[0]
    npar = base.shape[0]
    T = save_t.shape[0]
    yn = np.empty(n)
    yt = np.empty(n)
    f0 = np.empty(n)
    fx = np.zeros(n)
    k1 = np.empty(n)
    k2 = np.empty(n)
    k3 = np.empty(n)
    k4 = np.empty(n)
    k5 = np.empty(n)
    k6 = np.empty(n)
    k7 = np.empty(n)
    J = np.zeros((n, n))
    E = np.empty((n, n))
    piv = np.empty(n, np.int64)
    p = np.empty(npar)
    pn = np.empty(npar)
    obuf = np.empty(max(n_expr, 1))
    stiff = np.zeros(1)
    c = np.zeros(N_CONST)  # parameter-only terms of the current segment

    t = 0.0
    for j in range(npar):
        p[j] = base[j]
        pn[j] = base[j]
    params_at(t, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
    pre(p, c)
    h = h0
    ks = 0
    acc = 0
    rej = 0
    nstiff = 0
    h_acc = 0.0
    err_acc = 0.0
    facold = 1e-4
    first = True
    implicit = method == 0
    n_hi = 0  # consecutive explicit steps with h*|lambda| beyond the stability bound
    n_lo = 0  # consecutive steps without
    n_ns = 0  # consecutive RODAS steps where the explicit method would be stable
    need_ns = 20  # ... needed to switch back; grows x4 on every return (no ping-pong)
    switched = 0

    while True:
        while ks < T and save_t[ks] <= t:
            record(t, y, p, obuf, kind, idx, out[ks])
            ks += 1
        if t >= t_end:
            break
        tb = next_change(t, t_end, p, base, pn, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        f_ok = False
        j_ok = False
        while t < tb:
            if acc + rej >= max_steps:
                return MAX_STEPS, t, acc, rej, nstiff
            clipped = False
            hs = h
            if t + 1.0001 * h >= tb:
                hs = tb - t
                clipped = True
            if hs < 1e-14 * max(1.0, abs(t)) * 64.0:
                return UNDERFLOW, t, acc, rej, nstiff
            if not f_ok:
                rhsc(t, y, p, c, f0)
                f_ok = True
            if implicit:
                if not j_ok:
                    jac(t, y, p, J)
                    if HAS_T:
                        dfdt(t, y, p, fx)
                    j_ok = True
                err = rodas_step(t, y, p, c, hs, f0, fx, J, E, piv, k1, k2, k3, k4, k5, k6,
                                 yt, yn, atol, rtol)
                if err < 0.0:  # singular Newton matrix: smaller step
                    h = 0.25 * hs
                    rej += 1
                    continue
            else:
                for i in range(n):
                    k1[i] = f0[i]
                err = dp5_step(t, y, p, c, hs, k1, k2, k3, k4, k5, k6, k7, yt, yn, atol, rtol,
                               stiff)
            if not (err <= 1e300):  # NaN or inf: shrink hard
                h = 0.1 * hs
                rej += 1
                first = False
                continue
            err = max(err, 1e-10)
            if implicit:
                # Hairer's RODAS controller with Gustafsson's predictive control
                fac = max(1.0 / 6.0, min(5.0, err ** 0.25 / 0.9))
                hnew = hs / fac
                if err <= 1.0 and acc > 0 and h_acc > 0.0:
                    facg = (h_acc / hs) * (err * err / err_acc) ** 0.25 / 0.9
                    facg = max(1.0 / 6.0, min(5.0, facg))
                    fac = max(fac, facg)
                    hnew = hs / fac
            else:
                # Hairer's DOPRI5 controller (PI, beta = 0.04)
                fac11 = err ** 0.17
                if err <= 1.0:
                    fac = max(0.1, min(5.0, fac11 / facold ** 0.04 / 0.9))
                else:
                    fac = min(5.0, fac11 / 0.9)
                hnew = hs / fac
            if err <= 1.0:
                h_acc = hs
                err_acc = max(1e-2, err)
                facold = max(err, 1e-4)
                acc += 1
                first = False
                t_new = tb if clipped else t + hs
                # dense output for save points inside the step; a save point at the
                # segment end is recorded after the parameters switch
                while ks < T and (save_t[ks] < t_new or (not clipped and save_t[ks] <= t_new)):
                    th = (save_t[ks] - t) / hs
                    if implicit:
                        rodas_dense(y, yn, k1, k2, k3, k4, k5, th, yt)
                    else:
                        dp5_dense(y, yn, k1, k3, k4, k5, k6, k7, hs, th, yt)
                    record(save_t[ks], yt, p, obuf, kind, idx, out[ks])
                    ks += 1
                for i in range(n):
                    y[i] = yn[i]
                t = t_new
                if clipped and hnew >= hs:
                    hnew = max(hnew, h)  # keep the step size across the change point
                h = min(hnew, hmax)
                if implicit:
                    nstiff += 1
                    f_ok = False
                    j_ok = False
                    if method == 2:
                        # back to the explicit method when it would be stable
                        if h * jnorm(J) <= 2.0:
                            n_ns += 1
                            if n_ns >= need_ns:
                                implicit = False
                                n_ns = 0
                                n_hi = 0
                                n_lo = 0
                        else:
                            n_ns = 0
                else:
                    for i in range(n):
                        f0[i] = k7[i]
                    if method == 2:
                        # Hairer's stiffness detection (DOPRI5)
                        if stiff[0] > 3.25:
                            n_lo = 0
                            n_hi += 1
                            if n_hi >= 15:
                                implicit = True
                                j_ok = False
                                if switched > 0:
                                    need_ns = min(4 * need_ns, 1 << 30)
                                switched += 1
                                n_hi = 0
                                n_ns = 0
                        else:
                            n_lo += 1
                            if n_lo >= 6:
                                n_hi = 0
            else:
                if first:
                    h = 0.1 * hs
                else:
                    h = min(hnew, hs)
                rej += 1
        params_at(t, base, p, sq, sv, ss, se, sm, q, v, s, e, m, lo, hi)
        pre(p, c)
    for i in range(n):
        if not math.isfinite(y[i]):
            return NON_FINITE, t, acc, rej, nstiff
    return OK, np.nan, acc, rej, nstiff


@jit
def integrate_subject(i, P, Y0, t_end, sq, sv, ss, se, sm, off, q, v, s, e, m, save_t, kind,
                      idx, rtol, atol, h0, hmax, max_steps, n_expr, method, out, y_end,
                      status, fail_t, steps, rejected, stiff_steps):
    """Subject ``i`` of a batch: its outputs, final state, status and counters."""
    for k in range(Y0.shape[1]):
        y_end[i, k] = Y0[i, k]
    st, ft, a, r, ns = integrate_one(P[i], y_end[i], t_end[i], sq, sv, ss, se, sm, q, v, s,
                                     e, m, off[i], off[i + 1], save_t, kind, idx, rtol, atol,
                                     h0, hmax, max_steps, n_expr, method, out[i])
    status[i] = st
    fail_t[i] = ft
    steps[i] = a
    rejected[i] = r
    stiff_steps[i] = ns
    if st != OK:
        for k in range(Y0.shape[1]):
            y_end[i, k] = np.nan
        for k in range(save_t.shape[0]):
            if save_t[k] > ft:
                for j in range(out.shape[2]):
                    out[i, k, j] = np.nan


@jit_parallel
def integrate_batch(P, Y0, t_end, sq, sv, ss, se, sm, off, q, v, s, e, m, save_t, kind, idx,
                    rtol, atol, h0, hmax, max_steps, n_expr, method, out, y_end, status, fail_t,
                    steps, rejected, stiff_steps):
    """Every subject of a batch, in parallel (one subject per task)."""
    for i in prange(P.shape[0]):
        integrate_subject(i, P, Y0, t_end, sq, sv, ss, se, sm, off, q, v, s, e, m, save_t,
                          kind, idx, rtol, atol, h0, hmax, max_steps, n_expr, method, out,
                          y_end, status, fail_t, steps, rejected, stiff_steps)
