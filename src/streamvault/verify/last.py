"""The time and result of the last `streamvault verify`, for `streamvault status` and the demo's view."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from streamvault.config import PgSettings
from streamvault.db.sqlfiles import sql


@dataclass(frozen=True)
class LastVerify:
    finished_at: datetime
    consistent: bool
    drift: int
    in_flight: int

    def describe(self) -> str:
        verdict = "consistent" if self.consistent else f"NOT consistent ({self.drift:,} rows differ)"
        return f"{self.finished_at:%Y-%m-%d %H:%M:%S %Z}: {verdict}, {self.in_flight:,} rows were in flight"


def last_verify(pg: PgSettings) -> LastVerify | None:
    """None when verify never ran on this warehouse."""
    with psycopg.connect(pg.conninfo(), connect_timeout=3, autocommit=True) as conn:
        row = conn.execute(sql("streamvault.verify", "last.sql")).fetchone()
    return LastVerify(*row) if row else None
