"""The dashboard's JSON API over known marts: each chart is its docs/spec.md §2.4 aggregate, biggest first,
read through the read-only role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql

from marts import CATEGORIES, ORDERS, PRODUCTS, TWIN_DISHES, Dish, key
from streamvault.config import DashboardSettings, PgSettings
from streamvault.dashboard import create_app
from streamvault.testing.support import pg_connect

# docs/spec.md §2.4 over marts.PRODUCTS / marts.CATEGORIES, worked out by hand. Ties: by name.
EXPECTED = {
    "categories-by-users": [("Десерты", 3), ("Супы", 3), ("Горячее", 1), ("Салаты", 1)],
    "categories-by-orders": [("Супы", 5), ("Десерты", 4), ("Горячее", 2), ("Салаты", 1)],
    "dishes-by-users": [("Борщ", 3), ("Медовик", 3), ("Оливье", 1), ("Плов", 1), ("Солянка", 1)],
    "dishes-by-orders": [("Борщ", 4), ("Медовик", 4), ("Плов", 2), ("Оливье", 1), ("Солянка", 1)],
}


def _serve(pg: PgSettings, settings: DashboardSettings | None = None) -> Iterator[Flask]:
    app = create_app(settings or DashboardSettings(), pg)
    try:
        yield app
    finally:
        app.extensions["streamvault.warehouse"].close()


@pytest.fixture
def app(pg_settings) -> Iterator[Flask]:
    yield from _serve(pg_settings)


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def known(marts):
    marts.replace(PRODUCTS, CATEGORIES, ORDERS)
    return marts


def _pairs(body: dict) -> list[tuple[str, int]]:
    return [(item["name"], item["value"]) for item in body["items"]]


@pytest.mark.parametrize("slug", list(EXPECTED))
def test_each_chart_endpoint_returns_its_aggregate_biggest_first(client, known, slug):
    response = client.get(f"/api/charts/{slug}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["chart"] == slug
    assert body["measure"] == slug.split("-by-")[1]
    assert _pairs(body) == EXPECTED[slug]
    assert body["total_items"] == len(EXPECTED[slug])
    kind = "category" if slug.startswith("categories") else "product"
    assert all(item["id"] == str(key(kind, item["name"])) for item in body["items"])


def test_limit_gives_the_top_items_and_still_counts_them_all(client, known):
    body = client.get("/api/charts/dishes-by-orders?limit=2").get_json()
    assert _pairs(body) == EXPECTED["dishes-by-orders"][:2]
    assert body["total_items"] == 5


@pytest.mark.parametrize("path, status", [
    ("/api/charts/dishes-by-orders?limit=0", 400),
    ("/api/charts/dishes-by-orders?limit=ten", 400),
    ("/api/charts/restaurants-by-revenue", 404),
])
def test_bad_requests_get_a_json_error(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.get_json()["error"]


def test_kpis_count_orders_users_dishes_and_give_the_newest_data_time(client, known):
    assert client.get("/api/kpis").get_json() == {
        "orders": 8,  # o9 was cancelled
        "users": 4,
        "dishes": 5,
        "categories": 4,
        "newest_data_at": "2025-11-27T10:15:00Z",
        "data_as_of": None,  # no batch committed by the CDM service
    }


def test_kpis_say_how_fresh_the_marts_are_by_the_newest_source_publish_time_they_include(client, marts):
    """"Data as of" is when the source published the newest order in the marts (docs/performance.md),
    in UTC to the millisecond: the page works out from it how far behind now the marts are."""
    marts.replace(PRODUCTS, CATEGORIES, ORDERS,
                  data_as_of=datetime(2026, 12, 1, 16, 0, 0, 250000, tzinfo=timezone(timedelta(hours=3))))
    assert client.get("/api/kpis").get_json()["data_as_of"] == "2026-12-01T13:00:00.250Z"


def test_empty_marts_give_empty_charts_and_zero_kpis(client, marts):
    marts.replace()
    for slug in EXPECTED:
        assert client.get(f"/api/charts/{slug}").get_json() == {
            "chart": slug, "measure": slug.split("-by-")[1], "items": [], "total_items": 0}
    assert client.get("/api/kpis").get_json() == {
        "orders": 0, "users": 0, "dishes": 0, "categories": 0, "newest_data_at": None, "data_as_of": None}


def test_a_poll_with_the_current_etag_gets_304_until_the_marts_change(client, known):
    first = client.get("/api/charts/dishes-by-users")
    etag = first.headers["ETag"]
    assert client.get("/api/charts/dishes-by-users", headers={"If-None-Match": etag}).status_code == 304

    known.add(products=[("gleb", "Борщ", 1)])
    changed = client.get("/api/charts/dishes-by-users", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert _pairs(changed.get_json())[0] == ("Борщ", 4)


def test_the_dashboard_reads_as_a_read_only_role_that_sees_only_the_marts(app, known):
    pool = app.extensions["streamvault.warehouse"].pool
    with pool.connection() as conn:
        assert conn.execute("SELECT current_user").fetchone()["current_user"] == "streamvault_dashboard"
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM dds.h_user")
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("DELETE FROM cdm.user_product_counters")
        conn.execute("SET default_transaction_read_only = off")  # even so, the role may not write
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM cdm.user_product_counters")
    with pg_connect(known.env) as conn:
        assert conn.execute("SELECT count(*) FROM cdm.user_product_counters").fetchone()[0] == len(PRODUCTS)


@pytest.fixture
def dashboard_login(warehouse_env) -> Iterator[tuple[str, str]]:
    """A LOGIN role in streamvault_dashboard, as an operator creates one for production."""
    name, password = f"dash_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with pg_connect(warehouse_env, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE streamvault_dashboard").format(
            sql.Identifier(name), sql.Literal(password)))
        yield name, password
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_a_dedicated_login_in_the_role_serves_the_dashboard(pg_settings, known, dashboard_login):
    user, password = dashboard_login
    for app in _serve(pg_settings, DashboardSettings(pg_user=user, pg_password=password)):
        client = app.test_client()
        assert _pairs(client.get("/api/charts/categories-by-orders").get_json()) == EXPECTED["categories-by-orders"]
        with app.extensions["streamvault.warehouse"].pool.connection() as conn:
            assert conn.execute("SELECT session_user, current_user").fetchone() == {
                "session_user": user, "current_user": "streamvault_dashboard"}


@pytest.mark.parametrize("query, lang, titles", [
    ("", "ru", ["Популярность категорий блюд по доле пользователей", "Популярность категорий блюд по доле заказов",
                "Популярность блюд по количеству уникальных пользователей", "Популярность блюд по количеству заказов"]),
    ("?lang=en", "en", ["Dish categories by share of users", "Dish categories by share of orders",
                        "Dishes by number of unique users", "Dishes by number of orders"]),
])
def test_the_page_titles_the_four_charts_in_the_asked_language(client, query, lang, titles):
    page = client.get(f"/{query}").get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    positions = [page.index(f"<h2>{title}</h2>") for title in titles]
    assert positions == sorted(positions)


def test_a_database_without_the_views_answers_503_naming_the_fix(warehouse_env, empty_database):
    unmigrated = PgSettings(host=warehouse_env["PG_WAREHOUSE_HOST"], port=warehouse_env["PG_WAREHOUSE_PORT"],
                            dbname=empty_database, user=warehouse_env["PG_WAREHOUSE_USER"],
                            password=warehouse_env["PG_WAREHOUSE_PASSWORD"], sslmode="disable")
    for app in _serve(unmigrated):
        response = app.test_client().get("/api/kpis")
        assert response.status_code == 503
        assert "streamvault migrate" in response.get_json()["error"]


@pytest.mark.parametrize("slug, expected", [
    ("dishes-by-users", [("Борщ (Пушкин)", 2), ("Борщ (Теремок)", 2), ("Медовик (Теремок)", 2), ("Борщ (Корчма)", 1)]),
    ("dishes-by-orders", [("Медовик (Теремок)", 4), ("Борщ (Теремок)", 3), ("Борщ (Пушкин)", 2), ("Борщ (Корчма)", 1)]),
])
def test_dishes_of_the_same_name_in_different_restaurants_are_separate_labelled_items(client, marts, slug, expected):
    """A dish is a restaurant's menu item: summing over a shared name would over-count (3 users, 6 orders)."""
    marts.replace(products=TWIN_DISHES)
    items = client.get(f"/api/charts/{slug}").get_json()["items"]
    assert [(item["label"], item["value"]) for item in items] == expected
    assert {item["name"] for item in items} == {"Борщ", "Медовик"}
    assert all(item["id"] == str(key("product", Dish(*item["label"].rstrip(")").split(" (")))) for item in items)


def test_dishes_sharing_name_and_restaurant_are_told_apart_by_their_key(client, marts):
    """Two menu items of one restaurant may share a name too: the label adds the key's first characters."""
    marts.replace(products=[("anna", Dish("Борщ", "Теремок"), 1)])
    with pg_connect(marts.env) as conn:  # a second menu item of the same restaurant, under the same name
        conn.execute("INSERT INTO cdm.user_product_counters (user_id, product_id, product_name, order_cnt) "
                     "VALUES (%s, %s, 'Борщ', 2)", [key("user", "boris"), key("product", "twin")])
        conn.execute("INSERT INTO dds.l_product_restaurant VALUES (%s, %s, %s, now(), 'test')",
                     [key("link", "twin"), key("product", "twin"), key("restaurant", "Теремок")])
    items = client.get("/api/charts/dishes-by-orders").get_json()["items"]
    assert [item["label"] for item in items] == [f"Борщ (Теремок) #{key('product', 'twin').hex[:8]}",
                                                 f"Борщ (Теремок) #{key('product', Dish('Борщ', 'Теремок')).hex[:8]}"]
