"""RODAS: Hairer & Wanner's stiffly accurate Rosenbrock method of order 4(3).

Coefficients of the transformed formulation with dense output (Hairer & Wanner, Solving
Ordinary Differential Equations II, 2nd ed. 1996, Sec. IV.7; their code rodas.f). One LU
factorisation of ``I/(h*gamma) - J`` per step serves the six stages.
"""

import math

from neurobone.engine.numerics.interface import jit, rhsc
from neurobone.engine.numerics.linalg import lu_factor, lu_solve

GAM = 0.25
C2 = 0.386
C3 = 0.21
C4 = 0.63
D1 = 0.25
D2 = -0.1043
D3 = 0.1035
D4 = -0.03620000000000023
A21 = 1.544
A31 = 0.9466785280815826
A32 = 0.2557011698983284
A41 = 3.314825187068521
A42 = 2.896124015972201
A43 = 0.9986419139977817
A51 = 1.221224509226641
A52 = 6.019134481288629
A53 = 12.53708332932087
A54 = -0.687886036105895
C21 = -5.6688
C31 = -2.430093356833875
C32 = -0.2063599157091915
C41 = -0.1073529058151375
C42 = -9.594562251023355
C43 = -20.47028614809616
C51 = 7.496443313967647
C52 = -10.24680431464352
C53 = -33.99990352819905
C54 = 11.7089089320616
C61 = 8.083246795921522
C62 = -7.981132988064893
C63 = -31.52159432874371
C64 = 16.31930543123136
C65 = -6.058818238834054
H21 = 10.12623508344586
H22 = -7.487995877610167
H23 = -34.80091861555747
H24 = -7.992771707568823
H25 = 1.025137723295662
H31 = -0.6762803392801253
H32 = 6.087714651680015
H33 = 16.43084320892478
H34 = 24.76722511418386
H35 = -6.594389125716872


@jit
def rodas_step(t, y, p, c, hs, f0, fx, J, E, piv, k1, k2, k3, k4, k5, k6, yt, yn, atol, rtol):
    """One step from ``(t, y)`` with ``f0 = f(t, y)``, ``fx = df/dt`` and the Jacobian
    ``J``: ``yn`` = the solution, ``k1..k5`` kept for dense output. Returns the error
    norm, or -1 when the Newton matrix is singular."""
    n = y.shape[0]
    fac = 1.0 / (hs * GAM)
    for i in range(n):
        for j in range(n):
            E[i, j] = -J[i, j]
        E[i, i] += fac
    if not lu_factor(E, piv):
        return -1.0
    hd1 = hs * D1
    hd2 = hs * D2
    hd3 = hs * D3
    hd4 = hs * D4
    ih = 1.0 / hs
    for i in range(n):
        k1[i] = f0[i] + hd1 * fx[i]
    lu_solve(E, piv, k1)
    for i in range(n):
        yt[i] = y[i] + A21 * k1[i]
    rhsc(t + C2 * hs, yt, p, c, k2)
    for i in range(n):
        k2[i] += hd2 * fx[i] + ih * (C21 * k1[i])
    lu_solve(E, piv, k2)
    for i in range(n):
        yt[i] = y[i] + A31 * k1[i] + A32 * k2[i]
    rhsc(t + C3 * hs, yt, p, c, k3)
    for i in range(n):
        k3[i] += hd3 * fx[i] + ih * (C31 * k1[i] + C32 * k2[i])
    lu_solve(E, piv, k3)
    for i in range(n):
        yt[i] = y[i] + A41 * k1[i] + A42 * k2[i] + A43 * k3[i]
    rhsc(t + C4 * hs, yt, p, c, k4)
    for i in range(n):
        k4[i] += hd4 * fx[i] + ih * (C41 * k1[i] + C42 * k2[i] + C43 * k3[i])
    lu_solve(E, piv, k4)
    for i in range(n):
        yt[i] = y[i] + A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]
    rhsc(t + hs, yt, p, c, k5)
    for i in range(n):
        k5[i] += ih * (C51 * k1[i] + C52 * k2[i] + C53 * k3[i] + C54 * k4[i])
    lu_solve(E, piv, k5)
    for i in range(n):
        yt[i] += k5[i]
    rhsc(t + hs, yt, p, c, k6)
    for i in range(n):
        k6[i] += ih * (C61 * k1[i] + C62 * k2[i] + C63 * k3[i] + C64 * k4[i] + C65 * k5[i])
    lu_solve(E, piv, k6)
    err = 0.0
    for i in range(n):
        yn[i] = yt[i] + k6[i]
        sk = atol[i] + rtol * max(abs(y[i]), abs(yn[i]))
        r = k6[i] / sk
        err += r * r
    return math.sqrt(err / n)


@jit
def rodas_dense(y, yn, k1, k2, k3, k4, k5, th, out):
    """The continuous extension of the last step at fraction ``th`` into ``out``."""
    th1 = 1.0 - th
    for i in range(y.shape[0]):
        d1 = H21 * k1[i] + H22 * k2[i] + H23 * k3[i] + H24 * k4[i] + H25 * k5[i]
        d2 = H31 * k1[i] + H32 * k2[i] + H33 * k3[i] + H34 * k4[i] + H35 * k5[i]
        out[i] = th1 * y[i] + th * (yn[i] + th1 * (d1 + th * d2))
