"""Cohort benchmark: the batched engine against libRoadRunner, SciPy and JAX/diffrax.

The same workload runs through every engine (each in its own worker process, so each
peak memory is its own):

(a) ``batch``       neurobone (:func:`neurobone.simulate`) with the ``Lanes`` solver, all
                    cores: several subjects per SIMD instruction -- what cohorts run on;
(a') ``batch-scalar`` the compiled scalar solvers (``Switching``, ``Rodas4``), one subject
                    per core at a time;
(b) ``roadrunner``  libRoadRunner on the SBML exported by :func:`neurobone.io.sbml.to_sbml`,
                    subject after subject;
(c) ``scipy``       a ``scipy.integrate.solve_ivp`` loop: neurobone's ``BDF`` solver (SciPy
                    with the Numba right-hand side and Jacobian), subject after subject;
(d) ``jax``         JAX/diffrax (Tsit5, PID controller) under ``vmap``, the right-hand side
                    generated from the same :class:`~neurobone.model.symbolic.SymbolicModel`
                    with SymPy's JAX printer, the schedule's segments in a ``lax.scan``.

Workload (``--model neurobone``, the default): women aged 50, menopause from day 0,
running 40 min on 3 days a week from year 1 to year 6, 10 years; between-subject
variability: log-normal parameters (the model's ``cv``, or 10 % where it declares none)
on the bone-cell kinetics, the brain plasticity and the mechanostat. ``--model
pivonka2008``/``lemaire2004`` run the same harness with PTH on 3 days a week instead.

Matched accuracy: a tight reference (the batched engine at rtol 1e-11, cross-checked
against libRoadRunner at rtol 1e-12) is computed for ``--validate`` subjects. Each engine
tries its configurations (method x tolerance ladder); the fastest one whose states at
every year are all within 1e-4 (``|a - b| <= 1e-4 |b| + 1e-6 max|b|``) of the reference
is used for the timed run. Every engine saves the same thing: all states at every year.

Usage::

    python benchmarks/bench_cohort.py                      # all engines, brain-bone model
    python benchmarks/bench_cohort.py --model pivonka2008 --n 5000
    python benchmarks/bench_cohort.py --engines batch,roadrunner
    python benchmarks/bench_cohort.py --million            # 1e6 subjects x 10 years, in chunks

``--million`` runs ``--total`` subjects (default 1,000,000) through the batched engine in
chunks of ``--chunk``, keeping yearly aBMD/T-score/BV per subject (bounded memory), and
reports wall time, throughput and peak RSS.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util  # noqa: F401 - neurobone.model.registry needs it loaded
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve()
DAYS_PER_YEAR = 365.25
TOL = 1e-4
#: parameters varied between subjects (those the model has)
VARIED = ["D_OBu", "D_OBp", "A_OBa", "D_OCp", "A_OCa", "k_grow", "k_lab", "k_cdec", "g_scl",
          "K_aff", "D_R", "k_B", "D_C", "D_A", "K_OP"]


# ----------------------------------------------------------------------------- workload
@dataclass
class Workload:
    cm: object
    parameters: np.ndarray  # (N, n_params)
    initial: np.ndarray  # (n_states,)
    overrides: list
    days: float
    save_days: np.ndarray
    varied: list[str]
    description: str


def build_workload(model: str, n: int, years: float, seed: int, offset: int = 0) -> Workload:
    """Subjects ``offset .. offset+n-1`` of the cohort (the same whatever the chunking)."""
    from neurobone.engine.simulate import as_compiled
    from neurobone.engine.steady import initialise
    from neurobone.model.timed import Override

    days = years * DAYS_PER_YEAR
    y1, y6 = DAYS_PER_YEAR, min(6 * DAYS_PER_YEAR, days)
    if model == "neurobone":
        plan = _human_plan(days, y1, y6)
        cm, base, y0, ovs = plan.cm, plan.parameters, plan.initial, plan.overrides
        desc = ("women aged 50, menopause from day 0, running 40 min 3 days/week from year 1 "
                f"to year 6, {years:g} years")
    else:
        cm = as_compiled(model)
        y0, base = initialise(cm, cm.parameter_vector())
        dose = {"lemaire2004": 1e3, "pivonka2008": 250.0}.get(model, 1.0)
        ovs = [Override("I_P", dose, y1, y6, weekdays=(0, 2, 4))]
        desc = f"PTH {dose:g} pM/day on 3 days/week from year 1 to year 6, {years:g} years"
    m = cm.model
    scheduled = {o.name for o in ovs}
    varied = [q for q in VARIED if q in m.parameter_names and q not in scheduled
              and m.parameter(q).value != 0.0]
    P = np.tile(base, (n, 1))
    for j, q in enumerate(varied):
        cv = m.parameter(q).cv or 0.10
        sigma = math.sqrt(math.log1p(cv * cv))
        # one stream per (parameter, subject): identical whatever the chunking
        z = _normals(seed, j, offset, n)
        P[:, cm.param_index(q)] *= np.exp(sigma * z - 0.5 * sigma * sigma)
    save = np.arange(0.0, days + 1e-9, DAYS_PER_YEAR)
    return Workload(cm, P, y0, ovs, days, save, varied, desc)


@functools.lru_cache(maxsize=4)
def _human_plan(days: float, y1: float, y6: float):
    """The brain-bone scenario compiled once (subject initialisation included)."""
    from neurobone.scenario.compile import compile_scenario
    from neurobone.scenario.schema import parse_scenario

    scn = parse_scenario(dict(
        species="human", subject=dict(sex="female", age_years=50), duration_days=days,
        exercise=[dict(modality="running", minutes=40, days_per_week=3, start_day=y1,
                       end_day=y6)],
        interventions=[dict(kind="menopause", start_day=0)]))
    return compile_scenario(scn)


def _normals(seed: int, j: int, offset: int, n: int) -> np.ndarray:
    """Standard normals for subjects offset..offset+n-1 of parameter j: blocks of 10,000
    subjects, each its own stream, so a subject's value does not depend on chunking."""
    out = np.empty(n)
    block = 10000
    pos = 0
    while pos < n:
        b, start = divmod(offset + pos, block)
        z = np.random.default_rng([seed, j, b]).standard_normal(block)
        k = min(n - pos, block - start)
        out[pos:pos + k] = z[start:start + k]
        pos += k
    return out


def relerr(a: np.ndarray, b: np.ndarray) -> float:
    """max over subjects, times, states of |a-b| / (|b| + 0.01 max_t|b| + 1e-12)."""
    peak = np.max(np.abs(b), axis=1, keepdims=True)
    return float(np.max(np.abs(a - b) / (np.abs(b) + 0.01 * peak + 1e-12)))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# ----------------------------------------------------------------------------- engines
def _solver(cfg: dict):
    from neurobone.engine import solvers

    return solvers.solver_named(cfg["solver"], rtol=cfg["rtol"])


def run_batch(w: Workload, idx: np.ndarray, cfg: dict, threads: int | None = None):
    from neurobone.engine.simulate import simulate

    res = simulate(w.cm, w.days, parameters=w.parameters[idx], initial=w.initial,
                   schedule=w.overrides, save_days=w.save_days, outputs=w.cm.model.state_names,
                   solver=_solver(cfg), threads=threads, on_failure="ignore")
    lanes = res.meta.get("lanes", {})
    info = dict(steps=float(res.steps.mean()), rejected=float(res.rejected.mean()),
                stiff_steps=float(res.stiff_steps.mean()), failed=int(np.sum(res.status != 0)),
                handed_over=int(res.meta["handed_over"]),
                lane_utilisation=(lanes["lane_steps"] / (16 * lanes["lock_steps"])
                                  if lanes else float("nan")))
    return res.values, info


def rhsv_cost_us(w: Workload) -> float:
    """CPU µs per subject of one evaluation of the vectorised right-hand side (``rhsv``,
    one block of lanes at once)."""
    from numba import njit

    mod = w.cm.lanes()
    rhsv, L = mod.rhsv, mod.LANES

    @njit
    def loop(wk, n):
        s = 0.0
        for _ in range(n):
            wk[mod.OFF_Y] *= 1.0 + 1e-15
            rhsv(wk)
            s += wk[mod.OFF_DY]
        return s

    wk = np.zeros(mod.N_ALL)
    for j in range(L):
        p = w.parameters[j % len(w.parameters)]
        for i in range(len(p)):
            wk[mod.OFF_P + i * L + j] = p[i]
        for i in range(w.cm.n_states):
            wk[mod.OFF_Y + i * L + j] = w.initial[i]
    mod.prev(wk)
    loop(wk, 10)
    t = time.process_time()
    loop(wk, 100_000)
    return (time.process_time() - t) / 100_000 / L * 1e6


def rhs_cost_us(w: Workload) -> float:
    """CPU µs of one evaluation of the right-hand side the scalar solvers call (``rhsc``,
    parameter-only terms precomputed per segment)."""
    from numba import njit

    mod = w.cm.module
    rhsc, pre = mod.rhsc, mod.pre

    @njit
    def loop(y, p, c, n):
        dy = np.empty(y.shape[0])
        s = 0.0
        for _ in range(n):
            y[0] *= 1.0 + 1e-15
            rhsc(0.0, y, p, c, dy)
            s += dy[0]
        return s

    y, p = w.initial.copy(), w.parameters[0].copy()
    c = np.zeros(mod.N_CONST)

    @njit
    def prepare(p, c):
        return pre(p, c)

    prepare(p, c)
    loop(y, p, c, 10)
    t = time.process_time()
    loop(y, p, c, 200_000)
    return (time.process_time() - t) / 200_000 * 1e6


def run_scipy(w: Workload, idx: np.ndarray, cfg: dict, threads=None):
    from neurobone.engine.simulate import simulate
    from neurobone.engine.solvers import BDF

    res = simulate(w.cm, w.days, parameters=w.parameters[idx], initial=w.initial,
                   schedule=w.overrides, save_days=w.save_days, outputs=w.cm.model.state_names,
                   solver=BDF(rtol=cfg["rtol"], method=cfg["method"]), on_failure="ignore")
    return res.values, {}


class _RoadRunner:
    def __init__(self, w: Workload):
        import roadrunner

        from neurobone.io.sbml import to_sbml

        t = time.perf_counter()
        # the states are compared: the export keeps what the rates need and no outputs
        # (libRoadRunner inlines every assignment rule; the fracture outputs alone take it
        # minutes to load)
        text = to_sbml(w.cm, parameters=w.parameters[0], overrides=w.overrides,
                       initial=w.initial, outputs=[])
        self.rr = roadrunner.RoadRunner(text)
        self.load_s = time.perf_counter() - t
        scheduled = {o.name for o in w.overrides}
        self.ids = [f"{q}_base" if q in scheduled else q for q in w.varied]
        self.cols = [w.cm.param_index(q) for q in w.varied]

    def __call__(self, w: Workload, idx: np.ndarray, cfg: dict, threads=None):
        rr = self.rr
        rr.integrator.stiff = cfg["stiff"]
        rr.integrator.relative_tolerance = cfg["rtol"]
        rr.integrator.absolute_tolerance = cfg["rtol"] * 1e-7
        rr.integrator.maximum_num_steps = 100000
        names = w.cm.model.state_names
        out = np.empty((len(idx), len(w.save_days), len(names)))
        for k, i in enumerate(idx):
            rr.resetAll()
            for pid, c in zip(self.ids, self.cols, strict=True):
                rr.setValue(pid, float(w.parameters[i, c]))
            r = rr.simulate(0.0, w.days, len(w.save_days), selections=names)
            out[k] = np.asarray(r)
        return out, {"sbml_load_s": self.load_s}


class _Jax:
    """diffrax on the same equations: JAX code generated from the SymbolicModel."""

    def __init__(self, w: Workload):
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from sympy.printing.numpy import JaxPrinter

        from neurobone.engine.numerics import rows
        from neurobone.engine.schedule import Schedule
        from neurobone.model.symbolic import parse

        sym = parse(w.cm.model)
        m = w.cm.model
        pr = JaxPrinter()
        lines = ["def rhs(t, y, p):"]
        lines += [f"    {s} = y[{i}]" for i, s in enumerate(m.state_names)]
        lines += [f"    {q} = p[{i}]" for i, q in enumerate(m.parameter_names)]
        lines += [f"    {n} = {pr.doprint(e)}" for n, e in sym.expressions]
        rates = ", ".join(f"jax.numpy.asarray({pr.doprint(r)}, dtype=jax.numpy.float64)"
                          for r in sym.rates)
        lines += [f"    return jax.numpy.stack([{rates}])"]
        self.source = "\n".join(lines)
        ns = {"jax": jax}
        exec(compile(self.source, "<neurobone-jax-rhs>", "exec"), ns)
        rhs = ns["rhs"]
        # segments: every change point of the (shared) schedule and every save day
        sched = Schedule.from_overrides(m.parameter_names, None, shared=w.overrides, n=1)
        sq, sv, ss, se, sm, _, q, v, s, e, mk = sched.columns
        nan = np.full(len(m.parameter_names), np.nan)
        cps = rows.change_times(w.days, nan, sq, sv, ss, se, sm, q, v, s, e, mk, 0, 0)
        pts = sorted(set(cps.tolist()) | set(w.save_days.tolist()))
        masks, values = [], []
        for a in pts[:-1]:
            on = nan.copy()
            rows.params_at(a, nan, on, sq, sv, ss, se, sm, q, v, s, e, mk, 0, 0)
            masks.append(~np.isnan(on))
            values.append(np.nan_to_num(on))
        self.t0 = jnp.asarray(pts[:-1])
        self.t1 = jnp.asarray(pts[1:])
        self.mask = jnp.asarray(np.array(masks))
        self.val = jnp.asarray(np.array(values))
        self.save_pos = np.searchsorted(np.array(pts[1:]), w.save_days[1:])
        self.n_seg = len(pts) - 1
        self._run = self._build(rhs)
        self.compile_s = {}

    def _build(self, rhs):
        import diffrax
        import jax
        import jax.numpy as jnp

        term = diffrax.ODETerm(lambda t, y, p: rhs(t, y, p))
        solver = diffrax.Tsit5()

        def segment(y, p, t0, t1, rtol, atol):
            ctrl = diffrax.PIDController(rtol=rtol, atol=atol)
            sol = diffrax.diffeqsolve(term, solver, t0, t1, None, y, args=p,
                                      stepsize_controller=ctrl, max_steps=100000, throw=False,
                                      saveat=diffrax.SaveAt(t1=True))
            return sol.ys[-1], sol.stats["num_steps"]

        vseg = jax.vmap(segment, in_axes=(0, 0, None, None, None, None))

        @jax.jit
        def run(y0, P, rtol, atol):
            def body(carry, seg):
                y, steps = carry
                t0, t1, mask, val = seg
                p = jnp.where(mask[None, :], val[None, :], P)
                y1, n = vseg(y, p, t0, t1, rtol, atol)
                return (y1, steps + n), y1
            (_, steps), ys = jax.lax.scan(body, (y0, jnp.zeros(y0.shape[0], jnp.int64)),
                                          (self.t0, self.t1, self.mask, self.val))
            return ys, steps

        return run

    def __call__(self, w: Workload, idx: np.ndarray, cfg: dict, threads=None):
        import jax.numpy as jnp

        n = len(idx)
        y0 = jnp.tile(jnp.asarray(w.initial), (n, 1))
        P = jnp.asarray(w.parameters[idx])
        atol = jnp.asarray(cfg["rtol"] * 1e-4 * np.array([s.scale for s in w.cm.model.states]))
        rtol = jnp.asarray(cfg["rtol"])
        key = n
        if key not in self.compile_s:  # compile for this batch size (excluded from timing)
            t = time.perf_counter()
            self._run.lower(y0, P, rtol, atol).compile()
            self.compile_s[key] = time.perf_counter() - t
        ys, steps = self._run(y0, P, rtol, atol)
        ys = np.asarray(ys)  # (segments, n, states)
        out = np.concatenate([np.asarray(w.initial)[None, None, :].repeat(n, 1),
                              ys[self.save_pos]], axis=0).transpose(1, 0, 2)
        return out, {"steps": float(np.mean(np.asarray(steps))), "compile_s": self.compile_s[key],
                     "segments": self.n_seg}


#: tolerances tried, loosest first (the same 1-2-5 ladder for every engine)
RTOLS = (1e-4, 5e-5, 2e-5, 1e-5, 5e-6, 2e-6, 1e-6, 5e-7, 2e-7, 1e-7, 5e-8, 2e-8, 1e-8)
LADDERS = {
    "batch": [dict(solver="lanes", rtol=r) for r in RTOLS],
    "batch-scalar": [dict(solver=m, rtol=r) for m in ("switching", "rodas4") for r in RTOLS],
    "roadrunner": [dict(stiff=s, rtol=r) for s in (False, True) for r in RTOLS],
    "scipy": [dict(method=m, rtol=r) for m in ("LSODA", "BDF") for r in RTOLS],
    "jax": [dict(solver="Tsit5", rtol=r) for r in RTOLS],
}


def make_engine(name: str, w: Workload):
    if name in ("batch", "batch-scalar"):
        return run_batch
    if name == "scipy":
        return run_scipy
    if name == "roadrunner":
        return _RoadRunner(w)
    if name == "jax":
        return _Jax(w)
    raise SystemExit(f"unknown engine {name!r}")


# ----------------------------------------------------------------------------- worker
def worker(args) -> dict:
    """Match accuracy on the validation subjects, then time ``args.n`` subjects."""
    w = build_workload(args.model, max(args.n, args.validate), args.years, args.seed)
    ref = np.load(args.reference) if args.reference else None
    eng = make_engine(args.worker, w)
    val = np.arange(args.validate)
    tried = []
    chosen = None
    if args.config:
        chosen = json.loads(args.config)
    else:
        skip_family = set()
        for cfg in LADDERS[args.worker]:
            family = tuple((k, v) for k, v in cfg.items() if k != "rtol")
            if family in skip_family:
                continue
            eng(w, val[:1], cfg, args.threads)  # warm-up (JIT, caches)
            t = time.perf_counter()
            out, info = eng(w, val, cfg, args.threads)
            dt = time.perf_counter() - t
            err = relerr(out, ref) if ref is not None else float("nan")
            ok = bool(err <= TOL) and not info.get("failed")
            tried.append(dict(cfg=cfg, err=err, seconds_per_subject=dt / len(val), ok=ok))
            if ok:
                skip_family.add(family)  # looser is faster: the first pass of a family wins
        passing = [r for r in tried if r["ok"]]
        if not passing:
            return dict(engine=args.worker, error="no configuration reached the accuracy",
                        tried=tried)
        chosen = min(passing, key=lambda r: r["seconds_per_subject"])["cfg"]
    idx = np.arange(args.n)
    batched = args.worker in ("batch", "batch-scalar", "jax")
    eng(w, idx[: min(len(idx), 64)] if batched else idx[:1], chosen,
        args.threads)  # warm-up at the timed shape class
    if args.worker == "jax":
        eng(w, idx, chosen, args.threads)  # compile for the timed batch size
    t = time.perf_counter()
    c = time.process_time()
    out, info = eng(w, idx, chosen, args.threads)
    wall = time.perf_counter() - t
    cpu = time.process_time() - c
    err = relerr(out[: args.validate], ref) if ref is not None else float("nan")
    if args.worker in ("batch", "batch-scalar"):
        info["rhs_us"] = rhsv_cost_us(w) if chosen["solver"] == "lanes" else rhs_cost_us(w)
    return dict(engine=args.worker, n=args.n, config=chosen, wall_s=wall, cpu_s=cpu,
                subjects_per_s=args.n / wall, cpu_ms_per_subject=1e3 * cpu / args.n, err=err,
                peak_rss_mb=peak_rss_mb(), info=info, tried=tried, threads=args.threads)


def reference(args) -> dict:
    """Tight reference states for the validation subjects (written to args.reference)."""
    w = build_workload(args.model, args.validate, args.years, args.seed)
    idx = np.arange(args.validate)
    out, _ = run_batch(w, idx, dict(solver="switching", rtol=1e-11), None)
    np.save(args.reference, out)
    check = float("nan")
    try:
        rr = _RoadRunner(w)
        out2, _ = rr(w, idx, dict(stiff=True, rtol=1e-12))
        check = relerr(out2, out)
    except ImportError:
        pass
    from neurobone.engine.numerics import rows
    from neurobone.engine.schedule import Schedule

    sched = Schedule.from_overrides(w.cm.model.parameter_names, None, shared=w.overrides, n=1)
    sq, sv, ss, se, sm, _, q, v, s, e, mk = sched.columns
    cps = rows.change_times(w.days, w.parameters[0], sq, sv, ss, se, sm, q, v, s, e, mk, 0, 0)
    return dict(reference="switching rtol 1e-11", cross_check=check,
                description=w.description, varied=w.varied, n_states=w.cm.n_states,
                n_change_points=len(cps) - 2)


def spawn(argv: list[str]) -> dict:
    r = subprocess.run([sys.executable, str(HERE), *argv], capture_output=True, text=True)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    if r.returncode != 0 or not lines:
        return dict(error=(r.stderr.strip().splitlines() or ["failed"])[-1])
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- million
def million(args) -> None:
    from neurobone.engine.simulate import simulate

    total, chunk = args.total, args.chunk
    w0 = build_workload(args.model, 1, args.years, args.seed)
    m = w0.cm.model
    keep = [o for o in ("abmd_fn", "t_score", "bv_tv") if o in m.outputs] or m.state_names[:3]
    T = len(w0.save_days)
    kept = np.empty((total, T, len(keep)), dtype=np.float32)
    status = np.empty(total, dtype=np.int32)
    solver = _solver(dict(solver=args.solver, rtol=args.rtol))
    sim_s = 0.0
    done = 0
    # warm-up (kernel load) outside the timing
    simulate(w0.cm, w0.days, parameters=w0.parameters, initial=w0.initial, schedule=w0.overrides,
             save_days=w0.save_days, outputs=keep, solver=solver)
    t_start = time.perf_counter()
    c_start = time.process_time()
    handed = 0
    while done < total:
        n = min(chunk, total - done)
        w = build_workload(args.model, n, args.years, args.seed, offset=done)
        t = time.perf_counter()
        res = simulate(w.cm, w.days, parameters=w.parameters, initial=w.initial,
                       schedule=w.overrides, save_days=w.save_days, outputs=keep, solver=solver,
                       threads=args.threads, on_failure="ignore")
        sim_s += time.perf_counter() - t
        kept[done:done + n] = res.values
        status[done:done + n] = res.status
        handed += res.meta["handed_over"]
        done += n
        el = time.perf_counter() - t_start
        cpu = time.process_time() - c_start
        print(f"  {done:>9,d}/{total:,d} subjects  {el:7.1f} s  {done / el:7.1f} subj/s  "
              f"CPU {1e3 * cpu / done:.2f} ms/subject  ETA {(total - done) * el / done:7.0f} s  "
              f"peak RSS {peak_rss_mb():.0f} MB  load {os.getloadavg()[0]:.1f}", flush=True)
    wall = time.perf_counter() - t_start
    cpu = time.process_time() - c_start
    fin = kept[:, -1, 0]
    print(json.dumps(dict(mode="million", model=args.model, subjects=total, years=args.years,
                          chunk=chunk, rtol=args.rtol, solver=args.solver, wall_s=wall,
                          integration_s=sim_s, cpu_s=cpu, subjects_per_s=total / wall,
                          cpu_ms_per_subject=1e3 * cpu / total,
                          peak_rss_mb=peak_rss_mb(), failed=int(np.sum(status != 0)),
                          handed_over=handed, kept_outputs=keep, kept_mb=kept.nbytes / 1e6,
                          final_mean=float(np.nanmean(fin)), final_sd=float(np.nanstd(fin)))))


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="neurobone", help="neurobone, pivonka2008 or lemaire2004")
    ap.add_argument("--n", type=int, default=2000, help="subjects for the batched engine")
    ap.add_argument("--n-peer", type=int, default=10, help="subjects for roadrunner and scipy")
    ap.add_argument("--n-jax", type=int, default=256, help="subjects for JAX/diffrax (one vmap)")
    ap.add_argument("--years", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--validate", type=int, default=4, help="subjects used to match accuracy")
    ap.add_argument("--threads", type=int, default=None, help="threads of the batched engine")
    ap.add_argument("--engines", default="batch,batch-scalar,roadrunner,scipy,jax")
    ap.add_argument("--million", action="store_true",
                    help="1e6 subjects in chunks (batched engine)")
    ap.add_argument("--total", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--rtol", type=float, default=5e-5,
                    help="--million: tolerance (default: matched 1e-4 in the side-by-side run)")
    ap.add_argument("--solver", default="lanes", help="--million: solver (lanes, switching, ...)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--reference", help=argparse.SUPPRESS)
    ap.add_argument("--make-reference", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.million:
        million(args)
        return
    if args.make_reference:
        print(json.dumps(reference(args)))
        return
    if args.worker:
        print(json.dumps(worker(args)))
        return

    import numba

    cores = os.cpu_count()
    threads = args.threads or numba.config.NUMBA_NUM_THREADS
    print(f"neurobone cohort benchmark: model {args.model}, {args.years:g} years, "
          f"{cores} cores, batched engine on {threads} threads; load average "
          f"{os.getloadavg()[0]:.2f} at start")
    tmp = Path(tempfile.mkdtemp(prefix="nb-bench-"))
    refpath = tmp / "reference.npy"
    common = ["--model", args.model, "--years", str(args.years), "--seed", str(args.seed),
              "--validate", str(args.validate), "--reference", str(refpath)]
    t = time.perf_counter()
    ref = spawn([*common, "--make-reference"])
    if "error" in ref:
        raise SystemExit(f"reference failed: {ref['error']}")
    print(f"workload: {ref['description']}; {ref['n_states']} states, "
          f"{ref['n_change_points']} change points per subject; varied: {', '.join(ref['varied'])}")
    print(f"reference: {ref['reference']}; libRoadRunner at rtol 1e-12 differs from it by "
          f"{ref['cross_check']:.1e} ({time.perf_counter() - t:.0f} s)")
    sizes = {"batch": args.n, "batch-scalar": max(1, args.n // 2), "roadrunner": args.n_peer,
             "scipy": args.n_peer, "jax": args.n_jax}
    results = []
    for eng in args.engines.split(","):
        if eng not in sizes:
            raise SystemExit(f"unknown engine {eng!r}; choose from {', '.join(sizes)}")
        argv = [*common, "--worker", eng, "--n", str(sizes[eng])]
        if eng.startswith("batch") and args.threads:
            argv += ["--threads", str(args.threads)]
        t = time.perf_counter()
        r = spawn(argv)
        r.setdefault("engine", eng)
        r["bench_s"] = time.perf_counter() - t
        results.append(r)
        if "error" in r:
            print(f"  {eng}: FAILED: {r['error']}")
        else:
            print(f"  {eng}: {r['subjects_per_s']:.2f} subjects/s with {r['config']} "
                  f"(error {r['err']:.1e}; {r['bench_s']:.0f} s incl. matching)", flush=True)
    base = next((r for r in results if r["engine"] == "batch" and "error" not in r), None)
    print()
    print(f"{'engine':<12} {'subjects':>8} {'config':<42} {'max err':>8} {'wall s':>7} "
          f"{'subj/s':>8} {'CPU ms/subj':>11} {'batch × wall':>12} {'batch × CPU':>11} "
          f"{'peak MB':>8}")
    for r in results:
        if "error" in r:
            print(f"{r['engine']:<12} failed: {r['error']}")
            continue
        cfg = ", ".join(f"{k}={v}" for k, v in r["config"].items())
        ratio = base["subjects_per_s"] / r["subjects_per_s"] if base else float("nan")
        cratio = r["cpu_ms_per_subject"] / base["cpu_ms_per_subject"] if base else float("nan")
        print(f"{r['engine']:<12} {r['n']:>8} {cfg:<42} {r['err']:>8.1e} {r['wall_s']:>7.2f} "
              f"{r['subjects_per_s']:>8.2f} {r['cpu_ms_per_subject']:>11.2f} {ratio:>12.1f} "
              f"{cratio:>11.1f} {r['peak_rss_mb']:>8.0f}")
    print("(batch × wall: throughput ratio measured in this run; batch × CPU: ratio of CPU time "
          "per subject, i.e. per core, which other processes on the machine distort less)")
    if base:
        i = base["info"]
        us = base["cpu_s"] / (base["n"] * (i["steps"] + i["rejected"])) * 1e6
        print(f"\nlanes: {i['steps']:.0f} accepted + {i['rejected']:.0f} rejected "
              f"steps per subject ({i['handed_over']} of {base['n']} subjects handed over; lane "
              f"utilisation {100 * i['lane_utilisation']:.1f} %), {us:.3f} µs CPU per lane "
              f"step; 2-core throughput from CPU time: "
              f"{2e3 / base['cpu_ms_per_subject']:.0f} subjects/s")
        rhs_share = 6 * i["rhs_us"] / us
        print(f"one right-hand side evaluation: {i['rhs_us']:.3f} µs per subject; Dormand-Prince "
              f"evaluates it 6 times per step: {100 * rhs_share:.0f} % of the CPU time is the "
              "model's equations")
    for r in results:
        if r.get("engine") == "jax" and "info" in r:
            print(f"jax: {r['info']['segments']} segments per subject, "
                  f"{r['info']['steps']:.0f} steps per subject, "
                  f"compile {r['info']['compile_s']:.1f} s")
        if r.get("engine") == "roadrunner" and "info" in r:
            print(f"roadrunner: SBML load {r['info']['sbml_load_s']:.2f} s (excluded)")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    (tmp / "results.json").write_text(json.dumps(dict(reference=ref, results=results), indent=1))
    print(f"details: {tmp / 'results.json'}")


if __name__ == "__main__":
    main()
