"""The demo's child processes: logged to files, restarted when they die, stopped with a bounded wait.

Children run in their own session, so a terminal's Ctrl-C reaches only the demo, which then stops
them all (their stop signal, a bounded wait, then SIGKILL). Pid files let the next demo stop what a
demo killed with -9 left behind.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from streamvault.stack import process

# Every child runs a streamvault command: a pid whose command line lacks it is not ours to stop.
STREAMVAULT_MARKER = b"streamvault"


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    pid_file: Path
    stop_signal: int
    restart: bool
    popen: subprocess.Popen | None = None
    restarts: int = 0
    died_at: float | None = None

    @property
    def exit_code(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def spawn(self) -> None:
        with open(self.log, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} streamvault demo starts: {shlex.join(self.args)}\n"
                      .encode())
            log.flush()
            self.popen = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          env=self.env, start_new_session=True)
        self.pid_file.write_text(f"{self.popen.pid}\n")
        self.died_at = None

    def describe(self) -> str:
        code = self.exit_code
        if self.popen is None:
            return "not started"
        state = f"pid {self.popen.pid}" if code is None else f"exited {code}"
        return state + (f", restarted {self.restarts}x" if self.restarts else "")


class Supervisor:
    def __init__(self, home: Path, *, restart_delay_s: float = 5.0, stop_timeout_s: float = 30.0):
        self.log_dir = home / "logs"
        self.pid_dir = home / "demo"
        self.restart_delay_s = restart_delay_s
        self.stop_timeout_s = stop_timeout_s
        self.children: dict[str, Child] = {}

    def stop_leftovers(self) -> list[str]:
        """Stop the children of an earlier demo that could not stop them (only streamvault processes)."""
        stopped = []
        for pid_file in sorted(self.pid_dir.glob("*.pid")):
            pid = process.read_pid(pid_file, STREAMVAULT_MARKER)
            if pid is not None:
                process.stop(pid_file, STREAMVAULT_MARKER, timeout=self.stop_timeout_s)
                stopped.append(f"{pid_file.stem} (pid {pid})")
            pid_file.unlink(missing_ok=True)
        return stopped

    def start(self, name: str, args: list[str], env: dict[str, str], *, stop_signal: int = signal.SIGTERM,
              restart: bool = True) -> Child:
        """Logs to `<home>/logs/<name>.log`; `restart`: start it again whenever it dies."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        child = Child(name, args, env, self.log_dir / f"{name}.log", self.pid_dir / f"{name}.pid", stop_signal, restart)
        child.spawn()
        self.children[name] = child
        return child

    def check(self) -> list[str]:
        """Restart children that died (after a delay, so a crash loop does not spin); returns what happened."""
        events = []
        now = time.monotonic()
        for child in self.children.values():
            code = child.exit_code
            if code is None or not child.restart:
                continue
            if child.died_at is None:
                child.died_at = now
                events.append(f"{child.name} exited with code {code}; restarting in {self.restart_delay_s:.0f}s "
                              f"(log: {child.log})")
            elif now - child.died_at >= self.restart_delay_s:
                child.restarts += 1
                child.spawn()
                events.append(f"{child.name} restarted (pid {child.popen.pid})")
        return events

    def stop_all(self) -> None:
        """Signal every child at once, wait for all within one bound, then SIGKILL what is left."""
        running = [child for child in self.children.values() if child.popen and child.exit_code is None]
        for child in running:
            _signal(child.popen, child.stop_signal)
        deadline = time.monotonic() + self.stop_timeout_s
        for child in running:
            try:
                child.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(child.popen, signal.SIGKILL)
                child.popen.wait()
        for child in self.children.values():
            child.pid_file.unlink(missing_ok=True)


def _signal(popen: subprocess.Popen, sig: int) -> None:
    try:
        popen.send_signal(sig)
    except ProcessLookupError:
        pass
