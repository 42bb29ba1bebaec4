"""How large a message each topic takes: learnt from the broker, checked before producing.

The broker refuses a record batch larger than the topic's `max.message.bytes` (Kafka's default:
1,048,588 bytes). Inside a transaction one refused message aborts the whole batch, and the same
batch would be refused again for ever; so the loop checks each message first and deals with the
one that cannot fit (docs/guarantees.md).
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from streamvault.config import KafkaSettings
from streamvault.kafka.clients import service_config

log = logging.getLogger(__name__)

KAFKA_DEFAULT = 1_048_588
# Record batch header (61 bytes) plus the record's and its headers' varints, with room to spare.
_FRAMING = 256
# LZ4, the producer's codec, can grow incompressible data by 1 byte in 255, and at best shrinks 255:1.
_LZ4_RATIO = 250

Headers = list[tuple[str, bytes]]


def message_bytes(key: bytes | None, value: bytes | None, headers: Headers = ()) -> int:
    """An upper bound of the record batch that holds this one message, compressed or not."""
    raw = len(key or b"") + len(value or b"") + sum(len(name) + len(data) + 10 for name, data in headers)
    return raw + raw // _LZ4_RATIO + _FRAMING


@dataclass(frozen=True)
class TopicLimits:
    """Each topic's `max.message.bytes`."""

    limits: dict[str, int]

    def limit(self, topic: str) -> int:
        return self.limits.get(topic, KAFKA_DEFAULT)

    @property
    def smallest(self) -> int:
        return min(self.limits.values(), default=KAFKA_DEFAULT)

    def safe_value_bytes(self, topic: str) -> int:
        """Any value up to this size fits, with a small key and no headers: one comparison per message."""
        return (self.limit(topic) - 2 * _FRAMING) * _LZ4_RATIO // (_LZ4_RATIO + 1)

    def fits(self, topic: str, key: bytes | None, value: bytes | None, headers: Headers = ()) -> bool:
        return message_bytes(key, value, headers) <= self.limit(topic)

    def fits_compressed(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> bool:
        """Whether a message larger than the limit still fits once compressed. An estimate: LZ4 is taken
        to need twice what zlib's fastest level does, and never less than its best ratio allows."""
        if self.fits(topic, key, value, headers):
            return True
        estimate = max(2 * len(zlib.compress(value, 1)), len(value) // _LZ4_RATIO)
        return message_bytes(key, b"", headers) + estimate <= self.limit(topic)


def topic_limits(settings: KafkaSettings, topics: list[str]) -> TopicLimits:
    """Read `max.message.bytes` of each topic (the broker's default unless the topic overrides it).
    Where the cluster does not allow reading topic configurations, Kafka's default is assumed."""
    return TopicLimits(topic_setting(settings, topics, "max.message.bytes", KAFKA_DEFAULT))


def min_insync_replicas(settings: KafkaSettings, topics: list[str]) -> dict[str, int]:
    """Each topic's `min.insync.replicas`: how many replicas must have a write before it counts."""
    return topic_setting(settings, topics, "min.insync.replicas", 1)


def topic_setting(settings: KafkaSettings, topics: list[str], name: str, default: int) -> dict[str, int]:
    """An integer setting of each topic, as the broker reports it; `default` (Kafka's) where it cannot be read."""
    admin = AdminClient(service_config(settings))
    futures = admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic) for topic in topics],
                                     request_timeout=30)
    values = {}
    for resource, future in futures.items():
        try:
            values[resource.name] = int(future.result()[name].value)
        except (KafkaException, KeyError, ValueError) as exc:
            log.warning("cannot read %s of topic %s (%s); assuming Kafka's default of %d", name, resource.name,
                        exc, default)
            values[resource.name] = default
    return values
