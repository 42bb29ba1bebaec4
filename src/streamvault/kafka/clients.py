"""Client factories: the exactly-once settings live here, not scattered over services."""

from __future__ import annotations

import logging
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from streamvault.config import KafkaSettings
from streamvault.runtime.logs import LIBRDKAFKA

log = logging.getLogger(__name__)
OnError = Callable[[KafkaError], None]
TRANSACTION_RETRY_BACKOFF_MS = 10


def service_config(settings: KafkaSettings, on_error: OnError | None = None) -> dict[str, object]:
    """A service's client settings: librdkafka logs through Python logging (one format, one level) and
    reports client-wide errors, such as all brokers down, to `on_error` (runtime/outage.py)."""
    config: dict[str, object] = {**settings.client_config(), "logger": LIBRDKAFKA}
    if on_error is not None:
        config["error_cb"] = on_error
    return config


def transactional_consumer(settings: KafkaSettings, group: str, on_error: OnError | None = None,
                           on_statistics: Callable[[str], None] | None = None) -> Consumer:
    """Reads only committed data; offsets are committed by the producer's transaction, never by the consumer.
    `on_statistics` gets librdkafka's statistics (JSON) every 5 s, from the consumer's poll."""
    watching = {"stats_cb": on_statistics, "statistics.interval.ms": 5000} if on_statistics else {}
    return Consumer({
        **watching,
        **service_config(settings, on_error),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 2000,
        "max.poll.interval.ms": 300000,
        # Bounds what librdkafka prefetches, so a stalled loader cannot grow memory.
        "queued.max.messages.kbytes": 16384,
    })


def transactional_producer(settings: KafkaSettings, transactional_id: str, smallest_limit: int) -> Producer:
    """One stable transactional.id per instance: a restarted instance fences its crashed predecessor
    and aborts its open transaction at once, instead of stalling read_committed readers."""
    producer = Producer(transactional_config(settings, transactional_id, smallest_limit))
    producer.init_transactions(60)
    return producer


def transactional_config(settings: KafkaSettings, transactional_id: str, smallest_limit: int) -> dict[str, object]:
    """`smallest_limit` is the smallest `max.message.bytes` of the topics the producer writes (kafka/limits.py):
    batches of small messages stay below it. Single messages are checked by the loop before they are produced;
    librdkafka's own check is on the uncompressed size, so it is set out of the way (a dead letter may be
    larger than the limit before compression)."""
    return {
        **service_config(settings),
        "transactional.id": transactional_id,
        # What transactions imply anyway, spelt out: a write counts once min.insync.replicas have it.
        "enable.idempotence": True,
        "acks": "all",
        "transaction.timeout.ms": 30000,
        "linger.ms": 5,
        # A batch that follows its predecessor closely finds the coordinator still writing that one's commit
        # markers; the coordinator answers CONCURRENT_TRANSACTIONS and librdkafka retries after this backoff,
        # 100 ms by default: a whole batch held 100 ms for a wait of a few (Java's client waits 20 ms,
        # KAFKA-5477). Other retries grow from it exponentially up to retry.backoff.max.ms (1 s).
        # benchmarks/transactions.py measures it against librdkafka's default.
        "retry.backoff.ms": TRANSACTION_RETRY_BACKOFF_MS,
        "compression.type": "lz4",
        "batch.size": min(1_000_000, smallest_limit * 15 // 16),
        "message.max.bytes": 1_000_000_000,
    }


def ensure_topics(settings: KafkaSettings, topics: list[str], partitions: int, replication: int | None = None,
                  on_error: OnError | None = None) -> None:
    """Create missing topics; where the cluster forbids it (managed ACLs), they must exist already.

    `replication` None: as many replicas as there are brokers, up to 3 (their min.insync.replicas is the
    cluster's default; managed clusters: 2). When no broker answers, `on_error` hears why (TLS refused, a
    wrong password) before this raises."""
    admin = AdminClient(service_config(settings, on_error))
    try:
        metadata = admin.list_topics(timeout=10)
    finally:
        admin.poll(0)  # serves the error callbacks
    factor = replication or min(3, len(metadata.brokers))
    missing = [NewTopic(topic, num_partitions=partitions, replication_factor=factor)
               for topic in topics if topic not in metadata.topics]
    if not missing:
        return
    for topic, future in admin.create_topics(missing, operation_timeout=30).items():
        try:
            future.result()
            log.info("created topic %s: %d partitions, %d replicas", topic, partitions, factor)
        except KafkaException as exc:
            error = exc.args[0]
            if error.name() != "TOPIC_ALREADY_EXISTS":
                log.warning("cannot create topic %s: %s", topic, error.str())
