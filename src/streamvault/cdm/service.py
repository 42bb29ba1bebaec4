"""CDM: the two marts, maintained incrementally from DDS order versions (docs/spec.md §2.3)."""

from __future__ import annotations

import psycopg
from psycopg import sql as pgsql

from streamvault.cdm import transform
from streamvault.cdm.rebuild import MARTS_LOCK
from streamvault.contracts.dds import DdsOrderMessage
from streamvault.db.sqlfiles import copy_rows, sql
from streamvault.runtime.stage import Output, Record

NAME = "cdm-service"


def _q(name: str) -> str:
    return sql("streamvault.cdm", name)


def _names(item: str) -> pgsql.Composed:
    """names.sql for one mart's items ("product" or "category"): the same bookkeeping, other tables."""
    return pgsql.SQL(_q("names.sql")).format(
        names=pgsql.Identifier("cdm", f"srv_{item}_names"), batch=pgsql.Identifier(f"tmp_cdm_{item}_names"),
        renamed=pgsql.Identifier(f"tmp_cdm_{item}_renamed"), counters=pgsql.Identifier("cdm", f"user_{item}_counters"),
        key=pgsql.Identifier(f"{item}_id"), name=pgsql.Identifier(f"{item}_name"))


_PRODUCT_NAMES, _CATEGORY_NAMES = _names("product"), _names("category")


class CdmStage:
    name = NAME
    layer = "cdm"  # the schema it writes

    def decode(self, raw: bytes) -> DdsOrderMessage:
        return transform.decode(raw)

    def load(self, conn: psycopg.Connection, records: list[Record[DdsOrderMessage]]) -> list[Output]:
        messages = [record.value for record in records]
        conn.execute(_q("marts_lock.sql"), {"lock": MARTS_LOCK})
        conn.execute(_q("temp_tables.sql"))
        products, categories = transform.newest_names(messages)
        copy_rows(conn, "tmp_cdm_product_names", ("product_id", "name", "effective_dt"), products)
        copy_rows(conn, "tmp_cdm_category_names", ("category_id", "name", "effective_dt"), categories)
        copy_rows(conn, "tmp_cdm_orders", ("order_id", "user_id", "version_ts", "version_sent", "counted",
                                           "product_ids", "category_ids"),
                  map(transform.order_row, transform.newest_versions(messages)))
        conn.execute(_PRODUCT_NAMES)
        conn.execute(_CATEGORY_NAMES)
        conn.execute(_q("changed_orders.sql"))
        conn.execute(_q("apply_deltas.sql"))
        return []

    def idle(self, conn: psycopg.Connection) -> list[Output]:
        return []

    def ping(self) -> None:
        pass

    def servers(self) -> dict[str, str]:
        return {}
