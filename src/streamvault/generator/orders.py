"""Source objects for the order topic (docs/spec.md §1.1): orders, their later versions, other object types."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import msgspec

from streamvault.contracts.source import OrderItem, OrderPayload, Ref, SourceOrder, StatusChange
from streamvault.generator import names
from streamvault.generator.model import fmt
from streamvault.generator.world import Dish, money

# Status after the previous one: seconds, (min, max). A cancellation can cut the chain at any step.
_STEPS = (("COOKING", (60, 300)), ("DELIVERING", (600, 2100)), ("CLOSED", (600, 2700)))
_CANCEL_AFTER = (60, 1200)
_QUANTITIES, _QUANTITY_WEIGHTS = (1, 2, 3, 4), (70, 18, 8, 4)


def _status_chain(rng: random.Random, end: datetime, cancelled: bool) -> list[tuple[str, datetime]]:
    """Oldest first, the last status at `end`."""
    steps = [*_STEPS[:rng.randint(0, 2)], ("CANCELLED", _CANCEL_AFTER)] if cancelled else list(_STEPS)
    durations = [rng.randint(*bounds) for _, bounds in steps]
    moment = end - timedelta(seconds=sum(durations))
    chain = [("OPEN", moment)]
    for (status, _), seconds in zip(steps, durations, strict=True):
        moment += timedelta(seconds=seconds)
        chain.append((status, moment))
    return chain


def quantities(rng: random.Random, dishes: list[Dish]) -> list[tuple[Dish, int]]:
    return [(dish, rng.choices(_QUANTITIES, _QUANTITY_WEIGHTS)[0]) for dish in dishes]


def new_order(rng: random.Random, object_id: int, user_id: str, restaurant_id: str,
              items: list[tuple[Dish, int]], cancelled: bool, sent_at: datetime) -> SourceOrder:
    """The first version, sent when the order reached its final status. Item names and prices
    are the menu's at this moment; later versions keep them (the source snapshots them)."""
    update_ts = sent_at - timedelta(seconds=rng.randint(0, 5))
    chain = _status_chain(rng, update_ts, cancelled)
    cost = sum(dish.price * quantity for dish, quantity in items)
    bonus_payment = min(cost, rng.randint(1, 50) * 1000) if rng.random() < 0.2 else 0
    payment = cost - bonus_payment
    bonus_grant = 0 if bonus_payment else payment // 20
    # Timestamps: the contract types them as datetime for decoding; on the wire they are docs/spec.md's text form.
    payload = OrderPayload(
        restaurant=Ref(restaurant_id),
        user=Ref(user_id),
        date=fmt(chain[0][1]),  # type: ignore[arg-type]
        order_items=[OrderItem(id=dish.id, name=dish.name, price=money(dish.price), quantity=quantity)
                     for dish, quantity in items],
        bonus_payment=money(bonus_payment),
        cost=money(cost),
        payment=money(payment),
        bonus_grant=money(bonus_grant),
        statuses=[StatusChange(status, fmt(moment)) for status, moment in reversed(chain)],  # type: ignore[arg-type]
        final_status=chain[-1][0],  # type: ignore[arg-type]
        update_ts=fmt(update_ts),  # type: ignore[arg-type]
    )
    return SourceOrder(object_id, "order", fmt(sent_at), payload)  # type: ignore[arg-type]


def flipped(order: SourceOrder, at: datetime, sent_at: datetime) -> SourceOrder:
    """A newer version: CLOSED -> CANCELLED (refund) or CANCELLED -> CLOSED (reinstated)."""
    status = "CANCELLED" if order.payload.final_status == "CLOSED" else "CLOSED"
    payload = msgspec.structs.replace(
        order.payload, statuses=[StatusChange(status, fmt(at)), *order.payload.statuses],  # type: ignore[arg-type]
        final_status=status, update_ts=fmt(at))
    return msgspec.structs.replace(order, sent_dttm=fmt(sent_at), payload=payload)


def review(rng: random.Random, object_id: int, user_id: str, restaurant_id: str, sent_at: datetime) -> bytes:
    """A non-order object sharing the topic: stored raw by STG, never loaded further."""
    return msgspec.json.encode({
        "object_id": object_id,
        "object_type": "restaurant_review",
        "sent_dttm": fmt(sent_at),
        "payload": {"restaurant": {"id": restaurant_id}, "user": {"id": user_id},
                    "rating": rng.randint(1, 5), "text": rng.choice(names.REVIEW_TEXTS)},
    })
