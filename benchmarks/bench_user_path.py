"""The user's path: ``neurobone cohort`` end to end, against the kernel alone and libRoadRunner.

Workload: ``examples/cohort_running.yaml`` -- the default heterogeneous population of
women aged 50-80, each with her own age, her own age at menopause (some during the
scenario), her own T-score and parameters; 10 years, running 40 min on 3 days a week
from year 1 to year 6.

Measured side by side in one run, on this machine:

1. **end to end**: the command ``neurobone cohort SCENARIO --n N --seed S --out DIR``
   in a fresh process (sampling, life histories, the scenario, Parquet), warm (a small
   cohort ran first, so the kernels are compiled and cached), its wall time from the
   process's start to its exit, and the time by stage the run records in its manifest;
2. **kernel only**: the same subjects (the chunks' sampling and life histories done
   beforehand, untimed), the scenario integration alone, same solver and chunks;
3. **libRoadRunner** on the SBML export of the same scenario (``neurobone export-sbml
   --scenario``), for a sample of the same subjects (their parameters and start states
   set before each run; subjects whose menopause falls within the scenario need
   another schedule and are left to neurobone, which favours libRoadRunner), at
   matched accuracy: the fastest CVODE setting (Adams or BDF, a tolerance ladder) whose
   error against a tight reference is at most neurobone's, and credited with every
   core of the machine (its one-core throughput times the number of cores).

``--million`` runs ``neurobone cohort --n 1000000`` end to end and reports wall time and
the peak memory of the process.

Usage::

    python benchmarks/bench_user_path.py                 # 20,000 subjects, rtol 5e-5
    python benchmarks/bench_user_path.py --n 50000 --rtol 1e-5
    python benchmarks/bench_user_path.py --million
"""

from __future__ import annotations

import argparse
import json
import os
import platform as _platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "examples" / "cohort_running.yaml"
NEUROBONE = [sys.executable, "-m", "neurobone.cli"]


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return _platform.processor() or "unknown CPU"


def run_cli(args: list[str]) -> tuple[float, float]:
    """Run the command; returns (wall seconds, peak RSS MB of the child)."""
    t = time.perf_counter()
    r = subprocess.run([*NEUROBONE, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"neurobone {' '.join(args)} failed:\n{r.stderr}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return wall, rss


def end_to_end(n: int, seed: int, rtol: float, chunk: int, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    args = ["cohort", str(SCENARIO), "--n", str(n), "--seed", str(seed), "--out", str(out),
            "--rtol", str(rtol), "--chunk-size", str(chunk)]
    wall, rss = run_cli(args)
    man = json.loads((out / "manifest.json").read_text())
    return dict(n=n, wall_s=wall, subjects_per_s=n / wall, run_s=man["last_run_seconds"],
                stages=man.get("last_run_stage_seconds", {}), peak_rss_mb=rss,
                solver=man.get("solver"))


def prepared_chunks(n: int, seed: int, rtol: float, chunk: int):
    """The subjects of every chunk, set up as the run sets them up (untimed)."""
    from neurobone.cohort import run as cr
    from neurobone.engine.schedule import Schedule
    from neurobone.scenario import population as popmod
    from neurobone.scenario.run import as_scenario
    from neurobone.scenario.subjects import covariates_of_frame, initialise_subjects

    scn = as_scenario(SCENARIO)
    spec = cr.make_spec(scenario=cr.scenario_dict(scn), n=n, seed=seed, chunk_size=chunk,
                        trajectory_every=100, trajectory_step=cr.default_trajectory_step(
                            scn.duration_days), rtol=rtol, solver=cr.default_solver_name())
    prep = cr.prepare(spec)
    cm = prep.cm
    age_ref = float(prep.ref.p[cm.param_index("age_ref")])
    chunks = []
    for k in range(spec.n_chunks):
        lo, hi = spec.bounds(k)
        cov = popmod.sample_covariates(prep.population, "human", seed, lo, hi - lo, age_ref)
        P, _ = popmod.sample_parameters(cm.model, prep.ref.p, seed, lo, hi - lo, True)
        subj = initialise_subjects(cm, covariates_of_frame(cov), ref=prep.ref, P=P,
                                   days=scn.duration_days, solver=prep.history_solver)
        own = [r + prep.rows if r else [] for r in subj.rows]
        sched = Schedule.from_overrides(cm.model.parameter_names, own, shared=prep.rows)
        chunks.append((subj, sched))
    return prep, chunks


def kernel_only(prep, chunks) -> dict:
    from neurobone.engine.simulate import simulate

    days = prep.scn.duration_days
    save = np.array([0.0, days])
    n = sum(len(s.parameters) for s, _ in chunks)
    t = time.perf_counter()
    c = time.process_time()
    for subj, sched in chunks:
        simulate(prep.cm, days, parameters=subj.parameters, initial=subj.initial,
                 schedule=sched, save_days=save, outputs=prep.outputs, solver=prep.solver,
                 on_failure="ignore")
    wall = time.perf_counter() - t
    return dict(n=n, wall_s=wall, subjects_per_s=n / wall,
                cpu_ms_per_subject=1e3 * (time.process_time() - c) / n)


def roadrunner_peer(prep, chunks, n_peer: int, rtol: float, tmp: Path) -> dict:
    import roadrunner

    from neurobone.engine.simulate import simulate
    from neurobone.engine.solvers import Switching

    sbml = tmp / "scenario.xml"
    run_cli(["export-sbml", "--scenario", str(SCENARIO), "-o", str(sbml)])
    rr = roadrunner.RoadRunner(str(sbml))
    cm = prep.cm
    m = cm.model
    subj, sched = chunks[0]
    plain = [i for i in range(len(subj.parameters))
             if sched.offsets[i + 1] == sched.offsets[i]][:n_peer]
    P, Y = subj.parameters[plain], subj.initial[plain]
    days = prep.scn.duration_days
    save = np.linspace(0.0, days, 11)
    names = m.state_names
    ids = set(rr.model.getGlobalParameterIds())
    scheduled = {m.parameter_names[q] for q in sched.shared_pindex}
    # every parameter the SBML holds as a value, set to the subject's own
    pids = [(j, f"{q}_base" if q in scheduled else q) for j, q in enumerate(m.parameter_names)]
    pids = [(j, pid) for j, pid in pids if pid in ids]
    sids = list(enumerate(names))  # states are SBML parameters with rate rules

    def run(cfg, idx):
        rr.integrator.stiff = cfg["stiff"]
        rr.integrator.relative_tolerance = cfg["rtol"]
        rr.integrator.absolute_tolerance = cfg["rtol"] * 1e-7
        rr.integrator.maximum_num_steps = 200000
        out = np.empty((len(idx), len(save), len(names)))
        for a, i in enumerate(idx):
            rr.resetAll()
            for j, pid in pids:
                rr.setValue(pid, float(P[i, j]))
            for k, sid in sids:
                rr.setValue(sid, float(Y[i, k]))
            out[a] = np.asarray(rr.simulate(0.0, days, len(save), selections=names))
        return out

    ref = simulate(cm, days, parameters=P, initial=Y, schedule=prep.rows, save_days=save,
                   outputs=names, solver=Switching(rtol=1e-10)).values
    ours = simulate(cm, days, parameters=P, initial=Y, schedule=prep.rows, save_days=save,
                    outputs=names, solver=prep.solver).values

    def err(a):
        peak = np.max(np.abs(ref), axis=(0, 1))
        return float(np.max(np.abs(a - ref) / (np.abs(ref) + 0.01 * peak + 1e-12)))

    target = err(ours)
    val = list(range(min(3, len(P))))
    tried, best = [], None
    for stiff in (False, True):
        for r in (1e-3, 3e-4, 1e-4, 5e-5, 2e-5, 1e-5, 5e-6, 2e-6, 1e-6, 1e-7):
            cfg = dict(stiff=stiff, rtol=r)
            t = time.perf_counter()
            out = run(cfg, val)
            dt = (time.perf_counter() - t) / len(val)
            peak = np.max(np.abs(ref[val]), axis=(0, 1))
            e = float(np.max(np.abs(out - ref[val]) / (np.abs(ref[val]) + 0.01 * peak + 1e-12)))
            tried.append(dict(cfg=cfg, err=e, s_per_subject=dt))
            if e <= max(target, 1e-9):
                if best is None or dt < best["s_per_subject"]:
                    best = dict(cfg=cfg, err=e, s_per_subject=dt)
                break  # tighter is slower
    if best is None:
        return dict(error="no CVODE setting reached neurobone's accuracy", target=target,
                    tried=tried)
    t = time.perf_counter()
    c = time.process_time()
    out = run(best["cfg"], range(len(P)))
    wall = time.perf_counter() - t
    return dict(n=len(P), config=best["cfg"], err=err(out), neurobone_err=target,
                wall_s=wall, subjects_per_s_one_core=len(P) / wall,
                cpu_ms_per_subject=1e3 * (time.process_time() - c) / len(P), tried=tried)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rtol", type=float, default=5e-5)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--n-peer", type=int, default=20, help="subjects for libRoadRunner")
    ap.add_argument("--million", action="store_true", help="1,000,000 subjects end to end")
    args = ap.parse_args()

    cores = os.cpu_count() or 1
    print(f"neurobone user-path benchmark on {cpu_name()}, {cores} cores; load average "
          f"{os.getloadavg()[0]:.2f} at start")
    tmp = Path(tempfile.mkdtemp(prefix="nb-user-"))
    t = time.perf_counter()
    end_to_end(64, args.seed + 1, args.rtol, args.chunk, tmp / "warm")  # kernels ready
    print(f"warm-up (kernels compiled or loaded): {time.perf_counter() - t:.1f} s")
    if args.million:
        r = end_to_end(1_000_000, args.seed, args.rtol, args.chunk, tmp / "million")
        print(json.dumps(r, indent=1))
        print(f"1,000,000 subjects x 10 years end to end: {r['wall_s']:.0f} s "
              f"({r['wall_s'] / 60:.1f} min, {r['subjects_per_s']:.0f} subjects/s), peak RSS "
              f"{r['peak_rss_mb']:.0f} MB; load average {os.getloadavg()[0]:.2f} at end")
        shutil.rmtree(tmp, ignore_errors=True)
        return

    e2e = end_to_end(args.n, args.seed, args.rtol, args.chunk, tmp / "cohort")
    prep, chunks = prepared_chunks(args.n, args.seed, args.rtol, args.chunk)
    kern = kernel_only(prep, chunks)
    peer = roadrunner_peer(prep, chunks, args.n_peer, args.rtol, tmp)
    print()
    print(f"{'path':<34} {'subjects':>8} {'wall s':>8} {'subjects/s':>11}")
    print(f"{'neurobone cohort, end to end':<34} {e2e['n']:>8} {e2e['wall_s']:>8.1f} "
          f"{e2e['subjects_per_s']:>11.0f}")
    print(f"{'  of which the run (in process)':<34} {e2e['n']:>8} {e2e['run_s']:>8.1f} "
          f"{e2e['n'] / e2e['run_s']:>11.0f}")
    print(f"{'kernel only, same subjects':<34} {kern['n']:>8} {kern['wall_s']:>8.1f} "
          f"{kern['subjects_per_s']:>11.0f}")
    print("time by stage (s): " + ", ".join(f"{k} {v:.1f}" for k, v in e2e["stages"].items()))
    print(f"end to end / kernel only: {kern['subjects_per_s'] / e2e['subjects_per_s']:.2f}x "
          f"slower; solver {e2e['solver']}, rtol {args.rtol:g}, peak RSS "
          f"{e2e['peak_rss_mb']:.0f} MB")
    if "error" in peer:
        print(f"libRoadRunner: {peer['error']} (neurobone's error {peer['target']:.1e})")
    else:
        credited = peer["subjects_per_s_one_core"] * cores
        print(f"libRoadRunner {peer['config']}: {peer['subjects_per_s_one_core']:.1f} "
              f"subjects/s on one core (error {peer['err']:.1e} against neurobone's "
              f"{peer['neurobone_err']:.1e}), credited with {cores} cores: {credited:.1f} "
              f"subjects/s")
        print(f"neurobone cohort end to end = {e2e['subjects_per_s'] / credited:.0f}x "
              f"libRoadRunner (every core credited); kernel only = "
              f"{kern['subjects_per_s'] / credited:.0f}x")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    (tmp / "results.json").write_text(json.dumps(dict(end_to_end=e2e, kernel=kern,
                                                      roadrunner=peer), indent=1, default=str))
    print(f"details: {tmp / 'results.json'}")


if __name__ == "__main__":
    main()
