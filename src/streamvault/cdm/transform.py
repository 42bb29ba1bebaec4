"""Pure CDM logic: the newest version of each order in a batch, as the rows the SQL needs."""

from __future__ import annotations

from streamvault.contracts.dds import DdsOrderMessage
from streamvault.db.sqlfiles import uuid_array
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
            message.status == "CLOSED", uuid_array({p.product_id for p in message.products}),
            uuid_array({p.category_id for p in message.products}))


def newest_product_names(messages: list[DdsOrderMessage]) -> list[tuple]:
    """(product_id, name, effective time): per dish, the name of the newest version in the batch."""
    newest: dict = {}
    for message in messages:
        for product in message.products:
            candidate = (message.update_ts, product.name)
            seen = newest.get(product.product_id)
            if seen is None or candidate > seen:
                newest[product.product_id] = candidate
    return [(product_id, name, effective) for product_id, (effective, name) in newest.items()]

