"""What every service offers around the loop: probes, metrics, graceful stop, parked-order re-drive."""

from __future__ import annotations

import signal

import msgspec

from streamvault import config
from streamvault.generator.model import GeneratorOptions, KafkaMessage, RedisWrite
from streamvault.generator.publish import publish
from streamvault.generator.simulator import build_timeline
from streamvault.testing.pipeline import SERVICES, Pipeline
from streamvault.testing.support import cli, metrics_text, redis_client, wait_for


def _metrics(pipeline: Pipeline, service: str) -> str:
    return metrics_text(pipeline.url(service, "/metrics"))


def _sample(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def test_metrics_count_messages_and_report_lag_per_partition(pipeline):
    timeline = build_timeline(GeneratorOptions(seed=606, orders=300, malformed=0.02, unknown_ids=0))
    pipeline.start_all()
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings), pipeline.source_topic,
            progress=False)
    pipeline.wait_drained()
    delivered = sum(1 for _ in timeline.messages)
    malformed = sum(1 for m in timeline.messages if m.kind.startswith("malformed:"))

    stg = _metrics(pipeline, "stg")
    assert _sample(stg, 'streamvault_messages_in_total{service="stg-service"}') == delivered
    assert _sample(stg, 'streamvault_messages_dlq_total{service="stg-service"}') == malformed
    lag_lines = [line for line in stg.splitlines() if line.startswith("streamvault_consumer_lag{")]
    assert {f'partition="{p}"' in " ".join(lag_lines) for p in range(pipeline.partitions)} == {True}
    assert _sample(stg, 'streamvault_batch_size_count{service="stg-service"}') >= 1
    cdm = _metrics(pipeline, "cdm")
    assert _sample(cdm, 'streamvault_messages_in_total{service="cdm-service"}') == \
        _sample(_metrics(pipeline, "dds"), 'streamvault_messages_out_total{service="dds-service"}')


def test_sigterm_finishes_the_batch_and_exits_cleanly(pipeline):
    pipeline.start_all()
    wait_for(lambda: all(pipeline.probe(s, "/ready") == 200 for s in SERVICES), "services ready")
    for service in SERVICES:
        pipeline.kill(service, sig=signal.SIGTERM)
    assert {name: code for name, code in pipeline.exit_codes().items()} == {f"{s}-0": 0 for s in SERVICES}


def test_reprocess_parked_redrives_orders_whose_user_appeared(pipeline):
    """An order for an unknown user waits parked; once the user exists the command completes it."""
    timeline = build_timeline(GeneratorOptions(seed=707, orders=40, unknown_ids=0, malformed=0, duplicates=0,
                                               late=0, flips=0, reference_changes=0, non_orders=0))
    first_order = next(m for m in timeline.messages if m.kind == "order")
    user_id = msgspec.json.decode(first_order.value)["payload"]["user"]["id"]
    withheld = [e for e in timeline.events if isinstance(e, RedisWrite) and e.key == user_id]
    others = [e for e in timeline.events if not (isinstance(e, RedisWrite) and e.key == user_id)]
    held_orders = sum(1 for e in others if isinstance(e, KafkaMessage)
                      and msgspec.json.decode(e.value)["payload"]["user"]["id"] == user_id)

    pipeline.start("stg")
    publish(type(timeline)(events=tuple(others), stats=timeline.stats), config.load(config.KafkaSettings),
            config.load(config.RedisSettings), pipeline.source_topic, progress=False)
    wait_for(lambda: pipeline.parked() == held_orders, f"{held_orders} orders parked")
    pipeline.kill("stg", sig=signal.SIGTERM)  # so that only the command can re-drive them

    redis_client().set(user_id, withheld[-1].value)
    result = cli("reprocess-parked", env=pipeline.env("stg", 0, 0))
    assert result.returncode == 0, result.stderr
    assert f"re-drove {held_orders} parked orders; 0 still wait" in result.stdout
    assert pipeline.parked() == 0

    pipeline.start_all()
    pipeline.wait_drained()
    with pipeline.connect() as conn:
        users = {u for (u,) in conn.execute("SELECT user_id FROM dds.h_user")}
    assert user_id in users
