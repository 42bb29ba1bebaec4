"""CDM: the two marts, maintained incrementally from DDS order versions (docs/spec.md §2.3)."""

from __future__ import annotations

import psycopg
from psycopg import sql as pgsql

from streamvault.cdm import transform
from streamvault.cdm.rebuild import MARTS_LOCK
from streamvault.contracts.dds import DdsOrderMessage
from streamvault.db.arrays import array_params, unnest
from streamvault.db.sqlfiles import sql, statements
from streamvault.runtime.stage import Output, Record

NAME = "cdm-service"


def _q(name: str) -> str:
    return sql("streamvault.cdm", name)


def _statements(file: str, **identifiers: pgsql.Composable) -> list[pgsql.Composed | str]:
    """A file's statements, with identifiers composed in where it has any (a plain file may hold `{}`)."""
    found = statements("streamvault.cdm", file)
    return [pgsql.SQL(statement).format(**identifiers) for statement in found] if identifiers else list(found)


def _names(item: str) -> list[pgsql.Composed]:
    """names.sql for one mart's items ("product" or "category"): the same bookkeeping, other tables."""
    return _statements("names.sql", names=pgsql.Identifier("cdm", f"srv_{item}_names"),
                       batch=pgsql.Identifier(f"tmp_cdm_{item}_names"),
                       renamed=pgsql.Identifier(f"tmp_cdm_{item}_renamed"),
                       counters=pgsql.Identifier("cdm", f"user_{item}_counters"), key=pgsql.Identifier(f"{item}_id"),
                       name=pgsql.Identifier(f"{item}_name"))


# The batch's rows: (id, name, effective time) per dish and per category; per order its newest version.
_NAME_TYPES = ("uuid", "text", "timestamp")
_ORDER_TYPES = ("uuid", "uuid", "timestamp", "timestamp", "boolean", "text", "text")
_FILL = _statements("fill_batch.sql", product_names=unnest(_NAME_TYPES), category_names=unnest(_NAME_TYPES),
                    orders=unnest(_ORDER_TYPES))
# After the batch is in its temp tables: no parameters, no results.
_APPLY = (*_names("product"), *_names("category"), *_statements("changed_orders.sql"),
          *_statements("apply_deltas.sql"))


class CdmStage:
    name = NAME
    layer = "cdm"  # the schema it writes

    def decode(self, raw: bytes) -> DdsOrderMessage:
        return transform.decode(raw)

    def load(self, conn: psycopg.Connection, records: list[Record[DdsOrderMessage]]) -> list[Output]:
        """One round trip (psycopg pipeline): nothing it sends needs an answer before the next."""
        messages = [record.value for record in records]
        products, categories = transform.newest_names(messages)
        orders = list(map(transform.order_row, transform.newest_versions(messages)))
        with conn.pipeline():
            conn.execute(_q("marts_lock.sql"), {"lock": MARTS_LOCK})
            for statement in statements("streamvault.cdm", "temp_tables.sql"):
                conn.execute(statement)
            for statement, types, rows in zip(_FILL, (_NAME_TYPES, _NAME_TYPES, _ORDER_TYPES),
                                              (products, categories, orders), strict=True):
                if rows:
                    conn.execute(statement, array_params(types, rows))
            for statement in _APPLY:
                conn.execute(statement)
        return []

    def idle(self, conn: psycopg.Connection) -> list[Output]:
        return []

    def ping(self) -> None:
        pass

    def servers(self) -> dict[str, str]:
        return {}
