"""The fixed numerics of the kernels: real Python modules, included in generated ones.

Each module here is ordinary Python: importable on its own (its functions then run as
plain Python, which is how the tests check the pieces that do not need a model), linted
and tested like any other. The model-specific functions they call (``rhsc``, ``jac``,
``observe``, ``prev``, ``rhsv`` ...) and the decorator ``jit`` are imported from
:mod:`~neurobone.engine.numerics.interface`, which only describes them.

:mod:`neurobone.engine.kernels` builds a model's kernel module from the generated model
functions (:mod:`neurobone.model.codegen`) followed by the source of these modules, their
imports of each other and of the interface dropped (they share one namespace there), and
compiles it with Numba:

``rows``      the schedule: which rows are in force, the next change point
``linalg``    LU factorisation with partial pivoting and the triangular solves
``rodas4``    Hairer & Wanner's RODAS step and its dense output
``dopri5``    Dormand & Prince 5(4) step and its dense output
``scalar``    one subject's adaptive integration (methods 0 RODAS, 1 DOPRI5, 2 switching)
              and the parallel loop over subjects
``vecmath``   libmvec's ``exp``/``log`` of a whole vector, as Numba intrinsics
``lanes``     Dormand & Prince on several subjects per SIMD instruction, refilled from a
              queue of subjects
"""
