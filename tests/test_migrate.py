"""`streamvault migrate` creates every docs/spec.md §2 table once; re-running changes nothing; a database it cannot
migrate gets one line saying what to do, exit code 2."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg import sql

from streamvault.testing.support import cli, pg_connect

SPEC_TABLES = {
    "stg": {"order_events"},
    "dds": {"h_user", "h_product", "h_category", "h_restaurant", "h_order",
            "l_order_product", "l_product_restaurant", "l_product_category", "l_order_user",
            "s_user_names", "s_product_names", "s_restaurant_names", "s_order_cost", "s_order_status"},
    "cdm": {"user_product_counters", "user_category_counters"},
}


def _schema_snapshot(conn) -> list[tuple]:
    return conn.execute("""
        SELECT table_schema, table_name, column_name, data_type, is_nullable
        FROM information_schema.columns
        WHERE table_schema IN ('stg', 'dds', 'cdm', 'streamvault')
        ORDER BY 1, 2, 3""").fetchall()


def test_migrate_twice_creates_the_spec_tables_then_is_a_no_op(empty_database):
    first = cli("migrate")
    assert first.returncode == 0, first.stderr
    assert "applied 0001_stg" in first.stdout
    with pg_connect() as conn:
        before = _schema_snapshot(conn)
        versions_before = conn.execute("SELECT version, applied_at FROM streamvault.schema_migrations").fetchall()

    second = cli("migrate")
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "schema is up to date"
    with pg_connect() as conn:
        assert _schema_snapshot(conn) == before
        assert conn.execute("SELECT version, applied_at FROM streamvault.schema_migrations").fetchall() == versions_before
        for schema, tables in SPEC_TABLES.items():
            found = {row[0] for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])}
            assert tables <= found, f"{schema}: missing {tables - found}"


def test_dv_columns_follow_the_datalens_naming(empty_database):
    assert cli("migrate").returncode == 0
    with pg_connect() as conn:
        columns = {(t, c) for t, c in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'dds'")}
    assert {("h_user", "h_user_pk"), ("l_order_product", "hk_order_product_pk"),
            ("s_user_names", "hk_user_names_hashdiff"), ("s_order_status", "load_src"),
            ("h_order", "order_dt")} <= columns


def test_a_changed_applied_migration_is_refused(empty_database):
    assert cli("migrate").returncode == 0
    with pg_connect(autocommit=True) as conn:
        conn.execute("UPDATE streamvault.schema_migrations SET checksum = 'edited' WHERE version = 1")
    result = cli("migrate")
    assert result.returncode != 0
    assert "0001_stg was changed after it was applied" in result.stderr


def _one_line_exit_2(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


def test_a_database_that_already_has_a_stg_schema_gets_one_line_saying_what_to_do(empty_database):
    """The course database has a `stg` schema of its own: DuplicateSchema was a traceback."""
    with pg_connect(autocommit=True) as conn:
        conn.execute("CREATE SCHEMA stg; CREATE TABLE stg.bonussystem_users (id integer)")
    line = _one_line_exit_2(cli("migrate"))
    assert line == (f'streamvault: migrate: 0001_stg failed: schema "stg" already exists. Database {empty_database} '
                    "has objects streamvault did not create: give streamvault a database of its own "
                    "(PG_WAREHOUSE_DBNAME). Nothing was changed.")
    with pg_connect() as conn:
        assert conn.execute("SELECT to_regclass('streamvault.schema_migrations')").fetchone()[0] is None


@pytest.fixture
def login_without_create(empty_database) -> Iterator[dict[str, str]]:
    """A login that may connect to the database but not create anything in it (PostgreSQL's default)."""
    name, password = f"reader_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with pg_connect(autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
        try:
            yield {"PG_WAREHOUSE_USER": name, "PG_WAREHOUSE_PASSWORD": password}
        finally:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_a_login_without_the_create_privilege_gets_one_line_saying_what_to_do(empty_database, login_without_create):
    line = _one_line_exit_2(cli("migrate", env=login_without_create))
    user = login_without_create["PG_WAREHOUSE_USER"]
    assert line == (f"streamvault: migrate: the bookkeeping schema failed: permission denied for database "
                    f"{empty_database}. The login {user} lacks a privilege the migrations need: run migrate as the "
                    "database's owner (see docs/deploy.md#migrations). Nothing was changed.")
    assert login_without_create["PG_WAREHOUSE_PASSWORD"] not in line
