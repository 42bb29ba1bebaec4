"""The `streamvault verify` command."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click
import psycopg

from streamvault import config
from streamvault.cli_support import settings

DEFAULT_SETTLE_S = 30.0


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--examples", default=5, show_default=True, type=click.IntRange(0, 1000),
              help="Differing business keys to show per check.")
@click.option("--settle", "settle_s", default=DEFAULT_SETTLE_S, show_default=True, type=click.FloatRange(0),
              help="Seconds to wait for the services to pass rows in flight before calling them in flight.")
def verify(as_json: bool, examples: int, settle_s: float) -> None:
    """Do stg, dds and the marts agree? Set-based checks over one consistent snapshot.

    Rows between two layers that the running services have not passed yet count as in flight, not as
    drift. Exits 0 when consistent, 1 when some rows differ, 2 when verify cannot run.
    """
    from streamvault.observe.status import ServiceUrls, service_refs
    from streamvault.verify.checks import verify as run_checks
    from streamvault.verify.settle import ServiceSources, settle

    kafka, pg = settings(config.KafkaSettings), settings(config.PgSettings)
    refs = settings(ServiceSources).applied(service_refs(kafka, settings(ServiceUrls)))
    try:
        with psycopg.connect(pg.conninfo(), autocommit=True) as conn:
            report = run_checks(conn, examples, lambda: settle(kafka, refs, settle_s))
    except psycopg.errors.UndefinedTable:
        _cannot_run(f"postgresql {pg.host}:{pg.port}: the schema is missing or old (run `streamvault migrate`)")
    except psycopg.Error as exc:
        _cannot_run(f"postgresql {pg.host}:{pg.port}: {str(exc).strip().splitlines()[0]}")
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(report.lines()))
    sys.exit(0 if report.consistent else 1)


def _cannot_run(reason: str) -> NoReturn:
    click.echo(f"streamvault: verify: {reason}", err=True)
    sys.exit(2)
