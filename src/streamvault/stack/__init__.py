"""The self-managed local stack: real Kafka, PostgreSQL and Redis under one state folder."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from streamvault.stack import kafka
from streamvault.stack.files import write_private
from streamvault.stack.lock import folder_lock
from streamvault.stack.postgres import Postgres
from streamvault.stack.redis import Redis
from streamvault.stack.security import Security
from streamvault.stack.server import Server
from streamvault.stack.settings import Secrets, StackSettings


class Stack:
    def __init__(self, settings: StackSettings | None = None):
        self.settings = settings or StackSettings()
        self.secrets_file = self.settings.home / "secrets.json"
        self.env_file = self.settings.home / "env"
        self.brokers_file = self.settings.home / "kafka-brokers"
        self._choose_brokers()
        # Reading never creates the folder: only `up` saves secrets (a mistyped STREAMVAULT_HOME stays unmade).
        self._use(Secrets.load(self.secrets_file) or Secrets.generate())

    def _use(self, secrets: Secrets) -> None:
        security = Security(self.settings.home)
        self.security = security if self.settings.secure or security.exists else None
        self.servers: list[Server] = [Postgres(self.settings, secrets, self.security),
                                      Redis(self.settings, secrets, self.security),
                                      *kafka.cluster(self.settings, secrets, self.security)]

    def _choose_brokers(self) -> None:
        """A folder keeps the number of Kafka brokers it was made with: its data is laid out for it."""
        made_with = self._made_with_brokers()
        asked = self.settings.kafka_brokers
        if asked is not None and made_with is not None and asked != made_with:
            raise RuntimeError(f"the stack in {self.settings.home} was made with {made_with} Kafka broker(s), "
                               f"not {asked}; use another STREAMVAULT_HOME for {asked}")
        self.settings = self.settings.model_copy(update={"kafka_brokers": asked or made_with or 1})

    def _made_with_brokers(self) -> int | None:
        try:
            return int(self.brokers_file.read_text())
        except (FileNotFoundError, NotADirectoryError):
            # Made before the number was saved: a single broker, if it ever ran.
            return 1 if (self.settings.home / "kafka" / "data").is_dir() else None
        except ValueError:
            raise RuntimeError(f"{self.brokers_file} is damaged: it holds the number of Kafka brokers the stack "
                               "was made with (1 unless you made it with more)") from None

    @property
    def exists(self) -> bool:
        """Whether `up` ever ran in this folder (it saves the secrets before it starts anything)."""
        return self.secrets_file.is_file()

    def up(self, *, on_wait: Callable[[], None] = lambda: None) -> None:
        """Idempotent: starts what is not running, waits for every server to be healthy.

        All or nothing: when a server fails, or Ctrl-C comes, the servers this call started are stopped
        again (those that ran before stay). `on_wait` runs if another stack command holds the folder.
        """
        with folder_lock(self.settings.home, on_wait=on_wait):
            self._use(Secrets.load_or_create(self.secrets_file))  # a concurrent first `up` may have saved them
            if self.security is not None:
                self._refuse_plaintext_data()
                self.security.create()
            self.brokers_file.write_text(f"{self.settings.kafka_brokers}\n")
            started: list[Server] = []
            try:
                for server in self.servers:
                    if server.launch():
                        started.append(server)
                for server in self.servers:
                    server.await_healthy()
                self.write_env()
            except BaseException:
                _stop(started)
                raise

    def down(self, *, on_wait: Callable[[], None] = lambda: None) -> None:
        with folder_lock(self.settings.home, on_wait=on_wait):
            _stop(self.servers)

    def status(self) -> list[dict[str, object]]:
        return [server.status() for server in self.servers]

    def hints(self) -> list[str]:
        return [hint for server in self.servers if (hint := server.hint())]

    def env(self) -> dict[str, str]:
        merged = {"STREAMVAULT_HOME": str(self.settings.home)}
        for server in self.servers:
            merged.update(server.env())
        return merged

    def principal_env(self, principal: str) -> dict[str, str]:
        """On the secure stack: the settings one principal (stg, dds, cdm, generator, dashboard) logs in with."""
        merged = {"STREAMVAULT_HOME": str(self.settings.home)}
        for server in self.servers:
            merged.update(server.login_env(principal))
        return merged

    def write_env(self) -> None:
        """`env`: the administrator's settings; on the secure stack also `env.<principal>`, one per login."""
        _write_env(self.env_file, self.env())
        if self.security is not None:
            for principal in ("stg", "dds", "cdm", "generator", "dashboard"):
                _write_env(self.env_file.with_name(f"env.{principal}"), self.principal_env(principal))

    def _refuse_plaintext_data(self) -> None:
        if not self.security.exists and any((server.dir / "data").exists() for server in self.servers):
            raise RuntimeError(f"the stack in {self.settings.home} was made without --secure and holds data: "
                               "choose another STREAMVAULT_HOME for the secure stack")


def _write_env(path: Path, variables: dict[str, str]) -> None:
    write_private(path, "".join(f"{key}={shlex.quote(value)}\n" for key, value in variables.items()))


def _stop(servers: list[Server]) -> None:
    """Kafka's brokers together, then the other servers in reverse order of start. One at a time, the last
    broker would have lost its controller quorum with the others and wait minutes (then be killed) for
    the approval of its controlled shutdown, which only a quorum can give."""
    brokers = [server for server in servers if isinstance(server, kafka.Kafka)]
    if brokers:
        with ThreadPoolExecutor(len(brokers)) as pool:
            list(pool.map(Server.stop, brokers))
    for server in reversed(servers):
        if server not in brokers:
            server.stop()
