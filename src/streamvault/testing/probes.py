"""Freshness probes: orders published with a plain Kafka producer and timed until the marts show them.

Each probe is an order of its own new user for one probe dish, so it is visible exactly when its
(user, dish) row appears in `cdm.user_product_counters`, whatever other probes or orders do. The
freshness benchmark and the soak share it (benchmarks/freshness.py, benchmarks/soak.py).
"""

from __future__ import annotations

import json
import math
import statistics
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
import redis
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from streamvault.hashing import hash_key
from streamvault.testing.support import kafka_config

_FORMAT = "%Y-%m-%d %H:%M:%S"
_DISH = {"_id": "probe-dish", "name": "Проба", "price": 100.0, "category": "Пробы"}
_VISIBLE = "SELECT user_id::text FROM cdm.user_product_counters WHERE product_id = %s AND user_id = ANY(%s::uuid[])"


def _entity_id() -> str:
    return uuid.uuid4().hex[:24]


@dataclass
class Probes:
    """Publishes a probe every `interval_s`, polls the marts every `poll_s`; latencies in ms."""

    redis: redis.Redis
    conn: psycopg.Connection  # autocommit: every poll sees what is committed now
    topic: str
    interval_s: float = 0.1
    poll_s: float = 0.005
    timeout_s: float = 60.0  # a probe not seen by then is counted as missing
    first_object_id: int = 9_000_000_000_000
    latencies_ms: list[float] = field(default_factory=list)
    missing: int = 0
    _pending: dict[str, float] = field(default_factory=dict)  # hub key of the probe's user -> publish time
    _published: int = 0
    _next_at: float = 0.0

    def __post_init__(self) -> None:
        self.restaurant = _entity_id()
        self.redis.set(self.restaurant, json.dumps({"_id": self.restaurant, "name": "Probe kitchen",
                                                    "update_ts_utc": _now(), "menu": [_DISH]}))
        self.product = hash_key("product", _DISH["_id"])
        self.producer = Producer(kafka_config(**{"linger.ms": 0, "acks": "all"}))

    def run(self, seconds: float) -> None:
        """Probe for `seconds`, then wait for the probes in flight (up to the timeout)."""
        ends = time.monotonic() + seconds
        self.start()
        while time.monotonic() < ends:
            self.step()
        drain_until = time.monotonic() + self.timeout_s
        while self._pending and time.monotonic() < drain_until:
            self._poll()
            time.sleep(self.poll_s)
        self.missing += len(self._pending)
        self._pending.clear()
        self.producer.flush(10)

    def start(self) -> None:
        """The first probe goes out at the next step."""
        self._next_at = time.monotonic()

    def step(self) -> None:
        """One turn: publish when due, look for the probes in flight, sleep until the next turn."""
        now = time.monotonic()
        if now >= self._next_at:
            self._publish()
            self._next_at += self.interval_s
        self._poll()
        self._expire()
        time.sleep(max(0.0, min(self.poll_s, self._next_at - time.monotonic())))

    def take(self) -> list[float]:
        """The latencies measured since the last take (the soak samples them per interval)."""
        taken, self.latencies_ms = self.latencies_ms, []
        return taken

    def _publish(self) -> None:
        user = _entity_id()
        self.redis.set(user, json.dumps({"_id": user, "name": "Probe", "login": f"probe-{user}",
                                         "update_ts_utc": _now()}))
        object_id = self.first_object_id + self._published
        self._published += 1
        now = _now()
        order = {"object_id": object_id, "object_type": "order", "sent_dttm": now, "payload": {
            "restaurant": {"id": self.restaurant}, "user": {"id": user}, "date": now,
            "order_items": [{"id": _DISH["_id"], "name": _DISH["name"], "price": _DISH["price"], "quantity": 1}],
            "bonus_payment": 0, "cost": _DISH["price"], "payment": _DISH["price"], "bonus_grant": 0,
            "statuses": [{"status": "CLOSED", "dttm": now}, {"status": "OPEN", "dttm": now}],
            "final_status": "CLOSED", "update_ts": now}}
        published = time.monotonic()
        self.producer.produce(self.topic, key=str(object_id).encode(), value=json.dumps(order).encode())
        self.producer.poll(0)
        self._pending[hash_key("user", user)] = published

    def _poll(self) -> None:
        if not self._pending:
            return
        seen = self.conn.execute(_VISIBLE, (self.product, list(self._pending))).fetchall()
        now = time.monotonic()
        for (user,) in seen:
            self.latencies_ms.append((now - self._pending.pop(user)) * 1000)

    def _expire(self) -> None:
        limit = time.monotonic() - self.timeout_s
        for user in [u for u, published in self._pending.items() if published < limit]:
            del self._pending[user]
            self.missing += 1


def percentiles(latencies_ms: list[float]) -> dict[str, float | None]:
    """p50, p95, p99 and max in ms (None without data)."""
    if len(latencies_ms) < 2:
        only = round(latencies_ms[0], 1) if latencies_ms else None
        return {"p50": only, "p95": only, "p99": only, "max": only}
    cuts = statistics.quantiles(latencies_ms, n=100, method="inclusive")
    return {"p50": round(cuts[49], 1), "p95": round(cuts[94], 1), "p99": round(cuts[98], 1),
            "max": round(max(latencies_ms), 1)}


def _now() -> str:
    return datetime.now(UTC).strftime(_FORMAT)


_HISTOGRAMS = ("streamvault_freshness_seconds", "streamvault_batch_seconds", "streamvault_batch_size")


def histograms(metrics_url: str) -> dict[str, dict[float, float]]:
    """A service's freshness, batch time and batch size histograms from its /metrics: cumulative count
    per upper bound (inf included), and the sum under the key -1."""
    with urllib.request.urlopen(metrics_url, timeout=5) as response:
        text = response.read().decode()
    found: dict[str, dict[float, float]] = {name: {} for name in _HISTOGRAMS}
    for family in text_string_to_metric_families(text):
        if family.name in found:
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    found[family.name][float(sample.labels["le"])] = sample.value
                elif sample.name.endswith("_sum"):
                    found[family.name][-1.0] = sample.value
    return found


def hop_summary(before: dict[str, dict[float, float]], after: dict[str, dict[float, float]]) -> dict:
    """Between two readings of a service's histograms: messages committed, their mean age at commit and
    the bucket bounds (s) holding their 50th and 99th percentiles; batches, mean batch time and size."""
    def delta(name: str) -> dict[float, float]:
        return {bound: after[name].get(bound, 0.0) - before[name].get(bound, 0.0) for bound in after[name]}

    age, batch_time, batch_size = (delta(name) for name in _HISTOGRAMS)
    messages, batches = age.get(math.inf, 0.0), batch_time.get(math.inf, 0.0)
    if not messages or not batches:
        return {"messages": int(messages), "batches": int(batches)}

    def bound_of(share: float) -> float:
        return next(bound for bound in sorted(b for b in age if b >= 0) if age[bound] >= share * messages)

    return {"messages": int(messages), "mean_s": round(age[-1.0] / messages, 3), "p50_le_s": bound_of(0.5),
            "p99_le_s": bound_of(0.99), "batches": int(batches),
            "batch_mean_ms": round(1000 * batch_time[-1.0] / batches, 1),
            "batch_mean_messages": round(batch_size[-1.0] / batches, 1)}
