"""What the benchmarks read about processes from /proc (Linux): CPU time and peak memory."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def cpu_seconds(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU (user + system) of each named group of processes and all their descendants (PostgreSQL's
    backends, Kafka's and librdkafka's threads are inside these processes or their children), with the
    descendants that have exited and been reaped (an autovacuum worker lives for one table)."""
    children, totals = _children(), {}
    for name, pids in roots.items():
        total, todo = 0.0, list(pids)
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            total += sum(int(field) for field in fields[11:15]) / _TICK  # utime, stime, cutime, cstime
        totals[name] = total
    return totals


def memory_mib(pid: int) -> dict[str, float]:
    """Resident memory of a process now (VmRSS) and the most it has had since it started (VmHWM)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"peak": round(int(fields["VmHWM"].split()[0]) / 1024, 1),
            "now": round(int(fields["VmRSS"].split()[0]) / 1024, 1)}


# glibc reserves each arena it makes for a thread as one aligned 64 MiB mapping, of which it uses a part.
_THREAD_ARENA_BYTES = 64 * 2**20


def resident_by_region(pid: int) -> dict[str, float]:
    """Where a process's resident memory is (MiB), from /proc/PID/smaps: `heap` (malloc's main arena: what
    the main thread allocates), `thread_arenas` (what other threads allocate, glibc's arenas for them;
    `arenas` counts them), `anonymous` (other private mappings: CPython's object arenas, malloc's large
    blocks mapped on their own), `files` (code and data of the executable and libraries)."""
    regions: list[tuple[int, int, str, str, int]] = []  # start, end, permissions, name, resident kB
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields[0].endswith(":"):
            if fields[0] == "Rss:":
                regions[-1] = (*regions[-1][:4], int(fields[1]))
            continue
        start, end = (int(bound, 16) for bound in fields[0].split("-"))
        regions.append((start, end, fields[1], fields[5] if len(fields) > 5 else "", 0))
    kb = {"heap": 0, "thread_arenas": 0, "anonymous": 0, "files": 0}
    arenas = 0
    for index, (start, end, permissions, name, resident) in enumerate(regions):
        if name == "[heap]":
            kind = "heap"
        elif name:
            kind = "files"
        elif start % _THREAD_ARENA_BYTES == 0 and permissions.startswith("rw") and _reserved_to(
                regions, index) - start == _THREAD_ARENA_BYTES:
            kind, arenas = "thread_arenas", arenas + 1
        else:
            kind = "anonymous"
        kb[kind] += resident
    return {**{kind: round(value / 1024, 1) for kind, value in kb.items()}, "arenas": arenas}


def _reserved_to(regions: list[tuple[int, int, str, str, int]], index: int) -> int:
    """Where a mapping ends together with the inaccessible reserve glibc keeps right after it."""
    end = regions[index][1]
    following = regions[index + 1] if index + 1 < len(regions) else None
    if following is not None and following[0] == end and following[2].startswith("---") and not following[3]:
        end = following[1]
    return end
