"""STG: raw events into stg.order_events, orders enriched from Redis (or parked) and sent to DDS."""

from __future__ import annotations

import msgspec
import psycopg
import redis

from streamvault.contracts.source import SourceOrder
from streamvault.db.sqlfiles import copy_rows, sql
from streamvault.runtime import metrics
from streamvault.runtime.stage import Output, Record
from streamvault.stg import transform
from streamvault.stg.reference import ReferenceData

NAME = "stg-service"
_encode = msgspec.json.Encoder().encode
_order = msgspec.json.Decoder(SourceOrder)
REDRIVE_BATCH = 5000


def _q(name: str) -> str:
    return sql("streamvault.stg", name)


class StgStage:
    name = NAME

    def __init__(self, client: redis.Redis, reference_max_age_s: float):
        self.reference = ReferenceData(client, reference_max_age_s)

    def decode(self, raw: bytes) -> transform.SourceObject:
        return transform.decode(raw)

    def load(self, conn: psycopg.Connection, records: list[Record[transform.SourceObject]]) -> list[Output]:
        conn.execute(_q("temp_tables.sql"))
        copy_rows(conn, "tmp_order_events", ("object_id", "object_type", "sent_dttm", "update_ts", "payload"),
                  (_event_row(record.value) for record in records))
        conn.execute(_q("upsert_events.sql"))
        orders = [(record.value.order, (record.message.topic(), record.message.partition(), record.message.offset()))
                  for record in records if record.value.order is not None]
        metrics.other_objects.labels(NAME).inc(len(records) - len(orders))
        return self._forward_or_park(conn, orders)

    def idle(self, conn: psycopg.Connection) -> list[Output]:
        """Re-drive parked orders whose reference data has appeared."""
        rows = conn.execute(_q("lock_parked.sql"), {"limit": REDRIVE_BATCH}).fetchall()
        if rows:
            conn.execute(_q("temp_tables.sql"))
            outputs = self._forward_or_park(conn, [(_order.decode(text), origin) for text, *origin in rows])
        else:
            outputs = []
        metrics.parked.labels(NAME).set(conn.execute(_q("count_parked.sql")).fetchone()[0])
        return outputs

    def ping(self) -> None:
        self.reference.ping()

    def _forward_or_park(self, conn: psycopg.Connection, orders: list[tuple[SourceOrder, tuple[str, int, int]]]
                         ) -> list[Output]:
        """Orders go downstream keyed by user (one user's data stays on one partition), or wait parked."""
        users, restaurants = self.reference.lookup({o.payload.user.id for o, _ in orders},
                                                   {o.payload.restaurant.id for o, _ in orders})
        menus = transform.menus(restaurants)
        outputs, forwarded, parked = [], [], []
        for order, origin in orders:
            result = transform.enrich(order, users, restaurants, menus)
            version = (order.object_id, order.payload.update_ts, order.sent_dttm)
            if isinstance(result, list):
                parked.append((*version, _encode(order).decode(), result, *origin))
                continue
            forwarded.append(version)
            outputs.append(Output(order.payload.user.id.encode(), _encode(result)))
        if parked:
            copy_rows(conn, "tmp_parked", ("object_id", "update_ts", "sent_dttm", "message", "missing",
                                           "source_topic", "source_partition", "source_offset"), parked)
            conn.execute(_q("park.sql"))
        if forwarded and conn.execute(_q("any_parked.sql")).fetchone()[0]:
            copy_rows(conn, "tmp_forwarded", ("object_id", "update_ts", "sent_dttm"), forwarded)
            conn.execute(_q("unpark.sql"))
        return outputs


def _event_row(obj: transform.SourceObject) -> tuple:
    envelope = obj.envelope
    update_ts = obj.order.payload.update_ts if obj.order else None
    return (envelope.object_id, envelope.object_type, envelope.sent_dttm, update_ts, obj.payload_json)
