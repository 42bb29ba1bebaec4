"""How a service runs: batching, HTTP, identity. Topic and group defaults come from the service."""

from __future__ import annotations

import socket

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    http_host: str = "0.0.0.0"
    http_port: int | None = None
    batch_size: int = Field(5000, ge=1, le=50_000, validation_alias="STREAMVAULT_BATCH_SIZE")
    batch_timeout_ms: int = Field(200, ge=1, le=60_000, validation_alias="STREAMVAULT_BATCH_TIMEOUT_MS")
    # Stable per replica (a StatefulSet pod name): the transactional.id, so a restart fences its predecessor.
    instance_id: str = Field(default_factory=socket.gethostname, validation_alias="STREAMVAULT_INSTANCE_ID")
    topic_partitions: int = Field(3, ge=1, validation_alias="STREAMVAULT_TOPIC_PARTITIONS")
    idle_interval_s: float = Field(2.0, gt=0, validation_alias="STREAMVAULT_IDLE_INTERVAL_SECONDS")
    max_backoff_s: float = Field(10.0, gt=0, validation_alias="STREAMVAULT_MAX_BACKOFF_SECONDS")
