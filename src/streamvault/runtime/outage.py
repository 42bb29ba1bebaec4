"""A Kafka outage as the operator reads it: one line when no broker answers, one when one does again, with
how long it lasted; never one per reconnect attempt (librdkafka retries every second or so, in every client)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException

from streamvault.runtime.logs import event

log = logging.getLogger(__name__)
# Reported by librdkafka for every failed connection attempt; the outage is what matters, not each attempt.
_RECONNECTING = frozenset({KafkaError._TRANSPORT, KafkaError._RESOLVE})


class KafkaOutage:
    def __init__(self, label: str):
        self.label = label
        self.since: float | None = None  # monotonic time the outage began; None while a broker answers
        self._last_error: int | None = None

    @property
    def reason(self) -> str | None:
        """Why the service is not ready, while no broker answers."""
        if self.since is None:
            return None
        return f"no Kafka broker answers (for {time.monotonic() - self.since:.0f} s)"

    def on_error(self, error: KafkaError) -> None:
        """librdkafka's `error_cb`: all brokers down begins an outage; another error is logged when it changes."""
        code = error.code()
        if code == KafkaError._ALL_BROKERS_DOWN:
            self.began(error.str())
        elif code not in _RECONNECTING and code != self._last_error:
            self._last_error = code
            event(log, logging.WARNING, "kafka_error", "%s: Kafka: %s", self.label, error.str(),
                  code=error.name(), reason=error.str())

    def began(self, reason: str) -> None:
        if self.since is None:
            self.since = time.monotonic()
            event(log, logging.WARNING, "kafka_outage_began", "%s: Kafka outage began: %s; not ready until a "
                  "broker answers", self.label, reason, reason=reason)

    def check(self, ask_broker: Callable[[], object]) -> None:
        """During an outage, ask a broker (a metadata request); its answer ends the outage."""
        if self.since is None:
            return
        try:
            ask_broker()
        except KafkaException:
            return
        self.ended()

    def ended(self) -> None:
        if self.since is None:
            return
        seconds = time.monotonic() - self.since
        self.since, self._last_error = None, None
        event(log, logging.INFO, "kafka_outage_ended", "%s: Kafka outage ended after %.0f s", self.label, seconds,
              seconds=round(seconds, 1))
