"""End-to-end throughput of the three services on a backlog, against the running local stack.

Publishes a generated backlog first, then starts STG, DDS and CDM and times how long they take until
every order is in the marts. Baseline, measured in the same run on the same topic: a bare
read_committed consumer reading the backlog (what Kafka alone delivers on this machine).
Prints one JSON object. Usage: `make bench` (or `streamvault stack up` then this script).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from confluent_kafka import Consumer, TopicPartition
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from expected import compute  # noqa: E402
from pipeline import Pipeline  # noqa: E402
from streamvault import config  # noqa: E402
from streamvault.generator import GeneratorOptions, build_timeline, publish  # noqa: E402
from support import kafka_config  # noqa: E402


def kafka_read_rate(topic: str, messages: int) -> float:
    consumer = Consumer(kafka_config(**{"group.id": f"bench-{uuid.uuid4().hex}", "isolation.level": "read_committed",
                                        "auto.offset.reset": "earliest", "enable.auto.commit": False}))
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.partitions])
    seen, started = 0, time.perf_counter()
    while seen < messages:
        seen += sum(1 for m in consumer.consume(5000, 1.0) if not m.error())
    elapsed = time.perf_counter() - started
    consumer.close()
    return messages / elapsed


def load_stack_env() -> None:
    """The running stack's settings (written by `streamvault stack up`), unless the environment has them."""
    for line in (config.streamvault_home() / "env").read_text().splitlines():
        key, value = line.split("=", 1)
        os.environ.setdefault(key, "".join(shlex.split(value)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--replicas", type=int, default=1, help="instances of each service")
    args = parser.parse_args()

    load_stack_env()
    database = f"bench_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(host=os.environ["PG_WAREHOUSE_HOST"], port=os.environ["PG_WAREHOUSE_PORT"],
                            user=os.environ["PG_WAREHOUSE_USER"], password=os.environ["PG_WAREHOUSE_PASSWORD"],
                            dbname="postgres", autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    pipeline = Pipeline(database=database, log_dir=Path(tempfile.mkdtemp(prefix="streamvault-bench-")),
                        batch_size=args.batch_size, replicas=args.replicas)
    try:
        pipeline.prepare()
        timeline = build_timeline(GeneratorOptions(seed=args.seed, orders=args.orders, users=5000, restaurants=50,
                                                   unknown_ids=0, malformed=0.001))
        expected = compute(timeline.events)
        publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings),
                pipeline.source_topic, progress=False)
        messages = sum(1 for _ in timeline.messages)
        baseline = kafka_read_rate(pipeline.source_topic, messages)

        launched = time.perf_counter()
        pipeline.start_all()
        while pipeline.probe("stg", "/ready") != 200:  # imports and joining the group are not throughput
            time.sleep(0.05)
        started = time.perf_counter()
        with pipeline.connect() as conn:
            while conn.execute("SELECT count(*) FROM cdm.srv_order_contributions").fetchone()[0] < len(expected.orders):
                time.sleep(0.1)
        elapsed = time.perf_counter() - started
        pipeline.wait_drained(expected.parked)
        result = {
            "benchmark": "pipeline_throughput",
            "order_versions": expected.order_count,
            "messages": messages,
            "seconds": round(elapsed, 2),
            "orders_per_s": round(expected.order_count / elapsed),
            "baseline_kafka_read_per_s": round(baseline),
            "share_of_baseline": round(expected.order_count / elapsed / baseline, 3),
            "startup_seconds": round(started - launched, 2),
            "batch_size": args.batch_size,
            "replicas": args.replicas,
        }
        print(json.dumps(result))
    finally:
        pipeline.stop_all()
        pipeline.delete_topics()
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


if __name__ == "__main__":
    main()
