"""STG -> DDS: the course's reference shape plus what downstream needs (versions, effective times)."""

from __future__ import annotations

from datetime import datetime

from streamvault.contracts import Contract

SCHEMA_VERSION = 1


class StgRestaurant(Contract):
    id: str
    name: str
    update_ts: datetime  # the Redis record's update_ts_utc: its name and menu (categories) hold from then


class StgUser(Contract):
    id: str
    name: str
    login: str
    update_ts: datetime


class StgProduct(Contract):
    id: str
    price: float
    quantity: int
    name: str      # as ordered: it holds from the order's date (docs/spec.md §2.3)
    category: str  # from the restaurant's menu


class StgPayload(Contract):
    id: int
    date: datetime
    cost: float
    payment: float
    status: str
    update_ts: datetime
    sent_dttm: datetime
    restaurant: StgRestaurant
    user: StgUser
    products: list[StgProduct]


class StgOrderMessage(Contract):
    object_id: int
    payload: StgPayload
    object_type: str = "order"
    schema_version: int = SCHEMA_VERSION
