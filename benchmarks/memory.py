"""Peak memory of each service on a backlog: `--orders` orders by `--users` users through STG, DDS and CDM.

Publishes the backlog first (the generator streams it: this script's own memory stays small), then starts one
replica of each service with its default settings and waits until every order is in the marts. Prints one JSON
line: each service's peak resident memory (VmHWM, from /proc) and its resident memory at the end (VmRSS), the
time to publish and to drain. `--compare-with SRC` runs another checkout's services (e.g. ../main/src) on the
same backlog afterwards, in the same run. Usage: `streamvault stack up`, then e.g.
`python benchmarks/memory.py --orders 1000000 --users 50000`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from streamvault import config
from streamvault.generator import GeneratorOptions, Simulator, stream
from streamvault.testing.pipeline import Pipeline, service_defaults
from streamvault.testing.procfs import memory_mib
from streamvault.testing.support import checkout, load_stack_env, scratch_database

THIS_CHECKOUT = Path(__file__).resolve().parent.parent / "src"


def measure(src: Path, options: GeneratorOptions, batch_size: int) -> dict:
    with scratch_database("memory") as database:
        pipeline = Pipeline(database=database, log_dir=Path(tempfile.mkdtemp(prefix="streamvault-bench-")),
                            batch_size=batch_size, overrides={**service_defaults(), "PYTHONPATH": str(src)})
        try:
            pipeline.prepare()
            started = time.perf_counter()
            stream(Simulator(options), config.load(config.KafkaSettings), config.load(config.RedisSettings),
                   pipeline.source_topic, orders=options.orders, rate=None, duration=None, progress=False)
            published = time.perf_counter()
            pipeline.start_all()
            # No unknown ids: nothing waits for good, so drained means every order is in the marts.
            pipeline.wait_drained(parked=0, timeout=900 + options.orders / 100)
            drained = time.perf_counter()
            memory = {service: memory_mib(replica.process.pid) for (service, _), replica in pipeline.running.items()}
            return {**checkout(src), "publish_seconds": round(published - started, 1),
                    "drain_seconds": round(drained - published, 1),
                    "peak_rss_mib": {service: m["peak"] for service, m in memory.items()},
                    "rss_at_end_mib": {service: m["now"] for service, m in memory.items()}}
        finally:
            pipeline.stop_all()
            pipeline.delete_topics()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=30_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--restaurants", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--compare-with", type=Path, help="another checkout's src/ (e.g. ../main/src)")
    args = parser.parse_args()

    load_stack_env()
    options = GeneratorOptions(seed=args.seed, orders=args.orders, users=args.users, restaurants=args.restaurants,
                               unknown_ids=0)
    runs = [measure(THIS_CHECKOUT, options, args.batch_size)]
    if args.compare_with:
        runs.append(measure(args.compare_with.resolve(), options, args.batch_size))
    print(json.dumps({"benchmark": "memory", "orders": args.orders, "users": args.users,
                      "restaurants": args.restaurants, "batch_size": args.batch_size, "runs": runs}))


if __name__ == "__main__":
    main()
