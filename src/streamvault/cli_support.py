"""What every sub-command shares: settings loaded so that a bad variable ends the command cleanly.

A module of its own so that the sub-command modules need not import `streamvault.cli`, which imports them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from streamvault import config


@contextmanager
def exit_on_bad_settings() -> Iterator[None]:
    """A bad or missing variable ends the command with one line per variable, never a traceback."""
    try:
        yield
    except config.SettingsError as exc:
        heading = "" if isinstance(exc, config.NoLocalStack) else "configuration error: "
        for line in exc.lines:
            click.echo(f"streamvault: {heading}{line}", err=True)
        sys.exit(2)


def settings(group: type[config.G]) -> config.G:
    with exit_on_bad_settings():
        return config.load(group)
