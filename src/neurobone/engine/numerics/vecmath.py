"""``exp`` and ``log`` of ``WIDTH`` doubles in one call of glibc's vector math library.

Numba cannot vectorise calls to ``math.exp`` by itself (its LLVM has no vector math
library attached), so these two intrinsics call libmvec's variants directly:
``vexp(WK, off)`` replaces ``WK[off:off+WIDTH]`` by its exponential, ``vlog`` by its
logarithm, to the accuracy of the scalar functions (a few units in the last place).
The library must be loaded into the process first
(:func:`neurobone.engine.platform.require_vector_width`).
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from neurobone.engine.numerics.interface import VEXP, VLOG, WIDTH


def vector_call(name, width):
    """A Numba intrinsic ``f(S, off)``: ``S.flat[off:off+width] = name(...)`` for a
    C-contiguous float64 array ``S``, ``name`` a libmvec function of ``width`` doubles."""

    @intrinsic
    def call(typingctx, arr, off):
        sig = types.void(arr, off)

        def codegen(context, builder, signature, args):
            a, o = args
            data = context.make_array(signature.args[0])(context, builder, a).data
            vt = ir.VectorType(ir.DoubleType(), width)
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt]), name)
            ptr = builder.bitcast(builder.gep(data, [o]), vt.as_pointer())
            builder.store(builder.call(fn, [builder.load(ptr, align=8)]), ptr, align=8)
            return context.get_dummy_value()

        return sig, codegen

    return call


vexp = vector_call(VEXP, WIDTH)
vlog = vector_call(VLOG, WIDTH)
