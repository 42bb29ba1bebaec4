"""How far a consumer group is behind on a topic, and how many committed messages a topic holds.

With transactional topics the end offset is not a message count: every commit leaves a marker,
so "end minus committed offset" stays >= 1 after a group has read everything. The only exact
test is to read from the committed offset with read_committed: a partition is caught up when that
finds no committed data (aborted data and markers are skipped by the client).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from streamvault.config import KafkaSettings

READ_TIMEOUT_S = 5.0
T = TypeVar("T")
_COORDINATOR_BUSY = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                     KafkaError.COORDINATOR_NOT_AVAILABLE}
# A partition's leader moving to another broker (one was lost or came back): asked again, the next one answers.
LEADER_MOVING = {KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE,
                 KafkaError.UNKNOWN_TOPIC_OR_PART}


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    committed: int | None  # None: the group never committed on this partition
    end: int  # high watermark
    caught_up: bool
    lag: int  # offsets left to read (markers included); 0 when no committed message is left


def partition_lags(settings: KafkaSettings, group: str, topic: str) -> list[PartitionLag]:
    """Per partition of `topic`: the group's committed offset, the end, and whether it is caught up.
    A topic that does not exist has no partitions. Raises KafkaException when Kafka does not answer."""
    with _clients(settings, group) as (consumer, marks):
        partitions = _partitions(consumer, topic)
        committed = {tp.partition: tp.offset for tp in _committed(consumer, partitions)}
        bounds = {tp.partition: _watermarks(marks, tp) for tp in partitions}
        # Where the group resumes: its committed offset, or the earliest one (also past retention).
        starts = {p: max(committed[p], low) for p, (low, _) in bounds.items()}
        found = _read(consumer, topic, starts, {p: high for p, (_, high) in bounds.items()}, first_only=True)
        lags = []
        for p, (_, high) in sorted(bounds.items()):
            done = found.get(p) == 0
            lags.append(PartitionLag(p, committed[p] if committed[p] >= 0 else None, high, done,
                                     0 if done else max(high - starts[p], 0)))
        return lags


def caught_up(settings: KafkaSettings, group: str, topic: str) -> bool:
    """The group has committed past every committed message of the topic."""
    return all(partition.caught_up for partition in partition_lags(settings, group, topic))


def end_offsets(settings: KafkaSettings, topic: str) -> dict[int, int]:
    """Each partition's end (high watermark) now. Raises KafkaException when Kafka does not answer."""
    with _clients(settings, f"streamvault-ends-{uuid.uuid4().hex}") as (consumer, marks):
        return {tp.partition: _watermarks(marks, tp)[1] for tp in _partitions(consumer, topic)}


def passed(settings: KafkaSettings, group: str, topic: str, ends: dict[int, int]) -> bool:
    """The group has committed past every committed message before `ends` (offsets read earlier with
    end_offsets): what was in the topic then is processed, whatever came since."""
    with _clients(settings, group) as (consumer, marks):
        partitions = [TopicPartition(topic, p) for p in sorted(ends)]
        committed = {tp.partition: tp.offset for tp in _committed(consumer, partitions)}
        lows = {p: _watermarks(marks, TopicPartition(topic, p))[0] for p in ends}
        starts = {p: max(committed[p], lows[p]) for p in ends}
        found = _read(consumer, topic, starts, ends, first_only=True)
        return len(found) == len(ends) and not any(found.values())


def committed_messages(settings: KafkaSettings, topic: str) -> int | None:
    """Committed messages in the topic (e.g. a dead-letter topic), read from the beginning;
    None when the reading did not reach the end in time (an open transaction holds it back)."""
    with _clients(settings, f"streamvault-count-{uuid.uuid4().hex}") as (consumer, marks):
        bounds = {tp.partition: _watermarks(marks, tp) for tp in _partitions(consumer, topic)}
        found = _read(consumer, topic, {p: low for p, (low, _) in bounds.items()},
                      {p: high for p, (_, high) in bounds.items()}, first_only=False)
        return sum(found.values()) if len(found) == len(bounds) else None


@contextmanager
def _clients(settings: KafkaSettings, group: str) -> Iterator[tuple[Consumer, Consumer]]:
    """A read_committed reader of the group's offsets and of the data, and a read_uncommitted one for the
    watermarks: asked by a read_committed client, the end of a partition is its last stable offset, and an
    open transaction (or one no coordinator will ever end: a hanging one) would pass for the end."""
    consumer, marks = _consumer(settings, group, "read_committed"), _consumer(settings, group, "read_uncommitted")
    try:
        yield consumer, marks
    finally:
        consumer.close()
        marks.close()


def _consumer(settings: KafkaSettings, group: str, isolation: str) -> Consumer:
    # Assigned, never subscribed: it reads the group's offsets without joining the group.
    return Consumer({**settings.client_config(), "group.id": group, "enable.auto.commit": False,
                     "isolation.level": isolation, "auto.offset.reset": "earliest", "log_level": 0})


def _committed(consumer: Consumer, partitions: list[TopicPartition]) -> list[TopicPartition]:
    """The group's offsets; retried while the group coordinator moves or loads (e.g. a broker just started)."""
    return _retried(lambda: consumer.committed(partitions, timeout=READ_TIMEOUT_S), _COORDINATOR_BUSY)


def _watermarks(consumer: Consumer, tp: TopicPartition) -> tuple[int, int]:
    """The partition's low and high watermarks (the consumer reads read_uncommitted); retried while its
    leader moves."""
    return _retried(lambda: consumer.get_watermark_offsets(tp, timeout=READ_TIMEOUT_S), LEADER_MOVING)


def _retried(call: Callable[[], T], passing: set[int]) -> T:
    """`call`, again for up to READ_TIMEOUT_S while it fails with one of the `passing` error codes."""
    deadline = time.monotonic() + READ_TIMEOUT_S
    while True:
        try:
            return call()
        except KafkaException as exc:
            if exc.args[0].code() not in passing or time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def _partitions(consumer: Consumer, topic: str) -> list[TopicPartition]:
    metadata = consumer.list_topics(topic, timeout=READ_TIMEOUT_S).topics[topic]
    return [TopicPartition(topic, p) for p in sorted(metadata.partitions)]


def _read(consumer: Consumer, topic: str, starts: dict[int, int], ends: dict[int, int], *,
          first_only: bool) -> dict[int, int]:
    """Committed messages per partition between its start and end offsets. With `first_only` a
    partition stops counting at its first message. Partitions not finished in time are left out."""
    found = {p: 0 for p in starts if starts[p] >= ends[p]}
    counts = {p: 0 for p in starts if p not in found}
    if not counts:
        return found
    assigned = [TopicPartition(topic, p, starts[p]) for p in counts]
    consumer.assign(assigned)
    deadline = time.monotonic() + READ_TIMEOUT_S
    while counts and time.monotonic() < deadline:
        for message in consumer.consume(500, 0.2):
            p = message.partition()
            if message.error() is None and p in counts and message.offset() < ends[p]:  # what came later waits
                counts[p] += 1
        for position in consumer.position(assigned):
            p = position.partition
            if p in counts and ((first_only and counts[p]) or max(position.offset, starts[p]) >= ends[p]):
                found[p] = counts.pop(p)
    return found
