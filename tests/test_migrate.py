"""`streamvault migrate` creates every SPEC §2 table once; re-running changes nothing."""

from __future__ import annotations

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
