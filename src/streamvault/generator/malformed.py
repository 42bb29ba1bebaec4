"""A catalogue of named ways a source message can be bad.

Each kind turns a valid order (as a plain dict, which it may modify) into bytes that the source
contract rejects: decoding with `SourceEnvelope`/`SourceOrder` fails, or the message is over
`MAX_MESSAGE_BYTES`, or it carries a NUL character (which PostgreSQL text/jsonb cannot store).
Awkward but legal names (quotes, HTML, SQL) are NOT here: they are valid data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import msgspec

from streamvault.contracts.source import MAX_MESSAGE_BYTES

Order = dict[str, Any]
Malform = Callable[[random.Random, Order], bytes]

CATALOGUE: dict[str, Malform] = {}


def _kind(function: Malform) -> Malform:
    CATALOGUE[function.__name__] = function
    return function


def _encode(value: Any) -> bytes:
    return msgspec.json.encode(value)


def _item(rng: random.Random, order: Order) -> dict[str, Any]:
    return rng.choice(order["payload"]["order_items"])


@_kind
def invalid_json(rng: random.Random, order: Order) -> bytes:
    raw = _encode(order)
    return raw[:rng.randint(len(raw) // 4, len(raw) - 1)]  # an object cut before its closing brace


@_kind
def json_array(rng: random.Random, order: Order) -> bytes:
    return _encode([order])


@_kind
def json_number(rng: random.Random, order: Order) -> bytes:
    return _encode(order["object_id"])


@_kind
def empty_body(rng: random.Random, order: Order) -> bytes:
    return b""


@_kind
def missing_object_id(rng: random.Random, order: Order) -> bytes:
    del order["object_id"]
    return _encode(order)


@_kind
def object_id_string(rng: random.Random, order: Order) -> bytes:
    order["object_id"] = str(order["object_id"])
    return _encode(order)


@_kind
def negative_object_id(rng: random.Random, order: Order) -> bytes:
    order["object_id"] = -order["object_id"]
    return _encode(order)


@_kind
def missing_payload(rng: random.Random, order: Order) -> bytes:
    del order["payload"]
    return _encode(order)


@_kind
def payload_not_object(rng: random.Random, order: Order) -> bytes:
    order["payload"] = rng.choice(([order["payload"]], "payload", 42, None))
    return _encode(order)


@_kind
def missing_user(rng: random.Random, order: Order) -> bytes:
    del order["payload"]["user"]
    return _encode(order)


@_kind
def missing_order_items(rng: random.Random, order: Order) -> bytes:
    del order["payload"]["order_items"]
    return _encode(order)


@_kind
def empty_order_items(rng: random.Random, order: Order) -> bytes:
    order["payload"]["order_items"] = []
    return _encode(order)


@_kind
def empty_statuses(rng: random.Random, order: Order) -> bytes:
    order["payload"]["statuses"] = []
    return _encode(order)


@_kind
def negative_quantity(rng: random.Random, order: Order) -> bytes:
    _item(rng, order)["quantity"] = -rng.randint(1, 3)
    return _encode(order)


@_kind
def zero_quantity(rng: random.Random, order: Order) -> bytes:
    _item(rng, order)["quantity"] = 0
    return _encode(order)


@_kind
def quantity_string(rng: random.Random, order: Order) -> bytes:
    item = _item(rng, order)
    item["quantity"] = str(item["quantity"])
    return _encode(order)


@_kind
def negative_price(rng: random.Random, order: Order) -> bytes:
    item = _item(rng, order)
    item["price"] = -item["price"]
    return _encode(order)


@_kind
def cost_string(rng: random.Random, order: Order) -> bytes:
    order["payload"]["cost"] = f"{order['payload']['cost']} руб."
    return _encode(order)


@_kind
def bad_restaurant_id(rng: random.Random, order: Order) -> bytes:
    restaurant = order["payload"]["restaurant"]
    restaurant["id"] = rng.choice((f"rest-{restaurant['id'][:8]}", restaurant["id"][:23], "", "null"))
    return _encode(order)


@_kind
def unknown_final_status(rng: random.Random, order: Order) -> bytes:
    order["payload"]["final_status"] = rng.choice(("DELIVERED", "closed", "ЗАКРЫТ"))
    return _encode(order)


@_kind
def bad_date(rng: random.Random, order: Order) -> bytes:
    order["payload"]["date"] = rng.choice(("2024-13-45 25:61:00", "вчера вечером", "01.03.2024 10:00", ""))
    return _encode(order)


@_kind
def huge_payload(rng: random.Random, order: Order) -> bytes:
    """Valid JSON and a valid order, but over the size limit (compresses well, so Kafka takes it)."""
    order["payload"]["comment"] = "Позвоните за час до доставки. " * (MAX_MESSAGE_BYTES // 50 + 1000)
    return _encode(order)


@_kind
def long_name(rng: random.Random, order: Order) -> bytes:
    item = _item(rng, order)
    item["name"] = (item["name"] + " ") * (257 // (len(item["name"]) + 1) + 1)
    return _encode(order)


@_kind
def nul_in_name(rng: random.Random, order: Order) -> bytes:
    item = _item(rng, order)
    cut = rng.randint(0, len(item["name"]))
    item["name"] = item["name"][:cut] + "\u0000" + item["name"][cut:]
    return _encode(order)


@_kind
def invalid_utf8(rng: random.Random, order: Order) -> bytes:
    name = _encode(_item(rng, order)["name"])[1:-1]  # as it appears inside the JSON text
    return _encode(order).replace(name, name + b"\xff", 1)  # 0xFF never occurs in UTF-8
