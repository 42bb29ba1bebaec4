"""A Kafka client call that may not return: run it on a thread of its own and stop waiting after a bound.

librdkafka's `send_offsets_to_transaction` ignores its timeout and can block for good when the group
coordinator's broker was lost (librdkafka issues #5456 and #5511, open in 2026). Seen here in the
three-broker tests: a service wedged for minutes after a broker kill, deaf even to SIGTERM. The loop
gives up on such a call, abandons the producer to it, and a new producer with the same transactional id
fences the old one and aborts its transaction on the broker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class CallHung(Exception):
    """The call has not returned within its bound; it may still be running on its thread."""


def within(call: Callable[[], T], bound_s: float, what: str) -> T:
    """`call()`'s result or exception, or CallHung after `bound_s`."""
    outcome: list = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, call()))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name=f"bounded {what}", daemon=True).start()
    if not done.wait(bound_s):
        raise CallHung(f"Kafka: {what} has not returned in {bound_s:g} s (a lost group coordinator, "
                       "librdkafka #5456); the producer is replaced")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value
