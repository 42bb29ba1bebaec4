"""Waiting until the services have passed what a snapshot saw in flight, by their committed Kafka offsets.

Each service commits its PostgreSQL writes before the Kafka transaction that commits its offsets and
sends its output. So once a service's group has passed the end its source topic had after the snapshot,
every row the snapshot saw in that service's layer has been sent on; once the next service has passed
the end of that output, those rows are loaded in the next layer. Services are settled in pipeline order.
"""

from __future__ import annotations

import time
from dataclasses import replace

from confluent_kafka import KafkaException
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamvault.config import KafkaSettings
from streamvault.kafka.lag import end_offsets, passed
from streamvault.observe.status import ServiceRef

POLL_S = 0.5


def settle(kafka: KafkaSettings, refs: list[ServiceRef], timeout_s: float) -> bool:
    """True once every service (stg, dds, cdm, in that order) has passed the end its source topic had
    when its turn came; False when the time is up or Kafka does not answer."""
    deadline = time.monotonic() + timeout_s
    try:
        for ref in refs:
            ends = end_offsets(kafka, ref.topic)
            while not passed(kafka, ref.group, ref.topic, ends):
                if time.monotonic() >= deadline:
                    return False
                time.sleep(POLL_S)
    except KafkaException:
        return False
    return True


class ServiceSources(BaseSettings):
    """Where each service reads when its deployment overrides the defaults (KAFKA_SOURCE_TOPIC and
    KAFKA_CONSUMER_GROUP are per service): STREAMVAULT_STG_TOPIC, STREAMVAULT_STG_GROUP, and so on."""

    model_config = SettingsConfigDict(env_prefix="STREAMVAULT_", extra="ignore")

    stg_topic: str | None = None
    stg_group: str | None = None
    dds_topic: str | None = None
    dds_group: str | None = None
    cdm_topic: str | None = None
    cdm_group: str | None = None

    def applied(self, refs: list[ServiceRef]) -> list[ServiceRef]:
        return [replace(ref, topic=getattr(self, f"{ref.key}_topic") or ref.topic,
                        group=getattr(self, f"{ref.key}_group") or ref.group) for ref in refs]
