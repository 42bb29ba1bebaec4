"""Batches as a loader receives them, for tests that drive a stage's `load` without Kafka."""

from __future__ import annotations

from datetime import datetime

from streamvault.contracts.stg import StgOrderMessage, StgPayload, StgProduct, StgRestaurant, StgUser
from streamvault.runtime.stage import Record


def stg_orders(count: int, first_id: int, update_ts: datetime) -> list[Record[StgOrderMessage]]:
    """Orders of a few users, restaurants and dishes, as STG sends them."""
    placed = datetime(2024, 3, 1, 9)
    return [Record(StgOrderMessage(object_id=order, payload=StgPayload(
        id=order, date=placed, cost=10.0, payment=10.0, status="CLOSED" if order % 2 else "CANCELLED",
        update_ts=update_ts, sent_dttm=update_ts,
        restaurant=StgRestaurant(id=f"r{order % 3}", name=f"Ресторан {order % 3}", update_ts=placed),
        user=StgUser(id=f"u{order % 7}", name=f"Имя {order % 7}", login=f"login{order % 7}", update_ts=placed),
        products=[StgProduct(id=f"d{order % 5}", price=5.0, quantity=2, name=f"Суп {order % 5}",
                             category="Супы")])),
        None) for order in range(first_id, first_id + count)]
