"""A backlog that appears at one instant: published to a staging topic, then copied to the source topic in one
Kafka transaction, so that read_committed services see all of it at once (benchmarks time from that commit;
tests know the services have all of it still before them)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from streamvault.testing.support import kafka_config


def read_all(topic: str, messages: int) -> tuple[list[Message], float]:
    """Every message of the topic, and how many per second a bare read_committed consumer reads."""
    consumer = Consumer(kafka_config(**{"group.id": f"bench-{uuid.uuid4().hex}", "isolation.level": "read_committed",
                                        "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
    read, started = [], time.perf_counter()
    while len(read) < messages:
        read += [m for m in consumer.consume(5000, 1.0) if not m.error()]
    elapsed = time.perf_counter() - started
    consumer.close()
    return read, messages / elapsed


def copy_in_one_transaction(messages: list[Message], topic: str) -> None:
    producer = Producer(kafka_config(**{"transactional.id": f"bench-{uuid.uuid4().hex}", "linger.ms": 20,
                                        "compression.type": "lz4", "message.max.bytes": 4 * 1_048_576}))
    producer.init_transactions(30)
    producer.begin_transaction()
    for message in messages:
        while True:
            try:
                producer.produce(topic, value=message.value(), key=message.key())  # partitioned by key, as published
                break
            except BufferError:
                producer.poll(0.1)
    producer.commit_transaction(120)
