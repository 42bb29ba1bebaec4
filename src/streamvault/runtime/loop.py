"""The loop every service runs: consume a batch -> decode -> load in PostgreSQL -> produce -> commit.

Exactly-once effects (docs/guarantees.md): each batch is one Kafka transaction holding the
downstream messages, the dead-letter messages and the consumed offsets. The PostgreSQL transaction
commits first, inside it; its writes are idempotent, so a crash before the Kafka commit only
replays the batch, and the aborted Kafka transaction is invisible to read_committed readers.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time

import psycopg
import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from psycopg_pool import ConnectionPool

from streamvault.config import KafkaSettings, PgSettings
from streamvault.kafka.clients import ensure_topics, transactional_consumer, transactional_producer
from streamvault.runtime import metrics
from streamvault.runtime.http import create_app, serve_in_background
from streamvault.runtime.settings import RuntimeSettings
from streamvault.runtime.stage import DeadLetter, Output, Record, Rejected, Stage, Topics

log = logging.getLogger(__name__)

# Outages and lost races: the batch is aborted, rewound and retried after a backoff.
TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError, redis.ConnectionError, redis.TimeoutError,
             KafkaException, BufferError)
# The data itself is unacceptable to PostgreSQL: isolate the offending message and dead-letter it.
DATA_ERRORS = (psycopg.errors.DataError, psycopg.errors.IntegrityError)


class ServiceLoop:
    def __init__(self, stage: Stage, topics: Topics, group: str, kafka: KafkaSettings, pg: PgSettings,
                 runtime: RuntimeSettings):
        self.stage, self.topics, self.group = stage, topics, group
        self.kafka, self.runtime = kafka, runtime
        self.pool = ConnectionPool(pg.conninfo(), min_size=1, max_size=2, timeout=5, open=False,
                                   kwargs={"autocommit": True}, check=ConnectionPool.check_connection)
        self.stopping = threading.Event()
        self.assigned: list[TopicPartition] | None = None
        self.healthy_io = False
        self.last_tick = time.monotonic()
        self.backoff = _Backoff(runtime.max_backoff_s)
        self._last_idle = 0.0
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._label = stage.name

    # --- lifecycle -------------------------------------------------------------------------

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        stop_http = None
        if self.runtime.http_port:
            stop_http = serve_in_background(create_app(self.alive, self.readiness),
                                            self.runtime.http_host, self.runtime.http_port)
        self.pool.open(wait=False)
        _tune_gc()
        try:
            self._connect_kafka()
            while not self.stopping.is_set():
                self._tick()
        finally:
            self._close()
            if stop_http:
                stop_http()

    def _request_stop(self, *_: object) -> None:
        log.info("%s: stop requested; finishing the batch in flight", self._label)
        self.stopping.set()

    def _connect_kafka(self) -> None:
        while not self.stopping.is_set():
            try:
                destinations = [t for t in (self.topics.destination, self.topics.dlq) if t]
                ensure_topics(self.kafka, [self.topics.source, *destinations], self.runtime.topic_partitions)
                self.producer  # fences a crashed predecessor's open transaction right away
                self._consumer = transactional_consumer(self.kafka, self.group)
                self._consumer.subscribe([self.topics.source], on_assign=self._on_assign,
                                         on_revoke=self._on_revoke, on_lost=self._on_revoke)
                return
            except KafkaException as exc:
                log.warning("%s: Kafka not available (%s); retrying", self._label, exc)
                self.stopping.wait(self.backoff.next())

    @property
    def producer(self) -> Producer:
        """Created on first use and after a fatal error; init_transactions fences any predecessor."""
        if self._producer is None:
            self._producer = transactional_producer(self.kafka, f"{self.group}-{self.runtime.instance_id}")
        return self._producer

    def _close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
        if self._producer is not None:
            self._producer.flush(10)
        self.pool.close()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned = list(partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned = []

    # --- health ----------------------------------------------------------------------------

    def alive(self) -> bool:
        """The loop keeps turning (a wedged loop is restarted by the orchestrator)."""
        return time.monotonic() - self.last_tick < 120

    def readiness(self) -> dict[str, object]:
        state = {
            "service": self._label,
            "connections": self.healthy_io,
            "assignment": None if self.assigned is None else [f"{p.topic}[{p.partition}]" for p in self.assigned],
        }
        state["ready"] = self.healthy_io and self.assigned is not None
        return state

    def _set_healthy(self, ok: bool) -> None:
        self.healthy_io = ok
        metrics.ready.labels(self._label).set(1 if ok and self.assigned is not None else 0)

    # --- the loop --------------------------------------------------------------------------

    def _tick(self) -> None:
        self.last_tick = time.monotonic()
        messages = self._consumer.consume(self.runtime.batch_size, self.runtime.batch_timeout_ms / 1000)
        messages = [m for m in messages if not self._is_error(m)]
        if messages and not self._attempt(lambda: self._process(messages), rewind=messages):
            return
        if time.monotonic() - self._last_idle >= self.runtime.idle_interval_s:
            self._last_idle = time.monotonic()
            self._attempt(self._idle, rewind=[])

    def _attempt(self, work, rewind: list[Message]) -> bool:
        try:
            work()
        except TRANSIENT as exc:
            self._recover(rewind, exc)
            return False
        self.backoff.reset()
        self._set_healthy(True)
        return True

    def _is_error(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return False
        if error.fatal():
            raise KafkaException(error)
        if error.code() != KafkaError._PARTITION_EOF:
            log.warning("%s: consumer: %s", self._label, error.str())
        return True

    def _process(self, messages: list[Message]) -> None:
        started = time.perf_counter()
        records, rejects = self._decode(messages)
        producer = self.producer
        producer.begin_transaction()
        with self.pool.connection() as conn:
            with conn.transaction():
                outputs, load_rejects = self._load_isolating(conn, records)
        rejects += load_rejects
        for output in outputs:
            self._produce(self.topics.destination, output.key, output.value)
        for message, reason in rejects:
            self._produce(self.topics.dlq, message.key(), message.value(), self._dlq_headers(message, reason))
        producer.send_offsets_to_transaction(_next_offsets(messages), self._consumer.consumer_group_metadata(), 30)
        _commit(producer)

        metrics.messages_in.labels(self._label).inc(len(messages))
        metrics.messages_out.labels(self._label).inc(len(outputs))
        metrics.messages_dlq.labels(self._label).inc(len(rejects))
        metrics.batch_size.labels(self._label).observe(len(messages))
        metrics.batch_seconds.labels(self._label).observe(time.perf_counter() - started)
        self._update_lag()

    def _decode(self, messages: list[Message]) -> tuple[list[Record], list[tuple[Message, str]]]:
        records, rejects = [], []
        for message in messages:
            try:
                records.append(Record(self.stage.decode(message.value() or b""), message))
            except Rejected as exc:
                rejects.append((message, str(exc)))
            except Exception as exc:  # a decoder surprise must not turn one message into a crash loop
                rejects.append((message, f"undecodable message: {type(exc).__name__}: {exc}"))
        return records, rejects

    def _load_isolating(self, conn: psycopg.Connection, records: list[Record]
                        ) -> tuple[list[Output], list[tuple[Message, str]]]:
        """Load the batch; if PostgreSQL refuses the data, bisect (with savepoints) to the messages at fault."""
        if not records:
            return [], []
        try:
            with conn.transaction():
                return self.stage.load(conn, records), []
        except DATA_ERRORS as exc:
            if len(records) == 1:
                return [], [(records[0].message, f"rejected by PostgreSQL: {str(exc).strip()}")]
        middle = len(records) // 2
        left_out, left_rejects = self._load_isolating(conn, records[:middle])
        right_out, right_rejects = self._load_isolating(conn, records[middle:])
        return left_out + right_out, left_rejects + right_rejects

    def _produce(self, topic: str, key: bytes | None, value: bytes | None, headers: list | None = None) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers)
                return
            except BufferError:
                self._producer.poll(0.05)

    def _dlq_headers(self, message: Message, reason: str) -> list[tuple[str, bytes]]:
        return self._headers(reason, message.topic(), message.partition(), message.offset())

    def _headers(self, reason: str, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
        return [("error", reason.encode()), ("service", self._label.encode()), ("source_topic", topic.encode()),
                ("source_partition", str(partition).encode()), ("source_offset", str(offset).encode())]

    def redrive(self) -> int:
        """The stage's periodic work outside the loop (`streamvault reprocess-parked`), repeated until
        a round sends nothing; returns how many messages were sent."""
        self.pool.open(wait=True, timeout=30)
        try:
            total = 0
            while sent := self._idle():
                total += sent
            return total
        finally:
            self._close()

    def _idle(self) -> int:
        """Connectivity check, then the stage's periodic work. Its messages are committed to Kafka
        before its PostgreSQL transaction: a crash in between repeats the work, never loses it."""
        with self.pool.connection() as conn:
            conn.execute("SELECT 1")
            self.stage.ping()
            with conn.transaction():
                outputs = self.stage.idle(conn)
                if outputs:
                    producer = self.producer
                    producer.begin_transaction()
                    for output in outputs:
                        if isinstance(output, DeadLetter):
                            self._produce(self.topics.dlq, output.key, output.value, self._headers(
                                output.reason, output.source_topic, output.source_partition, output.source_offset))
                        else:
                            self._produce(self.topics.destination, output.key, output.value)
                    _commit(producer)
                    dead = sum(isinstance(output, DeadLetter) for output in outputs)
                    metrics.messages_out.labels(self._label).inc(len(outputs) - dead)
                    metrics.messages_dlq.labels(self._label).inc(dead)
        return len(outputs)

    def _update_lag(self) -> None:
        for partition in self._consumer.position(self.assigned or []):
            try:
                _, high = self._consumer.get_watermark_offsets(partition, cached=True)
            except KafkaException:
                continue
            if partition.offset >= 0 and high >= 0:
                metrics.consumer_lag.labels(self._label, partition.topic, partition.partition).set(
                    max(high - partition.offset, 0))

    # --- failure handling ------------------------------------------------------------------

    def _recover(self, messages: list[Message], exc: Exception) -> None:
        """Abort, rewind to the batch's first offsets, report not ready, wait, and let the loop retry."""
        self._set_healthy(False)
        reason = type(exc).__name__
        metrics.batch_failures.labels(self._label, reason).inc()
        log.warning("%s: batch of %d aborted (%s: %s); retrying", self._label, len(messages), reason,
                    str(exc).strip()[:300])
        self._abort_transaction()
        self._rewind(messages)
        self.stopping.wait(self.backoff.next())

    def _abort_transaction(self) -> None:
        if self._producer is None:
            return
        try:
            self._producer.abort_transaction(30)
        except KafkaException as exc:
            # No transaction open, or the producer is fenced / broken: start afresh on the next batch.
            log.warning("%s: abort failed (%s); the producer will be re-created", self._label, exc.args[0].str())
            self._producer = None

    def _rewind(self, messages: list[Message]) -> None:
        first: dict[tuple[str, int], int] = {}
        for message in messages:
            key = (message.topic(), message.partition())
            first[key] = min(first.get(key, message.offset()), message.offset())
        assigned = {(p.topic, p.partition) for p in self.assigned or []}
        for (topic, partition), offset in first.items():
            if (topic, partition) in assigned:
                self._consumer.seek(TopicPartition(topic, partition, offset))


def _commit(producer: Producer, attempts: int = 3) -> None:
    for attempt in range(attempts):
        try:
            producer.commit_transaction(60)
            return
        except KafkaException as exc:
            if not exc.args[0].retriable() or attempt == attempts - 1:
                raise


def _next_offsets(messages: list[Message]) -> list[TopicPartition]:
    last: dict[tuple[str, int], int] = {}
    for message in messages:
        key = (message.topic(), message.partition())
        last[key] = max(last.get(key, -1), message.offset())
    return [TopicPartition(topic, partition, offset + 1) for (topic, partition), offset in last.items()]


class _Backoff:
    """Exponential: 0.25 s doubling to the configured cap."""

    def __init__(self, cap: float):
        self.cap, self.current = cap, 0.0

    def next(self) -> float:
        self.current = min(self.cap, max(0.25, self.current * 2))
        return self.current

    def reset(self) -> None:
        self.current = 0.0


def _tune_gc() -> None:
    """A batch allocates hundreds of thousands of short-lived containers and creates no cycles, yet
    every 700 allocations CPython's collector scanned them (benchmark: a third of DDS's transform time).
    Objects of the start-up (modules, settings, clients) are moved out of its sight for good."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
