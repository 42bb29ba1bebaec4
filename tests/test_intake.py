"""How the loop takes a batch from a real broker (runtime/intake.py): what has arrived, not a full batch."""

from __future__ import annotations

import threading
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streamvault.runtime.intake import BatchRamp, take_batch
from streamvault.testing.support import kafka_config

A_LONG_WAIT_S = 600.0  # the batch timeout of these tests: far beyond the bounded waits below


def _committed(messages: int) -> Consumer:
    """A read_committed consumer on a new one-partition topic holding `messages` committed messages."""
    topic = f"intake-{uuid.uuid4().hex}"
    admin = AdminClient(kafka_config())  # kept alive until the creation is done
    admin.create_topics([NewTopic(topic, num_partitions=1)])[topic].result()
    producer = Producer(kafka_config(**{"transactional.id": f"test-{topic}"}))
    producer.init_transactions(60)
    producer.begin_transaction()
    for index in range(messages):
        producer.produce(topic, value=str(index).encode())
    producer.commit_transaction(60)
    consumer = Consumer(kafka_config(**{"group.id": topic, "isolation.level": "read_committed",
                                        "enable.auto.commit": False}))
    consumer.assign([TopicPartition(topic, 0, 0)])
    return consumer


def test_a_caught_up_consumer_takes_what_arrived_without_waiting_for_a_full_batch_or_its_timeout(stack):
    """A service that has caught up passes each committed transaction on at once: before, a batch that
    could not fill held its messages for the whole batch timeout, at each of the three hops."""
    consumer = _committed(messages=3)
    taken: list = []
    taking = threading.Thread(target=lambda: taken.extend(take_batch(consumer, 5000, A_LONG_WAIT_S, 0.005)),
                              daemon=True)
    try:
        taking.start()
        taking.join(timeout=60)
        assert not taking.is_alive(), "still waiting for the batch to fill or time out"
        assert [m.value() for m in taken] == [b"0", b"1", b"2"]
    finally:
        if not taking.is_alive():
            consumer.close()


def test_a_backlog_fills_the_batch_to_its_size(stack):
    """On a backlog the fetched queue fills the batch at once, as large as the setting allows."""
    consumer = _committed(messages=50)
    try:
        first = take_batch(consumer, 20, A_LONG_WAIT_S, 0.005)
        second = take_batch(consumer, 20, A_LONG_WAIT_S, 0.005)
    finally:
        consumer.close()
    assert [m.value() for m in first + second] == [str(n).encode() for n in range(40)]


def test_after_small_batches_a_backlog_is_taken_in_doubling_batches_up_to_the_batch_size(stack):
    """A stall of a few seconds came back as one batch of the full size, and CPython kept what that batch had
    filled for the rest of the run: after small batches each batch takes at most twice the last, from a tenth of
    the batch size, until a backlog that lasts reaches the full size; an empty round starts again from a tenth."""
    consumer = _committed(messages=4000)
    ramp, sizes, values = BatchRamp(2000), [], []
    try:
        while len(values) < 4000:
            # A linger long enough for the broker's fetches: each batch takes all it may while messages remain.
            taken = take_batch(consumer, ramp.size, A_LONG_WAIT_S, 2.0)
            ramp.taken(len(taken))
            sizes.append(len(taken))
            values += [m.value() for m in taken]
        ramp.taken(len(take_batch(consumer, ramp.size, 0.5, 0.005)))  # caught up: nothing more arrives
    finally:
        consumer.close()
    assert values == [str(n).encode() for n in range(4000)]
    assert sizes == [200, 400, 800, 1600, 1000]
    assert ramp.size == 200
