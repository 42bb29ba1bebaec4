"""Known rows for the marts, written as the CDM service's login would write them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import psycopg

from streamvault.testing.support import pg_connect

# (user, dish or category name, order_cnt) — ids are derived from the names, as hub keys are from keys.
Counter = tuple[str, str, int]
# (order, user, version time, counted) for cdm.srv_order_contributions, behind the KPI tiles.
Order = tuple[str, str, datetime, bool]


def key(kind: str, name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"streamvault-test/{kind}/{name}")


class Marts:
    """Writes known rows into the marts as the loaders' login would, replacing whatever was there."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def replace(self, products: Iterable[Counter] = (), categories: Iterable[Counter] = (),
                orders: Iterable[Order] = (), data_as_of: datetime | None = None) -> None:
        """`data_as_of`: the newest source publish time the CDM service has committed (none: no row)."""
        with pg_connect(self.env) as conn:
            conn.execute("TRUNCATE cdm.user_product_counters, cdm.user_category_counters, "
                         "cdm.srv_order_contributions, cdm.srv_freshness")
            self._insert(conn, products, categories, orders)
            if data_as_of is not None:
                conn.execute("INSERT INTO cdm.srv_freshness (instance, source_published_at, committed_at) "
                             "VALUES ('cdm-0', %s, now())", (data_as_of,))

    def add(self, products: Iterable[Counter] = (), categories: Iterable[Counter] = ()) -> None:
        with pg_connect(self.env) as conn:
            self._insert(conn, products, categories, ())

    @staticmethod
    def _insert(conn: psycopg.Connection, products: Iterable[Counter], categories: Iterable[Counter],
                orders: Iterable[Order]) -> None:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO cdm.user_product_counters (user_id, product_id, product_name, order_cnt) "
                "VALUES (%s, %s, %s, %s)",
                [(key("user", user), key("product", name), name, count) for user, name, count in products])
            cur.executemany(
                "INSERT INTO cdm.user_category_counters (user_id, category_id, category_name, order_cnt) "
                "VALUES (%s, %s, %s, %s)",
                [(key("user", user), key("category", name), name, count) for user, name, count in categories])
            cur.executemany(
                "INSERT INTO cdm.srv_order_contributions (order_id, user_id, version_ts, counted) "
                "VALUES (%s, %s, %s, %s)",
                [(key("order", order), key("user", user), ts, counted) for order, user, ts, counted in orders])


# A small known warehouse: four users, five dishes in four categories.
PRODUCTS: list[Counter] = [
    ("anna", "Борщ", 2), ("anna", "Солянка", 1), ("anna", "Оливье", 1), ("anna", "Медовик", 1),
    ("boris", "Борщ", 1), ("boris", "Плов", 2),
    ("vera", "Борщ", 1), ("vera", "Медовик", 2),
    ("gleb", "Медовик", 1),
]
CATEGORIES: list[Counter] = [
    ("anna", "Супы", 3), ("anna", "Салаты", 1), ("anna", "Десерты", 1),
    ("boris", "Супы", 1), ("boris", "Горячее", 2),
    ("vera", "Супы", 1), ("vera", "Десерты", 2),
    ("gleb", "Десерты", 1),
]
ORDERS: list[Order] = [
    ("o1", "anna", datetime(2025, 11, 27, 9, 0), True), ("o2", "anna", datetime(2025, 11, 27, 9, 5), True),
    ("o3", "anna", datetime(2025, 11, 27, 9, 30), True), ("o4", "boris", datetime(2025, 11, 27, 9, 40), True),
    ("o5", "boris", datetime(2025, 11, 27, 9, 45), True), ("o6", "vera", datetime(2025, 11, 27, 9, 50), True),
    ("o7", "vera", datetime(2025, 11, 27, 9, 55), True), ("o8", "gleb", datetime(2025, 11, 27, 10, 0), True),
    ("o9", "gleb", datetime(2025, 11, 27, 10, 15), False),  # cancelled: the newest data, but not counted
]
