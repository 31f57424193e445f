"""LU factorisation with partial pivoting and its solve, for small dense systems."""

import math

from neurobone.engine.numerics.interface import jit


@jit
def lu_factor(A, piv):
    """Factorise ``A`` in place (``PA = LU``, unit lower L); False when singular."""
    n = A.shape[0]
    for k in range(n):
        imax = k
        amax = abs(A[k, k])
        for i in range(k + 1, n):
            a = abs(A[i, k])
            if a > amax:
                amax = a
                imax = i
        piv[k] = imax
        if amax == 0.0 or not math.isfinite(amax):
            return False
        if imax != k:
            for j in range(n):
                tmp = A[k, j]
                A[k, j] = A[imax, j]
                A[imax, j] = tmp
        inv = 1.0 / A[k, k]
        for i in range(k + 1, n):
            A[i, k] *= inv
            f = A[i, k]
            if f != 0.0:
                for j in range(k + 1, n):
                    A[i, j] -= f * A[k, j]
    return True


@jit
def lu_solve(A, piv, b):
    """Solve ``A x = b`` in place in ``b`` with the factors of :func:`lu_factor`."""
    n = A.shape[0]
    for k in range(n):
        i = piv[k]
        if i != k:
            tmp = b[k]
            b[k] = b[i]
            b[i] = tmp
    for i in range(1, n):
        acc = b[i]
        for j in range(i):
            acc -= A[i, j] * b[j]
        b[i] = acc
    for i in range(n - 1, -1, -1):
        acc = b[i]
        for j in range(i + 1, n):
            acc -= A[i, j] * b[j]
        b[i] = acc / A[i, i]
