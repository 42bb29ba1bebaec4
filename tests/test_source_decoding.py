"""What STG accepts from the source topic, before anything is written."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from streamvault.contracts.source import User
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


def test_times_with_an_offset_become_naive_utc_and_times_without_one_are_utc_already():
    """docs/spec.md's times are UTC; an offset is honoured, so every layer compares instants, not wall clocks."""
    order = (b'{"object_id": 1, "object_type": "order", "sent_dttm": "2024-05-02T09:00:05Z", "payload": {'
             b'"restaurant": {"id": "0123456789abcdef01234567"}, "user": {"id": "0123456789abcdef01234567"},'
             b'"date": "2024-05-02 08:00:00", "order_items": [{"id": "d", "name": "n", "price": 1, "quantity": 1}],'
             b'"bonus_payment": 0, "cost": 1, "payment": 1, "bonus_grant": 0,'
             b'"statuses": [{"status": "CLOSED", "dttm": "2024-05-02T14:30:00+05:30"}],'
             b'"final_status": "CLOSED", "update_ts": "2024-05-02T12:00:00+03:00"}}')
    decoded = decode(order)
    times = (decoded.envelope.sent_dttm, decoded.order.sent_dttm, decoded.order.payload.date,
             decoded.order.payload.statuses[0].dttm, decoded.order.payload.update_ts)
    assert times == (datetime(2024, 5, 2, 9, 0, 5), datetime(2024, 5, 2, 9, 0, 5), datetime(2024, 5, 2, 8),
                     datetime(2024, 5, 2, 9), datetime(2024, 5, 2, 9))
    user = msgspec.json.decode(b'{"_id": "0123456789abcdef01234567", "name": "n", "login": "l",'
                               b' "update_ts_utc": "2024-05-01T23:30:00-01:00"}', type=User)
    assert user.update_ts_utc == datetime(2024, 5, 2, 0, 30)
