"""Detached server processes tracked by pid files, so `up` and `down` work across CLI calls.

A pid alone does not name a process for long: pids wrap (pid_max is often 32768) and a pid file can
outlive its server. Beside the pid file (the pid alone, for scripts) `<pid file>.start` records the
process's start time, and a pid counts as ours only while a process with that pid, that start time and
the expected command line runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def read_pid(pid_file: Path, marker: bytes) -> int | None:
    """The pid recorded in `pid_file` if that very process still runs and its command line holds `marker`."""
    pid = _read_int(pid_file)
    if pid is None or not is_alive(pid) or marker not in cmdline(pid):
        return None
    recorded_start = _read_int(_start_file(pid_file))
    if recorded_start is not None and recorded_start != start_time(pid):
        return None
    return pid


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _start_file(pid_file: Path) -> Path:
    return pid_file.with_name(f"{pid_file.name}.start")


def cmdline(pid: int) -> bytes:
    """The process's arguments, NUL-separated; empty when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def start_time(pid: int) -> int | None:
    """When the process started, in clock ticks after boot: with the pid, it names one process for good."""
    try:
        # Field 22 of stat; the command name (field 2) may hold spaces and ")", so split after its last ")".
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def huge_pages_kb(pid: int) -> int:
    """How much of the process's memory is in huge pages the machine reserved (hugetlbfs); 0 when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("HugetlbPages:"):
            return int(line.split()[1])
    return 0  # a kernel older than 4.4 does not say


def write_pid(pid_file: Path, pid: int) -> None:
    _start_file(pid_file).write_text(f"{start_time(pid)}\n")
    pid_file.write_text(f"{pid}\n")


def forget(pid_file: Path) -> None:
    pid_file.unlink(missing_ok=True)
    _start_file(pid_file).unlink(missing_ok=True)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return _not_zombie(pid)


def _not_zombie(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def spawn(args: list[str], pid_file: Path, log_file: Path, *, user: str | None = None,
          env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen:
    """Start a server in its own session (so Ctrl-C in the terminal does not reach it)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, user=user, env=env, cwd=cwd,
        )
    write_pid(pid_file, process.pid)
    return process


def wait_until(check: Callable[[], bool], *, timeout: float, what: str,
               alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if not alive():
            raise RuntimeError(f"{what} exited during start-up")
        time.sleep(0.2)
    raise TimeoutError(f"{what} not healthy after {timeout:.0f}s")


def stop(pid_file: Path, marker: bytes, *, sig: int = signal.SIGTERM, timeout: float = 60.0,
         child: subprocess.Popen | None = None) -> bool:
    """Ask politely, wait, then kill. Returns whether our process was running; never signals another.

    `child`: the server as this very process started it. Until it is reaped its pid is surely its own, so it is
    stopped without reading its command line, which a server may rewrite as it starts (a failed `up` that
    stops what it started a moment before left a Redis running)."""
    pid = child.pid if child is not None and child.poll() is None else read_pid(pid_file, marker)
    if pid is None:
        forget(pid_file)
        return False
    os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if is_alive(pid):
        os.kill(pid, signal.SIGKILL)
        while is_alive(pid):
            time.sleep(0.05)
    forget(pid_file)
    return True
