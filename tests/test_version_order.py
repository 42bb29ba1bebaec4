"""One version order everywhere (docs/spec.md §3): times are UTC instants, then `sent_dttm` breaks a tie; a name
holds from when the source says it held (docs/spec.md §2.3). Hand-written messages on the real services."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec
import pytest

from streamvault import config
from streamvault.cdm import transform as cdm
from streamvault.contracts.dds import DdsProduct
from streamvault.db.migrate import available
from streamvault.generator.model import KafkaMessage, RedisWrite
from streamvault.generator.publish import Publisher
from streamvault.hashing import hash_key
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import pg_connect, wait_for


@pytest.fixture
def pipeline(pipeline: Pipeline) -> Pipeline:
    """conftest's pipeline, with the three services running."""
    pipeline.start_all()
    return pipeline


def new_id() -> str:
    return uuid.uuid4().hex[:24]


def user(user_id: str, name: str, update_ts_utc: str) -> RedisWrite:
    value = {"_id": user_id, "name": name, "login": f"login-{user_id[:6]}", "update_ts_utc": update_ts_utc}
    return RedisWrite(user_id, msgspec.json.encode(value), "reference")


def restaurant(restaurant_id: str, update_ts_utc: str, menu: dict[str, tuple[str, str]]) -> RedisWrite:
    """menu: dish id -> (name, category)."""
    value = {"_id": restaurant_id, "name": "Ресторан", "update_ts_utc": update_ts_utc,
             "menu": [{"_id": dish, "name": name, "price": 100, "category": category}
                      for dish, (name, category) in menu.items()]}
    return RedisWrite(restaurant_id, msgspec.json.encode(value), "reference")


def order(object_id: int, user_id: str, restaurant_id: str, dishes: dict[str, str], status: str, *,
          date: str, update_ts: str, sent_dttm: str) -> KafkaMessage:
    """dishes: dish id -> the name the order carries."""
    value = {"object_id": object_id, "object_type": "order", "sent_dttm": sent_dttm, "payload": {
        "restaurant": {"id": restaurant_id}, "user": {"id": user_id}, "date": date,
        "order_items": [{"id": dish, "name": name, "price": 100, "quantity": 1} for dish, name in dishes.items()],
        "bonus_payment": 0, "cost": 100 * len(dishes), "payment": 100 * len(dishes), "bonus_grant": 0,
        "statuses": [{"status": status, "dttm": update_ts}], "final_status": status, "update_ts": update_ts}}
    return KafkaMessage(str(object_id).encode(), msgspec.json.encode(value), "order")


def publish(pipeline: Pipeline, *events: RedisWrite | KafkaMessage) -> None:
    with Publisher(config.load(config.KafkaSettings), config.load(config.RedisSettings),
                   pipeline.source_topic) as publisher:
        for event in events:
            publisher.send(event)


def stored(pipeline: Pipeline, read, *object_ids: int) -> dict:
    """What `read` finds now, in a new transaction (for polling while the services work)."""
    with pipeline.connect() as conn:
        return read(conn, *object_ids)


def stg_versions(conn, *object_ids: int) -> dict[int, tuple[str, str]]:
    """object_id -> (update_ts, final_status) of the version stg keeps."""
    return {i: (ts.isoformat(" "), status) for i, ts, status in conn.execute(
        "SELECT object_id, update_ts, payload->>'final_status' FROM stg.order_events WHERE object_id = ANY(%s)",
        [list(object_ids)])}


def current_statuses(conn, *object_ids: int) -> dict[int, str]:
    """The current row of dds.s_order_status, read as docs/data-vault.md says."""
    return dict(conn.execute("""
        SELECT DISTINCT ON (o.order_id) o.order_id, s.status
        FROM dds.s_order_status s JOIN dds.h_order o USING (h_order_pk)
        WHERE o.order_id = ANY(%s)
        ORDER BY o.order_id, s.effective_dt DESC, s.sent_dttm DESC""", [list(object_ids)]).fetchall())


def product_counters(conn, user_id: str) -> dict[str, tuple[str, int]]:
    return {p: (name, count) for p, name, count in conn.execute(
        "SELECT product_id::text, product_name, order_cnt FROM cdm.user_product_counters WHERE user_id = %s",
        [hash_key("user", user_id)])}


def test_timestamps_with_an_offset_are_ordered_as_utc_instants_in_every_layer(pipeline):
    """`Z` and `+03:00` are accepted and mean their UTC instant: 12:00+03:00 is 09:00 UTC, older than 10:00.
    The orders after them go through (the pipeline does not stop)."""
    u, r, dish = new_id(), new_id(), new_id()
    base = 9_100_000_000
    publish(pipeline,
            user(u, "Анна", "2024-05-01T08:00:00Z"),
            restaurant(r, "2024-05-01T08:00:00+00:00", {dish: ("Борщ", "Супы")}),
            order(base + 1, u, r, {dish: "Борщ"}, "CLOSED", date="2024-05-02 11:00:00",
                  update_ts="2024-05-02T12:00:00Z", sent_dttm="2024-05-02 12:00:05"),
            order(base + 2, u, r, {dish: "Борщ"}, "CLOSED", date="2024-05-02 08:00:00",
                  update_ts="2024-05-02 10:00:00", sent_dttm="2024-05-02 10:00:05"),
            order(base + 2, u, r, {dish: "Борщ"}, "CANCELLED", date="2024-05-02 08:00:00",
                  update_ts="2024-05-02T12:00:00+03:00", sent_dttm="2024-05-02 10:00:09"),
            order(base + 3, u, r, {dish: "Борщ"}, "CLOSED", date="2024-05-02 12:30:00",
                  update_ts="2024-05-02 13:00:00", sent_dttm="2024-05-02 13:00:05"))
    wait_for(lambda: len(stored(pipeline, stg_versions, base + 1, base + 2, base + 3)) == 3, "stg stores the orders")
    assert stored(pipeline, stg_versions, base + 1, base + 2) == {
        base + 1: ("2024-05-02 12:00:00", "CLOSED"), base + 2: ("2024-05-02 10:00:00", "CLOSED")}
    pipeline.wait_drained()

    with pipeline.connect() as conn:
        assert current_statuses(conn, base + 1, base + 2, base + 3) == {
            base + 1: "CLOSED", base + 2: "CLOSED", base + 3: "CLOSED"}
        cancelled_at = conn.execute("""SELECT s.effective_dt::text FROM dds.s_order_status s JOIN dds.h_order o
                                       USING (h_order_pk) WHERE o.order_id = %s AND s.status = 'CANCELLED'""",
                                    [base + 2]).fetchall()
        assert cancelled_at == [("2024-05-02 09:00:00",)]
        user_since = conn.execute("SELECT effective_dt::text FROM dds.s_user_names WHERE h_user_pk = %s",
                                  [hash_key("user", u)]).fetchall()
        assert user_since == [("2024-05-01 08:00:00",)]
        assert product_counters(conn, u) == {hash_key("product", dish): ("Борщ", 3)}
    assert all(code is None for code in pipeline.exit_codes().values())


def test_of_two_versions_with_one_update_ts_the_later_sent_is_current_in_every_layer(pipeline):
    """update_ts has 1-second resolution, so `sent_dttm` decides: CLOSED sent 12:00:01 and CANCELLED sent
    12:00:05 with one update_ts is CANCELLED in stg, dds and cdm, whichever arrives first, in one batch or two."""
    u, r, dish = new_id(), new_id(), new_id()
    base = 9_200_000_000
    in_order, reversed_order, later = base + 1, base + 2, base + 3

    def version(object_id: int, status: str, sent_dttm: str) -> KafkaMessage:
        return order(object_id, u, r, {dish: "Борщ"}, status, date="2024-05-02 11:00:00",
                     update_ts="2024-05-02 12:00:00", sent_dttm=sent_dttm)

    publish(pipeline, user(u, "Анна", "2024-05-01 08:00:00"),
            restaurant(r, "2024-05-01 08:00:00", {dish: ("Борщ", "Супы")}),
            version(in_order, "CLOSED", "2024-05-02 12:00:01"), version(reversed_order, "CANCELLED", "2024-05-02 12:00:05"))
    pipeline.wait_drained()
    publish(pipeline, version(in_order, "CANCELLED", "2024-05-02 12:00:05"),
            version(reversed_order, "CLOSED", "2024-05-02 12:00:01"),
            order(later, u, r, {dish: "Борщ"}, "CLOSED", date="2024-05-02 13:00:00",
                  update_ts="2024-05-02 13:30:00", sent_dttm="2024-05-02 13:30:01"))
    pipeline.wait_drained()

    with pipeline.connect() as conn:
        assert stg_versions(conn, in_order, reversed_order) == {
            in_order: ("2024-05-02 12:00:00", "CANCELLED"), reversed_order: ("2024-05-02 12:00:00", "CANCELLED")}
        assert current_statuses(conn, in_order, reversed_order, later) == {
            in_order: "CANCELLED", reversed_order: "CANCELLED", later: "CLOSED"}
        assert product_counters(conn, u) == {hash_key("product", dish): ("Борщ", 1)}


def category_counters(conn, user_id: str) -> dict[str, tuple[str, int]]:
    return {c: (name, count) for c, name, count in conn.execute(
        "SELECT category_id::text, category_name, order_cnt FROM cdm.user_category_counters WHERE user_id = %s",
        [hash_key("user", user_id)])}


def test_a_new_version_of_an_old_order_never_brings_back_an_old_dish_name(pipeline):
    """A dish name holds from the date of the order that carries it (docs/spec.md §2.3), not from the version's
    update_ts: cancelling the 10:00 order at 12:00 leaves the name sold at 11:00, in dds and in every
    user's counters."""
    u, other, r, dish = new_id(), new_id(), new_id(), new_id()
    base = 9_300_000_000
    old, new, others = base + 1, base + 2, base + 3

    def placed_at_ten(status: str, update_ts: str) -> KafkaMessage:
        return order(old, u, r, {dish: "Old Name"}, status, date="2024-05-02 10:00:00", update_ts=update_ts,
                     sent_dttm=update_ts)

    publish(pipeline, user(u, "Анна", "2024-05-01 08:00:00"), user(other, "Борис", "2024-05-01 08:00:00"),
            restaurant(r, "2024-05-01 08:00:00", {dish: ("New Name", "Супы")}),
            placed_at_ten("CLOSED", "2024-05-02 10:30:00"),
            order(new, u, r, {dish: "New Name"}, "CLOSED", date="2024-05-02 11:00:00",
                  update_ts="2024-05-02 11:30:00", sent_dttm="2024-05-02 11:30:00"))
    pipeline.wait_drained()
    # Only now the other user's order: from another partition it could reach DDS first, and its name, current
    # then, would hold from 11:10 (a row the 11:00 version arriving after it cannot take back: insert-only).
    publish(pipeline, order(others, other, r, {dish: "New Name"}, "CLOSED", date="2024-05-02 11:10:00",
                            update_ts="2024-05-02 11:40:00", sent_dttm="2024-05-02 11:40:00"),
            placed_at_ten("CANCELLED", "2024-05-02 12:00:00"))
    pipeline.wait_drained()

    with pipeline.connect() as conn:
        assert product_counters(conn, u) == {hash_key("product", dish): ("New Name", 1)}
        assert product_counters(conn, other) == {hash_key("product", dish): ("New Name", 1)}
        current = conn.execute("""SELECT name, effective_dt::text FROM dds.s_product_names WHERE h_product_pk = %s
                                  ORDER BY effective_dt DESC LIMIT 1""", [hash_key("product", dish)]).fetchone()
        assert current == ("New Name", "2024-05-02 11:00:00")


def test_a_category_renamed_only_in_letter_case_shows_its_new_name(pipeline):
    """A category's key ignores letter case, so `Супы` -> `СУПЫ` is one category under a new display name:
    the name of the newest restaurant record (its update_ts_utc), on the rows counted before too."""
    u, r, dish = new_id(), new_id(), new_id()
    base = 9_400_000_000
    publish(pipeline, user(u, "Анна", "2024-05-01 08:00:00"),
            restaurant(r, "2024-05-01 08:00:00", {dish: ("Борщ", "Супы")}),
            order(base + 1, u, r, {dish: "Борщ"}, "CLOSED", date="2024-05-02 10:00:00",
                  update_ts="2024-05-02 10:30:00", sent_dttm="2024-05-02 10:30:00"))
    pipeline.wait_drained()
    # The services once drained slower than STG's cache bound; now they may not: order 2 must see the renamed record.
    pipeline.outlive_reference_cache()
    publish(pipeline, restaurant(r, "2024-05-02 11:00:00", {dish: ("Борщ", "СУПЫ")}),
            order(base + 2, u, r, {dish: "Борщ"}, "CLOSED", date="2024-05-02 12:00:00",
                  update_ts="2024-05-02 12:30:00", sent_dttm="2024-05-02 12:30:00"))
    pipeline.wait_drained()

    with pipeline.connect() as conn:
        assert category_counters(conn, u) == {hash_key("category", "Супы"): ("СУПЫ", 2)}


def test_names_of_a_dds_message_from_before_the_upgrade_yield_to_any_dated_name():
    """A schema 1 message (in flight while CDM is upgraded) carries no name times: it still counts, and
    its names lose to any name that says when it held."""
    product, category = hash_key("product", "d1"), hash_key("category", "Супы")
    schema_1 = msgspec.json.encode({
        "order_id": hash_key("order", 1), "user_id": hash_key("user", "u1"), "status": "CLOSED",
        "update_ts": "2024-05-02 12:00:00", "sent_dttm": "2024-05-02 12:00:01", "schema_version": 1,
        "products": [{"product_id": product, "name": "Old Name", "category_id": category, "category_name": "Супы"}]})
    old = cdm.decode(schema_1)
    dated = msgspec.structs.replace(old, date=datetime(2024, 5, 2, 9), restaurant_update_ts=datetime(2024, 5, 1),
                                    products=[DdsProduct(product, "New Name", category, "СУПЫ")])
    assert cdm.newest_names([dated, old]) == ([(product, "New Name", datetime(2024, 5, 2, 9))],
                                               [(category, "СУПЫ", datetime(2024, 5, 1))])


def test_migration_0009_keeps_what_was_loaded_before_it(empty_database):
    """Order satellite rows loaded before sent_dttm existed sort first at their effective time; a category
    shown under two spellings gets one display name."""
    migrations = {m.version: m for m in available()}
    order_key, category = hash_key("order", 1), hash_key("category", "Супы")
    with pg_connect(autocommit=True) as conn:
        for version in sorted(v for v in migrations if v < 9):
            conn.execute(migrations[version].sql)
        conn.execute("""INSERT INTO dds.s_order_status (h_order_pk, status, effective_dt, load_dt, load_src,
                                                        hk_order_status_hashdiff)
                        VALUES (%s, 'CLOSED', '2024-05-02 12:00:00', now(), 'test', %s)""", [order_key, order_key])
        conn.execute("""INSERT INTO cdm.user_category_counters (user_id, category_id, category_name, order_cnt)
                        VALUES (%s, %s, 'Супы', 1), (%s, %s, 'СУПЫ', 2)""",
                     [hash_key("user", "u1"), category, hash_key("user", "u2"), category])
        conn.execute(migrations[9].sql)

        assert conn.execute("SELECT status, effective_dt::text, sent_dttm::text FROM dds.s_order_status").fetchall() \
            == [("CLOSED", "2024-05-02 12:00:00", "0001-01-01 00:00:00")]
        shown = conn.execute("SELECT DISTINCT category_name FROM cdm.user_category_counters").fetchall()
        assert shown in ([("Супы",)], [("СУПЫ",)])
        assert conn.execute("SELECT name FROM cdm.srv_category_names").fetchall() == shown
