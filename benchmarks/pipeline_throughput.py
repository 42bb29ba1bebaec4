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
import os
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from confluent_kafka import Consumer, Producer, TopicPartition
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from expected import compute  # noqa: E402
from pipeline import Pipeline  # noqa: E402
from streamvault import config  # noqa: E402
from streamvault.generator import GeneratorOptions, build_timeline, publish  # noqa: E402
from support import kafka_config  # noqa: E402


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


_TICK = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def cpu_seconds(roots: dict[str, list[int]]) -> dict[str, float]:
    """CPU (user + system) of each named group of processes and all their descendants (PostgreSQL's
    backends, Kafka's and librdkafka's threads are inside these processes or their children)."""
    children, totals = _children(), {}
    for name, pids in roots.items():
        total, todo = 0.0, list(pids)
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited meanwhile
            total += (int(fields[11]) + int(fields[12])) / _TICK
        totals[name] = total
    return totals


def stack_pids() -> dict[str, list[int]]:
    status = subprocess.run([sys.executable, "-m", "streamvault", "stack", "status", "--json"],
                            capture_output=True, text=True, check=True)
    return {server["name"]: [server["pid"]] for server in json.loads(status.stdout)}


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
        backlog_topic = f"{pipeline.name}.backlog"
        publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings),
                backlog_topic, progress=False)
        messages = sum(1 for _ in timeline.messages)
        backlog, baseline = read_all(backlog_topic, messages)

        servers = stack_pids()
        launched = time.perf_counter()
        pipeline.start_all()
        while any(pipeline.probe(s, "/ready", i) != 200 for s, i in pipeline.running):
            time.sleep(0.1)  # imports and joining the groups are not throughput
        ready = time.perf_counter()
        copy_in_one_transaction(backlog, pipeline.source_topic)
        started = time.perf_counter()
        processes = {**servers, **{service: [r.process.pid for (s, _), r in pipeline.running.items() if s == service]
                                   for service in ("stg", "dds", "cdm")}}
        cpu_before = cpu_seconds(processes)
        with pipeline.connect() as conn:
            while conn.execute("SELECT count(*) FROM cdm.srv_order_contributions").fetchone()[0] < len(expected.orders):
                time.sleep(0.1)
        elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds(processes)
        pipeline.wait_drained(expected.parked)
        result = {
            "benchmark": "pipeline_throughput",
            "order_versions": expected.order_count,
            "messages": messages,
            "seconds": round(elapsed, 2),
            "orders_per_s": round(expected.order_count / elapsed),
            "baseline_kafka_read_per_s": round(baseline),
            "share_of_baseline": round(expected.order_count / elapsed / baseline, 3),
            "startup_seconds": round(ready - launched, 2),
            "batch_size": args.batch_size,
            "replicas": args.replicas,
            "cpu_us_per_order": {name: round(1e6 * (cpu_after[name] - cpu_before[name]) / expected.order_count)
                                 for name in processes},
        }
        print(json.dumps(result))
    finally:
        pipeline.stop_all()
        pipeline.delete_topics(extra=(f"{pipeline.name}.backlog",))
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


if __name__ == "__main__":
    main()
