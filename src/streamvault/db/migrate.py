"""Versioned schema migrations: `NNNN_name.sql` files applied once, in order, recorded with a checksum."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_BOOKKEEPING = """
CREATE SCHEMA IF NOT EXISTS streamvault;
CREATE TABLE IF NOT EXISTS streamvault.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(Exception):
    """A migration that cannot apply to this database as it is: retrying will not help; the text says what will."""


def _explain(exc: psycopg.ProgrammingError, step: str, conn: psycopg.Connection) -> MigrationError:
    """One line: what failed, the server's reason, what to do (for the states a real database is found in)."""
    reason = exc.diag.message_primary or str(exc).strip().splitlines()[0]
    if isinstance(exc, (psycopg.errors.DuplicateSchema, psycopg.errors.DuplicateTable,
                        psycopg.errors.DuplicateObject, psycopg.errors.DuplicateFunction)):
        advice = (f" Database {conn.info.dbname} has objects streamvault did not create: give streamvault a database "
                  "of its own (PG_WAREHOUSE_DBNAME).")
    elif isinstance(exc, psycopg.errors.InsufficientPrivilege):
        advice = (f" The login {conn.info.user} lacks a privilege the migrations need: run migrate as the database's "
                  "owner (see docs/deploy.md#migrations).")
    else:
        advice = ""
    return MigrationError(f"{step} failed: {reason}.{advice} Nothing was changed.")


def available() -> list[Migration]:
    found = []
    for entry in resources.files("streamvault.db.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def migrate(conn: psycopg.Connection) -> list[Migration]:
    """Apply what is missing in one transaction; returns what was applied (empty: nothing to do).

    An advisory lock makes concurrent replicas starting at once wait for each other instead of racing.
    """
    applied_now = []
    step = "the bookkeeping schema"
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamvault.migrate'))")
            conn.execute(_BOOKKEEPING)
            applied = dict(conn.execute("SELECT version, checksum FROM streamvault.schema_migrations").fetchall())
            for migration in available():
                step = f"{migration.version:04d}_{migration.name}"
                if migration.version in applied:
                    if applied[migration.version] != migration.checksum:
                        raise MigrationError(f"migration {step} was changed after it was applied")
                    continue
                conn.execute(migration.sql)
                conn.execute("INSERT INTO streamvault.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                             [migration.version, migration.name, migration.checksum])
                applied_now.append(migration)
    except psycopg.ProgrammingError as exc:  # the database's state or privileges; connection trouble propagates
        raise _explain(exc, step, conn) from exc
    return applied_now
