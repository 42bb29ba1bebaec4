"""Kafka on one broker supports what the services rely on: transactions and read_committed reads."""

from __future__ import annotations

import shutil
import subprocess
import uuid

from confluent_kafka import Consumer, Producer

from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import kafka_config, poll_all


def _committed_consumer(group: str) -> Consumer:
    return Consumer(kafka_config(**{"group.id": group, "auto.offset.reset": "earliest",
                                    "isolation.level": "read_committed"}))


def test_read_committed_sees_committed_transactions_only(stack):
    topic = f"tx-{uuid.uuid4().hex}"
    producer = Producer(kafka_config(**{"transactional.id": f"test-{topic}"}))
    producer.init_transactions(60)
    producer.begin_transaction()
    producer.produce(topic, value=b"aborted")
    producer.flush()
    producer.abort_transaction(60)
    producer.begin_transaction()
    producer.produce(topic, value=b"committed-1")
    producer.produce(topic, value=b"committed-2")
    producer.commit_transaction(60)

    consumer = _committed_consumer(topic)
    consumer.subscribe([topic])
    try:
        values = [m.value() for m in poll_all(consumer, expected=3, timeout=15)]
    finally:
        consumer.close()
    # The topic is made on first use with the broker's three partitions: no order holds between two of them.
    assert sorted(values) == [b"committed-1", b"committed-2"]


def test_kcat_lists_the_broker_and_its_messages_reach_a_client(stack):
    kcat = shutil.which("kcat")
    assert kcat, "kcat is installed by `make install`"
    broker = f"127.0.0.1:{stack.settings.kafka_port}"
    listing = subprocess.run([kcat, "-b", broker, "-L"], capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert f"broker 1 at {broker}" in listing.stdout

    topic = f"kcat-{uuid.uuid4().hex}"
    produced = subprocess.run([kcat, "-b", broker, "-t", topic, "-P", "-K", ":"],
                              input="order-1:{\"object_id\": 1}\n", capture_output=True, text=True, timeout=60)
    assert produced.returncode == 0, produced.stderr
    consumer = _committed_consumer(topic)
    consumer.subscribe([topic])
    try:
        messages = poll_all(consumer, expected=1)
    finally:
        consumer.close()
    assert [(m.key(), m.value()) for m in messages] == [(b"order-1", b'{"object_id": 1}')]



def test_reading_a_topic_a_moment_after_it_is_created_finds_what_is_there(stack, tmp_path):
    """A topic that a producer creates (auto-create, as for a first dead letter) has no leader known to every
    client at once: "not leader" then is a moment to wait through, not a failure of the test reading the
    topic (seen in CI on dead-letter topics)."""
    producer = Producer(kafka_config())
    reader = Pipeline(database="unused", log_dir=tmp_path)
    for _ in range(10):
        topic = f"new-{uuid.uuid4().hex}"
        producer.produce(topic, value=b"first")
        found = []
        while not found:
            found = reader.read_topic(topic)
            producer.poll(0)
        assert [m.value() for m in found] == [b"first"]
