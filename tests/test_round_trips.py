"""How often a loader waits for PostgreSQL per batch (docs/performance.md): on a busy machine every wait is
a wait to be scheduled, so a batch's time grows with its round trips, not its rows."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec
import psycopg
import pytest
from confluent_kafka import Producer
from psycopg.pq import Trace

from streamvault.contracts.stg import StgOrderMessage
from streamvault.runtime import database
from streamvault.runtime.stage import Record
from streamvault.services import build_loop
from streamvault.testing.inprocess import in_process, run_until
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.records import stg_orders
from streamvault.testing.support import kafka_config, pg_connect

# Frontend messages after which libpq waits for the server's answer: a simple query, a pipeline's Sync or Flush.
_ANSWERED = {"Query", "Sync", "Flush"}


def waits_for_the_server(conn: psycopg.Connection, work: Callable[[], object]) -> int:
    """How many times `work` asked PostgreSQL for an answer, from libpq's protocol trace."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
        try:
            work()
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        return sum(1 for kind in re.findall(r"^F\t\d+\t(\w+)", trace.read(), re.MULTILINE) if kind in _ANSWERED)


def batches_of_orders() -> list[list[Record[StgOrderMessage]]]:
    """A small batch, a large one, and newer versions of its orders."""
    later = datetime(2024, 3, 1, 10)
    return [stg_orders(10, 1, later), stg_orders(500, 100, later), stg_orders(500, 100, later + timedelta(minutes=5))]


def test_dds_loads_a_batch_in_the_same_few_round_trips_whatever_its_size(migrated):
    """Every hub, link and satellite insert and every satellite read of a batch share two round trips
    (psycopg pipeline): new orders, known keys and newer versions alike."""
    dds = build_loop("dds").stage
    with pg_connect(autocommit=True) as conn:
        waits = []
        for batch in batches_of_orders():
            with conn.transaction():
                waits.append(waits_for_the_server(conn, lambda: dds.load(conn, batch)))
        assert conn.execute("SELECT count(*) FROM dds.s_order_status").fetchone()[0] == 10 + 500  # the newer
        # versions change no status: their watermark moves
    # At most: psycopg skips asking for the satellite reads when their answers have already come (a busy
    # machine saw [2, 3, 3]); a loader writing row by row would wait hundreds of times for 500 orders.
    assert max(waits) <= 3, waits


def test_cdm_applies_a_batch_in_one_round_trip_whatever_its_size(migrated):
    """The marts' batch is sent whole (psycopg pipeline): its temp tables, names, contributions and deltas."""
    dds, cdm = build_loop("dds").stage, build_loop("cdm").stage
    with pg_connect(autocommit=True) as conn:
        waits = []
        for batch in batches_of_orders():
            with conn.transaction():
                outputs = dds.load(conn, batch)
                records = [Record(cdm.decode(output.value), None) for output in outputs]
                waits.append(waits_for_the_server(conn, lambda: cdm.load(conn, records)))
        counted = conn.execute("SELECT sum(order_cnt) FROM cdm.user_product_counters").fetchone()[0]
    assert counted == 5 + 250  # the odd order ids are CLOSED
    assert waits[0] == waits[1] == waits[2] <= 2, waits


def test_a_batch_that_loads_whole_takes_no_savepoint(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch):
    """A savepoint costs a batch two round trips (SAVEPOINT, RELEASE). The loop loads a batch whole first and
    takes savepoints only to bisect a batch that failed, to the message that fails on its own."""
    trace = tempfile.TemporaryFile("w+")

    class TracedPool(database.ConnectionPool):
        def __init__(self, *args, configure, **kwargs):
            def configure_and_trace(conn: psycopg.Connection) -> None:
                configure(conn)
                conn.pgconn.trace(trace.fileno())
                conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
            super().__init__(*args, configure=configure_and_trace, **kwargs)

    monkeypatch.setattr(database, "ConnectionPool", TracedPool)
    producer = Producer(kafka_config())
    for number, record in enumerate(stg_orders(40, 1, datetime(2024, 3, 1, 10))):
        producer.produce(pipeline.topic("dds"), msgspec.json.encode(record.value), key=str(number).encode())
        if number % 10 == 9:
            producer.flush(10)  # in several fetches: several batches
    loop = in_process(pipeline, "dds", monkeypatch)

    def loaded() -> bool:
        with pipeline.connect() as conn:
            return conn.execute("SELECT count(*) FROM dds.h_order").fetchone()[0] == 40

    run_until(loop, [(loaded, "the orders loaded", lambda: None)])
    with trace:
        trace.seek(0)
        commands = re.findall(r'^F\t\d+\tQuery\t "(\w+)', trace.read(), re.MULTILINE)
    assert "BEGIN" in commands, commands
    assert "SAVEPOINT" not in commands and "RELEASE" not in commands, commands
