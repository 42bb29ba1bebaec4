"""DDS -> CDM: one order version with the hub keys the marts are keyed by."""

from __future__ import annotations

from datetime import datetime

from streamvault.contracts import Contract
from streamvault.hashing import HashKey

SCHEMA_VERSION = 2  # 2: date and restaurant_update_ts, the effective times of the names


class DdsProduct(Contract):
    product_id: HashKey   # h_product_pk
    name: str
    category_id: HashKey  # h_category_pk
    category_name: str


class DdsOrderMessage(Contract):
    order_id: HashKey     # h_order_pk
    user_id: HashKey      # h_user_pk
    status: str
    update_ts: datetime
    sent_dttm: datetime
    products: list[DdsProduct]
    # When the names hold from (docs/spec.md §2.3): the dishes' from the order's date, the categories' from the
    # restaurant record's time. A schema 1 message (in flight across an upgrade) does not say: its names
    # yield to any dated one.
    date: datetime = datetime.min
    restaurant_update_ts: datetime = datetime.min
    schema_version: int = SCHEMA_VERSION
