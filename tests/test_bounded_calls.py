"""A Kafka client call that never returns must not wedge the loop (kafka/bounded.py): librdkafka's
send_offsets_to_transaction can block past its timeout for good after a broker loss."""

from __future__ import annotations

import threading

import pytest

from streamvault.kafka.bounded import CallHung, within


def test_a_call_that_never_returns_is_given_up_after_its_bound():
    never = threading.Event()
    with pytest.raises(CallHung, match="sending offsets has not returned in 0.2 s"):
        within(never.wait, 0.2, "sending offsets")


def test_a_call_that_returns_gives_its_result_and_one_that_fails_its_exception():
    assert within(lambda: 42, 5, "answer") == 42
    with pytest.raises(ZeroDivisionError):
        within(lambda: 1 / 0, 5, "division")
