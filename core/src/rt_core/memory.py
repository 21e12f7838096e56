"""Give memory back to the operating system when the gateway goes idle.

A load peak leaves CPython's and glibc's allocators holding freed memory, so
RSS stays at the peak long after the sessions are gone.  When the last
session closes (debounced), the gateway runs a full garbage collection and
glibc's ``malloc_trim(0)``, which returns free heap pages.  Nothing runs
while sessions are open, so the hot path never pays for it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from functools import cache

__all__ = ["release_memory"]

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        fn = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def release_memory() -> None:
    """Collect garbage and return free heap pages to the OS (best effort)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)  # type: ignore[operator]
