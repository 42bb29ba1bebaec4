"""How a service runs: batching, HTTP, identity. Topic and group defaults come from the service."""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    http_host: str = "0.0.0.0"
    http_port: int | None = None
    batch_size: int = Field(5000, ge=1, le=50_000, validation_alias="STREAMVAULT_BATCH_SIZE")
    batch_timeout_ms: int = Field(200, ge=1, le=60_000, validation_alias="STREAMVAULT_BATCH_TIMEOUT_MS")
    # Once a batch has its first message: how long to wait for more, again while more keep coming
    # (runtime/intake.py); never past the batch timeout.
    batch_linger_ms: float = Field(5, ge=0, le=60_000, validation_alias="STREAMVAULT_BATCH_LINGER_MS")
    # Stable per replica (a StatefulSet pod name): the transactional.id, so a restart fences its predecessor.
    instance_id: str = Field(default_factory=socket.gethostname, validation_alias="STREAMVAULT_INSTANCE_ID")
    topic_partitions: int = Field(3, ge=1, validation_alias="STREAMVAULT_TOPIC_PARTITIONS")
    # Replicas of the topics a service creates; unset: as many as there are brokers, up to 3.
    topic_replication: int | None = Field(None, ge=1, validation_alias="STREAMVAULT_TOPIC_REPLICATION")
    idle_interval_s: float = Field(2.0, gt=0, validation_alias="STREAMVAULT_IDLE_INTERVAL_SECONDS")
    max_backoff_s: float = Field(10.0, gt=0, validation_alias="STREAMVAULT_MAX_BACKOFF_SECONDS")
    # A batch (or the idle round) running longer than this makes /ready 503: a frozen server shows.
    stuck_batch_s: float = Field(30.0, gt=0, validation_alias="STREAMVAULT_STUCK_BATCH_SECONDS")
    # A turn of the loop whose work (not its wait for messages) takes longer is logged with its phases
    # (runtime/timing.py). Above a full batch's time on a backlog, so that it names stalls, not big batches.
    slow_turn_s: float = Field(2.0, gt=0, validation_alias="STREAMVAULT_SLOW_TURN_SECONDS")
    # A partition's last stable offset unmoved this long, data past it: a transaction no producer will end
    # (runtime/hanging.py). Above the transaction.timeout.ms of every producer writing the source topic.
    hanging_transaction_s: float = Field(120.0, gt=0, validation_alias="STREAMVAULT_HANGING_TRANSACTION_SECONDS")
    # Past that bound, abort it as the operator would (kafka/transactions.py); off: only report it.
    abort_hanging_transactions: bool = Field(True, validation_alias="STREAMVAULT_ABORT_HANGING_TRANSACTIONS")
    # PostgreSQL sessions: time to connect, idle time before TCP keepalive probes, longest statement.
    pg_connect_timeout_s: int = Field(10, ge=2, validation_alias="STREAMVAULT_PG_CONNECT_TIMEOUT_SECONDS")
    pg_keepalive_idle_s: int = Field(30, ge=1, validation_alias="STREAMVAULT_PG_KEEPALIVE_SECONDS")
    pg_statement_timeout_s: float = Field(60.0, gt=0, validation_alias="STREAMVAULT_PG_STATEMENT_TIMEOUT_SECONDS")
    # Logs (docs/operations.md): `json` for a collector, one object per line; the summary's period, 0 for none.
    log_format: Literal["text", "json"] = Field("text", validation_alias="STREAMVAULT_LOG_FORMAT")
    log_summary_s: float = Field(60.0, ge=0, validation_alias="STREAMVAULT_LOG_SUMMARY_SECONDS")
