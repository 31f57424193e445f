"""Simulation results: labelled arrays with tidy and wide pandas views and a plot."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neurobone.errors import InputError
from neurobone.model.definition import Model


@dataclass
class SimulationResult:
    """Trajectories of one subject.

    ``t`` (days), ``states`` (time x state), ``expressions`` (time x expression),
    ``parameters`` (time x parameter, the values in force at each time point).
    """

    model: Model
    t: np.ndarray
    states: np.ndarray
    expressions: np.ndarray
    parameters: np.ndarray
    meta: dict = field(default_factory=dict)

    # ------------------------------------------------------------------ access
    @property
    def variables(self) -> list[str]:
        """Every name that can be read: states, expressions and named outputs."""
        return (self.model.state_names + self.model.expression_names
                + [o for o in self.model.outputs if o not in self.model.state_names
                   and o not in self.model.expression_names])

    def __getitem__(self, name: str) -> np.ndarray:
        m = self.model
        target = m.outputs.get(name, name)
        if target in m.state_names:
            return self.states[:, m.state_names.index(target)]
        if target in m.expression_names:
            return self.expressions[:, m.expression_names.index(target)]
        if target in m.parameter_names:
            return self.parameters[:, m.parameter_names.index(target)]
        raise InputError(
            f"unknown output {name!r} for model {m.name!r}; valid: {', '.join(sorted(self.variables))}"
        )

    def at(self, day: float) -> dict[str, float]:
        """Every state and named output at the saved time point nearest ``day``."""
        k = int(np.argmin(np.abs(self.t - day)))
        names = self.model.state_names + list(self.model.outputs)
        return {n: float(self[n][k]) for n in dict.fromkeys(names)}

    def final(self) -> dict[str, float]:
        return self.at(self.t[-1])

    # ------------------------------------------------------------------ tables
    def wide(self, outputs: list[str] | None = None) -> pd.DataFrame:
        """One row per saved time point: ``day`` then one column per variable.

        Default columns: every state, then every named output that is not a state.
        """
        if outputs is None:
            outputs = list(dict.fromkeys(self.model.state_names + list(self.model.outputs)))
        data = {"day": self.t}
        for name in outputs:
            data[name] = self[name]
        return pd.DataFrame(data)

    def tidy(self, outputs: list[str] | None = None) -> pd.DataFrame:
        """Long table with columns ``day, variable, value``."""
        return self.wide(outputs).melt(id_vars="day", var_name="variable", value_name="value")

    to_frame = wide

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        return (f"<SimulationResult model={self.model.name!r} days={self.t[0]:g}..{self.t[-1]:g} "
                f"points={len(self.t)} states={len(self.model.states)}>")

    def _repr_html_(self) -> str:
        head = f"<p><b>{self.model.name}</b>: day {self.t[0]:g} to {self.t[-1]:g}</p>"
        return head + self.wide().iloc[:: max(1, len(self.t) // 10)].to_html(index=False)

    def plot(self, variables: list[str] | None = None, ax=None, relative: bool = False):
        """Plot variables against day (one panel each unless ``ax`` is given).

        ``relative=True`` plots each variable as percent of its day-0 value.
        """
        import matplotlib.pyplot as plt

        variables = variables or list(self.model.outputs)[:4] or self.model.state_names
        if ax is None:
            fig, axes = plt.subplots(len(variables), 1, sharex=True,
                                     figsize=(6, 1.8 * len(variables) + 0.6), squeeze=False)
            axes = axes[:, 0]
        else:
            axes = [ax] * len(variables)
            fig = ax.figure
        for a, name in zip(axes, variables):
            y = self[name]
            if relative:
                y = 100.0 * y / y[0]
            a.plot(self.t, y, label=name)
            a.set_ylabel(f"{name} (% of day 0)" if relative else name)
        axes[-1].set_xlabel("day")
        fig.tight_layout()
        return fig
