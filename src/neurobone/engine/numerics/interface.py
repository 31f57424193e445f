"""What a kernel module provides to the fixed numerics (a description, not an engine).

In a generated kernel module (:mod:`neurobone.engine.kernels`) these names are the
model's generated functions and constants and the module's compile decorators; imported
from here instead, the fixed numerics run as plain Python and the model functions raise.
"""

from __future__ import annotations


#: ``jit``: compile a function (Numba ``njit`` with the cache on); here: plain Python
def jit(f):
    return f


#: ``jit_parallel``: compile a function whose loops use ``prange`` in parallel
jit_parallel = jit
prange = range

# ----------------------------------------------------------------------------- scalar
HAS_T = False  #: whether any rate depends on time explicitly
HAS_EXPR = True  #: whether the model has expressions (``observe`` does something)
N_CONST = 1  #: length of the parameter-only vector ``c`` of ``pre``/``rhsc``


def _missing(name):
    def f(*args):
        raise NotImplementedError(f"{name} is generated per model (neurobone.model.codegen)")
    f.__name__ = name
    return f


rhs = _missing("rhs")  #: ``rhs(t, y, p, dy)``: the rates
jac = _missing("jac")  #: ``jac(t, y, p, J)``: d(rhs)/dy
observe = _missing("observe")  #: ``observe(t, y, p, out)``: every expression
dfdt = _missing("dfdt")  #: ``dfdt(t, y, p, out)``: d(rhs)/dt
pre = _missing("pre")  #: ``pre(p, c)``: the parameter-only terms of a segment
rhsc = _missing("rhsc")  #: ``rhsc(t, y, p, c, dy)``: the rates from ``c``

# ----------------------------------------------------------------------------- lanes
LANES = 16  #: subjects per block
WIDTH = 8  #: doubles per vector math call
NS = 1  #: states per subject
NC = 1  #: parameter-only terms per subject (rows from OFF_C)
OFF_P = OFF_C = OFF_Y = OFF_T = OFF_S = OFF_DY = 0  #: rows of the work array
N_WORK = 0  #: length of the model's part of the work array
prev = _missing("prev")  #: ``prev(WK)``: parameter-only terms of every lane
rhsv = _missing("rhsv")  #: ``rhsv(WK)``: rates of every lane
VEXP = "_ZGVeN8v_exp"  #: libmvec exp of WIDTH doubles
VLOG = "_ZGVeN8v_log"  #: libmvec log of WIDTH doubles
