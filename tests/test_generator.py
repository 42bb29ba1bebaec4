"""`streamvault generate`: deterministic, docs/spec.md §1-shaped source data with the faults asked for."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime

import msgspec
import pytest
from confluent_kafka import Consumer

from streamvault import config
from streamvault.contracts.source import MAX_MESSAGE_BYTES, Restaurant, SourceEnvelope, SourceOrder, User
from streamvault.generator import (GeneratorOptions, KafkaMessage, RedisWrite, Simulator, Timeline, build_timeline,
                                   publish)
from streamvault.generator.malformed import CATALOGUE
from streamvault.generator.publish import PACING_S, stream

from streamvault.testing.support import cli, kafka_config, poll_all, redis_client

FAULTY = GeneratorOptions(seed=11, orders=1000, cancelled=0.2, duplicates=0.1, late=0.05, flips=0.1,
                          reference_changes=0.05, unknown_ids=0.05, malformed=0.05, non_orders=0.03)
AWKWARD = re.compile(r"[\"'«»<>\\]")


@pytest.fixture(scope="module")
def faulty() -> Timeline:
    return build_timeline(FAULTY)


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _rejected(raw: bytes) -> bool:
    """Whether the source contract (contracts/source.py) turns the bytes away."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return True
    try:
        envelope = msgspec.json.decode(raw, type=SourceEnvelope)
        if envelope.object_type == "order":
            msgspec.json.decode(raw, type=SourceOrder)
    except (msgspec.DecodeError, UnicodeDecodeError):  # msgspec raises the latter for bad UTF-8
        return True
    return _has_nul(msgspec.json.decode(raw))


def _orders(timeline: Timeline) -> Iterable[tuple[KafkaMessage, SourceOrder]]:
    for message in timeline.messages:
        if message.kind in ("order", "late", "duplicate"):
            yield message, msgspec.json.decode(message.value, type=SourceOrder)


def test_every_malformed_kind_is_rejected_by_the_contract(faulty: Timeline):
    assert len(CATALOGUE) >= 16
    valid = [message.value for message, _ in _orders(faulty)][:50]
    assert not any(_rejected(raw) for raw in valid)
    for name, malform in CATALOGUE.items():
        for seed, raw in enumerate(valid[:5]):
            bad = malform(random.Random(seed), msgspec.json.decode(raw))
            assert _rejected(bad), f"{name} (seed {seed}) passes the contract: {bad[:300]!r}"
    made = {message.kind for message in faulty.messages if message.kind.startswith("malformed:")}
    assert len(made) >= 10 and all(_rejected(m.value) for m in faulty.messages if m.kind in made)


def test_same_options_give_the_same_timeline_and_another_seed_does_not():
    options = GeneratorOptions(seed=5, orders=300)
    assert build_timeline(options).events == build_timeline(options).events
    assert build_timeline(options).events != build_timeline(GeneratorOptions(seed=6, orders=300)).events


def test_orders_follow_the_source_contract(faulty: Timeline):
    versions: dict[int, list[datetime]] = defaultdict(list)
    for message, order in _orders(faulty):
        payload = order.payload
        assert message.key == str(order.object_id).encode()
        assert order.sent_dttm >= payload.update_ts == payload.statuses[0].dttm
        assert [s.dttm for s in payload.statuses] == sorted((s.dttm for s in payload.statuses), reverse=True)
        assert payload.statuses[-1].status == "OPEN" and payload.date == payload.statuses[-1].dttm
        assert payload.final_status == payload.statuses[0].status
        assert round(sum(item.price * item.quantity for item in payload.order_items), 2) == payload.cost
        assert round(payload.cost - payload.bonus_payment, 2) == payload.payment
        if message.kind == "order":
            versions[order.object_id].append(payload.update_ts)
    # Versions of one order are newer each time, apart from those delivered late on purpose.
    assert all(times == sorted(set(times)) for times in versions.values())
    assert re.fullmatch(rb'\{"object_id":\d+,"object_type":"order","sent_dttm":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",'
                        rb'"payload":\{"restaurant":\{"id":"[0-9a-f]{24}"\},"user":\{"id":"[0-9a-f]{24}"\},.*',
                        next(m for m in faulty.messages if m.kind == "order").value)
    for message in faulty.messages:
        if message.kind == "non_order":
            assert msgspec.json.decode(message.value, type=SourceEnvelope).object_type == "restaurant_review"


def test_orders_reference_the_menu_except_the_unknown_ones(faulty: Timeline):
    """Replays Redis as the timeline writes it; the first version of an order snapshots the menu."""
    users: dict[str, User] = {}
    restaurants: dict[str, Restaurant] = {}
    seen: set[int] = set()
    missing_when_sent: set[int] = set()
    users_missing_when_sent: set[str] = set()
    late = {int(m.key) for m in faulty.messages if m.kind == "late"}
    for event in faulty.events:
        if isinstance(event, RedisWrite):
            value = msgspec.json.decode(event.value)
            if "menu" in value:
                restaurants[event.key] = msgspec.json.decode(event.value, type=Restaurant)
            else:
                users[event.key] = msgspec.json.decode(event.value, type=User)
            assert value["_id"] == event.key
            continue
        if event.kind not in ("order", "late", "duplicate"):
            continue
        order = msgspec.json.decode(event.value, type=SourceOrder)
        restaurant = restaurants.get(order.payload.restaurant.id)
        menu = {item.id: item for item in restaurant.menu} if restaurant else {}
        if order.object_id in faulty.unknown_orders:
            if order.object_id not in seen:
                missing_when_sent.add(order.object_id)
                if order.payload.user.id not in users:
                    users_missing_when_sent.add(order.payload.user.id)
                assert (order.payload.user.id not in users or restaurant is None
                        or any(item.id not in menu for item in order.payload.order_items))
        else:
            assert order.payload.user.id in users and restaurant is not None
            assert all(item.id in menu for item in order.payload.order_items)
            if order.object_id not in seen and order.object_id not in late:
                assert [(i.id, i.name, i.price) for i in order.payload.order_items] == \
                       [(i.id, menu[i.id].name, menu[i.id].price) for i in order.payload.order_items]
        seen.add(order.object_id)
    assert missing_when_sent == faulty.unknown_orders
    assert users_missing_when_sent & set(users), "some user missing from Redis appears there later"
    assert users_missing_when_sent - set(users), "some user never appears"
    assert any(AWKWARD.search(user.name) for user in users.values())
    assert any(AWKWARD.search(restaurant.name) for restaurant in restaurants.values())
    assert any(AWKWARD.search(item.name) for r in restaurants.values() for item in r.menu)
    assert {item.category for r in restaurants.values() for item in r.menu} == {
        "Супы", "Салаты", "Горячие блюда", "Выпечка", "Десерты", "Напитки", "Соусы", "Закуски"}


def test_faults_appear_in_the_configured_shares(faulty: Timeline):
    stats, kinds = faulty.stats, Counter(event.kind for event in faulty.events)
    orders = stats.orders
    delivered: dict[bytes, list[bytes]] = defaultdict(list)
    versions: dict[bytes, set[datetime]] = defaultdict(set)
    for message, order in _orders(faulty):
        if message.kind == "duplicate":
            assert message.value in delivered[message.key]
        elif message.kind == "late":
            assert order.payload.update_ts < max(versions[message.key])
        versions[message.key].add(order.payload.update_ts)
        delivered[message.key].append(message.value)
    flipped = [key for key, stamps in versions.items() if len(stamps) > 1]
    assert orders == FAULTY.orders == len(delivered)
    assert stats.flipped == len(flipped) and stats.late == kinds["late"] and stats.duplicates == kinds["duplicate"]
    assert stats.users == FAULTY.users and stats.restaurants == FAULTY.restaurants
    assert kinds["reference"] == FAULTY.users + FAULTY.restaurants
    assert abs(stats.cancelled / orders - FAULTY.cancelled) < 0.05
    assert abs(stats.duplicates / stats.versions - FAULTY.duplicates) < 0.04
    assert abs(stats.late / orders - FAULTY.late) < 0.025
    assert abs(stats.flipped / orders - (1 - (1 - FAULTY.flips) * (1 - FAULTY.late))) < 0.04
    assert abs(stats.unknown_ids / orders - FAULTY.unknown_ids) < 0.025
    assert abs(stats.malformed / orders - FAULTY.malformed) < 0.025
    assert abs(kinds["non_order"] / orders - FAULTY.non_orders) < 0.02
    assert abs(kinds["change"] / orders - FAULTY.reference_changes) < 0.025
    assert 0 < kinds["late_reference"] < stats.unknown_ids
    assert stats.reference_changes == kinds["change"] + kinds["late_reference"]


def test_popularity_is_skewed(faulty: Timeline):
    users = Counter(order.payload.user.id for message, order in _orders(faulty) if message.kind == "order")
    top_tenth = sum(count for _, count in users.most_common(len(users) // 10))
    assert top_tenth > 0.3 * sum(users.values())


# --- against the real servers ------------------------------------------------------------------


def _read(topic: str, expected: int) -> dict[bytes, list[bytes]]:
    """Values per key in offset order (one key lives in one partition, where order is kept)."""
    consumer = Consumer(kafka_config(**{"group.id": f"test-{uuid.uuid4().hex}", "auto.offset.reset": "earliest",
                                        "enable.auto.commit": False}))
    consumer.subscribe([topic])
    try:
        messages = poll_all(consumer, expected=expected, timeout=90)
    finally:
        consumer.close()
    return _by_key((message.key(), message.value()) for message in messages)


def _by_key(records: Iterable[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    values: dict[bytes, list[bytes]] = defaultdict(list)
    for key, value in records:
        values[key].append(value)
    return dict(values)


def _sent(messages: Iterable[KafkaMessage]) -> dict[bytes, list[bytes]]:
    return _by_key((message.key, message.value) for message in messages)


def _assert_redis_holds(timeline: Timeline) -> None:
    last = {write.key: write.value for write in timeline.redis_writes}
    with redis_client() as client:
        stored = dict(zip(last, client.mget(list(last)), strict=True))
    assert stored == last
    for value in stored.values():
        fields = set(msgspec.json.decode(value))
        assert fields in ({"_id", "name", "login", "update_ts_utc"}, {"_id", "name", "update_ts_utc", "menu"})


def test_generate_twice_with_a_seed_gives_identical_messages(stack):
    expected = build_timeline(GeneratorOptions(seed=7, orders=1000))
    count = sum(1 for _ in expected.messages)
    topics = [f"gen-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for topic in topics:
        run = cli("generate", "--seed", "7", "--orders", "1000", "--topic", topic)
        assert run.returncode == 0, run.stderr
        assert f"1000 orders ({expected.stats.versions} versions" in run.stdout and "seed 7" in run.stdout
    first, second = (_read(topic, count) for topic in topics)
    assert first == second == _sent(expected.messages)
    _assert_redis_holds(expected)


def test_publish_writes_a_timeline_and_rate_mode_streams_the_same_builder(stack):
    built = build_timeline(GeneratorOptions(seed=23, orders=200, unknown_ids=0.1, reference_changes=0.1))
    # Every bad kind (empty, over 1 MiB, invalid UTF-8...) must reach the topic byte for byte.
    valid = next(message for message in built.messages if message.kind == "order")
    bad = tuple(KafkaMessage(valid.key, malform(random.Random(0), msgspec.json.decode(valid.value)),
                             f"malformed:{name}") for name, malform in CATALOGUE.items())
    timeline = Timeline(built.events + bad, built.stats, built.unknown_orders)
    topic = f"gen-{uuid.uuid4().hex[:8]}"
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings), topic, progress=False)
    assert _read(topic, sum(1 for _ in timeline.messages)) == _sent(timeline.messages)
    _assert_redis_holds(timeline)

    topic = f"gen-{uuid.uuid4().hex[:8]}"
    run = cli("generate", "--seed", "22", "--rate", "100", "--duration", "1", "--topic", topic)
    assert run.returncode == 0, run.stderr
    _assert_topic_holds_the_stream(topic, 22, run.stdout)


class _CountedWaits(threading.Event):
    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)


def test_a_paced_stream_sleeps_once_its_producer_would_batch_not_before_every_order(stack):
    """At 1,000 orders a second, a wake-up per order cost the generator as much CPU as the orders did: it sleeps
    once it is a producer linger ahead of its schedule, and is never further ahead than that."""
    rate, topic, stopped = 1000, f"gen-{uuid.uuid4().hex[:8]}", _CountedWaits()
    started = time.monotonic()
    stats = stream(Simulator(GeneratorOptions(seed=41)), config.load(config.KafkaSettings),
                   config.load(config.RedisSettings), topic, orders=None, rate=rate, duration=2, progress=False,
                   stopped=stopped)
    elapsed = time.monotonic() - started
    assert 0 < stats.orders <= rate * (elapsed + PACING_S) + 1
    assert stopped.waits <= stats.orders / (rate * PACING_S) + 1


def test_ctrl_c_ends_an_endless_stream_with_every_started_order_complete_and_its_summary(stack):
    """However often Ctrl-C comes, and wherever (inside the Kafka client's flush it once killed the stream with
    a SystemError): the orders started are finished, every message is delivered, and the summary is printed."""
    topic = f"gen-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "streamvault", "generate", "--seed", "31", "--rate", "400", "--topic", topic,
         "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal's job hears Ctrl-C
    consumer = Consumer(kafka_config(**{"group.id": topic, "auto.offset.reset": "earliest"}))
    consumer.subscribe([topic])
    try:
        poll_all(consumer, 100)  # streaming
    finally:
        consumer.close()
    for _ in range(40):
        process.send_signal(signal.SIGINT)
        time.sleep(0.02)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output

    _assert_topic_holds_the_stream(topic, 31, output)


def _assert_topic_holds_the_stream(topic: str, seed: int, output: str) -> None:
    """The topic holds, in order, every message of the orders `generate` says it created, and of their drain."""
    created = int(re.search(r"generated (\d+) orders", output).group(1))
    simulator = Simulator(GeneratorOptions(seed=seed))
    events = simulator.reference()
    for _ in range(created):
        events += simulator.step()
    events += simulator.drain()
    sent = [event for event in events if isinstance(event, KafkaMessage)]
    assert created > 0 and _read(topic, len(sent)) == _sent(sent)
