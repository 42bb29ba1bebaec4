"""Whether Kafka can take a write, as an idle service sees it.

A service holding a batch learns that Kafka refuses writes when its transaction stalls (`stuck`). An idle
one has nothing to commit, and with two brokers of three down it would stay ready: the controller quorum is
lost with them, so the metadata still shows every replica in sync (nothing is left to update it). So in its
idle rounds the service compares each partition's in-sync replicas, as the metadata has them, with the
brokers a client of its own reaches (librdkafka's statistics of a client that keeps a connection to every
broker; the service's consumer and producer connect only where they need to): fewer in-sync replicas
answering than the topic's `min.insync.replicas`, and a write there is refused.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ClusterMetadata

from streamvault.config import KafkaSettings
from streamvault.kafka.clients import service_config
from streamvault.runtime.logs import event

log = logging.getLogger(__name__)
# A shortfall counts once it has lasted this long: statistics are taken every 2 s, so a broker that has just
# answered again (after an outage, a restart) may still show as down in the last ones.
CONFIRM_S = 5.0
_WATCHING = {"enable.sparse.connections": False, "statistics.interval.ms": 2000}
# (topic, partition) -> the in-sync replicas' broker ids, as the metadata has them
InSync = dict[tuple[str, int], list[int]]


def answering_brokers(statistics: str) -> set[int]:
    """The brokers a client is connected to now, from its statistics (librdkafka's `stats_cb` JSON)."""
    brokers = json.loads(statistics).get("brokers", {}).values()
    return {broker["nodeid"] for broker in brokers if broker.get("nodeid", -1) >= 0 and broker.get("state") == "UP"}


def short_of_quorum(in_sync: InSync, answering: set[int], min_insync: dict[str, int]) -> str | None:
    """Why writes are refused: the topic with partitions whose answering in-sync replicas are too few."""
    short: dict[str, list[int]] = {}
    for (topic, _), replicas in sorted(in_sync.items()):
        count = len(set(replicas) & answering)
        if count < min_insync.get(topic, 1):
            short.setdefault(topic, []).append(count)
    if not short:
        return None
    topic, counts = next(iter(short.items()))
    fewest = min(counts)
    return (f"Kafka: {len(counts)} partitions of topic {topic} have {fewest} in-sync "
            f"{'replica' if fewest == 1 else 'replicas'} answering, below min.insync.replicas "
            f"{min_insync.get(topic, 1)}; writes are refused")


def in_sync_replicas(metadata: Iterable[ClusterMetadata]) -> InSync:
    return {(topic.topic, partition.id): list(partition.isrs)
            for cluster in metadata for topic in cluster.topics.values() for partition in topic.partitions.values()}


class WriteQuorum:
    """The not-ready reason while a topic the service writes has too few in-sync replicas answering; one log
    line when that begins (once it has lasted CONFIRM_S) and one when it ends."""

    def __init__(self, label: str, settings: KafkaSettings, min_insync: dict[str, int]):
        """`min_insync`: each topic the service writes, with its min.insync.replicas (learnt once)."""
        self.label, self.settings, self.min_insync = label, settings, min_insync
        self._client: AdminClient | None = None  # created at the first check
        self._answering: set[int] | None = None  # None until the first statistics arrive
        self.reason: str | None = None
        self._since: float | None = None  # when the shortfall was first seen

    def _on_statistics(self, statistics: str) -> None:
        self._answering = answering_brokers(statistics)

    def check(self) -> None:
        """Compare the topics' in-sync replicas (a metadata request each) with the brokers that answer. Kafka
        not answering at all is an outage (outage.py), not this."""
        if self._client is None:
            self._client = AdminClient({**service_config(self.settings), **_WATCHING,
                                        "stats_cb": self._on_statistics})
        self._client.poll(0)  # serves the statistics
        if self._answering is None:
            return
        try:
            in_sync = in_sync_replicas([self._client.list_topics(topic, timeout=2) for topic in self.min_insync])
        except KafkaException:
            return
        self._report(short_of_quorum(in_sync, self._answering, self.min_insync))

    def _report(self, reason: str | None) -> None:
        now = time.monotonic()
        if reason is None:
            if self.reason is not None:
                event(log, logging.INFO, "kafka_quorum_restored", "%s: Kafka takes writes again, after %.0f s",
                      self.label, now - self._since, seconds=round(now - self._since, 1))
            self.reason, self._since = None, None
        elif self._since is None:
            self._since = now
        elif self.reason is not None or now - self._since >= CONFIRM_S:
            if self.reason is None:
                event(log, logging.WARNING, "not_ready", "%s: not ready: %s", self.label, reason, reason=reason)
            self.reason = reason
