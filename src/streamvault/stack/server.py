"""What every local server shares: a folder, a pid file, a log, a health check."""

from __future__ import annotations

import signal
from abc import ABC, abstractmethod

from streamvault.stack import process
from streamvault.stack.settings import Secrets, StackSettings


class Server(ABC):
    name: str
    stop_signal: int = signal.SIGTERM
    start_timeout: float = 60.0

    def __init__(self, settings: StackSettings, secrets: Secrets):
        self.settings = settings
        self.secrets = secrets
        self.dir = settings.home / self.name
        self.pid_file = self.dir / "pid"
        self.log_file = self.dir / "server.log"

    @property
    @abstractmethod
    def port(self) -> int: ...

    @abstractmethod
    def command(self) -> list[str]: ...

    @abstractmethod
    def healthy(self) -> bool: ...

    @abstractmethod
    def env(self) -> dict[str, str]:
        """Connection settings in SPEC §4 names."""

    def prepare(self) -> None:
        """One-time set-up of the data folder; must be idempotent."""

    def after_start(self) -> None:
        """Work that needs the running server (e.g. creating a database)."""

    run_as: str | None = None

    @property
    def pid(self) -> int | None:
        return process.read_pid(self.pid_file)

    def launch(self) -> None:
        """Start the server unless it runs already; does not wait for it."""
        if self.pid is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.prepare()
            process.spawn(self.command(), self.pid_file, self.log_file, user=self.run_as)

    def await_healthy(self) -> None:
        process.wait_until(
            self.healthy, timeout=self.start_timeout, what=f"{self.name} (log: {self.log_file})",
            alive=lambda: self.pid is not None,
        )
        self.after_start()

    def stop(self) -> bool:
        return process.stop(self.pid_file, sig=self.stop_signal)

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
