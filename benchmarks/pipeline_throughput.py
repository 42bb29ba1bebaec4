"""End-to-end throughput of the three services on a backlog, against the running local stack.

Publishes a generated backlog to a staging topic and starts STG, DDS and CDM on an empty source topic;
once every replica is ready, the backlog is copied to the source topic in one Kafka transaction, so it
appears at one instant (read_committed), and the clock runs from that commit until every order is in
the marts. Baseline, measured in the same run on the same backlog: a bare read_committed consumer
(what Kafka alone delivers on this machine).
Also reports the CPU each process spent per order during the timed part (from /proc, Linux), so a
result says where the time went. Prints one JSON object. Usage: `make bench` (or `streamvault stack
up` then this script).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition

from streamvault import config
from streamvault.generator import GeneratorOptions, build_timeline, publish
from streamvault.stack import Stack
from streamvault.testing.expected import compute
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.procfs import cpu_seconds
from streamvault.testing.support import kafka_config, load_stack_env, scratch_database


def read_all(topic: str, messages: int) -> tuple[list, float]:
    """Every message of the topic, and how many per second a bare read_committed consumer reads."""
    consumer = Consumer(kafka_config(**{"group.id": f"bench-{uuid.uuid4().hex}", "isolation.level": "read_committed",
                                        "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
    read, started = [], time.perf_counter()
    while len(read) < messages:
        read += [m for m in consumer.consume(5000, 1.0) if not m.error()]
    elapsed = time.perf_counter() - started
    consumer.close()
    return read, messages / elapsed


def copy_in_one_transaction(messages: list, topic: str) -> None:
    producer = Producer(kafka_config(**{"transactional.id": f"bench-{uuid.uuid4().hex}", "linger.ms": 20,
                                        "compression.type": "lz4", "message.max.bytes": 4 * 1_048_576}))
    producer.init_transactions(30)
    producer.begin_transaction()
    for message in messages:
        while True:
            try:
                producer.produce(topic, value=message.value(), key=message.key())  # partitioned by key, as published
                break
            except BufferError:
                producer.poll(0.1)
    producer.commit_transaction(120)


def timed_round(pipeline: Pipeline, options: GeneratorOptions, topic: str, processes: dict[str, list[int]],
                orders_before: int) -> dict:
    """One backlog through the running services: published to `topic`, then made visible at once."""
    timeline = build_timeline(options)
    expected = compute(timeline.events)
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings), topic, progress=False)
    messages = sum(1 for _ in timeline.messages)
    backlog, baseline = read_all(topic, messages)
    copy_in_one_transaction(backlog, pipeline.source_topic)
    started = time.perf_counter()
    cpu_before = cpu_seconds(processes)
    with pipeline.connect() as conn:
        while conn.execute("SELECT count(*) FROM cdm.srv_order_contributions").fetchone()[0] \
                < orders_before + len(expected.orders):
            time.sleep(0.1)
    elapsed = time.perf_counter() - started
    cpu_after = cpu_seconds(processes)
    pipeline.wait_drained(expected.parked)
    return {
        "orders_in_warehouse_before": orders_before,
        "orders": len(expected.orders),
        "order_versions": expected.order_count,
        "messages": messages,
        "seconds": round(elapsed, 2),
        "orders_per_s": round(expected.order_count / elapsed),
        "baseline_kafka_read_per_s": round(baseline),
        "cpu_us_per_order": {name: round(1e6 * (cpu_after[name] - cpu_before[name]) / expected.order_count)
                             for name in processes},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20000, help="orders per round")
    parser.add_argument("--rounds", type=int, default=2,
                        help="backlogs one after another; later ones meet the history of the earlier ones "
                             "(same users and dishes, new orders): the cost per order must not grow")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=1, help="instances of each service")
    args = parser.parse_args()

    load_stack_env()
    with scratch_database("bench") as database:
        pipeline = Pipeline(database=database, log_dir=Path(tempfile.mkdtemp(prefix="streamvault-bench-")),
                            batch_size=args.batch_size, replicas=args.replicas)
        backlogs = [f"{pipeline.name}.backlog{n}" for n in range(args.rounds)]
        try:
            pipeline.prepare()
            servers = {server["name"]: [server["pid"]] for server in Stack().status()}
            launched = time.perf_counter()
            pipeline.start_all()
            while any(pipeline.probe(s, "/ready", i) != 200 for s, i in pipeline.running):
                time.sleep(0.1)  # imports and joining the groups are not throughput
            startup = time.perf_counter() - launched
            processes = {**servers, **{service: [r.process.pid for (s, _), r in pipeline.running.items()
                                                 if s == service] for service in ("stg", "dds", "cdm")}}
            rounds, orders_before = [], 0
            for number, topic in enumerate(backlogs):
                # The same seed: the same users, restaurants and dishes; new order ids, a month later.
                options = GeneratorOptions(seed=args.seed, orders=args.orders, users=5000, restaurants=50,
                                           unknown_ids=0, malformed=0.001,
                                           start=datetime(2024, 3, 1, 9) + timedelta(days=30 * number),
                                           first_object_id=10_000_000_000 + number * 100_000_000)
                rounds.append(timed_round(pipeline, options, topic, processes, orders_before))
                orders_before += rounds[-1]["orders"]
            first, last = rounds[0], rounds[-1]
            result = {
                "benchmark": "pipeline_throughput",
                **{key: first[key] for key in ("order_versions", "messages", "seconds", "orders_per_s",
                                               "baseline_kafka_read_per_s", "cpu_us_per_order")},
                "share_of_baseline": round(first["orders_per_s"] / first["baseline_kafka_read_per_s"], 3),
                "last_round_vs_first": round(last["orders_per_s"] / first["orders_per_s"], 3),
                "startup_seconds": round(startup, 2),
                "batch_size": args.batch_size,
                "replicas": args.replicas,
                "rounds": rounds,
            }
            print(json.dumps(result))
        finally:
            pipeline.stop_all()
            pipeline.delete_topics(extra=tuple(backlogs))


if __name__ == "__main__":
    main()
