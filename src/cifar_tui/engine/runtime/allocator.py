"""Keep freed memory in the process, so large CPU tensors are not page-faulted in afresh every batch.

glibc's malloc hands every block above its mmap threshold (128 KiB, rising to at most 32 MiB) to the
kernel with a fresh `mmap` and gives it back with `munmap` when freed. A 64-image batch at 224 px is
38.5 MB of float32, so each batch the input pipeline writes (and each large activation of a fine-tuning
step on a CPU) arrived in brand-new pages: one page fault per 4 KiB while the kernel zeroes it. Measured
on the 2-core machine of the README: writing a fresh 38.5 MB buffer is ~2.5x slower than writing a reused
one, and the 224-px input pipeline ran at 2,640 img/s with glibc's defaults and 9,617 img/s with this
setting (`make bench`). TensorFlow's performance guide recommends tcmalloc for the same reason; these
three `mallopt` calls get glibc to reuse memory the same way, with nothing to preload.

Cost: memory freed by the process is kept for reuse rather than returned to the system, so the resident
size stays at its high-water mark (the training loop comes back to that mark every batch anyway). Set
`CIFAR_TUI_MALLOC=system` to keep glibc's defaults. Nothing happens off glibc (macOS, musl).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4

KEEP = "kept for reuse (glibc mallopt)"
SYSTEM = "system default"
TRIM_THRESHOLD = 1 << 30  # give memory back only when 1 GiB lies free at the top of the heap
TOP_PAD = 64 << 20  # grow the heap 64 MiB beyond each request: fewer system calls while it warms up

_applied: str | None = None


def keep_freed_memory() -> str:
    """Apply the setting once per process; return what the process uses (recorded in the run's environment)."""
    global _applied
    if _applied is None:
        _applied = _apply()
    return _applied


def _apply() -> str:
    if os.environ.get("CIFAR_TUI_MALLOC", "").lower() == "system" or not sys.platform.startswith("linux"):
        return SYSTEM
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return SYSTEM
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mmap off: large blocks come from the heap and return to it; above the trim threshold only.
    applied = (mallopt(M_MMAP_MAX, 0) and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
               and mallopt(M_TOP_PAD, TOP_PAD))
    return KEEP if applied else SYSTEM


def give_back_freed_memory() -> bool:
    """Return the heap's free pages to the system now (glibc `malloc_trim(0)`): with the setting above the
    resident size would otherwise stay at the largest model's high-water mark for the rest of a long
    process (a study of many cells, an app session of many runs). Called when a strategy's model is done;
    True when it released something."""
    if _applied != KEEP:
        return False
    try:
        trim = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return bool(trim(0))
