"""DDS -> CDM: one order version with the hub keys the marts are keyed by."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from msgspec import Struct

SCHEMA_VERSION = 1


class DdsProduct(Struct):
    product_id: UUID   # h_product_pk
    name: str
    category_id: UUID  # h_category_pk
    category_name: str


class DdsOrderMessage(Struct):
    order_id: UUID     # h_order_pk
    user_id: UUID      # h_user_pk
    status: str
    update_ts: datetime
    sent_dttm: datetime
    products: list[DdsProduct]
    schema_version: int = SCHEMA_VERSION
