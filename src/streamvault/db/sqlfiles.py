"""SQL kept in `.sql` files beside the code that runs it, read once."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources

import psycopg


@cache
def sql(package: str, name: str) -> str:
    return resources.files(package).joinpath("sql", name).read_text(encoding="utf-8")


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Bulk-load rows into a (temporary) table with COPY; names are ours, never user input."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def uuid_array(ids) -> str:
    """A PostgreSQL uuid[] literal: COPY and `%s::uuid[]` read it much faster than psycopg adapts a list."""
    return "{" + ",".join(map(str, ids)) + "}"
