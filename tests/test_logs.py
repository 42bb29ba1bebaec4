"""The services' logs are what an operator runs the pipeline from (docs/operations.md): what each process
started with, which partitions it owns, every change of state once, a periodic summary; one JSON object
per line for a collector; never a password; never a flood while a server is down or a record stays bad."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import time
from collections import Counter

from confluent_kafka import KafkaError, KafkaException

from streamvault import config
from streamvault.generator.model import GeneratorOptions, RedisWrite
from streamvault.generator.publish import publish
from streamvault.generator.simulator import build_timeline
from streamvault.runtime.logs import DeadLetterLog
from streamvault.runtime.outage import KafkaOutage
from streamvault.testing.pipeline import SERVICES, Pipeline, Replica
from streamvault.testing.support import redis_client, wait_for

STABLE_FIELDS = ("ts", "level", "service", "instance", "event")
KAFKA_SECRET = "kafka-Secret-0f3e9b"  # set as KAFKA_CONSUMER_PASSWORD: it must never be printed


def _publish(pipeline: Pipeline, seed: int, orders: int, events: tuple | None = None, **faults) -> None:
    timeline = build_timeline(GeneratorOptions(seed=seed, orders=orders, users=30, restaurants=6, **faults))
    if events is not None:
        timeline = dataclasses.replace(timeline, events=events)
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings), pipeline.source_topic,
            progress=False)


def _json_lines(replica: Replica) -> list[dict]:
    return [json.loads(line) for line in replica.log.read_text().splitlines()]


def _events(replica: Replica, event: str) -> list[dict]:
    return [line for line in _json_lines(replica) if line["event"] == event]


def _partitions(replica: Replica, event: str) -> set[int]:
    return {p for line in _events(replica, event) for p in line["partitions"]}


def test_json_logs_say_what_each_process_serves_owns_and_does_and_never_carry_a_secret(pipeline):
    """Scale out to three replicas per service, in to one, out to two, in JSON: every line parses with the stable
    fields; each process names its topics, group and servers at start, every partition it got and lost;
    the union covers every partition; dead letters and the summary show; no password appears anywhere."""
    pipeline.overrides.update({"STREAMVAULT_LOG_FORMAT": "json", "STREAMVAULT_LOG_SUMMARY_SECONDS": "2",
                               "KAFKA_CONSUMER_USERNAME": "loader", "KAFKA_CONSUMER_PASSWORD": KAFKA_SECRET})
    secrets = [KAFKA_SECRET, os.environ["PG_WAREHOUSE_PASSWORD"], os.environ["REDIS_PASSWORD"]]
    pipeline.start_all()
    wait_for(lambda: all(_events(pipeline.running[(s, 0)], "partitions_assigned") for s in SERVICES),
             "the first replicas assigned")
    _publish(pipeline, seed=1501, orders=300, malformed=0.05, unknown_ids=0)
    for index in (1, 2):
        for service in SERVICES:
            pipeline.start(service, index)
    wait_for(lambda: all(_events(r, "partitions_assigned") for r in pipeline.running.values()),
             "every replica assigned partitions")
    pipeline.wait_drained()
    replicas = list(pipeline.running.values())
    for index in (1, 2):
        for service in SERVICES:
            pipeline.kill(service, index, signal.SIGTERM)
            del pipeline.running[(service, index)]  # scaled in: its exit is no failure
    pipeline.wait_drained()
    assigned_before = {s: len(_events(pipeline.running[(s, 0)], "partitions_assigned")) for s in SERVICES}
    replicas += [pipeline.start(service, 1) for service in SERVICES]  # and out again, to two
    wait_for(lambda: all(len(_events(pipeline.running[(s, 0)], "partitions_assigned")) > assigned_before[s]
                         and len(_events(pipeline.running[(s, 1)], "started")) == 2 for s in SERVICES),
             "the new replicas joined")
    wait_for(lambda: all(len(_events(pipeline.running[(s, 1)], "partitions_assigned")) > 1 for s in SERVICES),
             "the new replicas assigned")
    wait_for(lambda: _events(pipeline.running[("stg", 0)], "summary"), "a summary")
    pipeline.stop_all()

    for replica in {r.log: r for r in replicas}.values():  # a replica started again appends to its log
        text = replica.log.read_text()
        assert not [secret for secret in secrets if secret in text], replica.log
        lines = _json_lines(replica)
        assert all(all(name in line for name in STABLE_FIELDS) for line in lines), replica.log
        assert {(line["service"], line["instance"]) for line in lines} == {
            (f"{replica.service}-service", f"r{replica.index}")}
        starts = _events(replica, "started")
        assert starts[-1]["http_port"] == replica.http_port
        for started in starts:
            assert started["source_topic"] == pipeline.topic(replica.service)
            assert started["destination_topic"] == pipeline.destination(replica.service)
            assert started["dlq_topic"] == pipeline.dlq(replica.service)
            assert started["group"] == pipeline.group(replica.service)
            assert started["servers"]["kafka"] == f"{os.environ['KAFKA_HOST']}:{os.environ['KAFKA_PORT']}"
        assert _partitions(replica, "partitions_assigned")
        if replica.index > 0:  # stopped: it gave back everything it had
            assert _partitions(replica, "partitions_revoked") == _partitions(replica, "partitions_assigned")
    for service in SERVICES:
        assert set().union(*(_partitions(r, "partitions_assigned") for r in replicas if r.service == service)) == set(
            range(pipeline.partitions))
        assert _partitions(pipeline.running[(service, 0)], "partitions_revoked"), "the first replica gave some up"

    letters = [line for r in replicas if r.service == "stg"
               for line in _events(r, "dead_lettered") + _events(r, "dead_letters_summarised")]
    assert letters and all(line["topic"] == pipeline.source_topic for line in letters if "offset" in line)
    summary = _events(pipeline.running[("stg", 0)], "summary")[-1]
    assert {"messages_in", "messages_out", "dead_lettered", "parked", "lag", "batch_p50_ms", "batch_p99_ms"} <= set(
        summary)


def test_a_broker_outage_is_one_line_when_it_begins_and_one_when_it_ends(pipeline, stack):
    """librdkafka retried the connection every second or so and printed each attempt, in every client."""
    pipeline.overrides["STREAMVAULT_LOG_FORMAT"] = "json"
    pipeline.start_all()
    wait_for(lambda: all(_events(r, "partitions_assigned") for r in pipeline.running.values()), "assignments")
    before = {key: len(_json_lines(r)) for key, r in pipeline.running.items()}
    kafka = next(server for server in stack.servers if server.name == "kafka")
    kafka.stop()
    try:
        time.sleep(20)  # the outage itself; nothing is measured against the clock
    finally:
        kafka.launch()
        kafka.await_healthy()
    wait_for(lambda: all(_events(r, "kafka_outage_ended") for r in pipeline.running.values()),
             "every service saw the outage end", timeout=120)
    _publish(pipeline, seed=1502, orders=20, malformed=0, unknown_ids=0)
    pipeline.wait_drained()

    for key, replica in pipeline.running.items():
        during = _json_lines(replica)[before[key]:]
        events = Counter(line["event"] for line in during)
        assert events["kafka_outage_began"] == 1 and events["kafka_outage_ended"] == 1, (key, during)
        assert len(during) <= 8, (key, [line.get("message") for line in during])
        ended, = _events(replica, "kafka_outage_ended")
        assert ended["seconds"] >= 1


def test_all_brokers_down_that_the_next_metadata_request_disproves_is_no_outage(caplog):
    """Just after a broker restarts, librdkafka can report every broker down for a moment while one answers:
    that flap is not a change of state, so it prints nothing; a report the broker confirms is one line."""
    def answers():
        return None

    def refuses():
        raise KafkaException(KafkaError(KafkaError._TRANSPORT))

    outage = KafkaOutage("dds")
    with caplog.at_level(logging.INFO):
        outage.on_error(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
        assert outage.reason, "not ready while no broker is known to answer"
        outage.check(answers)
        assert outage.reason is None
        assert [record.event for record in caplog.records] == []

        outage.on_error(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
        outage.check(refuses)
        outage.check(refuses)
        outage.on_error(KafkaError(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down"))
        outage.check(answers)
    assert [record.event for record in caplog.records] == ["kafka_outage_began", "kafka_outage_ended"]


def test_a_malformed_reference_record_is_reported_once_however_often_its_order_is_retried(pipeline):
    """The parked order is re-driven every few seconds; the record is news once (per version of it)."""
    timeline = build_timeline(GeneratorOptions(seed=1503, orders=5, users=30, restaurants=6, unknown_ids=0,
                                               malformed=0, duplicates=0, late=0, flips=0, reference_changes=0,
                                               non_orders=0))
    user = json.loads(next(m.value for m in timeline.messages if m.kind == "order"))["payload"]["user"]["id"]
    events = tuple(dataclasses.replace(e, value=b'{"_id": "broken') if isinstance(e, RedisWrite) and e.key == user
                   else e for e in timeline.events)
    pipeline.start("stg")
    publish(dataclasses.replace(timeline, events=events), config.load(config.KafkaSettings),
            config.load(config.RedisSettings), pipeline.source_topic, progress=False)
    wait_for(lambda: pipeline.parked() > 0, "the order parked")
    time.sleep(30)  # several re-drives (every 2-4 s in tests)
    replica = pipeline.running[("stg", 0)]
    warnings = [line for line in replica.log.read_text().splitlines() if f"user:{user}" in line]
    assert len(warnings) == 1, warnings

    redis_client().set(user, b'{"_id": "still broken')  # another version of the record is news again
    wait_for(lambda: sum(f"user:{user}" in line for line in replica.log.read_text().splitlines()) == 2,
             "the new version reported", timeout=30)


def test_a_flood_of_dead_letters_is_a_few_lines_and_then_one_count(caplog):
    """A producer sending thousands of bad messages must not bury every other line of the log."""
    letters = DeadLetterLog(logging.getLogger("test"), "stg-service", burst=3, period_s=3600)
    with caplog.at_level(logging.INFO):
        for offset in range(10):
            letters.sent("orders", 0, offset, "invalid order payload")
        letters.period_s = 0  # the period is over
        letters.flush()
    events = [(record.event, record.fields) for record in caplog.records]
    assert events == [("dead_lettered", {"topic": "orders", "partition": 0, "offset": offset,
                                         "reason": "invalid order payload"}) for offset in range(3)] + [
        ("dead_letters_summarised", {"count": 7})]
