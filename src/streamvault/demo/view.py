"""What the demo shows: a rich Live view in a terminal, or one plain line per interval (--headless, CI)."""

from __future__ import annotations

import time
from typing import Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from streamvault.observe.render import format_count, render
from streamvault.observe.status import Status


class Rates:
    """Rows per second of each layer's main table, between the last two snapshots."""

    def __init__(self) -> None:
        self._last: tuple[float, dict[str, int]] | None = None
        self.per_s: dict[str, float] = {}

    def update(self, status: Status) -> dict[str, float]:
        now = time.monotonic()
        mains = status.main_rows
        if self._last is not None and now > self._last[0]:
            elapsed, previous = now - self._last[0], self._last[1]
            self.per_s = {layer: max(0.0, (rows - previous[layer]) / elapsed)
                          for layer, rows in mains.items() if layer in previous}
        self._last = (now, mains)
        return self.per_s


class View(Protocol):
    def note(self, line: str) -> None: ...

    def show(self, phase: str, status: Status, processes: dict[str, str]) -> None: ...

    def close(self) -> None: ...


class LiveView:
    def __init__(self, console: Console, header: str):
        self._console, self._header = console, header
        self._rates = Rates()
        self._live: Live | None = None

    def note(self, line: str) -> None:
        self._console.print(f"demo: {line}", highlight=False)

    def show(self, phase: str, status: Status, processes: dict[str, str]) -> None:
        body = Group(Text(self._header, style="bold"), Text(phase, style="cyan"),
                     render(status, self._rates.update(status), processes),
                     Text("Ctrl-C stops everything", style="dim"))
        if self._live is None:
            self._live = Live(body, console=self._console, auto_refresh=False)
            self._live.start()
        self._live.update(body, refresh=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()


class HeadlessView:
    def __init__(self, console: Console, every_s: float):
        self._console, self._every_s = console, every_s
        self._rates = Rates()
        self._started = time.monotonic()
        self._printed = 0.0

    def note(self, line: str) -> None:
        self._console.print(f"demo: {line}", highlight=False, soft_wrap=True)

    def show(self, phase: str, status: Status, processes: dict[str, str]) -> None:
        rates = self._rates.update(status)
        now = time.monotonic()
        if now - self._printed < self._every_s:
            return
        self._printed = now
        layers = " | ".join(f"{layer} {rows:,} (+{rates.get(layer, 0.0):,.0f}/s)"
                            for layer, rows in status.main_rows.items())
        services = " ".join(f"{s.ref.key}:{s.health}/lag {format_count(s.lag)}/dlq {format_count(s.dlq)}"
                            for s in status.services)
        problems = f" | problems: {'; '.join(status.problems)}" if status.problems else ""
        self._console.print(f"[{now - self._started:5.0f}s] {phase} | {layers} | {services} | "
                            f"parked {format_count(status.parked)}{problems}", highlight=False, soft_wrap=True)

    def close(self) -> None:
        pass
