"""The cohort store: partitioned Parquet, a manifest, checksums, a lock, DuckDB queries.

Layout of a cohort directory::

    DIR/manifest.json                         what was run (identity) and whether it finished
    DIR/summary/chunk=00012/part.parquet      one row per subject of chunk 12
    DIR/trajectories/chunk=00012/part.parquet sampled subjects' outputs over time
    DIR/checksums/chunk=00012.json            size, SHA-256, rows and columns of both files
    DIR/.lock                                 the writer holding the store (while it runs)

Both tables are Hive-partitioned by ``chunk``. Every file is written to a hidden
temporary name in its final directory and then renamed (``os.replace`` is atomic on
POSIX; :func:`neurobone.atomic.atomic_write`), so a reader or a rerun never sees a
half-written file. A chunk's files are written in the order trajectories, summary,
checksum record; a chunk is *finished* when its checksum record exists, and a resume
trusts it only after :func:`verify_chunk` has checked it (readable Parquet, the expected
columns, exactly the chunk's subjects, the recorded sizes and SHA-256 digests, written
by a run with the same identity). Each chunk's record is its own file, so Dask workers
never share one (the manifest is written by the parent only).

The manifest holds the run's *identity*: the scenario's hash (of its validated content,
not of the file's text), the model's hash (equations, parameter values and CVs), ``n``,
``seed``, ``chunk_size``, the trajectory sampling, the tolerance and the package version.
Running again with the same identity resumes; with another one it is an error unless
the caller asks to overwrite.

One writer at a time: :func:`lock_store` creates ``DIR/.lock`` (``O_EXCL``; pid, host,
start time) and holds an ``flock`` on it; a second writer refuses (or waits), a lock
left by a process that no longer runs on this host is taken over.

Queries (:func:`query`) run in a DuckDB sandbox: file access confined to the store's two
table directories, external access off, configuration locked, one read-only statement.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from neurobone.atomic import TMP_PREFIX, atomic_write
from neurobone.errors import InputError

MANIFEST = "manifest.json"
TABLES = ("summary", "trajectories")
PART = "part.parquet"
#: the per-chunk checksum records (one JSON file per finished chunk)
CHECKSUMS = "checksums"
#: the writer's lock file
LOCK = ".lock"
#: the store's format; /2 added the checksum records (a /1 store's chunks have none)
FORMAT = "neurobone-cohort/2"
CHUNK_RECORD_FORMAT = "neurobone-chunk/1"
#: manifest keys that identify a run (a resume must match all of them)
IDENTITY = ("format", "scenario_hash", "model_hash", "n", "seed", "chunk_size", "solver",
            "trajectory_every", "trajectory_step", "rtol", "package_version")
_TMP_PREFIX = TMP_PREFIX
#: a manifest larger than this is not one of ours (it is read whole)
MAX_MANIFEST_BYTES = 64 * 2**20
#: an empty or unreadable lock file younger than this is a writer still filling it in
LOCK_GRACE_SECONDS = 30.0
#: DuckDB statement types the query sandbox runs (PIVOT parses as MULTI: a type and a SELECT)
SANDBOX_STATEMENTS = ("SELECT", "EXPLAIN", "MULTI")


# ----------------------------------------------------------------------------- paths
def chunk_dir(out_dir: str | Path, table: str, chunk: int) -> Path:
    return Path(out_dir) / table / f"chunk={chunk:05d}"


def chunk_path(out_dir: str | Path, table: str, chunk: int) -> Path:
    return chunk_dir(out_dir, table, chunk) / PART


def record_path(out_dir: str | Path, chunk: int) -> Path:
    """The checksum record of ``chunk`` (its presence marks the chunk finished)."""
    return Path(out_dir) / CHECKSUMS / f"chunk={chunk:05d}.json"


def _chunk_of(name: str, suffix: str = "") -> int | None:
    """The chunk number of a canonical entry name (``chunk=00012`` + suffix), else None."""
    if not (name.startswith("chunk=") and name.endswith(suffix)):
        return None
    digits = name[len("chunk="):len(name) - len(suffix)]
    if not digits.isdigit() or not digits.isascii():
        return None
    k = int(digits)
    return k if name == f"chunk={k:05d}{suffix}" else None


def _listdir(path: Path) -> list[str]:
    """Names in ``path`` (one directory listing; none when it is missing or not a directory)."""
    try:
        with os.scandir(path) as it:
            return [e.name for e in it]
    except (FileNotFoundError, NotADirectoryError):
        return []


def finished_chunks(out_dir: str | Path, n_chunks: int) -> set[int]:
    """Chunks with a checksum record (written after both Parquet files), below ``n_chunks``.

    Lists one directory, whatever ``n_chunks`` is. Presence only: :func:`verify_chunk`
    says whether a finished chunk can be trusted."""
    found = (_chunk_of(name, ".json") for name in _listdir(Path(out_dir) / CHECKSUMS))
    return {k for k in found if k is not None and k < n_chunks}


# ----------------------------------------------------------------------------- writing
def parquet_bytes(df: pd.DataFrame) -> bytes:
    """``df`` as the bytes of a zstd-compressed Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_parquet(df: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Write ``df`` as Parquet to ``path`` atomically (:func:`neurobone.atomic.atomic_write`);
    returns what the checksum record keeps of it: bytes, SHA-256, rows, columns."""
    data = parquet_bytes(df)
    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "rows": len(df),
            "columns": [str(c) for c in df.columns]}


def write_chunk(out_dir: str | Path, chunk: int, summary: pd.DataFrame,
                trajectories: pd.DataFrame, *, bounds: tuple[int, int] | None = None,
                run: str | None = None) -> dict[str, Any]:
    """Write one chunk: trajectories, summary, then the checksum record that marks it
    finished (each atomically). ``bounds`` are the chunk's subjects ``(lo, hi)`` (default:
    the summary's first and last + 1); ``run`` the run's :func:`run_key`. Returns the record."""
    if bounds is None:
        subj = summary["subject"].to_numpy()
        bounds = (int(subj.min()), int(subj.max()) + 1) if len(subj) else (0, 0)
    files = {"trajectories": write_parquet(trajectories,
                                           chunk_path(out_dir, "trajectories", chunk)),
             "summary": write_parquet(summary, chunk_path(out_dir, "summary", chunk))}
    record = {"format": CHUNK_RECORD_FORMAT, "chunk": int(chunk),
              "subjects": [int(bounds[0]), int(bounds[1])], "run": run, "files": files}
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    atomic_write(record_path(out_dir, chunk), lambda tmp: tmp.write_bytes(text.encode()))
    return record


def _temporaries_in(directory: Path) -> list[Path]:
    return [directory / name for name in _listdir(directory) if name.startswith(_TMP_PREFIX)]


def find_temporaries(out_dir: str | Path) -> list[Path]:
    """Temporary files left by a killed writer: in the store's root, among the checksum
    records and in every chunk directory."""
    root = Path(out_dir)
    found = _temporaries_in(root) + _temporaries_in(root / CHECKSUMS)
    for table in TABLES:
        for name in _listdir(root / table):
            if name.startswith("chunk="):
                found += _temporaries_in(root / table / name)
    return found


def clean_temporaries(out_dir: str | Path) -> int:
    """Remove temporary files left by a killed run (see :func:`find_temporaries`);
    returns how many. Only the writer holding the lock may call it."""
    found = find_temporaries(out_dir)
    for p in found:
        p.unlink(missing_ok=True)
    return len(found)


# ----------------------------------------------------------------------------- manifest
def _damaged(path: Path, why: str) -> InputError:
    return InputError(f"{path}: damaged cohort manifest ({why}); rerun with --overwrite")


def _brief(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 40 else s[:37] + "..."


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))


def check_manifest(man: Any, path: Path) -> dict[str, Any]:
    """``man`` if it is a cohort manifest this module can rely on, else a one-line
    :class:`InputError` naming what is wrong (and suggesting ``--overwrite``)."""
    if not isinstance(man, dict):
        raise _damaged(path, f"a JSON {type(man).__name__} instead of an object")
    for key in IDENTITY + ("n_chunks", "outputs", "scenario"):
        if key not in man:
            raise _damaged(path, f"no {key!r}")
    for key, low in (("n", 1), ("seed", 0), ("chunk_size", 1), ("n_chunks", 1),
                     ("trajectory_every", 1)):
        v = man[key]
        if not _is_int(v) or v < low:
            raise _damaged(path, f"{key} is {_brief(v)}, not a whole number >= {low}")
    if man["n_chunks"] != -(-man["n"] // man["chunk_size"]):
        raise _damaged(path, f"n_chunks is {man['n_chunks']}, but {man['n']} subjects in chunks of "
                             f"{man['chunk_size']} make {-(-man['n'] // man['chunk_size'])}")
    for key in ("format", "scenario_hash", "model_hash", "solver", "package_version"):
        if not isinstance(man[key], str):
            raise _damaged(path, f"{key} is {_brief(man[key])}, not a string")
    for key in ("trajectory_step", "rtol"):
        if not _is_number(man[key]) or man[key] <= 0:
            raise _damaged(path, f"{key} is {_brief(man[key])}, not a positive number")
    outs = man["outputs"]
    if not isinstance(outs, list) or not outs or not all(isinstance(o, str) for o in outs):
        raise _damaged(path, f"outputs is {_brief(outs)}, not a list of names")
    if not isinstance(man["scenario"], dict):
        raise _damaged(path, f"scenario is {_brief(man['scenario'])}, not a mapping")
    if "complete" in man and not isinstance(man["complete"], bool):
        raise _damaged(path, f"complete is {_brief(man['complete'])}, not true or false")
    return man


def read_manifest(out_dir: str | Path) -> dict[str, Any] | None:
    """The manifest of ``out_dir`` (checked by :func:`check_manifest`), or None when there
    is none. A manifest that cannot be read or relied on is a one-line InputError."""
    path = Path(out_dir) / MANIFEST
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise _damaged(path, "not a regular file")
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise _damaged(path, f"larger than {MAX_MANIFEST_BYTES >> 20} MB")
        man = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else _first_line(exc)
        raise InputError(f"{path}: unreadable cohort manifest ({why}); "
                         "rerun with --overwrite") from None
    return check_manifest(man, path)


def check_layout(out_dir: str | Path) -> None:
    """The table and checksum entries of the store are directories (when present)."""
    root = Path(out_dir)
    for name in (*TABLES, CHECKSUMS):
        p = root / name
        if (p.exists() or p.is_symlink()) and not p.is_dir():
            raise InputError(f"{root}: {name!r} is not a directory, so the store is damaged; "
                             "rerun with --overwrite")


def write_manifest(out_dir: str | Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True, default=_json) + "\n"
    atomic_write(Path(out_dir) / MANIFEST, lambda tmp: tmp.write_bytes(text.encode()))


def _json(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def run_key(manifest: dict[str, Any]) -> str:
    """A digest of a run's identity (the :data:`IDENTITY` keys of its manifest), kept in
    every chunk's checksum record: a chunk of another run is not taken for one of this."""
    ident = {k: manifest.get(k) for k in IDENTITY}
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=_json).encode()).hexdigest()


def mismatch(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Identity keys on which two manifests differ."""
    return [k for k in IDENTITY if old.get(k) != new.get(k)]


def ensure_directory(out_dir: str | Path) -> Path:
    """Create ``out_dir`` if needed and check that it is a writable directory."""
    root = Path(out_dir).expanduser()
    if (root.exists() or root.is_symlink()) and not root.is_dir():
        raise InputError(f"--out {str(root)!r} is a file, not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f"{_TMP_PREFIX}probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"cannot write to {str(root)!r}: {exc.strerror or exc}") from None
    return root


def prepare_directory(out_dir: str | Path, manifest: dict[str, Any],
                      overwrite: bool) -> dict | None:
    """Make ``out_dir`` ready for ``manifest``: create it, check it is writable, and
    either resume (same identity: returns the existing manifest), start afresh (empty or
    new directory, or ``overwrite``: returns None) or refuse with one line. The caller
    holds the store's lock (:func:`lock_store`)."""
    root = ensure_directory(out_dir)
    if overwrite:
        remove_cohort(root)
        return None
    old = read_manifest(root)
    if old is not None:
        diff = mismatch(old, manifest)
        if diff:
            what = ", ".join(f"{k} {_short(old.get(k))} -> {_short(manifest.get(k))}" for k in diff)
            raise InputError(f"{root} holds a cohort run with other arguments ({what}); "
                             "use another --out or --overwrite")
        check_layout(root)
        return old
    leftovers = [p.name for p in root.iterdir() if not p.name.startswith(".")]
    if leftovers:
        shown = ", ".join(repr(s) for s in sorted(leftovers)[:3])
        raise InputError(f"{root} is not empty and holds no cohort manifest "
                         f"({shown}{', ...' if len(leftovers) > 3 else ''}); use an empty "
                         "directory or --overwrite")
    return None


def _short(v) -> str:
    s = str(v)
    return s[:12] if len(s) > 24 else s


def _remove(p: Path) -> None:
    if p.is_symlink() or (p.exists() and not p.is_dir()):
        p.unlink()
    elif p.is_dir():
        shutil.rmtree(p)


def remove_cohort(out_dir: str | Path) -> None:
    """Delete a cohort's manifest, tables and checksum records (whatever they have become:
    files, directories) and temporaries; nothing else in the directory."""
    root = Path(out_dir)
    try:
        for name in (MANIFEST, *TABLES, CHECKSUMS):
            _remove(root / name)
    except OSError as exc:
        raise InputError(f"cannot remove the old cohort in {str(root)!r}: "
                         f"{exc.strerror or exc} ({exc.filename})") from None
    clean_temporaries(root)


# ----------------------------------------------------------------------------- verification
def expected_columns(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Columns each table must have, from the manifest's outputs."""
    outs = manifest["outputs"]
    summary = ["subject", "status", "failure"]
    for o in outs:
        summary += [f"{o}_base", f"{o}_end", f"{o}_change"]
    return {"summary": summary, "trajectories": ["subject", "day", *outs]}


def _span(ids: np.ndarray) -> str:
    if len(ids) == 0:
        return "no subjects"
    distinct = len(np.unique(ids))
    dup = f", {len(ids) - distinct} duplicated" if distinct < len(ids) else ""
    return f"subjects {int(ids.min())}..{int(ids.max())} ({len(ids)} rows{dup})"


def _ids(ids: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:6])
    return f"[{shown}{', ...' if len(ids) > 6 else ''}]"


def verify_chunk(out_dir: str | Path, manifest: dict[str, Any], chunk: int,
                 run: str | None = None) -> str | None:
    """Why finished ``chunk`` cannot be trusted, or None when it can.

    Checked: the checksum record exists and is this chunk's; each table's file exists
    and is readable Parquet with the expected columns and the recorded number of rows;
    the summary holds exactly the subjects ``lo .. hi-1`` in order (no duplicates); the
    trajectories hold exactly the sampled subjects that finished (``subject %
    trajectory_every == 0``, status 0), each with the same number of days; each file's
    size and SHA-256 are those recorded when it was written; the record names this run
    (``run``, :func:`run_key`; skipped when None)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = Path(out_dir)
    size, n = manifest["chunk_size"], manifest["n"]
    lo, hi = chunk * size, min(n, (chunk + 1) * size)
    rpath = record_path(root, chunk)
    try:
        if rpath.stat().st_size > 2**20:
            return "checksum record larger than 1 MB"
        rec = json.loads(rpath.read_bytes())
    except FileNotFoundError:
        return "no checksum record"
    except (OSError, ValueError, RecursionError) as exc:
        return f"unreadable checksum record ({_first_line(exc)[:120]})"
    if not isinstance(rec, dict) or not isinstance(rec.get("files"), dict):
        return "malformed checksum record"
    cols = expected_columns(manifest)
    subjects: dict[str, np.ndarray] = {}
    digests: dict[str, tuple[str, int]] = {}
    status = None
    for table in TABLES:
        info = rec["files"].get(table)
        if not isinstance(info, dict) or not _is_int(info.get("bytes")):
            return f"checksum record has no entry for the {table} file"
        path = chunk_path(root, table, chunk)
        try:
            st = path.stat()
            if not path.is_file():
                return f"{table} file is not a regular file"
            if st.st_size > max(4 * info["bytes"], 2**28):
                return f"{table} file has {st.st_size} bytes, {info['bytes']} were written"
            data = path.read_bytes()
        except FileNotFoundError:
            return f"{table} file missing"
        except OSError as exc:
            return f"{table} file unreadable ({exc.strerror or exc})"
        try:
            pf = pq.ParquetFile(pa.BufferReader(data))
            names = pf.schema_arrow.names
            missing = [c for c in cols[table] if c not in names]
            if missing:
                return f"{table} file lacks the columns {', '.join(missing[:4])}"
            if pf.metadata.num_rows != info.get("rows"):
                return (f"{table} file has {pf.metadata.num_rows} rows, "
                        f"{info.get('rows')} were written")
            read = ["subject", "status"] if table == "summary" else ["subject"]
            got = pf.read(columns=read)
            ids = np.asarray(got.column("subject").to_numpy(zero_copy_only=False))
            if table == "summary":
                status = np.asarray(got.column("status").to_numpy(zero_copy_only=False))
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... on damaged files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f"{table} file is not readable Parquet ({first[:120]})"
        if not np.issubdtype(ids.dtype, np.integer):
            return f"{table} file's subject column is {ids.dtype}, not integers"
        subjects[table] = ids
        digests[table] = (hashlib.sha256(data).hexdigest(), len(data))
        if table == "summary" and not np.array_equal(ids, np.arange(lo, hi)):
            return f"summary file holds {_span(ids)}, not subjects {lo}..{hi - 1}"
    every = manifest["trajectory_every"]
    want = subjects["summary"][(subjects["summary"] % every == 0) & (status == 0)]
    traj = subjects["trajectories"]
    kept, counts = np.unique(traj, return_counts=True)
    if not np.array_equal(kept, want):
        return (f"trajectories file holds subjects {_ids(kept)}, not the sampled subjects "
                f"{_ids(want)} of {lo}..{hi - 1}")
    if len(counts) and (counts != counts[0]).any():
        return "trajectories file holds different numbers of days for its subjects"
    for table, (digest, size) in digests.items():
        info = rec["files"][table]
        if digest != info.get("sha256"):
            more = f"; {size} bytes, {info['bytes']} were written" if size != info["bytes"] else ""
            return f"{table} file's SHA-256 differs from the one recorded when it was written{more}"
    if rec.get("chunk") != chunk or rec.get("subjects") != [lo, hi]:
        return (f"checksum record is of chunk {_brief(rec.get('chunk'))} "
                f"(subjects {_brief(rec.get('subjects'))}), not of chunk {chunk}")
    if run is not None and rec.get("run") != run:
        return "written by another run (its checksum record names another identity)"
    return None


@dataclass
class ChunkScan:
    """What :func:`scan_chunks` found: the chunks that verify, the damaged ones (with a
    reason), entries that do not belong to the cohort, and chunks with Parquet files but
    no checksum record while a writer holds the lock (in progress)."""

    ok: set[int] = field(default_factory=set)
    bad: dict[int, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    in_progress: set[int] = field(default_factory=set)


def scan_chunks(out_dir: str | Path, manifest: dict[str, Any], run: str | None = None, *,
                repair: bool = False, writer_active: bool = False) -> ChunkScan:
    """Verify every chunk of the store (:func:`verify_chunk`). Lists each of the three
    directories once; reads the files of the chunks that have them only.

    Damaged: a chunk whose checksum record or files fail verification, and a chunk with
    a Parquet file but no checksum record (unless ``writer_active``: then it is in
    progress). Extra: ``chunk=`` entries that are not canonical or beyond ``n_chunks``
    (queries would read them). With ``repair`` (the writer holding the lock), a damaged
    chunk's files are removed, record first, and so are the extra entries."""
    root = Path(out_dir)
    n_chunks = manifest["n_chunks"]
    scan = ChunkScan()
    recorded: set[int] = set()
    for name in _listdir(root / CHECKSUMS):
        if name.startswith(_TMP_PREFIX):
            continue
        k = _chunk_of(name, ".json")
        if k is not None and k < n_chunks:
            recorded.add(k)
        else:
            scan.extra.append(f"{CHECKSUMS}/{name}")
    with_files: set[int] = set()
    for table in TABLES:
        for name in _listdir(root / table):
            if not name.startswith("chunk="):
                continue  # not read by queries (they read chunk=*/part.parquet)
            k = _chunk_of(name)
            if k is None or k >= n_chunks:
                scan.extra.append(f"{table}/{name}")
            elif (k not in recorded and k not in with_files
                  and (root / table / name / PART).exists()):
                with_files.add(k)
    for k in sorted(recorded):
        why = verify_chunk(root, manifest, k, run)
        if why is None:
            scan.ok.add(k)
        else:
            scan.bad[k] = why
    for k in sorted(with_files):
        if writer_active:
            scan.in_progress.add(k)
        else:
            scan.bad[k] = "no checksum record"
    if repair:
        doomed = [record_path(root, k) for k in scan.bad]  # records first: then unfinished
        doomed += [chunk_path(root, t, k) for k in scan.bad for t in TABLES]
        doomed += [root / entry for entry in scan.extra]
        for p in doomed:
            try:
                _remove(p)
            except OSError as exc:
                raise InputError(f"cannot remove the damaged {str(p)!r}: {exc.strerror or exc}; "
                                 "rerun with --overwrite") from None
    return scan


# ----------------------------------------------------------------------------- the lock
def _proc_start(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks after boot; Linux), else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        return int(text[text.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _my_lock_info() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "pid_start": _proc_start(os.getpid()), "boot_id": _boot_id()}


def _judge(info: dict[str, Any] | None, age: float) -> tuple[str, str]:
    """``(state, why)`` of a lock file's content: state ``running`` (a live holder, or
    one that cannot be checked from here), or ``stale`` (why: the reason)."""
    if info is None:
        if age < LOCK_GRACE_SECONDS:
            return "running", "a writer is creating it"
        return "stale", f"unreadable, {age:.0f} s old"
    pid, host = info.get("pid"), info.get("host")
    if host != socket.gethostname():
        return "running", "another machine: its process cannot be checked from here"
    boot = _boot_id()
    if info.get("boot_id") and boot and info["boot_id"] != boot:
        return "stale", "this machine has restarted since"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "stale", "that process no longer runs"
    except PermissionError:
        pass  # another user's process: alive
    start = _proc_start(pid)
    if info.get("pid_start") is not None and start is not None and start != info["pid_start"]:
        return "stale", "its pid now belongs to another process"
    return "running", "running"


def _parse_lock(data: bytes) -> dict[str, Any] | None:
    try:
        info = json.loads(data)
    except ValueError:
        return None
    if not isinstance(info, dict) or not _is_int(info.get("pid")) or info["pid"] <= 0 \
            or not isinstance(info.get("host"), str):
        return None
    return info


def _describe(info: dict[str, Any] | None) -> str:
    if info is None:
        return "an unknown writer"
    return f"pid {info['pid']} on {info['host']!r} since {info.get('started', '?')}"


def _flock(fd: int, shared: bool = False, block: bool = False) -> bool | None:
    """Try an flock (non-blocking unless ``block``): True (got it), False (held
    elsewhere), None (not supported here)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    try:
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        fcntl.flock(fd, mode | (0 if block else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False
    except OSError:  # e.g. ENOLCK on some network file systems
        return None


class StoreLock:
    """The writer's hold on a cohort directory (``DIR/.lock``); release it with
    :meth:`release` or as a context manager. ``took_over`` describes the stale lock it
    replaced, if any."""

    def __init__(self, path: Path, fd: int, info: dict[str, Any], took_over: str | None):
        self.path, self.info, self.took_over = path, info, took_over
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Remove the lock file (if it is still ours) and drop the flock."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> "StoreLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self):  # a lock dropped without release: nobody can release it any more
        try:
            if getattr(self, "_fd", None) is not None:
                self.release()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def _write_info(fd: int, info: dict[str, Any]) -> None:
    data = (json.dumps(info) + "\n").encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)
    os.fsync(fd)


def _try_lock(path: Path) -> StoreLock | tuple[dict[str, Any] | None, str]:
    """One attempt: a :class:`StoreLock`, or ``(holder info, why)`` when it is held."""
    flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:  # the normal case: no lock file, create it
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        fd = None
    if fd is not None:
        mine = _my_lock_info()
        try:
            _flock(fd, block=True)  # at once: a taker holds it only while reading it
            _write_info(fd, mine)
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        return StoreLock(path, fd, mine, None)
    # a lock file exists: take it over only if its writer is gone
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, "retry"  # released meanwhile
    except OSError as exc:
        return None, f"the lock file cannot be opened ({exc.strerror})"
    try:
        got = _flock(fd)
        st = os.fstat(fd)
        data = os.pread(fd, 4096, 0)
        info = _parse_lock(data)
        if got is False:  # a live process holds the flock
            return info, "running"
        try:
            if os.stat(path).st_ino != st.st_ino:
                return None, "retry"  # replaced while we opened it
        except FileNotFoundError:
            return None, "retry"
        state, why = _judge(info, time.time() - st.st_mtime)
        if state == "running":
            return info, why
        took = f"took over the stale lock of {_describe(info)} ({why})"
        mine = _my_lock_info()
        _write_info(fd, mine)
        lock = StoreLock(path, fd, mine, took)
        fd = None
        return lock
    finally:
        if fd is not None:
            os.close(fd)


def lock_store(out_dir: str | Path, wait: float = 0.0,
               on_note: Callable[[str], None] | None = None) -> StoreLock:
    """Become the one writer of ``out_dir`` (which must exist): create ``DIR/.lock``
    (``O_EXCL``) holding this process's pid, host and start time, and keep an ``flock`` on
    it. A lock whose process no longer runs on this host (or whose pid now belongs to
    another process, or from before a restart) is taken over, saying so through
    ``on_note``. A live one is waited for up to ``wait`` seconds, then refused with one
    line naming its holder. Release with :meth:`StoreLock.release` (or ``with``)."""
    if not math.isfinite(wait) or wait < 0:
        raise InputError(f"lock wait must be a non-negative number of seconds, got {wait!r}")
    root = Path(out_dir)
    path = root / LOCK
    deadline = time.monotonic() + wait
    while True:
        got = _try_lock(path)
        if isinstance(got, StoreLock):
            if got.took_over and on_note is not None:
                on_note(got.took_over)
            return got
        info, why = got
        now = time.monotonic()
        if why != "retry" and now >= deadline:
            waited = f" (waited {wait:g} s)" if wait > 0 else ""
            if why.startswith("the lock file"):
                raise InputError(f"{root}: {why}{waited}; remove {str(path)!r} "
                                 "if no run is writing there")
            hint = (f"on another machine; if that run is gone, delete {str(path)!r}"
                    if why.startswith("another machine")
                    else "wait for it to finish or use another --out")
            raise InputError(f"{root} is being written by another run "
                             f"({_describe(info)}){waited}: {hint}")
        time.sleep(0.0 if why == "retry" else min(0.2, max(0.0, deadline - now)))


def lock_state(out_dir: str | Path) -> dict[str, Any] | None:
    """The lock of ``out_dir`` without touching it: None when there is no lock file, else
    the holder's ``pid``, ``host``, ``started``, and ``state`` (``running`` or ``stale``)
    with ``why``."""
    path = Path(out_dir) / LOCK
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return {"pid": None, "host": None, "started": None, "state": "running",
                "why": f"the lock file cannot be opened ({exc.strerror})"}
    try:
        st = os.fstat(fd)
        info = _parse_lock(os.pread(fd, 4096, 0))
        got = _flock(fd, shared=True)
        if got is False:
            state, why = "running", "running (it holds the lock)"
        else:
            state, why = _judge(info, time.time() - st.st_mtime)
    finally:
        os.close(fd)  # drops the shared flock, if taken
    info = info or {}
    return {"pid": info.get("pid"), "host": info.get("host"), "started": info.get("started"),
            "state": state, "why": why}


# ----------------------------------------------------------------------------- health
def check_store(out_dir: str | Path) -> dict[str, Any]:
    """A health report of the cohort store at ``out_dir``, changing nothing.

    Keys: ``healthy`` (bool: the manifest is readable and consistent, no chunk is damaged,
    nothing foreign is where queries read), ``complete`` (every chunk finished and
    verified), ``n_chunks``, ``chunks_ok`` (number of verified chunks), ``chunks_bad``
    (list of ``{"chunk", "reason"}``; ``chunk`` is None for an entry that is not a
    chunk of this cohort, named in the reason), ``missing`` (chunk numbers not finished:
    a rerun of the same command computes them), ``temporaries`` (files left by an
    interrupted writer), ``lock`` (:func:`lock_state`) and ``notes`` (one-line sentences).
    A directory that does not exist or holds no cohort at all is an InputError."""
    root = Path(out_dir).expanduser()
    if not root.is_dir():
        raise InputError(f"cohort directory {str(root)!r} does not exist"
                         + (" (it is a file)" if root.exists() else ""))
    report: dict[str, Any] = {"directory": str(root), "healthy": False, "complete": False,
                              "n_chunks": None, "chunks_ok": 0, "chunks_bad": [], "missing": [],
                              "temporaries": [], "lock": None, "notes": []}
    notes = report["notes"]
    lock = lock_state(root)
    report["lock"] = lock
    writer = lock is not None and lock["state"] == "running"
    if lock is not None:
        if writer:
            notes.append("a run is writing this store now "
                         f"({_describe(lock) if lock['pid'] else 'unknown'}; {lock['why']}): "
                         "chunks in progress count as missing")
        else:
            notes.append(f"stale lock of {_describe(lock) if lock['pid'] else 'an unknown writer'} "
                         f"({lock['why']}): the next run takes it over")
    man_path = root / MANIFEST
    if not (man_path.exists() or man_path.is_symlink()):
        if not any((root / name).exists() for name in (*TABLES, CHECKSUMS)):
            raise InputError(f"{root} holds no cohort (no {MANIFEST}); "
                             "run `neurobone cohort` first")
        notes.append(f"no {MANIFEST}: the store cannot be checked; rerun with --overwrite")
        return report
    try:
        man = read_manifest(root)
        check_layout(root)
    except InputError as exc:
        notes.append(str(exc))
        return report
    temps = [str(p.relative_to(root)) for p in find_temporaries(root)]
    report["temporaries"] = temps
    if temps:
        notes.append(f"{len(temps)} temporary file(s) left by an interrupted writer "
                     "(the next run removes them)")
    scan = scan_chunks(root, man, run_key(man), writer_active=writer)
    n_chunks = man["n_chunks"]
    report["n_chunks"] = n_chunks
    report["chunks_ok"] = len(scan.ok)
    report["chunks_bad"] = ([{"chunk": k, "reason": r} for k, r in sorted(scan.bad.items())]
                            + [{"chunk": None, "reason": f"{e} is not a chunk of this cohort "
                                                         "(queries would read it)"}
                               for e in sorted(scan.extra)])
    done = scan.ok | set(scan.bad)
    report["missing"] = [k for k in range(n_chunks) if k not in done]
    report["complete"] = len(scan.ok) == n_chunks
    consistent = True
    if man.get("complete") and report["missing"] and not writer:
        consistent = False
        notes.append(f"the manifest says the run finished, but {len(report['missing'])} chunk(s) "
                     "have no files: rerun the same command to recompute them")
    if man.get("format") != FORMAT:
        notes.append(f"store format {man.get('format')!r}, this version writes {FORMAT!r}")
    if scan.bad:
        notes.append(f"{len(scan.bad)} damaged chunk(s): rerun the same command to recompute them")
    elif report["missing"] and not man.get("complete"):
        notes.append(f"{len(report['missing'])} of {n_chunks} chunk(s) not finished: "
                     "rerun the same command to resume")
    report["healthy"] = consistent and not report["chunks_bad"]
    return report


# ----------------------------------------------------------------------------- reading
def _glob(out_dir: Path, table: str) -> str:
    return str(out_dir / table / "chunk=*" / PART)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connect(out_dir: str | Path, *, sandbox: bool = True):
    """A DuckDB connection with the views ``summary`` and ``trajectories``.

    ``sandbox`` (the default): file access is confined to the store's two table
    directories (``allowed_directories``) with ``enable_external_access = false``, the
    extensions neither installed nor loaded automatically, and the configuration then
    locked (``lock_configuration``), so no statement can widen it."""
    import duckdb

    root = Path(out_dir).expanduser()
    if not root.is_dir():
        raise InputError(f"cohort directory {str(root)!r} does not exist"
                         + (" (it is a file)" if root.exists() else ""))
    if read_manifest(root) is None:
        raise InputError(f"{root} holds no cohort (no {MANIFEST}); run `neurobone cohort` first")
    check_layout(root)
    root = root.resolve()
    con = duckdb.connect()
    try:
        if sandbox:
            for setting in ("autoinstall_known_extensions", "autoload_known_extensions",
                            "allow_community_extensions"):
                con.execute(f"SET {setting} = false")
            con.execute("SET allowed_directories = $1", [[f"{root / t}{os.sep}" for t in TABLES]])
            con.execute("SET enable_external_access = false")
        for table in TABLES:
            if any(_chunk_of(name) is not None and (root / table / name / PART).is_file()
                   for name in _listdir(root / table)):  # stops at the first file
                src = _glob(root, table).replace("'", "''")
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{src}', "
                            "hive_partitioning = true, hive_types = {'chunk': INTEGER}, "
                            "union_by_name = true)")
            else:
                con.execute(f"CREATE VIEW {table} AS SELECT NULL::INTEGER AS subject WHERE false")
        if sandbox:
            con.execute("SET lock_configuration = true")
    except duckdb.Error as exc:
        con.close()
        raise InputError(f"cannot read the store {str(root)!r}: {_first_line(exc)}; "
                         "`neurobone check` names damaged chunks, "
                         "rerunning the cohort recomputes them") from None
    return con


def query(out_dir: str | Path, sql: str, unsafe: bool = False) -> pd.DataFrame:
    """Run ``sql`` with DuckDB over a cohort's Parquet store; returns a DataFrame.

    The tables are the views ``summary`` (one row per subject) and ``trajectories``
    (sampled subjects over time); both carry the ``chunk`` partition column.

    By default the query runs in a sandbox (:func:`connect`): one read-only statement
    (SELECT, including WITH/DESCRIBE/SUMMARIZE/PIVOT, or EXPLAIN) that reads nothing but
    the store's tables; anything else (COPY, ATTACH, INSTALL/LOAD, SET, reading other
    files) is refused with one line (``query refused: ...``). ``unsafe=True`` runs any
    DuckDB SQL with the user's rights.

    >>> query("out", "SELECT count(*) AS n, avg(abmd_ls_pct) FROM summary")  # doctest: +SKIP
    """
    import duckdb

    if not isinstance(sql, str) or not sql.strip():
        raise InputError("query: the SQL is empty; give a statement such as "
                         "\"SELECT count(*) FROM summary\"")
    con = connect(out_dir, sandbox=not unsafe)
    try:
        try:
            statements = con.extract_statements(sql)
        except duckdb.Error as exc:
            raise InputError(f"query failed: {_first_line(exc)}") from None
        if not statements:
            raise InputError("query: the SQL holds no statement (only comments?); give a "
                             "statement such as \"SELECT count(*) FROM summary\"")
        if not unsafe:
            if len(statements) > 1:
                raise InputError(f"query refused: {len(statements)} statements; the query sandbox "
                                 "runs one read-only statement at a time (--unsafe lifts it)")
            kind = str(statements[0].type).rsplit(".", 1)[-1]
            if kind not in SANDBOX_STATEMENTS:
                raise InputError(f"query refused: {kind} is not allowed; the query sandbox "
                                 "runs one read-only SELECT over summary and trajectories "
                                 "(--unsafe lifts it)")
        return con.execute(sql).df()
    except duckdb.PermissionException as exc:
        raise InputError(f"query refused: {_first_line(exc)} (the query sandbox reads only the "
                         "store's tables; --unsafe lifts it)") from None
    except duckdb.Error as exc:
        raise InputError(f"query failed: {_first_line(exc)}") from None
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
        """Chunks with a checksum record (not verified: :func:`check_store` does that)."""
        return finished_chunks(self.out_dir, self.n_chunks)

    @property
    def complete(self) -> bool:
        return len(self.finished) == self.n_chunks

    @property
    def outputs(self) -> list[str]:
        return list(self.manifest.get("outputs", []))

    # ------------------------------------------------------------------ tables
    def query(self, sql: str) -> pd.DataFrame:
        """DuckDB over the store (views ``summary`` and ``trajectories``), in the query
        sandbox (:func:`query`)."""
        return query(self.out_dir, sql)

    def summary(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The per-subject table (all finished chunks), sorted by subject."""
        cols = "*" if not columns else ", ".join(
            '"' + str(c).replace('"', '""') + '"' for c in dict.fromkeys(["subject", *columns]))
        return self.query(f"SELECT {cols} FROM summary ORDER BY subject")

    def trajectories(self, subjects: list[int] | None = None) -> pd.DataFrame:
        """Sampled subjects' outputs over time, sorted by subject and day."""
        where = (f" WHERE subject IN ({', '.join(str(int(s)) for s in subjects)})"
                 if subjects else "")
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
            raise InputError(f"output {output!r} is not in the cohort; "
                             f"kept: {', '.join(self.outputs)}")
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
                f"{self.n_chunks} chunks of {self.manifest.get('chunk_size')} ({state}) at "
                f"{self.out_dir}>")
