"""What STG accepts from the source topic, before anything is written."""

from __future__ import annotations

import pytest

from streamvault.runtime.stage import Rejected
from streamvault.stg.transform import decode

REVIEW = b'{"object_id": 7, "object_type": "restaurant_review", "sent_dttm": "2024-01-01 10:00:00", "payload": %s}'


def test_other_object_types_keep_their_payload_exactly_as_sent():
    obj = decode(REVIEW % '{"text":  "вкусно"}'.encode())
    assert obj.order is None
    assert obj.payload_json == '{"text":  "вкусно"}'


def test_invalid_utf8_in_any_payload_is_bad_input():
    with pytest.raises(Rejected, match="not UTF-8"):
        decode(REVIEW % b'{"text": "\xff"}')


def test_an_order_payload_is_checked_against_the_contract():
    with pytest.raises(Rejected, match="invalid order payload: Object missing required field `restaurant`"):
        decode(b'{"object_id": 1, "object_type": "order", "sent_dttm": "2024-01-01 10:00:00", "payload": {}}')
