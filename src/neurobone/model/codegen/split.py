"""The right-hand side split for segment-wise evaluation: ``pre`` and ``rhsc``.

Between two change points of a schedule the parameters are constant, so everything
that depends on parameters only is the same for a whole segment: the expressions of
parameters only (exercise drive, PTH, neutral couplings) and, inside the others, every
maximal parameter-only subterm (``1/tau_M``, ``k_cons + k_lab``, ``alpha/D_TGFb``, ...).
:func:`split_rhs` moves these to ``pre`` (evaluated once per segment into a vector
``c``); the rest, with its powers in the log domain
(:func:`neurobone.model.powers.log_domain`), is evaluated at every stage by ``rhsc``.
The arithmetic is the model's up to rounding (``x/D`` becomes ``x*(1/D)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from neurobone.model.codegen.printer import code
from neurobone.model.codegen.scalar import needed_expressions, unpack
from neurobone.model.powers import log_domain
from neurobone.model.symbolic import SymbolicModel


@dataclass
class SplitRhs:
    """The right-hand side split in two (see the module docstring)."""

    const: list[str]  #: parameter-only expressions, in evaluation order (``pre``)
    table: dict  #: parameter-only subterm -> its slot symbol ``_c<k>`` (``pre``)
    slots: list[str]  #: names stored in ``c``, in order
    body: list[tuple[str, sp.Expr]]  #: per-stage assignments, ending with ``dy[i]``


def split_rhs(sym: SymbolicModel, guard: str = "fallback") -> SplitRhs:
    """Split ``sym``'s right-hand side; ``guard`` as in :func:`log_domain`."""
    m = sym.model
    needed = needed_expressions(sym)
    invariant = set(m.parameter_names)
    const: list[str] = []
    for name, e in sym.expressions:
        if name in needed and {x.name for x in e.free_symbols} <= invariant:
            const.append(name)
            invariant.add(name)
    table: dict[sp.Expr, sp.Symbol] = {}

    def is_inv(e: sp.Expr) -> bool:
        return {x.name for x in e.free_symbols} <= invariant

    def slot(e: sp.Expr) -> sp.Expr:
        if e.is_Symbol or e.is_Number:
            return e
        if e not in table:
            table[e] = sp.Symbol(f"_c{len(table)}")
        return table[e]

    def hoist(e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        if is_inv(e):
            return slot(e)
        if isinstance(e, (sp.Add, sp.Mul)):
            inv = [a for a in e.args if is_inv(a)]
            var = [hoist(a) for a in e.args if not is_inv(a)]
            if len(inv) > 1:
                return e.func(slot(e.func(*inv)), *var, evaluate=False)
            return e.func(*[slot(a) for a in inv], *var, evaluate=False)
        return e.func(*[hoist(a) for a in e.args], evaluate=False)

    body = [(n, hoist(e)) for n, e in sym.expressions if n in needed and n not in const]
    outs = [f"dy[{i}]" for i in range(len(sym.rates))]
    body += [(o, hoist(r)) for o, r in zip(outs, sym.rates, strict=True)]
    body = log_domain(body, outs, guard=guard)
    slots = list(const) + [str(v) for v in table.values()]
    return SplitRhs(const, table, slots, body)


def pre_assignments(sym: SymbolicModel, split: SplitRhs) -> list[tuple[str, sp.Expr]]:
    """What ``pre`` computes, in order: the parameter-only expressions, then the slots."""
    exprs = dict(sym.expressions)
    return [(x, exprs[x]) for x in split.const] + [(str(v), e) for e, v in split.table.items()]


def split_source(sym: SymbolicModel) -> str:
    """``pre(p, c)`` and ``rhsc(t, y, p, c, dy)``, and ``N_CONST`` (the length of ``c``).

    ``pre`` computes the parameter-only terms into ``c``; ``rhsc``, generated from the
    same parsed formulas as ``rhs``, reads them from ``c``.
    """
    m = sym.model
    params = set(m.parameter_names)
    sr = split_rhs(sym)
    pre = [f"    {n} = {code(e)}" for n, e in pre_assignments(sym, sr)]
    pre += [f"    c[{k}] = {n}" for k, n in enumerate(sr.slots)]
    body = [f"    {n} = c[{k}]" for k, n in enumerate(sr.slots)]
    body += [f"    {n} = {code(e)}" for n, e in sr.body]
    names = set(m.state_names) | params
    return "\n".join([f"N_CONST = {max(len(sr.slots), 1)}", "", "",
                      "@jit", "def pre(p, c):", *unpack(sym, params), *pre, "    return c", "",
                      "", "@jit", "def rhsc(t, y, p, c, dy):", *unpack(sym, names), *body,
                      "    return dy", ""])
