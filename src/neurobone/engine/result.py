"""The result of a simulation: outputs of N subjects over time, with pandas views."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neurobone.errors import InputError, SolverError

#: status codes of :attr:`Result.status`
STATUS = {
    0: "ok",
    1: "step size underflow",
    2: "too many steps",
    3: "non-finite state",
    4: "state out of range",
    5: "non-finite output",
}
#: a state beyond this many times its scale has blown up (status 4): no quantity of a
#: model is 1e100 times its typical magnitude, and the solvers' error control no longer
#: means anything there
BLOW_UP = 1e100


@dataclass
class Result:
    """Outputs of N subjects: ``values[subject, time, output]``.

    ``t`` are the saved days and ``names`` the outputs; ``status`` is 0 for subjects
    that finished (:data:`STATUS` for the others) and ``fail_day`` the day a failed
    subject stopped (NaN otherwise); its later values are NaN. ``failed_state`` says, for
    failed subjects where it is known, which state was to blame at the failure (not
    finite, a non-finite rate, or the largest relative to its scale). ``final_state``
    holds each subject's state at its last day (``state_names`` order).
    ``steps``/``rejected`` count accepted and rejected steps, ``stiff_steps`` the accepted
    RODAS steps.
    """

    model: str
    t: np.ndarray
    values: np.ndarray
    names: list[str]
    status: np.ndarray
    fail_day: np.ndarray
    final_state: np.ndarray
    state_names: list[str]
    steps: np.ndarray
    rejected: np.ndarray
    stiff_steps: np.ndarray
    units: dict[str, str] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    failed_state: dict[int, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ access
    @property
    def n_subjects(self) -> int:
        return self.values.shape[0]

    @property
    def ok(self) -> bool:
        """True when every subject finished."""
        return bool(np.all(self.status == 0))

    def __getitem__(self, name: str) -> np.ndarray:
        """One output as a ``(subject, time)`` array."""
        try:
            return self.values[:, :, self.names.index(name)]
        except ValueError:
            raise InputError(f"output {name!r} was not kept; kept: {', '.join(self.names)}"
                             ) from None

    def subject(self, i: int) -> "Result":
        """Subject ``i`` alone (a result of one subject)."""
        if not -self.n_subjects <= i < self.n_subjects:
            raise InputError(f"subject {i} out of range 0..{self.n_subjects - 1}")
        s = slice(i, i + 1) if i >= 0 else slice(i, i + 1 or None)
        k = i if i >= 0 else self.n_subjects + i
        return Result(self.model, self.t, self.values[s], self.names, self.status[s],
                      self.fail_day[s], self.final_state[s], self.state_names, self.steps[s],
                      self.rejected[s], self.stiff_steps[s], self.units, self.meta,
                      {0: self.failed_state[k]} if k in self.failed_state else {})

    def failures(self) -> pd.DataFrame:
        """One row per failed subject: ``subject, day, status, reason, state`` (``state``:
        the state to blame where it is known, else empty)."""
        bad = np.nonzero(self.status != 0)[0]
        return pd.DataFrame({
            "subject": bad,
            "day": self.fail_day[bad],
            "status": self.status[bad],
            "reason": [STATUS.get(int(s), "unknown") for s in self.status[bad]],
            "state": [self.failed_state.get(int(i), "") for i in bad],
        })

    def failure_message(self, limit: int = 5) -> str:
        """One line: how many subjects failed, and for the first ``limit`` the day, the
        reason and the state to blame."""
        f = self.failures()
        parts = [f"subject {r.subject} at day {r.day:.2f} ({r.reason}"
                 + (f"; {r.state})" if r.state else ")")
                 for r in f.head(limit).itertuples()]
        more = f" and {len(f) - limit} more" if len(f) > limit else ""
        return (f"solver failed for {len(f)} of {self.n_subjects} subjects: "
                f"{'; '.join(parts)}{more}")

    def raise_on_failure(self) -> "Result":
        """Raise :class:`SolverError` naming the failed subjects and days, else return self."""
        if not self.ok:
            raise SolverError(self.failure_message())
        return self

    # ------------------------------------------------------------------ tables
    def tidy(self) -> pd.DataFrame:
        """Long table: ``subject, day, variable, value``."""
        n, T, k = self.values.shape
        return pd.DataFrame({
            "subject": np.repeat(np.arange(n), T * k),
            "day": np.tile(np.repeat(self.t, k), n),
            "variable": pd.Categorical.from_codes(np.tile(np.arange(k), n * T), self.names),
            "value": self.values.reshape(-1),
        })

    def wide(self, subject: int | None = None) -> pd.DataFrame:
        """One row per subject and saved day: ``subject, day`` then one column per output;
        with ``subject`` given, that subject only and no ``subject`` column."""
        if subject is not None:
            one = self.subject(subject)
            return pd.DataFrame({"day": self.t, **{n: one.values[0, :, j]
                                                   for j, n in enumerate(self.names)}})
        n, T, k = self.values.shape
        data = {"subject": np.repeat(np.arange(n), T), "day": np.tile(self.t, n)}
        data.update({name: self.values[:, :, j].reshape(-1) for j, name in enumerate(self.names)})
        return pd.DataFrame(data)

    def final(self) -> pd.DataFrame:
        """Values at the last saved day: one row per subject (index ``subject``)."""
        df = pd.DataFrame(self.values[:, -1, :] if len(self.t) else
                          np.full((self.n_subjects, len(self.names)), np.nan),
                          columns=self.names)
        df.index.name = "subject"
        return df

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes)

    # ------------------------------------------------------------------ display
    def label(self, name: str) -> str:
        u = self.units.get(name, "")
        return f"{name} ({u})" if u and u != "1" else name

    def plot(self, outputs: list[str] | None = None, *, subjects: int = 20, relative: bool = False):
        """One panel per output against day; returns the Figure.

        Up to ``subjects`` subjects are drawn as lines; with more, the median and the
        5-95 % band of all of them. ``relative=True`` draws percent of the day-0 value.
        """
        import matplotlib.pyplot as plt

        outputs = outputs or self.names[:4]
        fig, axes = plt.subplots(len(outputs), 1, sharex=True, squeeze=False,
                                 figsize=(6.5, 1.9 * len(outputs) + 0.7))
        for ax, name in zip(axes[:, 0], outputs, strict=True):
            y = self[name]
            if relative:
                with np.errstate(divide="ignore", invalid="ignore"):
                    y = 100.0 * y / y[:, :1]
            if self.n_subjects <= subjects:
                for row in y:
                    ax.plot(self.t, row, lw=1.2 if self.n_subjects == 1 else 0.8)
            else:
                lo, med, hi = np.nanpercentile(y, [5, 50, 95], axis=0)
                ax.fill_between(self.t, lo, hi, alpha=0.3, label="5-95 %")
                ax.plot(self.t, med, lw=1.5, label="median")
                ax.legend(frameon=False, fontsize=8)
            ax.set_ylabel(f"{name} (% of day 0)" if relative else self.label(name))
        axes[-1, 0].set_xlabel("day")
        fig.tight_layout()
        return fig

    def __repr__(self) -> str:
        n, T, k = self.values.shape
        failed = int(np.sum(self.status != 0))
        names = ", ".join(self.names[:6]) + (", ..." if k > 6 else "")
        days = f"{self.t[0]:g}..{self.t[-1]:g}" if T else "-"
        return (f"<Result model={self.model!r} subjects={n} days={days} points={T} "
                f"outputs={k} [{names}] failed={failed}>")

    def _repr_html_(self) -> str:
        head = f"<p><code>{self.__repr__().replace('<', '&lt;').replace('>', '&gt;')}</code></p>"
        if self.n_subjects == 1:
            df = self.wide(0)
            return head + df.iloc[:: max(1, len(df) // 10)].to_html(index=False)
        return head + self.final().head(10).to_html()
