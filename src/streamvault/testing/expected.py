"""What the warehouse must hold after a timeline, computed in plain Python straight from its bytes.

Independent of the services' code: only the documented hash-key function is shared (keys are a contract).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from streamvault.generator.model import RedisWrite
from streamvault.hashing import HashKey, hash_key


@dataclass
class Expected:
    product_counters: dict[tuple[HashKey, HashKey], tuple[str, int]] = field(default_factory=dict)
    category_counters: dict[tuple[HashKey, HashKey], tuple[str, int]] = field(default_factory=dict)
    dlq: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    stg_objects: dict[tuple[str, int], str | None] = field(default_factory=dict)  # -> newest update_ts
    orders: set[int] = field(default_factory=set)          # reach DDS
    users: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    restaurants: set[str] = field(default_factory=set)
    order_products: set[tuple[int, str]] = field(default_factory=set)
    current_status: dict[int, str] = field(default_factory=dict)
    current_cost: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    product_names: dict[str, str] = field(default_factory=dict)
    # Names at each product's newest effective time: orders placed at that time may carry either.
    product_name_options: dict[str, set[str]] = field(default_factory=dict)
    order_count: int = 0                                     # valid order versions delivered
    parked: int = 0                                          # versions whose reference data never appears


REFERENCES = [  # (table, column, hub): every Data Vault reference
    ("l_order_product", "h_order_pk", "h_order"), ("l_order_product", "h_product_pk", "h_product"),
    ("l_product_restaurant", "h_product_pk", "h_product"), ("l_product_restaurant", "h_restaurant_pk", "h_restaurant"),
    ("l_product_category", "h_product_pk", "h_product"), ("l_product_category", "h_category_pk", "h_category"),
    ("l_order_user", "h_order_pk", "h_order"), ("l_order_user", "h_user_pk", "h_user"),
    ("s_user_names", "h_user_pk", "h_user"), ("s_product_names", "h_product_pk", "h_product"),
    ("s_restaurant_names", "h_restaurant_pk", "h_restaurant"), ("s_order_cost", "h_order_pk", "h_order"),
    ("s_order_status", "h_order_pk", "h_order"),
]


def version(message: dict) -> tuple[str, str]:
    return (message["payload"]["update_ts"], message["sent_dttm"])


def compute(events) -> Expected:
    expected = Expected()
    redis: dict[str, dict] = {}
    versions: dict[int, list[dict]] = defaultdict(list)
    for event in events:
        if isinstance(event, RedisWrite):
            redis[event.key] = json.loads(event.value)
            continue
        if event.kind.startswith("malformed:"):
            expected.dlq.append((event.key, event.value))
            continue
        message = json.loads(event.value)
        identity = (message["object_type"], message["object_id"])
        if message["object_type"] != "order":
            expected.stg_objects.setdefault(identity, None)
            continue
        expected.order_count += 1
        versions[message["object_id"]].append(message)
        seen = expected.stg_objects.get(identity)
        expected.stg_objects[identity] = max(seen or "", message["payload"]["update_ts"])

    def reaches_dds(message: dict) -> bool:
        payload = message["payload"]
        restaurant = redis.get(payload["restaurant"]["id"])
        if payload["user"]["id"] not in redis or restaurant is None:
            return False
        menu = {item["_id"] for item in restaurant["menu"]}
        return all(item["id"] in menu for item in payload["order_items"])

    names: dict[str, tuple[str, str]] = {}
    product_counts: dict[tuple[str, str], int] = defaultdict(int)
    category_counts: dict[tuple[str, str], int] = defaultdict(int)
    for order_id, order_versions in versions.items():
        forwarded = [m for m in order_versions if reaches_dds(m)]
        expected.parked += len({version(m) for m in order_versions if not reaches_dds(m)})
        if not forwarded:
            continue
        newest = max(forwarded, key=version)
        payload = newest["payload"]
        user, restaurant = payload["user"]["id"], redis[payload["restaurant"]["id"]]
        category_of = {item["_id"]: item["category"] for item in restaurant["menu"]}
        expected.orders.add(order_id)
        expected.users.add(user)
        expected.restaurants.add(payload["restaurant"]["id"])
        expected.current_status[order_id] = payload["final_status"]
        expected.current_cost[order_id] = (Decimal(str(payload["cost"])), Decimal(str(payload["payment"])))
        for message in forwarded:
            for item in message["payload"]["order_items"]:
                expected.products.add(item["id"])
                expected.categories.add(category_of[item["id"]])
                expected.order_products.add((order_id, item["id"]))
                # docs/spec.md §2.3: a dish name carried in an order item holds from that order's `date` (when it
                # was sold under that name), so a new version of an old order never brings back an old name.
                candidate = (message["payload"]["date"], item["name"])
                names[item["id"]] = max(names.get(item["id"], candidate), candidate)
                options = expected.product_name_options.setdefault(item["id"], set())
                options.add(candidate)
        if payload["final_status"] == "CLOSED":
            for product in {item["id"] for item in payload["order_items"]}:
                product_counts[(user, product)] += 1
            for category in {category_of[item["id"]] for item in payload["order_items"]}:
                category_counts[(user, category)] += 1

    expected.product_names = {product: name for product, (_, name) in names.items()}
    expected.product_name_options = {
        product: {name for ts, name in options if ts == names[product][0]}
        for product, options in expected.product_name_options.items()}
    expected.product_counters = {
        (hash_key("user", user), hash_key("product", product)): (expected.product_names[product], count)
        for (user, product), count in product_counts.items()}
    expected.category_counters = {
        (hash_key("user", user), hash_key("category", category)): (category, count)
        for (user, category), count in category_counts.items()}
    return expected


def actual_marts(conn) -> tuple[dict, dict]:
    products = {(u, p): (name, count) for u, p, name, count in conn.execute(
        "SELECT user_id::text, product_id::text, product_name, order_cnt FROM cdm.user_product_counters")}
    categories = {(u, c): (name, count) for u, c, name, count in conn.execute(
        "SELECT user_id::text, category_id::text, category_name, order_cnt FROM cdm.user_category_counters")}
    return products, categories


def describe_difference(actual: dict, wanted: dict, examples: int = 5) -> str:
    missing = [k for k in wanted if k not in actual]
    extra = [k for k in actual if k not in wanted]
    different = [k for k in wanted if k in actual and actual[k] != wanted[k]]
    return (f"{len(missing)} missing, {len(extra)} extra, {len(different)} different; e.g. "
            f"missing {[(k, wanted[k]) for k in missing[:examples]]}, extra {[(k, actual[k]) for k in extra[:examples]]}, "
            f"different {[(k, actual[k], wanted[k]) for k in different[:examples]]}")


def assert_warehouse_matches(conn, expected: Expected) -> None:
    """Marts exactly; DDS sets exactly and each satellite's current row; stg one row per object."""
    products, categories = actual_marts(conn)
    assert products == expected.product_counters, describe_difference(products, expected.product_counters)
    assert categories == expected.category_counters, describe_difference(categories, expected.category_counters)

    def column(query: str) -> set:
        return {row[0] if len(row) == 1 else tuple(row) for row in conn.execute(query)}

    assert column("SELECT order_id FROM dds.h_order") == expected.orders
    assert column("SELECT user_id FROM dds.h_user") == expected.users
    assert column("SELECT product_id FROM dds.h_product") == expected.products
    assert column("SELECT category_name FROM dds.h_category") == expected.categories
    assert column("SELECT restaurant_id FROM dds.h_restaurant") == expected.restaurants
    assert column("""SELECT o.order_id, p.product_id FROM dds.l_order_product l
                     JOIN dds.h_order o USING (h_order_pk) JOIN dds.h_product p USING (h_product_pk)""") \
        == expected.order_products
    assert dict(conn.execute("""
        SELECT DISTINCT ON (o.order_id) o.order_id, s.status FROM dds.s_order_status s JOIN dds.h_order o USING (h_order_pk)
        ORDER BY o.order_id, s.effective_dt DESC, s.sent_dttm DESC""").fetchall()) == expected.current_status
    assert {k: (c, p) for k, c, p in conn.execute("""
        SELECT DISTINCT ON (o.order_id) o.order_id, s.cost, s.payment FROM dds.s_order_cost s JOIN dds.h_order o USING (h_order_pk)
        ORDER BY o.order_id, s.effective_dt DESC, s.sent_dttm DESC""")} == expected.current_cost
    current_names = dict(conn.execute("""
        SELECT DISTINCT ON (p.product_id) p.product_id, s.name FROM dds.s_product_names s JOIN dds.h_product p USING (h_product_pk)
        ORDER BY p.product_id, s.effective_dt DESC""").fetchall())
    assert current_names.keys() == expected.product_name_options.keys()
    assert all(name in expected.product_name_options[p] for p, name in current_names.items())
    assert conn.execute("SELECT count(*) FROM dds.l_order_user").fetchone()[0] == len(expected.orders)

    # References are not enforced by foreign keys (migration 0006): the loader's order must keep them whole.
    for table, column, hub in REFERENCES:
        orphans = conn.execute(f"SELECT count(*) FROM dds.{table} t LEFT JOIN dds.{hub} h USING ({column}) "
                               f"WHERE h.{column} IS NULL").fetchone()[0]
        assert orphans == 0, f"dds.{table}.{column}: {orphans} rows point at no {hub}"

    stored = {(t, i): (u.strftime("%Y-%m-%d %H:%M:%S") if u else None) for t, i, u in conn.execute(
        "SELECT object_type, object_id, update_ts FROM stg.order_events")}
    assert stored == expected.stg_objects
