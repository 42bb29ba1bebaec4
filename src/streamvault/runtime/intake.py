"""How the loop takes a batch: what has arrived, not a full batch or its timeout.

`Consumer.consume(n, timeout)` returns only when n messages are there or the timeout is up, so a
caught-up service used to hold every message for the whole timeout, at each of the three hops. Here the
batch starts with the first message, takes everything already fetched, and lingers a few milliseconds
more only while messages keep coming (a read_committed fetch delivers a committed transaction at once).
On a backlog the fetched queue fills the batch at once, as before.
"""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Message


def take_batch(consumer: Consumer, size: int, wait_s: float, linger_s: float) -> list[Message]:
    """Up to `size` messages: waits up to `wait_s` for the first, then lingers `linger_s` at a time while
    more arrive, never past `wait_s` after the first."""
    batch = consumer.consume(1, wait_s)
    if not batch:
        return batch
    deadline = time.monotonic() + wait_s
    batch += consumer.consume(size - 1, 0) if size > 1 else []
    while len(batch) < size and (left := deadline - time.monotonic()) > 0:
        more = consumer.consume(size - len(batch), min(linger_s, left))
        if not more:
            break
        batch += more
    return batch
