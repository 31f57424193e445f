"""Kernels of several subjects at once ("lanes"): ``prev`` and ``rhsv``.

``prev(WK)`` (the parameter-only terms) and ``rhsv(WK)`` (the rates) evaluate the same
split right-hand side as the scalar ``pre``/``rhsc`` (:func:`split_rhs`) for ``LANES``
subjects together. Their formulas run in loops over the lanes that LLVM vectorises, cut
into *phases* at the calls to ``exp``/``log`` (``tanh`` through ``exp``), which go to a
vector math library for all lanes at once (``vexp(WK, offset)``/``vlog(WK, offset)``,
provided by the module that includes this source: :mod:`neurobone.engine.numerics.vecmath`).

Every operand lives in one flat work array ``WK``, one row of ``LANES`` values per
quantity: parameters (from ``OFF_P``), parameter-only terms (``OFF_C``, written by
``prev`` once per segment), states (``OFF_Y``), the lanes' times (``OFF_T``), scratch
rows (``OFF_S``) and the rates (``OFF_DY``, written by ``rhsv``); ``N_WORK`` is the
length of that layout. With one base pointer and offsets known when the code is
generated, LLVM can prove the lane loops free of aliasing and vectorises them.

Log-domain powers are emitted unguarded (``guard="flag"``): the integrator hands a
lane whose base is not positive (a non-finite value results) to the scalar engine.
"""

from __future__ import annotations

import sympy as sp

from neurobone.model.codegen.printer import code
from neurobone.model.codegen.split import pre_assignments, split_rhs
from neurobone.model.powers import log_domain
from neurobone.model.symbolic import SymbolicModel


def _lane_code(fname: str, body, homes: dict[str, int], inputs: dict[str, int], s_base: int,
               lanes: int, width: int) -> tuple[list[str], int]:
    """A function ``fname(WK)`` evaluating the assignments ``body`` for every lane.

    ``inputs`` and ``homes`` give the offsets in ``WK`` of the rows the assignments read
    and of those they produce (the outputs). Values a later phase needs travel through
    scratch rows from ``s_base``. Returns the source lines and the number of scratch
    rows used.
    """
    L = lanes
    nodes: list[tuple[str, sp.Symbol, sp.Expr]] = []  # (exp|log, result symbol, argument)
    level: dict[str, int] = {}

    def lvl(e: sp.Expr) -> int:
        return max([level.get(x.name, 0) for x in e.free_symbols], default=0)

    def extract(e: sp.Expr) -> sp.Expr:
        if e.is_Atom:
            return e
        args = [extract(a) for a in e.args]
        if isinstance(e, (sp.exp, sp.log)) and len(args) == 1:
            x = sp.Symbol(f"_t{len(nodes)}")
            nodes.append(("exp" if isinstance(e, sp.exp) else "log", x, args[0]))
            level[x.name] = lvl(args[0]) + 1
            return x
        if isinstance(e, sp.tanh) and len(args) == 1:
            # no vector tanh: a scalar call would keep LLVM from vectorising the whole
            # phase, so tanh(a) = 1 - 2/(exp(2a) + 1), its exp with the others (exp
            # overflowing to inf gives 1, underflowing to 0 gives -1)
            x = sp.Symbol(f"_t{len(nodes)}")
            nodes.append(("exp", x, 2 * args[0]))
            level[x.name] = lvl(args[0]) + 1
            return 1 - 2 / (x + 1)
        return e.func(*args, evaluate=False) if isinstance(e, (sp.Add, sp.Mul)) else e.func(*args)

    assigned: list[tuple[str, sp.Expr]] = []
    for name, e in body:
        e2 = extract(e)
        level[name] = lvl(e2)
        assigned.append((name, e2))
    arg_level = {x.name: level[x.name] - 1 for _, x, _ in nodes}
    phases = max([level[nm] for nm, _ in assigned] + [0])

    # values used in a later phase than they are computed in need a row of their own
    used_in: dict[str, set[int]] = {}
    for nm, e in assigned:
        for x in e.free_symbols:
            used_in.setdefault(x.name, set()).add(level[nm])
    for _, x, a in nodes:
        for y in a.free_symbols:
            used_in.setdefault(y.name, set()).add(arg_level[x.name])
    rows: dict[str, int] = {x.name: k for k, (_, x, _) in enumerate(nodes)}
    for nm, _ in assigned:
        if nm not in homes and any(q > level[nm] for q in used_in.get(nm, ())):
            rows[nm] = len(rows)
    where = dict(inputs)
    where.update(homes)
    where.update({x: s_base + r * L for x, r in rows.items()})

    lines = ["@jit", f"def {fname}(WK):"]
    for ph in range(phases + 1):
        items = [(nm, e) for nm, e in assigned if level[nm] == ph]
        args = [(k, x, a) for k, x, a in nodes if arg_level[x.name] == ph]
        local = {nm for nm, _ in items}
        need: set[str] = set()
        for _, e in items:
            need |= {x.name for x in e.free_symbols}
        for _, _, a in args:
            need |= {x.name for x in a.free_symbols}
        body_lines = [f"        {x} = WK[{where[x]} + j]" for x in sorted(need - local)]
        for nm, e in items:
            if not nm.isidentifier():  # an output such as dy[3]: stored, never read back
                body_lines.append(f"        WK[{homes[nm]} + j] = {code(e)}")
                continue
            body_lines.append(f"        {nm} = {code(e)}")
            if nm in homes or nm in rows:
                body_lines.append(f"        WK[{where[nm]} + j] = {nm}")
        for _, x, a in args:
            body_lines.append(f"        WK[{where[x.name]} + j] = {code(a)}")
        if items or args:
            lines += ["    for j in range(LANES):", *body_lines]
        for kind, x, _ in args:
            for q in range(L // width):
                lines.append(f"    v{kind}(WK, {where[x.name] + q * width})")
    lines += ["    return WK", ""]
    return lines, len(rows)


def lanes_source(sym: SymbolicModel, lanes: int, width: int) -> str:
    """``prev(WK)``, ``rhsv(WK)`` and the constants of their layout (module docstring):
    ``LANES``, ``WIDTH``, ``NS``, ``OFF_P``, ``OFF_C``, ``OFF_Y``, ``OFF_T``,
    ``OFF_S``, ``OFF_DY``, ``N_WORK``."""
    if lanes % width:
        raise ValueError(f"lanes ({lanes}) must be a multiple of the vector width ({width})")
    m = sym.model
    sr = split_rhs(sym, guard="flag")
    L = lanes
    n, npar, nc = len(m.state_names), len(m.parameter_names), max(len(sr.slots), 1)
    off_c = npar * L
    off_y = off_c + nc * L
    off_t = off_y + n * L
    off_s = off_t + L
    params = {x: i * L for i, x in enumerate(m.parameter_names)}
    consts = {x: off_c + k * L for k, x in enumerate(sr.slots)}
    states = {x: off_y + i * L for i, x in enumerate(m.state_names)}

    pre_body = log_domain(pre_assignments(sym, sr), sr.slots, guard="flag")
    pre_lines, pre_rows = _lane_code("prev", pre_body, consts, params, off_s, L, width)

    def rhsv(off_dy: int) -> tuple[list[str], int]:
        return _lane_code("rhsv", sr.body, {f"dy[{i}]": off_dy + i * L for i in range(n)},
                          {"t": off_t, **params, **consts, **states}, off_s, L, width)

    off_dy = off_s + max(rhsv(0)[1], pre_rows, 1) * L  # after the scratch rows
    rhs_lines, _ = rhsv(off_dy)
    layout = dict(LANES=L, WIDTH=width, NS=n, NC=nc, OFF_P=0, OFF_C=off_c, OFF_Y=off_y, OFF_T=off_t,
                  OFF_S=off_s, OFF_DY=off_dy, N_WORK=off_dy + n * L)
    head = [f"{k} = {v}" for k, v in layout.items()]
    # which parameters each parameter-only term depends on (directly or through others)
    deps: dict[str, set[str]] = {}
    for name, e in pre_assignments(sym, sr):
        deps[name] = set()
        for x in e.free_symbols:
            deps[name] |= deps.get(x.name, {x.name} if x.name in params else set())
    rows = [[int(q in deps.get(slot, set())) for q in m.parameter_names] for slot in sr.slots]
    head.append(f"#: CDEP[k, i]: parameter-only term k depends on parameter i\n"
                f"CDEP = np.array({rows or [[0] * npar]}, dtype=np.bool_)")
    return "\n".join(head + ["", ""] + pre_lines + ["", ""] + rhs_lines)
