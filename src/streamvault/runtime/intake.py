"""How the loop takes a batch: what has arrived, not a full batch or its timeout.

`Consumer.consume(n, timeout)` returns only when n messages are there or the timeout is up, so a
caught-up service used to hold every message for the whole timeout, at each of the three hops. Here the
batch starts with the first message, takes everything already fetched, and lingers a few milliseconds
more only while messages keep coming (a read_committed fetch delivers a committed transaction at once).
On a backlog the fetched queue fills the batch at once, as before; after small batches, only once it has
lasted a few batches (`BatchRamp`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from confluent_kafka import Consumer, Message

from streamvault.runtime.memory import SMALL_BATCH_SHARE


def take_batch(consumer: Consumer, size: int, wait_s: float, linger_s: float,
               mark: Callable[[str], None] = lambda phase: None) -> list[Message]:
    """Up to `size` messages: waits up to `wait_s` for the first, then lingers `linger_s` at a time while
    more arrive, never past `wait_s` after the first. `mark` is told when the wait for the first ends
    ("wait") and when the rest is taken ("fetch")."""
    batch = consumer.consume(1, wait_s)
    mark("wait")
    if not batch:
        return batch
    deadline = time.monotonic() + wait_s
    batch += consumer.consume(size - 1, 0) if size > 1 else []
    while len(batch) < size and (left := deadline - time.monotonic()) > 0:
        more = consumer.consume(size - len(batch), min(linger_s, left))
        if not more:
            break
        batch += more
    mark("fetch")
    return batch


class BatchRamp:
    """How many messages the next batch may take: after small batches, at most twice the last (and never
    fewer than a tenth of the batch size, more than any caught-up batch), up to the batch size. CPython keeps
    an object arena while any object made in it lives, and a batch's survivors (cache entries, the clients'
    buffers) are made among its other objects: the memory of the largest batch a service ever took stayed
    with it (docs/performance.md, stops 22-24). A stall of a few seconds is taken back in growing batches
    instead of one of the full size; a backlog reaches the full size within a few batches."""

    def __init__(self, batch_size: int) -> None:
        self._full = batch_size
        self._least = max(1, int(batch_size * SMALL_BATCH_SHARE))
        self.size = self._least

    def taken(self, messages: int) -> None:
        self.size = min(self._full, max(self._least, 2 * messages))
