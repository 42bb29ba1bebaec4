"""The end-to-end corpus: a generated timeline with every kind of fault, published as the source system would,
its independent expectation, and the dead letters it must leave. Shared by the end-to-end tests on one broker,
on a cluster and on the secure stack."""

from __future__ import annotations

from collections import Counter, defaultdict

from streamvault import config
from streamvault.generator.model import GeneratorOptions, Timeline
from streamvault.generator.publish import publish
from streamvault.generator.simulator import build_timeline
from streamvault.testing.expected import Expected, compute
from streamvault.testing.pipeline import Pipeline

FAULTS = dict(duplicates=0.05, late=0.04, flips=0.06, reference_changes=0.02, unknown_ids=0.02,
              malformed=0.012, non_orders=0.01)
# Orders only, each once and in time: what every service loads without parking or dead-lettering anything.
CLEAN = dict(duplicates=0, late=0, flips=0, reference_changes=0, unknown_ids=0, malformed=0, non_orders=0)


def scenario(seed: int, orders: int = 5000) -> tuple[Timeline, Expected]:
    timeline = build_timeline(GeneratorOptions(seed=seed, orders=orders, users=400, restaurants=15, **FAULTS))
    return timeline, compute(timeline.events)


def publish_timeline(timeline: Timeline, pipeline: Pipeline) -> None:
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings),
            pipeline.source_topic, progress=False)


def assert_dead_letters(pipeline: Pipeline, expected: Expected) -> None:
    """The DLQ holds exactly the bad messages, once each, unchanged, with the reason and their origin."""
    letters = pipeline.read_topic(pipeline.dlq("stg"))
    found, wanted = Counter((m.key(), m.value()) for m in letters), Counter(expected.dlq)
    extra, missing = found - wanted, wanted - found
    where = defaultdict(list)
    for m in letters:
        where[(m.key(), m.value())].append((m.partition(), m.offset()))
    assert not extra and not missing, (
        f"dead letters: {sum(extra.values())} extra (partition, offset of each copy: "
        f"{[where[letter] for letter in list(extra)[:5]]}), {sum(missing.values())} missing "
        f"(keys {[key for key, _ in list(missing)[:5]]})")
    for letter in letters:
        headers = {k: v.decode() for k, v in letter.headers()}
        assert headers["service"] == "stg-service"
        assert headers["source_topic"] == pipeline.source_topic
        assert int(headers["source_partition"]) in range(pipeline.partitions)
        assert int(headers["source_offset"]) >= 0
        assert headers["error"]
    assert pipeline.read_topic(pipeline.dlq("dds"), timeout=5) == []
    assert pipeline.read_topic(pipeline.dlq("cdm"), timeout=5) == []
