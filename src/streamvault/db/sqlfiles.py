"""SQL kept in `.sql` files beside the code that runs it, read once."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources

import psycopg


@cache
def sql(package: str, name: str) -> str:
    return resources.files(package).joinpath("sql", name).read_text(encoding="utf-8")


@cache
def statements(package: str, name: str) -> tuple[str, ...]:
    """A file's statements one by one, for a psycopg pipeline (one statement per query there). A statement
    ends with a `;` at the end of a line; comments stay with the statement they precede."""
    pieces = (piece.strip() for piece in re.split(r";[ \t]*$", sql(package, name), flags=re.MULTILINE))
    return tuple(piece for piece in pieces if any(line.strip() and not line.lstrip().startswith("--")
                                                  for line in piece.splitlines()))


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Bulk-load rows into a (temporary) table with COPY; names are ours, never user input."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
