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
    pass


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
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('streamvault.migrate'))")
        conn.execute(_BOOKKEEPING)
        applied = dict(conn.execute("SELECT version, checksum FROM streamvault.schema_migrations").fetchall())
        for migration in available():
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} was changed after it was applied")
                continue
            conn.execute(migration.sql)
            conn.execute("INSERT INTO streamvault.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                         [migration.version, migration.name, migration.checksum])
            applied_now.append(migration)
    return applied_now
