"""Freshness: how long after the source published an order each service has committed it.

The source message's publish time (its Kafka timestamp) travels downstream in a header. Each service
observes "source publish -> this service's commit" for every message it commits (a histogram on
/metrics) and keeps the newest source publish time its layer holds in `<layer>.srv_freshness`, inside the
batch's transaction (`streamvault status`, the dashboard's "data as of").

A batch's outputs are not traced to the message each came from, so they carry the batch's oldest source
time: downstream figures are an upper bound, by at most one upstream batch's spread. Orders re-driven
from parking carry no header: downstream counts from when STG sent them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psycopg
from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message
from psycopg import sql as pgsql

from streamvault.db.sqlfiles import sql
from streamvault.runtime import metrics

HEADER = "source_published_ms"


def published_ms(message: Message) -> int | None:
    """The source's publish time in epoch ms: the header an upstream service set, else the message's timestamp."""
    for key, value in message.headers() or ():
        if key == HEADER and value:
            return int(value)
    kind, milliseconds = message.timestamp()
    return None if kind == TIMESTAMP_NOT_AVAILABLE else milliseconds


@dataclass(frozen=True, slots=True)
class BatchFreshness:
    published: list[int]  # epoch ms of each message of the batch whose time is known
    headers: list[tuple[str, bytes]] | None  # for the batch's outputs: its oldest source time

    @classmethod
    def of(cls, messages: list[Message]) -> BatchFreshness:
        published = [ms for ms in map(published_ms, messages) if ms is not None]
        return cls(published, [(HEADER, str(min(published)).encode())] if published else None)

    def record(self, conn: psycopg.Connection, layer: str, instance: str) -> None:
        """The layer's newest source time, in the caller's transaction."""
        if self.published:
            statement = pgsql.SQL(sql("streamvault.runtime", "record_freshness.sql")).format(
                table=pgsql.Identifier(layer, "srv_freshness"))
            conn.execute(statement, {"instance": instance, "newest_ms": max(self.published)})

    def observe(self, service: str) -> None:
        """After the commit: each message's age at that moment."""
        now_ms = time.time() * 1000
        metrics.freshness_seconds.observe_many(service, [max(0.0, now_ms - ms) / 1000 for ms in self.published])
