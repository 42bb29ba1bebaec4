"""The source system's contracts (SPEC §1): fixed, not ours. Validation here decides what is "bad input"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from streamvault.contracts import Contract

EntityId = Annotated[str, Meta(pattern=r"^[0-9a-f]{24}$")]
ItemId = Annotated[str, Meta(min_length=1, max_length=64)]
Name = Annotated[str, Meta(min_length=1, max_length=256)]
Amount = Annotated[float, Meta(ge=0, le=1e12)]
OrderStatus = Literal["OPEN", "COOKING", "DELIVERING", "CLOSED", "CANCELLED"]

MAX_MESSAGE_BYTES = 1_048_576


class Ref(Contract):
    id: EntityId


class OrderItem(Contract):
    id: ItemId
    name: Name
    price: Amount
    quantity: Annotated[int, Meta(gt=0, le=10_000)]


class StatusChange(Contract):
    status: OrderStatus
    dttm: datetime


class OrderPayload(Contract):
    restaurant: Ref
    user: Ref
    date: datetime
    order_items: Annotated[list[OrderItem], Meta(min_length=1, max_length=1_000)]
    bonus_payment: Amount
    cost: Amount
    payment: Amount
    bonus_grant: Amount
    statuses: Annotated[list[StatusChange], Meta(min_length=1, max_length=100)]
    final_status: Literal["CLOSED", "CANCELLED"]
    update_ts: datetime


class SourceEnvelope(Contract):
    """What every source object has; `payload` stays raw until its type is known."""

    object_id: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    object_type: Annotated[str, Meta(min_length=1, max_length=64)]
    sent_dttm: datetime
    payload: msgspec.Raw


class SourceOrder(Contract):
    object_id: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    object_type: Literal["order"]
    sent_dttm: datetime
    payload: OrderPayload


class MenuItem(Contract):
    id: ItemId = msgspec.field(name="_id")
    name: Name
    price: Amount
    category: Name


class User(Contract):
    """Redis value under the user's `_id`."""

    id: EntityId = msgspec.field(name="_id")
    name: Name
    login: Name
    update_ts_utc: datetime


class Restaurant(Contract):
    """Redis value under the restaurant's `_id`; the only source of a dish's category."""

    id: EntityId = msgspec.field(name="_id")
    name: Name
    update_ts_utc: datetime
    menu: list[MenuItem]
