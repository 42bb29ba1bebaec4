"""The `streamvault status` command."""

from __future__ import annotations

import json
import sys

import click

from streamvault import config
from streamvault.cli_support import settings


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Rows per layer, lag and dead letters per service, parked orders, service health.

    Exits 0 when every server answers and every service is ready, 1 otherwise. Service URLs:
    STREAMVAULT_STG_URL, STREAMVAULT_DDS_URL, STREAMVAULT_CDM_URL (default: their local ports).
    """
    from rich.console import Console

    from streamvault.observe.render import render
    from streamvault.observe.status import ServiceUrls, collect, service_refs

    kafka = settings(config.KafkaSettings)
    snapshot = collect(kafka, settings(config.PgSettings), service_refs(kafka, settings(ServiceUrls)))
    if as_json:
        click.echo(json.dumps(snapshot.as_dict(), indent=2))
    else:
        Console().print(render(snapshot))
    sys.exit(0 if snapshot.healthy else 1)
