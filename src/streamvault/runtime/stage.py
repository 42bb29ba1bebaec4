"""What a service plugs into the loop: a pure decode and a loader that runs inside the batch's transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import msgspec
import psycopg
from confluent_kafka import Message

T = TypeVar("T")


class Rejected(Exception):
    """The message can never be processed: it goes to the dead-letter topic with this reason."""


def strict_decoder(message_type: type[T], what: str) -> Callable[[bytes], T]:
    """JSON into `message_type`; a syntax or schema error makes the message bad input."""
    decoder = msgspec.json.Decoder(message_type)

    def decode(raw: bytes) -> T:
        try:
            return decoder.decode(raw)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            raise Rejected(f"invalid {what}: {exc}") from None

    return decode


@dataclass(frozen=True, slots=True)
class Record(Generic[T]):
    value: T
    message: Message


@dataclass(frozen=True, slots=True)
class Output:
    """A message for the service's destination topic."""

    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message given up on, for the dead-letter topic with the reason and where it came from: a consumed
    message, or one given up on outside a batch (a parked order that waited too long)."""

    key: bytes | None
    value: bytes
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int

    @classmethod
    def of(cls, message: Message, reason: str) -> DeadLetter:
        """A consumed message, unchanged."""
        return cls(message.key(), message.value() or b"", reason, message.topic(), message.partition(),
                   message.offset())


@dataclass(frozen=True, slots=True)
class Topics:
    source: str
    destination: str | None
    dlq: str


class Stage(Protocol[T]):
    name: str
    layer: str  # its PostgreSQL schema: stg, dds or cdm

    def decode(self, raw: bytes) -> T:
        """Parse and validate one message; raise Rejected for bad input. Pure: no I/O."""

    def load(self, conn: psycopg.Connection, records: list[Record[T]]) -> list[Output]:
        """Write the batch (inside the caller's transaction) and return what goes downstream.

        Must be idempotent: after a crash the same records are loaded again."""

    def idle(self, conn: psycopg.Connection) -> list[Output | DeadLetter]:
        """Periodic work between batches (e.g. re-driving parked data), inside a transaction that
        commits after its outputs are committed to Kafka."""

    def ping(self) -> None:
        """Raise if a server the stage needs besides PostgreSQL and Kafka is unreachable."""

    def servers(self) -> dict[str, str]:
        """The servers it needs besides PostgreSQL and Kafka, by name: `host:port`, never a login."""
