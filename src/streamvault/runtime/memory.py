"""A service process's memory over a long run: the collector set for batches, and freed memory given back.

A batch taken after a stall (a backlog, a broker back) can be ten times the usual one. Python frees its
objects afterwards, but glibc keeps the freed pages for reuse and they still count as resident: a
service's RSS stayed at the largest batch it had ever taken (the hour-long soak: DDS 92 -> 116 MiB at its
lag peak in minute 33, flat after). `malloc_trim` hands such pages back to the kernel.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

# Trimming costs a few milliseconds of the loop's time, so it is done only once this much has come back.
GROWTH_BYTES = 16 * 2**20
_PAGE = os.sysconf("SC_PAGE_SIZE")


def tune_gc() -> None:
    """A batch allocates hundreds of thousands of short-lived containers and creates no cycles, yet
    every 700 allocations CPython's collector scanned them (benchmark: a third of DDS's transform time).
    Objects of the start-up (modules, settings, clients) are moved out of its sight for good."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def resident_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE


class FreedMemory:
    """Gives freed memory back once the process has grown GROWTH_BYTES beyond where the last trim left it."""

    def __init__(self) -> None:
        self._trim = _malloc_trim()
        self.after_last_trim = resident_bytes()

    def release_if_grown(self) -> bool:
        """True when it trimmed (glibc only; elsewhere there is nothing to call and it never does)."""
        if self._trim is None or resident_bytes() - self.after_last_trim < GROWTH_BYTES:
            return False
        self._trim(0)
        self.after_last_trim = resident_bytes()
        return True


def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with
        return None
