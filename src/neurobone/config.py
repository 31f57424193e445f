"""Settings of the package, read once from the environment and overridable in code.

=================  =====================  ==============================================
setting            environment variable   meaning
=================  =====================  ==============================================
``cache_dir``      ``NEUROBONE_CACHE``    where generated kernels and Numba's compiled
                                          code are kept (default ``~/.cache/neurobone``)
``jit``            ``NEUROBONE_JIT``      ``0`` runs every kernel as plain Python (slow;
                                          for debugging); default on
``lanes``          ``NEUROBONE_LANES``    SIMD lanes: ``auto`` (default: AVX-512 or AVX2
                                          where available), ``avx2`` (``4``: the AVX2
                                          variants even where AVX-512 is there), ``off``
                                          (``0``)
``debug``          ``NEUROBONE_DEBUG``    ``1``: the command line shows tracebacks of
                                          internal errors
=================  =====================  ==============================================

The environment is read once, when this module is first imported. Code changes a
setting with :func:`configure`, before the kernels it concerns are loaded::

    import neurobone.config as config
    config.configure(cache_dir="/scratch/nb-cache", lanes="off")

Kernels already loaded keep the settings they were loaded with.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal, Mapping

from neurobone.errors import InputError

LanesSetting = Literal["auto", "avx2", "off"]
_LANES_ENV = {"0": "off", "off": "off", "4": "avx2", "avx2": "avx2", "1": "auto", "auto": "auto",
              "": "auto"}


@dataclass(frozen=True)
class Settings:
    """The package's settings (see the module docstring)."""

    cache_dir: Path
    jit: bool = True
    lanes: LanesSetting = "auto"
    debug: bool = False

    @classmethod
    def from_environ(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        root = env.get("NEUROBONE_CACHE")
        lanes = env.get("NEUROBONE_LANES", "auto").strip().lower()
        if lanes not in _LANES_ENV:
            raise InputError(f"NEUROBONE_LANES={lanes!r}: valid values are 0, 4, 1 "
                             "(off, avx2, auto)")
        return cls(
            cache_dir=Path(root).expanduser() if root else Path.home() / ".cache" / "neurobone",
            jit=env.get("NEUROBONE_JIT", "1").strip() != "0",
            lanes=_LANES_ENV[lanes],  # type: ignore[arg-type]
            debug=env.get("NEUROBONE_DEBUG", "").strip() not in ("", "0"),
        )


_lock = threading.Lock()
_settings = Settings.from_environ()


def settings() -> Settings:
    """The settings in force."""
    return _settings


def configure(**changes) -> Settings:
    """Change settings in code (names as in :class:`Settings`); returns the new settings."""
    global _settings
    valid = {f.name for f in fields(Settings)}
    bad = sorted(set(changes) - valid)
    if bad:
        raise InputError(f"unknown setting(s) {bad}; valid: {', '.join(sorted(valid))}")
    if "lanes" in changes and changes["lanes"] not in ("auto", "avx2", "off"):
        raise InputError(f"lanes must be 'auto', 'avx2' or 'off', got {changes['lanes']!r}")
    if "cache_dir" in changes:
        changes["cache_dir"] = Path(changes["cache_dir"]).expanduser()
    with _lock:
        _settings = replace(_settings, **changes)
        return _settings


def cache_dir() -> Path:
    """The kernel cache directory (created when missing)."""
    path = _settings.cache_dir
    path.mkdir(parents=True, exist_ok=True)
    return path
