"""STG: raw events into stg.order_events, orders enriched from Redis (or parked) and sent to DDS."""

from __future__ import annotations

import logging
from typing import NamedTuple

import msgspec
import psycopg

from streamvault.contracts.source import SourceOrder
from streamvault.db.sqlfiles import copy_rows, sql
from streamvault.runtime import metrics
from streamvault.runtime.logs import event
from streamvault.runtime.stage import DeadLetter, Output, Record
from streamvault.stg import transform
from streamvault.stg.parking import Origin, ParkedOrders, ParkedRow, Version
from streamvault.stg.reference import ReferenceData

NAME = "stg-service"
log = logging.getLogger(__name__)
_IDS_LOGGED = 20  # order ids named in the line about completed parked orders
_encode = msgspec.json.Encoder().encode


def _q(name: str) -> str:
    return sql("streamvault.stg", name)


class _Routed(NamedTuple):
    outputs: list[Output]  # for DDS, keyed by user (one user's data stays on one partition)
    forwarded: list[Version]
    parked: list[ParkedRow]


class StgStage:
    name = NAME
    layer = "stg"  # the schema it writes

    def __init__(self, reference: ReferenceData, parking: ParkedOrders):
        self.reference = reference
        self.parking = parking

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
        routed = self._route(orders)
        self.parking.park(conn, routed.parked)
        self.parking.unpark(conn, routed.forwarded)
        return routed.outputs

    def idle(self, conn: psycopg.Connection) -> list[Output | DeadLetter]:
        """Parked orders that waited too long go to the DLQ; those due for an attempt go downstream if
        their reference data has appeared, else wait longer."""
        expired = self.parking.expire(conn)
        metrics.parked_expired.labels(NAME).inc(len(expired))
        outputs: list[Output | DeadLetter] = [*expired]
        if due := self.parking.due(conn):
            conn.execute(_q("temp_tables.sql"))
            routed = self._route(due)
            self.parking.defer(conn, routed.parked)
            self.parking.unpark(conn, routed.forwarded)
            outputs += routed.outputs
            _log_completed(routed.forwarded)
        metrics.parked.labels(NAME).set(self.parking.estimate(conn))
        return outputs

    def ping(self) -> None:
        self.reference.ping()

    def servers(self) -> dict[str, str]:
        return {"redis": self.reference.address}

    def _route(self, orders: list[tuple[SourceOrder, Origin]]) -> _Routed:
        routed = _Routed([], [], [])
        if not orders:
            return routed
        found = self.reference.lookup({o.payload.user.id for o, _ in orders},
                                      {o.payload.restaurant.id for o, _ in orders})
        for order, origin in orders:
            result = transform.enrich(order, found.users, found.restaurants, found.malformed)
            version = (order.object_id, order.payload.update_ts, order.sent_dttm)
            if isinstance(result, list):
                routed.parked.append((*version, _encode(order).decode(), result, *origin))
            else:
                routed.forwarded.append(version)
                routed.outputs.append(Output(order.payload.user.id.encode(), _encode(result)))
        return routed


def _log_completed(forwarded: list[Version]) -> None:
    """One line per round, whatever the number: the reference data they waited for has come."""
    if forwarded:
        ids = sorted({object_id for object_id, _, _ in forwarded})
        event(log, logging.INFO, "parked_orders_completed", "%s: %d parked orders completed (%s%s)", NAME,
              len(forwarded), ", ".join(map(str, ids[:_IDS_LOGGED])), ", ..." if len(ids) > _IDS_LOGGED else "",
              count=len(forwarded), order_ids=ids[:_IDS_LOGGED])


def _event_row(obj: transform.SourceObject) -> tuple:
    envelope = obj.envelope
    update_ts = obj.order.payload.update_ts if obj.order else None
    return (envelope.object_id, envelope.object_type, envelope.sent_dttm, update_ts, obj.payload_json)
