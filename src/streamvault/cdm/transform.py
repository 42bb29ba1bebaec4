"""Pure CDM logic: the newest version of each order in a batch, as the rows the SQL needs."""

from __future__ import annotations

from streamvault.contracts.dds import DdsOrderMessage
from streamvault.db.arrays import array_literal
from streamvault.hashing import HashKey
from streamvault.runtime.stage import strict_decoder

decode = strict_decoder(DdsOrderMessage, "DDS message")


def newest_versions(messages: list[DdsOrderMessage]) -> list[DdsOrderMessage]:
    """Within one batch only each order's newest version matters: the older ones' effects cancel out."""
    newest: dict = {}
    for message in messages:
        seen = newest.get(message.order_id)
        if seen is None or (message.update_ts, message.sent_dttm) > (seen.update_ts, seen.sent_dttm):
            newest[message.order_id] = message
    return list(newest.values())


def order_row(message: DdsOrderMessage) -> tuple:
    return (message.order_id, message.user_id, message.update_ts, message.sent_dttm,
            message.status == "CLOSED", array_literal({p.product_id for p in message.products}),
            array_literal({p.category_id for p in message.products}))


def newest_names(messages: list[DdsOrderMessage]) -> tuple[list[tuple], list[tuple]]:
    """(id, name, effective time) per dish and per category: the batch's newest name of each (docs/spec.md §2.3).
    A dish's name holds from the order's date, a category's from the restaurant record's time; of two
    names at one time the greater wins, as in names.sql."""
    dishes: dict = {}
    categories: dict = {}
    for message in messages:
        for product in message.products:
            _keep_newest(dishes, product.product_id, (message.date, product.name))
            _keep_newest(categories, product.category_id, (message.restaurant_update_ts, product.category_name))
    return _rows(dishes), _rows(categories)


def _keep_newest(newest: dict, key: HashKey, candidate: tuple) -> None:
    seen = newest.get(key)
    if seen is None or candidate > seen:
        newest[key] = candidate


def _rows(newest: dict) -> list[tuple]:
    return [(key, name, effective) for key, (effective, name) in newest.items()]

