"""Where the local stack lives and which ports it uses; all overridable with STREAMVAULT_* variables."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamvault.config import streamvault_home
from streamvault.stack.files import write_private


class StackSettings(BaseSettings):
    """Non-standard default ports so the stack never clashes with system services."""

    model_config = SettingsConfigDict(env_prefix="STREAMVAULT_", extra="ignore")

    home: Path = Field(default_factory=streamvault_home)
    kafka_port: int = 19092
    # Unset: the port after kafka_port, so that a second stack moved with STREAMVAULT_KAFKA_PORT alone
    # does not collide on the first one's controller port.
    kafka_controller_port: int | None = None
    # Combined broker + controller processes. Unset: as many as the folder was made with (`Stack`), else one.
    # Broker n (from 1) listens on kafka_port + 2(n-1), its controller on kafka_controller_port + 2(n-1).
    kafka_brokers: int | None = Field(None, ge=1, le=9)
    pg_port: int = 15432
    redis_port: int = 16379
    # Unset: 512m for a single broker, 384m each in a cluster.
    kafka_heap: str | None = None
    pg_dbname: str = "streamvault"
    pg_user: str = "streamvault"
    # TLS and a login per principal on every server (stack/security.py); a folder made secure stays secure.
    secure: bool = False

    @field_validator("home")
    @classmethod
    def _absolute(cls, home: Path) -> Path:
        """Every path the stack puts on a command line then starts with `/`, never with `-`."""
        return home.absolute()

    @model_validator(mode="after")
    def _derive_controller_port(self) -> StackSettings:
        if self.kafka_controller_port is None:
            self.kafka_controller_port = self.kafka_port + 1
        return self


def _never_an_option(draw: Callable[[], str]) -> str:
    """Draw again while the value starts with `-`, which command-line parsers read as an option
    (Kafka's own random cluster ids avoid a leading `-` the same way)."""
    value = draw()
    while value.startswith("-"):
        value = draw()
    return value


def new_password() -> str:
    return _never_an_option(lambda: secrets.token_urlsafe(18))


def _kafka_cluster_id() -> str:
    return _never_an_option(lambda: base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))


@dataclass(frozen=True)
class Secrets:
    """Chosen once per state folder: the data on disk is bound to them."""

    pg_password: str
    redis_password: str
    kafka_cluster_id: str

    @classmethod
    def generate(cls) -> Secrets:
        return cls(pg_password=new_password(), redis_password=new_password(), kafka_cluster_id=_kafka_cluster_id())

    @classmethod
    def load(cls, path: Path) -> Secrets | None:
        """The saved secrets, None when there are none yet; a damaged file is an error, never replaced."""
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise RuntimeError(f"{path} is damaged ({type(exc).__name__}); the stack's data is bound to it. "
                               "If this stack never ran, delete the file and run `streamvault stack up` again"
                               ) from None

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        saved = cls.load(path)
        if saved is not None:
            return saved
        created = cls.generate()
        created.save(path)
        return created

    def save(self, path: Path) -> None:
        write_private(path, json.dumps(asdict(self)))
