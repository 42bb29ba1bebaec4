"""Where the loop's time goes (runtime/timing.py): every phase of every turn on /metrics, and a stall told in
one line that names what the service waited for, once a minute at most."""

from __future__ import annotations

import json
import logging
import threading
import time

from prometheus_client import REGISTRY

from streamvault import config
from streamvault.generator.model import GeneratorOptions
from streamvault.generator.publish import publish
from streamvault.generator.simulator import build_timeline
from streamvault.runtime.timing import TurnClock
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import metrics_text

LOCK_HELD_S = 3.0
# Every order a new one that loads: the count in the hub is the count published.
CLEAN = dict(malformed=0, unknown_ids=0, duplicates=0, late=0, flips=0, reference_changes=0, non_orders=0)


def _phase_seconds(service: str, phase: str) -> float:
    return REGISTRY.get_sample_value("streamvault_loop_phase_seconds_total", {"service": service, "phase": phase}) or 0


def _turn(clock: TurnClock, **phases: float) -> bool:
    clock.start()
    for phase, seconds in phases.items():
        time.sleep(seconds)
        clock.mark(phase)
    return clock.finish(messages=10)


def test_a_slow_turn_is_one_line_naming_its_slowest_phase_first_and_the_next_within_the_repeat_are_counted(caplog):
    clock = TurnClock("clock-test", slow_s=0.05, repeat_s=0.5)
    with caplog.at_level(logging.WARNING, logger="streamvault.runtime.timing"):
        assert _turn(clock, decode=0.01, pg_commit=0.08, commit=0.02)
        assert _turn(clock, load=0.08)
        assert _turn(clock, load=0.08)
        time.sleep(0.5)
        assert _turn(clock, offsets=0.07)
    first, second = (record for record in caplog.records if record.event == "slow_turn")
    assert first.getMessage().split("): ", 1)[1].startswith("committing in PostgreSQL")
    assert first.fields["messages"] == 10 and first.fields["seconds"] >= 0.1
    assert first.fields["phases"]["pg_commit"] >= 0.08 > first.fields["phases"]["decode"]
    assert "2 more slow since the last such line" in second.getMessage() and second.fields["unlogged"] == 2
    assert _phase_seconds("clock-test", "load") >= 0.16


def test_waiting_for_messages_is_not_slowness_but_is_counted(caplog):
    clock = TurnClock("clock-wait-test", slow_s=0.05)
    with caplog.at_level(logging.WARNING, logger="streamvault.runtime.timing"):
        assert not _turn(clock, wait=0.1, decode=0.001)
    assert not [record for record in caplog.records if getattr(record, "event", None) == "slow_turn"]
    assert _phase_seconds("clock-wait-test", "wait") >= 0.1


def test_a_table_locked_under_dds_is_logged_as_a_slow_load_and_counted_on_metrics(pipeline: Pipeline):
    """Another session holds a DDS table for 3 s while orders stream: DDS's turn that waited says it was loading
    in PostgreSQL, its /metrics charge the time to that phase, and every order still arrives."""
    pipeline.overrides.update({"STREAMVAULT_LOG_FORMAT": "json", "STREAMVAULT_SLOW_TURN_SECONDS": "1"})
    pipeline.start_all()
    kafka, redis = config.load(config.KafkaSettings), config.load(config.RedisSettings)
    first, second = (build_timeline(GeneratorOptions(seed=seed, orders=orders, **CLEAN))
                     for seed, orders in ((1701, 20), (1702, 50)))
    publish(first, kafka, redis, pipeline.source_topic, progress=False)
    pipeline.wait_drained()
    with pipeline.connect() as blocker:
        blocker.execute("LOCK TABLE dds.h_order IN SHARE MODE")  # inserts wait for it; reads do not
        later = threading.Thread(target=publish, args=(second, kafka, redis, pipeline.source_topic),
                                 kwargs={"progress": False})
        later.start()
        time.sleep(LOCK_HELD_S)
        blocker.commit()
    later.join()
    pipeline.wait_drained()

    dds = pipeline.running[("dds", 0)]
    slow = [line for line in map(json.loads, dds.log.read_text().splitlines()) if line["event"] == "slow_turn"]
    assert slow, "DDS logged no slow turn"
    phases = slow[0]["phases"]
    assert max(phases, key=lambda phase: phases[phase] if phase != "wait" else 0) == "load", slow[0]
    assert phases["load"] >= 1 and "loading in PostgreSQL" in slow[0]["message"]
    with pipeline.connect() as conn:
        hub = conn.execute("SELECT count(*) FROM dds.h_order").fetchone()[0]
    assert hub == first.stats.orders + second.stats.orders
    metrics = metrics_text(pipeline.url("dds", "/metrics"))
    assert _value(metrics, 'streamvault_loop_phase_seconds_total{phase="load",service="dds-service"}') >= 1
    assert _value(metrics, 'streamvault_slow_turns_total{service="dds-service"}') >= 1


def _value(text: str, series: str) -> float:
    return next(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series))
