"""The services' PostgreSQL sessions: named after their service, and bounded in time.

Without timeouts a server that stops answering is invisible: a connect, or a statement on a dead
connection, waits for ever. A frozen backend still answers TCP keepalives from its kernel, so the
loop's readiness also watches how long a batch runs (STREAMVAULT_STUCK_BATCH_SECONDS).

Every statement is planned for its own batch: nothing is prepared. psycopg prepares a statement run five
times, and the server may then keep one generic plan for it. Chosen while a fresh deployment's tables
were small, such a plan scans a table that has since grown, for every batch, until the next ANALYZE;
and a batch's arrays vary from one key to thousands. `plan_cache_mode = force_custom_plan` was not
enough: the server keeps the generic plan of a statement without parameters whatever that setting says
(CDM's statements read only the batch's temp tables). Parsing and planning cost a fraction of a
millisecond; unprepared statements also pass through a transaction-mode connection pooler.
"""

from __future__ import annotations

from psycopg import Connection
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from streamvault.config import PgSettings
from streamvault.runtime.settings import RuntimeSettings

_KEEPALIVE_INTERVAL_S = 10
_KEEPALIVE_PROBES = 3


def connection_pool(pg: PgSettings, runtime: RuntimeSettings, application_name: str) -> ConnectionPool:
    """Not opened yet. The statement timeout is set per session (not as a startup option), so that
    connection poolers in front of managed PostgreSQL accept it."""
    conninfo = make_conninfo(pg.conninfo(), application_name=application_name,
                             connect_timeout=runtime.pg_connect_timeout_s, keepalives=1,
                             keepalives_idle=runtime.pg_keepalive_idle_s, keepalives_interval=_KEEPALIVE_INTERVAL_S,
                             keepalives_count=_KEEPALIVE_PROBES)
    statement_timeout = f"{round(runtime.pg_statement_timeout_s * 1000)}ms"

    def configure(conn: Connection) -> None:
        conn.prepare_threshold = None
        conn.execute("SELECT set_config('statement_timeout', %s, false)", (statement_timeout,))

    return ConnectionPool(conninfo, min_size=1, max_size=2, timeout=5, open=False, kwargs={"autocommit": True},
                          configure=configure, check=ConnectionPool.check_connection)
