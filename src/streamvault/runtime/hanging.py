"""A transaction that no producer will end, holding back a partition the service reads.

A read_committed consumer reads nothing past a partition's last stable offset: the first offset of the oldest
transaction still open there. A producer that dies with a transaction open has it aborted by its coordinator
after `transaction.timeout.ms`. But Kafka can be left with data of a transaction no coordinator knows to be
open (a "hanging" transaction, KIP-664; seen here once in 30 runs after the active controller of a three-broker
cluster was killed: issue 12). Its last stable offset never moves again, and the service waits for good with
nothing in its logs while its lag grows.

So the service watches the last stable offset and the high watermark of each partition it is assigned (its
consumer's statistics, every 5 s). Data past a last stable offset that has not moved for
`STREAMVAULT_HANGING_TRANSACTION_SECONDS` is such a transaction: the service reports not ready, naming the
partition, the offset and the operator's repair (docs/deploy.md), with one log line when it begins and one when
it ends. The bound must exceed the transaction timeout of every producer writing the topic (the services' is
30 s); for a source topic written by other producers, theirs.

Unless `STREAMVAULT_ABORT_HANGING_TRANSACTIONS` is off, the service then aborts it itself, as the operator
would (kafka/transactions.py, which first makes sure no coordinator still has it open), in a thread of its own:
the statistics callback runs in the consumer's poll. A refused abort is tried again every bound, with one log
line for the first refusal; the reason stays until the statistics show the partition released.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from streamvault.runtime import metrics
from streamvault.runtime.logs import event

log = logging.getLogger(__name__)
Partition = tuple[str, int]
# (topic, partition, the transaction's first offset) -> whose transaction it was
Abort = Callable[[str, int, int], str]


@dataclass(frozen=True)
class Held:
    stable: int  # the last stable offset: the first offset of the open transaction
    end: int  # the high watermark
    since: float  # monotonic time when the last stable offset was first seen there


def offsets(statistics: str) -> dict[Partition, tuple[int, int]]:
    """Each partition's last stable offset and high watermark, from a consumer's statistics (librdkafka's
    `stats_cb` JSON); partitions not fetched yet (negative offsets) are left out."""
    found = {}
    for topic, data in json.loads(statistics).get("topics", {}).items():
        for number, partition in data.get("partitions", {}).items():
            stable, end = partition.get("ls_offset", -1), partition.get("hi_offset", -1)
            if int(number) >= 0 and stable >= 0 and end >= 0:
                found[(topic, int(number))] = (stable, end)
    return found


def follow(held: dict[Partition, Held], seen: dict[Partition, tuple[int, int]], assigned: Iterable[Partition],
           now: float) -> dict[Partition, Held]:
    """The assigned partitions held back now: data past the last stable offset, each since that offset was
    first seen (a last stable offset that moves is a transaction ending, not one left open)."""
    following = {}
    for partition in assigned:
        stable, end = seen.get(partition, (-1, -1))
        if 0 <= stable < end:
            before = held.get(partition)
            since = before.since if before is not None and before.stable == stable else now
            following[partition] = Held(stable, end, since)
    return following


class HangingTransactions:
    """The not-ready reason while a transaction open longer than `bound_s` holds back a partition the service
    reads; fed by its consumer's statistics (`on_statistics`)."""

    def __init__(self, label: str, bound_s: float, bootstrap_servers: str, abort: Abort | None = None):
        self.label, self.bound_s, self.bootstrap_servers = label, bound_s, bootstrap_servers
        self.assigned: list[Partition] = []
        self.reason: str | None = None
        self._held: dict[Partition, Held] = {}
        self._reported: set[Partition] = set()
        self._abort = abort
        self._attempted: dict[Partition, tuple[int, float]] = {}  # the offset and time of the last abort tried
        self._refused: set[tuple[Partition, int]] = set()

    def on_statistics(self, statistics: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._held = follow(self._held, offsets(statistics), self.assigned, now)
        hanging = {partition: held for partition, held in self._held.items() if now - held.since >= self.bound_s}
        for partition in self._reported - set(hanging):
            topic, number = partition
            event(log, logging.INFO, "hanging_transaction_ended", "%s: %s[%d] is no longer held back by a "
                  "transaction left open", self.label, topic, number, topic=topic, partition=number)
            metrics.hanging_transaction_seconds.remove(self.label, topic, str(number))
        for (topic, number), held in hanging.items():
            metrics.hanging_transaction_seconds.labels(self.label, topic, str(number)).set(now - held.since)
        for partition in set(hanging) - self._reported:
            reason = self._explain(partition, hanging[partition], now)
            event(log, logging.WARNING, "not_ready", "%s: not ready: %s", self.label, reason, reason=reason,
                  topic=partition[0], partition=partition[1], offset=hanging[partition].stable)
        self._reported = set(hanging)
        if self._abort is not None:
            self._try_aborts(hanging, now)
        if not hanging:
            self.reason = None
            return
        oldest = min(hanging, key=lambda partition: hanging[partition].since)
        self.reason = self._explain(oldest, hanging[oldest], now) + (
            f" ({len(hanging)} partitions held)" if len(hanging) > 1 else "")

    def _try_aborts(self, hanging: dict[Partition, Held], now: float) -> None:
        for partition, held in hanging.items():
            offset, last = self._attempted.get(partition, (-1, 0.0))
            if offset != held.stable or now - last >= self.bound_s:
                self._attempted[partition] = (held.stable, now)
                threading.Thread(target=self._aborting, args=(partition, held.stable),
                                 name=f"abort {partition[0]}[{partition[1]}]", daemon=True).start()
        for partition in set(self._attempted) - set(hanging):
            del self._attempted[partition]

    def _aborting(self, partition: Partition, offset: int) -> None:
        topic, number = partition
        try:
            whose = self._abort(topic, number, offset)
        except Exception as error:  # noqa: BLE001 (any refusal leaves the operator's repair, which the reason names)
            if (partition, offset) not in self._refused:
                self._refused.add((partition, offset))
                event(log, logging.WARNING, "hanging_transaction_abort_refused", "%s: did not abort the transaction "
                      "holding back %s[%d] at offset %d (%s: %s); trying again every %g s, and the operator's "
                      "command in /ready ends it too", self.label, topic, number, offset, type(error).__name__,
                      error, self.bound_s, topic=topic, partition=number, offset=offset)
            return
        event(log, logging.INFO, "hanging_transaction_aborted", "%s: aborted the transaction holding back %s[%d] "
              "at offset %d (%s)", self.label, topic, number, offset, whose, topic=topic, partition=number,
              offset=offset)

    def _explain(self, partition: Partition, held: Held, now: float) -> str:
        topic, number = partition
        return (f"Kafka: a transaction left open holds back {topic}[{number}] at offset {held.stable} (high "
                f"watermark {held.end}) for {now - held.since:.0f} s, longer than any producer's transaction may "
                f"last ({self.bound_s:g} s); no producer will end it. Abort it: kafka-transactions.sh "
                f"--bootstrap-server {self.bootstrap_servers} abort --topic {topic} --partition {number} "
                f"--start-offset {held.stable}")
