"""Engines: load a model's kernels and integrate one subject or many.

:func:`~neurobone.engine.simulate.simulate` is the one entry point; the solvers
(:mod:`~neurobone.engine.solvers`) say how; :mod:`~neurobone.engine.kernels` generates,
caches and compiles the kernels; :mod:`~neurobone.engine.numerics` holds the fixed
numerics they include.
"""
