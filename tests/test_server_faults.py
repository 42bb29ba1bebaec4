"""A problem of the servers is never taken for bad data: the batch waits, the service says why it is not
ready, and it resumes by itself (docs/spec.md §3). Nothing is dead-lettered for it."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request

from streamvault import config
from streamvault.generator.model import GeneratorOptions
from streamvault.generator.publish import publish
from streamvault.generator.simulator import build_timeline
from streamvault.services import build_loop
from streamvault.testing.expected import assert_warehouse_matches, compute
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import wait_for

MARTS = ("cdm.user_product_counters", "cdm.user_category_counters")
# No status flips: no pair ever falls back to zero, so every id drawn is a row that exists.
NO_FLIPS = dict(duplicates=0.05, late=0.02, flips=0, reference_changes=0.02, unknown_ids=0, malformed=0.01,
                non_orders=0.01)


def readiness(pipeline: Pipeline, service: str) -> tuple[int, dict]:
    url = f"http://127.0.0.1:{pipeline.running[(service, 0)].http_port}/ready"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def publish_timeline(pipeline: Pipeline, seed: int, orders: int, **faults):
    timeline = build_timeline(GeneratorOptions(seed=seed, orders=orders, users=30, restaurants=6, **faults))
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings), pipeline.source_topic,
            progress=False)
    return compute(timeline.events)


def set_next_id(pipeline: Pipeline, value: int | None) -> None:
    """Make `value` both marts' next id; None: past the end of their sequences."""
    with pipeline.connect() as conn:
        for table in MARTS:
            sequence = conn.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).fetchone()[0]
            if value is None:
                conn.execute("SELECT setval(%s::regclass, max_value) FROM pg_sequences "
                             "WHERE schemaname || '.' || sequencename = %s", (sequence, sequence))
            else:
                conn.execute("SELECT setval(%s::regclass, %s, false)", (sequence, value))


def test_mart_ids_go_past_two_to_the_31_and_are_drawn_only_for_new_pairs(pipeline):
    """32-bit ids ran out after ~10^9 orders; and each update of an existing pair burned one."""
    start = 2**31 - 20
    set_next_id(pipeline, start)
    pipeline.start_all()
    expected = publish_timeline(pipeline, seed=1603, orders=400, **NO_FLIPS)
    pipeline.wait_drained(parked=expected.parked)

    with pipeline.connect() as conn:
        assert_warehouse_matches(conn, expected)
        for table in MARTS:
            rows, lowest, highest = conn.execute(f"SELECT count(*), min(id), max(id) FROM {table}").fetchone()
            assert lowest == start and highest > 2**31
            assert highest - lowest + 1 == rows, f"{table}: ids drawn for rows that already existed"
    assert pipeline.read_topic(pipeline.dlq("cdm"), timeout=5) == []


def test_an_exhausted_id_sequence_is_a_server_problem_not_bad_data(pipeline):
    """SQLSTATE 2200H is a DataError, but about the server: CDM waits, unready, and dead-letters nothing."""
    set_next_id(pipeline, None)
    pipeline.start_all()
    expected = publish_timeline(pipeline, seed=1604, orders=150, **NO_FLIPS)

    def unready_saying_why() -> bool:
        status, state = readiness(pipeline, "cdm")
        return status == 503 and "SequenceGeneratorLimitExceeded" in str(state.get("reason"))

    wait_for(unready_saying_why, "CDM not ready, naming the exhausted sequence")
    set_next_id(pipeline, 1)  # an operator's fix: the marts are still empty
    pipeline.wait_drained(parked=expected.parked)
    with pipeline.connect() as conn:
        assert_warehouse_matches(conn, expected)
    assert pipeline.read_topic(pipeline.dlq("cdm"), timeout=5) == []
    wait_for(lambda: readiness(pipeline, "cdm")[0] == 200, "CDM ready again")


def test_service_connections_carry_timeouts_and_name_their_service(pipeline, monkeypatch):
    """Connect, keepalive and statement timeouts, so that a dead or frozen server shows; the session is
    named after its service, so an operator finds it in pg_stat_activity."""
    monkeypatch.setenv("STREAMVAULT_PG_STATEMENT_TIMEOUT_SECONDS", "45")
    for name, value in pipeline.env("cdm", 0, 0).items():
        monkeypatch.setenv(name, value)
    loop = build_loop("cdm")
    loop.pool.open(wait=True, timeout=30)
    try:
        with loop.pool.connection() as conn:
            shown = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                     for name in ("statement_timeout", "application_name")}
            client = conn.info.get_parameters()
    finally:
        loop.pool.close()
    assert shown == {"statement_timeout": "45s", "application_name": "cdm-service"}
    assert {name: client.get(name) for name in ("connect_timeout", "keepalives", "keepalives_idle")} == \
        {"connect_timeout": "10", "keepalives": "1", "keepalives_idle": "30"}


def test_a_frozen_postgresql_backend_makes_the_service_unready_until_it_thaws(pipeline, monkeypatch):
    """With CDM's backend stopped (SIGSTOP), /ready said 200 for as long as it lasted."""
    monkeypatch.setenv("STREAMVAULT_STUCK_BATCH_SECONDS", "3")
    pipeline.start_all()
    expected = publish_timeline(pipeline, seed=1605, orders=60, **NO_FLIPS)
    pipeline.wait_drained(parked=expected.parked)
    with pipeline.connect() as conn:
        backends = [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = 'cdm-service'",
            (pipeline.database,))]
    assert backends, "CDM's PostgreSQL sessions are found by their application name"

    stopped = []
    try:
        for pid in backends:
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
        publish_timeline(pipeline, seed=1606, orders=60, **NO_FLIPS)

        def unready_saying_stuck() -> bool:
            status, state = readiness(pipeline, "cdm")
            return status == 503 and "stuck" in str(state.get("reason"))

        wait_for(unready_saying_stuck, "CDM not ready while its backend is frozen", timeout=60)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    wait_for(lambda: readiness(pipeline, "cdm")[0] == 200, "CDM ready once the backend runs again")
    pipeline.wait_drained(parked=expected.parked)
    assert pipeline.read_topic(pipeline.dlq("cdm"), timeout=5) == []
