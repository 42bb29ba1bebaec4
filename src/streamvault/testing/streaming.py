"""A pipeline fed by a steady order stream, for the freshness benchmark and the soak."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from streamvault.stack import Stack
from streamvault.testing.pipeline import SERVICES, Pipeline, service_defaults

_GENERATED = re.compile(r"generated (\d+) orders \((\d+) versions")


@contextmanager
def running_pipeline(database: str, batch_size: int, log_prefix: str, **settings: str) -> Iterator[Pipeline]:
    """The three services with their own defaults (but for `settings`, by environment variable), on their own
    topics, ready; stopped and their topics deleted afterwards."""
    pipeline = Pipeline(database=database, log_dir=Path(tempfile.mkdtemp(prefix=log_prefix)), batch_size=batch_size,
                        overrides={**service_defaults(), **settings})
    try:
        pipeline.prepare()
        pipeline.start_all()
        while any(pipeline.probe(s, "/ready", i) != 200 for s, i in pipeline.running):
            time.sleep(0.1)
        yield pipeline
    finally:
        pipeline.stop_all()
        pipeline.delete_topics()


# Order ids above every seed's own range (generator/model.py), so that a backlog never reuses a stream's ids.
_BACKLOG_FIRST_ID = 20_000_000_000


def _generate(topic: str, seed: int, *options: str) -> list[str]:
    return [sys.executable, "-m", "streamvault", "generate", "--topic", topic, "--seed", str(seed),
            "--users", "5000", "--restaurants", "50", "--no-progress", *options]


def backlog(topic: str, orders: int, seed: int) -> None:
    """Publish `orders` orders by the stream's users and restaurants as fast as the generator can."""
    subprocess.run(_generate(topic, seed, "--orders", str(orders), "--first-id", str(_BACKLOG_FIRST_ID)),
                   check=True, capture_output=True)


@contextmanager
def order_stream(topic: str, rate: float, seed: int) -> Iterator[tuple[subprocess.Popen, dict]]:
    """`streamvault generate --rate` in a child process; on exit, what it sent and how fast is filled in."""
    process = subprocess.Popen(
        _generate(topic, seed, "--rate", str(rate)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # A benchmark started in the background by a shell runs with SIGINT ignored, and the child would
        # inherit that and never stop: it must hear the Ctrl-C that ends it below.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started, result = time.monotonic(), {}
    try:
        yield process, result
    finally:
        process.send_signal(signal.SIGINT)  # it finishes the orders it started and prints what it sent
        output, _ = process.communicate(timeout=300)
        seconds = time.monotonic() - started
        found = _GENERATED.search(output)
        if found is None:  # the generator failed: the samples still count
            result.update(error=f"the generator printed no summary: {output.strip()[-300:]}")
            return
        orders, versions = int(found[1]), int(found[2])
        result.update(orders=orders, versions=versions, seconds=round(seconds, 1),
                      orders_per_s=round(orders / seconds), versions_per_s=round(versions / seconds))


def process_ids(pipeline: Pipeline) -> dict[str, list[int]]:
    """Each server's and each service's process ids (procfs counts their children with them)."""
    servers = {server["name"]: [server["pid"]] for server in Stack().status()}
    services = {service: [r.process.pid for (s, _), r in pipeline.running.items() if s == service]
                for service in SERVICES}
    return {**servers, **services}
