"""Scalar kernels of one subject: the right-hand side, its Jacobian, the observed
expressions and the time derivative of the right-hand side.

Every function generated here takes ``(t, y, p, out)`` -- time, state vector,
parameter vector and an output array it fills and returns -- and is decorated with
``@jit``, a name the module that includes the source defines (the engine's kernel
loader: :mod:`neurobone.engine.kernels`).
"""

from __future__ import annotations

import sympy as sp

from neurobone.model.codegen.printer import code
from neurobone.model.powers import log_domain
from neurobone.model.symbolic import SymbolicModel


def unpack(sym: SymbolicModel, used: set[str], indent: str = "    ") -> list[str]:
    """Lines binding the states (from ``y``) and parameters (from ``p``) in ``used``."""
    lines = [f"{indent}{n} = y[{i}]" for i, n in enumerate(sym.model.state_names) if n in used]
    lines += [f"{indent}{n} = p[{i}]" for i, n in enumerate(sym.model.parameter_names)
              if n in used]
    return lines


def needed_expressions(sym: SymbolicModel) -> set[str]:
    """Names of the expressions the rates depend on, directly or through others."""
    exprs = dict(sym.expressions)
    todo = [s.name for r in sym.rates for s in r.free_symbols]
    needed: set[str] = set()
    while todo:
        n = todo.pop()
        if n in exprs and n not in needed:
            needed.add(n)
            todo += [s.name for s in exprs[n].free_symbols]
    return needed


def rhs_source(sym: SymbolicModel) -> str:
    """``rhs(t, y, p, dy)``: the rates, with the expressions they need, powers in the
    log domain (:func:`neurobone.model.powers.log_domain`)."""
    needed = needed_expressions(sym)
    outs = [f"dy[{i}]" for i in range(len(sym.rates))]
    assign = ([(n, e) for n, e in sym.expressions if n in needed]
              + list(zip(outs, sym.rates, strict=True)))
    body = [f"    {n} = {code(e)}" for n, e in log_domain(assign, outs)]
    names = set(sym.model.state_names) | set(sym.model.parameter_names)
    return "\n".join(["@jit", "def rhs(t, y, p, dy):", *unpack(sym, names), *body,
                      "    return dy", ""])


def jac_source(sym: SymbolicModel) -> str:
    """``jac(t, y, p, J)``: the analytic Jacobian d(rhs)/dy (SymPy, with common
    subexpressions eliminated)."""
    J = sym.jacobian
    n = len(sym.model.states)
    entries = [(i, j, J[i, j]) for i in range(n) for j in range(n) if J[i, j] != 0]
    repl, reduced = sp.cse([e for _, _, e in entries], symbols=sp.numbered_symbols("_x"))
    body = [f"    {s} = {code(e)}" for s, e in repl]
    body += [f"    J[{i}, {j}] = {code(e)}" for (i, j, _), e in zip(entries, reduced, strict=True)]
    names = set(sym.model.state_names) | set(sym.model.parameter_names)
    return "\n".join(["@jit", "def jac(t, y, p, J):", *unpack(sym, names), "    J[:, :] = 0.0",
                      *body, "    return J", ""])


def observe_source(sym: SymbolicModel) -> str:
    """``observe(t, y, p, out)``: every expression, in ``model.expression_names`` order."""
    body = [f"    {n} = {code(e)}" for n, e in sym.expressions]
    body += [f"    out[{i}] = {name}" for i, name in enumerate(sym.model.expression_names)]
    names = set(sym.model.state_names) | set(sym.model.parameter_names)
    return "\n".join(["@jit", "def observe(t, y, p, out):", *unpack(sym, names), *body,
                      "    return out", ""])


def dfdt_source(sym: SymbolicModel) -> str:
    """``dfdt(t, y, p, out)``: d(rhs)/dt (zero unless a formula uses ``t``) and the
    constant ``HAS_T`` saying whether any does."""
    t = sp.Symbol("t")
    rates = sym.substituted_rates
    has_t = any(r.has(t) for r in rates)
    body = [f"    out[{i}] = {code(sp.diff(r, t))}" for i, r in enumerate(rates)] if has_t else []
    names = set(sym.model.state_names) | set(sym.model.parameter_names)
    lines = [f"HAS_T = {has_t}", "", "", "@jit", "def dfdt(t, y, p, out):"]
    lines += [*unpack(sym, names), *body] if has_t else []
    return "\n".join([*lines, "    return out", ""])


def scalar_source(sym: SymbolicModel) -> str:
    """The four scalar kernels and the constants ``HAS_T`` and ``HAS_EXPR``."""
    parts = [rhs_source(sym), jac_source(sym), observe_source(sym), dfdt_source(sym),
             f"HAS_EXPR = {len(sym.model.expressions) > 0}", ""]
    return "\n\n".join(parts)
