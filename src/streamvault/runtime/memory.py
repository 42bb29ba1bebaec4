"""A service process's memory over a long run: the collector set for batches, malloc bounded, and freed
memory given back.

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

# glibc's mallopt parameters (malloc.h).
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8
# Blocks from this size up are mapped on their own and unmapped when freed. glibc's default starts at 128 KiB
# but rises to the largest block freed (up to 32 MiB), so after one large batch its array parameters and
# message buffers land in the heap, where the batch's small survivors keep them resident.
MMAP_THRESHOLD_BYTES = 256 * 2**10
# Every thread that allocates gets an arena of its own, up to 8 per core by default: a service had 15 after
# 300 orders (librdkafka's threads, with fetch and compression buffers), and each kept what it had once held.
ARENA_MAX = 2
# Trimming costs a few milliseconds of the loop's time, so it is done only once this much has come back.
GROWTH_BYTES = 16 * 2**20
# A batch smaller than this share of the batch size means the backlog is over.
SMALL_BATCH_SHARE = 0.1
_PAGE = os.sysconf("SC_PAGE_SIZE")


def tune_gc() -> None:
    """A batch allocates hundreds of thousands of short-lived containers and creates no cycles, yet
    every 700 allocations CPython's collector scanned them (benchmark: a third of DDS's transform time).
    Objects of the start-up (modules, settings, clients) are moved out of its sight for good."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def bound_malloc() -> None:
    """Called before the process starts its threads (HTTP, pool, Kafka clients): an arena is made the first
    time a thread allocates, and the bound holds only for arenas made after it. In a 12-minute run at
    1,000 orders/s with five backlog bursts (the same settings through glibc's environment variables), it left
    DDS at 139 MiB instead of 146, STG at 88 instead of 104, CDM at 98 instead of 109 (docs/performance.md,
    stop 21). What CPython keeps in its own object arenas after a large batch it does not reach.
    A no-op where malloc is not glibc's."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, ARENA_MAX)
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def resident_bytes() -> int:
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * _PAGE


class FreedMemory:
    """Gives freed memory back once the process has grown GROWTH_BYTES beyond where the last trim left it, and
    only after a small batch. While batches are large (a backlog) the next one reuses what the last freed, and
    a trim taken between them was wasted: the backlog's last batch grew the heap again, now below the growth
    that calls for a trim. After two backlog bursts DDS's main heap was 20-73 MiB with trims between
    batches, and 17-20 MiB with the trim after a small batch (docs/performance.md, stop 22)."""

    def __init__(self, batch_size: int) -> None:
        self._trim = _libc_function("malloc_trim")
        self._small_batch = batch_size * SMALL_BATCH_SHARE
        self.after_last_trim = resident_bytes()

    def release_if_grown(self, last_batch: int) -> bool:
        """After a batch of `last_batch` messages (0 for an idle round): True when it trimmed (glibc only;
        elsewhere there is nothing to call and it never does)."""
        if (self._trim is None or last_batch >= self._small_batch
                or resident_bytes() - self.after_last_trim < GROWTH_BYTES):
            return False
        self._trim(0)
        self.after_last_trim = resident_bytes()
        return True


def _libc_function(name: str):
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to call
        return None
