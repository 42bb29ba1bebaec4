"""Where orders went missing, when the marts do not match: each layer's tables, each topic read twice
(read_uncommitted and read_committed) and each group's committed offsets.

An order missing downstream is told apart by where it stops: in a topic only uncommitted (produced, then
aborted, and never produced again), absent (never produced), or committed before the next group's committed
offset yet missing in its tables (committed, then skipped by the consumer).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import defaultdict

from confluent_kafka import Consumer, TopicPartition

from streamvault.hashing import hash_key
from streamvault.stack.kafka import Kafka
from streamvault.testing.expected import Expected
from streamvault.testing.pipeline import SERVICES, Pipeline
from streamvault.testing.support import kafka_config

_SHOWN = 10  # orders described one by one
TRANSACTIONS = "org.apache.kafka.tools.TransactionsCommand"  # what kafka-transactions.sh runs
Places = dict[int, list[tuple[int, int]]]  # order id -> (partition, offset) of each message carrying it


def where_lost(pipeline: Pipeline, expected: Expected) -> str:
    """A report of the orders whose newest version did not reach every layer; empty when none."""
    newest = {object_id: ts for (kind, object_id), ts in expected.stg_objects.items() if kind == "order"}
    wanted = {"stg": newest, "dds": expected.current_status, "cdm": newest}
    layers = _layers(pipeline)
    lagging = sorted(order for order in expected.orders
                     if any(layers[name].get(order) != wanted[name].get(order) for name in layers))
    if not lagging:
        return ""
    lines = [f"{len(lagging)} orders short of their newest version in some layer: {lagging[:50]}"]
    for service in SERVICES:
        lines.append(f"group {pipeline.group(service)} on {pipeline.topic(service)} (committed/stable/end): "
                     f"{_offsets(pipeline.group(service), pipeline.topic(service))}")
    topics = {service: _scan(pipeline.topic(service), service, set(lagging)) for service in SERVICES}
    for order in lagging[:_SHOWN]:
        seen = {name: f"{layer.get(order)} (wanted {wanted[name].get(order)})" for name, layer in layers.items()}
        lines.append(f"order {order}: {seen}")
        for service, (uncommitted, committed) in topics.items():
            lines.append(f"  {pipeline.topic(service)}: uncommitted at {uncommitted.get(order, [])}, "
                         f"committed at {committed.get(order, [])}")
    return "\n".join(lines)


def _layers(pipeline: Pipeline) -> dict[str, dict[int, str]]:
    """Per layer, each order's newest version there: stg's and cdm's update_ts, dds's current status."""
    orders = {hash_key("order", order_id): order_id for order_id in _stg_ids(pipeline)}
    with pipeline.connect() as conn:
        stg = dict(conn.execute("SELECT object_id, to_char(update_ts, 'YYYY-MM-DD HH24:MI:SS') FROM stg.order_events "
                                "WHERE object_type = 'order'").fetchall())
        dds = dict(conn.execute("""SELECT DISTINCT ON (o.order_id) o.order_id, s.status
                                   FROM dds.s_order_status s JOIN dds.h_order o USING (h_order_pk)
                                   ORDER BY o.order_id, s.effective_dt DESC, s.sent_dttm DESC""").fetchall())
        cdm = {orders.get(str(key)): ts for key, ts in conn.execute(
            "SELECT order_id, to_char(version_ts, 'YYYY-MM-DD HH24:MI:SS') FROM cdm.srv_order_contributions")}
    return {"stg": stg, "dds": dds, "cdm": cdm}


def _stg_ids(pipeline: Pipeline) -> list[int]:
    with pipeline.connect() as conn:
        return [row[0] for row in conn.execute("SELECT object_id FROM stg.order_events WHERE object_type = 'order'")]


def _offsets(group: str, topic: str) -> str:
    """partition: committed offset / last stable offset / high watermark (an open transaction holds the
    last stable offset back: read_committed readers see nothing past it)."""
    ends = {isolation: _ends(topic, isolation) for isolation in ("read_committed", "read_uncommitted")}
    consumer = Consumer(kafka_config(**{"group.id": group, "enable.auto.commit": False}))
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(ends["read_committed"])]
        committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=10)}
    finally:
        consumer.close()
    return ", ".join(f"[{p}] {committed[p]}/{ends['read_committed'][p]}/{ends['read_uncommitted'][p]}"
                     for p in sorted(committed))


def held_back(topic: str) -> dict[int, int]:
    """The partitions of `topic` whose last stable offset is short of their end (a transaction is open there),
    each with that offset: read_committed readers get nothing past it."""
    stable, end = _ends(topic, "read_committed"), _ends(topic, "read_uncommitted")
    return {p: stable[p] for p in sorted(stable) if stable[p] < end[p]}


def open_transactions(brokers: list[Kafka], topic: str, held: dict[int, int], transactional_ids: list[str]) -> str:
    """Whose transactions hold the partitions `held` (partition -> last stable offset) back: the producers with
    one open there (kafka-transactions.sh describe-producers), their batches as the partition's log has them
    (DumpLogSegments: is an end marker of theirs there?), and the transactional ids at their coordinators."""
    lines = []
    for partition, stable in held.items():
        described = _transactions(brokers[0], "describe-producers", "--topic", topic, "--partition", str(partition))
        lines.append(f"{topic}[{partition}], last stable offset {stable}: producers\n{described.stdout}"
                     f"{described.stderr[-300:]}")
        rows = [row.split() for row in described.stdout.splitlines()[1:]]
        holding = [row[0] for row in rows if row and row[-1] == str(stable)]
        lines += _batches(brokers, topic, partition, holding)
    for transactional_id in transactional_ids:
        described = _transactions(brokers[0], "describe", "--transactional-id", transactional_id)
        lines.append(f"{transactional_id}: {described.stdout}{described.stderr[-300:]}")
    return "\n".join(lines)


def _batches(brokers: list[Kafka], topic: str, partition: int, producer_ids: list[str], most: int = 30) -> list[str]:
    """The producers' batches (control batches included) in one replica's log of the partition."""
    for server in brokers:
        segments = sorted(str(f) for f in (server.data_dir / f"{topic}-{partition}").glob("*.log"))
        if segments:
            dumped = server.tool("kafka.tools.DumpLogSegments", "--files", ",".join(segments))
            found = [line for line in dumped.stdout.splitlines()
                     if any(f"producerId: {pid} " in line for pid in producer_ids)]
            shown = found if len(found) <= most else found[:most // 2] + ["..."] + found[-most // 2:]
            return [f"batches of producers {producer_ids} in {server.name}'s replica ({len(found)}):", *shown]
    return [f"no replica of {topic}[{partition}] found"]


def abort_open(brokers: list[Kafka], topic: str, held: dict[int, int]) -> str:
    """What deploy.md tells an operator to do with a transaction no coordinator will end: abort it on the
    partition (kafka-transactions.sh abort). Returns the tool's output."""
    outputs = []
    for partition, stable in held.items():
        done = _transactions(brokers[0], "abort", "--topic", topic, "--partition", str(partition),
                             "--start-offset", str(stable))
        outputs.append(f"abort {topic}[{partition}] at {stable}: rc {done.returncode} {done.stdout}{done.stderr[-300:]}")
    return "\n".join(outputs)


def _transactions(kafka: Kafka, *args: str) -> subprocess.CompletedProcess:
    """kafka-transactions.sh against the broker's plaintext listener."""
    return kafka.tool(TRANSACTIONS, "--bootstrap-server", f"127.0.0.1:{kafka.port}", *args)


def _ends(topic: str, isolation: str) -> dict[int, int]:
    consumer = Consumer(kafka_config(**{"group.id": f"forensics-{uuid.uuid4().hex}", "isolation.level": isolation}))
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def _scan(topic: str, service: str, orders: set[int]) -> tuple[Places, Places]:
    """Where the orders sit in the topic a service reads: read_uncommitted, then read_committed."""
    return _places(topic, service, orders, "read_uncommitted"), _places(topic, service, orders, "read_committed")


def _places(topic: str, service: str, orders: set[int], isolation: str) -> Places:
    keys = {hash_key("order", order): order for order in orders}
    consumer = Consumer(kafka_config(**{"group.id": f"forensics-{uuid.uuid4().hex}", "enable.auto.commit": False,
                                        "isolation.level": isolation}))
    places: Places = defaultdict(list)
    try:
        numbers = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        partitions = [TopicPartition(topic, p, 0) for p in numbers]
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
        consumer.assign(partitions)
        idle = 0
        while idle < 6:
            batch = [m for m in consumer.consume(5000, 0.5) if not m.error()]
            idle = 0 if batch else idle + 1
            for message in batch:
                order = _order_of(message.value(), service, keys)
                if order in orders:
                    places[order].append((message.partition(), message.offset()))
            if all(tp.offset >= ends[tp.partition] for tp in consumer.position(partitions)):
                break
        return places
    finally:
        consumer.close()


def _order_of(value: bytes | None, service: str, keys: dict) -> int | None:
    """The order id a message of the topic that `service` reads carries."""
    try:
        document = json.loads(value or b"")
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    if service == "cdm":
        return keys.get(document.get("order_id"))
    return document.get("object_id")
