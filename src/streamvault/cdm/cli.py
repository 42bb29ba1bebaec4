"""The `streamvault rebuild cdm` command."""

from __future__ import annotations

import sys

import click
import psycopg

from streamvault import config
from streamvault.cli_support import settings


@click.group()
def rebuild() -> None:
    """Recompute a layer from the one before it, online."""


@rebuild.command("cdm")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
def rebuild_cdm(dry_run: bool) -> None:
    """Both marts and the CDM bookkeeping from the Data Vault, in one transaction, while the CDM service
    runs (it waits for the rebuild and then goes on from it)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from streamvault.cdm.rebuild import rebuild as run_rebuild

    pg = settings(config.PgSettings)
    console = Console(stderr=True)
    try:
        with psycopg.connect(pg.conninfo(), autocommit=True) as conn, \
                Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                         disable=not console.is_terminal, transient=True) as progress:
            task = progress.add_task("connecting")
            changes = run_rebuild(conn, dry_run=dry_run, step=lambda what: progress.update(task, description=what))
    except psycopg.Error as exc:
        click.echo(f"streamvault: rebuild cdm: postgresql {pg.host}:{pg.port}: {str(exc).strip().splitlines()[0]}",
                   err=True)
        sys.exit(2)
    verb = "would change" if dry_run else "changed"
    for change in changes:
        click.echo(f"{change.table:<28} {verb}: {change.inserted:,} inserted, {change.updated:,} updated, "
                   f"{change.deleted:,} deleted")
    if dry_run:
        click.echo("dry run: nothing was changed")
