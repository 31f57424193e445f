"""Atomic file writes: a temporary file in the target's directory, synced, then renamed.

``os.replace`` is atomic on POSIX, so a reader (or a run resumed after a crash) sees
either the old file or the whole new one, never a part.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable

TMP_PREFIX = ".tmp-"


def atomic_write(path: str | Path, writer: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``writer(tmp)`` writes a temporary file beside it, which
    is then synced and renamed to ``path``. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP_PREFIX}{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))
