"""Where the local stack lives and which ports it uses; all overridable with STREAMVAULT_* variables."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamvault.config import streamvault_home


class StackSettings(BaseSettings):
    """Non-standard default ports so the stack never clashes with system services."""

    model_config = SettingsConfigDict(env_prefix="STREAMVAULT_", extra="ignore")

    home: Path = Field(default_factory=streamvault_home)
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    pg_port: int = 15432
    redis_port: int = 16379
    kafka_heap: str = "512m"
    pg_dbname: str = "streamvault"
    pg_user: str = "streamvault"


@dataclass(frozen=True)
class Secrets:
    """Chosen once per state folder: the data on disk is bound to them."""

    pg_password: str
    redis_password: str
    kafka_cluster_id: str

    @classmethod
    def load_or_create(cls, path: Path) -> Secrets:
        if path.is_file():
            return cls(**json.loads(path.read_text()))
        created = cls(
            pg_password=secrets.token_urlsafe(18),
            redis_password=secrets.token_urlsafe(18),
            kafka_cluster_id=base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(created)))
        path.chmod(0o600)
        return created
