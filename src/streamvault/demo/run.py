"""The demo from start to stop: stack up, migrate, start the services and the dashboard, stream
orders, watch; on Ctrl-C (or once drained, when asked) stop the children, then the stack.

Resuming: the generator keeps the seed, so the simulated world (users, restaurants, dishes) stays
the same, and continues after the highest object id and the latest version time in stg. It starts
only once stg-service has read what the last run left in the source topic, so that maximum is final.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import urlsplit

import psycopg
from rich.console import Console

from streamvault import config
from streamvault.db.migrate import MigrationError, migrate
from streamvault.db.sqlfiles import sql
from streamvault.demo.lock import AnotherDemo, only_demo_of
from streamvault.demo.supervisor import Child, Supervisor
from streamvault.demo.view import HeadlessView, LiveView, View
from streamvault.generator.model import TIME_FORMAT
from streamvault.observe.status import ServiceRef, ServiceUrls, Status, collect, service_refs
from streamvault.stack import Stack

POLL_S = 2.0
HEADLESS_EVERY_S = 5.0
# Drained and unchanged this long: parked orders whose data arrived have had their re-drive rounds
# (the demo retries each parked order at least this often; a service's default is every 600 s).
SETTLE_S = 6.0
PARKED_RETRY_MAX_S = 3.0
STREAMVAULT = [sys.executable, "-m", "streamvault"]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class DemoOptions:
    orders: int | None
    rate: float | None
    seed: int
    headless: bool
    exit_when_drained: bool
    keep_stack: bool
    dashboard_port: int


def run(options: DemoOptions, console: Console) -> int:
    """Returns the exit code: 0 when stopped by Ctrl-C or drained as asked, 1 when something failed."""
    stack = Stack()
    try:
        with only_demo_of(stack.settings.home):
            return _run(stack, options, console)
    except AnotherDemo as exc:
        console.print(f"demo: {exc}", highlight=False, soft_wrap=True)
        return 1


def _run(stack: Stack, options: DemoOptions, console: Console) -> int:
    home = stack.settings.home
    dashboard = f"http://127.0.0.1:{options.dashboard_port}/"
    view: View = (HeadlessView(console, HEADLESS_EVERY_S) if options.headless or not console.is_terminal
                  else LiveView(console, f"streamvault demo · dashboard {dashboard} · logs {home / 'logs'}"))
    supervisor = Supervisor(home)
    # Ctrl-C, `kill` and a closed terminal (SIGHUP) all stop the demo cleanly, even when started with
    # SIGINT ignored (`cmd &`), which its children would inherit.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.default_int_handler)
    try:
        for leftover in supervisor.stop_leftovers():
            view.note(f"stopped {leftover}, left running by an earlier demo")
        view.note(f"starting the stack in {home}")
        stack.up()
        os.environ.update(stack.env())  # the demo's own stack wins over any other settings around
        kafka, pg = config.load(config.KafkaSettings), config.load(config.PgSettings)
        with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
            migrate(conn)
        refs = service_refs(kafka, config.load(ServiceUrls))
        env = {**os.environ, "STREAMVAULT_INSTANCE_ID": "demo", "HTTP_HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1",
               "STREAMVAULT_PARKED_RETRY_MAX_SECONDS": str(PARKED_RETRY_MAX_S)}
        for ref in refs:
            port = str(urlsplit(ref.url).port)
            supervisor.start(ref.name, [*STREAMVAULT, "run", ref.key], {**env, "HTTP_PORT": port})
        supervisor.start("dashboard", [*STREAMVAULT, "dashboard", "--port", str(options.dashboard_port)], env)
        view.note(f"services and dashboard started; dashboard: {dashboard}; logs: {supervisor.log_dir}")
        return _watch(options, supervisor, view, refs, env, kafka, pg)
    except KeyboardInterrupt:
        _unless_terminal_gone(view.note, "stopping")
        return 0
    except OSError as exc:
        if exc.errno != errno.EIO:
            raise
        return 0  # the screen was written after the terminal closed, before its SIGHUP was handled: a stop too
    except (RuntimeError, TimeoutError, config.SettingsError, MigrationError, psycopg.Error) as exc:
        view.note(f"failed: {exc}")
        return 1
    finally:
        for sig in STOP_SIGNALS:  # a second Ctrl-C must not leave processes behind
            signal.signal(sig, signal.SIG_IGN)
        _unless_terminal_gone(view.close)
        supervisor.stop_all()
        if options.keep_stack:
            _unless_terminal_gone(view.note, "children stopped; the stack keeps running "
                                             "(stop it with: streamvault stack down)")
        else:
            stack.down()
            _unless_terminal_gone(view.note, "children and stack stopped")


def _unless_terminal_gone(show: Callable[..., None], *args: str) -> None:
    """After SIGHUP every write to the closed terminal fails: the demo stops its processes all the same."""
    with suppress(OSError):
        show(*args)


def _watch(options: DemoOptions, supervisor: Supervisor, view: View, refs: list[ServiceRef],
           env: dict[str, str], kafka: config.KafkaSettings, pg: config.PgSettings) -> int:
    generator: Child | None = None
    stg = next(ref for ref in refs if ref.key == "stg")
    phase = f"resuming: {stg.name} reads what the last run left in {stg.topic}"
    settled: tuple[float, object] | None = None
    while True:
        status = collect(kafka, pg, refs)
        for event in supervisor.check():
            view.note(event)
        if generator is None and next(s.lag for s in status.services if s.ref == stg) == 0:
            args, phase = _generator(options, pg)
            generator = supervisor.start("generator", args, env, stop_signal=signal.SIGINT, restart=False)
            view.note(phase)
        elif generator is not None and generator.exit_code not in (None, 0):
            failed = f"the generator failed with exit code {generator.exit_code} (log: {generator.log})"
            if phase != failed:
                view.note(failed)
                phase = failed
            if options.exit_when_drained:
                return 1
        elif generator is not None and generator.exit_code == 0:
            phase = "all orders published; " + ("pipeline drained" if status.drained else "pipeline draining")
        view.show(phase, status, {ref.key: supervisor.children[ref.name].describe() for ref in refs})
        if options.exit_when_drained and generator is not None and generator.exit_code == 0:
            settled = _settle(settled, status)
            if settled is not None and time.monotonic() - settled[0] >= SETTLE_S:
                view.note(f"drained: {_summary(status)}")
                return 0
        time.sleep(POLL_S)


def _settle(settled: tuple[float, object] | None, status: Status) -> tuple[float, object] | None:
    """Since when the pipeline is drained with the same rows and parked orders (None: it is not)."""
    if not status.drained or status.parked is None:
        return None
    seen = (status.rows, status.parked)
    return settled if settled is not None and settled[1] == seen else (time.monotonic(), seen)


def _generator(options: DemoOptions, pg: config.PgSettings) -> tuple[list[str], str]:
    """The `generate` command line continuing the last run, and what it will do."""
    with psycopg.connect(pg.conninfo()) as conn:
        last_id, last_ts = conn.execute(sql("streamvault.demo", "resume_point.sql")).fetchone()
    args = [*STREAMVAULT, "generate", "--seed", str(options.seed), "--no-progress"]
    what = "orders"
    if options.orders is not None:
        args += ["--orders", str(options.orders)]
        what = f"{options.orders} orders"
    if options.rate is not None:
        args += ["--rate", str(options.rate)]
        what += f" at {options.rate:g}/s"
    origin = f"seed {options.seed}"
    if last_id is not None:
        args += ["--first-id", str(last_id + 1)]
        if last_ts is not None:
            args += ["--start", last_ts.strftime(TIME_FORMAT)]
        origin += f", continuing after object id {last_id}"
    return args, f"generating {what} ({origin})"


def _summary(status: Status) -> str:
    layers = ", ".join(f"{layer}.{table} {rows}" for layer, tables in status.rows.items() for table, rows in
                       tables.items())
    dead = ", ".join(f"{s.ref.name} {s.dlq}" for s in status.services)
    return f"{layers}; parked {status.parked}; dead letters {dead}"
