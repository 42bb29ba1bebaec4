"""The `streamvault` command."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
import psycopg

from streamvault import config


@contextmanager
def _exit_on_bad_settings() -> Iterator[None]:
    """A bad or missing variable ends the command with one line per variable, never a traceback."""
    try:
        yield
    except config.SettingsError as exc:
        for line in exc.lines:
            click.echo(f"streamvault: configuration error: {line}", err=True)
        sys.exit(2)


def _settings(group: type[config.G]) -> config.G:
    with _exit_on_bad_settings():
        return config.load(group)


@click.group()
@click.version_option(package_name="streamvault")
def main() -> None:
    """Streaming warehouse loader: Kafka + Redis -> stg -> dds (Data Vault 2.0) -> cdm marts."""


@main.group()
def stack() -> None:
    """The local stack of real servers (Kafka, PostgreSQL, Redis) under $STREAMVAULT_HOME."""


def _stack():
    from streamvault.stack import Stack

    return Stack()


@stack.command("up")
def stack_up() -> None:
    """Start the servers (idempotent) and wait until each is healthy."""
    local = _stack()
    try:
        local.up()
    except (RuntimeError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None
    for server in local.status():
        click.echo(f"{server['name']:<9} up  pid {server['pid']:<8} port {server['port']}")
    click.echo(f"connection settings: {local.env_file}  (load with: set -a; . {local.env_file}; set +a)")


@stack.command("down")
def stack_down() -> None:
    """Stop the servers cleanly; their data stays."""
    local = _stack()
    local.down()
    click.echo("stack stopped")


@stack.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per server.")
def stack_status(as_json: bool) -> None:
    """Each server's pid, port and health. Exits 1 unless all are healthy."""
    servers = _stack().status()
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

    pg = _settings(config.PgSettings)
    try:
        with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
            applied = apply(conn)
    except (psycopg.OperationalError, MigrationError) as exc:
        raise click.ClickException(str(exc).strip()) from None
    if applied:
        for migration in applied:
            click.echo(f"applied {migration.version:04d}_{migration.name}")
    else:
        click.echo("schema is up to date")


def _service_loop(service: str, instance_id: str | None = None):
    from streamvault.services import build_loop

    with _exit_on_bad_settings():
        return build_loop(service, instance_id)


@main.command()
@click.argument("service", type=click.Choice(["stg", "dds", "cdm"]))
def run(service: str) -> None:
    """Run one service until SIGTERM/SIGINT (HTTP: /health, /ready, /metrics on HTTP_PORT)."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _service_loop(service).run()


@main.command("reprocess-parked")
def reprocess_parked() -> None:
    """Re-drive parked orders whose reference data is now in Redis; report what is still missing."""
    from streamvault.stg import parking

    pg = _settings(config.PgSettings)
    with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
        parking.retry_all_now(conn)
    total = _service_loop("stg", instance_id="reprocess-parked").redrive()
    with psycopg.connect(pg.conninfo()) as conn:
        waiting = parking.count(conn)
    click.echo(f"re-drove {total} parked orders; {waiting} still wait for reference data")


# Commands whose code lives with its concern.
from streamvault.dashboard.cli import dashboard, export  # noqa: E402
from streamvault.demo.cli import demo  # noqa: E402
from streamvault.generator.cli import generate  # noqa: E402
from streamvault.observe.cli import status  # noqa: E402

for _command in (generate, demo, status, dashboard, export):
    main.add_command(_command)
