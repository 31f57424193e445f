"""Powers with non-integer exponents, computed in the log domain for generated kernels.

A power ``b**e`` whose exponent is not a small integer costs a libm ``pow`` call, about
twice an ``exp`` or a ``log`` on this hardware. The bone models multiply such powers
together (``mod_RANKL = adrenergic_action**gamma_AL * sclerostin_rel**gamma_SL * ...``)
and raise exponentials to powers (``sclerostin_rel = exp(...)``), so written in the log
domain they need fewer transcendental calls:

* ``b**e`` becomes ``exp(e*log(b))``, with ``log(b)`` computed once per kernel call
  however many powers share the base;
* the log of a value defined as ``exp(z)`` is ``z`` (no call at all);
* a product of several such factors becomes one ``exp`` of the sum of their logs.

This is an exact identity only for ``b > 0``. Every rewritten assignment therefore keeps
its original form as the fallback: it reads ``fused if b1 > 0 and b2 > 0 ... else
original``, so a zero or negative base (a state that undershoots zero, an
integer-valued exponent given as a parameter) is evaluated by ``pow`` exactly as before.
The two forms agree to a few units in the last place.

:func:`log_domain` works on an ordered list of assignments ``(name, expr)`` -- the
expressions a kernel computes followed by its outputs -- and returns the rewritten list
with the shared logarithms inserted where they are first needed, and with assignments
that no output uses any more (an ``exp`` now folded into a product) dropped.
"""

from __future__ import annotations

import math
from typing import Sequence

import sympy as sp

__all__ = ["log_domain"]


def _keep(ex: sp.Expr) -> bool:
    """Exponents printed without ``pow``: small integers (products) and +-1/2 (sqrt)."""
    return bool(ex.is_Integer) or ex in (sp.S.Half, -sp.S.Half)


def log_domain(
    assignments: Sequence[tuple[str, sp.Expr]],
    outputs: Sequence[str] | None = None,
    guard: str = "fallback",
    guards: list[sp.Expr] | None = None,
) -> list[tuple[str, sp.Expr]]:
    """Rewrite non-integer powers of ``assignments`` in the log domain (module docstring).

    ``outputs`` names the assignments whose values the kernel uses (default: all); any
    other assignment whose value is no longer needed after the rewrite is dropped.

    ``guard="fallback"`` (default) keeps the original form for non-positive bases, as
    described above. ``guard="flag"`` emits the log-domain form alone (``log(b)``
    unguarded) and appends every base whose logarithm is taken to ``guards``: the caller
    must check them and handle a non-positive base itself (the vectorised engine hands
    such a subject to the scalar one).
    """
    if guard not in ("fallback", "flag"):
        raise ValueError(f"guard must be 'fallback' or 'flag', got {guard!r}")
    logof: dict[sp.Symbol, sp.Expr] = {}  # name == exp(z), unconditionally
    logs: dict[sp.Expr, sp.Symbol] = {}  # base -> symbol holding its guarded log
    result: list[tuple[str, sp.Expr]] = []

    for name, expr in assignments:
        bases: list[sp.Expr] = []
        new_logs: list[tuple[str, sp.Expr]] = []

        # (bases and new_logs bound now: the helpers are used in this iteration only)
        def log_of(b: sp.Expr, bases=bases, new_logs=new_logs) -> sp.Expr:
            if b in logof:
                return logof[b]
            if isinstance(b, sp.exp):
                return b.args[0]
            if b.is_Number and b > 0:
                return sp.Float(math.log(float(b)))
            if b not in logs:
                s = sp.Symbol(f"_lg{len(logs)}")
                logs[b] = s
                if guard == "flag":
                    new_logs.append((s.name, sp.log(b, evaluate=False)))
                    if guards is not None:
                        guards.append(b)
                else:
                    new_logs.append((s.name,
                                     sp.Piecewise((sp.log(b), b > 0), (sp.Float(0.0), True))))
            if b not in bases:
                bases.append(b)
            return logs[b]

        def expish(a: sp.Expr) -> bool:
            return isinstance(a, sp.exp) or a in logof

        def rewrite(x: sp.Expr) -> sp.Expr:
            if x.is_Atom:
                return x
            args = [rewrite(a) for a in x.args]
            if isinstance(x, sp.Pow):
                base, ex = args
                if _keep(ex):
                    return sp.Pow(base, ex)
                return sp.exp(ex * log_of(base))
            if isinstance(x, sp.Mul):
                fold = [a for a in args if expish(a)]
                if len(fold) >= 2:
                    rest = [a for a in args if not expish(a)]
                    return sp.Mul(sp.exp(sp.Add(*[log_of(a) for a in fold])), *rest)
                return sp.Mul(*args)
            return x.func(*args)

        fused = rewrite(expr)
        result += new_logs
        if bases and guard == "fallback":
            cond = sp.And(*[b > 0 for b in bases])
            # the fallback spells out folded exponentials, so they need no variable
            inline = {s: sp.exp(z) for s, z in logof.items() if s in expr.free_symbols}
            result.append((name, sp.Piecewise((fused, cond), (expr.xreplace(inline), True))))
        else:
            result.append((name, fused))
            if isinstance(fused, sp.exp):
                logof[sp.Symbol(name)] = fused.args[0]

    # drop assignments nothing needs any more (e.g. an exp folded into a product)
    wanted = {n for n, _ in assignments} if outputs is None else set(outputs)
    keep: list[tuple[str, sp.Expr]] = []
    for name, e in reversed(result):
        if name in wanted:
            keep.append((name, e))
            wanted |= {s.name for s in e.free_symbols}
    return keep[::-1]
