"""The checks, and the order verify runs them in: one REPEATABLE READ snapshot for every comparison; then,
only if some rows were in flight between layers, a second snapshot once the services have passed them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from psycopg import sql as pgsql
from psycopg.types.json import Jsonb

from streamvault.db.sqlfiles import sql
from streamvault.dds import model
from streamvault.verify.report import CheckResult, Report


def _q(name: str) -> str:
    return sql("streamvault.verify", name)


def _counters(item: str, hub: str, hub_key: str, label: str) -> pgsql.Composed:
    """check_counters.sql for one mart: dishes or categories."""
    return pgsql.SQL(_q("check_counters.sql")).format(
        counters=pgsql.Identifier("cdm", f"user_{item}_counters"), key=pgsql.Identifier(f"{item}_id"),
        items=pgsql.Identifier(f"{item}_ids"), hub=pgsql.Identifier("dds", hub),
        hub_pk=pgsql.Identifier(f"{hub}_pk"), hub_key=pgsql.Identifier(hub_key), label=pgsql.Literal(label))


def _references() -> list[tuple[str, str, str]]:
    """(table, column, hub) of every Data Vault reference: a link's hub keys, a satellite's key."""
    links = [(table.name, column, column.removesuffix("_pk")) for table in model.SET_TABLES
             if table.name.startswith("l_") for column in table.columns[1:]]
    return links + [(sat.name, sat.key, sat.key.removesuffix("_pk")) for sat in model.SATELLITES]


def _orphans() -> pgsql.Composed:
    """Every reference of the Data Vault, and every order hub's user link and satellites."""
    references = [pgsql.SQL(_q("check_orphan_reference.sql")).format(
        table=pgsql.Identifier(table), column=pgsql.Identifier(column), hub=pgsql.Identifier(hub),
        table_name=pgsql.Literal(f"dds.{table}"), column_name=pgsql.Literal(column), hub_name=pgsql.Literal(hub))
        for table, column, hub in _references()]
    return pgsql.SQL(" UNION ALL ").join([*references, pgsql.SQL(_q("check_orphan_orders.sql"))])


# Checks that read only the snapshot, and checks that read the in-flight bookkeeping (decided after settling).
SNAPSHOT_CHECKS: dict[str, pgsql.Composable] = {
    "dds.orphans": _orphans(),
    "dds.duplicates": pgsql.SQL(_q("check_duplicates.sql")),
    "cdm.user_product_counters": _counters("product", "h_product", "product_id", "dish"),
    "cdm.user_category_counters": _counters("category", "h_category", "category_name", "category"),
    "cdm.names": pgsql.SQL(_q("check_names.sql")),
}
IN_FLIGHT_CHECKS: dict[str, pgsql.Composable] = {
    "stg_dds.orders": pgsql.SQL(_q("check_stg_dds.sql")),
    "dds.current_rows": pgsql.SQL(_q("check_current_rows.sql")),
    "dds_cdm.contributions": pgsql.SQL(_q("check_contributions.sql")),
}
ORDER = ("stg_dds.orders", "dds.current_rows", "dds.orphans", "dds.duplicates", "dds_cdm.contributions",
         "cdm.user_product_counters", "cdm.user_category_counters", "cdm.names")


def verify(conn: psycopg.Connection, examples: int, settle: Callable[[], bool]) -> Report:
    """Run every check on `conn` (autocommit); `settle` waits until the services have passed what was in
    flight. The result is also stored for `streamvault status`."""
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    results: dict[str, CheckResult] = {}
    with conn.transaction():
        conn.execute(_q("orders.sql"))
        conn.execute(_q("contributions.sql"))
        for name, subject in SNAPSHOT_CHECKS.items():
            results[name] = _check(conn, name, subject, examples)
        in_flight = conn.execute(_q("in_flight.sql")).fetchone()[0]
    if in_flight and settle():
        with conn.transaction():
            conn.execute(_q("settle_orders.sql"))
            conn.execute(_q("settle_contributions.sql"))
    with conn.transaction():
        for name, subject in IN_FLIGHT_CHECKS.items():
            results[name] = _check(conn, name, subject, examples)
    report = Report([results[name] for name in ORDER], datetime.now(UTC))
    with conn.transaction():
        conn.execute(_q("record.sql"), {"finished_at": report.finished_at, "consistent": report.consistent,
                                        "drift": report.drift, "in_flight": report.in_flight,
                                        "report": Jsonb(report.as_dict())})
    return report


def _check(conn: psycopg.Connection, name: str, subject: pgsql.Composable, examples: int) -> CheckResult:
    query = pgsql.SQL(_q("check.sql")).format(subject=subject, examples=pgsql.Literal(examples))
    compared, differing, in_flight, undecided, found = conn.execute(query).fetchone()
    return CheckResult(name, compared, differing, in_flight, undecided, list(found))
