"""Known rows for the marts, written as the CDM service's login would write them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg

from streamvault.testing.support import pg_connect



@dataclass(frozen=True)
class Dish:
    """A restaurant's menu item: its own product id, though another restaurant's dish may share the name."""

    name: str
    restaurant: str

    @property
    def label(self) -> str:
        """What every chart shows for it (0015 migration)."""
        return f"{self.name} ({self.restaurant})"


# (user, dish or category name, order_cnt) — ids are derived from the names, as hub keys are from keys; a Dish
# gets an id of its own and its restaurant in dds (the link and the restaurant's name).
Counter = tuple[str, "str | Dish", int]
# (order, user, version time, counted) for cdm.srv_order_contributions, behind the KPI tiles.
Order = tuple[str, str, datetime, bool]


def key(kind: str, name: "str | Dish") -> uuid.UUID:
    if isinstance(name, Dish):
        name = f"{name.restaurant}/{name.name}"
    return uuid.uuid5(uuid.NAMESPACE_URL, f"streamvault-test/{kind}/{name}")


def _name(dish: "str | Dish") -> str:
    return dish.name if isinstance(dish, Dish) else dish


class Marts:
    """Writes known rows into the marts as the loaders' login would, replacing whatever was there."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def replace(self, products: Iterable[Counter] = (), categories: Iterable[Counter] = (),
                orders: Iterable[Order] = (), data_as_of: datetime | None = None) -> None:
        """`data_as_of`: the newest source publish time the CDM service has committed (none: no row)."""
        products, categories, orders = list(products), list(categories), list(orders)
        for attempt in range(5):
            try:
                with pg_connect(self.env) as conn:
                    conn.execute("TRUNCATE cdm.user_product_counters, cdm.user_category_counters, "
                                 "cdm.srv_order_contributions, cdm.srv_freshness, dds.l_product_restaurant, "
                                 "dds.s_restaurant_names")
                    self._insert(conn, products, categories, orders)
                    if data_as_of is not None:
                        conn.execute("INSERT INTO cdm.srv_freshness (instance, source_published_at, committed_at) "
                                     "VALUES ('cdm-0', %s, now())", (data_as_of,))
                return
            except psycopg.errors.DeadlockDetected:
                # A dashboard query held one table and waited for another the TRUNCATE had locked; PostgreSQL
                # chose to cancel the TRUNCATE. Its transaction was rolled back whole: do it again.
                if attempt == 4:
                    raise

    def add(self, products: Iterable[Counter] = (), categories: Iterable[Counter] = ()) -> None:
        with pg_connect(self.env) as conn:
            self._insert(conn, products, categories, ())

    @staticmethod
    def _insert(conn: psycopg.Connection, products: Iterable[Counter], categories: Iterable[Counter],
                orders: Iterable[Order]) -> None:
        products = list(products)
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO cdm.user_product_counters (user_id, product_id, product_name, order_cnt) "
                "VALUES (%s, %s, %s, %s)",
                [(key("user", user), key("product", dish), _name(dish), count) for user, dish, count in products])
            dishes = {dish for _, dish, _ in products if isinstance(dish, Dish)}
            cur.executemany(
                "INSERT INTO dds.l_product_restaurant (hk_product_restaurant_pk, h_product_pk, h_restaurant_pk, "
                "load_dt, load_src) VALUES (%s, %s, %s, now(), 'test') ON CONFLICT DO NOTHING",
                [(key("link", dish), key("product", dish), key("restaurant", dish.restaurant)) for dish in dishes])
            cur.executemany(
                "INSERT INTO dds.s_restaurant_names (h_restaurant_pk, name, effective_dt, load_dt, load_src, "
                "hk_restaurant_names_hashdiff) VALUES (%s, %s, '2025-11-01', now(), 'test', %s) ON CONFLICT DO NOTHING",
                [(key("restaurant", name), name, key("restaurant-name", name))
                 for name in {dish.restaurant for dish in dishes}])
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

# Three restaurants' dishes named «Борщ»: a chart grouping by name would draw one bar of 3 users and 6 orders,
# where the three dishes have 2, 2 and 1 users and 3, 2 and 1 orders.
TEREMOK, PUSHKIN, KORCHMA = Dish("Борщ", "Теремок"), Dish("Борщ", "Пушкин"), Dish("Борщ", "Корчма")
TWIN_DISHES: list[Counter] = [
    ("anna", TEREMOK, 2), ("boris", TEREMOK, 1),
    ("anna", PUSHKIN, 1), ("vera", PUSHKIN, 1),
    ("vera", KORCHMA, 1),
    ("anna", Dish("Медовик", "Теремок"), 1), ("gleb", Dish("Медовик", "Теремок"), 3),
]


# docs/spec.md §2.4 over the marts themselves, per dish (product id) and per category: what every chart must show.
SPEC_CHARTS = {
    "dishes-by-users": "SELECT product_id, count(DISTINCT user_id) FROM cdm.user_product_counters GROUP BY 1",
    "dishes-by-orders": "SELECT product_id, sum(order_cnt) FROM cdm.user_product_counters GROUP BY 1",
    "categories-by-users": "SELECT category_name, count(DISTINCT user_id) FROM cdm.user_category_counters GROUP BY 1",
    "categories-by-orders": "SELECT category_name, sum(order_cnt) FROM cdm.user_category_counters GROUP BY 1",
}


def spec_chart(env: dict[str, str], slug: str, dishes: Iterable[Counter] = TWIN_DISHES) -> dict[str, int]:
    """The chart's values by label, from the marts: a dish's label is its name and restaurant."""
    labels = {key("product", dish): dish.label for _, dish, _ in dishes if isinstance(dish, Dish)}
    with pg_connect(env) as conn:
        rows = conn.execute(SPEC_CHARTS[slug]).fetchall()
    return {labels.get(item, item): value for item, value in rows}
