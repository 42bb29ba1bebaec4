"""DDS: STG order versions into the Data Vault (set-based), then one message per version to CDM."""

from __future__ import annotations

from collections import defaultdict
from functools import cache
from operator import attrgetter
from typing import NamedTuple

import msgspec
import psycopg
from psycopg import sql as pgsql

from streamvault.contracts.stg import StgOrderMessage
from streamvault.db.arrays import array_literal, array_params, unnest
from streamvault.db.sqlfiles import sql
from streamvault.dds import model, transform
from streamvault.hashing import HashKey
from streamvault.runtime.stage import Output, Record

NAME = "dds-service"
_encode = msgspec.json.Encoder().encode
_effective = attrgetter("effective")


def _q(name: str, **identifiers: pgsql.Composable) -> pgsql.Composed:
    return pgsql.SQL(sql("streamvault.dds", name)).format(**identifiers)


def _names(columns) -> pgsql.Composed:
    return pgsql.SQL(", ").join(map(pgsql.Identifier, columns))


@cache
def _insert(table: model.SetTable | model.Satellite) -> pgsql.Composed:
    """insert_set.sql for one table, composed once."""
    return _q("insert_set.sql", table=pgsql.Identifier(table.name), columns=_names(table.columns),
              key=pgsql.Identifier(table.columns[0]), rows=unnest(table.types))


@cache
def _history(sat: model.Satellite) -> pgsql.Composed:
    """An order's every version (a handful); a name's from the row before the batch's earliest version on."""
    if sat.short_history:
        return _q("order_history.sql", table=pgsql.Identifier(sat.name), key=pgsql.Identifier(sat.key),
                  hashdiff=pgsql.Identifier(sat.hashdiff), attributes=_names(sat.attributes))
    return _q("name_history.sql", table=pgsql.Identifier(sat.name), key=pgsql.Identifier(sat.key),
              never=pgsql.Literal(transform.NEVER), hashdiff=pgsql.Identifier(sat.hashdiff),
              attributes=_names(sat.attributes))


class _Read(NamedTuple):
    """What a batch reads of one satellite before it can tell which rows are new: sent together, read later."""

    keys: list[HashKey]
    watermarks: psycopg.Cursor
    history: psycopg.Cursor


class DdsStage:
    name = NAME
    layer = "dds"  # the schema it writes

    def __init__(self, load_src: str):
        self.load_src = load_src

    def decode(self, raw: bytes) -> StgOrderMessage:
        return transform.decode(raw)

    def load(self, conn: psycopg.Connection, records: list[Record[StgOrderMessage]]) -> list[Output]:
        """Two round trips (psycopg pipeline): every set insert and every satellite read, then every
        satellite write; the reads are fetched in between, when the first is needed."""
        rows = transform.vault_rows([record.value for record in records])
        with conn.pipeline():
            for table in model.SET_TABLES:
                self._insert_rows(conn, table, rows.sets[table].values())
            reads = {sat: self._read_satellite(conn, sat, seen)
                     for sat in model.SATELLITES if (seen := rows.versions[sat])}
            for sat, read in reads.items():
                self._write_satellite(conn, sat, read, rows.versions[sat])
        return [Output(key, _encode(message)) for key, message in rows.outputs]

    def idle(self, conn: psycopg.Connection) -> list[Output]:
        return []

    def ping(self) -> None:
        pass

    def servers(self) -> dict[str, str]:
        return {}

    def _insert_rows(self, conn: psycopg.Connection, table: model.SetTable | model.Satellite, rows) -> None:
        """INSERT … ON CONFLICT DO NOTHING: rows already there stay as they are."""
        if rows:
            conn.execute(_insert(table), {"load_src": self.load_src, **array_params(table.types, rows)})

    @staticmethod
    def _read_satellite(conn: psycopg.Connection, sat: model.Satellite,
                        seen: dict[HashKey, list[transform.Version]]) -> _Read:
        keys = sorted(seen)
        params = {"sat": sat.name, "keys": array_literal(keys)}
        if not sat.short_history:
            params["since"] = array_literal([min(map(_effective, seen[key]))[0] for key in keys])
        if sat.one_partition:
            watermarks = conn.execute(sql("streamvault.dds", "read_watermarks.sql"), params)
        else:
            conn.execute(sql("streamvault.dds", "claim_watermarks.sql"), params)
            watermarks = conn.execute(sql("streamvault.dds", "lock_watermarks.sql"), params)
        return _Read(keys, watermarks, conn.execute(_history(sat), params))

    def _write_satellite(self, conn: psycopg.Connection, sat: model.Satellite, read: _Read,
                         seen: dict[HashKey, list[transform.Version]]) -> None:
        watermarks = {hk: (None if t == transform.NEVER else (t, sent)) for hk, t, sent in read.watermarks}
        history: dict[HashKey, list[transform.Version]] = defaultdict(list)
        for key, effective, sent_dttm, hashdiff, *attributes in read.history:
            history[key].append(transform.Version((effective, sent_dttm), hashdiff, tuple(attributes)))

        versioned_by = len(sat.version_columns)
        inserts, moved_keys, moved_times, moved_sent = [], [], [], []
        for key in read.keys:
            added, watermark = transform.new_satellite_rows(history[key], watermarks.get(key), seen[key])
            inserts += [(key, *row.attributes, *row.effective[:versioned_by], row.hashdiff) for row in added]
            if watermark is not None:
                moved_keys.append(key)
                moved_times.append(watermark[0])
                moved_sent.append(watermark[1])
        self._insert_rows(conn, sat, inserts)
        if moved_keys:
            conn.execute(sql("streamvault.dds", "update_watermarks.sql"),
                         {"sat": sat.name, "keys": array_literal(moved_keys), "times": moved_times,
                          "sent": moved_sent})
