"""What this machine offers the kernels: SIMD width and the vector math library.

The vectorised lanes (:mod:`neurobone.engine.numerics.lanes`) call glibc's vector math
library (libmvec, part of every x86-64 glibc) for ``exp`` and ``log`` of 8 (AVX-512) or
4 (AVX2) doubles at once. :func:`vector_width` says which width can run here, following
the ``lanes`` setting (:mod:`neurobone.config`), and loads libmvec into the process so
that compiled code can call it.
"""

from __future__ import annotations

import ctypes.util
import functools
import platform

from neurobone import config

#: libmvec entry points (Intel vector function ABI: e = AVX-512, d = AVX2) by width
VECTOR_FUNCTIONS = {8: ("_ZGVeN8v_exp", "_ZGVeN8v_log"), 4: ("_ZGVdN4v_exp", "_ZGVdN4v_log")}


@functools.lru_cache(maxsize=None)
def _width(setting: str, jit: bool) -> int:
    if setting == "off" or not jit:
        return 0
    if platform.machine() not in ("x86_64", "AMD64") or platform.system() != "Linux":
        return 0
    import llvmlite.binding as llb
    from numba.core import config as nbconfig

    if nbconfig.CPU_NAME not in (None, "host"):
        return 0  # compiling for another CPU: the host's vector units may not be there
    lib = ctypes.util.find_library("mvec") or "libmvec.so.1"
    try:
        llb.load_library_permanently(lib)
    except RuntimeError:
        return 0
    feats = llb.get_host_cpu_features()
    if feats.get("avx512f", False) and setting != "avx2":
        return 8
    if feats.get("avx2", False):
        return 4
    return 0


def vector_width() -> int:
    """Doubles per vector math call here: 8 (AVX-512), 4 (AVX2) or 0 (no lanes)."""
    s = config.settings()
    return _width(s.lanes, s.jit)


def lanes_available() -> bool:
    """Whether the lock-step vectorised engine can run on this machine."""
    return vector_width() > 0


def require_vector_width(width: int) -> None:
    """Raise ImportError unless ``width`` is this machine's vector width (called by a
    generated lanes module before its compiled code runs; it also loads libmvec)."""
    if vector_width() != width:
        raise ImportError(f"this machine lacks the vector width ({width}) the lanes "
                          "module was generated for")


def cpu_target() -> str:
    """Name and features of the CPU Numba compiles for (part of every kernel's key)."""
    import llvmlite.binding as llb
    from numba.core import config as nbconfig

    name = nbconfig.CPU_NAME or llb.get_host_cpu_name()
    feats = nbconfig.CPU_FEATURES or llb.get_host_cpu_features().flatten()
    return f"{name}:{feats}"
