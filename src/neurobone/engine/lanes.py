"""Lock-step integration of several subjects per SIMD instruction ("lanes").

Most of the batched engine's time is the model's right-hand side, and most of that is its
``exp`` and ``log`` calls (:mod:`neurobone.model.powers`). A scalar call computes one
subject's value; glibc's vector math library (libmvec, part of every x86-64 glibc) has
variants that compute 8 (AVX-512) or 4 (AVX2) at once to the same accuracy (a few units
in the last place). Numba cannot vectorise those calls by itself (its LLVM has no vector
math library attached), so this module

* generates ``prev`` and ``rhsv``, the parameter-only terms and the right-hand side of
  ``LANES`` subjects at once, from the same split form as the scalar ``pre``/``rhsc``
  (:func:`neurobone.engine.batch.split_rhs`): the formulas run in lane loops that LLVM
  vectorises, cut into *phases* at the calls to ``exp``/``log``, which go to libmvec for
  all lanes together through two small Numba intrinsics;
* runs Dormand & Prince 5(4) on ``LANES`` subjects in lock step: every lane has its own
  step size, error control, dense output and save points, exactly as the scalar engine;
  lanes only wait for each other at the change points of the schedule they share.

A lane whose subject becomes non-finite, fails, meets a non-positive base of a
log-domain power or turns stiff (its steps limited by stability for a long stretch) is
*handed over*: the scalar engine integrates that subject again from day 0 with the
requested method. Lanes in one block share one schedule;
:func:`neurobone.engine.batch.simulate_batch` groups the subjects by schedule.

:func:`available` says whether the lanes can run here (x86-64 with AVX2 or AVX-512,
libmvec found, Numba compiling for the host CPU); :mod:`neurobone.engine.batch` uses
them when they can, and ``NEUROBONE_LANES=0`` turns them off.
"""

from __future__ import annotations

import ctypes.util
import functools
import hashlib
import os
import platform
from types import ModuleType

import sympy as sp

__all__ = ["available", "vector_width", "lanes_kernels", "HANDOVER"]

#: status code of a lane handed over to the scalar engine
HANDOVER = 9
#: consecutive stability-limited steps after which a lane is handed over (to RODAS)
STIFF_LIMIT = 2000
#: vectors per lane block: 2 x 8 = 16 subjects per block with AVX-512 (measured: 1 vector
#: per block leaves the per-step bookkeeping dominant, 4 gain nothing over 2)
LANE_VECTORS = 2


@functools.lru_cache(maxsize=1)
def vector_width() -> int:
    """Doubles per libmvec call on this machine: 8 (AVX-512), 4 (AVX2) or 0 (no lanes).

    ``NEUROBONE_LANES=0`` turns the lanes off; ``NEUROBONE_LANES=4`` uses the AVX2
    variants even where AVX-512 is there (to test them).
    """
    setting = os.environ.get("NEUROBONE_LANES", "1")
    if setting == "0":
        return 0
    if platform.machine() not in ("x86_64", "AMD64") or not platform.system() == "Linux":
        return 0
    import llvmlite.binding as llb
    from numba.core import config

    if config.CPU_NAME not in (None, "host"):
        return 0  # compiling for another CPU: the host's vector units may not be there
    lib = ctypes.util.find_library("mvec") or "libmvec.so.1"
    try:
        llb.load_library_permanently(lib)
    except RuntimeError:
        return 0
    feats = llb.get_host_cpu_features()
    if feats.get("avx512f", False) and setting != "4":
        return 8
    if feats.get("avx2", False):
        return 4
    return 0


def available() -> bool:
    """Whether the lock-step vectorised engine can run on this machine."""
    return vector_width() > 0


# ----------------------------------------------------------------------------- intrinsics
def _vector_call(name: str, width: int):
    """A Numba intrinsic ``f(S, off)``: ``S.flat[off:off+W] = name(S.flat[off:off+W])``
    for a C-contiguous float64 array ``S``, ``name`` a libmvec function of W doubles."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

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


# AVX-512 and AVX2 variants (Intel vector function ABI names: e = AVX-512, d = AVX2)
vexp8 = _vector_call("_ZGVeN8v_exp", 8)
vlog8 = _vector_call("_ZGVeN8v_log", 8)
vexp4 = _vector_call("_ZGVdN4v_exp", 4)
vlog4 = _vector_call("_ZGVdN4v_log", 4)


# ----------------------------------------------------------------------------- codegen
def _lane_code(fname: str, body, homes: dict[str, int], inputs: dict[str, int], s_base: int,
               lanes: int, width: int) -> tuple[list[str], int]:
    """A function ``fname(WK)`` evaluating the assignments ``body`` for every lane.

    ``inputs`` and ``homes`` give the offsets in ``WK`` of the rows the assignments read
    and of those they produce (the outputs). The assignments run in lane loops that LLVM
    vectorises, cut into phases at their ``exp``/``log`` calls, which go to libmvec for
    all lanes at once; values a later phase needs travel through scratch rows from
    ``s_base``. Returns the source lines and the number of scratch rows used.
    """
    from neurobone.model.codegen import _code

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

    lines = ["@_jit", f"def {fname}(WK):"]
    for ph in range(phases + 1):
        items = [(nm, e) for nm, e in assigned if level[nm] == ph]
        args = [(k, x, a) for k, x, a in nodes if arg_level[x.name] == ph]
        local = {nm for nm, _ in items}
        need: set[str] = set()
        for _, e in items:
            need |= {x.name for x in e.free_symbols}
        for _, _, a in args:
            need |= {x.name for x in a.free_symbols}
        code = [f"        {x} = WK[{where[x]} + j]" for x in sorted(need - local)]
        for nm, e in items:
            if not nm.isidentifier():  # an output such as dy[3]: stored, never read back
                code.append(f"        WK[{homes[nm]} + j] = {_code(e)}")
                continue
            code.append(f"        {nm} = {_code(e)}")
            if nm in homes or nm in rows:
                code.append(f"        WK[{where[nm]} + j] = {nm}")
        for _, x, a in args:
            code.append(f"        WK[{where[x.name]} + j] = {_code(a)}")
        if items or args:
            lines += ["    for j in range(LANES):", *code]
        for kind, x, _ in args:
            for q in range(L // width):
                lines.append(f"    v{kind}(WK, {where[x.name] + q * width})")
    lines += ["    return WK", ""]
    return lines, len(rows)


def _lanes_source(cm, lanes: int, width: int) -> tuple[str, dict[str, int]]:
    """Source of ``prev(WK)`` and ``rhsv(WK)`` and the layout of their work array.

    Every operand lives in the flat work array ``WK``, one row of LANES values per
    quantity: parameters (from ``OFF_P``), parameter-only terms (``OFF_C``, computed by
    ``prev`` once per segment), states (``OFF_Y``), the lanes' times (``OFF_T``),
    scratch rows (``OFF_S``) and the rates (``OFF_DY``, computed by ``rhsv``). With one
    base pointer and offsets known at compile time, LLVM can prove the lane loops free
    of aliasing and vectorises them.
    """
    from neurobone.engine.batch import split_rhs
    from neurobone.model.powers import log_domain
    from neurobone.model.symbolic import parse

    m = cm.model
    sr = split_rhs(cm, guard="flag")
    L = lanes
    n, npar, nc = len(m.state_names), len(m.parameter_names), max(len(sr.slots), 1)
    off_c = npar * L
    off_y = off_c + nc * L
    off_t = off_y + n * L
    off_s = off_t + L
    params = {x: i * L for i, x in enumerate(m.parameter_names)}
    consts = {x: off_c + k * L for k, x in enumerate(sr.slots)}
    states = {x: off_y + i * L for i, x in enumerate(m.state_names)}

    exprs = dict(parse(m).expressions)
    pre_body = [(x, exprs[x]) for x in sr.const] + [(str(v), e) for e, v in sr.table.items()]
    pre_body = log_domain(pre_body, sr.slots, guard="flag")
    pre_lines, pre_rows = _lane_code("prev", pre_body, consts, params, off_s, L, width)

    def rhsv(off_dy: int) -> tuple[list[str], int]:
        return _lane_code("rhsv", sr.body, {f"dy[{i}]": off_dy + i * L for i in range(n)},
                          {"t": off_t, **params, **consts, **states}, off_s, L, width)

    off_dy = off_s + max(rhsv(0)[1], pre_rows, 1) * L  # after the scratch rows
    rhs_lines, _ = rhsv(off_dy)
    layout = dict(OFF_P=0, OFF_C=off_c, OFF_Y=off_y, OFF_T=off_t, OFF_S=off_s, OFF_DY=off_dy,
                  N_WORK=off_dy + n * L)
    return "\n".join(pre_lines + [""] + rhs_lines), layout


_TEMPLATE = r'''
# generated by neurobone.engine.lanes for model __MODEL__; do not edit
import math
import sys

import numpy as np
from numba import njit, prange

from neurobone.engine.lanes import __VEXP__ as vexp, __VLOG__ as vlog, vector_width

if vector_width() != __WIDTH__:  # also loads libmvec, which the compiled code calls
    raise ImportError("this machine lacks the vector width the lanes were generated for")

_b = sys.modules["__BATCH__"]
_params_at = _b._params_at
_next_change = _b._next_change
_record = _b._record

LANES = __LANES__
WIDTH = __WIDTH__
NS = __NS__
__LAYOUT__
HANDOVER = __HANDOVER__
# stands for "the subject's own value" when change points are found for all lanes at once
PLACEHOLDER = -1.2345678901234567e300
STIFF_LIMIT = __STIFF__

_jit = njit(cache=True, nogil=True, error_model="numpy")

__RHSV__

# Dormand & Prince 5(4) coefficients, as in the scalar engine's module
for _name in dir(_b):
    if _name[:2] in ("DA", "DC", "DE", "DD") and _name[2:].isdigit():
        globals()[_name] = getattr(_b, _name)


# the integrator's own regions of WK, after rhsv's
NL = NS * LANES
O_Y = N_WORK
O_YT = OFF_Y  # the stage arguments are written straight into rhsv's input rows
O_YN = O_Y + NL
O_K1 = O_YN + NL
O_K2 = O_K1 + NL
O_K3 = O_K2 + NL
O_K4 = O_K3 + NL
O_K5 = O_K4 + NL
O_K6 = O_K5 + NL
O_K7 = O_K6 + NL
O_HS = O_K7 + NL
O_ERR = O_HS + LANES
O_SN = O_ERR + LANES
O_SD = O_SN + LANES
O_E = O_SD + LANES  # error norm
O_LE = O_E + LANES  # log of the error norm (kept within 1e-10..)
O_LFO = O_LE + LANES  # log of the previous accepted error norm (PI control)
O_FAC = O_LFO + LANES  # step-size factor
O_ACC = O_FAC + LANES  # 1.0 where the lane accepts its step
N_ALL = O_ACC + LANES
LOG09 = math.log(0.9)
LOG1EM4 = math.log(1e-4)


@_jit
def _set_lane(j, p, WK):
    # lane j's parameters into the work array
    for i in range(p.shape[0]):
        WK[OFF_P + i * LANES + j] = p[i]


@_jit
def _set_switched(j, p, sq, WK):
    # after a change point only the overridden parameters change
    for r in range(sq.shape[0]):
        WK[OFF_P + sq[r] * LANES + j] = p[sq[r]]


@_jit
def _times(WK, tl, c):
    for j in range(LANES):
        WK[OFF_T + j] = tl[j] + c * WK[O_HS + j]


@_jit
def _finite(WK, off, j):
    for i in range(NS):
        if not (abs(WK[off + i * LANES + j]) <= 1e308):
            return False
    return True


@_jit
def _column(WK, off, j, buf):
    for i in range(NS):
        buf[i] = WK[off + i * LANES + j]


@_jit
def _dp5(WK, tl, rtol, atol):
    # one Dormand-Prince 5(4) step of every lane from Y with K1 = f(Y) and step sizes HS
    # (HS = 0 on idle lanes: harmless work): YN, K2..K7, and per lane the squared error
    # sum (ERR) and the two sums of Hairer's stiffness estimate (SN, SD)
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            WK[O_YT + k] = WK[O_Y + k] + WK[O_HS + j] * (DA21 * WK[O_K1 + k])
    _times(WK, tl, DC2)
    rhsv(WK)
    for k in range(NL):
        WK[O_K2 + k] = WK[OFF_DY + k]
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            WK[O_YT + k] = WK[O_Y + k] + WK[O_HS + j] * (DA31 * WK[O_K1 + k]
                                                         + DA32 * WK[O_K2 + k])
    _times(WK, tl, DC3)
    rhsv(WK)
    for k in range(NL):
        WK[O_K3 + k] = WK[OFF_DY + k]
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            WK[O_YT + k] = WK[O_Y + k] + WK[O_HS + j] * (DA41 * WK[O_K1 + k]
                                                         + DA42 * WK[O_K2 + k]
                                                         + DA43 * WK[O_K3 + k])
    _times(WK, tl, DC4)
    rhsv(WK)
    for k in range(NL):
        WK[O_K4 + k] = WK[OFF_DY + k]
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            WK[O_YT + k] = WK[O_Y + k] + WK[O_HS + j] * (DA51 * WK[O_K1 + k]
                                                         + DA52 * WK[O_K2 + k]
                                                         + DA53 * WK[O_K3 + k]
                                                         + DA54 * WK[O_K4 + k])
    _times(WK, tl, DC5)
    rhsv(WK)
    for k in range(NL):
        WK[O_K5 + k] = WK[OFF_DY + k]
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            WK[O_YT + k] = WK[O_Y + k] + WK[O_HS + j] * (DA61 * WK[O_K1 + k]
                                                         + DA62 * WK[O_K2 + k]
                                                         + DA63 * WK[O_K3 + k]
                                                         + DA64 * WK[O_K4 + k]
                                                         + DA65 * WK[O_K5 + k])
    _times(WK, tl, 1.0)
    rhsv(WK)
    for k in range(NL):
        WK[O_K6 + k] = WK[OFF_DY + k]
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            WK[O_YN + k] = WK[O_Y + k] + WK[O_HS + j] * (DA71 * WK[O_K1 + k]
                                                         + DA73 * WK[O_K3 + k]
                                                         + DA74 * WK[O_K4 + k]
                                                         + DA75 * WK[O_K5 + k]
                                                         + DA76 * WK[O_K6 + k])
    # Hairer's stiffness estimate needs the last stage's argument, about to be replaced
    for j in range(LANES):
        WK[O_ERR + j] = 0.0
        WK[O_SN + j] = 0.0
        WK[O_SD + j] = 0.0
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            b = WK[O_YN + k] - WK[O_YT + k]
            WK[O_SD + j] += b * b
    for k in range(NL):
        WK[OFF_Y + k] = WK[O_YN + k]
    rhsv(WK)
    for k in range(NL):
        WK[O_K7 + k] = WK[OFF_DY + k]
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            ei = WK[O_HS + j] * (DE1 * WK[O_K1 + k] + DE3 * WK[O_K3 + k]
                                 + DE4 * WK[O_K4 + k] + DE5 * WK[O_K5 + k]
                                 + DE6 * WK[O_K6 + k] + DE7 * WK[O_K7 + k])
            sk = atol[i] + rtol * max(abs(WK[O_Y + k]), abs(WK[O_YN + k]))
            r = ei / sk
            a = WK[O_K7 + k] - WK[O_K6 + k]
            WK[O_ERR + j] += r * r
            WK[O_SN + j] += a * a


@_jit
def _dense(WK, j, hs, th, buf):
    # Dormand-Prince's continuous extension of lane j's last step at fraction th
    th1 = 1.0 - th
    for i in range(NS):
        k = i * LANES + j
        y = WK[O_Y + k]
        r2 = WK[O_YN + k] - y
        r3 = hs * WK[O_K1 + k] - r2
        r4 = r2 - hs * WK[O_K7 + k] - r3
        r5 = hs * (DD1 * WK[O_K1 + k] + DD3 * WK[O_K3 + k] + DD4 * WK[O_K4 + k]
                   + DD5 * WK[O_K5 + k] + DD6 * WK[O_K6 + k] + DD7 * WK[O_K7 + k])
        buf[i] = y + th * (r2 + th1 * (r3 + th * (r4 + th1 * r5)))


@_jit
def _control(WK, act):
    # Hairer's DOPRI5 step-size control (PI, beta = 0.04) for every lane at once:
    # O_E = error norm, O_ACC = accepted (active lanes), O_FAC = h_new / h
    for j in range(LANES):
        e = math.sqrt(WK[O_ERR + j] / NS)
        WK[O_E + j] = e
        WK[O_LE + j] = max(e, 1e-10) if e <= 1e300 else 1.0
    for q in range(0, LANES, WIDTH):
        vlog(WK, O_LE + q)
    for j in range(LANES):
        ok = WK[O_E + j] <= 1.0
        WK[O_FAC + j] = LOG09 - 0.17 * WK[O_LE + j] + (0.04 * WK[O_LFO + j] if ok else 0.0)
        WK[O_ACC + j] = 1.0 if (ok and act[j]) else 0.0
    for q in range(0, LANES, WIDTH):
        vexp(WK, O_FAC + q)
    for j in range(LANES):
        f = WK[O_FAC + j]  # 1/fac of the scalar engine
        WK[O_FAC + j] = min(10.0, max(0.2, f)) if WK[O_ACC + j] > 0.5 else max(0.2, f)
        if WK[O_ACC + j] > 0.5:
            WK[O_LFO + j] = max(WK[O_LE + j], LOG1EM4)


@_jit
def _advance(WK):
    # accepted lanes move on: Y = YN, K1 = K7 (FSAL)
    for i in range(NS):
        for j in range(LANES):
            k = i * LANES + j
            a = WK[O_ACC + j] > 0.5
            WK[O_Y + k] = WK[O_YN + k] if a else WK[O_Y + k]
            WK[O_K1 + k] = WK[O_K7 + k] if a else WK[O_K1 + k]


@_jit
def integrate_block(first, count, P, Y0, sq, sv, ss, se, sm, q0, v0, s0, e0, m0,
                    save_t, kind, idx, t_end, rtol, atol, h0, hmax, max_steps, n_expr,
                    out, status, fail_t, steps, rejected):
    """Dormand-Prince 5(4) for subjects first .. first+count-1 (count <= LANES) in lock
    step; lanes beyond count repeat the last subject and are discarded."""
    npar = P.shape[1]
    T = save_t.shape[0]
    WK = np.zeros(N_ALL)
    for j in range(LANES):
        WK[O_LFO + j] = LOG1EM4
    tl = np.zeros(LANES)
    h = np.full(LANES, h0)
    firstrej = np.ones(LANES, np.bool_)
    alive = np.ones(LANES, np.bool_)
    active = np.zeros(LANES, np.bool_)
    clipped = np.zeros(LANES, np.bool_)
    ks = np.zeros(LANES, np.int64)
    acc = np.zeros(LANES, np.int64)
    rej = np.zeros(LANES, np.int64)
    nstiff = np.zeros(LANES, np.int64)
    sub = np.empty(LANES, np.int64)
    p = np.empty((LANES, npar))
    bs = np.full(npar, PLACEHOLDER)
    ps = np.full(npar, PLACEHOLDER)
    pns = np.full(npar, PLACEHOLDER)
    _params_at(0.0, bs, ps, sq, sv, ss, se, sm, q0, v0, s0, e0, m0, 0, 0)
    ybuf = np.empty(NS)
    obuf = np.empty(max(n_expr, 1))

    for j in range(LANES):
        sub[j] = first + min(j, count - 1)
        for i in range(NS):
            WK[O_Y + i * LANES + j] = Y0[sub[j], i]
        for i in range(npar):
            p[j, i] = P[sub[j], i]
        _params_at(0.0, P[sub[j]], p[j], sq, sv, ss, se, sm, q0, v0, s0, e0, m0, 0, 0)
        _set_lane(j, p[j], WK)
    prev(WK)

    tseg = 0.0
    while True:
        for j in range(LANES):
            if alive[j]:
                while ks[j] < T and save_t[ks[j]] <= tseg:
                    _column(WK, O_Y, j, ybuf)
                    _record(tseg, ybuf, p[j], obuf, kind, idx, out[sub[j], ks[j]])
                    ks[j] += 1
        if tseg >= t_end:
            break
        # the next change point, the same for every lane: computed from the shared rows
        # with a placeholder for the subjects' own base values, so that it never depends
        # on which subjects share the block
        tb = _next_change(tseg, t_end, ps, bs, pns, sq, sv, ss, se, sm, q0, v0, s0, e0, m0,
                          0, 0)
        for j in range(LANES):
            tl[j] = tseg
            WK[O_HS + j] = 0.0
        _times(WK, tl, 0.0)
        for k in range(NL):
            WK[OFF_Y + k] = WK[O_Y + k]
        rhsv(WK)
        for k in range(NL):
            WK[O_K1 + k] = WK[OFF_DY + k]
        for j in range(LANES):
            active[j] = alive[j]
            if alive[j] and not _finite(WK, O_K1, j):
                alive[j] = False
                active[j] = False
                status[sub[j]] = HANDOVER
        while True:
            any_active = False
            for j in range(LANES):
                WK[O_HS + j] = 0.0
                clipped[j] = False
                if active[j]:
                    if acc[j] + rej[j] >= max_steps:
                        alive[j] = False
                        active[j] = False
                        status[sub[j]] = HANDOVER
                        continue
                    hs = h[j]
                    if tl[j] + 1.0001 * hs >= tb:
                        hs = tb - tl[j]
                        clipped[j] = True
                    if hs < 1e-14 * max(1.0, abs(tl[j])) * 64.0:
                        alive[j] = False
                        active[j] = False
                        status[sub[j]] = HANDOVER
                        continue
                    WK[O_HS + j] = hs
                    any_active = True
            if not any_active:
                break
            _dp5(WK, tl, rtol, atol)
            _control(WK, active)
            # acceptance and output, lane by lane (Y and K1 still hold the step's start)
            for j in range(LANES):
                if not active[j]:
                    continue
                hs = WK[O_HS + j]
                if not (WK[O_E + j] <= 1e300):
                    alive[j] = False  # non-finite: the scalar engine takes over
                    active[j] = False
                    status[sub[j]] = HANDOVER
                    continue
                hnew = hs * WK[O_FAC + j]
                if WK[O_ACC + j] > 0.5:
                    acc[j] += 1
                    firstrej[j] = False
                    t0 = tl[j]
                    t_new = tb if clipped[j] else t0 + hs
                    while ks[j] < T and (save_t[ks[j]] < t_new
                                         or (not clipped[j] and save_t[ks[j]] <= t_new)):
                        _dense(WK, j, hs, (save_t[ks[j]] - t0) / hs, ybuf)
                        _record(save_t[ks[j]], ybuf, p[j], obuf, kind, idx, out[sub[j], ks[j]])
                        ks[j] += 1
                    tl[j] = t_new
                    if clipped[j] and hnew >= hs:
                        hnew = max(hnew, h[j])  # keep the step size across the change point
                    h[j] = min(hnew, hmax)
                    if clipped[j]:
                        active[j] = False
                    # Hairer's stiffness estimate: hand over a lane whose steps stay
                    # limited by stability for long (the scalar engine switches to RODAS)
                    sd = WK[O_SD + j]
                    if sd > 0.0 and hs * hs * WK[O_SN + j] > 10.5625 * sd:  # h|lambda| > 3.25
                        nstiff[j] += 1
                        if nstiff[j] >= STIFF_LIMIT:
                            alive[j] = False
                            active[j] = False
                            status[sub[j]] = HANDOVER
                    else:
                        nstiff[j] = 0
                else:
                    if firstrej[j]:
                        h[j] = 0.1 * hs
                    else:
                        h[j] = min(hnew, hs)
                    rej[j] += 1
            _advance(WK)
        tseg = tb
        _params_at(tseg, bs, ps, sq, sv, ss, se, sm, q0, v0, s0, e0, m0, 0, 0)
        for j in range(LANES):
            if alive[j]:
                _params_at(tseg, P[sub[j]], p[j], sq, sv, ss, se, sm, q0, v0, s0, e0, m0, 0, 0)
                _set_switched(j, p[j], sq, WK)
            else:
                # keep a dead lane's numbers finite (its results are discarded)
                for i in range(NS):
                    WK[O_Y + i * LANES + j] = Y0[sub[j], i]
        prev(WK)
    for j in range(min(count, LANES)):
        i = sub[j]
        if status[i] != HANDOVER:
            status[i] = 0
            fail_t[i] = np.nan
        steps[i] = acc[j]
        rejected[i] = rej[j]


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def integrate_lanes(P, Y0, sq, sv, ss, se, sm, q0, v0, s0, e0, m0, save_t, kind, idx, t_end,
                    rtol, atol, h0, hmax, max_steps, n_expr, out, status, fail_t, steps,
                    rejected):
    N = P.shape[0]
    nb = (N + LANES - 1) // LANES
    for b in prange(nb):
        first = b * LANES
        integrate_block(first, min(LANES, N - first), P, Y0, sq, sv, ss, se, sm,
                        q0, v0, s0, e0, m0, save_t, kind, idx, t_end, rtol, atol, h0, hmax,
                        max_steps, n_expr, out, status, fail_t, steps, rejected)


@njit(cache=True, nogil=True, error_model="numpy")
def integrate_lanes_serial(P, Y0, sq, sv, ss, se, sm, q0, v0, s0, e0, m0, save_t, kind, idx,
                           t_end, rtol, atol, h0, hmax, max_steps, n_expr, out, status,
                           fail_t, steps, rejected):
    N = P.shape[0]
    nb = (N + LANES - 1) // LANES
    for b in range(nb):
        first = b * LANES
        integrate_block(first, min(LANES, N - first), P, Y0, sq, sv, ss, se, sm,
                        q0, v0, s0, e0, m0, save_t, kind, idx, t_end, rtol, atol, h0, hmax,
                        max_steps, n_expr, out, status, fail_t, steps, rejected)
'''

#: bump when the generated lanes code changes
LANES_VERSION = "3"
_LOADED: dict[str, ModuleType] = {}


def lanes_kernels(cm) -> ModuleType:
    """The compiled lanes module of compiled model ``cm`` (generated once, cached)."""
    from neurobone.engine.batch import batch_kernels
    from neurobone.model.codegen import cache_dir, fill_template, load_generated

    width = vector_width()
    if not width:
        raise RuntimeError("the vectorised lanes are not available on this machine")
    bmod = batch_kernels(cm)
    lanes = LANE_VECTORS * width
    tag = hashlib.sha256((_TEMPLATE + LANES_VERSION + bmod.__name__ + f"{lanes}/{width}")
                         .encode()).hexdigest()[:10]
    key = f"{bmod.__name__}_{tag}"
    hit = _LOADED.get(key)
    if hit is not None:
        return hit
    path = cache_dir() / f"{cm.source_path.stem}_lanes_{tag}.py"

    def source() -> str:
        kernels, layout = _lanes_source(cm, lanes, width)
        return fill_template(
            _TEMPLATE, MODEL=repr(cm.model.name), BATCH=bmod.__name__, VEXP=f"vexp{width}",
            VLOG=f"vlog{width}", LANES=lanes, WIDTH=width, NS=cm.n_states,
            LAYOUT="\n".join(f"{k} = {v}" for k, v in layout.items()), HANDOVER=HANDOVER,
            STIFF=STIFF_LIMIT, RHSV=kernels)

    mod = load_generated(path, f"neurobone_lanes_{key}", source)
    _LOADED[key] = mod
    return mod
