"""Which failures belong to one message (dead-letter it) and which to the servers or the service (retry the batch).

A message is at fault only when the error can be pinned on it: PostgreSQL refuses one of its values
(SQLSTATE classes 22, 23, 54), or the stage's own code raises on it alone while others load. Everything
else — outages, timeouts, lost races, a server at a limit (an exhausted sequence, SQLSTATE 2200H, is a
`DataError` but says nothing about the data) or a bug that hits every record — waits: the batch is
aborted and retried, and the service reports itself not ready.
"""

from __future__ import annotations

import psycopg
import redis
from confluent_kafka import KafkaException, Message

# Outages and lost races: nothing is wrong with the messages.
_OUTAGES = (psycopg.OperationalError, psycopg.InterfaceError, redis.ConnectionError, redis.TimeoutError,
            KafkaException, BufferError)
# A value PostgreSQL refuses (data exception, integrity, program limit such as an over-long index row)...
_VALUE_CLASSES = ("22", "23", "54")
# ...except where the server, not the value, is at its end.
_SERVER_STATES = frozenset({"2200H"})  # sequence_generator_limit_exceeded


class ServiceFault(Exception):
    """No record of a batch could be loaded, each failing on its own: the service is at fault, not the data."""


class LoneFailure:
    """A message that fails for no reason the data explains, with nothing else in its batch to load: a bad
    message or a broken service, no other message tells which. Its batch is retried (rewound), so that what
    arrives meanwhile joins it and decides; only a message still alone after `attempts` tries is
    dead-lettered. A caught-up service takes what arrived, often one message (runtime/intake.py)."""

    def __init__(self, attempts: int = 4):
        self.attempts = attempts
        self._where: tuple[str, int, int] | None = None
        self._tries = 0

    def retry(self, first: Message) -> bool:
        """True while the batch starting at `first` should be retried rather than its message dead-lettered."""
        where = (first.topic(), first.partition(), first.offset())
        if where != self._where:
            self._where, self._tries = where, 0
        self._tries += 1
        return self._tries < self.attempts


def is_transient(exc: BaseException) -> bool:
    """True when retrying the same batch later is the answer; False when a message may be to blame."""
    if isinstance(exc, psycopg.DatabaseError) and exc.sqlstate:
        return exc.sqlstate in _SERVER_STATES or not exc.sqlstate.startswith(_VALUE_CLASSES)
    if isinstance(exc, (psycopg.DataError, psycopg.IntegrityError)):  # raised by psycopg itself: NUL in text
        return False
    return isinstance(exc, (ServiceFault, psycopg.Error, *_OUTAGES))


def refused_by_postgres(exc: BaseException) -> bool:
    """PostgreSQL refused a value: certainly the message's fault, however many messages share it."""
    return isinstance(exc, psycopg.Error) and not is_transient(exc)


def describe(exc: BaseException, limit: int = 500) -> str:
    """`Type: message`, one line, bounded: for dead-letter headers, logs and /ready."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}" if text else type(exc).__name__
