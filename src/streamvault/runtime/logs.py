"""What a service process tells its operator (docs/operations.md): one line per change of state, never one
per retry, as text or as one JSON object per line for a log collector.

An event is a log record with a stable `event` name and its fields (`extra={"event": ..., "fields": ...}`);
the JSON formatter writes them beside `ts`, `level`, `service`, `instance` and the text `message`.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Literal

from prometheus_client import REGISTRY

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# librdkafka's own log, at WARNING and up: its connection failures are the outage's two lines instead.
LIBRDKAFKA = logging.getLogger("streamvault.librdkafka")


def event(logger: logging.Logger, level: int, name: str, message: str, *args: object, **fields: object) -> None:
    """Log `message % args` as the event `name` with its fields."""
    logger.log(level, message, *args, extra={"event": name, "fields": fields})


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the stable fields first; a traceback becomes the `exception` field."""

    def __init__(self, service: str, instance: str):
        super().__init__()
        self.service, self.instance = service, instance

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "instance": self.instance,
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
            "logger": record.name,
        }
        for name, value in getattr(record, "fields", {}).items():
            line.setdefault(name, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(log_format: LogFormat, service: str, instance: str) -> None:
    """Every line of the process, librdkafka's and uncaught exceptions' included, through one handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service, instance) if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    LIBRDKAFKA.setLevel(logging.WARNING)
    LIBRDKAFKA.addFilter(_librdkafka_event)
    # The pool's "error connecting" at every reconnect attempt: the loop's not-ready line names the cause once.
    logging.getLogger("psycopg.pool").setLevel(logging.ERROR)
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _librdkafka_event(record: logging.LogRecord) -> bool:
    """librdkafka's lines (`facility [client] text`) as the event `librdkafka`; its "Connect to ... failed"
    (facility FAIL), repeated at every retry, is left out: the outage lines (runtime/outage.py) say it once."""
    facility, client = (record.args + ("", ""))[:2] if isinstance(record.args, tuple) else ("", "")
    record.event, record.fields = "librdkafka", {"facility": facility, "client": client}
    return facility != "FAIL"


def _log_uncaught(exc_type, exc_value, traceback) -> None:
    logging.getLogger("streamvault").critical("uncaught exception", exc_info=(exc_type, exc_value, traceback),
                                              extra={"event": "crashed", "fields": {}})


class DeadLetterLog:
    """Each dead letter as a line, up to `burst` in a period; beyond that a count, in one line when the period
    ends: a flood of bad input stays readable."""

    def __init__(self, logger: logging.Logger, label: str, burst: int = 10, period_s: float = 60.0):
        self.logger, self.label, self.burst, self.period_s = logger, label, burst, period_s
        self._period_start = time.monotonic()
        self._logged = 0
        self._unlogged = 0

    def sent(self, topic: str, partition: int, offset: int, reason: str) -> None:
        """A dead letter committed to the dead-letter topic."""
        self.flush()
        if self._logged < self.burst:
            self._logged += 1
            event(self.logger, logging.WARNING, "dead_lettered", "%s: dead-lettered %s[%d]@%d: %s", self.label,
                  topic, partition, offset, reason, topic=topic, partition=partition, offset=offset, reason=reason)
        else:
            self._unlogged += 1

    def flush(self) -> None:
        """At the end of a period, the count of the dead letters it did not log one by one."""
        if time.monotonic() - self._period_start < self.period_s:
            return
        if self._unlogged:
            event(self.logger, logging.WARNING, "dead_letters_summarised",
                  "%s: %d more dead letters in the last %.0f s (see the dead-letter topic)", self.label,
                  self._unlogged, time.monotonic() - self._period_start, count=self._unlogged)
        self._period_start, self._logged, self._unlogged = time.monotonic(), 0, 0


class Summary:
    """Counts of a period and its batch latencies, logged every `every_s` seconds (0: never). At most
    `samples` latencies are kept (a uniform sample beyond that), so a busy period costs bounded memory."""

    def __init__(self, logger: logging.Logger, label: str, every_s: float, samples: int = 10_000):
        self.logger, self.label, self.every_s, self.samples = logger, label, every_s, samples
        self._random = random.Random()
        self._start()

    def _start(self) -> None:
        self._since = time.monotonic()
        self.messages_in = self.messages_out = self.dead_lettered = self._batches = 0
        self._latencies: list[float] = []

    def batch(self, messages_in: int, messages_out: int, dead_lettered: int, seconds: float) -> None:
        self.messages_in += messages_in
        self.sent(messages_out, dead_lettered)
        self._batches += 1
        if len(self._latencies) < self.samples:
            self._latencies.append(seconds)
        elif (slot := self._random.randrange(self._batches)) < self.samples:
            self._latencies[slot] = seconds

    def sent(self, messages_out: int, dead_lettered: int) -> None:
        """Messages sent outside a batch (the idle round's), or a batch's."""
        self.messages_out += messages_out
        self.dead_lettered += dead_lettered

    def maybe_log(self, lag: int | None) -> None:
        if not self.every_s or time.monotonic() - self._since < self.every_s:
            return
        parked = REGISTRY.get_sample_value("streamvault_parked_orders", {"service": self.label})
        p50, p99 = (_percentile(self._latencies, q) for q in (0.50, 0.99))
        event(self.logger, logging.INFO, "summary",
              "%s: last %.0f s: %d in, %d out, %d dead-lettered; parked %s, lag %s; batch p50 %s ms, p99 %s ms",
              self.label, time.monotonic() - self._since, self.messages_in, self.messages_out, self.dead_lettered,
              _or_dash(parked), _or_dash(lag), _or_dash(p50), _or_dash(p99),
              seconds=round(time.monotonic() - self._since, 1), messages_in=self.messages_in,
              messages_out=self.messages_out, dead_lettered=self.dead_lettered, batches=self._batches,
              parked=None if parked is None else int(parked), lag=lag, batch_p50_ms=p50, batch_p99_ms=p99)
        self._start()


def _percentile(values: list[float], q: float) -> float | None:
    """In milliseconds, nearest rank; None for an empty period."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


def _or_dash(value: object) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
