"""A transaction no producer will end holds back a partition a service reads (runtime/hanging.py): the service
says which, at what offset and how to abort it, and is ready again once it is aborted."""

from __future__ import annotations

import json
import re
import urllib.request

from confluent_kafka import Producer

from streamvault import config
from streamvault.kafka import lag
from streamvault.runtime.hanging import Held, follow, offsets
from streamvault.stack import Stack
from streamvault.stack.kafka import Kafka
from streamvault.testing.forensics import TRANSACTIONS
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


def test_a_service_held_back_by_a_transaction_left_open_says_where_and_how_to_abort_it(pipeline: Pipeline,
                                                                                         stack: Stack):
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

    # The operator's repair, as the reason gives it (Kafka's own tool on the stack's jars).
    kafka = next(server for server in stack.servers if isinstance(server, Kafka))
    aborted = kafka.tool(TRANSACTIONS, *command)
    assert aborted.returncode == 0, aborted.stderr
    wait_for(lambda: pipeline.readiness("dds")[0] == 200, "dds ready again")
    wait_for(lambda: lag.caught_up(config.load(config.KafkaSettings), pipeline.group("dds"), topic),
             "dds to read past the aborted transaction")

    log = pipeline.running[("dds", 0)].log.read_text()
    assert len(re.findall(r"not ready: Kafka: a transaction left open", log)) == 1, log
    assert len(re.findall(r"is no longer held back by a transaction left open", log)) == 1, log
