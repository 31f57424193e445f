"""Fitting benchmark: neurobone's least-squares fit and likelihood against pyPESTO's.

Workload: the article's mouse study (``examples/article_mouse_study.yaml``: 5 arms of
10 mice, 56 days). Synthetic data: each arm's mean subject run by neurobone with six
parameters away from the model's values (``TRUTH``), measured on days 14, 28, 42 and 56
(BV/TV, connectivity, P1NP, CTX) in each of 10 mice with 5 % normal measurement error
(no between-subject variability: every fit is of the group, as ``neurobone fit`` fits).
The six parameters are ones the subject's set-up does not depend on, so the same problem
can be exported to PEtab (:func:`neurobone.io.petab.export_problem`) and solved by
pyPESTO.

Measured side by side in one run, on this machine:

0. **homeostasis**: one batched evaluation (:func:`neurobone.fit.batch.evaluate`) of 6
   and 48 parameter vectors of the 56-day treadmill scenario, with the batched
   homeostasis (:func:`neurobone.engine.steady.initialise_batch`) and with the one-row
   method it replaced (each row's :func:`neurobone.scenario.subjects.reference`): the
   seconds of the references and of the integration.

1. **least squares**, each arm fitted on its own (one scenario per fit), 6 parameters on
   a log scale within value/10..value*10:

   - neurobone: :func:`neurobone.fit.lsq.fit` (``nb.fit_lsq``) with ``--starts`` random
     starts besides the scenario's values: SciPy's ``least_squares`` (TRF), the Jacobian
     by forward differences as one batched engine call, then the profile likelihood of
     every parameter. Its time for the starts alone (``seconds["starts"]``) is the part
     comparable with pyPESTO's optimisation;
   - pyPESTO 0.7 with its libRoadRunner objective on the exported problem: the same
     starts (log10 scale), ``ScipyOptimizer(method="ls_trf")`` (the same SciPy routine,
     the same tolerances and evaluation limit) on the residuals, the Jacobian by
     pyPESTO's forward differences (``FD``). pyPESTO cannot take replicates (libRoadRunner
     refuses repeated output times), so it gets each day's mean of the 10 mice with SD
     ``sd/sqrt(10)``: the same weighted least-squares problem up to a constant (the
     optimum and the profiles are the same). Its model import (libRoadRunner compiling the
     SBML) is timed apart. pyPESTO's profiles are not run (their cost is many more
     optimisations; compare the starts).

2. **likelihood evaluations** of the exercise arm's problem at ``--evals`` random
   parameter vectors (log-uniform within the bounds): neurobone in batches of
   ``--batch`` rows (one batched engine call each, every row its own homeostasis and
   protocol), pyPESTO's objective one vector at a time for the first ``--pypesto-evals``
   of them. Per-evaluation times and their ratio; the two objectives are compared where
   both are finite (pyPESTO's negative log-likelihood turned into the chi-square,
   :func:`neurobone.io.petab.chi2_from_nllh`).

Both integrate at relative tolerance 1e-8 (neurobone's scenario solver; libRoadRunner's
CVODE set to it, absolute 1e-12). neurobone runs its engine threads on every core;
pyPESTO's objective runs on one.

Usage::

    python benchmarks/bench_fit.py                         # 5 arms, 1 random start each
    python benchmarks/bench_fit.py --arms 2 --starts 0 --evals 2000
    python benchmarks/bench_fit.py --evals 100000          # the issue's 10^5 evaluations
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve()
STUDY = HERE.parents[1] / "examples" / "article_mouse_study.yaml"
#: the fitted parameters and the values the data are made with (model values x 0.6-1.6)
TRUTH_FACTOR = {"k_grow": 1.5, "W_max": 0.7, "k_cons": 1.4, "k_cdec": 0.6, "g_T": 1.3,
                "k_form": 0.8}
DAYS = [14.0, 28.0, 42.0, 56.0]
OUTPUTS = ["bv_tv", "connectivity", "p1np", "ctx"]
CV = 0.05
RTOL, ATOL = 1e-8, 1e-12


def arms_and_truth(n_arms: int):
    from neurobone.engine.kernels import compile_model
    from neurobone.fit.batch import evaluate
    from neurobone.scenario.compile import base_parameters, model_for
    from neurobone.study.design import load_study

    study = load_study(STUDY)
    arms = [a.name for a in study.arms][:n_arms]
    scn0 = study.scenario(arms[0])
    cm = compile_model(model_for(scn0))
    base = base_parameters(cm, scn0.parameters)
    names = list(TRUTH_FACTOR)
    truth = {p: float(base[cm.param_index(p)] * f) for p, f in TRUTH_FACTOR.items()}
    out = {}
    for a in arms:
        scn = study.scenario(a)
        values, failure, _ = evaluate(scn, cm, names, np.array([[truth[p] for p in names]]),
                                      OUTPUTS, DAYS)
        if failure[0]:
            raise SystemExit(f"arm {a!r}: the truth cannot be run ({failure[0]})")
        out[a] = (scn, values[0])
    return study, out, truth, names


def synthetic(values: np.ndarray, n: int, rng) -> pd.DataFrame:
    rows = []
    for i, o in enumerate(OUTPUTS):
        for k, d in enumerate(DAYS):
            v = float(values[i, k])
            y = v * (1 + CV * rng.standard_normal(n))
            # one SD per day and output, from the measured mean (a constant SD across an
            # output's days would be a number in PEtab's noise formula, which pyPESTO 0.7's
            # libRoadRunner objective cannot parse beside per-datum noise parameters)
            rows += [{"subject": s + 1, "day": d, "output": o, "value": float(y[s]),
                      "sd": CV * abs(float(np.mean(y)))} for s in range(n)]
    return pd.DataFrame(rows)


def means(data: pd.DataFrame) -> pd.DataFrame:
    g = data.groupby(["day", "output"], sort=False)
    n = g["value"].size()
    out = g.agg(value=("value", "mean"), sd=("sd", "first")).reset_index()
    out["sd"] = out["sd"] / np.sqrt(n.to_numpy())
    return out


def starts_of(prob, n_starts: int, seed: int) -> np.ndarray:
    """The starts neurobone.fit.lsq.fit uses (natural log): the scenario's values, then
    log-uniform draws from ``default_rng(seed)``."""
    lo, hi = prob.log_bounds
    rng = np.random.default_rng(int(seed))
    return np.array([prob.start()] + [lo + (hi - lo) * rng.random(len(lo))
                                      for _ in range(int(n_starts))])


def pypesto_problem(data: pd.DataFrame, scn, names, folder: Path):
    import petab.v1 as petab
    import pypesto.petab
    from pypesto.objective.roadrunner import SolverOptions

    from neurobone.io.petab import export_problem

    exp = export_problem(data, scn, names, folder)
    problem = petab.Problem.from_yaml(str(exp.problem))
    petab.flatten_timepoint_specific_output_overrides(problem)
    pp = pypesto.petab.PetabImporter(problem, output_folder=str(folder / "pypesto"),
                                    simulator_type="roadrunner").create_problem()
    pp.objective.solver_options = SolverOptions(relative_tolerance=RTOL,
                                                absolute_tolerance=ATOL,
                                                maximum_num_steps=100000)
    assert list(pp.x_names) == list(names), pp.x_names
    return pp


def pypesto_fit(pp, starts_ln: np.ndarray, max_nfev: int):
    import pypesto
    import pypesto.optimize
    from pypesto.C import MODE_RES

    rr = pp.objective

    # pyPESTO 0.7's libRoadRunner objective returns its residuals as petab's residual
    # tables (one per condition, the measurement table with its measurement column
    # replaced by the residual) stacked into an object array, which its own finite
    # differences (FD) cannot subtract: the residual column taken out as floats
    col = list(rr.petab_problem.measurement_df.columns).index("measurement")

    def res(x):
        r = np.asarray(rr(x, sensi_orders=(0,), mode=MODE_RES))
        return r.reshape(-1, r.shape[-1])[:, col].astype(float)

    inner = pypesto.Objective(fun=lambda x: float(rr(x)), res=res, x_names=pp.x_names)
    obj = pypesto.objective.FD(inner, sres=True, grad=False, hess=False,
                               method="forward", delta_res=1e-4 / math.log(10))
    problem = pypesto.Problem(obj, pp.lb, pp.ub, x_names=pp.x_names,
                              x_guesses=starts_ln / math.log(10))
    # pyPESTO passes ``tol`` as least_squares' ftol, xtol and gtol, ``maxfun`` as max_nfev
    opt = pypesto.optimize.ScipyOptimizer(
        method="ls_trf", tol=1e-8, options={"maxfun": max_nfev, "tr_solver": "exact"})
    res = pypesto.optimize.minimize(problem, opt, n_starts=len(starts_ln),
                                    engine=pypesto.engine.SingleCoreEngine(),
                                    progress_bar=False)
    best = res.optimize_result.list[0]
    return best, res


def fit_both(arms: dict, names, truth, n, starts, seed, skip_pypesto, tmp: Path) -> list[dict]:
    from neurobone.fit.data import prepare
    from neurobone.fit.lsq import MAX_NFEV, fit
    from neurobone.io.petab import chi2_from_nllh

    rng = np.random.default_rng(seed)
    out = []
    for k, (a, (scn, values)) in enumerate(arms.items()):
        data = synthetic(values, n, rng)
        row = {"arm": a, "data": len(data)}
        t = time.perf_counter()
        res = fit(data, scn, names, n_starts=starts, seed=seed)
        row["nb_total_s"] = time.perf_counter() - t
        row["nb_starts_s"] = res.seconds["starts"]
        row["nb_objective"] = res.objective
        row["nb_evaluations"] = res.diagnostics["evaluations"]
        row["nb_failed"] = res.diagnostics["failed_evaluations"]
        row["nb_identifiable"] = int(sum(res.identifiable(p) for p in names))
        row["nb_covered"] = int(sum(
            (res.low[p] is None or res.low[p] <= truth[p])
            and (res.high[p] is None or truth[p] <= res.high[p]) for p in names))
        if not skip_pypesto:
            m = means(data)
            # the chi-square of the replicates is that of the means plus a constant
            const = float(np.sum(((data["value"] - data.groupby(["day", "output"])["value"]
                                   .transform("mean")) / data["sd"]) ** 2))
            t = time.perf_counter()
            pp = pypesto_problem(m, scn, names, tmp / f"arm{k}")
            row["pp_import_s"] = time.perf_counter() - t
            prob = prepare(data, scn, names, None, 10.0, 0.05)
            t = time.perf_counter()
            best, result = pypesto_fit(pp, starts_of(prob, starts, seed), MAX_NFEV)
            row["pp_starts_s"] = time.perf_counter() - t
            # (pyPESTO's fval of a least-squares optimiser is half the sum of squared
            # residuals: the negative log-likelihood is evaluated at the optimum)
            at_best = float(pp.objective(best.x))
            row["pp_objective"] = (chi2_from_nllh(at_best, m["sd"]) + const
                                   if np.isfinite(at_best) else float("nan"))
            row["pp_message"] = str(best.message)
            at_nb = pp.objective(np.log10([res.estimates[p] for p in names]))
            row["pp_objective_at_nb_estimate"] = chi2_from_nllh(float(at_nb), m["sd"]) + const
            row["pp_evaluations"] = int(sum(
                (r.n_res or 0) + (r.n_fval or 0) for r in result.optimize_result.list))
        out.append(row)
        print(f"  {a}: " + ", ".join(f"{k_} {v:.4g}" if isinstance(v, float) else f"{k_} {v}"
                                     for k_, v in row.items() if k_ != "arm"), flush=True)
    return out


def fit_joint(study, arms: dict, names, truth, n, starts, seed) -> dict:
    """The same data (the same draws as :func:`fit_both`) fitted jointly: one least-squares
    fit of every arm at once, the study as the design (``neurobone fit --design``)."""
    from neurobone.fit.lsq import fit

    rng = np.random.default_rng(seed)
    data = pd.concat([synthetic(values, n, rng).assign(arm=a)
                      for a, (_, values) in arms.items()], ignore_index=True)
    t = time.perf_counter()
    res = fit(data, study, names, n_starts=starts, seed=seed)
    out = {"data": len(data), "total_s": time.perf_counter() - t,
           "starts_s": res.seconds["starts"], "profiles_s": res.seconds["profiles"],
           "objective": res.objective, "evaluations": res.diagnostics["evaluations"],
           "failed": res.diagnostics["failed_evaluations"],
           "identifiable": int(sum(res.identifiable(p) for p in names)),
           "covered": int(sum((res.low[p] is None or res.low[p] <= truth[p])
                              and (res.high[p] is None or truth[p] <= res.high[p])
                              for p in names))}
    print("  joint: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                  for k, v in out.items()), flush=True)
    return out


def likelihoods(arm, names, n_evals, n_pp, batch, seed, skip_pypesto, tmp: Path) -> dict:
    from neurobone.fit.data import Measurements, prepare
    from neurobone.io.petab import chi2_from_nllh

    scn, values = arm
    data = means(synthetic(values, 10, np.random.default_rng(seed + 1)))
    prob = prepare(data, scn, names, None, 10.0, 0.05)
    lo, hi = prob.log_bounds
    rng = np.random.default_rng(seed + 2)
    X = np.exp(lo + (hi - lo) * rng.random((n_evals, len(names))))
    meas = Measurements(prob.data)
    meas.run(prob, X[:2])  # warm
    n_pp = min(n_pp, n_evals)
    # the vectors pyPESTO evaluates, alone (one batched call), for the like-for-like ratio
    t = time.perf_counter()
    meas.run(prob, X[:n_pp])
    same_s = time.perf_counter() - t
    chi2 = np.full(n_evals, np.nan)
    failed = 0
    t = time.perf_counter()
    for i in range(0, n_evals, batch):
        at, failure, _ = meas.run(prob, X[i:i + batch])
        chi2[i:i + batch] = np.sum(meas.residuals(at) ** 2, axis=1)
        failed += sum(bool(f) for f in failure)
    nb_s = time.perf_counter() - t
    out = {"n": n_evals, "batch": batch, "nb_s": nb_s, "nb_per_eval_ms": 1e3 * nb_s / n_evals,
           "nb_failed": failed, "nb_same_per_eval_ms": 1e3 * same_s / n_pp}
    if skip_pypesto:
        return out
    pp = pypesto_problem(data, scn, names, tmp / "likelihood")
    pp.objective(np.log10(X[0]))  # warm
    nllh = np.full(n_pp, np.nan)
    t = time.perf_counter()
    for i in range(n_pp):
        nllh[i] = pp.objective(np.log10(X[i]))
    pp_s = time.perf_counter() - t
    c = np.array([chi2_from_nllh(v, prob.data["sd"]) if np.isfinite(v) else np.nan
                  for v in nllh])
    both = np.isfinite(c) & np.isfinite(chi2[:n_pp])
    rel = np.abs(c[both] - chi2[:n_pp][both]) / np.maximum(np.abs(chi2[:n_pp][both]), 1e-300)
    out.update({"pp_n": n_pp, "pp_s": pp_s, "pp_per_eval_ms": 1e3 * pp_s / n_pp,
                "pp_failed": int(np.sum(~np.isfinite(nllh))),
                "agree_median_rel": float(np.median(rel)) if both.any() else None,
                "agree_max_rel": float(np.max(rel)) if both.any() else None,
                "ratio": (1e3 * pp_s / n_pp) / out["nb_same_per_eval_ms"]})
    return out


def homeostasis(rows: list[int], repeats: int, seed: int) -> list[dict]:
    """``neurobone.fit.batch.evaluate`` of the 56-day treadmill scenario (k_tb, k_grow,
    g_T within +-10 %) with the batched homeostasis and with the one-row method
    (``neurobone.scenario.subjects.reference`` row after row, as before it): the mean
    seconds of its references and integration stages."""
    import yaml

    from neurobone.engine.kernels import compile_model
    from neurobone.fit import batch
    from neurobone.scenario.compile import base_parameters, model_for
    from neurobone.scenario.run import as_scenario
    from neurobone.scenario.subjects import reference

    scn = as_scenario(yaml.safe_load((HERE.parents[1] / "examples" /
                                      "mouse_treadmill.yaml").read_text()))
    cm = compile_model(model_for(scn))
    base = base_parameters(cm, scn.parameters)
    names = ["k_tb", "k_grow", "g_T"]
    x = np.array([base[cm.param_index(p)] for p in names])
    rng = np.random.default_rng(seed)
    batched = batch.references

    def one_at_a_time(cm, B):
        refs = [reference(cm, b) for b in B]
        return (np.array([r.y for r in refs]), np.array([r.p for r in refs]),
                [""] * len(refs))

    out = []
    for n in rows:
        X = x * np.exp(rng.uniform(-0.1, 0.1, (n, len(names))))
        batch.evaluate(scn, cm, names, X, ["bv_tv"], [56.0])  # warm
        for how, refs in (("batched", batched), ("one row at a time", one_at_a_time)):
            batch.references = refs
            try:
                sec: dict[str, list[float]] = {}
                for _ in range(repeats):
                    s: dict[str, float] = {}
                    batch.evaluate(scn, cm, names, X, ["bv_tv"], [56.0], seconds=s)
                    for k, v in s.items():
                        sec.setdefault(k, []).append(v)
            finally:
                batch.references = batched
            out.append({"rows": n, "homeostasis": how,
                        **{k: float(np.mean(v)) for k, v in sec.items()}})
    return out


def _total(h: dict) -> float:
    return sum(v for k, v in h.items() if k not in ("rows", "homeostasis"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arms", type=int, default=5, help="arms of the study fitted (1-5)")
    ap.add_argument("--n", type=int, default=10, help="mice per arm")
    ap.add_argument("--starts", type=int, default=1, help="random starts besides the "
                    "scenario's values")
    ap.add_argument("--evals", type=int, default=10_000, help="likelihood evaluations")
    ap.add_argument("--pypesto-evals", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the homeostasis timing")
    ap.add_argument("--no-pypesto", action="store_true")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--joint-only", action="store_true",
                    help="only the joint fit of all arms (the study as the design)")
    args = ap.parse_args()
    logging.getLogger("pypesto").setLevel(logging.ERROR)
    logging.getLogger("petab").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    cores = os.cpu_count()
    print(f"neurobone fitting benchmark: {cores} cores, load average "
          f"{os.getloadavg()[0]:.2f} at start")
    t = time.perf_counter()
    study, arms, truth, names = arms_and_truth(max(1, min(args.arms, 5)))
    print(f"warm-up (kernels, truth runs): {time.perf_counter() - t:.1f} s; parameters "
          f"{', '.join(names)}; {len(arms)} arms x {args.n} mice, days "
          f"{', '.join(f'{d:g}' for d in DAYS)}, outputs {', '.join(OUTPUTS)}")
    if args.joint_only:
        print(f"least squares, all {len(arms)} arms jointly (the study as the design), "
              f"{args.starts + 1} starts:")
        joint = fit_joint(study, arms, names, truth, args.n, args.starts, args.seed)
        print(f"{'joint least squares with profiles (s)':<44} {joint['total_s']:>10.1f}")
        print(f"load average at end {os.getloadavg()[0]:.2f}")
        return
    print("homeostasis in one batched evaluation (56-day treadmill scenario, mean of "
          f"{args.repeats}):")
    homeo = homeostasis([6, 48], args.repeats, args.seed)
    for h in homeo:
        print(f"  {h['rows']:>3} rows, {h['homeostasis']:<18}: references "
              f"{h['references']:.3f} s, integration {h['integration']:.3f} s")
    for n in (6, 48):
        a, b = (h for h in homeo if h["rows"] == n)
        print(f"  {n} rows: references {b['references'] / a['references']:.0f}x faster "
              f"batched; the whole evaluation {_total(b) / _total(a):.1f}x")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"least squares, {args.starts + 1} starts per arm:")
        fits = fit_both(arms, names, truth, args.n, args.starts, args.seed, args.no_pypesto,
                        Path(tmp))
        print(f"likelihood evaluations ({args.evals} neurobone, {args.pypesto_evals} "
              "pyPESTO), exercise arm:", flush=True)
        print(f"least squares, all {len(arms)} arms jointly (the study as the design):")
        joint = fit_joint(study, arms, names, truth, args.n, args.starts, args.seed)
        arm = arms.get("exercise", next(iter(arms.values())))
        like = likelihoods(arm, names, args.evals, args.pypesto_evals, args.batch, args.seed,
                           args.no_pypesto, Path(tmp))
    df = pd.DataFrame(fits)
    print()
    nb_total, nb_starts = df["nb_total_s"].sum(), df["nb_starts_s"].sum()
    print(f"{'':<44} {'neurobone':>10} {'pyPESTO':>10} {'ratio':>8}")
    if not args.no_pypesto:
        pp_starts = df["pp_starts_s"].sum()
        print(f"{'least squares, starts only (s, all arms)':<44} {nb_starts:>10.1f} "
              f"{pp_starts:>10.1f} {pp_starts / nb_starts:>7.1f}x")
        print(f"{'  model import (s, all arms)':<44} {'-':>10} {df['pp_import_s'].sum():>10.1f}")
        print(f"{'  best objective (chi2, sum of arms)':<44} {df['nb_objective'].sum():>10.2f} "
              f"{df['pp_objective'].sum():>10.2f}")
    print(f"{'least squares with profiles (s, all arms)':<44} {nb_total:>10.1f}")
    print(f"{'joint fit of all arms with profiles (s)':<44} {joint['total_s']:>10.1f}  "
          f"(identifiable {joint['identifiable']}/{len(names)}, truth inside "
          f"{joint['covered']}/{len(names)})")
    print("  parameters identifiable / truth inside the interval, per arm: "
          + ", ".join(f"{r.arm} {r.nb_identifiable}/{r.nb_covered}" for r in df.itertuples()))
    if like.get("pp_per_eval_ms"):
        label = f"one likelihood evaluation (ms, {like['pp_n']} same)"
        print(f"{label:<44} {like['nb_same_per_eval_ms']:>10.2f} "
              f"{like['pp_per_eval_ms']:>10.2f} {like['ratio']:>7.1f}x")
        print(f"  objectives agree: median relative difference {like['agree_median_rel']:.1e}, "
              f"largest {like['agree_max_rel']:.1e}")
    else:
        print(f"{'one likelihood evaluation (ms)':<44} {like['nb_per_eval_ms']:>10.2f}")
    print(f"  {like['n']} neurobone evaluations in {like['nb_s']:.1f} s, "
          f"{like['nb_per_eval_ms']:.2f} ms each ({like['nb_failed']} failed); 10^5 would "
          f"take {1e5 * like['nb_per_eval_ms'] / 6e4:.1f} min")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"homeostasis": homeo, "fits": fits, "joint": joint,
                                         "likelihood": like}, indent=1))


if __name__ == "__main__":
    main()
