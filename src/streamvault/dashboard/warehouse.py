"""Read-only access to the marts: a small connection pool whose every connection is confined to the
`streamvault_dashboard` role (0005 migration) and to read-only transactions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from streamvault.config import DashboardSettings, PgSettings
from streamvault.dashboard.charts import Chart
from streamvault.db.sqlfiles import sql

ROLE = "streamvault_dashboard"

# Server-side guards on every session: nothing this process runs can write, or run away.
_SESSION_OPTIONS = "-c default_transaction_read_only=on -c statement_timeout=5000"


def _conninfo(pg: PgSettings, settings: DashboardSettings) -> str:
    """The warehouse's address and TLS settings, with the dashboard's own login when one is configured."""
    login = {"user": settings.pg_user, "password": settings.pg_password or ""} if settings.pg_user else {}
    return make_conninfo(pg.conninfo(), application_name="streamvault-dashboard", options=_SESSION_OPTIONS,
                         connect_timeout=5, **login)


class Warehouse:
    """The queries the dashboard runs, each in its own read-only transaction."""

    def __init__(self, pg: PgSettings, settings: DashboardSettings):
        # Why no connection can be made, when the pool's callers would only see a timeout.
        self.login_problem: str | None = None
        self.pool = ConnectionPool(_conninfo(pg, settings), min_size=1, max_size=4, timeout=5,
                                   kwargs={"autocommit": True, "row_factory": dict_row},
                                   configure=self._confine, check=ConnectionPool.check_connection,
                                   name="dashboard", open=True)

    def _confine(self, conn: psycopg.Connection) -> None:
        try:
            conn.execute(f"SET ROLE {ROLE}")
        except psycopg.errors.InsufficientPrivilege:
            user = conn.info.user
            self.login_problem = (f"the login {user} may not SET ROLE {ROLE}: GRANT {ROLE} TO {user} "
                                  "(see docs/dashboard.md)")
            raise
        self.login_problem = None

    def check(self) -> None:
        """Raises what a chart query would meet (for readiness): no connection, no role, no views."""
        with self.pool.connection() as conn:
            conn.execute(sql(__package__, "ready.sql"))

    def chart(self, chart: Chart, limit: int | None) -> tuple[list[dict[str, Any]], int]:
        """The chart's items, biggest first (at most `limit`), and how many there are in all."""
        with self.pool.connection() as conn:
            rows = conn.execute(sql(__package__, chart.query_file), {"limit": limit}).fetchall()
        total = rows[0]["total"] if rows else 0
        return [{"id": row["id"], "name": row["name"], "label": row["label"], "value": row["value"]} for row in rows], total

    def kpis(self) -> dict[str, Any]:
        with self.pool.connection() as conn:
            row = conn.execute(sql(__package__, "kpis.sql")).fetchone()
        newest: datetime | None = row.pop("newest_order_ts")
        as_of: datetime | None = row.pop("data_as_of")
        return {**row, "newest_data_at": newest.isoformat() + "Z" if newest else None,
                "data_as_of": as_of.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z" if as_of else None}

    def close(self) -> None:
        self.pool.close()
