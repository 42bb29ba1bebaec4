"""A snapshot of the whole pipeline: rows per layer, lag, dead letters, parked orders, service health.

Each part is read concurrently and on its own: a server that does not answer becomes a reported
problem, never an exception, because status matters most when something is broken.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar

import psycopg
from confluent_kafka import KafkaException
from pydantic_settings import BaseSettings, SettingsConfigDict

from streamvault.config import KafkaSettings, PgSettings
from streamvault.db.sqlfiles import sql
from streamvault.kafka.lag import PartitionLag, committed_messages, partition_lags
from streamvault.services import SERVICES
from streamvault.verify.last import LastVerify, last_verify

PROBE_TIMEOUT_S = 2.0
T = TypeVar("T")
Health = Literal["ready", "not ready", "down"]


class ServiceUrls(BaseSettings):
    """Base URL of each service's HTTP endpoints; default http://127.0.0.1:<the service's port>."""

    model_config = SettingsConfigDict(env_prefix="STREAMVAULT_", extra="ignore")

    stg_url: str | None = None
    dds_url: str | None = None
    cdm_url: str | None = None


@dataclass(frozen=True)
class ServiceRef:
    """A service as deployed: the group and topic it reads, its dead-letter topic, where it answers."""

    key: str
    name: str
    group: str
    topic: str
    dlq: str
    url: str


def service_refs(kafka: KafkaSettings, urls: ServiceUrls) -> list[ServiceRef]:
    """Resolved as the services resolve them: the KAFKA_* overrides, else each service's defaults."""
    refs = []
    for key, spec in SERVICES.items():
        topics = spec.topics(kafka)
        url = getattr(urls, f"{key}_url") or f"http://127.0.0.1:{spec.http_port}"
        refs.append(ServiceRef(key, spec.name, spec.group(kafka), topics.source, topics.dlq, url.rstrip("/")))
    return refs


@dataclass
class ServiceStatus:
    ref: ServiceRef
    health: Health
    partitions: list[PartitionLag] | None  # None: Kafka did not answer
    dlq: int | None  # committed dead letters; None: unknown

    @property
    def lag(self) -> int | None:
        return None if self.partitions is None else sum(p.lag for p in self.partitions)


@dataclass(frozen=True)
class Freshness:
    """The newest source publish time a layer has committed, and how far behind now it is."""

    data_as_of: datetime | None
    behind_s: float | None


@dataclass
class Status:
    rows: dict[str, dict[str, int]]  # layer -> table -> rows; "source" counts the stg service's topic
    freshness: dict[str, Freshness]  # layer -> freshness; empty when PostgreSQL did not answer
    parked: int | None
    parked_expired: int | None  # parked orders that waited too long and went to the dead-letter topic
    services: list[ServiceStatus]
    problems: list[str] = field(default_factory=list)
    last_verify: LastVerify | None = None  # None: never ran, or unknown (then a problem says why)

    @property
    def healthy(self) -> bool:
        """Every server answers and every service is ready; lag, dead letters and parked orders are
        reported, not failures: they are the pipeline doing its job."""
        return not self.problems

    @property
    def main_rows(self) -> dict[str, int]:
        """Rows of each layer's main table (its first)."""
        return {layer: next(iter(tables.values())) for layer, tables in self.rows.items() if tables}

    @property
    def drained(self) -> bool:
        return all(service.lag == 0 for service in self.services)

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "problems": self.problems,
            "layers": self.rows,
            "freshness": {layer: {"data_as_of": None if f.data_as_of is None else f.data_as_of.isoformat(),
                                  "behind_s": None if f.behind_s is None else round(f.behind_s, 3)}
                          for layer, f in self.freshness.items()},
            "parked": self.parked,
            "parked_expired": self.parked_expired,
            "services": {s.ref.key: {
                "name": s.ref.name, "health": s.health, "url": s.ref.url, "group": s.ref.group, "topic": s.ref.topic,
                "lag": s.lag, "partitions": None if s.partitions is None else [asdict(p) for p in s.partitions],
                "dlq_topic": s.ref.dlq, "dlq": s.dlq,
            } for s in self.services},
            "last_verify": None if self.last_verify is None else {
                **asdict(self.last_verify), "finished_at": self.last_verify.finished_at.isoformat()},
        }


def collect(kafka: KafkaSettings, pg: PgSettings, refs: list[ServiceRef]) -> Status:
    with ThreadPoolExecutor(max_workers=3 + 3 * len(refs), thread_name_prefix="status") as pool:
        counts = pool.submit(_counts, pg)
        verified = pool.submit(last_verify, pg)
        freshness = pool.submit(_freshness, pg)
        lags = [pool.submit(partition_lags, kafka, ref.group, ref.topic) for ref in refs]
        dlqs = [pool.submit(committed_messages, kafka, ref.dlq) for ref in refs]
        probes = [pool.submit(_probe, ref.url) for ref in refs]
    problems: list[str] = []
    rows = _outcome(counts, f"postgresql {pg.host}:{pg.port}", problems) or {}
    last = _outcome(verified, f"postgresql {pg.host}:{pg.port}", problems)
    layers_freshness = _outcome(freshness, f"postgresql {pg.host}:{pg.port}", problems) or {}
    services = []
    for ref, lag, dlq, probe in zip(refs, lags, dlqs, probes):
        health = probe.result()
        if health != "ready":
            problems.append(f"{ref.name}: {health} ({ref.url}/ready)")
        services.append(ServiceStatus(ref, health, _outcome(lag, f"kafka {kafka.bootstrap_servers}", problems),
                                      _outcome(dlq, f"kafka {kafka.bootstrap_servers}", problems)))
    parked = rows.get("stg", {}).pop("parked_orders", None)
    parked_expired = rows.get("stg", {}).pop("parked_expired", None)
    source = next((s for s in services if s.ref.key == "stg" and s.partitions is not None), None)
    if source:
        rows = {"source": {source.ref.topic: sum(p.end for p in source.partitions)}, **rows}
    return Status(rows, layers_freshness, parked, parked_expired, services, list(dict.fromkeys(problems)), last)


def _counts(pg: PgSettings) -> dict[str, dict[str, int]]:
    with psycopg.connect(pg.conninfo(), connect_timeout=3, autocommit=True) as conn:
        cursor = conn.execute(sql("streamvault.observe", "counts.sql"))
        values = cursor.fetchone()
        names = [column.name for column in cursor.description]
    rows: dict[str, dict[str, int]] = {}
    for name, value in zip(names, values):
        layer, table = name.split(".")
        rows.setdefault(layer, {})[table] = value
    return rows


def _freshness(pg: PgSettings) -> dict[str, Freshness]:
    with psycopg.connect(pg.conninfo(), connect_timeout=3, autocommit=True) as conn:
        rows = conn.execute(sql("streamvault.observe", "freshness.sql")).fetchall()
    return {layer: Freshness(data_as_of, behind_s) for layer, data_as_of, behind_s in rows}


def _probe(url: str) -> Health:
    try:
        with urllib.request.urlopen(f"{url}/ready", timeout=PROBE_TIMEOUT_S) as response:
            return "ready" if json.load(response).get("ready") else "not ready"
    except urllib.error.HTTPError:
        return "not ready"  # 503: the service answers but is not ready
    except (OSError, ValueError):
        return "down"


def _outcome(future: Future[T], server: str, problems: list[str]) -> T | None:
    """The part's value, or None with the reason added to `problems`."""
    try:
        return future.result()
    except psycopg.errors.UndefinedTable:
        problems.append(f"{server}: the schema is missing (run `streamvault migrate`)")
    except psycopg.Error as exc:
        problems.append(f"{server}: {str(exc).strip().splitlines()[0]}")
    except KafkaException as exc:
        problems.append(f"{server}: {exc.args[0].str()}")
    return None
