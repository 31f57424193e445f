"""The report folder of a Bayesian fit (:class:`neurobone.fit.bayes.PosteriorResult`).

:func:`write_posterior` writes into one folder:

========================================  ==============================================
``README.md``                             the summary: sentences computed from the
                                          numbers (estimates, intervals,
                                          identifiability, convergence, cost)
``summary.csv``                           one row per parameter: median, 95 % credible
                                          interval, identifiable, R-hat, ESS
``samples.parquet``                       the kept samples (walker, step, parameters,
                                          objective)
``posterior.json``                        :meth:`PosteriorResult.to_json`
``predictive.png``, ``.svg``              data over the posterior's band of the model
``trace.png``, ``.svg``                   each walker's path, burn-in shaded
``pair.png``, ``.svg``                    the posterior's pairs and marginals
``.neurobone-report``                     the marker (JSON: version, the files written)
========================================  ==============================================

Every file is written atomically (:func:`neurobone.files.write_output`); the folder is
checked first as a study report's is (:func:`neurobone.report.prepare_folder`: new, empty
or a previous report, unless ``overwrite``).
"""

from __future__ import annotations

import json
from pathlib import Path

from neurobone._version import __version__
from neurobone.errors import InputError
from neurobone.files import quoted, write_output, write_output_text
from neurobone.fit.bayes import ESS_MIN, RHAT_MAX, PosteriorResult

__all__ = ["write_posterior", "summary_text"]

FIGURES = {"predictive": "predictive_plot", "trace": "trace_plot", "pair": "pair_plot"}


def _g(x: float) -> str:
    return f"{x:.3g}"


def summary_text(res: PosteriorResult) -> str:
    """The README of the folder: what was fitted, each parameter's estimate and interval,
    which are not identifiable, whether the sampler converged, what it cost; every
    sentence from the result's numbers."""
    d = res.diagnostics
    ps = res.parameters
    lines = ["# Bayesian fit (neurobone)", "",
             f"{len(ps)} parameter(s) ({', '.join(ps)}) fitted to {d['n_data']} "
             f"measurement(s) by emcee's ensemble sampler: {d['walkers']} walkers, "
             f"{d['burn']} burn-in steps discarded and {d['steps']} kept "
             f"({d['walkers'] * d['steps']} samples), seed {d['seed']}. Prior: uniform on "
             "the logarithm of each parameter within its bounds; likelihood: independent "
             "normal errors of the data's SDs.", "", "## Estimates", ""]
    for p in ps:
        lo_b, hi_b = d["bounds"][p]
        q = d["quantiles"][p]
        if res.identifiable(p):
            width = res.high[p] / res.low[p]
            lines.append(f"- {p}: posterior median {_g(res.estimates[p])}, 95 % credible "
                         f"interval {_g(res.low[p])} to {_g(res.high[p])} (a factor "
                         f"{_g(width)} wide, within the prior's {_g(lo_b)} to {_g(hi_b)}).")
        else:
            sides = " and ".join(s for s, v in (("lower", res.low[p]), ("upper", res.high[p]))
                                 if v is None)
            lines.append(f"- {p}: **not identifiable** from these data: its posterior "
                         f"reaches the prior's {sides} bound (2.5-97.5 % quantiles "
                         f"{_g(q[0])} to {_g(q[2])}, prior {_g(lo_b)} to {_g(hi_b)}); the "
                         "interval there is the prior's, not the data's.")
    lines += ["", f"At the posterior medians the objective (sum of squared weighted "
              f"residuals) is {_g(res.objective)} for {d['n_data']} data; the lowest "
              f"sampled is {_g(d['min_objective'])}.", "", "## Convergence", ""]
    rhat_ok = d["rhat_max"] is not None and d["rhat_max"] <= RHAT_MAX
    ess_ok = d["ess_min"] is not None and d["ess_min"] >= ESS_MIN
    rhat = "not computable" if d["rhat_max"] is None else _g(d["rhat_max"])
    ess = "not computable" if d["ess_min"] is None else f"{d['ess_min']:.0f}"
    lines.append(f"Largest R-hat {rhat} " + ("(at most " if rhat_ok else "(**not** at most ")
                 + f"{RHAT_MAX}); smallest effective sample size {ess} "
                 + ("(at least " if ess_ok else "(**not** at least ") + f"{ESS_MIN}); mean "
                 f"acceptance fraction {d['acceptance']:.2f}.")
    taus = {p: t for p, t in d["autocorr_time"].items() if t is not None}
    if taus:
        worst = max(taus, key=taus.get)
        lines.append(f"The longest autocorrelation time is {_g(taus[worst])} steps ({worst}); "
                     f"the {d['steps']} kept steps are {_g(d['steps'] / taus[worst])} of "
                     "them.")
    lines.append("The samples can be used as they are." if rhat_ok and ess_ok else
                 "The samples have not converged by these criteria: sample more steps "
                 "before relying on the intervals.")
    if res.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in res.notes]
    s = res.seconds
    spe = d["seconds_per_effective_sample"]
    lines += ["", "## Cost", "",
              f"{d['evaluations']} model runs in {d['batched_calls']} batched calls, "
              f"{_g(s['total'])} s in all ({_g(d['seconds_per_step'])} s per step"
              + (f", {_g(spe)} s per effective sample" if spe is not None else "") + ").",
              "", "## Files", "",
              "- `summary.csv`: one row per parameter", "- `samples.parquet`: the kept samples",
              "- `posterior.json`: the result as plain data",
              "- `predictive.png`/`.svg`: data over the posterior's 95 % band of the model",
              "- `trace.png`/`.svg`: each walker's path (burn-in shaded)",
              "- `pair.png`/`.svg`: the posterior's pairs and marginals", ""]
    return "\n".join(lines)


def _saver(fig, fmt: str):
    return lambda tmp: fig.savefig(tmp, dpi=150, bbox_inches="tight", format=fmt)


def write_posterior(res: PosteriorResult, out: str | Path, overwrite: bool = False) -> Path:
    """Write ``res``'s report folder to ``out`` (see the module's table); returns the path
    of its ``README.md``. ``out`` must be new, empty or a previous report unless
    ``overwrite``."""
    import matplotlib.pyplot as plt

    from neurobone.report import _previous_files, _write_marker, prepare_folder

    folder = prepare_folder(out, overwrite)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write the report folder {quoted(folder)}: "
                         f"{exc.strerror}") from None
    previous = _previous_files(folder)
    _write_marker(folder, __version__, previous)
    written = []
    for stem, method in FIGURES.items():
        fig = getattr(res, method)()
        try:
            for fmt in ("png", "svg"):
                name = f"{stem}.{fmt}"
                write_output(folder / name, _saver(fig, fmt), "report file")
                written.append(name)
        finally:
            plt.close(fig)
    write_output(folder / "summary.csv", lambda tmp: res.table().to_csv(tmp, index=False),
                 "report file")
    write_output(folder / "samples.parquet",
                 lambda tmp: res.samples.to_parquet(tmp, index=False), "report file")
    write_output_text(folder / "posterior.json",
                      json.dumps(res.to_json(), indent=1) + "\n", "report file")
    readme = folder / "README.md"
    write_output_text(readme, summary_text(res), "report file")
    written += ["summary.csv", "samples.parquet", "posterior.json", "README.md"]
    _write_marker(folder, __version__, written)
    for name in set(previous) - set(written):
        stale = folder / name
        if stale.is_file() and not stale.is_symlink():
            stale.unlink(missing_ok=True)
    return readme
