"""Writing a timeline to the real servers, preserving its order across Redis and Kafka."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType

from confluent_kafka import KafkaError, Message, Producer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from streamvault.config import KafkaSettings, RedisSettings
from streamvault.generator.model import Event, RedisWrite, Stats, Timeline
from streamvault.generator.simulator import Simulator


# The producer holds a message this long to send it with others.
LINGER_MS = 20
# A paced stream sleeps once it is this far ahead of its schedule, not before every order: at 1,000 orders a
# second a wake-up per order took as much of the generator's CPU as making and sending the orders (230 against
# 150 µs an order with this). The orders sent early wait in the producer for as long anyway.
PACING_S = LINGER_MS / 1000


class PublishError(RuntimeError):
    """Kafka refused or timed out delivering messages."""


class Publisher:
    """Sends events in order: a Redis write follows every message produced before it (the producer
    is flushed first), and a message follows every Redis write before it (writes are applied first,
    pipelined). So an order that references a new dish is produced only after the dish is in Redis."""

    def __init__(self, kafka: KafkaSettings, redis_settings: RedisSettings, topic: str):
        self._topic = topic
        self._producer = Producer({
            **kafka.client_config(),
            "enable.idempotence": True,  # retries never duplicate or reorder: duplicates are only ours
            "compression.type": "lz4",
            "linger.ms": LINGER_MS,
            "message.max.bytes": 4 * 1_048_576,  # room for the over-the-limit malformed kind
            "message.timeout.ms": 60_000,
        })
        self._redis = redis_settings.client()
        self._writes: list[RedisWrite] = []
        self._unflushed = False
        self._errors: list[str] = []

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def send(self, event: Event) -> None:
        if isinstance(event, RedisWrite):
            if self._unflushed:
                self._flush_kafka()
            self._writes.append(event)
            return
        self._apply_writes()
        while True:
            try:
                self._producer.produce(self._topic, value=event.value, key=event.key, on_delivery=self._delivered)
                break
            except BufferError:  # local queue full: let deliveries drain it
                self._producer.poll(0.1)
        self._producer.poll(0)
        self._unflushed = True

    def close(self) -> None:
        """Apply what is pending and wait for every delivery; raise if any failed."""
        self._apply_writes()
        self._flush_kafka()
        self._redis.close()

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            self._errors.append(error.str())

    def _flush_kafka(self) -> None:
        while self._producer.flush(1.0):
            pass  # message.timeout.ms bounds this: undelivered messages end in _delivered errors
        self._unflushed = False
        if self._errors:
            raise PublishError(f"{len(self._errors)} message(s) not delivered to {self._topic}: {self._errors[0]}")

    def _apply_writes(self) -> None:
        if self._writes:
            with self._redis.pipeline(transaction=False) as pipe:
                for write in self._writes:
                    pipe.set(write.key, write.value)
                pipe.execute()
            self._writes.clear()


@contextmanager
def _progress(enabled: bool, total: int | None, what: str) -> Iterator[Callable[[int, str], None]]:
    """A bar on stderr (transient: only the summary line stays); `update(done, text)`."""
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[text]}")]
    with Progress(*columns, console=Console(stderr=True), transient=True, disable=not enabled) as bar:
        task = bar.add_task(what, total=total, text="")
        yield lambda done, text: bar.update(task, completed=done, text=text)


def publish(timeline: Timeline, kafka: KafkaSettings, redis_settings: RedisSettings, topic: str,
            progress: bool = True) -> Stats:
    """Write a built timeline in order and wait until Kafka has every message."""
    with Publisher(kafka, redis_settings, topic) as publisher, \
            _progress(progress, len(timeline.events), "publishing") as update:
        for done, event in enumerate(timeline.events, 1):
            publisher.send(event)
            if done % 100 == 0 or done == len(timeline.events):
                update(done, "")
    return timeline.stats


def stream(simulator: Simulator, kafka: KafkaSettings, redis_settings: RedisSettings, topic: str, *,
           orders: int | None, rate: float | None = None, duration: float | None = None,
           progress: bool = True, stopped: threading.Event | None = None) -> Stats:
    """Generate while publishing (flat memory): `orders` orders (None: no limit), paced at `rate`
    orders/s when given, until `duration` seconds or `stopped` is set (the CLI sets it on Ctrl-C);
    then what is scheduled is drained, so every started order is complete."""
    started, stopped = time.monotonic(), stopped or threading.Event()
    with Publisher(kafka, redis_settings, topic) as publisher, _progress(progress, orders, "orders") as update:
        def send(events: Iterable[Event]) -> None:
            for event in events:
                publisher.send(event)

        send(simulator.reference())
        while (orders is None or simulator.stats.orders < orders) and not stopped.is_set():
            elapsed = time.monotonic() - started
            if duration is not None and elapsed >= duration:
                break
            if rate is not None and (ahead := simulator.stats.orders / rate - elapsed) >= PACING_S:
                stopped.wait(ahead)
            send(simulator.step())
            if simulator.stats.orders % 50 == 0:
                update(simulator.stats.orders, f"{simulator.stats.versions} versions")
        send(simulator.drain())
        update(simulator.stats.orders, f"{simulator.stats.versions} versions")
    return simulator.stats

