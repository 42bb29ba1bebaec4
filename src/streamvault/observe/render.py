"""Status as compact rich tables, shared by `streamvault status` and the demo's live view."""

from __future__ import annotations

from datetime import UTC

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from streamvault.observe.status import Freshness, Status

_HEALTH_STYLE = {"ready": "green", "not ready": "yellow", "down": "red"}


def render(status: Status, rates: dict[str, float] | None = None,
           processes: dict[str, str] | None = None) -> RenderableType:
    """Layers (with rows/s when `rates` are given), services (with a supervisor's `processes` column
    when given), parked orders and problems."""
    parts: list[RenderableType] = [_layers(status, rates), _services(status, processes)]
    parts.append(Text(f"parked orders (waiting for reference data): {format_count(status.parked)}; "
                      f"expired to the dead-letter topic: {format_count(status.parked_expired)}"))
    last = status.last_verify
    parts.append(Text(f"last verify: {last.describe() if last else 'never'}",
                      style="" if last is None or last.consistent else "red"))
    if status.freshness:
        parts.append(Text("data as of (newest source publish time committed): " + "; ".join(
            f"{layer} {_as_of(f)}" for layer, f in status.freshness.items())))
    parts.extend(Text(f"problem: {problem}", style="red") for problem in status.problems)
    return Group(*parts)


def _layers(status: Status, rates: dict[str, float] | None) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column, justify in (("layer", "left"), ("table", "left"), ("rows", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    if rates is not None:
        table.add_column("rows/s", justify="right")
    table.add_column("other tables", style="dim")
    for layer, tables in status.rows.items():
        (main, count), *others = tables.items()
        cells = [layer, main, f"{count:,}"]
        if rates is not None:
            cells.append(f"{rates.get(layer, 0.0):,.0f}")
        cells.append("  ".join(f"{name} {rows:,}" for name, rows in others))
        table.add_row(*cells)
    return table


def _services(status: Status, processes: dict[str, str] | None) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column, justify in (("service", "left"), ("health", "left"), ("lag", "right"), ("dead letters", "right"),
                            ("reads", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    if processes is not None:
        table.add_column("process")
    for service in status.services:
        cells = [service.ref.name, Text(service.health, style=_HEALTH_STYLE[service.health]),
                 format_count(service.lag), format_count(service.dlq), f"{service.ref.topic} as {service.ref.group}"]
        if processes is not None:
            cells.append(processes.get(service.ref.key, ""))
        table.add_row(*cells)
    return table


def _as_of(freshness: Freshness) -> str:
    if freshness.data_as_of is None or freshness.behind_s is None:
        return "nothing yet"
    return f"{freshness.data_as_of.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({freshness.behind_s:,.1f} s ago)"


def format_count(value: int | None) -> str:
    """A count, or "?" when it could not be read."""
    return "?" if value is None else f"{value:,}"
