"""Freshness: how old the marts are while orders stream in, against the running local stack.

STG, DDS and CDM run on their own topics and database; `streamvault generate --rate R` streams orders
into the source topic in a child process, and probe orders (testing/probes.py) are published with a
plain Kafka producer at a fixed interval and timed from publish until a read-only query sees each in
`cdm.user_product_counters`. Prints one JSON object: the rate achieved, probes, p50/p95/p99/max in ms,
each service's "source publish -> its commit" from its /metrics with its batch time and size (where
the time goes per hop), and the CPU each process used (share of one core) while probing.
Usage: `make bench` (or `streamvault stack up` then this script).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from streamvault.testing.pipeline import SERVICES
from streamvault.testing.probes import Probes, histograms, hop_summary, percentiles
from streamvault.testing.procfs import cpu_seconds
from streamvault.testing.streaming import order_stream, process_ids, running_pipeline
from streamvault.testing.support import load_stack_env, pg_connect, redis_client, scratch_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=1000, help="orders per second of the background stream")
    parser.add_argument("--seconds", type=float, default=60, help="how long to probe")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of stream before probing")
    parser.add_argument("--probe-interval-ms", type=float, default=100)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()

    load_stack_env()
    with scratch_database("fresh") as database, \
            running_pipeline(database, args.batch_size, "streamvault-freshness-") as pipeline, \
            redis_client() as redis, \
            pg_connect({**os.environ, "PG_WAREHOUSE_DBNAME": database}, autocommit=True) as conn:
        conn.read_only = True
        probes = Probes(redis, conn, pipeline.source_topic, interval_s=args.probe_interval_ms / 1000)
        processes = process_ids(pipeline)
        with order_stream(pipeline.source_topic, args.rate, args.seed) as (_, achieved):
            time.sleep(args.warmup)
            hops_before = {service: histograms(pipeline.url(service, "/metrics")) for service in SERVICES}
            cpu_before, started = cpu_seconds(processes), time.monotonic()
            probes.run(args.seconds)
            cpu_after, elapsed = cpu_seconds(processes), time.monotonic() - started
            hops = {service: hop_summary(hops_before[service], histograms(pipeline.url(service, "/metrics")))
                    for service in SERVICES}
            load = os.getloadavg()[0]
        print(json.dumps({
            "benchmark": "freshness",
            "rate": args.rate,
            "achieved": achieved,
            "probes": len(probes.latencies_ms),
            "missing": probes.missing,
            "ms": percentiles(probes.latencies_ms),
            "source_to_commit_by_service": hops,
            "cpu_share_of_a_core": {name: round((cpu_after[name] - cpu_before[name]) / elapsed, 2)
                                    for name in processes},
            "load_average_1m": round(load, 2),
            "batch_size": args.batch_size,
        }))


if __name__ == "__main__":
    main()
