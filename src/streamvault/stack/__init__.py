"""The self-managed local stack: real Kafka, PostgreSQL and Redis under one state folder."""

from __future__ import annotations

import shlex

from streamvault.stack.kafka import Kafka
from streamvault.stack.postgres import Postgres
from streamvault.stack.redis import Redis
from streamvault.stack.server import Server
from streamvault.stack.settings import Secrets, StackSettings


class Stack:
    def __init__(self, settings: StackSettings | None = None):
        self.settings = settings or StackSettings()
        secrets = Secrets.load_or_create(self.settings.home / "secrets.json")
        self.servers: list[Server] = [Postgres(self.settings, secrets), Redis(self.settings, secrets),
                                      Kafka(self.settings, secrets)]
        self.env_file = self.settings.home / "env"

    def up(self) -> None:
        """Idempotent: starts what is not running, waits for every server to be healthy."""
        for server in self.servers:
            server.launch()
        for server in self.servers:
            server.await_healthy()
        self.write_env()

    def down(self) -> None:
        for server in reversed(self.servers):
            server.stop()

    def status(self) -> list[dict[str, object]]:
        return [server.status() for server in self.servers]

    def env(self) -> dict[str, str]:
        merged = {"STREAMVAULT_HOME": str(self.settings.home)}
        for server in self.servers:
            merged.update(server.env())
        return merged

    def write_env(self) -> None:
        lines = [f"{key}={shlex.quote(value)}" for key, value in self.env().items()]
        self.env_file.write_text("\n".join(lines) + "\n")
        self.env_file.chmod(0o600)
