"""The source system's contracts (docs/spec.md §1): fixed, not ours. Validation here decides what is "bad input".

Times leave this module as naive UTC (see `utc`), so every layer compares instants, never wall clocks.
"""

from __future__ import annotations

from datetime import UTC, datetime
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


def utc(moment: datetime) -> datetime:
    """docs/spec.md's times are UTC: a time without an offset is UTC already; one with an offset (`Z`, `+03:00`)
    becomes the same instant in UTC. Naive either way, like PostgreSQL's `timestamp` columns, which would
    otherwise drop the offset and keep the wall clock. (The generator builds these contracts with docs/spec.md's
    text times to encode them: text passes unchanged.)"""
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


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

    def __post_init__(self) -> None:
        self.dttm = utc(self.dttm)


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

    def __post_init__(self) -> None:
        self.date = utc(self.date)
        self.update_ts = utc(self.update_ts)


class SourceEnvelope(Contract):
    """What every source object has; `payload` stays raw until its type is known."""

    object_id: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    object_type: Annotated[str, Meta(min_length=1, max_length=64)]
    sent_dttm: datetime
    payload: msgspec.Raw

    def __post_init__(self) -> None:
        self.sent_dttm = utc(self.sent_dttm)


class SourceOrder(Contract):
    object_id: Annotated[int, Meta(ge=0, le=2**63 - 1)]
    object_type: Literal["order"]
    sent_dttm: datetime
    payload: OrderPayload

    def __post_init__(self) -> None:
        self.sent_dttm = utc(self.sent_dttm)


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

    def __post_init__(self) -> None:
        self.update_ts_utc = utc(self.update_ts_utc)


class Restaurant(Contract):
    """Redis value under the restaurant's `_id`; the only source of a dish's category."""

    id: EntityId = msgspec.field(name="_id")
    name: Name
    update_ts_utc: datetime
    menu: list[MenuItem]

    def __post_init__(self) -> None:
        self.update_ts_utc = utc(self.update_ts_utc)
