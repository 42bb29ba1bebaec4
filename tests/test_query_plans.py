"""A batch must not cost more as the marts grow: the statements CDM runs for every batch reach the large tables
through their indexes. The planner cannot measure the batch's temp tables (filled and emptied in each
transaction), so a statement that joins one to a large table must not leave it the choice of a full scan."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import psycopg
import pytest
from psycopg import sql as pgsql

from streamvault.cdm import service
from streamvault.cdm import transform as cdm_transform
from streamvault.contracts.dds import DdsOrderMessage
from streamvault.db.sqlfiles import statements
from streamvault.dds import model, transform
from streamvault.hashing import hash_diff, hash_key
from streamvault.runtime.loop import ServiceLoop
from streamvault.runtime.stage import Record
from streamvault.services import build_loop
from streamvault.testing.records import stg_orders
from streamvault.testing.support import pg_connect

# The tables that grow with every order and every (user, dish): one row per order, one per pair.
_GROWING = ("user_product_counters", "srv_order_contributions")


def _fill_the_marts(conn, users: int, dishes: int, analysed: bool) -> None:
    """Counter rows for every (user, dish) pair and one contribution per user, as a long history leaves them."""
    conn.execute("""
        INSERT INTO cdm.user_product_counters (user_id, product_id, product_name, order_cnt)
        SELECT md5('user' || u)::uuid, md5('dish' || d)::uuid, 'Суп ' || d, 1
        FROM generate_series(1, %(users)s) AS u, generate_series(1, %(dishes)s) AS d""",
                 {"users": users, "dishes": dishes})
    conn.execute("""
        INSERT INTO cdm.srv_order_contributions (order_id, user_id, version_ts, version_sent, counted)
        SELECT md5('order' || o)::uuid, md5('user' || o)::uuid, now(), now(), true
        FROM generate_series(1, %(orders)s) AS o""", {"orders": users * dishes})
    if analysed:
        conn.execute("ANALYZE cdm.user_product_counters")
        conn.execute("ANALYZE cdm.srv_order_contributions")


@pytest.mark.parametrize("users, dishes, analysed", [(400, 500, True), (100, 250, False)],
                         ids=["grown and analysed", "growing, not analysed yet"])
def test_no_statement_of_a_cdm_batch_scans_a_table_that_grows_with_history(migrated, users, dishes, analysed):
    """A dish renamed in a batch used to update its counter rows through a scan of the whole counters table:
    each such batch took longer as the marts grew (the hour-long soak's freshness kept rising). The planner
    cannot count a batch's temp tables, so while the marts are mid-sized it found a scan and a hash join
    cheaper than an index lookup per order: 15 ms a batch at 25,000 orders, in a minute of 1,000 orders/s."""
    with pg_connect(autocommit=True) as conn:
        _fill_the_marts(conn, users=users, dishes=dishes, analysed=analysed)
        for statement in statements("streamvault.cdm", "temp_tables.sql"):
            conn.execute(statement)
        scans = {}
        for statement in service._APPLY:
            text = statement if isinstance(statement, str) else statement.as_string(conn)
            body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")).strip()
            if body.upper().startswith(("CREATE", "DELETE FROM TMP_")):  # the batch's own temp tables
                conn.execute(statement)
                continue
            plan = "\n".join(line for (line,) in conn.execute(pgsql.SQL("EXPLAIN {}").format(pgsql.SQL(body))))
            scanned = [table for table in _GROWING if f"Seq Scan on {table}" in plan]
            if scanned:
                scans[" ".join(body.split())[:90]] = scanned
    assert scans == {}


def _grow_the_order_satellites(conn, orders: int) -> None:
    """Statuses and costs of many orders, as hours of a stream leave them; not analysed yet (autovacuum
    analyses a growing table at most once a minute, and less often the larger it is)."""
    for table, columns, values in (("s_order_status", "status", "'CLOSED'"),
                                   ("s_order_cost", "cost, payment", "10, 10")):
        conn.execute(pgsql.SQL("""
            INSERT INTO dds.{table} (h_order_pk, {columns}, effective_dt, sent_dttm, load_dt, load_src, {hashdiff})
            SELECT md5('order' || o)::uuid, {values}, '2024-03-01', '2024-03-01', now(), 'grown',
                   md5('hashdiff' || o)::uuid
            FROM generate_series(1, %(orders)s) AS o""").format(
            table=pgsql.Identifier(table), columns=pgsql.SQL(columns), values=pgsql.SQL(values),
            hashdiff=pgsql.Identifier(f"hk_{table[2:]}_hashdiff")), {"orders": orders})


@contextmanager
def _service_session(service: str) -> Iterator[tuple[ServiceLoop, psycopg.Connection]]:
    """A session of the service's own pool, configured as the service's are."""
    loop = build_loop(service)
    loop.pool.open(wait=True, timeout=30)
    try:
        with loop.pool.connection() as conn:
            yield loop, conn
    finally:
        loop.pool.close()


def _plans_of(conn: psycopg.Connection, work: Callable[[], object]) -> list[str]:
    """Every plan the server runs for `work` in this session (auto_explain, sent back as notices)."""
    plans: list[str] = []
    conn.execute("LOAD 'auto_explain'")
    conn.execute("SET auto_explain.log_min_duration = 0")
    conn.execute("SET client_min_messages = log")
    conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
    with conn.transaction():
        work()
    return plans


def test_a_plan_chosen_while_the_vault_was_young_is_not_kept_once_it_has_grown(migrated):
    """A statement run five times is prepared, and the server may then keep one generic plan for it. Chosen on
    a fresh deployment's empty vault, that plan read every satellite row for each batch once the vault had
    grown: DDS fell behind by seconds within a minute of the freshness benchmark, run after run."""
    with _service_session("dds") as (loop, conn):
        for first in range(1, 3000, 200):  # young: the vault's first orders, the same statements each time
            with conn.transaction():
                loop.stage.load(conn, stg_orders(200, first, datetime(2024, 3, 1, 10)))
        _grow_the_order_satellites(conn, orders=100_000)
        plans = _plans_of(conn, lambda: loop.stage.load(conn, stg_orders(10, 1000, datetime(2024, 3, 1, 10))))
    assert any("s_order_status" in plan for plan in plans), plans
    scans = [plan for plan in plans if re.search(r"Seq Scan on s_order_(status|cost)", plan)]
    assert scans == []


def _cdm_batches(count: int, size: int) -> list[list[Record[DdsOrderMessage]]]:
    """What DDS sends CDM for `count` batches of new orders (made by DDS's own load, then rolled back)."""
    batches = []
    with _service_session("dds") as (loop, conn):
        for first in range(1, count * size, size):
            with conn.transaction(force_rollback=True):
                outputs = loop.stage.load(conn, stg_orders(size, first, datetime(2024, 3, 1, 10)))
            batches.append([Record(cdm_transform.decode(output.value), None) for output in outputs])
    return batches


def test_a_cdm_plan_chosen_while_the_marts_were_young_is_not_kept_once_they_have_grown(migrated):
    """CDM's statements take no parameters (they read the batch's temp tables), and the server keeps the one plan
    it made for a prepared statement without parameters, whatever plan_cache_mode says, until the table is next
    analysed. Chosen on young marts, the counters' MERGE scanned the whole mart for every batch (44 ms at 25,000
    pairs, the freshness benchmark's p99 tail) until autovacuum came by."""
    *young, last = _cdm_batches(count=16, size=50)
    with _service_session("cdm") as (loop, conn):
        for batch in young:  # the same statements each time, on marts of a few rows
            with conn.transaction():
                loop.stage.load(conn, batch)
        _fill_the_marts(conn, users=200, dishes=500, analysed=False)
        plans = _plans_of(conn, lambda: loop.stage.load(conn, last))
    assert any("Merge on user_product_counters" in plan for plan in plans), plans
    scans = [plan for plan in plans if re.search(r"Seq Scan on (user_product_counters|srv_order_contributions)", plan)]
    assert scans == []


def test_a_cdm_batch_reads_the_names_and_counters_only_of_its_own_items(migrated):
    """Menus grow (the soak's generator adds a dish a second: 8,600 by minute 25), and every CDM batch read every
    dish's name three times: 0.8-0.9 ms each in the soak's minutes 5-15, 3.4-4.5 ms in its last ten."""
    known, batch = _cdm_batches(count=2, size=50)
    with _service_session("cdm") as (loop, conn):
        with conn.transaction():
            loop.stage.load(conn, known)  # the second batch renames nothing
        conn.execute("""INSERT INTO cdm.srv_product_names (product_id, name, effective_dt)
                        SELECT md5('dish' || d)::uuid, 'Блюдо ' || d, '2024-01-01'
                        FROM generate_series(1, 20000) AS d""")
        conn.execute("ANALYZE cdm.srv_product_names")
        with conn.transaction(force_rollback=True):
            loop.stage.load(conn, batch)
            # Not yet reported counts of the session's earlier transactions are in this view too (the young
            # table's scans in the first batch): what must not be there is a read of the grown one.
            (scanned,) = conn.execute("SELECT seq_tup_read FROM pg_stat_xact_user_tables"
                                      " WHERE relid = 'cdm.srv_product_names'::regclass").fetchone()
    assert scanned < 1000  # 60,035 before: three reads of every dish's name


@pytest.mark.parametrize("item", ["product", "category"])
def test_a_batch_that_renames_nothing_never_runs_the_update_of_counter_rows(migrated, item):
    """With nine categories the planner scans the category counters for a rename (a ninth of them change), and
    it did so in every batch, rename or not: 1.5 ms a batch at minute 10 of the soak, 3.4 ms at minute 55.
    Whatever plan it picks (here: a scan, index scans off), a batch without a rename must not run it."""
    counters = pgsql.Identifier("cdm", f"user_{item}_counters")
    with pg_connect(autocommit=True) as conn:
        conn.execute(pgsql.SQL("""INSERT INTO {} (user_id, {}, {}, order_cnt)
                                  SELECT md5('user' || u)::uuid, md5('item' || i)::uuid, 'Супы ' || i, 1
                                  FROM generate_series(1, 6000) AS u, generate_series(1, 9) AS i""").format(
            counters, pgsql.Identifier(f"{item}_id"), pgsql.Identifier(f"{item}_name")))
        conn.execute("SET enable_indexscan = off")
        conn.execute("SET enable_bitmapscan = off")
        for statement in statements("streamvault.cdm", "temp_tables.sql"):
            conn.execute(statement)
        (update,) = [s for s in service._names(item) if f"UPDATE {counters.as_string(conn)}" in s.as_string(conn)]
        plan = "\n".join(line for (line,) in conn.execute(pgsql.SQL("EXPLAIN ANALYZE {}").format(update)))
    scan = next(line for line in plan.splitlines() if f"Seq Scan on user_{item}_counters" in line)
    assert "never executed" in scan, plan


def _rename(conn, user_id: str, names: list[tuple[datetime, str]]) -> None:
    """A user's name history as years of renames leave it (STG sends name and login together)."""
    key = hash_key("user", user_id)
    conn.execute("INSERT INTO dds.h_user (h_user_pk, user_id, load_dt, load_src) VALUES (%s, %s, now(), 'grown')"
                 " ON CONFLICT DO NOTHING", (key, user_id))
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO dds.s_user_names (h_user_pk, username, userlogin, effective_dt, load_dt, load_src,"
            " hk_user_names_hashdiff) VALUES (%s, %s, %s, %s, now(), 'grown', %s)",
            [(key, name, login, at, hash_diff(model.S_USER_NAMES.name, name, login))
             for at, (name, login) in ((at, _name_and_login(name)) for at, name in names)])


def _name_and_login(name: str) -> tuple[str, str]:
    return name, "login" + name.removeprefix("Имя ")


def _names_of(conn, user_id: str) -> list[tuple[datetime, str]]:
    return conn.execute("SELECT effective_dt, username FROM dds.s_user_names WHERE h_user_pk = %s"
                        " ORDER BY effective_dt", (hash_key("user", user_id),)).fetchall()


def test_a_batch_reads_a_names_history_only_from_the_row_before_its_version(migrated):
    """Every batch read all of its users' names: a user renamed every few minutes has hundreds of rows within
    hours, and a popular one is in every batch. The soak's DDS fell further behind each hour."""
    with _service_session("dds") as (loop, conn):
        _rename(conn, "u1", [(datetime(2024, 1, 1) + timedelta(minutes=n), f"Имя x{n}") for n in range(2000)])
        with conn.transaction(force_rollback=True):
            loop.stage.load(conn, stg_orders(7, 1, datetime(2024, 3, 1, 10)))
            (fetched,) = conn.execute("SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_xact_user_tables"
                                      " WHERE relid = 'dds.s_user_names'::regclass").fetchone()
    assert fetched <= 2  # u1's newest name, to compare with its version in the batch; the others have none


@pytest.mark.parametrize("before", ["Имя 1", "Имя 9"], ids=["row before says the same", "row before differs"])
def test_a_late_name_is_placed_as_the_whole_history_would_place_it(migrated, before):
    """A version older than the newest row is compared with the row just before it: reading from that row on
    adds what reading the whole history adds (transform.new_satellite_rows on every row)."""
    placed = datetime(2024, 3, 1, 9)  # the users' update_ts in stg_orders
    grown = [(placed - timedelta(minutes=n, seconds=30), f"Имя y{n}") for n in range(1, 300)]
    grown += [(placed - timedelta(seconds=10), before)]
    grown += [(placed + timedelta(minutes=n, seconds=30), f"Имя z{n}") for n in range(300)]
    batch = stg_orders(7, 1, datetime(2024, 3, 1, 10))
    with _service_session("dds") as (loop, conn):
        _rename(conn, "u1", grown)
        history = [transform.Version((at, transform.NEVER), hash_diff(model.S_USER_NAMES.name, *_name_and_login(name)),
                                     _name_and_login(name)) for at, name in grown]
        seen = [transform.Version((placed, transform.NEVER), hash_diff(model.S_USER_NAMES.name, "Имя 1", "login1"),
                                  ("Имя 1", "login1"))]
        added, _ = transform.new_satellite_rows(history, None, seen)
        with conn.transaction():
            loop.stage.load(conn, batch)
        names = _names_of(conn, "u1")
    assert len(added) == (0 if before == "Имя 1" else 1)
    assert names == sorted([(at, name) for at, name in grown] + [(row.effective[0], row.attributes[0]) for row in added])
