"""The cohort store: partitioned Parquet, a manifest, atomic writes, DuckDB queries.

Layout of a cohort directory::

    DIR/manifest.json                         what was run (identity) and whether it finished
    DIR/summary/chunk=00012/part.parquet      one row per subject of chunk 12
    DIR/trajectories/chunk=00012/part.parquet sampled subjects' outputs over time

Both tables are Hive-partitioned by ``chunk``. Every file is written to a hidden
temporary name in its final directory and then renamed (``os.replace`` is atomic on
POSIX; :func:`neurobone.atomic.atomic_write`), so a reader or a rerun never sees a
half-written file. A chunk is finished when
its ``summary`` file exists; its ``trajectories`` file is written first, so a finished
chunk always has both.

The manifest holds the run's *identity*: the scenario's hash (of its validated content,
not of the file's text), the model's hash (equations, parameter values and CVs), ``n``,
``seed``, ``chunk_size``, the trajectory sampling, the tolerance and the package version.
Running again with the same identity resumes; with another one it is an error unless
the caller asks to overwrite.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from neurobone.atomic import TMP_PREFIX, atomic_write
from neurobone.errors import InputError

MANIFEST = "manifest.json"
TABLES = ("summary", "trajectories")
PART = "part.parquet"
FORMAT = "neurobone-cohort/1"
#: manifest keys that identify a run (a resume must match all of them)
IDENTITY = ("format", "scenario_hash", "model_hash", "n", "seed", "chunk_size", "solver",
            "trajectory_every", "trajectory_step", "rtol", "package_version")
_TMP_PREFIX = TMP_PREFIX


# ----------------------------------------------------------------------------- paths
def chunk_dir(out_dir: str | Path, table: str, chunk: int) -> Path:
    return Path(out_dir) / table / f"chunk={chunk:05d}"


def chunk_path(out_dir: str | Path, table: str, chunk: int) -> Path:
    return chunk_dir(out_dir, table, chunk) / PART


def finished_chunks(out_dir: str | Path, n_chunks: int) -> set[int]:
    """Chunks whose summary file exists (their trajectories were written before it)."""
    return {k for k in range(n_chunks)
            if chunk_path(out_dir, "summary", k).is_file()
            and chunk_path(out_dir, "trajectories", k).is_file()}


# ----------------------------------------------------------------------------- writing
def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as Parquet to ``path`` atomically (:func:`neurobone.atomic.atomic_write`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_chunk(out_dir: str | Path, chunk: int, summary: pd.DataFrame,
                trajectories: pd.DataFrame) -> None:
    """Write one chunk: trajectories first, then the summary that marks it finished."""
    write_parquet(trajectories, chunk_path(out_dir, "trajectories", chunk))
    write_parquet(summary, chunk_path(out_dir, "summary", chunk))


def clean_temporaries(out_dir: str | Path) -> int:
    """Remove temporary files left by a killed run; returns how many."""
    removed = 0
    root = Path(out_dir)
    for table in TABLES:
        base = root / table
        if not base.is_dir():
            continue
        for p in base.glob(f"chunk=*/{_TMP_PREFIX}*"):
            p.unlink(missing_ok=True)
            removed += 1
    for p in root.glob(f"{_TMP_PREFIX}*"):
        p.unlink(missing_ok=True)
        removed += 1
    return removed


# ----------------------------------------------------------------------------- manifest
def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable cohort manifest ({exc}); rerun with --overwrite") from None


def write_manifest(out_dir: str | Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True, default=_json) + "\n"
    atomic_write(Path(out_dir) / MANIFEST, lambda tmp: tmp.write_bytes(text.encode()))


def _json(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def mismatch(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Identity keys on which two manifests differ."""
    return [k for k in IDENTITY if old.get(k) != new.get(k)]


def prepare_directory(out_dir: str | Path, manifest: dict[str, Any], overwrite: bool) -> dict | None:
    """Make ``out_dir`` ready for ``manifest``: create it, check it is writable, and
    either resume (same identity: returns the existing manifest), start afresh (empty or
    new directory, or ``overwrite``: returns None) or refuse with one line."""
    root = Path(out_dir).expanduser()
    if root.exists() and not root.is_dir():
        raise InputError(f"--out {str(root)!r} is a file, not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f"{_TMP_PREFIX}probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to {str(root)!r}: {exc.strerror or exc}") from None
    old = read_manifest(root) if not overwrite else None
    if overwrite:
        remove_cohort(root)
        return None
    if old is not None:
        diff = mismatch(old, manifest)
        if diff:
            what = ", ".join(f"{k} {_short(old.get(k))} -> {_short(manifest.get(k))}" for k in diff)
            raise InputError(f"{root} holds a cohort run with other arguments ({what}); "
                             "use another --out or --overwrite")
        return old
    leftovers = [p.name for p in root.iterdir() if not p.name.startswith(".")]
    if leftovers:
        raise InputError(f"{root} is not empty and holds no cohort manifest ({', '.join(sorted(leftovers)[:3])}"
                         f"{', ...' if len(leftovers) > 3 else ''}); use an empty directory or --overwrite")
    return None


def _short(v) -> str:
    s = str(v)
    return s[:12] if len(s) > 16 else s


def remove_cohort(out_dir: str | Path) -> None:
    """Delete a cohort's manifest and tables (nothing else in the directory)."""
    root = Path(out_dir)
    (root / MANIFEST).unlink(missing_ok=True)
    for table in TABLES:
        shutil.rmtree(root / table, ignore_errors=True)
    clean_temporaries(root)


# ----------------------------------------------------------------------------- reading
def _glob(out_dir: Path, table: str) -> str:
    return str(out_dir / table / "chunk=*" / PART)


def connect(out_dir: str | Path):
    """A DuckDB connection with the views ``summary`` and ``trajectories``."""
    import duckdb

    root = Path(out_dir).expanduser()
    if not root.is_dir():
        raise InputError(f"cohort directory {str(root)!r} does not exist")
    if read_manifest(root) is None:
        raise InputError(f"{root} holds no cohort (no {MANIFEST}); run `neurobone cohort` first")
    con = duckdb.connect()
    for table in TABLES:
        if any((root / table).glob(f"chunk=*/{PART}")):
            src = _glob(root, table).replace("'", "''")
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{src}', "
                        "hive_partitioning = true, hive_types = {'chunk': INTEGER}, "
                        "union_by_name = true)")
        else:
            con.execute(f"CREATE VIEW {table} AS SELECT NULL::INTEGER AS subject WHERE false")
    return con


def query(out_dir: str | Path, sql: str) -> pd.DataFrame:
    """Run ``sql`` with DuckDB over a cohort's Parquet store; returns a DataFrame.

    The tables are the views ``summary`` (one row per subject) and ``trajectories``
    (sampled subjects over time); both carry the ``chunk`` partition column.

    >>> query("out", "SELECT count(*) AS n, avg(abmd_ls_pct) FROM summary")  # doctest: +SKIP
    """
    import duckdb

    con = connect(out_dir)
    try:
        return con.execute(sql).df()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"query failed: {first}") from None
    finally:
        con.close()


def open_cohort(out_dir: str | Path) -> CohortResult:
    """The :class:`CohortResult` of an existing cohort directory."""
    root = Path(out_dir).expanduser()
    man = read_manifest(root)
    if man is None:
        raise InputError(f"{root} holds no cohort (no {MANIFEST})")
    return CohortResult(root, man)


class CohortResult:
    """A cohort on disk: its manifest, tables and a plot. Nothing is loaded until asked.

    >>> r = open_cohort("out")                                 # doctest: +SKIP
    >>> r.summary().groupby("sex").abmd_ls_pct.describe()      # doctest: +SKIP
    """

    def __init__(self, out_dir: str | Path, manifest: dict[str, Any]):
        self.out_dir = Path(out_dir)
        self.manifest = manifest

    # ------------------------------------------------------------------ facts
    @property
    def n(self) -> int:
        return int(self.manifest["n"])

    @property
    def n_chunks(self) -> int:
        return int(self.manifest["n_chunks"])

    @property
    def finished(self) -> set[int]:
        return finished_chunks(self.out_dir, self.n_chunks)

    @property
    def complete(self) -> bool:
        return len(self.finished) == self.n_chunks

    @property
    def outputs(self) -> list[str]:
        return list(self.manifest.get("outputs", []))

    # ------------------------------------------------------------------ tables
    def query(self, sql: str) -> pd.DataFrame:
        """DuckDB over the store (views ``summary`` and ``trajectories``)."""
        return query(self.out_dir, sql)

    def summary(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The per-subject table (all finished chunks), sorted by subject."""
        cols = "*" if not columns else ", ".join(f'"{c}"' for c in dict.fromkeys(["subject", *columns]))
        return self.query(f"SELECT {cols} FROM summary ORDER BY subject")

    def trajectories(self, subjects: list[int] | None = None) -> pd.DataFrame:
        """Sampled subjects' outputs over time, sorted by subject and day."""
        where = f" WHERE subject IN ({', '.join(str(int(s)) for s in subjects)})" if subjects else ""
        return self.query(f"SELECT * FROM trajectories{where} ORDER BY subject, day")

    # ------------------------------------------------------------------ plots
    def plot(self, output: str = "abmd_ls", by: str = "age", ax=None):
        """Distribution of the % change of ``output`` over the scenario, one box per
        age decade (``by="age"``) or per value of a summary column (e.g. ``"sex"``)."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 4))
        col = f"{output}_pct" if output != "t_score" else f"{output}_change"
        df = self.summary()
        if col not in df.columns:
            raise InputError(f"output {output!r} is not in the cohort; kept: {', '.join(self.outputs)}")
        if by == "age":
            age = df["age_years"] if "age_years" in df else df["age_weeks"]
            unit = "y" if "age_years" in df else "wk"
            step = 10 if unit == "y" else 4
            lo = (np.floor(age / step) * step).astype(int)
            df = df.assign(group=[f"{a}-{a + step}{unit}" for a in lo], order=lo)
        else:
            if by not in df.columns:
                raise InputError(f"by: unknown column {by!r}")
            df = df.assign(group=df[by].astype(str), order=df[by].astype(str))
        groups = sorted(df.groupby("group"), key=lambda g: g[1]["order"].iloc[0])
        data = [g[col].dropna().to_numpy() for _, g in groups]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(groups) + 1), [f"{name}\n(n={len(g)})" for name, g in groups])
        scn = self.manifest.get("scenario", {})
        ax.set_ylabel(f"{output} change over {scn.get('duration_days', 0):g} days"
                      + (" (%)" if col.endswith("_pct") else ""))
        ax.set_xlabel("age at the start" if by == "age" else by)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_title(f"{len(df)} virtual subjects, seed {self.manifest.get('seed')}")
        return ax

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        scn = self.manifest.get("scenario", {})
        done = len(self.finished)
        state = "complete" if done == self.n_chunks else f"{done}/{self.n_chunks} chunks finished"
        return (f"<CohortResult {self.n} subjects, {scn.get('species', '?')}, "
                f"{scn.get('duration_days', 0):g} days, seed {self.manifest.get('seed')}, "
                f"{self.n_chunks} chunks of {self.manifest.get('chunk_size')} ({state}) at {self.out_dir}>")
