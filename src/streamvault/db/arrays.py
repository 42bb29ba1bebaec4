"""Rows as one array parameter per column, for `INSERT … SELECT … FROM unnest(…)`.

One statement per table, with no temp table and no COPY: unlike COPY it can be sent in a psycopg pipeline,
so a batch's inserts share one round trip. Text goes as a binary `text[]` (no quoting to get wrong);
keys, times and numbers go as an array literal their `str` (or ISO form) spells exactly, which psycopg
builds far faster than it adapts a list.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from psycopg import sql as pgsql
from psycopg.adapt import PyFormat

# PostgreSQL element types whose values are never NULL and never need quoting in an array literal.
_LITERAL_TYPES = {"uuid", "bigint", "numeric", "timestamp", "boolean"}


def unnest(types: Sequence[str]) -> pgsql.Composed:
    """`unnest(%(c0)s::uuid[], %(c1)b::text[], …)`: one placeholder per column, named as `array_params` names them."""
    arrays = (pgsql.SQL("{}::{}[]").format(pgsql.Placeholder(f"c{i}", PyFormat.TEXT if t in _LITERAL_TYPES
                                                             else PyFormat.BINARY), pgsql.SQL(t))
              for i, t in enumerate(types))
    return pgsql.SQL("unnest({})").format(pgsql.SQL(", ").join(arrays))


def array_params(types: Sequence[str], rows: Collection[Sequence]) -> dict[str, object]:
    """The columns of `rows` as the parameters `unnest(types)` reads."""
    columns = zip(*rows) if rows else ((),) * len(types)
    return {f"c{i}": array_literal(column) if t in _LITERAL_TYPES else list(column)
            for i, (t, column) in enumerate(zip(types, columns, strict=True))}


def array_literal(values: Collection) -> str:
    """Keys, times or numbers as the text of a PostgreSQL array (`%s::uuid[]`, COPY's array columns): psycopg
    would adapt a list element by element, far slower."""
    if isinstance(next(iter(values), None), datetime):
        return "{" + ",".join(map(datetime.isoformat, values)) + "}"
    return "{" + ",".join(map(str, values)) + "}"
