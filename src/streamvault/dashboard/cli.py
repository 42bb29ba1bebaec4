"""`streamvault dashboard` and `streamvault export superset`; heavy imports wait until a command runs."""

from __future__ import annotations

import logging
import signal
from datetime import datetime, timezone
from pathlib import Path

import click

from streamvault import config
from streamvault.cli_support import settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default keeps the page on this machine.")
@click.option("--port", default=8050, show_default=True, type=click.IntRange(0, 65535))
def dashboard(host: str, port: int) -> None:
    """Serve the live dashboard of the marts (four charts, KPIs, JSON API) until interrupted."""
    from werkzeug.serving import make_server

    from streamvault.dashboard import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("werkzeug", "psycopg.pool"):  # not a line per 5-second poll (request, connection)
        logging.getLogger(chatty).setLevel(logging.WARNING)
    app = create_app(settings(config.DashboardSettings), settings(config.PgSettings))
    server = make_server(host, port, app, threaded=True)
    click.echo(f"dashboard: http://{host}:{server.server_port}/  (Ctrl-C stops it)")
    # SIGTERM (docker stop, Kubernetes) stops it like Ctrl-C; as a container's PID 1 it would otherwise be ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["streamvault.warehouse"].close()


@click.group()
def export() -> None:
    """Dashboards for BI tools, generated from the same chart definitions as `streamvault dashboard`."""


@export.command("superset")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("streamvault-superset.zip"), show_default=True)
@click.option("--db-user", envvar="DASHBOARD_PG_USER", show_envvar=True,
              help="The read-only login Superset connects as (a member of streamvault_dashboard).")
def export_superset(output: Path, db_user: str | None) -> None:
    """An importable Superset dashboard bundle (ZIP of YAML) over the cdm views."""
    from streamvault.dashboard.superset import bundle

    if not db_user:
        raise click.UsageError("give the read-only login with --db-user or DASHBOARD_PG_USER")
    top_n = settings(config.DashboardSettings).top_n
    output.write_bytes(bundle(settings(config.PgSettings), db_user, datetime.now(timezone.utc), top_n))
    click.echo(f"wrote {output}: import it in Superset (Dashboards → Import; the database password is asked "
               "there), or with its API: docs/superset.md")
