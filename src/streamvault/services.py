"""The three services: their default topics, consumer group and HTTP port, and how each is built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamvault import config
from streamvault.runtime.loop import ServiceLoop
from streamvault.runtime.settings import RuntimeSettings
from streamvault.runtime.stage import Stage, Topics


class StgSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    # Never serve a user or restaurant record older than this from the in-process cache ...
    reference_max_age_s: float = Field(5.0, ge=0, validation_alias="STREAMVAULT_REFERENCE_MAX_AGE_SECONDS")
    # ... and keep at most this many (about 0.5 KB each).
    reference_cache_entries: int = Field(20_000, ge=0, validation_alias="STREAMVAULT_REFERENCE_CACHE_ENTRIES")
    # A parked order is tried again after 2, 4, 8 ... seconds, never waiting longer than this between attempts.
    parked_retry_max_s: float = Field(600.0, gt=0, validation_alias="STREAMVAULT_PARKED_RETRY_MAX_SECONDS")
    # A parked order waiting longer than this (3 days) goes to the dead-letter topic with what it waited for.
    parked_max_age_s: float = Field(259_200.0, gt=0, validation_alias="STREAMVAULT_PARKED_MAX_AGE_SECONDS")


def _stg(topics: Topics) -> Stage:
    from streamvault.stg.parking import ParkedOrders
    from streamvault.stg.reference import ReferenceData
    from streamvault.stg.service import StgStage

    settings = config.load(config.RedisSettings)
    client = settings.client(socket_timeout=5, socket_connect_timeout=5)
    stg = config.load(StgSettings)
    return StgStage(ReferenceData(client, stg.reference_max_age_s, stg.reference_cache_entries),
                    ParkedOrders(stg.parked_retry_max_s, stg.parked_max_age_s))


def _dds(topics: Topics) -> Stage:
    from streamvault.dds.service import DdsStage

    return DdsStage(load_src=topics.source)


def _cdm(topics: Topics) -> Stage:
    from streamvault.cdm.service import CdmStage

    return CdmStage()


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    source: str
    destination: str | None
    http_port: int
    build: Callable[[Topics], Stage]

    def topics(self, kafka: config.KafkaSettings) -> Topics:
        """KAFKA_SOURCE_TOPIC / _DESTINATION_TOPIC / _DLQ_TOPIC override this service's defaults."""
        return Topics(source=kafka.source_topic or self.source,
                      destination=kafka.destination_topic or self.destination,
                      dlq=kafka.dlq_topic or f"{self.name}-dlq")

    def group(self, kafka: config.KafkaSettings) -> str:
        return kafka.consumer_group or self.name


SERVICES = {
    "stg": ServiceSpec("stg-service", "order-service_orders", "stg-service-orders", 8001, _stg),
    "dds": ServiceSpec("dds-service", "stg-service-orders", "dds-service-orders", 8002, _dds),
    "cdm": ServiceSpec("cdm-service", "dds-service-orders", None, 8003, _cdm),
}


def build_loop(key: str, instance_id: str | None = None) -> ServiceLoop:
    """Settings from the environment (KAFKA_SOURCE_TOPIC etc. override the defaults); raises SettingsError."""
    spec = SERVICES[key]
    kafka = config.load(config.KafkaSettings)
    runtime = config.load(RuntimeSettings)
    if runtime.http_port is None:
        runtime.http_port = spec.http_port
    if instance_id:
        runtime.instance_id = instance_id
    topics = spec.topics(kafka)
    return ServiceLoop(spec.build(topics), topics, spec.group(kafka), kafka, config.load(config.PgSettings), runtime)
