"""Figures of the published models' responses (docs/published-models.md).

Saves lemaire2004_responses.png and pivonka2008_responses.png next to this script:
cells over time (relative to the steady state) for continuous PTH, OPG and RANKL
administration on days 20-80, as in Lemaire et al. 2004 Figs. 4-6 and Pivonka et al.
2008; for Pivonka also the bone volume BV. Each run is one subject with the reference
solver (SciPy's BDF, :class:`neurobone.engine.solvers.BDF`).

Run:  .venv/bin/python docs/figures/make_published.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import neurobone as nb  # noqa: E402
from neurobone.engine.steady import steady_state  # noqa: E402

HERE = Path(__file__).resolve().parent
START, END, DAYS = 20, 80, 140

#: administrations (parameter, value in pM/day, panel title); the doses of Lemaire 2004
DOSES = [
    ("I_P", 1e3, "continuous PTH, I_P = 1e3 pM/day"),
    ("I_O", 2e5, "OPG, I_O = 2e5 pM/day"),
    ("I_L", 1e4, "RANKL, I_L = 1e4 pM/day"),
]

MODELS = {
    "lemaire2004": dict(
        cells=[("R", "responding osteoblasts R (OBp)"), ("B", "active osteoblasts B (OBa)"),
               ("C", "active osteoclasts C (OCa)")],
        bone=None,
        title="Lemaire et al. 2004 (J Theor Biol 229:293)",
    ),
    "pivonka2008": dict(
        cells=[("OBp", "osteoblast precursors OBp"), ("OBa", "active osteoblasts OBa"),
               ("OCa", "active osteoclasts OCa")],
        bone=("BV", "bone volume BV (% of initial)"),
        title="Pivonka et al. 2008 (Bone 43:249)",
    ),
}
COLOURS = ["#1b9e77", "#377eb8", "#d95f02"]


def figure(model: str) -> Path:
    spec = MODELS[model]
    ss = steady_state(model)
    rows = 2 if spec["bone"] else 1
    fig, axes = plt.subplots(rows, len(DOSES), figsize=(12, 3.6 * rows), sharex=True,
                             squeeze=False)
    for j, (name, value, title) in enumerate(DOSES):
        res = nb.simulate(model, DAYS, initial=ss, schedule=[nb.Override(name, value, START, END)],
                          solver=nb.BDF(), on_failure="raise")
        ax = axes[0, j]
        for (state, label), colour in zip(spec["cells"], COLOURS):
            ax.plot(res.t, res[state][0] / ss[state], color=colour, lw=2, label=label)
        ax.axvspan(START, END, color="0.9", zorder=0)
        ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("relative to steady state" if j == 0 else "")
        ax.set_yscale("log")
        ax.set_ylim(0.03, 15)
        if spec["bone"]:
            state, label = spec["bone"]
            bx = axes[1, j]
            bx.plot(res.t, res[state][0], color="k", lw=2)
            bx.axvspan(START, END, color="0.9", zorder=0)
            bx.axhline(100.0, color="0.5", lw=0.8, ls=":")
            bx.set_ylabel(label if j == 0 else "")
            bx.set_ylim(70, 105)
    for ax in axes[-1]:
        ax.set_xlabel("day (shaded: administration, days 20-80)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.suptitle(f"{spec['title']}: responses simulated by neurobone", fontsize=12)
    fig.tight_layout(rect=(0, 0.06 / rows, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9, frameon=False)
    out = HERE / f"{model}_responses.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> None:
    for model in MODELS:
        print("wrote", figure(model))


if __name__ == "__main__":
    main()
