"""Orders waiting for reference data (stg.parked_orders): parked, tried again on a back-off of their own,
and given up to the dead-letter topic after a set age.

Only due orders are read each round (at most `batch`), so an idle replica's work does not grow with the
number of orders that wait, and an order still blocked for the same reason is not rewritten until its
next attempt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import psycopg

from streamvault.contracts.source import SourceOrder
from streamvault.db.arrays import array_literal
from streamvault.db.sqlfiles import copy_rows, sql
from streamvault.runtime.stage import DeadLetter

Origin = tuple[str, int, int]  # source topic, partition, offset
Version = tuple[int, datetime, datetime]  # object_id, update_ts, sent_dttm
# object_id, update_ts, sent_dttm, the order as JSON, what it waits for, source topic, partition, offset
ParkedRow = tuple[int, datetime, datetime, str, list[str], str, int, int]

_order = msgspec.json.Decoder(SourceOrder)
_PARKED_COLUMNS = ("object_id", "update_ts", "sent_dttm", "message", "missing",
                   "source_topic", "source_partition", "source_offset")


def _q(name: str) -> str:
    return sql("streamvault.stg", name)


class ParkedOrders:
    def __init__(self, retry_max_s: float, max_age_s: float, batch: int = 5000):
        self.retry_max_s = retry_max_s
        self.max_age_s = max_age_s
        self.batch = batch

    def park(self, conn: psycopg.Connection, rows: Sequence[ParkedRow]) -> None:
        """New arrivals wait; a version parked already keeps its schedule."""
        if rows:
            copy_rows(conn, "tmp_parked", _PARKED_COLUMNS, rows)
            conn.execute(_q("park.sql"))

    def due(self, conn: psycopg.Connection) -> list[tuple[SourceOrder, Origin]]:
        """The orders whose next attempt is due, locked until the round's transaction ends."""
        rows = conn.execute(_q("due_parked.sql"), {"limit": self.batch}).fetchall()
        return [(_order.decode(text), tuple(origin)) for text, *origin in rows]

    def defer(self, conn: psycopg.Connection, rows: Sequence[ParkedRow]) -> None:
        """Due orders that are still blocked: tried again later, twice as late each time up to the cap."""
        if rows:
            copy_rows(conn, "tmp_parked", _PARKED_COLUMNS, rows)
            conn.execute(_q("defer_parked.sql"), {"retry_max_s": self.retry_max_s,
                                                  "object_ids": array_literal([row[0] for row in rows])})

    def unpark(self, conn: psycopg.Connection, forwarded: Sequence[Version]) -> None:
        """Versions that went downstream (redelivered, re-driven) no longer wait."""
        if forwarded and conn.execute(_q("any_parked.sql")).fetchone()[0]:
            object_ids, update_ts, sent_dttm = zip(*forwarded)
            conn.execute(_q("unpark.sql"), {"object_ids": array_literal(object_ids),
                                            "update_ts": array_literal(update_ts), "sent_dttm": array_literal(sent_dttm)})

    def expire(self, conn: psycopg.Connection) -> list[DeadLetter]:
        """Orders parked longer than `max_age_s`, removed and counted; the caller sends them to the DLQ."""
        rows = conn.execute(_q("expire_parked.sql"), {"max_age_s": self.max_age_s, "limit": self.batch}).fetchall()
        return [DeadLetter(key=str(object_id).encode(), value=message.encode(),
                           reason=f"parked since {parked_at:%Y-%m-%d %H:%M:%S%z}, longer than the "
                                  f"{self.max_age_s:g} s allowed, waiting for: {'; '.join(missing)}",
                           source_topic=topic, source_partition=partition, source_offset=offset)
                for object_id, message, missing, parked_at, topic, partition, offset in rows]

    def estimate(self, conn: psycopg.Connection) -> int:
        return conn.execute(_q("estimate_parked.sql")).fetchone()[0]


def retry_all_now(conn: psycopg.Connection) -> None:
    """Make every parked order due (`streamvault reprocess-parked`: the operator knows the data is there)."""
    conn.execute(_q("retry_all_parked.sql"))


def count(conn: psycopg.Connection) -> int:
    return conn.execute(_q("count_parked.sql")).fetchone()[0]
