"""Powers in the log domain (neurobone.model.powers): same values, fewer calls."""

import math

import numpy as np
import pytest
import sympy as sp

from neurobone.model.powers import log_domain

x, y, n, k, g = sp.symbols("x y n k g")
ASSIGN = [
    ("s", sp.exp(k * (y - 1))),  # an exponential raised to powers below
    ("a", x**n * sp.Symbol("s")),
    ("b", x**g * sp.Symbol("s") ** n * (y + 2)),
    ("c", 1 / (1 + (k * y) ** n)),
    ("out", sp.Symbol("a") + sp.Symbol("b") + sp.Symbol("c") + x**2 + sp.sqrt(y)),
]


def _evaluate(assign, values):
    env = dict(values)
    env.update({"math": math})
    mods = [{"exp": math.exp, "log": math.log}, "math"]
    for name, e in assign:
        syms = sorted(e.free_symbols, key=str)
        f = sp.lambdify(syms, e, modules=mods)
        env[name] = f(*[env[str(s)] for s in syms])
    return env


def _calls(assign, fn):
    return sum(sum(1 for _ in sp.preorder_traversal(e) if isinstance(_, fn)) for _, e in assign)


@pytest.mark.parametrize("vals", [
    dict(x=1.7, y=0.8, n=2.3, k=0.6, g=-1.4),
    dict(x=0.01, y=3.0, n=0.5, k=2.0, g=4.0),
    dict(x=-2.0, y=0.5, n=2.0, k=1.0, g=3.0),  # negative base, integer-valued exponents
])
def test_same_values(vals):
    fused = log_domain(ASSIGN, ["out"])
    want = _evaluate(ASSIGN, vals)["out"]
    got = _evaluate(fused, vals)["out"]
    assert got == pytest.approx(want, rel=1e-13)


def test_fewer_pow_calls_and_dead_exp_dropped():
    fused = log_domain(ASSIGN, ["out"], guard="flag")
    names = [n for n, _ in fused]
    assert "s" not in names  # exp(k*(y-1)) folded into a and b's single exponentials
    assert _calls(fused, sp.Pow) <= 3  # only x**2, sqrt(y) and 1/(...) are left
    # x, s**n and x**g share one log(x); exp(z)**n needs no log at all
    assert _calls(fused, sp.log) == 2  # log(x), log(k*y)


def test_flag_mode_lists_guards():
    guards = []
    log_domain(ASSIGN, ["out"], guard="flag", guards=guards)
    assert set(guards) == {x, k * y}


def test_bad_guard_mode():
    with pytest.raises(ValueError, match="fallback"):
        log_domain(ASSIGN, guard="maybe")


def test_numba_kernels_agree_with_sympy():
    # the model's generated rhs (log-domain powers) against SymPy's own evaluation
    from neurobone.engine.kernels import compile_model
    from neurobone.model.brainbone import build
    from neurobone.model.symbolic import parse

    cm = compile_model(build("human", "article"))
    sym = parse(cm.model)
    rng = np.random.default_rng(0)
    y0 = cm.initial_vector() * rng.uniform(0.9, 1.1, cm.n_states)
    p = cm.parameter_vector()
    got = cm.rhs(0.0, y0, p, np.zeros(cm.n_states))
    subs = dict(zip(sp.symbols(cm.model.state_names), y0, strict=True))
    subs.update(dict(zip(sp.symbols(cm.model.parameter_names), p, strict=True)))
    subs[sp.Symbol("t")] = 0.0
    want = [float(r.xreplace(subs)) for r in sym.substituted_rates]
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-300)
