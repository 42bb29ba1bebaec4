"""Orders that wait in stg.parked_orders: why they wait, when they are tried again, when they give up."""

from __future__ import annotations

import dataclasses
import json
import urllib.request

import psycopg
import pytest

from streamvault import config
from streamvault.generator.model import GeneratorOptions, RedisWrite, Timeline
from streamvault.generator.publish import publish
from streamvault.db.sqlfiles import sql
from streamvault.generator.simulator import build_timeline
from streamvault.runtime.stage import Stage
from streamvault.services import build_loop
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import cli, pg_connect, redis_client, wait_for

NUL_REASON = "is malformed: contains a NUL character (\\u0000), which PostgreSQL text cannot store"


def _plain_timeline(seed: int, orders: int) -> Timeline:
    """Orders without faults, so that every parked order is parked by what the test does."""
    return build_timeline(GeneratorOptions(seed=seed, orders=orders, unknown_ids=0, malformed=0, duplicates=0,
                                           late=0, flips=0, reference_changes=0, non_orders=0))


def _publish(events: tuple, timeline: Timeline, pipeline: Pipeline) -> None:
    publish(dataclasses.replace(timeline, events=events), config.load(config.KafkaSettings),
            config.load(config.RedisSettings), pipeline.source_topic, progress=False)


def _loaded_orders(pipeline: Pipeline) -> set[int]:
    with pipeline.connect() as conn:
        return {order_id for (order_id,) in conn.execute("SELECT order_id FROM dds.h_order")}


def test_a_restaurant_named_with_nul_parks_its_orders_with_that_reason_until_the_record_is_fixed(pipeline):
    """PostgreSQL text cannot hold NUL, so such a Redis record is malformed reference data, not a bad order:
    its orders wait (never in DDS's dead letters), the orders after them go on, and a fixed record completes them."""
    timeline = _plain_timeline(seed=808, orders=60)
    orders = [json.loads(m.value) for m in timeline.messages if m.kind == "order"]
    restaurant = orders[0]["payload"]["restaurant"]["id"]
    held = {o["object_id"] for o in orders if o["payload"]["restaurant"]["id"] == restaurant}
    after = {o["object_id"] for o in orders[1:]} - held
    assert held and after, "the scenario has orders of that restaurant and of others after its first one"
    good_record = next(e.value for e in reversed(timeline.events) if isinstance(e, RedisWrite) and e.key == restaurant)
    bad_record = json.dumps({**json.loads(good_record), "name": "Rest\u0000Five"}).encode()
    events = tuple(dataclasses.replace(e, value=bad_record) if isinstance(e, RedisWrite) and e.key == restaurant
                   else e for e in timeline.events)

    pipeline.start_all()
    _publish(events, timeline, pipeline)
    pipeline.wait_drained(parked=len(held), timeout=90)
    with pipeline.connect() as conn:
        parked = dict(conn.execute("SELECT object_id, missing FROM stg.parked_orders").fetchall())
    assert parked == {order_id: [f"restaurant:{restaurant} {NUL_REASON}"] for order_id in held}
    assert _loaded_orders(pipeline) == {o["object_id"] for o in orders} - held
    assert pipeline.read_topic(pipeline.dlq("dds"), timeout=5) == []

    redis_client().set(restaurant, good_record)
    pipeline.wait_drained()
    assert _loaded_orders(pipeline) == {o["object_id"] for o in orders}
    assert pipeline.read_topic(pipeline.dlq("stg"), timeout=5) == []
    assert pipeline.read_topic(pipeline.dlq("dds"), timeout=5) == []


# --- retries and expiry ---------------------------------------------------------------------------

@pytest.fixture
def stg_stage(empty_database) -> Stage:
    """The STG stage as the service builds it, on a migrated database, driven by the test."""
    assert cli("migrate").returncode == 0
    return build_loop("stg").stage


def _park_orders_of_unknown_users(conn: psycopg.Connection, seed: int, orders: int) -> list[int]:
    """Orders of a timeline whose reference data is never written to Redis, parked as STG parks them."""
    messages = [json.loads(m.value) for m in _plain_timeline(seed, orders).messages if m.kind == "order"]
    with conn.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO stg.parked_orders (object_id, update_ts, sent_dttm, message, missing, source_topic,"
            " source_partition, source_offset) VALUES (%s, %s, %s, %s, %s, 'orders', 0, %s)",
            [(m["object_id"], m["payload"]["update_ts"], m["sent_dttm"], json.dumps(m),
              [f"user:{m['payload']['user']['id']}"], offset) for offset, m in enumerate(messages)])
    return [m["object_id"] for m in messages]


def _idle_round(stage: Stage, conn: psycopg.Connection) -> list:
    with conn.transaction():
        return stage.idle(conn)


def _row_versions(conn: psycopg.Connection) -> dict[int, str]:
    return dict(conn.execute("SELECT object_id, xmin::text FROM stg.parked_orders").fetchall())


def test_an_order_still_blocked_is_not_rewritten_before_its_next_attempt(stg_stage):
    """Re-driving every parked order every round rewrote the whole table every 2 s for nothing."""
    with pg_connect(autocommit=True) as conn:
        _park_orders_of_unknown_users(conn, seed=909, orders=30)
        assert _idle_round(stg_stage, conn) == []  # tried once, still missing
        tried = _row_versions(conn)
        for _ in range(3):
            assert _idle_round(stg_stage, conn) == []
        assert _row_versions(conn) == tried


def test_the_wait_between_attempts_doubles_up_to_the_cap(empty_database, monkeypatch):
    monkeypatch.setenv("STREAMVAULT_PARKED_RETRY_MAX_SECONDS", "10")
    assert cli("migrate").returncode == 0
    stage = build_loop("stg").stage
    waits = []
    with pg_connect(autocommit=True) as conn:
        _park_orders_of_unknown_users(conn, seed=910, orders=5)
        for _ in range(5):
            conn.execute("UPDATE stg.parked_orders SET next_attempt_at = now()")  # as if the wait were over
            before = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            _idle_round(stage, conn)
            after = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            (attempts, due), = conn.execute("SELECT DISTINCT attempts, next_attempt_at FROM stg.parked_orders")
            waits.append((attempts, (due - after).total_seconds(), (due - before).total_seconds()))
    assert [attempts for attempts, _, _ in waits] == [1, 2, 3, 4, 5]
    for wait, (_, shortest, longest) in zip([2, 4, 8, 10, 10], waits):
        assert shortest <= wait <= longest


def _park_many(conn: psycopg.Connection, orders: int) -> list[tuple]:
    """Orders waiting as an hour of the generator's unknown ids leaves them (1 % of 1,000 a second)."""
    return conn.execute("""
        INSERT INTO stg.parked_orders (object_id, update_ts, sent_dttm, message, missing, source_topic,
                                       source_partition, source_offset)
        SELECT o, timestamp '2024-03-01' + o * interval '1 s', timestamp '2024-03-01' + o * interval '1 s',
               '{}', ARRAY['user:u' || o], 'orders', 0, o
        FROM generate_series(1, %(orders)s) AS o
        RETURNING object_id, update_ts, sent_dttm, message::text, missing, source_topic, source_partition,
                  source_offset""", {"orders": orders}).fetchall()


def _rows_scanned_of_parked_orders(conn: psycopg.Connection) -> int:
    """Rows of stg.parked_orders read by sequential scans in this transaction so far."""
    return conn.execute("SELECT seq_tup_read FROM pg_stat_xact_user_tables"
                        " WHERE relid = 'stg.parked_orders'::regclass").fetchone()[0]


def test_a_batch_finds_its_parked_versions_without_reading_every_order_that_waits(stg_stage):
    """Joined with the batch's temp table, the delete of versions gone downstream and the deferral of those
    still blocked scanned all of stg.parked_orders, in every batch: 15,000 orders waited after 45 minutes of the
    soak, and STG spent a third of its time there. A scan may still be the cheaper plan for a batch as large as a
    tenth of the orders that wait (a backlog's), or before autovacuum has first analysed the table; what must
    not happen is a scan whatever the batch."""
    with pg_connect(autocommit=True) as conn:
        parked = _park_many(conn, 40_000)
        conn.execute("ANALYZE stg.parked_orders")  # as autovacuum does while the table grows
        with conn.transaction():
            conn.execute(sql("streamvault.stg", "temp_tables.sql"))
            # A batch at 1,000 orders/s: ~100 versions, some of them parked before.
            forwarded = [row[:3] for row in parked[:50]] + [(10**9 + n, *parked[n][1:3]) for n in range(50)]
            stg_stage.parking.unpark(conn, forwarded)
            stg_stage.parking.defer(conn, parked[50:150])
            assert _rows_scanned_of_parked_orders(conn) <= 1  # "is anything parked?" stops at the first row
        attempts = dict(conn.execute("SELECT attempts, count(*) FROM stg.parked_orders GROUP BY 1").fetchall())
    assert attempts == {0: 40_000 - 150, 1: 100}


def _metric(pipeline: Pipeline, service: str, name: str) -> float:
    url = f"http://127.0.0.1:{pipeline.running[(service, 0)].http_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(name))


def test_an_order_parked_longer_than_its_bound_goes_to_the_dead_letter_topic_with_what_it_waited_for(
        pipeline, monkeypatch):
    """Waiting for ever is losing the order silently; a dead letter says why it never arrived."""
    monkeypatch.setenv("STREAMVAULT_PARKED_MAX_AGE_SECONDS", "3")
    timeline = _plain_timeline(seed=911, orders=30)
    orders = [json.loads(m.value) for m in timeline.messages if m.kind == "order"]
    user = orders[0]["payload"]["user"]["id"]
    held = {o["object_id"] for o in orders if o["payload"]["user"]["id"] == user}
    others = tuple(e for e in timeline.events if not (isinstance(e, RedisWrite) and e.key == user))

    pipeline.start("stg")
    _publish(others, timeline, pipeline)
    wait_for(lambda: len(pipeline.read_topic(pipeline.dlq("stg"))) == len(held),
             "the held orders in the dead-letter topic", timeout=60)
    letters = pipeline.read_topic(pipeline.dlq("stg"))
    assert {json.loads(letter.value())["object_id"] for letter in letters} == held
    for letter in letters:
        headers = {key: value.decode() for key, value in letter.headers()}
        assert headers["error"].endswith(f"waiting for: user:{user}")
        assert headers["source_topic"] == pipeline.source_topic
    assert pipeline.parked() == 0
    wait_for(lambda: _metric(pipeline, "stg", "streamvault_parked_expired_total") == len(held), "expiries counted")
    status = cli("status", "--json", env=pipeline.env("stg", 0, pipeline.running[("stg", 0)].http_port))
    assert json.loads(status.stdout)["parked_expired"] == len(held)
