"""`streamvault verify` reconciles the layers and `streamvault rebuild cdm` repairs the marts online (issue 11),
against real Kafka, PostgreSQL and Redis.

The live test: the three services drain a backlog of 30,000 orders while the generator still sends, verify
runs every 2 s and a rebuild runs in the middle. The corruption tests share one smaller drained warehouse
(module-scoped): each breaks it one way, sees verify name the check and the business key, and puts it back.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from streamvault import config
from streamvault.generator.model import GeneratorOptions
from streamvault.generator.publish import Publisher, publish
from streamvault.generator.simulator import build_timeline
from streamvault.testing.expected import Expected, assert_warehouse_matches, compute
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import cli, free_port, pg_admin

BACKLOG_ORDERS = 30_000  # the minimum
CORPUS_ORDERS = 2_000  # the corruption tests' warehouse
LIVE_ORDERS = 1_500  # sent while the services drain the backlog ...
LIVE_RATE = 100  # ... orders/s
FAULTS = dict(duplicates=0.03, late=0.02, flips=0.05, reference_changes=0.01, unknown_ids=0.01, malformed=0.005,
              non_orders=0.005)
VERIFY_EVERY_S = 2
LIVE_SETTLE_S = 5  # how long a verify during the run waits for the services to pass what it saw in flight


@dataclass
class Warehouse:
    pipeline: Pipeline
    expected: Expected
    runs: list[dict] = field(default_factory=list)  # verify --json while the pipeline was busy
    rebuilt_while_busy: bool = False

    def verify(self, *args: str) -> tuple[int, dict]:
        """`streamvault verify --json ARGS` on this pipeline: exit code and report."""
        result = cli("verify", "--json", *args, env=self.pipeline.verify_env())
        assert result.returncode in (0, 1), result.stderr
        return result.returncode, json.loads(result.stdout)

    def rebuild(self, *args: str) -> str:
        result = cli("rebuild", "cdm", *args, env=self.pipeline.verify_env())
        assert result.returncode == 0, result.stderr
        return result.stdout


def _timeline(seed: int, orders: int):
    return build_timeline(GeneratorOptions(seed=seed, orders=orders, users=3000, restaurants=30, **FAULTS))


def _send_paced(timeline, topic: str) -> None:
    """The generator still sending: the timeline at LIVE_RATE orders/s."""
    started, sent = time.monotonic(), 0
    with Publisher(config.load(config.KafkaSettings), config.load(config.RedisSettings), topic) as publisher:
        for event in timeline.events:
            publisher.send(event)
            if event.kind == "order":
                sent += 1
                time.sleep(max(0.0, sent / LIVE_RATE - (time.monotonic() - started)))


@contextmanager
def _pipeline(stack, log_dir) -> Iterator[Pipeline]:
    """A migrated database of its own and fresh topics; its services are stopped and the database dropped after."""
    database = f"t_verify_{uuid.uuid4().hex[:8]}"
    with pg_admin() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    pipeline = Pipeline(database=database, log_dir=log_dir)
    try:
        pipeline.prepare()
        yield pipeline
    finally:
        pipeline.stop_all()
        with pg_admin() as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


@pytest.fixture
def live(stack, tmp_path) -> Iterator[Warehouse]:
    """The live run, then the drained warehouse."""
    with _pipeline(stack, tmp_path) as pipeline:
        backlog, tail = _timeline(111, BACKLOG_ORDERS), _timeline(112, LIVE_ORDERS)
        live = Warehouse(pipeline, compute([*backlog.events, *tail.events]))
        publish(backlog, config.load(config.KafkaSettings), config.load(config.RedisSettings), pipeline.source_topic,
                progress=False)
        pipeline.start_all()
        sender = threading.Thread(target=_send_paced, args=(tail, pipeline.source_topic))
        sender.start()
        deadline = time.monotonic() + 600
        while sender.is_alive() or not pipeline.drained(parked=live.expected.parked):
            assert time.monotonic() < deadline, f"pipeline not drained; logs: {pipeline.log_dir}"
            live.runs.append(live.verify("--settle", str(LIVE_SETTLE_S))[1])
            if not live.rebuilt_while_busy:
                live.rebuild()
                live.rebuilt_while_busy = sender.is_alive() or not pipeline.drained(parked=live.expected.parked)
            time.sleep(VERIFY_EVERY_S)
        sender.join()
        pipeline.wait_drained(parked=live.expected.parked)
        yield live


@pytest.fixture(scope="module")
def warehouse(stack, tmp_path_factory) -> Iterator[Warehouse]:
    """A drained warehouse whose services keep running (idle) for the corruption tests."""
    with _pipeline(stack, tmp_path_factory.mktemp("verify")) as pipeline:
        timeline = _timeline(113, CORPUS_ORDERS)
        warehouse = Warehouse(pipeline, compute(timeline.events))
        publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings), pipeline.source_topic,
                progress=False)
        pipeline.start_all()
        pipeline.wait_drained(parked=warehouse.expected.parked)
        yield warehouse


def _drift(report: dict) -> dict[str, list[str]]:
    return {check["name"]: check["examples"] for check in report["checks"] if check["differing"]}


def test_verify_never_reports_drift_while_the_services_drain_a_backlog_and_a_rebuild_runs(live):
    """In-flight rows between layers are decided by the services' own progress, never taken for drift; the
    rebuild in the middle neither loses nor double counts an order that arrived meanwhile."""
    assert len(live.runs) >= 2, "verify ran while the pipeline was busy"
    assert any(run["in_flight"] for run in live.runs), "some verify saw rows in flight"
    assert live.rebuilt_while_busy
    assert [(run["drift"], _drift(run)) for run in live.runs] == [(0, {})] * len(live.runs)
    with live.pipeline.connect() as conn:
        assert_warehouse_matches(conn, live.expected)
    _assert_consistent_and_complete(live)


def _assert_consistent_and_complete(live: Warehouse) -> None:
    code, report = live.verify()
    assert (code, report["drift"], report["in_flight"]) == (0, 0, 0), _drift(report)
    assert all(check["compared"] > 0 for check in report["checks"]), report["checks"]


def test_verify_after_the_corpus_compares_every_check_and_finds_it_consistent(warehouse):
    """Also what `status` shows afterwards: the time and result of that run."""
    _assert_consistent_and_complete(warehouse)
    status = json.loads(cli("status", "--json", env=warehouse.pipeline.verify_env()).stdout)
    assert (status["last_verify"]["consistent"], status["last_verify"]["drift"]) == (True, 0)


@pytest.fixture
def conn(warehouse):
    with warehouse.pipeline.connect() as connection:
        connection.autocommit = True
        yield connection


def _business_keys(conn, user_pk, item_pk, hub: str, column: str) -> tuple[str, str]:
    user = conn.execute("SELECT user_id FROM dds.h_user WHERE h_user_pk = %s", [user_pk]).fetchone()[0]
    item = conn.execute(sql.SQL("SELECT {} FROM dds.{} WHERE {} = %s").format(
        sql.Identifier(column), sql.Identifier(hub), sql.Identifier(f"{hub}_pk")), [item_pk]).fetchone()[0]
    return user, item


def _assert_drift(live: Warehouse, check: str, key: str) -> None:
    code, report = live.verify()
    assert code == 1, report
    examples = _drift(report).get(check, [])
    assert any(example.startswith(f"{key}: ") for example in examples), (check, key, _drift(report))


def _assert_repaired(live: Warehouse) -> None:
    """After `rebuild cdm`: verify is content and the marts equal the independent expectation."""
    live.rebuild()
    code, report = live.verify()
    assert (code, report["drift"]) == (0, 0), _drift(report)
    with live.pipeline.connect() as conn:
        assert_warehouse_matches(conn, live.expected)


def test_a_changed_mart_row_is_drift_and_rebuild_repairs_it(warehouse, conn):
    user_pk, product_pk = conn.execute(
        "UPDATE cdm.user_product_counters SET order_cnt = order_cnt + 1 "
        "WHERE id = (SELECT min(id) FROM cdm.user_product_counters) RETURNING user_id, product_id").fetchone()
    user, dish = _business_keys(conn, user_pk, product_pk, "h_product", "product_id")
    _assert_drift(warehouse, "cdm.user_product_counters", f"user {user} / dish {dish}")
    assert "cdm.user_product_counters    would change: 0 inserted, 1 updated, 0 deleted" in warehouse.rebuild("--dry-run")
    _assert_drift(warehouse, "cdm.user_product_counters", f"user {user} / dish {dish}")  # a dry run changes nothing
    _assert_repaired(warehouse)


def test_a_deleted_mart_row_is_drift_and_rebuild_repairs_it(warehouse, conn):
    user_pk, category_pk = conn.execute(
        "DELETE FROM cdm.user_category_counters "
        "WHERE id = (SELECT max(id) FROM cdm.user_category_counters) RETURNING user_id, category_id").fetchone()
    user, category = _business_keys(conn, user_pk, category_pk, "h_category", "category_name")
    _assert_drift(warehouse, "cdm.user_category_counters", f"user {user} / category {category}")
    _assert_repaired(warehouse)


def test_an_extra_mart_row_is_drift_and_rebuild_repairs_it(warehouse, conn):
    """A pair the user never ordered."""
    user_pk, product_pk = conn.execute("""
        INSERT INTO cdm.user_product_counters (user_id, product_id, product_name, order_cnt)
        SELECT u.h_user_pk, p.h_product_pk, 'Борщ', 1
        FROM dds.h_user AS u CROSS JOIN dds.h_product AS p
        WHERE NOT EXISTS (SELECT FROM cdm.user_product_counters AS c
                          WHERE c.user_id = u.h_user_pk AND c.product_id = p.h_product_pk)
        LIMIT 1
        RETURNING user_id, product_id""").fetchone()
    user, dish = _business_keys(conn, user_pk, product_pk, "h_product", "product_id")
    _assert_drift(warehouse, "cdm.user_product_counters", f"user {user} / dish {dish}")
    _assert_repaired(warehouse)


@contextmanager
def _removed(conn, table: str, where: str, params: list) -> Iterator[None]:
    """Rows deleted for the block, then put back as they were."""
    cursor = conn.execute(sql.SQL("DELETE FROM dds.{} WHERE " + where + " RETURNING *").format(sql.Identifier(table)),
                          params)
    rows, columns = cursor.fetchall(), [c.name for c in cursor.description]
    assert rows
    try:
        yield
    finally:
        with conn.cursor().copy(sql.SQL("COPY dds.{} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))) as copy:
            for row in rows:
                copy.write_row(row)


def _counted_order(conn) -> tuple[int, str]:
    """A CLOSED order with one version and several dishes."""
    return conn.execute("""
        SELECT o.order_id, o.h_order_pk FROM dds.h_order AS o
        JOIN cdm.srv_order_contributions AS c ON c.order_id = o.h_order_pk
        WHERE c.counted AND cardinality(c.product_ids) > 1
          AND (SELECT count(*) FROM dds.s_order_status AS s WHERE s.h_order_pk = o.h_order_pk) = 1
        ORDER BY o.order_id LIMIT 1""").fetchone()


def test_a_deleted_satellite_row_is_drift(warehouse, conn):
    order_id, order_pk = _counted_order(conn)
    with _removed(conn, "s_order_status", "h_order_pk = %s", [order_pk]):
        _assert_drift(warehouse, "dds.orphans", f"order {order_id}")
        _assert_drift(warehouse, "stg_dds.orders", f"order {order_id}")
    assert warehouse.verify()[0] == 0


def test_a_deleted_link_is_drift(warehouse, conn):
    order_id, order_pk = _counted_order(conn)
    with _removed(conn, "l_order_product",
                  "hk_order_product_pk = (SELECT min(hk_order_product_pk::text)::uuid FROM dds.l_order_product "
                  "WHERE h_order_pk = %s)", [order_pk]):
        _assert_drift(warehouse, "stg_dds.orders", f"order {order_id}")
        _assert_drift(warehouse, "dds_cdm.contributions", f"order {order_id}")
    assert warehouse.verify()[0] == 0


def test_an_stg_version_that_never_reached_dds_is_drift_once_the_services_passed_it(warehouse, conn):
    """Newer in stg than in dds looks like an order in flight; with every service past it, it is drift."""
    order_id, _ = _counted_order(conn)
    update_ts, payload = conn.execute(
        "SELECT update_ts, payload FROM stg.order_events WHERE object_type = 'order' AND object_id = %s",
        [order_id]).fetchone()
    conn.execute("""UPDATE stg.order_events SET update_ts = update_ts + interval '1 hour',
                        payload = jsonb_set(payload, '{final_status}', '"CANCELLED"')
                    WHERE object_type = 'order' AND object_id = %s""", [order_id])
    try:
        _assert_drift(warehouse, "stg_dds.orders", f"order {order_id}")
    finally:
        conn.execute("UPDATE stg.order_events SET update_ts = %s, payload = %s "
                      "WHERE object_type = 'order' AND object_id = %s", [update_ts, Jsonb(payload), order_id])
    assert warehouse.verify()[0] == 0


def test_verify_that_cannot_reach_postgresql_exits_2_with_one_line(stack):
    """2, not 1: nothing was compared, so nothing can be called drift."""
    result = cli("verify", env={"PG_WAREHOUSE_PORT": str(free_port())})
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("streamvault: verify: postgresql 127.0.0.1:")
    assert os.environ["PG_WAREHOUSE_PASSWORD"] not in result.stderr
