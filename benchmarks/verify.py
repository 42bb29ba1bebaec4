"""How long `streamvault verify` and `streamvault rebuild cdm` take on a warehouse of 100,000+ orders.

Loads a generated backlog through the three services (against the running local stack), waits until it is
in the marts, then times verify (both snapshots' SQL, the services idle) and a rebuild of the marts (the CDM
service running). Prints one JSON object: rows compared and rows written per second. Usage: `streamvault
stack up`, then this script (`--orders` at least 100000 for the issue's figure).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import psycopg

from streamvault import config
from streamvault.cdm.rebuild import rebuild
from streamvault.generator import GeneratorOptions, build_timeline, publish
from streamvault.observe.status import ServiceUrls, service_refs
from streamvault.testing.expected import compute
from streamvault.testing.pipeline import Pipeline
from streamvault.testing.support import checkout, load_stack_env, scratch_database
from streamvault.verify.checks import verify
from streamvault.verify.settle import ServiceSources, settle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    args = parser.parse_args()

    load_stack_env()
    with scratch_database("bench_verify") as database:
        pipeline = Pipeline(database=database, log_dir=Path(tempfile.mkdtemp(prefix="streamvault-bench-")),
                            batch_size=5000)
        try:
            pipeline.prepare()
            timeline = build_timeline(GeneratorOptions(seed=args.seed, orders=args.orders, users=20_000,
                                                       restaurants=50, unknown_ids=0))
            expected = compute(timeline.events)
            publish(timeline, config.load(config.KafkaSettings), config.load(config.RedisSettings),
                    pipeline.source_topic, progress=False)
            loading = time.perf_counter()
            pipeline.start_all()
            pipeline.wait_drained(expected.parked, timeout=3600)
            loaded = time.perf_counter() - loading

            os.environ.update(pipeline.verify_env())
            kafka = config.load(config.KafkaSettings)
            refs = config.load(ServiceSources).applied(service_refs(kafka, config.load(ServiceUrls)))
            with psycopg.connect(config.load(config.PgSettings).conninfo(), autocommit=True) as conn:
                started = time.perf_counter()
                report = verify(conn, 5, lambda: settle(kafka, refs, 60))
                verify_s = time.perf_counter() - started
                assert report.consistent, report.lines()
                started = time.perf_counter()
                planned = rebuild(conn, dry_run=True)
                dry_run_s = time.perf_counter() - started
                started = time.perf_counter()
                rebuild(conn, dry_run=False)
                rebuild_s = time.perf_counter() - started
                rows = conn.execute("SELECT (SELECT count(*) FROM cdm.user_product_counters) "
                                    "+ (SELECT count(*) FROM cdm.user_category_counters) "
                                    "+ (SELECT count(*) FROM cdm.srv_order_contributions)").fetchone()[0]
            compared = sum(check.compared for check in report.checks)
            print(json.dumps({
                "benchmark": "verify_and_rebuild",
                "orders": len(expected.orders),
                "order_versions": expected.order_count,
                "load_seconds": round(loaded, 1),
                "verify_seconds": round(verify_s, 2),
                "verify_rows_compared": compared,
                "verify_rows_per_s": round(compared / verify_s),
                "verify_orders_per_s": round(len(expected.orders) / verify_s),
                "rebuild_dry_run_seconds": round(dry_run_s, 2),
                "rebuild_seconds": round(rebuild_s, 2),
                "rebuild_rows": rows,
                "rebuild_rows_per_s": round(rows / rebuild_s),
                "rebuild_orders_per_s": round(len(expected.orders) / rebuild_s),
                "dry_run_changes": [change.__dict__ for change in planned],
                **checkout(Path(__file__).resolve().parents[1] / "src"),
            }))
        finally:
            pipeline.stop_all()
            pipeline.delete_topics()


if __name__ == "__main__":
    main()
