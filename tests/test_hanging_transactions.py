"""A transaction no producer will end holds back a partition a service reads (runtime/hanging.py): the service
says which, at what offset and how to abort it, aborts it itself when no coordinator has it open
(kafka/transactions.py), and is ready again once it is aborted."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request

from confluent_kafka import Producer

from streamvault import config
from streamvault.kafka import lag
from streamvault.runtime.hanging import HangingTransactions, Held, follow, offsets
from streamvault.stack import Stack
from streamvault.stack.kafka import Kafka
from streamvault.testing.forensics import TRANSACTIONS
from streamvault.testing.hanging import write_hanging_transaction
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import kafka_config, wait_for


def _statistics(**partitions: tuple[int, int]) -> str:
    """librdkafka's statistics with partitions named p<number>: (last stable offset, high watermark)."""
    shown = {name[1:]: {"ls_offset": stable, "hi_offset": end} for name, (stable, end) in partitions.items()}
    return json.dumps({"topics": {"t": {"partitions": {**shown, "-1": {"ls_offset": -1, "hi_offset": -1}}}}})


def test_offsets_are_read_from_the_statistics_of_partitions_fetched_so_far():
    assert offsets(_statistics(p0=(5, 9), p1=(-1001, -1001), p2=(7, 7))) == {("t", 0): (5, 9), ("t", 2): (7, 7)}


def test_a_partition_is_held_from_when_its_last_stable_offset_was_first_seen_with_data_past_it():
    seen = {("t", 0): (5, 9), ("t", 1): (7, 7), ("t", 2): (3, 4)}
    held = follow({}, seen, [("t", 0), ("t", 1)], now=10.0)
    assert held == {("t", 0): Held(5, 9, 10.0)}  # t[1] has nothing past it; t[2] is not assigned

    assert follow(held, {("t", 0): (5, 12)}, [("t", 0)], now=20.0) == {("t", 0): Held(5, 12, 10.0)}
    # A last stable offset that moves is transactions ending, each in time: held anew, from now.
    assert follow(held, {("t", 0): (6, 12)}, [("t", 0)], now=20.0) == {("t", 0): Held(6, 12, 20.0)}
    assert follow(held, {("t", 0): (12, 12)}, [("t", 0)], now=20.0) == {}


def test_an_abort_is_tried_once_a_partition_is_held_past_the_bound_and_again_every_bound_while_refused(caplog):
    tried: list[tuple[str, int, int]] = []
    done = threading.Semaphore(0)

    def refuse(topic: str, partition: int, offset: int) -> str:
        tried.append((topic, partition, offset))
        done.release()
        raise RuntimeError("the coordinator has it open")

    hanging = HangingTransactions("dds", 30, "b:9092", refuse)
    hanging.assigned = [("t", 0)]
    with caplog.at_level(logging.INFO):
        for now in (100.0, 129.0):  # held from 100, not yet past the bound
            hanging.on_statistics(_statistics(p0=(5, 9)), now)
        assert tried == []
        for now in (130.0, 135.0, 159.0, 160.0):  # past it at 130, again at 160
            hanging.on_statistics(_statistics(p0=(5, 9)), now)
        for _ in range(2):
            assert done.acquire(timeout=5)
        assert tried == [("t", 0, 5), ("t", 0, 5)]
        wait_for(lambda: any(r.event == "hanging_transaction_abort_refused" for r in caplog.records),
                 "the refusal's line", timeout=5)
        time.sleep(0.2)  # the second attempt's thread has ended too
        assert hanging.reason is not None
        hanging.on_statistics(_statistics(p0=(9, 9)), 165.0)  # released
        assert hanging.reason is None
    events = [record.event for record in caplog.records]
    assert events.count("hanging_transaction_abort_refused") == 1, "one line, however often it is tried"
    assert events.count("not_ready") == 1 and events.count("hanging_transaction_ended") == 1


def test_a_service_held_back_by_a_transaction_its_coordinator_has_open_says_where_and_how_to_abort_it(
        pipeline: Pipeline, stack: Stack):
    """Open past the bound but still open at its coordinator: the service does not abort it (that coordinator
    will end it, and may have committed it), it names the operator's repair."""
    pipeline.overrides["STREAMVAULT_HANGING_TRANSACTION_SECONDS"] = "3"
    topic = pipeline.topic("dds")
    pipeline.start("dds")
    wait_for(lambda: pipeline.readiness("dds")[0] == 200, "dds ready")

    # A producer opens a transaction on partition 0 and keeps it open (its timeout is 10 minutes); data
    # committed after it waits behind it.
    holder = Producer(kafka_config(**{"transactional.id": f"{pipeline.name}-holder", "transaction.timeout.ms": 600000}))
    holder.init_transactions(30)
    holder.begin_transaction()
    starts: list[int] = []
    holder.produce(topic, b"{}", partition=0, on_delivery=lambda error, message: starts.append(message.offset()))
    holder.flush(10)
    after = Producer(kafka_config())
    after.produce(topic, b"{}", partition=0)
    after.flush(10)
    start = starts[0]

    answers: list[tuple[int, str | None]] = []
    wait_for(lambda: answers.append(pipeline.readiness("dds")) or answers[-1][0] == 503, "dds not ready", timeout=60)
    reason = answers[-1][1]
    assert f"holds back {topic}[0] at offset {start}" in reason, reason
    command = re.search(r"kafka-transactions\.sh (.*)$", reason).group(1).split()
    assert command[command.index("abort"):] == ["abort", "--topic", topic, "--partition", "0",
                                                "--start-offset", str(start)]
    with urllib.request.urlopen(pipeline.url("dds", "/metrics"), timeout=5) as response:
        assert f'streamvault_hanging_transaction_seconds{{partition="0",service="dds-service",topic="{topic}"}}' \
            in response.read().decode()

    log = pipeline.running[("dds", 0)].log
    wait_for(lambda: "did not abort the transaction" in log.read_text(), "dds to try to abort it")
    refused = re.findall(r"did not abort the transaction holding back (\S+) at offset (\d+) \((\w+)", log.read_text())
    assert refused == [(f"{topic}[0]", str(start), "StillOpen")], log.read_text()

    # The operator's repair, as the reason gives it (Kafka's own tool on the stack's jars).
    kafka = next(server for server in stack.servers if isinstance(server, Kafka))
    aborted = kafka.tool(TRANSACTIONS, *command)
    assert aborted.returncode == 0, aborted.stderr
    wait_for(lambda: pipeline.readiness("dds")[0] == 200, "dds ready again")
    wait_for(lambda: lag.caught_up(config.load(config.KafkaSettings), pipeline.group("dds"), topic),
             "dds to read past the aborted transaction")

    said = log.read_text()
    assert len(re.findall(r"not ready: Kafka: a transaction left open", said)) == 1, said
    assert len(re.findall(r"is no longer held back by a transaction left open", said)) == 1, said
    assert len(re.findall(r"did not abort the transaction", said)) == 1, "one line, however often it is tried"
    assert "aborted the transaction" not in said


def test_a_service_aborts_a_transaction_no_coordinator_knows_and_reads_past_it(pipeline: Pipeline):
    """What issue 12's rare failure left: data of a transaction no coordinator has open. The service aborts it
    as the operator would, and reads on; the held data stays unread (aborted), what came after it is read."""
    pipeline.overrides["STREAMVAULT_HANGING_TRANSACTION_SECONDS"] = "3"
    topic = pipeline.topic("dds")
    pipeline.start("dds")
    wait_for(lambda: pipeline.readiness("dds")[0] == 200, "dds ready")

    settings = config.load(config.KafkaSettings)
    start = write_hanging_transaction(settings, topic, 0, b'{"held": true}')
    after = Producer(kafka_config())
    after.produce(topic, b'{"after": true}', partition=0)
    after.flush(10)

    log = pipeline.running[("dds", 0)].log
    wait_for(lambda: lag.caught_up(settings, pipeline.group("dds"), topic), "dds to read past the transaction",
             timeout=60)
    wait_for(lambda: pipeline.readiness("dds")[0] == 200, "dds ready again")
    said = log.read_text()
    assert re.findall(r"aborted the transaction holding back (\S+) at offset (\d+)", said) == [(f"{topic}[0]",
                                                                                              str(start))], said
    assert len(re.findall(r"not ready: Kafka: a transaction left open", said)) == 1, said
    assert len(re.findall(r"is no longer held back by a transaction left open", said)) == 1, said
    assert "did not abort" not in said
    # Read committed, partition 0 holds only what came after: the held data was aborted, not committed.
    assert [m.value() for m in pipeline.read_topic(topic) if m.partition() == 0] == [b'{"after": true}']
