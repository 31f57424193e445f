"""Python source of SymPy expressions, as the generated kernels need it."""

from __future__ import annotations

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter


class KernelPrinter(PythonCodePrinter):
    """SymPy's Python printer with small integer powers written as products and
    reciprocals as divisions (both cheaper than ``pow`` in compiled code)."""

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.as_base_exp()
        if exp.is_Integer and 1 < int(exp) <= 4:
            b = self.parenthesize(base, 100)
            # parenthesised: the product may follow a division (x/(b*b), not x/b*b)
            return "(" + "*".join([b] * int(exp)) + ")"
        if exp == -1:
            return f"1.0/{self.parenthesize(base, 100)}"
        return super()._print_Pow(expr, rational=rational)


def code(expr: sp.Expr) -> str:
    """Python source of ``expr`` (``math.`` functions, fully qualified)."""
    return KernelPrinter({"fully_qualified_modules": True}).doprint(sp.sympify(expr))
