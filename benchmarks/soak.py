"""Soak: the pipeline under a steady stream for an hour, sampled for what must stay flat.

Against the running local stack (not in CI): STG, DDS and CDM with their own defaults, `streamvault generate --rate
R` streaming into their source topic, and probe orders timed from publish to the marts (testing/probes.py) all the
time. Every `--sample-seconds` it records the RSS of every process (the services' also by allocator: malloc's main
heap, other threads' arenas, other anonymous memory such as CPython's; and the blocks CPython has handed out, which
grow with a leak but not with memory merely held), each service's consumer lag, the probes' freshness percentiles,
each service's committed messages per minute, its mean "source publish -> commit" and the share of its loop's time
spent in PostgreSQL, in Kafka and in its own work (from /metrics; its turns slower than 1 s are in its log, with
their phases), how much of the time some task waited for a core or for the disk (/proc/pressure), what PostgreSQL
wrote per second (WAL; buffers by checkpointer, background writer and backends) and what it read from outside its
shared buffers: a stall of every service at once is the machine's or a server's; the CPU each process (with its
children) and the machine used, and the time stolen by the hypervisor; how many vacuums PostgreSQL was running. With
`--history-minutes M`, the warehouse first receives M minutes of orders at the rate as one backlog, so that the hour
measures a warehouse with history rather than one growing from empty. Writes soak.csv, probes.csv (every probe's
latency, by sample), soak.png (one panel per measure) and soak.json (the flatness figures: RSS and p99 of the last
10 minutes against minutes 5-15, and the lag trend; PostgreSQL's shared buffers and, above 0 if they are in huge
pages, the postmaster's memory in them) into `--out`. Usage: `streamvault stack up`, then `python benchmarks/soak.py
--minutes 60 --rate 1000 --out DIR`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

import matplotlib
import psycopg

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)

from streamvault import config  # noqa: E402
from streamvault.kafka.lag import partition_lags  # noqa: E402
from streamvault.stack import process  # noqa: E402
from streamvault.testing.pipeline import SERVICES, Pipeline  # noqa: E402
from streamvault.testing.probes import Probes, histograms, hop_summary, percentiles  # noqa: E402
from streamvault.testing.procfs import cpu_seconds, memory_mib, resident_by_region  # noqa: E402
from streamvault.testing.streaming import backlog, order_stream, process_ids, running_pipeline  # noqa: E402
from streamvault.testing.support import load_stack_env, metrics_text, pg_connect, redis_client, scratch_database  # noqa: E402

PANELS = (("rss_mib", "RSS (MiB)"), ("rss_region_mib", "services' RSS by allocator (MiB)"),
          ("py_blocks_k", "CPython's allocated blocks (thousands)"), ("lag", "consumer lag (messages)"),
          ("probe_ms", "publish -> marts, probes (ms)"), ("per_min", "committed messages per minute"),
          ("fresh_mean_ms", "source publish -> commit, mean (ms)"),
          ("phase_pct", "the loop's time in PostgreSQL, Kafka, its own work (% of the wall)"),
          ("stalled_pct", "some task stalled, % of 10 s (PSI)"), ("pg_write_mib_s", "PostgreSQL writes (MiB/s)"),
          ("pg_miss_mib_s", "pages read from outside shared buffers (MiB/s)"),
          ("cpu_pct", "CPU, % of one core (machine: of all)"), ("vacuums", "vacuums running"))
# The loop's phases (runtime/timing.py) by what they wait for; the rest of the time it waits for messages.
PHASE_GROUPS = {"postgres": ("load", "pg_commit"), "kafka": ("fetch", "begin", "produce", "offsets", "commit"),
                "own": ("decode", "idle", "other")}
# The services log a turn that worked longer than this with its phases (their default is 2 s).
SLOW_TURN_S = "1"
# The probes of the last 5 minutes (at the default 30 s a sample), pooled for a p99 that moves with the minutes.
ROLLING_SAMPLES = 10
# What PostgreSQL wrote since the server started: WAL bytes, and 8 KiB buffers by who wrote them.
_PG_WRITES = """SELECT (SELECT wal_bytes FROM pg_stat_wal) / 1048576.0,
                       buffers_checkpoint / 128.0, buffers_clean / 128.0, buffers_backend / 128.0
                FROM pg_stat_bgwriter"""
# What the soak's database read from outside shared buffers (the kernel's cache or the disk) since it was made:
# heap and index pages, 8 KiB each. Growing with the vault, it says the working set has outgrown the buffers.
# Not the sessions' temp tables: they live in each session's own buffers, and their counts go with the session.
_PG_MISSES = """SELECT coalesce(sum(heap_blks_read), 0) / 128.0, coalesce(sum(idx_blks_read), 0) / 128.0
                FROM pg_statio_user_tables WHERE schemaname NOT LIKE 'pg\\_temp\\_%'"""
_VACUUMS = "SELECT count(*) FROM pg_stat_progress_vacuum"
# How often autovacuum visited each table of the soak's database, for the summary.
_AUTOVACUUMS = """SELECT schemaname || '.' || relname, autovacuum_count, autoanalyze_count FROM pg_stat_user_tables
                  WHERE autovacuum_count + autoanalyze_count > 0 ORDER BY 2 DESC, 1"""


def metric_values(text: str, *names: str) -> dict[str, float]:
    """Counters and gauges of a service from its /metrics text (one label set per service)."""
    values = dict.fromkeys(names, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0]
        if name in values:
            values[name] = float(line.rsplit(" ", 1)[1])
    return values


def phase_seconds(text: str) -> dict[str, float]:
    """The loop's seconds by phase (streamvault_loop_phase_seconds_total) from a service's /metrics text."""
    return {line.split('phase="', 1)[1].split('"', 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith("streamvault_loop_phase_seconds_total{")}


def stalled_pct(resource: str) -> float | None:
    """Share of the last 10 s in which some task waited for `resource` (cpu, io): Linux pressure stall info."""
    try:
        some = Path(f"/proc/pressure/{resource}").read_text().splitlines()[0]
    except OSError:
        return None
    return float(some.split()[1].split("=")[1])


def machine_ticks() -> tuple[int, int, int]:
    """Clock ticks since boot: all, busy (neither idle nor waiting for the disk), stolen by the hypervisor."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return user + nice + system + idle + iowait + irq + softirq + steal, user + nice + system + irq + softirq, steal


def sample(pipeline: Pipeline, pids: dict[str, int], probes: Probes, kafka: config.KafkaSettings,
           server: psycopg.Connection, previous: dict, minute: float, recent: list[list[float]]) -> dict:
    """One row of the CSV; `previous` holds the last readings of the counters and histograms (updated);
    `recent` gets this sample's probe latencies, appended (the rolling p99 pools the last ones)."""
    row: dict[str, float | None] = {"minute": round(minute, 2)}
    for name, pid in pids.items():
        try:
            row[f"rss_mib.{name}"] = memory_mib(pid)["now"]
        except OSError:
            row[f"rss_mib.{name}"] = None
    for service in SERVICES:  # which allocator holds what grew: CPython and the main thread, or other threads
        try:
            regions = resident_by_region(pids[service])
        except OSError:
            continue
        for region in ("heap", "thread_arenas", "anonymous"):
            row[f"rss_region_mib.{service}.{region}"] = regions[region]
    for service in SERVICES:
        row[f"lag.{service}"] = sum(p.lag for p in partition_lags(kafka, pipeline.group(service),
                                                                   pipeline.topic(service)))
    latencies = probes.take()
    recent.append(latencies)
    for key, value in percentiles(latencies).items():
        row[f"probe_ms.{key}"] = value
    row["probe_ms.p99_5min"] = percentiles([ms for taken in recent[-ROLLING_SAMPLES:] for ms in taken])["p99"]
    row["probes"], row["probes_missing"] = len(latencies), probes.missing
    for service in SERVICES:
        url = pipeline.url(service, "/metrics")
        text = metrics_text(url)
        values = metric_values(text, "streamvault_messages_in_total", "streamvault_python_allocated_blocks")
        now, consumed, hist = time.monotonic(), values["streamvault_messages_in_total"], histograms(url)
        last = previous.get(service)
        if last is not None:
            row[f"per_min.{service}"] = round((consumed - last[1]) * 60 / (now - last[0]))
            mean = hop_summary(last[2], hist).get("mean_s")
            row[f"fresh_mean_ms.{service}"] = None if mean is None else round(mean * 1000, 1)
        previous[service] = (now, consumed, hist)
        row[f"py_blocks_k.{service}"] = round(values["streamvault_python_allocated_blocks"] / 1000, 1)
        phases, key = phase_seconds(text), f"phases.{service}"
        if key in previous:
            then, before = previous[key]
            for group, names in PHASE_GROUPS.items():
                spent = sum(phases.get(name, 0.0) - before.get(name, 0.0) for name in names)
                row[f"phase_pct.{service}.{group}"] = round(spent * 100 / (now - then), 1)
        previous[key] = (now, phases)
    for resource in ("cpu", "io"):
        row[f"stalled_pct.{resource}"] = stalled_pct(resource)
    now, cpu, ticks = time.monotonic(), cpu_seconds({name: [pid] for name, pid in pids.items()}), machine_ticks()
    if "cpu" in previous:
        then, cpu_before, ticks_before = previous["cpu"]
        for name, seconds in cpu.items():
            row[f"cpu_pct.{name}"] = round((seconds - cpu_before[name]) * 100 / (now - then), 1)
        elapsed = ticks[0] - ticks_before[0]
        row["cpu_pct.machine"] = round((ticks[1] - ticks_before[1]) * 100 / elapsed, 1)
        row["cpu_pct.stolen"] = round((ticks[2] - ticks_before[2]) * 100 / elapsed, 1)
    previous["cpu"] = (now, cpu, ticks)
    row["vacuums.running"] = server.execute(_VACUUMS).fetchone()[0]
    for key, query, names in (("pg_write_mib_s", _PG_WRITES, ("wal", "checkpointer", "bgwriter", "backends")),
                              ("pg_miss_mib_s", _PG_MISSES, ("heap", "index"))):
        now, mib = time.monotonic(), server.execute(query).fetchone()
        if key in previous:
            then, before = previous[key]
            for name, value, value_before in zip(names, mib, before):
                row[f"{key}.{name}"] = round(float(value - value_before) / (now - then), 2)
        previous[key] = (now, mib)
    return row


def flatness(rows: list[dict], minutes: float, latencies: list[list[float]]) -> dict:
    """RSS and probe p99 of the last 10 minutes against minutes 5-15 (ratio, 1.0 = flat); lag trend.
    `latencies` holds each row's probe latencies. The p99 comes two ways: the mean of the 30-s samples' p99s
    (as every stop's figures before stop 19), and the p99 of all the window's probes pooled (3,000 a window
    at the default 200 ms): a 30-s sample has 150 probes, so its p99 is its second slowest probe, and the
    mean of twenty of those is not the p99 of the ten minutes: one slow probe lifts its sample, while a stall's
    dozens of slow probes, seen together, count as one sample of twenty."""
    def in_early(row: dict) -> bool:
        return 5 <= row["minute"] < 15

    def in_late(row: dict) -> bool:
        return row["minute"] >= minutes - 10

    early, late = list(filter(in_early, rows)), list(filter(in_late, rows))

    def ratio(column: str) -> float | None:
        before = [r[column] for r in early if r.get(column) is not None]
        after = [r[column] for r in late if r.get(column) is not None]
        if not before or not after or not statistics.mean(before):
            return None
        return round(statistics.mean(after) / statistics.mean(before), 3)

    columns = {key for row in rows for key in row}
    figures = {column: ratio(column) for column in sorted(columns)
               if column.startswith(("rss_mib.", "rss_region_mib.", "py_blocks_k."))}
    figures["probe_ms.p99"] = ratio("probe_ms.p99")
    pooled = [percentiles([ms for row, taken in zip(rows, latencies) if inside(row) for ms in taken])["p99"]
              for inside in (in_early, in_late)]
    figures["probe_ms.p99_pooled"] = {"minutes_5_15": pooled[0], "last_10": pooled[1],
                                      "ratio": round(pooled[1] / pooled[0], 3) if None not in pooled else None}
    for service in SERVICES:
        early_lag = [r[f"lag.{service}"] for r in early]
        late_lag = [r[f"lag.{service}"] for r in late]
        figures[f"lag.{service}"] = {"minutes_5_15_mean": round(statistics.mean(early_lag)) if early_lag else None,
                                     "last_10_mean": round(statistics.mean(late_lag)) if late_lag else None,
                                     "last_10_max": max(late_lag, default=None)}
    return figures


def plot(rows: list[dict], path: Path, title: str) -> None:
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(10, 3 * len(PANELS)), sharex=True)
    minutes = [r["minute"] for r in rows]
    for axis, (prefix, label) in zip(axes, PANELS):
        for column in sorted({k for r in rows for k in r if k.startswith(prefix + ".")}):
            axis.plot(minutes, [r.get(column) for r in rows], label=column.split(".", 1)[1])
        axis.set_ylabel(label)
        axis.legend(loc="upper left", fontsize="small", ncol=4)
        axis.grid(alpha=0.3)
    axes[-1].set_xlabel("minutes")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--rate", type=float, default=1000, help="orders per second")
    parser.add_argument("--sample-seconds", type=float, default=30)
    parser.add_argument("--probe-interval-ms", type=float, default=200)
    parser.add_argument("--out", type=Path, default=Path("soak"))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--history-minutes", type=float, default=0,
                        help="first load this many minutes of orders at --rate as a backlog (not timed)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    load_stack_env()
    kafka = config.load(config.KafkaSettings)
    rows: list[dict] = []
    latencies: list[list[float]] = []  # each row's probe latencies (ms)
    probes_csv = args.out / "probes.csv"
    probes_csv.write_text("minute,ms\n")  # appended to at every sample
    with scratch_database("soak") as database, \
            running_pipeline(database, 5000, "streamvault-soak-",
                             STREAMVAULT_SLOW_TURN_SECONDS=SLOW_TURN_S) as pipeline, \
            redis_client() as redis, \
            pg_connect({**os.environ, "PG_WAREHOUSE_DBNAME": database}, autocommit=True) as conn, \
            pg_connect({**os.environ, "PG_WAREHOUSE_DBNAME": database}, autocommit=True) as server:
        conn.read_only = True
        if args.history_minutes:
            history = round(args.history_minutes * 60 * args.rate)
            loaded = time.monotonic()
            backlog(pipeline.source_topic, history, args.seed + 1)
            while not pipeline.caught_up():
                time.sleep(5)
            print(json.dumps({"history_orders": history, "loaded_s": round(time.monotonic() - loaded)}),
                  file=sys.stderr, flush=True)
        probes = Probes(redis, conn, pipeline.source_topic, interval_s=args.probe_interval_ms / 1000)
        with order_stream(pipeline.source_topic, args.rate, args.seed) as (generator, achieved):
            pids = {name: ids[0] for name, ids in process_ids(pipeline).items()} | {"generator": generator.pid}
            previous: dict = {}
            done = threading.Event()
            # Its own thread: a slow sample never delays the probes' polls (which would add to their times).
            prober = threading.Thread(target=lambda: probe_until(probes, done), daemon=True)
            prober.start()
            started = time.monotonic()
            # Started in the background by a shell, it would ignore Ctrl-C: an early stop still writes its figures.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                for number in range(1, int(args.minutes * 60 / args.sample_seconds) + 1):
                    time.sleep(max(0.0, started + number * args.sample_seconds - time.monotonic()))
                    rows.append(sample(pipeline, pids, probes, kafka, server, previous,
                                       (time.monotonic() - started) / 60, latencies))
                    write_csv(rows, args.out / "soak.csv")
                    with open(probes_csv, "a") as file:
                        file.writelines(f"{rows[-1]['minute']},{ms:.1f}\n" for ms in latencies[-1])
            except KeyboardInterrupt:
                print(f"stopped after {len(rows)} samples", file=sys.stderr)
            finally:
                done.set()
                prober.join()
        minutes = rows[-1]["minute"] if rows else 0.0
        slow_turns = {service: metric_values(metrics_text(pipeline.url(service, "/metrics")),
                                              "streamvault_slow_turns_total")[
            "streamvault_slow_turns_total"] for service in SERVICES}
        summary = {"benchmark": "soak", "minutes": minutes, "rate": args.rate, "achieved": achieved,
                   "history_minutes": args.history_minutes, "flatness": flatness(rows, minutes, latencies),
                   "slow_turns": {"bound_s": float(SLOW_TURN_S), **slow_turns, "logs": str(pipeline.log_dir)},
                   "autovacuums": {table: [vacuums, analyzes] for table, vacuums, analyzes
                                   in server.execute(_AUTOVACUUMS).fetchall()},
                   "postgres": {"shared_buffers": server.execute("SHOW shared_buffers").fetchone()[0],
                                "postmaster_huge_pages_mib": process.huge_pages_kb(pids["postgres"]) // 1024},
                   "load_average_15m": os.getloadavg()[2]}
    plot(rows, args.out / "soak.png", f"soak: {minutes:g} min at {args.rate:g} orders/s "
                                      f"(achieved {achieved.get('orders_per_s')}/s)")
    (args.out / "soak.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary))


def probe_until(probes: Probes, done: threading.Event) -> None:
    probes.start()
    while not done.is_set():
        probes.step()


def write_csv(rows: list[dict], path: Path) -> None:
    """Rewritten at every sample, so a soak cut short still leaves its data."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
