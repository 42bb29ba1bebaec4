"""What permanently parked orders cost an idle STG: row updates per second on stg.parked_orders and CPU.

Publishes `--orders` orders whose user and restaurant never appear in Redis, starts STG (service defaults:
idle round every 2 s), waits until every order is parked and then, with no new messages, measures over
`--seconds`: row updates/s on stg.parked_orders (`pg_stat_user_tables.n_tup_upd`), and the CPU of the STG
process and of PostgreSQL (from /proc), as a percentage of one core.

Two windows: `just_parked` starts as soon as the last order is parked; `long_parked` (only for code whose
parked rows carry a back-off schedule) first gives every row the schedule it has after waiting a day
(attempts past the cap, next attempts spread over the cap): the steady state of orders that never complete.
`--compare-with SRC` measures another checkout's code (its migrations and STG, through PYTHONPATH) in the same
run, e.g. `--compare-with ../main/src`. Prints one JSON line. Usage: `streamvault stack up`, then this script.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from confluent_kafka import Producer

from streamvault.runtime.settings import RuntimeSettings
from streamvault.services import StgSettings
from streamvault.stack import Stack
from streamvault.testing.pipeline import Pipeline, service_defaults
from streamvault.testing.procfs import cpu_seconds
from streamvault.testing.support import checkout, kafka_config, load_stack_env, scratch_database, wait_for

THIS_CHECKOUT = Path(__file__).resolve().parent.parent / "src"
RETRY_MAX_S = StgSettings.model_fields["parked_retry_max_s"].default


def publish_unknown_orders(topic: str, count: int) -> None:
    """Valid orders, each for a user and restaurant that Redis never has."""
    rng, producer, ts = random.Random(1), Producer(kafka_config(**{"linger.ms": 20})), "2024-05-01 12:00:00"
    for object_id in range(1, count + 1):
        order = {"object_id": object_id, "object_type": "order", "sent_dttm": ts, "payload": {
            "restaurant": {"id": rng.randbytes(12).hex()}, "user": {"id": rng.randbytes(12).hex()}, "date": ts,
            "order_items": [{"id": "dish-1", "name": "Борщ", "price": 450, "quantity": 1}],
            "bonus_payment": 0, "cost": 450, "payment": 450, "bonus_grant": 0,
            "statuses": [{"status": "CLOSED", "dttm": ts}], "final_status": "CLOSED", "update_ts": ts}}
        while True:
            try:
                producer.produce(topic, key=str(object_id).encode(), value=json.dumps(order).encode())
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(60)


def row_updates(conn) -> int:
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute("SELECT n_tup_upd FROM pg_stat_user_tables "
                        "WHERE relid = 'stg.parked_orders'::regclass").fetchone()[0]


def window(conn, processes: dict[str, list[int]], seconds: float) -> dict:
    updates, cpu, started = row_updates(conn), cpu_seconds(processes), time.monotonic()
    time.sleep(seconds)
    elapsed = time.monotonic() - started
    cpu_after = cpu_seconds(processes)
    return {"row_updates_per_s": round((row_updates(conn) - updates) / elapsed, 1),
            **{f"{name}_cpu_percent_of_core": round(100 * (cpu_after[name] - cpu[name]) / elapsed, 2)
               for name in processes}}


def settle() -> None:
    """PostgreSQL backends publish their counters up to ~10 s late: let the earlier work show first."""
    time.sleep(15)


def measure(src: Path, orders: int, seconds: float) -> dict:
    with scratch_database("parked") as database:
        pipeline = Pipeline(database=database, log_dir=Path(tempfile.mkdtemp(prefix="streamvault-bench-")),
                            batch_size=5000, overrides={**service_defaults(), "PYTHONPATH": str(src)})
        try:
            pipeline.prepare()
            publish_unknown_orders(pipeline.source_topic, orders)
            stg = pipeline.start("stg")
            wait_for(lambda: pipeline.parked() == orders, f"{orders} orders parked", timeout=600)
            processes = {"stg": [stg.process.pid], "postgres": [s["pid"] for s in Stack().status()
                                                                 if s["name"] == "postgres"]}
            result: dict = checkout(src)
            with pipeline.connect() as conn:
                conn.autocommit = True
                result["just_parked"] = window(conn, processes, seconds)
                if conn.execute("SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'stg' "
                                "AND table_name = 'parked_orders' AND column_name = 'next_attempt_at')").fetchone()[0]:
                    conn.execute("UPDATE stg.parked_orders SET parked_at = now() - interval '1 day', attempts = 20, "
                                 "next_attempt_at = now() + random() * make_interval(secs => %s)", (RETRY_MAX_S,))
                    settle()
                    result["long_parked"] = window(conn, processes, seconds)
            return result
        finally:
            pipeline.stop_all()
            pipeline.delete_topics()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000, help="orders parked for good")
    parser.add_argument("--seconds", type=float, default=60, help="length of each measured window")
    parser.add_argument("--compare-with", type=Path, help="another checkout's src/ (e.g. ../main/src)")
    args = parser.parse_args()

    load_stack_env()
    runs = [measure(THIS_CHECKOUT, args.orders, args.seconds)]
    if args.compare_with:
        runs.append(measure(args.compare_with.resolve(), args.orders, args.seconds))
    print(json.dumps({"benchmark": "parked_idle", "parked_orders": args.orders, "window_seconds": args.seconds,
                      "idle_interval_s": RuntimeSettings.model_fields["idle_interval_s"].default,
                      "retry_max_s": RETRY_MAX_S, "runs": runs}))


if __name__ == "__main__":
    main()
