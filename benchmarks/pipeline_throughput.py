"""End-to-end throughput of the three services on a backlog, against the running local stack.

Publishes a generated backlog to a staging topic and starts STG, DDS and CDM on an empty source topic;
once every replica is ready, the backlog is copied to the source topic in one Kafka transaction, so it
appears at one instant (read_committed), and the clock runs from that commit until every order is in
the marts. Baseline, measured in the same run on the same backlog: a bare read_committed consumer
(what Kafka alone delivers on this machine).
Also reports the CPU each process spent per order during the timed part (from /proc, Linux), so a
result says where the time went, and each service's batches and their mean size (a backlog should fill
batches to --batch-size). `--code SRC` runs the services (and their migrations) from another checkout
through PYTHONPATH, to compare two versions on one stack in one session. Prints one JSON object. Usage:
`make bench` (or `streamvault stack up` then this script).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from streamvault import config
from streamvault.generator import GeneratorOptions, build_timeline, publish
from streamvault.stack import Stack
from streamvault.testing.backlog import copy_in_one_transaction, read_all
from streamvault.testing.expected import compute
from streamvault.testing.pipeline import SERVICES, Pipeline
from streamvault.testing.probes import histograms
from streamvault.testing.procfs import cpu_seconds
from streamvault.testing.support import load_stack_env, scratch_database


def batch_counts(pipeline: Pipeline) -> dict[str, tuple[float, float]]:
    """Per service: (batches committed, messages in them) so far, from each replica's /metrics."""
    counts: dict[str, tuple[float, float]] = {}
    for service, index in pipeline.running:
        sizes = histograms(pipeline.url(service, "/metrics", index))["streamvault_batch_size"]
        batches, messages = counts.get(service, (0.0, 0.0))
        counts[service] = (batches + sizes.get(math.inf, 0.0), messages + sizes.get(-1.0, 0.0))
    return counts


def timed_round(pipeline: Pipeline, options: GeneratorOptions, topic: str, processes: dict[str, list[int]],
                orders_before: int) -> dict:
    """One backlog through the running services: published to `topic`, then made visible at once."""
    timeline = build_timeline(options)
    expected = compute(timeline.events)
    publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings), topic, progress=False)
    messages = sum(1 for _ in timeline.messages)
    backlog, baseline = read_all(topic, messages)
    copy_in_one_transaction(backlog, pipeline.source_topic)
    batches_before = batch_counts(pipeline)
    started = time.perf_counter()
    cpu_before = cpu_seconds(processes)
    with pipeline.connect() as conn:
        while conn.execute("SELECT count(*) FROM cdm.srv_order_contributions").fetchone()[0] \
                < orders_before + len(expected.orders):
            time.sleep(0.1)
    elapsed = time.perf_counter() - started
    cpu_after = cpu_seconds(processes)
    pipeline.wait_drained(expected.parked)
    batches_after = batch_counts(pipeline)
    batches = {service: round(batches_after[service][0] - batches_before[service][0]) for service in SERVICES}
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
        "batches": batches,
        "batch_mean_messages": {service: round((batches_after[service][1] - batches_before[service][1])
                                               / max(batches[service], 1)) for service in SERVICES},
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
    parser.add_argument("--code", type=Path, help="another checkout's src folder: its services and migrations run")
    args = parser.parse_args()

    load_stack_env()
    with scratch_database("bench") as database:
        pipeline = Pipeline(database=database, log_dir=Path(tempfile.mkdtemp(prefix="streamvault-bench-")),
                            batch_size=args.batch_size, replicas=args.replicas,
                            overrides={"PYTHONPATH": str(args.code.absolute())} if args.code else {})
        backlogs = [f"{pipeline.name}.backlog{n}" for n in range(args.rounds)]
        try:
            pipeline.prepare()
            local = Stack()
            servers: dict[str, list[int]] = {}
            for server in local.status():  # a cluster's brokers kafka-1, kafka-2 ... count as one "kafka"
                servers.setdefault(str(server["name"]).split("-")[0], []).append(server["pid"])
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
                "kafka_brokers": local.settings.kafka_brokers,
                "code": str(args.code or Path(__file__).parent.parent / "src"),
                "rounds": rounds,
            }
            print(json.dumps(result))
        finally:
            pipeline.stop_all()
            pipeline.delete_topics(extra=tuple(backlogs))


if __name__ == "__main__":
    main()
