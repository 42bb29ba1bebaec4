"""Where a turn of the loop spends its time, for the operator: each phase's seconds on /metrics, and a slow
turn told in one log line with its phases, the slowest first.

At 1,000 orders/s the hour-long soak saw DDS stall for ~3 s now and then while STG, on the same machine and
servers, did not (docs/performance.md, stop 26); nothing told whether PostgreSQL, Kafka or the process
itself held it.
"""

from __future__ import annotations

import logging
import time

from streamvault.runtime import metrics
from streamvault.runtime.logs import event

log = logging.getLogger(__name__)
# In the order a turn passes them. `wait` is the time until the first message came (a caught-up service
# waits there), the others are work or a server's answer.
PHASES = ("wait", "fetch", "decode", "begin", "load", "pg_commit", "produce", "offsets", "commit", "idle", "other")
# What each phase waits for, in the log line.
WHAT = {"wait": "waiting for the first message", "fetch": "taking the rest of the batch",
        "decode": "decoding", "begin": "beginning the Kafka transaction", "load": "loading in PostgreSQL",
        "pg_commit": "committing in PostgreSQL", "produce": "producing", "offsets": "sending the offsets to Kafka",
        "commit": "committing the Kafka transaction", "idle": "the idle round (checks, parked orders)",
        "other": "the loop's own work"}
# After a slow turn's line, the next comes no sooner than this; it counts those in between.
REPEAT_S = 60.0


class TurnClock:
    """Times one turn of the loop in phases: `mark(phase)` charges the time since the last mark to it."""

    def __init__(self, label: str, slow_s: float, repeat_s: float = REPEAT_S):
        self.label, self.slow_s, self.repeat_s = label, slow_s, repeat_s
        self._counters = {phase: metrics.phase_seconds.labels(label, phase) for phase in PHASES}
        self._logged_at: float | None = None
        self._unlogged = 0  # slow turns since the last line
        self.start()

    def start(self) -> None:
        self.spent = dict.fromkeys(PHASES, 0.0)
        self._last = time.perf_counter()

    def mark(self, phase: str) -> None:
        now = time.perf_counter()
        self.spent[phase] += now - self._last
        self._last = now

    def finish(self, messages: int) -> bool:
        """The turn is over (it took `messages`): its phases go to the metric; True when it was slow (its time
        besides the wait for a first message above the bound), and logged unless one was less than a minute ago."""
        self.mark("other")
        for phase, seconds in self.spent.items():
            if seconds:
                self._counters[phase].inc(seconds)
        busy = sum(self.spent.values()) - self.spent["wait"]
        slow = busy > self.slow_s
        if slow:
            metrics.slow_turns.labels(self.label).inc()
            self._report(busy, messages)
        self.start()
        return slow

    def _report(self, busy: float, messages: int) -> None:
        now = time.monotonic()
        if self._logged_at is not None and now - self._logged_at < self.repeat_s:
            self._unlogged += 1
            return
        phases = sorted(((s, p) for p, s in self.spent.items() if p != "wait" and s >= 0.0005), reverse=True)
        since = ("" if self._logged_at is None else
                 f"; {self._unlogged} more slow since the last such line {now - self._logged_at:.0f} s ago")
        event(log, logging.WARNING, "slow_turn", "%s: slow: %.2f s for a batch of %d (bound %g s): %s%s",
              self.label, busy, messages, self.slow_s,
              ", ".join(f"{WHAT[p]} {s:.3f} s" for s, p in phases[:4]), since,
              seconds=round(busy, 3), messages=messages, bound_s=self.slow_s, unlogged=self._unlogged,
              phases={p: round(s, 4) for p, s in self.spent.items() if s})
        self._logged_at, self._unlogged = now, 0
