"""Output files: checked before any work, written atomically, failures as one line.

A command that writes a file checks its path first (:func:`check_output_file`), without
creating anything: the directory exists and may be written, and the path is not a
directory, FIFO, socket or device. The file itself is written at the end, through
:func:`write_output`: a temporary file in the same directory, then a rename
(:func:`neurobone.atomic.atomic_write`), so an interrupted or failed command leaves the
previous file or none, never half of one. An ``OSError`` while writing (a full disk, a
quota, a read-only file system) becomes an :class:`~neurobone.errors.InputError` of one
line::

    from neurobone.files import check_output_file, write_output

    out = check_output_file("run.csv")            # before the work
    write_output(out, lambda tmp: df.to_csv(tmp, index=False))  # after it

This module sits low: it imports only :mod:`neurobone.errors` and :mod:`neurobone.atomic`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from neurobone.atomic import atomic_write
from neurobone.errors import InputError

__all__ = ["check_output_file", "check_output_dir", "write_output", "write_output_text", "quoted"]


def quoted(path: str | Path) -> str:
    """A path for a one-line message: its ``repr`` (line breaks and control characters
    escaped)."""
    return repr(str(path))


def _reason(exc: OSError) -> str:
    return exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc)) or type(exc).__name__


def _stat(path: Path, what: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise InputError(f"cannot write {what} {quoted(path)}: a part of the path is not a "
                         "directory") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        reason = _reason(exc) if isinstance(exc, OSError) else "not a valid path"
        raise InputError(f"cannot write {what} {quoted(path)}: {reason}") from None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _writable_dir(directory: Path, path: Path, what: str) -> None:
    st = _stat(directory, what)
    cannot = f"cannot write {what} {quoted(path)}"
    if st is None:
        raise InputError(f"{cannot}: directory {quoted(directory)} does not exist")
    if not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{cannot}: {quoted(directory)} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"{cannot}: directory {quoted(directory)} is not writable")


def check_output_file(path: str | Path, what: str = "output file") -> Path:
    """Fail early, with one line, when ``path`` cannot be written as a regular file;
    creates nothing. Returns the path (``~`` expanded)."""
    path = Path(path).expanduser()
    if not str(path).strip():
        raise InputError(f"{what} path is empty; give a file name")
    st = _stat(path, what)
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{what} {quoted(path)} is a directory; give a file name")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"cannot write {what} {quoted(path)}: it is {_kind(st.st_mode)}; "
                             "give a regular file (leave out -o to print to standard output)")
        if not os.access(path, os.W_OK):
            raise InputError(f"cannot write {what} {quoted(path)}: the file is read-only")
    _writable_dir(_target(path).parent, path, what)
    return path


def check_output_dir(path: str | Path, what: str = "output folder") -> Path:
    """Fail early, with one line, when the folder ``path`` can be neither used nor made:
    it is not a directory, or it (or, when missing, its nearest existing parent) may not
    be written. Creates nothing. Returns the path (``~`` expanded)."""
    path = Path(path).expanduser()
    if not str(path).strip():
        raise InputError(f"{what} path is empty; give a folder name")
    st = _stat(path, what)
    if st is not None:
        if not stat.S_ISDIR(st.st_mode):
            raise InputError(f"{what} {quoted(path)} exists and is not a directory")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"cannot write {what} {quoted(path)}: it is not writable")
        return path
    parent = Path(os.path.abspath(path)).parent
    while _stat(parent, what) is None and parent != parent.parent:
        parent = parent.parent
    _writable_dir(parent, path, what)
    return path


def _target(path: Path) -> Path:
    """Where writing ``path`` lands: a symbolic link's target (the link is kept)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def write_output(path: str | Path, writer: Callable[[Path], object],
                 what: str = "output file") -> Path:
    """Write ``path`` atomically through ``writer(tmp)`` (see
    :func:`neurobone.atomic.atomic_write`); an ``OSError`` becomes one line. A symbolic
    link at ``path`` is kept and its target replaced. Returns ``path``."""
    path = Path(path).expanduser()
    try:
        atomic_write(_target(path), writer)
    except OSError as exc:
        raise InputError(f"cannot write {what} {quoted(path)}: {_reason(exc)}") from None
    return path


def write_output_text(path: str | Path, text: str, what: str = "output file") -> Path:
    """Write ``text`` (UTF-8) to ``path`` as :func:`write_output` does."""
    return write_output(path, lambda tmp: tmp.write_bytes(text.encode("utf-8")), what)
