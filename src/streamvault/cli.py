"""The `streamvault` command."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click
import psycopg

from streamvault import config
from streamvault.cli_support import exit_on_bad_settings, settings

if TYPE_CHECKING:
    from streamvault.stack import Stack


@click.group()
@click.version_option(package_name="streamvault")
def main() -> None:
    """Streaming warehouse loader: Kafka + Redis -> stg -> dds (Data Vault 2.0) -> cdm marts."""


@main.group()
def stack() -> None:
    """The local stack of real servers (Kafka, PostgreSQL, Redis) under $STREAMVAULT_HOME."""


@contextmanager
def _stack(secure: bool = False, brokers: int | None = None) -> Iterator[Stack]:
    """The stack of $STREAMVAULT_HOME; a failure ends the command with one clear line, never a traceback."""
    from streamvault.stack import Stack, StackSettings

    chosen: dict[str, object] = {"secure": True} if secure else {}  # unset: STREAMVAULT_* decide
    if brokers:
        chosen["kafka_brokers"] = brokers
    settings = StackSettings(**chosen)
    try:
        yield Stack(settings)
    except (RuntimeError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise click.ClickException(f"cannot use the stack folder {settings.home}: {exc.strerror or exc}{where}"
                                   ) from None


def _waiting(local: Stack) -> Callable[[], None]:
    return lambda: click.echo(f"waiting for another stack command in {local.settings.home} to finish", err=True)


@stack.command("up")
@click.option("--secure", is_flag=True, help="TLS and a login per service on every server (docs/security.md); "
              "also STREAMVAULT_SECURE=1. A folder made secure stays secure.")
@click.option("--brokers", type=click.IntRange(1, 9), default=None,
              help="Kafka brokers of a new stack (STREAMVAULT_KAFKA_BROKERS; default 1); a stack keeps its number.")
def stack_up(secure: bool, brokers: int | None) -> None:
    """Start the servers (idempotent) and wait until each is healthy."""
    # A closed terminal (SIGHUP) or `kill` interrupts like Ctrl-C: `up` then stops what it had started. Ctrl-C
    # too where the shell started it with SIGINT ignored (a background job, CI): Python then never handles it.
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.default_int_handler)
    with _stack(secure, brokers) as local:
        try:
            local.up(on_wait=_waiting(local))
        except KeyboardInterrupt:
            click.echo("interrupted: stopped the servers this `stack up` had started", err=True)
            sys.exit(130)
        for server in local.status():
            click.echo(f"{server['name']:<9} up  pid {server['pid']:<8} port {server['port']}")
        click.echo(f"connection settings: {local.env_file}  (load with: set -a; . {local.env_file}; set +a)")
        for hint in local.hints():
            click.echo(hint, err=True)
        if local.security is not None:
            click.echo(f"secure stack: CA {local.security.ca.cert}; one login per service in {local.env_file}.<principal>"
                       " (stg, dds, cdm, generator, dashboard)")


@stack.command("down")
def stack_down() -> None:
    """Stop the servers cleanly; their data stays."""
    with _stack() as local:
        if not local.exists:
            click.echo(f"no stack in {local.settings.home}")
            return
        local.down(on_wait=_waiting(local))
        click.echo(f"stack in {local.settings.home} stopped")


@stack.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per server.")
def stack_status(as_json: bool) -> None:
    """Each server's pid, port and health. Exits 1 unless all are healthy."""
    with _stack() as local:
        servers = local.status()
    if as_json:
        click.echo(json.dumps(servers, indent=2))
    else:
        for server in servers:
            state = "healthy" if server["healthy"] else ("unhealthy" if server["running"] else "stopped")
            click.echo(f"{server['name']:<9} {state:<9} pid {server['pid'] or '-':<8} port {server['port']}")
    sys.exit(0 if all(server["healthy"] for server in servers) else 1)


@main.command()
def migrate() -> None:
    """Apply the schema migrations that are missing (re-running is a no-op)."""
    from streamvault.db.migrate import MigrationError, migrate as apply

    pg = settings(config.PgSettings)
    try:
        with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
            applied = apply(conn)
    except MigrationError as exc:  # exit 2: retrying cannot help (the Helm Job then fails at once)
        click.echo(f"streamvault: migrate: {exc}", err=True)
        sys.exit(2)
    except psycopg.Error as exc:
        raise click.ClickException(str(exc).strip()) from None
    if applied:
        for migration in applied:
            click.echo(f"applied {migration.version:04d}_{migration.name}")
    else:
        click.echo("schema is up to date")


def _service_loop(service: str, instance_id: str | None = None):
    from streamvault.services import build_loop

    with exit_on_bad_settings():
        return build_loop(service, instance_id)


@main.command()
@click.argument("service", type=click.Choice(["stg", "dds", "cdm"]))
def run(service: str) -> None:
    """Run one service until SIGTERM/SIGINT (HTTP: /health, /ready, /metrics on HTTP_PORT).

    Logs go to stderr as text, or as one JSON object per line with STREAMVAULT_LOG_FORMAT=json."""
    from streamvault.runtime import logs

    loop = _service_loop(service)
    logs.configure(loop.runtime.log_format, loop.stage.name, loop.runtime.instance_id)
    loop.run()


@main.command("reprocess-parked")
def reprocess_parked() -> None:
    """Re-drive parked orders whose reference data is now in Redis; report what is still missing."""
    from streamvault.stg import parking

    pg = settings(config.PgSettings)
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        parking.retry_all_now(conn)
    total = _service_loop("stg", instance_id="reprocess-parked").redrive()
    with psycopg.connect(pg.conninfo()) as conn:
        waiting = parking.count(conn)
    click.echo(f"re-drove {total} parked orders; {waiting} still wait for reference data")


# Commands whose code lives with its concern.
from streamvault.cdm.cli import rebuild  # noqa: E402
from streamvault.dashboard.cli import dashboard, export  # noqa: E402
from streamvault.demo.cli import demo  # noqa: E402
from streamvault.generator.cli import generate  # noqa: E402
from streamvault.observe.cli import status  # noqa: E402
from streamvault.verify.cli import verify  # noqa: E402

for _command in (generate, demo, status, dashboard, export, verify, rebuild):
    main.add_command(_command)
