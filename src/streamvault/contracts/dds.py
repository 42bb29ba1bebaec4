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
    date: datetime                  # when the order was placed: its dishes' names hold from then
    restaurant_update_ts: datetime  # the restaurant's record: its menu's category names hold from then
    products: list[DdsProduct]
    schema_version: int = SCHEMA_VERSION
