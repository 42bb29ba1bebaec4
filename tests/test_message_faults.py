"""One message the service cannot handle is dead-lettered with its reason, and the partition goes on (docs/spec.md §3).

A failure of the service itself, hitting every record, is not the data's fault: nothing is dead-lettered,
the batch is retried and the service says it is not ready.
"""

from __future__ import annotations

import json
import random
import threading
import time

import msgspec
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from streamvault import config
from streamvault.cdm import transform
from streamvault.generator.model import GeneratorOptions
from streamvault.generator.publish import publish
from streamvault.generator.simulator import build_timeline
from streamvault.testing.corpus import CLEAN
from streamvault.testing.inprocess import in_process, run_until
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import kafka_config, redis_client, wait_for


def _orders_sent_to_cdm(pipeline: Pipeline) -> set[str]:
    return {msgspec.json.decode(m.value())["order_id"] for m in pipeline.read_topic(pipeline.destination("dds"))}


def _counted_orders(pipeline: Pipeline) -> set[str]:
    with pipeline.connect() as conn:
        return {str(o) for (o,) in conn.execute("SELECT order_id FROM cdm.srv_order_contributions")}


def _publish_clean_orders(pipeline: Pipeline, seed: int, orders: int) -> None:
    timeline = build_timeline(GeneratorOptions(seed=seed, orders=orders, users=20, **CLEAN))
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings), pipeline.source_topic,
            progress=False)


def test_an_exception_in_a_stage_on_one_record_dead_letters_that_record_and_the_rest_is_loaded(
        pipeline, monkeypatch):
    """A TypeError in the CDM transform for one order must not kill the service or hold back the others."""
    real_order_row, victim = transform.order_row, {}

    def order_row(message):
        victim.setdefault("order_id", message.order_id)
        if message.order_id == victim["order_id"]:
            raise TypeError("can't compare offset-naive and offset-aware datetimes")
        return real_order_row(message)

    monkeypatch.setattr(transform, "order_row", order_row)
    pipeline.start("stg")
    pipeline.start("dds")
    _publish_clean_orders(pipeline, seed=1601, orders=60)
    loop = in_process(pipeline, "cdm", monkeypatch)

    def all_but_the_victim_counted() -> bool:
        sent = _orders_sent_to_cdm(pipeline)
        return len(sent) >= 60 and _counted_orders(pipeline) == sent - {victim.get("order_id")}

    run_until(loop, [(all_but_the_victim_counted, "every other order counted", lambda: None)])

    letters = pipeline.read_topic(pipeline.dlq("cdm"))
    assert letters, "the failing order is dead-lettered"
    for letter in letters:
        headers = {k: v.decode() for k, v in letter.headers()}
        assert msgspec.json.decode(letter.value())["order_id"] == victim["order_id"]
        assert "TypeError: can't compare offset-naive" in headers["error"]
        assert headers["service"] == "cdm-service"


def _break_cdm_on_every_record(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """CDM's transform raises on every record (a bug, or a schema it does not know) until the event is cleared."""
    broken = threading.Event()
    broken.set()
    real_order_row = transform.order_row

    def order_row(message):
        if broken.is_set():
            raise KeyError("schema_version")
        return real_order_row(message)

    monkeypatch.setattr(transform, "order_row", order_row)
    return broken


def test_a_bug_that_hits_every_record_dead_letters_nothing_and_makes_the_service_unready(pipeline, monkeypatch):
    """When no record of a batch can be loaded, the fault is the service's: it retries until the fix."""
    broken = _break_cdm_on_every_record(monkeypatch)
    pipeline.start("stg")
    pipeline.start("dds")
    _publish_clean_orders(pipeline, seed=1602, orders=40)
    wait_for(lambda: len(_orders_sent_to_cdm(pipeline)) >= 40, "orders on their way to CDM")
    loop = in_process(pipeline, "cdm", monkeypatch)

    def unready_with_a_reason() -> bool:
        state = loop.readiness()
        return not state["ready"] and "KeyError" in str(state.get("reason"))

    run_until(loop, [
        (unready_with_a_reason, "the service reports itself not ready, saying why", broken.clear),
        (lambda: _counted_orders(pipeline) == _orders_sent_to_cdm(pipeline), "every order counted after the fix",
         lambda: None),
    ])
    assert pipeline.read_topic(pipeline.dlq("cdm"), timeout=5) == []


def test_a_bug_that_hits_every_record_dead_letters_nothing_when_orders_arrive_one_at_a_time(pipeline, monkeypatch):
    """A caught-up service takes what arrived, often one message: a lone failure cannot tell a bad message
    from a broken service, so the messages that arrive next must decide before anything is dead-lettered."""
    broken = _break_cdm_on_every_record(monkeypatch)
    pipeline.start("stg")
    pipeline.start("dds")
    loop = in_process(pipeline, "cdm", monkeypatch)
    trickled = threading.Event()

    def trickle() -> None:
        for seed in range(1700, 1710):
            _publish_clean_orders(pipeline, seed=seed, orders=1)
            time.sleep(0.4)
        trickled.set()

    def caught_up() -> bool:
        state = loop.readiness()
        return state["ready"] and bool(state["assignment"])

    def unready_with_a_reason() -> bool:
        state = loop.readiness()
        return trickled.is_set() and not state["ready"] and "KeyError" in str(state.get("reason"))

    def all_ten_counted() -> bool:
        sent = _orders_sent_to_cdm(pipeline)
        return len(sent) == 10 and _counted_orders(pipeline) == sent

    run_until(loop, [
        (caught_up, "the service ready and waiting", threading.Thread(target=trickle, daemon=True).start),
        (unready_with_a_reason, "the service reports itself not ready, saying why", broken.clear),
        (all_ten_counted, "every order counted after the fix", lambda: None),
    ])
    assert pipeline.read_topic(pipeline.dlq("cdm"), timeout=5) == []


# --- an output too large for Kafka ------------------------------------------------------------------

def _text(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


CYRILLIC = "".join(map(chr, range(ord("А"), ord("я") + 1)))
HANZI = "".join(map(chr, range(0x4E00, 0x9FA5)))


def _restaurant_with_long_names(restaurant_id: str, dishes: int) -> dict:
    """Random names compress little, so the enriched order stays too large even with LZ4."""
    rng = random.Random(16)
    return {"_id": restaurant_id, "name": "Ресторан", "update_ts_utc": "2024-05-01 00:00:00",
            "menu": [{"_id": f"{i:04d}-" + _text(rng, "0123456789abcdef", 59), "price": 100.0,
                      "name": f"{i:04d} " + _text(rng, CYRILLIC, 251), "category": f"{i:04d} " + _text(rng, HANZI, 251)}
                     for i in range(dishes)]}


def _order(object_id: int, user_id: str, restaurant: dict, dishes: int) -> bytes:
    items = [{"id": d["_id"], "name": d["name"], "price": d["price"], "quantity": 1}
             for d in restaurant["menu"][:dishes]]
    text = json.dumps({
        "object_id": object_id, "object_type": "order", "sent_dttm": "2024-05-02 12:00:01",
        "payload": {"restaurant": {"id": restaurant["_id"]}, "user": {"id": user_id}, "date": "2024-05-02 11:00:00",
                    "order_items": items, "bonus_payment": 0, "cost": 100.0 * dishes, "payment": 100.0 * dishes,
                    "bonus_grant": 0, "statuses": [{"status": "CLOSED", "dttm": "2024-05-02 12:00:00"}],
                    "final_status": "CLOSED", "update_ts": "2024-05-02 12:00:00"},
    }, ensure_ascii=False)
    for letter in "АБВГДЕЖЗИЙКЛМНОП":  # JSON may \u-escape the Cyrillic: here some letters are
        text = text.replace(letter, f"\\u{ord(letter):04x}")
    return text.encode()


def _big_order_then_a_small_one(pipeline: Pipeline, dishes: int) -> bytes:
    """Both on one partition, so the small order queues behind the big one; returns the big order once the
    small one is in the marts."""
    user_id, restaurant_id = "a" * 24, "b" * 24
    restaurant = _restaurant_with_long_names(restaurant_id, dishes=dishes)
    client = redis_client()
    client.set(user_id, json.dumps({"_id": user_id, "name": "Анна", "login": "anna",
                                    "update_ts_utc": "2024-05-01 00:00:00"}))
    client.set(restaurant_id, json.dumps(restaurant))
    big, small = _order(1, user_id, restaurant, dishes=dishes), _order(2, user_id, restaurant, dishes=1)

    pipeline.start_all()
    producer = Producer(kafka_config(**{"compression.type": "lz4"}))
    for value in (big, small):
        producer.produce(pipeline.source_topic, value=value, key=user_id.encode(), partition=0)
    assert producer.flush(30) == 0

    def small_order_counted() -> bool:
        with pipeline.connect() as conn:
            return conn.execute("SELECT count(*) FROM cdm.user_product_counters WHERE product_name LIKE '0000 %'"
                                ).fetchone()[0] == 1

    wait_for(small_order_counted, "the order after the big one in the marts")
    pipeline.wait_drained()
    return big


def _dead_letter_errors(pipeline: Pipeline, service: str) -> list[str]:
    return [{k: v.decode() for k, v in letter.headers()}["error"]
            for letter in pipeline.read_topic(pipeline.dlq(service))]


def test_an_order_whose_output_exceeds_the_broker_limit_is_dead_lettered_and_the_next_order_arrives(pipeline):
    """A valid 877 KB order grows past the broker's 1,048,588 bytes in STG: its partition must not stall."""
    big = _big_order_then_a_small_one(pipeline, dishes=1000)
    assert 870_000 < len(big) < 890_000  # ~877 KB, as reported

    letters = pipeline.read_topic(pipeline.dlq("stg"))
    assert [letter.value() for letter in letters] == [big]
    [error] = _dead_letter_errors(pipeline, "stg")
    assert "exceeds the 1048588-byte message limit" in error and pipeline.destination("stg") in error
    assert pipeline.read_topic(pipeline.dlq("dds"), timeout=5) == []
    assert pipeline.read_topic(pipeline.dlq("cdm"), timeout=5) == []


def test_dds_dead_letters_an_order_its_topic_cannot_carry_learning_the_limit_from_the_topic(pipeline):
    """DDS -> CDM can stall the same way; the limit is the topic's own `max.message.bytes`, not a constant."""
    admin = AdminClient(kafka_config())
    entry = ConfigEntry("max.message.bytes", "200000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, pipeline.destination("dds"), incremental_configs=[entry])
    for future in admin.incremental_alter_configs([resource]).values():
        future.result()

    _big_order_then_a_small_one(pipeline, dishes=200)  # ~290 KB out of STG, ~280 KB out of DDS

    assert pipeline.read_topic(pipeline.dlq("stg"), timeout=5) == []
    [error] = _dead_letter_errors(pipeline, "dds")
    assert "exceeds the 200000-byte message limit" in error and pipeline.destination("dds") in error
    assert pipeline.read_topic(pipeline.dlq("cdm"), timeout=5) == []
