"""DDS: STG order versions into the Data Vault (set-based), then one message per version to CDM."""

from __future__ import annotations

from collections import defaultdict

import msgspec
import psycopg
from psycopg import sql as pgsql

from streamvault.contracts.stg import StgOrderMessage
from streamvault.db.sqlfiles import copy_rows, sql, uuid_array
from streamvault.dds import model, transform
from streamvault.hashing import HashKey
from streamvault.runtime.stage import Output, Record

NAME = "dds-service"
_encode = msgspec.json.Encoder().encode


def _q(name: str, **identifiers: pgsql.Composable) -> pgsql.Composed:
    return pgsql.SQL(sql("streamvault.dds", name)).format(**identifiers)


def _names(columns) -> pgsql.Composed:
    return pgsql.SQL(", ").join(map(pgsql.Identifier, columns))


class DdsStage:
    name = NAME
    layer = "dds"  # the schema it writes

    def __init__(self, load_src: str):
        self.load_src = load_src

    def decode(self, raw: bytes) -> StgOrderMessage:
        return transform.decode(raw)

    def load(self, conn: psycopg.Connection, records: list[Record[StgOrderMessage]]) -> list[Output]:
        rows = transform.vault_rows([record.value for record in records])
        for table in model.SET_TABLES:
            self._insert_rows(conn, table.name, table.columns, rows.sets[table].values())
        for sat in model.SATELLITES:
            self._insert_satellite(conn, sat, rows.versions[sat])
        return [Output(key, _encode(message)) for key, message in rows.outputs]

    def idle(self, conn: psycopg.Connection) -> list[Output]:
        return []

    def ping(self) -> None:
        pass

    def servers(self) -> dict[str, str]:
        return {}

    def _insert_rows(self, conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows) -> None:
        """COPY into a temp table, then INSERT … ON CONFLICT DO NOTHING: rows already there stay as they are."""
        if not rows:
            return
        temp = pgsql.Identifier(f"tmp_{table}")
        conn.execute(_q("temp_set.sql", temp=temp, table=pgsql.Identifier(table), columns=_names(columns)))
        copy_rows(conn, f"tmp_{table}", columns, rows)
        conn.execute(_q("insert_set.sql", table=pgsql.Identifier(table), columns=_names(columns),
                        key=pgsql.Identifier(columns[0]), temp=temp), {"load_src": self.load_src})

    def _insert_satellite(self, conn: psycopg.Connection, sat: model.Satellite,
                          seen: dict[HashKey, list[transform.Version]]) -> None:
        if not seen:
            return
        keys = sorted(seen)
        params = {"sat": sat.name, "keys": uuid_array(keys)}
        if sat.one_partition:
            found = conn.execute(sql("streamvault.dds", "read_watermarks.sql"), params)
        else:
            conn.execute(sql("streamvault.dds", "claim_watermarks.sql"), params)
            found = conn.execute(sql("streamvault.dds", "lock_watermarks.sql"), params)
        watermarks = {hk: (None if t == transform.NEVER else (t, sent)) for hk, t, sent in found}
        # A satellite without a sent time reads NEVER in its place: every version is a Moment.
        sent_column = pgsql.Identifier("sent_dttm") if sat.sent_ordered else pgsql.Literal(transform.NEVER)
        history: dict[HashKey, list[transform.Version]] = defaultdict(list)
        for key, effective, sent_dttm, hashdiff, *attributes in conn.execute(
                _q("satellite_history.sql", table=pgsql.Identifier(sat.name), key=pgsql.Identifier(sat.key),
                   sent=sent_column, hashdiff=pgsql.Identifier(sat.hashdiff), attributes=_names(sat.attributes)),
                params):
            history[key].append(transform.Version((effective, sent_dttm), hashdiff, tuple(attributes)))

        versioned_by = len(sat.version_columns)
        inserts, moved_keys, moved_times, moved_sent = [], [], [], []
        for key in keys:
            added, watermark = transform.new_satellite_rows(history[key], watermarks.get(key), seen[key])
            inserts += [(key, *row.attributes, *row.effective[:versioned_by], row.hashdiff) for row in added]
            if watermark is not None:
                moved_keys.append(key)
                moved_times.append(watermark[0])
                moved_sent.append(watermark[1])
        self._insert_rows(conn, sat.name, (sat.key, *sat.attributes, *sat.version_columns, sat.hashdiff), inserts)
        if moved_keys:
            conn.execute(sql("streamvault.dds", "update_watermarks.sql"),
                         {"sat": sat.name, "keys": uuid_array(moved_keys), "times": moved_times,
                          "sent": moved_sent})
