"""What every local server shares: a folder, a pid file, a log, a health check."""

from __future__ import annotations

import json
import signal
import subprocess
from abc import ABC, abstractmethod

from streamvault.stack import ports, process
from streamvault.stack.security import Security
from streamvault.stack.settings import Secrets, StackSettings


class Server(ABC):
    name: str
    stop_signal: int = signal.SIGTERM
    start_timeout: float = 60.0

    def __init__(self, settings: StackSettings, secrets: Secrets, security: Security | None = None):
        self.settings = settings
        self.secrets = secrets
        self.security = security  # None: the plaintext stack
        self.dir = settings.home / self.name
        self.pid_file = self.dir / "pid"
        self.ports_file = self.dir / "ports.json"
        self.log_file = self.dir / "server.log"
        # Every command line of our server names a file in its folder; another process's does not.
        self.marker = f"{self.dir}/".encode()
        self._child: subprocess.Popen | None = None  # the server, when this process started it

    @property
    @abstractmethod
    def port(self) -> int: ...

    @abstractmethod
    def ports(self) -> dict[str, int]:
        """Every port the server binds, by the variable that sets it."""

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def healthy(self) -> bool: ...

    @abstractmethod
    def env(self) -> dict[str, str]:
        """Connection settings in docs/spec.md §4 names: the administrator's (the owner's, on PostgreSQL)."""

    def login_env(self, principal: str) -> dict[str, str]:
        """A principal's connection settings on the secure stack; empty where it has no login."""
        return {}

    def prepare(self) -> None:
        """One-time set-up of the data folder; must be idempotent."""

    def after_start(self) -> None:
        """Work that needs the running server (e.g. creating a database)."""

    def hint(self) -> str | None:
        """Advice for whoever runs the stack about the machine's settings, which the stack never changes."""
        return None

    run_as: str | None = None

    @property
    def pid(self) -> int | None:
        return process.read_pid(self.pid_file, self.marker)

    def launch(self) -> bool:
        """Start the server unless it runs already; does not wait for it. Returns whether it started it."""
        if self.pid is not None:
            self._check_ports_unchanged()
            return False
        for variable, port in self.ports().items():
            if ports.in_use(port):
                raise RuntimeError(f"{self.name}: port {port} is in use by another process; "
                                   f"free it or choose another port with {variable}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.prepare()
        self._child = process.spawn(self.command(), self.pid_file, self.log_file, user=self.run_as)
        self.ports_file.write_text(json.dumps(self.ports()))
        return True

    def _check_ports_unchanged(self) -> None:
        """A port changed while the server runs would only make `up` time out: say which port it runs on."""
        try:
            started_with = json.loads(self.ports_file.read_text())
        except (FileNotFoundError, ValueError):
            return  # started before ports were recorded
        for variable, port in self.ports().items():
            running = started_with.get(variable, port)
            if running != port:
                raise RuntimeError(f"the stack in {self.settings.home} runs {self.name} on port {running} "
                                   f"({variable} now asks for {port}); run `streamvault stack down` first")

    def await_healthy(self) -> None:
        process.wait_until(
            self.healthy, timeout=self.start_timeout, what=f"{self.name} (log: {self.log_file})",
            alive=lambda: self.pid is not None,
        )
        self.after_start()

    def stop(self) -> bool:
        child, self._child = self._child, None
        stopped = process.stop(self.pid_file, self.marker, sig=self.stop_signal, child=child)
        self.ports_file.unlink(missing_ok=True)
        return stopped

    def status(self) -> dict[str, object]:
        pid = self.pid
        return {
            "name": self.name,
            "pid": pid,
            "port": self.port,
            "running": pid is not None,
            "healthy": pid is not None and self.healthy(),
            "log": str(self.log_file),
        }
