"""Parse a :class:`~neurobone.model.definition.Model`'s formulas once, with SymPy.

:class:`SymbolicModel` is the single parsed form every backend is generated from:
code generation (:mod:`neurobone.model.codegen`) and SBML export
(:mod:`neurobone.io.sbml`) both read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp
from sympy.parsing.sympy_parser import parse_expr

from neurobone.errors import ModelError
from neurobone.model.definition import Model

#: functions a formula may call (all have an SBML MathML counterpart)
FUNCTIONS = {
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "tanh": sp.tanh,
    "Abs": sp.Abs,
}


@dataclass
class SymbolicModel:
    """Parsed formulas: ``expressions`` in evaluation order, ``rates`` per state."""

    model: Model
    symbols: dict[str, sp.Symbol]
    expressions: list[tuple[str, sp.Expr]]  # topologically ordered
    rates: list[sp.Expr]  # one per state, in model.states order

    @property
    def state_symbols(self) -> list[sp.Symbol]:
        return [self.symbols[n] for n in self.model.state_names]

    @property
    def parameter_symbols(self) -> list[sp.Symbol]:
        return [self.symbols[n] for n in self.model.parameter_names]

    @cached_property
    def substituted_rates(self) -> list[sp.Expr]:
        """Rates with every expression substituted (functions of states and parameters)."""
        return [_substitute(r, self.expressions) for r in self.rates]

    def substituted(self, name: str) -> sp.Expr:
        """A state or expression as a function of states and parameters only."""
        if name in self.model.state_names:
            return self.symbols[name]
        for n, e in self.expressions:
            if n == name:
                return _substitute(e, self.expressions)
        raise ModelError(f"unknown state or expression {name!r}")

    @cached_property
    def jacobian(self) -> sp.Matrix:
        y = self.state_symbols
        return sp.Matrix([[sp.diff(r, s) for s in y] for r in self.substituted_rates])


def _substitute(expr: sp.Expr, ordered: list[tuple[str, sp.Expr]]) -> sp.Expr:
    # walk in reverse order: later expressions may use earlier ones
    for name, e in reversed(ordered):
        sym = sp.Symbol(name)
        if expr.has(sym):
            expr = expr.xreplace({sym: e})
    return expr


def parse(model: Model) -> SymbolicModel:
    """Parse and check every formula of ``model``.

    Raises :class:`ModelError` naming the formula that is malformed, refers to an unknown
    name, or closes a cycle between expressions.
    """
    names = model.parameter_names + model.state_names + model.expression_names
    symbols = {n: sp.Symbol(n) for n in names}
    local = {**symbols, **FUNCTIONS}

    def _parse(text: str, where: str) -> sp.Expr:
        try:
            expr = parse_expr(text, local_dict=local, evaluate=True)
        except Exception as exc:  # noqa: BLE001 - re-raised with context
            raise ModelError(f"{model.name}: cannot parse {where} = {text!r}: {exc}") from None
        unknown = {s.name for s in expr.free_symbols} - set(names) - {"t"}
        if unknown:
            raise ModelError(f"{model.name}: {where} uses unknown names {sorted(unknown)}")
        return sp.sympify(expr)

    parsed = {e.name: _parse(e.formula, f"expression {e.name}") for e in model.expressions}
    # topological order of expressions
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, stack: tuple[str, ...]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            raise ModelError(f"{model.name}: expressions form a cycle: {' -> '.join(stack + (n,))}")
        state[n] = 1
        for dep in sorted(s.name for s in parsed[n].free_symbols):
            if dep in parsed:
                visit(dep, stack + (n,))
        state[n] = 2
        order.append(n)

    for n in parsed:
        visit(n, ())
    rates = [_parse(s.rate, f"d{s.name}/dt") for s in model.states]
    return SymbolicModel(
        model=model,
        symbols=symbols,
        expressions=[(n, parsed[n]) for n in order],
        rates=rates,
    )
