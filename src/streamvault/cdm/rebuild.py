"""`streamvault rebuild cdm`: both marts and the CDM bookkeeping recomputed from the Data Vault, in one
transaction, while the CDM service keeps running (docs/operations.md#verify-and-rebuild).

The rebuild holds an advisory lock that every CDM batch holds shared (marts_lock.sql): batches committed
before it are in the Data Vault it reads, batches after it find each order's contribution at its current
dds version and apply only newer versions. No order is lost or counted twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql as pgsql

from streamvault.db.sqlfiles import sql

# The advisory lock CDM batches hold shared and a rebuild holds exclusively: a constant of our own.
MARTS_LOCK = 0x5F3C_6D73
_SETS = {"product_ids", "category_ids"}  # arrays compared as sets: the service stores them in any order


def _q(name: str) -> str:
    return sql("streamvault.cdm", name)


def _compared(side: str, columns: tuple[str, ...]) -> pgsql.Composed:
    values = (pgsql.SQL("(SELECT array_agg(x ORDER BY x) FROM unnest({}) AS x)").format(pgsql.Identifier(side, c))
              if c in _SETS else pgsql.Identifier(side, c) for c in columns)
    return pgsql.SQL(", ").join(values)


@dataclass(frozen=True)
class Target:
    """A table the rebuild writes, the temp table planned for it, its key and its other columns."""

    table: str
    planned: str
    keys: tuple[str, ...]
    columns: tuple[str, ...]

    def composed(self, name: str) -> pgsql.Composed:
        """rebuild_changes.sql or rebuild_apply.sql for this table."""
        every = (*self.keys, *self.columns)
        return pgsql.SQL(_q(name)).format(
            table=pgsql.Identifier("cdm", self.table), planned=pgsql.Identifier(self.planned),
            keys=pgsql.SQL(", ").join(map(pgsql.Identifier, self.keys)),
            key_match=pgsql.SQL(" AND ").join(pgsql.SQL("cur.{k} = nxt.{k}").format(k=pgsql.Identifier(k))
                                             for k in self.keys),
            columns=pgsql.SQL(", ").join(map(pgsql.Identifier, every)),
            new_columns=pgsql.SQL(", ").join(pgsql.Identifier("nxt", c) for c in every),
            set_values=pgsql.SQL(", ").join(pgsql.SQL("{} = {}").format(pgsql.Identifier(c), pgsql.Identifier("nxt", c))
                                            for c in self.columns),
            old_values=_compared("cur", self.columns), new_values=_compared("nxt", self.columns))


TARGETS = (
    Target("user_product_counters", "rebuild_product_counters", ("user_id", "product_id"),
           ("product_name", "order_cnt")),
    Target("user_category_counters", "rebuild_category_counters", ("user_id", "category_id"),
           ("category_name", "order_cnt")),
    Target("srv_order_contributions", "rebuild_contributions", ("order_id",),
           ("user_id", "version_ts", "version_sent", "counted", "product_ids", "category_ids")),
    Target("srv_product_names", "rebuild_product_names", ("product_id",), ("name", "effective_dt")),
    Target("srv_category_names", "rebuild_category_names", ("category_id",), ("name", "effective_dt")),
)


@dataclass(frozen=True)
class Change:
    table: str
    inserted: int
    updated: int
    deleted: int


def rebuild(conn: psycopg.Connection, *, dry_run: bool, step: Callable[[str], None] = lambda _: None
            ) -> list[Change]:
    """What changes per table (applied unless `dry_run`). `step` is told each step as it starts (progress)."""
    with conn.transaction() as transaction:
        if not dry_run:
            step("waiting for the CDM batch in progress")
            conn.execute(_q("rebuild_lock.sql"), {"lock": MARTS_LOCK})
        step("recomputing from the Data Vault")
        conn.execute(_q("rebuild_plan.sql"))
        changes = []
        for target in TARGETS:
            step(f"comparing cdm.{target.table}")
            inserted, updated, deleted = conn.execute(target.composed("rebuild_changes.sql")).fetchone()
            changes.append(Change(f"cdm.{target.table}", inserted, updated, deleted))
        if dry_run:
            raise psycopg.Rollback(transaction)
        for target in TARGETS:
            step(f"writing cdm.{target.table}")
            conn.execute(target.composed("rebuild_apply.sql"))
        step("committing")
    return changes
