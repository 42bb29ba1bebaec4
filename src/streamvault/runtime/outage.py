"""A Kafka outage as the operator reads it: one line when no broker answers, one when one does again, with
how long it lasted; never one per reconnect attempt (librdkafka retries every second or so, in every client).

A broker that answers but refuses us (TLS: an unknown CA, a certificate for another host; SASL: a wrong
password) is a setting to fix, not an outage: its line says so and why, again at most once a minute while it
persists, and the service recovers by itself once the setting or the server is fixed.

librdkafka's "all brokers are down" is a suspicion, not yet an outage: just after a broker restarts it can
come while a broker answers. The service is not ready from the report on, but the outage's line waits for
the next metadata request to confirm it; one that a broker answers clears the report without a line."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException

from streamvault.runtime.logs import event

log = logging.getLogger(__name__)
# Reported by librdkafka for every failed connection attempt; the outage is what matters, not each attempt.
_RECONNECTING = frozenset({KafkaError._TRANSPORT, KafkaError._RESOLVE})
# The broker refused the connection: TLS or SASL.
_REFUSED = frozenset({KafkaError._SSL, KafkaError._AUTHENTICATION, KafkaError.SASL_AUTHENTICATION_FAILED})
_REPEAT_S = 60.0


class KafkaOutage:
    def __init__(self, label: str):
        self.label = label
        self.since: float | None = None  # monotonic time the outage began; None while a broker answers
        self._last_error: int | None = None
        self._suspected: str | None = None  # librdkafka's report, while no metadata request has confirmed it
        self._refused: tuple[int, float, str] | None = None  # the refusal's code, when it was logged, its text

    @property
    def reason(self) -> str | None:
        """Why the service is not ready, while no broker answers."""
        if self.since is None:
            return None
        if self._refused is not None:
            return f"Kafka refused the connection: {self._refused[2]}"
        return f"no Kafka broker answers (for {time.monotonic() - self.since:.0f} s)"

    def on_error(self, error: KafkaError) -> None:
        """librdkafka's `error_cb`: all brokers down begins an outage, a refusal is one; another error is logged
        when it changes."""
        code = error.code()
        if code in _REFUSED:
            self.refused(code, error.str())
        elif code == KafkaError._ALL_BROKERS_DOWN:
            self.suspected(error.str())
        elif code not in _RECONNECTING and code != self._last_error:
            self._last_error = code
            event(log, logging.WARNING, "kafka_error", "%s: Kafka: %s", self.label, error.str(),
                  code=error.name(), reason=error.str())

    def refused(self, code: int, cause: str) -> None:
        if self.since is None:
            self.since = time.monotonic()
        self._suspected = None  # a refusal is an answer: the outage is known, and its line is the refusal's
        known = self._refused
        if known is None or known[0] != code or time.monotonic() - known[1] >= _REPEAT_S:
            event(log, logging.WARNING, "kafka_refused", "%s: Kafka refused the connection: %s; not ready until the "
                  "setting or the server is fixed", self.label, cause, reason=cause)
            self._refused = (code, time.monotonic(), cause)
        else:
            self._refused = (code, known[1], cause)

    def suspected(self, reason: str) -> None:
        if self.since is None:
            self.since, self._suspected = time.monotonic(), reason

    def began(self, reason: str) -> None:
        if self.since is None or self._suspected is not None:
            self.since, self._suspected = self.since or time.monotonic(), None
            event(log, logging.WARNING, "kafka_outage_began", "%s: Kafka outage began: %s; not ready until a "
                  "broker answers", self.label, reason, reason=reason)

    def check(self, ask_broker: Callable[[], object]) -> None:
        """During an outage, ask a broker (a metadata request): its answer ends the outage, its failure
        confirms a suspected one."""
        if self.since is None:
            return
        try:
            ask_broker()
        except KafkaException:
            if self._suspected is not None:
                self.began(self._suspected)
            return
        self.ended()

    def ended(self) -> None:
        if self.since is None:
            return
        if self._suspected is not None:
            self.since, self._suspected = None, None
            return
        seconds = time.monotonic() - self.since
        self.since, self._last_error, self._refused = None, None, None
        event(log, logging.INFO, "kafka_outage_ended", "%s: Kafka outage ended after %.0f s", self.label, seconds,
              seconds=round(seconds, 1))
