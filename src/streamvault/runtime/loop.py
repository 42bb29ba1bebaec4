"""The loop every service runs: consume a batch -> decode -> load in PostgreSQL -> produce -> commit.

Exactly-once effects (docs/guarantees.md): each batch is one Kafka transaction holding the
downstream messages, the dead-letter messages and the consumed offsets. The PostgreSQL transaction
commits first, inside it; its writes are idempotent, so a crash before the Kafka commit only
replays the batch, and the aborted Kafka transaction is invisible to read_committed readers.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from functools import partial
from importlib.metadata import version

import psycopg
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from streamvault.config import KafkaSettings, PgSettings
from streamvault.kafka.bounded import CallHung, within
from streamvault.kafka.clients import ensure_topics, transactional_consumer, transactional_producer
from streamvault.kafka.limits import Headers, TopicLimits, min_insync_replicas, topic_limits
from streamvault.kafka.transactions import abort_open_transaction
from streamvault.runtime import memory, metrics
from streamvault.runtime.database import connection_pool
from streamvault.runtime.diagnosis import explain
from streamvault.runtime.faults import LoneFailure, ServiceFault, describe, is_transient, refused_by_postgres
from streamvault.runtime.freshness import BatchFreshness
from streamvault.runtime.hanging import HangingTransactions
from streamvault.runtime.http import create_app, serve_in_background
from streamvault.runtime.intake import BatchRamp, take_batch
from streamvault.runtime.logs import DeadLetterLog, Summary, event
from streamvault.runtime.outage import KafkaOutage
from streamvault.runtime.quorum import WriteQuorum
from streamvault.runtime.settings import RuntimeSettings
from streamvault.runtime.stage import DeadLetter, Output, Record, Rejected, Stage, Topics
from streamvault.runtime.timing import TurnClock

log = logging.getLogger(__name__)
Rejects = list[tuple[Message, str]]
# What a batch in flight waits for, named in the `stuck` reason: the operator knows which server to look at.
LOADING = "loading (PostgreSQL, Redis)"
KAFKA = "waiting for Kafka to take its transaction"
# send_offsets_to_transaction's own timeout is 30 s, which librdkafka may not keep (kafka/bounded.py).
SEND_OFFSETS_BOUND_S = 60.0


class ServiceLoop:
    def __init__(self, stage: Stage, topics: Topics, group: str, kafka: KafkaSettings, pg: PgSettings,
                 runtime: RuntimeSettings):
        self.stage, self.topics, self.group = stage, topics, group
        self.kafka, self.pg, self.runtime = kafka, pg, runtime
        self.pool = connection_pool(pg, runtime, stage.name)
        self.stopping = threading.Event()
        self.assigned: list[TopicPartition] | None = None
        self.problem: str | None = "starting"  # why the last attempt failed; None once one succeeded
        self._failure_kind: str | None = None  # the exception type of the failures in a row, for the log
        self._failure_logged = 0.0  # when that kind was last logged: again after a minute while it persists
        self.last_tick = time.monotonic()
        self._busy_since: float | None = None  # when the batch (or idle round) in flight began
        self._step = LOADING  # what it waits for now
        self._stuck_reported = False
        self._limits: TopicLimits | None = None
        self._strict_dead_letters = False  # set when the broker refused a dead letter the estimate let through
        self.backoff = _Backoff(runtime.max_backoff_s)
        self._lone_failure = LoneFailure()
        self._last_idle = 0.0
        self.freed_memory = memory.FreedMemory(self.runtime.batch_size)
        self.ramp = BatchRamp(self.runtime.batch_size)
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._label = stage.name
        self.outage = KafkaOutage(self._label)
        self.quorum: WriteQuorum | None = None  # once connected: its topics' min.insync.replicas are learnt then
        self.hanging = HangingTransactions(self._label, runtime.hanging_transaction_s, kafka.bootstrap_servers,
                                           partial(abort_open_transaction, kafka)
                                           if runtime.abort_hanging_transactions else None)
        self.dead_letters = DeadLetterLog(log, self._label)
        self.summary = Summary(log, self._label, runtime.log_summary_s)
        self._lag: int | None = None  # messages behind the end of the assigned partitions, after the last batch
        self.clock = TurnClock(self._label, runtime.slow_turn_s)

    # --- lifecycle -------------------------------------------------------------------------

    def run(self) -> None:
        memory.bound_malloc()
        metrics.python_objects.labels(self._label).set_function(sys.getallocatedblocks)
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        stop_http = None
        if self.runtime.http_port:
            stop_http = serve_in_background(create_app(self.alive, self.readiness),
                                            self.runtime.http_host, self.runtime.http_port)
        self.pool.open(wait=False)
        memory.tune_gc()
        self._log_start()
        try:
            self._connect_kafka()
            while not self.stopping.is_set():
                self._tick()
        finally:
            self._close()
            if stop_http:
                stop_http()
        event(log, logging.INFO, "stopped", "%s: stopped", self._label)

    @property
    def servers(self) -> dict[str, str]:
        """Each server by host and port, never a login."""
        return {"kafka": self.kafka.bootstrap_servers, "postgresql": f"{self.pg.host}:{self.pg.port}/{self.pg.dbname}",
                **self.stage.servers()}

    def _log_start(self) -> None:
        """What this process is and serves, in one line."""
        servers = self.servers
        event(log, logging.INFO, "started",
              "%s %s started as %s: %s -> %s (dead letters: %s) as group %s; batches of up to %d messages, "
              "lingering %g ms while more arrive, %d ms at most; HTTP port %s; servers %s", self._label,
              version("streamvault"), self.runtime.instance_id, self.topics.source,
              self.topics.destination or "PostgreSQL only", self.topics.dlq, self.group, self.runtime.batch_size,
              self.runtime.batch_linger_ms, self.runtime.batch_timeout_ms, self.runtime.http_port,
              ", ".join(f"{name} {where}" for name, where in servers.items()),
              version=version("streamvault"), source_topic=self.topics.source,
              destination_topic=self.topics.destination, dlq_topic=self.topics.dlq, group=self.group,
              batch_size=self.runtime.batch_size, batch_linger_ms=self.runtime.batch_linger_ms,
              batch_timeout_ms=self.runtime.batch_timeout_ms,
              http_port=self.runtime.http_port, servers=servers)

    def _request_stop(self, *_: object) -> None:
        event(log, logging.INFO, "stopping", "%s: stop requested; finishing the batch in flight", self._label)
        self.stopping.set()

    def _connect_kafka(self) -> None:
        while not self.stopping.is_set():
            self.last_tick = time.monotonic()  # waiting for Kafka is not a wedged loop: /health stays 200
            try:
                destinations = [t for t in (self.topics.destination, self.topics.dlq) if t]
                ensure_topics(self.kafka, [self.topics.source, *destinations], self.runtime.topic_partitions,
                              self.runtime.topic_replication, self.outage.on_error)
                self.producer  # fences a crashed predecessor's open transaction right away
                if self.quorum is None:
                    self.quorum = WriteQuorum(self._label, self.kafka, min_insync_replicas(self.kafka, destinations))
                # The consumer is polled all the time, so its errors tell an outage when it happens (an idle
                # producer's would come out later, when it is next used).
                self._consumer = transactional_consumer(self.kafka, self.group, self.outage.on_error,
                                                        self.hanging.on_statistics)
                self._consumer.subscribe([self.topics.source], on_assign=self._on_assign,
                                         on_revoke=self._on_revoke, on_lost=self._on_lost)
                self.outage.ended()
                return
            except KafkaException as exc:
                self.outage.began(f"at start: {describe(exc)}")
                self.stopping.wait(self.backoff.next())

    @property
    def producer(self) -> Producer:
        """Created on first use and after a fatal error; init_transactions fences any predecessor."""
        if self._producer is None:
            self._producer = transactional_producer(self.kafka, f"{self.group}-{self.runtime.instance_id}",
                                                    self.limits.smallest)
        return self._producer

    @property
    def limits(self) -> TopicLimits:
        """The message size limits of the topics the service writes, learnt once from the broker."""
        if self._limits is None:
            self._limits = topic_limits(self.kafka, [t for t in (self.topics.destination, self.topics.dlq) if t])
        return self._limits

    def _close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
        if self._producer is not None:
            self._producer.flush(10)
        self.pool.close()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assign(partitions)
        self._log_partitions("partitions_assigned", "assigned", partitions)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assign([])
        self._log_partitions("partitions_revoked", "revoked", partitions)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Taken away without a clean revoke (the session expired): another member may own them already."""
        self._assign([])
        self._log_partitions("partitions_lost", "lost", partitions)

    def _assign(self, partitions: list[TopicPartition]) -> None:
        self.assigned = list(partitions)
        self.hanging.assigned = [(p.topic, p.partition) for p in partitions]

    def _log_partitions(self, name: str, what: str, partitions: list[TopicPartition]) -> None:
        numbers = sorted(p.partition for p in partitions)
        event(log, logging.INFO, name, "%s: %s partitions [%s] of %s", self._label, what,
              ", ".join(map(str, numbers)), self.topics.source, topic=self.topics.source, partitions=numbers)

    # --- health ----------------------------------------------------------------------------

    def alive(self) -> bool:
        """The loop keeps turning (a wedged loop is restarted by the orchestrator)."""
        return time.monotonic() - self.last_tick < 120

    def readiness(self) -> dict[str, object]:
        """Ready when the last attempt succeeded, no batch is stuck and partitions are assigned; else why not."""
        reason = (self.problem or self.outage.reason or (self.quorum and self.quorum.reason) or self._stuck()
                  or self.hanging.reason)
        if reason is None and self.assigned is None:
            reason = "waiting for a partition assignment"
        metrics.ready.labels(self._label).set(0 if reason else 1)
        return {
            "service": self._label,
            "ready": reason is None,
            "reason": reason,
            "connections": self.problem is None,
            "assignment": None if self.assigned is None else [f"{p.topic}[{p.partition}]" for p in self.assigned],
        }

    def _stuck(self) -> str | None:
        """A batch running past the bound: a server that stopped answering without closing the connection."""
        started = self._busy_since
        if started is None or time.monotonic() - started <= self.runtime.stuck_batch_s:
            return None
        reason = (f"stuck: the batch in flight has run for {time.monotonic() - started:.0f} s "
                  f"(bound {self.runtime.stuck_batch_s:g} s), {self._step}")
        if not self._stuck_reported and self._busy_since is started:
            self._stuck_reported = True
            event(log, logging.WARNING, "not_ready", "%s: not ready: %s", self._label, reason, reason=reason)
        return reason

    # --- the loop --------------------------------------------------------------------------

    def _tick(self) -> None:
        self.last_tick = time.monotonic()
        self.clock.start()
        messages = take_batch(self._consumer, self.ramp.size, self.runtime.batch_timeout_ms / 1000,
                              self.runtime.batch_linger_ms / 1000, self.clock.mark)
        self.ramp.taken(len(messages))
        messages = [m for m in messages if not self._is_error(m)]
        if messages and not self._attempt(lambda: self._process(messages), rewind=messages):
            return
        if time.monotonic() - self._last_idle >= self.runtime.idle_interval_s:
            self._last_idle = time.monotonic()
            self.outage.check(lambda: self._consumer.list_topics(self.topics.source, timeout=2))
            if self.outage.since is None:
                self.quorum.check()
            self._attempt(self._idle, rewind=[])
            self.freed_memory.release_if_grown(len(messages))
            self.clock.mark("idle")
        self.dead_letters.flush()
        self.summary.maybe_log(self._lag)
        self.clock.finish(len(messages))

    def _attempt(self, work, rewind: list[Message]) -> bool:
        """Run a batch or an idle round. Any failure that reaches here is not one message's (those are
        dead-lettered inside): the batch is retried, and the process never dies of it."""
        failure = None
        self._busy_since, self._step = time.monotonic(), LOADING
        try:
            work()
        except Exception as exc:
            failure = exc
        finally:
            self._end_busy()
        if failure is not None:
            self._recover(rewind, failure)
            return False
        self.backoff.reset()
        self._strict_dead_letters = False
        if self.problem is not None:
            event(log, logging.INFO, "ready", "%s: ready", self._label)
            self.problem, self._failure_kind = None, None
            self.readiness()  # the metric follows at once
        return True

    def _end_busy(self) -> None:
        if self._stuck_reported:
            self._stuck_reported = False
            seconds = time.monotonic() - self._busy_since
            event(log, logging.INFO, "stuck_batch_ended", "%s: the stuck batch ended after %.0f s", self._label,
                  seconds, seconds=round(seconds, 1))
        self._busy_since = None

    def _is_error(self, message: Message) -> bool:
        error = message.error()
        if error is None:
            return False
        if error.fatal():
            raise KafkaException(error)
        if error.code() != KafkaError._PARTITION_EOF:
            self.outage.on_error(error)
        return True

    def _process(self, messages: list[Message]) -> None:
        started = time.perf_counter()
        records, rejects, unexplained = self._decode(messages)
        freshness = BatchFreshness.of(messages)
        self.clock.mark("decode")
        self._step = KAFKA
        producer = self.producer
        producer.begin_transaction()
        self.clock.mark("begin")
        self._step = LOADING
        outputs, load_rejects = self._load(messages, records, rejects, unexplained, freshness)
        self.clock.mark("pg_commit")
        rejects += load_rejects
        self._step = KAFKA
        for output in outputs:
            self._produce(self.topics.destination, output.key, output.value, freshness.headers)
        for message, reason in rejects:
            self._dead_letter(DeadLetter.of(message, reason))
        self.clock.mark("produce")
        self._send_offsets(producer, messages)
        self.clock.mark("offsets")
        _commit(producer)
        self.clock.mark("commit")
        freshness.observe(self._label)

        seconds = time.perf_counter() - started
        metrics.messages_in.labels(self._label).inc(len(messages))
        metrics.messages_out.labels(self._label).inc(len(outputs))
        metrics.messages_dlq.labels(self._label).inc(len(rejects))
        metrics.batch_size.labels(self._label).observe(len(messages))
        metrics.batch_seconds.labels(self._label).observe(seconds)
        self.summary.batch(len(messages), len(outputs), len(rejects), seconds)
        for message, reason in rejects:
            self.dead_letters.sent(message.topic(), message.partition(), message.offset(), reason)
        self._lag = self._update_lag()

    def _blame_the_service(self, messages: list[Message], unexplained: list[Exception]) -> None:
        """Nothing in the batch loaded and the data does not explain why: the fault is the service's when
        two or more failed so, and may be when one did (it is retried with what arrives next)."""
        if len(unexplained) >= 2:
            raise ServiceFault(f"none of {len(messages)} messages could be loaded, each failing on its own, "
                               f"e.g. {describe(unexplained[0])}")
        if self._lone_failure.retry(messages[0]):
            raise ServiceFault(f"a message failed on its own with nothing else to load ({describe(unexplained[0])});"
                               f" retried with the messages after it, to tell a bad message from a broken service")

    def _decode(self, messages: list[Message]) -> tuple[list[Record], Rejects, list[Exception]]:
        """Records, the messages rejected with their reasons, and the decoder's surprises among them."""
        records, rejects, unexplained = [], [], []
        for message in messages:
            try:
                records.append(Record(self.stage.decode(message.value() or b""), message))
            except Rejected as exc:
                rejects.append((message, str(exc)))
            except Exception as exc:  # a decoder surprise must not turn one message into a crash loop
                rejects.append((message, f"undecodable message: {describe(exc)}"))
                unexplained.append(exc)
        return records, rejects, unexplained

    def _load(self, messages: list[Message], records: list[Record], rejects: Rejects, unexplained: list[Exception],
              freshness: BatchFreshness) -> tuple[list[Output], Rejects]:
        """The batch in one PostgreSQL transaction: loaded whole first, without a savepoint (one costs two round
        trips per batch); only when that fails for a reason that may be a message's is it loaded again in a
        new transaction, bisected with savepoints to the messages that fail on their own."""
        with self.pool.connection() as conn:
            try:
                with conn.transaction():
                    outputs = self._load_records(conn, records, freshness.headers) if records else []
                    self._settle(conn, messages, rejects, [], unexplained, freshness)
                    self.clock.mark("load")
                    return outputs, []
            except ServiceFault:
                raise
            except Exception as exc:
                if is_transient(exc):
                    raise
                failure = exc
            with conn.transaction():
                outputs, load_rejects, load_unexplained = self._isolate(conn, records, failure, freshness.headers)
                self._settle(conn, messages, rejects, load_rejects, unexplained + load_unexplained, freshness)
                self.clock.mark("load")
                return outputs, load_rejects

    def _settle(self, conn: psycopg.Connection, messages: list[Message], rejects: Rejects, load_rejects: Rejects,
                unexplained: list[Exception], freshness: BatchFreshness) -> None:
        """Before the commit: a batch none of whose messages loaded may be the service's fault (it raises), and
        the batch's freshness is recorded in its transaction."""
        if unexplained and len(rejects) + len(load_rejects) == len(messages):
            self._blame_the_service(messages, unexplained)
        freshness.record(conn, self.stage.layer, self.runtime.instance_id)

    def _load_isolating(self, conn: psycopg.Connection, records: list[Record], headers: Headers | None
                        ) -> tuple[list[Output], Rejects, list[Exception]]:
        """Load these records under a savepoint; if they fail for a reason that may be a message's, isolate it.
        Returns the outputs, the rejected messages with their reasons, and the failures nothing in the data
        explains (a bug, if no message at all loads: see faults.py)."""
        if not records:
            return [], [], []
        try:
            with conn.transaction():
                return self._load_records(conn, records, headers), [], []
        except Exception as exc:
            if is_transient(exc):
                raise
            return self._isolate(conn, records, exc, headers)

    def _load_records(self, conn: psycopg.Connection, records: list[Record], headers: Headers | None) -> list[Output]:
        outputs = self.stage.load(conn, records)
        self._check_sizes(outputs, headers)
        return outputs

    def _isolate(self, conn: psycopg.Connection, records: list[Record], exc: Exception, headers: Headers | None
                 ) -> tuple[list[Output], Rejects, list[Exception]]:
        """After `records` failed together with `exc`: a lone record is rejected, more are bisected."""
        if len(records) == 1:
            return [], [(records[0].message, self._reason(exc))], [] if _explained(exc) else [exc]
        middle = len(records) // 2
        left = self._load_isolating(conn, records[:middle], headers)
        right = self._load_isolating(conn, records[middle:], headers)
        return left[0] + right[0], left[1] + right[1], left[2] + right[2]

    def _reason(self, exc: Exception) -> str:
        if isinstance(exc, Rejected):
            return str(exc)
        if refused_by_postgres(exc):
            return f"rejected by PostgreSQL: {describe(exc)}"
        return f"{self._label} failed on this message: {describe(exc)}"

    def _check_sizes(self, outputs: list[Output], headers: Headers | None) -> None:
        """An output the destination topic cannot take is a property of its message: reject it (inside the
        savepoint, so bisection finds the message and its writes are undone)."""
        topic = self.topics.destination
        if not outputs or topic is None:
            return
        safe = self.limits.safe_value_bytes(topic)
        for output in outputs:
            if len(output.value) > safe and not self.limits.fits(topic, output.key, output.value, headers or []):
                raise Rejected(f"its output of {len(output.value)} bytes exceeds the {self.limits.limit(topic)}-byte "
                               f"message limit of topic {topic}")

    def _produce(self, topic: str, key: bytes | None, value: bytes | None, headers: list | None = None,
                 on_delivery=None) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
                return
            except BufferError:
                self._producer.poll(0.05)

    def _send_offsets(self, producer: Producer, messages: list[Message]) -> None:
        offsets, group = _next_offsets(messages), self._consumer.consumer_group_metadata()
        try:
            within(lambda: producer.send_offsets_to_transaction(offsets, group, 30), SEND_OFFSETS_BOUND_S,
                   "sending the batch's offsets to its transaction")
        except CallHung:
            self._producer = None  # left to its hung call: the next one's init_transactions fences it
            raise

    def _dead_letter(self, letter: DeadLetter) -> None:
        """The message unchanged, with why and where from. The input fitted its topic, but the headers add
        bytes and the dead-letter topic may take less: then the value is left out, and a header says so."""
        key, value = letter.key, letter.value
        headers = [("error", letter.reason.encode()), ("service", self._label.encode()),
                   ("source_topic", letter.source_topic.encode()),
                   ("source_partition", str(letter.source_partition).encode()),
                   ("source_offset", str(letter.source_offset).encode())]
        if self.limits.fits(self.topics.dlq, key, value, headers):
            self._produce(self.topics.dlq, key, value, headers)
        elif not self._strict_dead_letters and self.limits.fits_compressed(self.topics.dlq, key, value, headers):
            self._produce(self.topics.dlq, key, value, headers, on_delivery=self._on_large_dead_letter)
        else:
            headers.append(("value_omitted", f"{len(value)} bytes exceed the message limit of this topic; the "
                                             f"original is at the source offset".encode()))
            self._produce(self.topics.dlq, key, None, headers)

    def _on_large_dead_letter(self, error: KafkaError | None, message: Message) -> None:
        """The estimate was wrong and the transaction fails: its retry leaves such values out."""
        if error is not None and error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
            self._strict_dead_letters = True

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
                    self._step = KAFKA
                    producer = self.producer
                    producer.begin_transaction()
                    for output in outputs:
                        if isinstance(output, DeadLetter):
                            self._dead_letter(output)
                        else:
                            self._produce(self.topics.destination, output.key, output.value)
                    _commit(producer)
                    dead = [output for output in outputs if isinstance(output, DeadLetter)]
                    metrics.messages_out.labels(self._label).inc(len(outputs) - len(dead))
                    metrics.messages_dlq.labels(self._label).inc(len(dead))
                    self.summary.sent(len(outputs) - len(dead), len(dead))
                    for letter in dead:
                        self.dead_letters.sent(letter.source_topic, letter.source_partition, letter.source_offset,
                                               letter.reason)
        return len(outputs)

    def _update_lag(self) -> int:
        """Sets the lag of each assigned partition; returns their sum (for the summary)."""
        total = 0
        for partition in self._consumer.position(self.assigned or []):
            try:
                _, high = self._consumer.get_watermark_offsets(partition, cached=True)
            except KafkaException:
                continue
            if partition.offset >= 0 and high >= 0:
                lag = max(high - partition.offset, 0)
                metrics.consumer_lag.labels(self._label, partition.topic, partition.partition).set(lag)
                total += lag
        return total

    # --- failure handling ------------------------------------------------------------------

    def _recover(self, messages: list[Message], exc: Exception) -> None:
        """Abort, rewind to the batch's first offsets, report not ready, wait, and let the loop retry.
        Logged when the kind of failure changes, not on every retry."""
        kind = type(exc).__name__
        metrics.batch_failures.labels(self._label, kind).inc()
        self.problem = explain(exc, self.pool, self.servers)
        if kind != self._failure_kind or time.monotonic() - self._failure_logged >= 60:
            self._failure_kind, self._failure_logged = kind, time.monotonic()
            event(log, logging.WARNING, "not_ready", "%s: not ready: %s; the batch of %d is retried until it "
                  "succeeds", self._label, self.problem, len(messages), reason=self.problem)
        self.readiness()
        self._abort_transaction()
        self._rewind(messages)
        self.stopping.wait(self.backoff.next())

    def _abort_transaction(self) -> None:
        """Abort, then start the next batch with a new producer: its init_transactions bumps the producer
        epoch. Under one epoch, a write of the aborted transaction that reaches a broker late (after the
        abort marker, while a retry of the batch has added its partition again) is taken into the retry's
        transaction and committed with it; with the epoch bumped the broker refuses it. Kafka's transaction
        version 2 bumps the epoch on every transaction for this reason (KIP-890); librdkafka does not."""
        if self._producer is None:
            return
        try:
            self._producer.abort_transaction(30)
        except KafkaException as exc:
            # No transaction open, or the producer is fenced / broken.
            event(log, logging.WARNING, "producer_recreated", "%s: abort failed (%s); the producer will be re-created",
                  self._label, exc.args[0].str(), reason=exc.args[0].str())
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


def _explained(exc: Exception) -> bool:
    """The data explains the failure: a message the stage rejects or a value PostgreSQL refuses."""
    return isinstance(exc, Rejected) or refused_by_postgres(exc)


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
