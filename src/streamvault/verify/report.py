"""What verify found: per check, rows compared, rows differing, rows in flight, a few examples."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    name: str
    compared: int
    differing: int
    in_flight: int  # between two layers at the snapshot: never drift
    undecided: int  # of those, not yet passed by the services when verify stopped waiting
    examples: list[str]  # "<business key>: <what differs>", the first few by key


@dataclass(frozen=True)
class Report:
    checks: list[CheckResult]
    finished_at: datetime

    @property
    def drift(self) -> int:
        return sum(check.differing for check in self.checks)

    @property
    def in_flight(self) -> int:
        return sum(check.in_flight for check in self.checks)

    @property
    def undecided(self) -> int:
        return sum(check.undecided for check in self.checks)

    @property
    def consistent(self) -> bool:
        return self.drift == 0

    def as_dict(self) -> dict[str, Any]:
        return {"consistent": self.consistent, "drift": self.drift, "in_flight": self.in_flight,
                "undecided": self.undecided, "finished_at": self.finished_at.isoformat(),
                "checks": [asdict(check) for check in self.checks]}

    def lines(self) -> list[str]:
        """The report as text: a table of checks, then the examples of those that differ."""
        width = max(len(check.name) for check in self.checks)
        lines = [f"{'check':<{width}}  {'compared':>10}  {'differing':>10}  {'in flight':>10}"]
        lines += [f"{c.name:<{width}}  {c.compared:>10,}  {c.differing:>10,}  {c.in_flight:>10,}" for c in self.checks]
        for check in self.checks:
            lines += [f"{check.name}: {example}" for example in check.examples]
        verdict = "consistent" if self.consistent else f"NOT consistent: {self.drift:,} rows differ"
        undecided = f", {self.undecided:,} of them not yet passed by the services" if self.undecided else ""
        lines.append(f"{verdict}; {self.in_flight:,} rows were in flight{undecided}")
        return lines
