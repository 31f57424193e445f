"""Atomic file writes: readers see the old file or the new one, never half of one.

:func:`atomic_write` has a *writer* fill a temporary file in the target's directory,
flushes it to disk (``fsync``) and renames it over the target (``os.replace``, atomic
on POSIX). If the writer fails, the temporary file is removed and the target is left
as it was. A target that exists and is not a regular file (a device such as
``/dev/full``, a FIFO, a socket, a directory) is never replaced: the rename would put a
file in its place. Temporary names start with :data:`TMP_PREFIX`, so a caller can sweep
up those left by a killed process::

    from neurobone.atomic import atomic_write

    atomic_write(path, lambda tmp: tmp.write_bytes(data))
    atomic_write(path, lambda tmp: pyarrow.parquet.write_table(table, tmp))

This is the package's bottom layer: it imports nothing from neurobone.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["TMP_PREFIX", "atomic_write", "atomic_write_text", "temporary_path"]

#: the start of every temporary file name (hidden on POSIX)
TMP_PREFIX = ".tmp-"


def temporary_path(path: str | Path) -> Path:
    """A fresh hidden name beside ``path``: ``.tmp-<name>.<pid>.<random>``."""
    path = Path(path)
    return path.parent / f"{TMP_PREFIX}{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


def atomic_write(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Write ``path`` atomically: ``writer(tmp)`` writes the whole content to the
    temporary path ``tmp`` (in the same directory, created if needed), which is then
    flushed to disk and renamed to ``path``. Returns ``path``.

    >>> atomic_write(out / "notes.txt", lambda tmp: tmp.write_text("done\\n"))  # doctest: +SKIP
    """
    path = Path(path)
    _refuse_special(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(path)
    try:
        writer(tmp)
        _refuse_special(path)  # made a device or FIFO meanwhile: still not replaced
        # whatever the writer left in the OS cache reaches the disk before the rename
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _refuse_special(path: Path) -> None:
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISREG(mode):
        raise OSError(errno.EINVAL, "not a regular file (not replaced)", str(path))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(text.encode("utf-8")))
