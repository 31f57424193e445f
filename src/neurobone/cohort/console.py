"""Terminal helpers of the cohort commands: a progress bar with rate and ETA, tables,
and the Dask client behind ``--dask``."""

from __future__ import annotations

import contextlib
import logging
import math
import os
from typing import Iterator

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from neurobone.errors import InputError


class RateColumn(ProgressColumn):
    """Subjects per second, measured over the bar's recent updates (Rich's ``speed``)."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("-- subjects/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} subjects/s" if speed >= 10 else f"{speed:.2f} subjects/s",
                    style="progress.data.speed")


@contextlib.contextmanager
def cohort_progress(description: str, console: Console | None = None) -> Iterator:
    """A Rich progress bar for :func:`~neurobone.cohort.run.run_cohort`: yields the
    ``progress(done, total, stage)`` callback. Subjects already finished (a resume) are shown
    as done but do not count towards the rate or the ETA."""
    console = console or Console(stderr=True)
    bar = Progress(TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                   RateColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                   console=console)
    task = None

    def progress(done: int, total: int, stage: str = "") -> None:
        nonlocal task
        if task is None:  # the first call reports the resumed subjects: not part of the rate
            bar.start()  # started here, so that errors before any work print no empty bar
            task = bar.add_task(description, total=total, completed=done)
        else:
            bar.update(task, completed=done, total=total)

    try:
        yield progress
    finally:
        if task is not None:
            bar.stop()


def frame_table(df: pd.DataFrame, max_rows: int = 50, title: str | None = None) -> Table:
    """A Rich table of ``df`` (at most ``max_rows`` rows; numbers to 6 significant digits)."""
    table = Table(*[str(c) for c in df.columns], title=title, show_lines=False)
    for row in df.head(max_rows).itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    if len(df) > max_rows:
        table.caption = f"... {len(df) - max_rows} more rows (write them all with -o FILE.csv)"
    return table


def print_frame(df: pd.DataFrame, console: Console, max_rows: int = 50) -> None:
    """Print ``df``: a Rich table when it fits the console, else pandas' text layout
    (columns wrapped into blocks), so wide results (``SELECT *``) stay readable."""
    head = df.head(max_rows)
    cells = [[_cell(v) for v in row] for row in head.itertuples(index=False)]
    widths = [max([len(str(c)), *(len(r[j]) for r in cells)]) for j, c in enumerate(df.columns)]
    if sum(w + 3 for w in widths) + 1 <= console.width:
        console.print(frame_table(df, max_rows))
        return
    text = head.to_string(index=False, line_width=max(console.width, 40), na_rep="")
    console.print(text, highlight=False, markup=False, soft_wrap=True)
    if len(df) > max_rows:
        console.print(f"... {len(df) - max_rows} more rows (write them all with -o FILE.csv)",
                      highlight=False)


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if math.isnan(v) else f"{v:.6g}"
    if v is None or v is pd.NA:
        return ""
    return str(v)


def outcome_table(result) -> Table | None:
    """Mean, SD and 5th/95th percentiles of the main outcomes of a finished cohort."""
    cols = [c for c in ("abmd_ls_pct", "abmd_th_pct", "t_score_change", "t_score_end",
                        "fracture_rr_end", "bv_tv_pct", "connectivity_end")
            if f"{c.rsplit('_', 1)[0]}" in result.outputs]
    if not cols:
        return None
    parts = ", ".join(f"avg({c}), stddev_samp({c}), quantile_cont({c}, 0.05), "
                      f"quantile_cont({c}, 0.95)"
                      for c in cols)
    row = result.query(f"SELECT count(*) AS n, {parts} FROM summary "
                       "WHERE status = 0").iloc[0].to_numpy()
    table = Table("outcome", "mean", "SD", "5th pct", "95th pct", title=f"{int(row[0])} subjects")
    for k, c in enumerate(cols):
        vals = row[1 + 4 * k: 5 + 4 * k]
        table.add_row(c, *[_cell(float(v)) if v is not None else "" for v in vals])
    return table


#: seconds to wait for a Dask scheduler to answer (``--dask ADDRESS``)
DASK_CONNECT_TIMEOUT = 10.0


def connect_scheduler(address: str, timeout: float = DASK_CONNECT_TIMEOUT):
    """A ``distributed.Client`` of the scheduler at ``address``, or one line.

    ``distributed`` waits for ever on a peer that accepts the connection but never
    speaks, and a peer that answers with something else than Dask's protocol makes it
    allocate whatever length it reads (``MemoryError``) or fail in other ways: the
    client is made in a helper thread given ``timeout`` seconds (plus a margin), and
    whatever it raises becomes an :class:`InputError` naming the address."""
    import threading

    from distributed import Client

    if not address.strip() or any(c.isspace() or not c.isprintable() for c in address):
        raise InputError(f"--dask {address!r}: expected a scheduler address such as "
                         "tcp://host:8786, or local:N")
    outcome: dict[str, object] = {}
    abandoned = threading.Event()

    def connect() -> None:
        try:
            client = Client(address, timeout=f"{timeout}s", set_as_default=False)
        except BaseException as exc:  # noqa: BLE001 - reported to the caller below
            outcome["error"] = exc
            return
        if abandoned.is_set():  # the caller gave up on us: do not leak a connection
            client.close()
        else:
            outcome["client"] = client

    quiet = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.CRITICAL)
    try:
        worker = threading.Thread(target=connect, name="neurobone-dask-connect", daemon=True)
        worker.start()
        worker.join(timeout + 5.0)
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)
    if worker.is_alive():
        abandoned.set()
        raise InputError(f"--dask {address!r}: no Dask scheduler answered within {timeout:g} s "
                         "(is it a scheduler's address, e.g. tcp://host:8786?)")
    if "client" in outcome:
        return outcome["client"]
    exc = outcome.get("error")
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    if isinstance(exc, MemoryError):
        why = "it answered, but not as a Dask scheduler"
    else:
        text = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
        why = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    raise InputError(f"cannot reach the Dask scheduler at {address!r}: {why[:200]}")


@contextlib.contextmanager
def dask_client(address: str | None, timeout: float = DASK_CONNECT_TIMEOUT
                ) -> Iterator[tuple[object | None, int | None]]:
    """``--dask`` as a client: ``local:N`` starts a LocalCluster of N worker processes
    (one task each, Numba threads shared out between them); anything else is a
    scheduler address, connected to within ``timeout`` seconds
    (:func:`connect_scheduler`). Yields ``(client, threads_per_task)``."""
    if not address:
        yield None, None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise InputError("--dask needs dask[distributed] "
                         "(pip install 'dask[distributed]')") from None
    if address.startswith("local:"):
        try:
            workers = int(address.split(":", 1)[1])
        except ValueError:
            raise InputError(f"--dask {address!r}: expected local:N "
                             "with N a whole number") from None
        if workers < 1:
            raise InputError(f"--dask {address!r}: N must be at least 1")
        cores = os.cpu_count() or 1
        if workers > 4 * cores:
            raise InputError(f"--dask {address!r}: at most {4 * cores} local workers "
                             f"on this machine's {cores} cores")
        threads = max(1, cores // workers)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        try:
            yield client, threads
        finally:
            client.close()
            cluster.close()
        return
    client = connect_scheduler(address, timeout)
    try:
        yield client, None
    finally:
        client.close()
