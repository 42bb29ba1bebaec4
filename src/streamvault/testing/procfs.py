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
