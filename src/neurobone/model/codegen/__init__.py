"""Code generation: Python source of a model's kernels, from its parsed formulas.

Everything the engines compute about a model comes from source generated here from the
one :class:`~neurobone.model.symbolic.SymbolicModel`; no formula is typed twice. The
generated functions are decorated with ``@jit`` and expect a few names from the module
that includes them; :mod:`neurobone.engine.kernels` assembles, caches and compiles them.

:func:`scalar_source`
    one subject: ``rhs``, ``jac`` (analytic Jacobian), ``observe`` (every expression),
    ``dfdt`` (:mod:`~neurobone.model.codegen.scalar`);
:func:`split_source`
    the right-hand side split for segments: ``pre`` (parameter-only terms, once per
    segment) and ``rhsc`` (the rest) (:mod:`~neurobone.model.codegen.split`);
:func:`lanes_source`
    ``prev``/``rhsv``: the split right-hand side of several subjects per SIMD
    instruction (:mod:`~neurobone.model.codegen.lanes`).
"""

from neurobone.model.codegen.lanes import lanes_source
from neurobone.model.codegen.printer import code
from neurobone.model.codegen.scalar import needed_expressions, scalar_source, unpack
from neurobone.model.codegen.split import SplitRhs, pre_assignments, split_rhs, split_source

__all__ = ["SplitRhs", "code", "lanes_source", "needed_expressions", "pre_assignments",
           "scalar_source", "split_rhs", "split_source", "unpack"]
