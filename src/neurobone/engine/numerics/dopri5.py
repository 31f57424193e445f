"""Dormand & Prince 5(4) with its order-4 dense output.

Coefficients from Hairer, Norsett & Wanner, Solving Ordinary Differential Equations I,
2nd ed. 1993 (their code dopri5.f). The step also returns the two sums of Hairer's
stiffness estimate ``h*|lambda|`` from its last two stages.
"""

import math

from neurobone.engine.numerics.interface import jit, rhsc

DC2 = 0.2
DC3 = 0.3
DC4 = 0.8
DC5 = 8.0 / 9.0
DA21 = 0.2
DA31 = 3.0 / 40.0
DA32 = 9.0 / 40.0
DA41 = 44.0 / 45.0
DA42 = -56.0 / 15.0
DA43 = 32.0 / 9.0
DA51 = 19372.0 / 6561.0
DA52 = -25360.0 / 2187.0
DA53 = 64448.0 / 6561.0
DA54 = -212.0 / 729.0
DA61 = 9017.0 / 3168.0
DA62 = -355.0 / 33.0
DA63 = 46732.0 / 5247.0
DA64 = 49.0 / 176.0
DA65 = -5103.0 / 18656.0
DA71 = 35.0 / 384.0
DA73 = 500.0 / 1113.0
DA74 = 125.0 / 192.0
DA75 = -2187.0 / 6784.0
DA76 = 11.0 / 84.0
DE1 = 71.0 / 57600.0
DE3 = -71.0 / 16695.0
DE4 = 71.0 / 1920.0
DE5 = -17253.0 / 339200.0
DE6 = 22.0 / 525.0
DE7 = -1.0 / 40.0
DD1 = -12715105075.0 / 11282082432.0
DD3 = 87487479700.0 / 32700410799.0
DD4 = -10690763975.0 / 1880347072.0
DD5 = 701980252875.0 / 199316789632.0
DD6 = -1453857185.0 / 822651844.0
DD7 = 69997945.0 / 29380423.0


@jit
def combine(out, y, hs, coefs, ks):
    """``out = y + hs * sum(coefs[r] * ks[r])`` (one stage argument of a Runge-Kutta step;
    ``coefs`` and ``ks`` are tuples of one length)."""
    for i in range(y.shape[0]):
        acc = 0.0
        for r in range(len(coefs)):
            acc += coefs[r] * ks[r][i]
        out[i] = y[i] + hs * acc


@jit
def dp5_step(t, y, p, c, hs, k1, k2, k3, k4, k5, k6, k7, yt, yn, atol, rtol, stiff):
    """One step with ``k1 = f(t, y)``; ``k7 = f(t+h, yn)`` (first same as last).
    Returns the error norm and writes ``h*|lambda|`` to ``stiff[0]``."""
    n = y.shape[0]
    combine(yt, y, hs, (DA21,), (k1,))
    rhsc(t + DC2 * hs, yt, p, c, k2)
    combine(yt, y, hs, (DA31, DA32), (k1, k2))
    rhsc(t + DC3 * hs, yt, p, c, k3)
    combine(yt, y, hs, (DA41, DA42, DA43), (k1, k2, k3))
    rhsc(t + DC4 * hs, yt, p, c, k4)
    combine(yt, y, hs, (DA51, DA52, DA53, DA54), (k1, k2, k3, k4))
    rhsc(t + DC5 * hs, yt, p, c, k5)
    combine(yt, y, hs, (DA61, DA62, DA63, DA64, DA65), (k1, k2, k3, k4, k5))
    rhsc(t + hs, yt, p, c, k6)
    combine(yn, y, hs, (DA71, DA73, DA74, DA75, DA76), (k1, k3, k4, k5, k6))
    rhsc(t + hs, yn, p, c, k7)
    err = 0.0
    stnum = 0.0
    stden = 0.0
    for i in range(n):
        ei = hs * (DE1 * k1[i] + DE3 * k3[i] + DE4 * k4[i] + DE5 * k5[i] + DE6 * k6[i]
                   + DE7 * k7[i])
        sk = atol[i] + rtol * max(abs(y[i]), abs(yn[i]))
        r = ei / sk
        err += r * r
        a = k7[i] - k6[i]
        b = yn[i] - yt[i]
        stnum += a * a
        stden += b * b
    stiff[0] = hs * math.sqrt(stnum / stden) if stden > 0.0 else 0.0
    return math.sqrt(err / n)


@jit
def dp5_dense(y, yn, k1, k3, k4, k5, k6, k7, hs, th, out):
    """The continuous extension of the last step at fraction ``th`` into ``out``."""
    th1 = 1.0 - th
    for i in range(y.shape[0]):
        r2 = yn[i] - y[i]
        r3 = hs * k1[i] - r2
        r4 = r2 - hs * k7[i] - r3
        r5 = hs * (DD1 * k1[i] + DD3 * k3[i] + DD4 * k4[i] + DD5 * k5[i] + DD6 * k6[i]
                   + DD7 * k7[i])
        out[i] = y[i] + th * (r2 + th1 * (r3 + th * (r4 + th1 * r5)))
