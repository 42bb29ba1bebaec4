"""Pure STG logic: validate a source message, and enrich an order with reference data."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime

import msgspec

from streamvault.contracts.source import MAX_MESSAGE_BYTES, OrderPayload, Restaurant, SourceEnvelope, SourceOrder, User
from streamvault.contracts.stg import StgOrderMessage, StgPayload, StgProduct, StgRestaurant, StgUser
from streamvault.runtime.stage import Rejected

_envelope = msgspec.json.Decoder(SourceEnvelope)
_payload = msgspec.json.Decoder(OrderPayload)
NUL_REASON = "contains a NUL character (\\u0000), which PostgreSQL text cannot store"


@dataclass(frozen=True, slots=True)
class SourceObject:
    envelope: SourceEnvelope
    payload_json: str          # the payload exactly as sent: stored raw in stg.order_events
    order: SourceOrder | None  # None for object types other than "order"


def decode(raw: bytes) -> SourceObject:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise Rejected(f"message of {len(raw)} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit")
    if b"\\u0000" in raw:
        raise Rejected(NUL_REASON)
    try:
        return _decode(raw)
    except msgspec.DecodeError as exc:
        raise Rejected(f"invalid source message: {exc}") from None
    except UnicodeDecodeError as exc:
        raise Rejected(f"invalid source message: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _decode(raw: bytes) -> SourceObject:
    envelope = _envelope.decode(raw)
    payload_json = bytes(envelope.payload).decode()  # the envelope scan does not check UTF-8; this does
    if envelope.object_type != "order":
        return SourceObject(envelope, payload_json, None)
    try:
        payload = _payload.decode(envelope.payload)
    except msgspec.ValidationError as exc:
        raise Rejected(f"invalid order payload: {exc}") from None
    return SourceObject(envelope, payload_json, SourceOrder(envelope.object_id, "order", envelope.sent_dttm, payload))


@dataclass(frozen=True, slots=True)
class KnownRestaurant:
    """What an order needs of a restaurant record. Menus only grow in a long run, so of each dish only its
    category is kept, indexed by id once when the record is fetched rather than in every batch."""

    id: str
    name: str
    update_ts_utc: datetime
    categories: dict[str, str]  # menu item id -> category (a handful of categories: each string is kept once)

    @classmethod
    def of(cls, restaurant: Restaurant) -> KnownRestaurant:
        return cls(restaurant.id, restaurant.name, restaurant.update_ts_utc,
                   {item.id: sys.intern(item.category) for item in restaurant.menu})


def enrich(order: SourceOrder, users: dict[str, User], restaurants: dict[str, KnownRestaurant],
           malformed: dict[str, str]) -> StgOrderMessage | list[str]:
    """The downstream message, or what is missing or malformed in Redis (the order is then parked)."""
    payload = order.payload
    user = users.get(payload.user.id)
    restaurant = restaurants.get(payload.restaurant.id)
    missing = [] if user else [f"user:{payload.user.id}"]
    if restaurant is None:
        missing.append(f"restaurant:{payload.restaurant.id}")
    else:
        categories = restaurant.categories
        missing += [f"menu_item:{item.id}" for item in payload.order_items if item.id not in categories]
    if missing:
        return [malformed.get(reference, reference) for reference in missing]
    return StgOrderMessage(
        object_id=order.object_id,
        payload=StgPayload(
            id=order.object_id, date=payload.date, cost=payload.cost, payment=payload.payment,
            status=payload.final_status, update_ts=payload.update_ts, sent_dttm=order.sent_dttm,
            restaurant=StgRestaurant(restaurant.id, restaurant.name, restaurant.update_ts_utc),
            user=StgUser(user.id, user.name, user.login, user.update_ts_utc),
            products=[StgProduct(item.id, item.price, item.quantity, item.name, categories[item.id])
                      for item in payload.order_items],
        ),
    )
