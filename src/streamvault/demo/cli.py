"""The `streamvault demo` command."""

from __future__ import annotations

import sys

import click

DEFAULT_RATE = 50.0


@click.command()
@click.option("--orders", type=click.IntRange(min=0), help="Generate this many orders (a batch) instead of a stream.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True),
              help=f"Orders per second [default: {DEFAULT_RATE:g} when --orders is not given].")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The simulated world (users, restaurants, menus); keep it to resume on the same data.")
@click.option("--headless", is_flag=True, help="Plain log lines instead of the live view (CI, logs).")
@click.option("--exit-when-drained", is_flag=True,
              help="Stop once every order is published and the pipeline has processed it (needs --orders).")
@click.option("--keep-stack", is_flag=True, help="Leave Kafka, PostgreSQL and Redis running at exit.")
@click.option("--dashboard-port", type=click.IntRange(1, 65535), default=8050, show_default=True,
              envvar="STREAMVAULT_DASHBOARD_PORT", show_envvar=True)
def demo(orders: int | None, rate: float | None, seed: int, headless: bool, exit_when_drained: bool,
         keep_stack: bool, dashboard_port: int) -> None:
    """Everything at once: the stack, the three services, generated orders, the dashboard, a live view.

    Ctrl-C stops it all; running it again resumes on the same data. Logs: $STREAMVAULT_HOME/logs/.
    """
    from rich.console import Console

    from streamvault.demo.run import DemoOptions, run

    if exit_when_drained and orders is None:
        raise click.UsageError("--exit-when-drained needs --orders: a stream never ends")
    if orders is None and rate is None:
        rate = DEFAULT_RATE
    sys.exit(run(DemoOptions(orders, rate, seed, headless, exit_when_drained, keep_stack, dashboard_port), Console()))
