"""Freshness as the services report it (docs/performance.md): "source publish -> this service's commit"
on /metrics, the source's publish time carried downstream in a header, and each layer's in `status`."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from datetime import datetime

from prometheus_client import CollectorRegistry, Histogram

from streamvault import config
from streamvault.generator.model import GeneratorOptions
from streamvault.generator.publish import publish
from streamvault.generator.simulator import build_timeline
from streamvault.runtime.metrics import BatchHistogram
from streamvault.testing.corpus import CLEAN
from streamvault.testing.pipeline import SERVICES, Pipeline
from streamvault.testing.support import cli

HEADER = "source_published_ms"


def _metric(pipeline: Pipeline, service: str, sample: str) -> float | None:
    """One sample of a service's /metrics, e.g. `streamvault_freshness_seconds_count`; None when absent."""
    with urllib.request.urlopen(pipeline.url(service, "/metrics"), timeout=5) as response:
        text = response.read().decode()
    found = re.search(rf"^{re.escape(sample)}\{{[^}}]*\}} (\S+)$", text, re.MULTILINE)
    return None if found is None else float(found[1])


def test_every_service_measures_each_order_from_its_source_publish_to_its_commit(pipeline):
    """Each service's histogram counts every message it committed, timed from when the source published
    it; the time travels downstream in a header, and `status --json` shows each layer's freshness."""
    timeline = build_timeline(GeneratorOptions(seed=7, orders=300, users=50, restaurants=5, **CLEAN))
    published_from = time.time() * 1000
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings),
            pipeline.source_topic, progress=False)
    published_until = time.time() * 1000
    messages = sum(1 for _ in timeline.messages)
    pipeline.start_all()
    pipeline.wait_drained()

    for service in SERVICES:
        count = _metric(pipeline, service, "streamvault_freshness_seconds_count")
        assert count == messages, f"{service}: {count} of {messages} messages measured"
        assert _metric(pipeline, service, "streamvault_freshness_seconds_sum") > 0
    for service in ("stg", "dds"):
        carried = [int(dict(m.headers() or [])[HEADER]) for m in pipeline.read_topic(pipeline.destination(service))]
        assert len(carried) == messages
        assert all(published_from - 1 <= ms <= published_until for ms in carried), \
            f"{service} forwards the source's publish time, not its own"

    urls = {f"STREAMVAULT_{s.upper()}_URL": pipeline.url(s, "") for s in SERVICES}
    report = json.loads(cli("status", "--json", env={**urls, "PG_WAREHOUSE_DBNAME": pipeline.database}).stdout)
    for layer in ("stg", "dds", "cdm"):
        freshness = report["freshness"][layer]
        data_as_of = datetime.fromisoformat(freshness["data_as_of"]).timestamp() * 1000
        assert published_from - 1 <= data_as_of <= published_until, layer
        assert freshness["behind_s"] >= 0


def test_a_batch_observed_at_once_reads_as_one_observation_per_message():
    """Services observe a batch's ages in one pass (prometheus_client's per-value observe cost ~1 µs a
    message); /metrics must read exactly as if each had been observed on its own."""
    bounds = (0.025, 0.1, 1, 300)
    ages = [0.0, 0.025, 0.0251, 0.1, 0.5, 1, 2, 299.9, 300, 301, 1e9]
    reference_registry = CollectorRegistry()
    reference = Histogram("ages_seconds", "ages", ["service"], buckets=bounds, registry=reference_registry)
    for age in ages:
        reference.labels("dds").observe(age)
    batched_registry = CollectorRegistry()
    batched = BatchHistogram("ages_seconds", "ages", "service", bounds)
    batched_registry.register(batched)
    batched.observe_many("dds", ages[:4])
    batched.observe_many("dds", ages[4:])

    def samples(registry: CollectorRegistry) -> set:
        return {(s.name, tuple(sorted(s.labels.items())), s.value) for family in registry.collect()
                for s in family.samples if not s.name.endswith("_created")}

    assert samples(batched_registry) == samples(reference_registry)
