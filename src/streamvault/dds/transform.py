"""Pure DDS logic: an STG order version -> Data Vault rows, and which satellite rows are new."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from streamvault.contracts.dds import DdsOrderMessage, DdsProduct
from streamvault.contracts.stg import StgOrderMessage
from streamvault.dds import model
from streamvault.hashing import hash_diff, hash_key
from streamvault.runtime.stage import strict_decoder

decode = strict_decoder(StgOrderMessage, "STG message")


@dataclass(frozen=True, slots=True)
class Observation:
    """One version's attributes of a satellite key, valid from `effective`."""

    key: UUID
    effective: datetime
    hashdiff: UUID
    attributes: tuple


@dataclass
class VaultRows:
    sets: dict[model.SetTable, dict[UUID, tuple]]
    # Keyed by (key, effective time, hashdiff): a popular dish is observed in every order that has it.
    observations: dict[model.Satellite, dict[tuple, Observation]]
    outputs: list[tuple[bytes, DdsOrderMessage]] = field(default_factory=list)


def vault_rows(messages: list[StgOrderMessage]) -> VaultRows:
    """Hub, link and satellite rows of a batch, each once. The hot path of DDS: plain dicts, no helpers."""
    sets = {table: {} for table in model.SET_TABLES}
    observations = {sat: {} for sat in model.SATELLITES}
    rows = VaultRows(sets, observations)
    h_order, h_user, h_restaurant = sets[model.H_ORDER], sets[model.H_USER], sets[model.H_RESTAURANT]
    h_product, h_category = sets[model.H_PRODUCT], sets[model.H_CATEGORY]
    l_order_user, l_order_product = sets[model.L_ORDER_USER], sets[model.L_ORDER_PRODUCT]
    l_product_restaurant, l_product_category = sets[model.L_PRODUCT_RESTAURANT], sets[model.L_PRODUCT_CATEGORY]

    def observe(sat: model.Satellite, key: UUID, effective: datetime, *attributes) -> None:
        hashdiff = hash_diff(sat.name, *attributes)
        seen = observations[sat]
        if (key, effective, hashdiff) not in seen:
            seen[key, effective, hashdiff] = Observation(key, effective, hashdiff, attributes)

    for message in messages:
        p = message.payload
        order = hash_key("order", p.id)
        user = hash_key("user", p.user.id)
        restaurant = hash_key("restaurant", p.restaurant.id)
        h_order[order] = (order, p.id, p.date)
        h_user[user] = (user, p.user.id)
        h_restaurant[restaurant] = (restaurant, p.restaurant.id)
        link = hash_key("order_user", p.id, p.user.id)
        l_order_user[link] = (link, order, user)
        observe(model.S_USER_NAMES, user, p.user.update_ts, p.user.name, p.user.login)
        observe(model.S_RESTAURANT_NAMES, restaurant, p.restaurant.update_ts, p.restaurant.name)
        observe(model.S_ORDER_COST, order, p.update_ts, p.cost, p.payment)
        observe(model.S_ORDER_STATUS, order, p.update_ts, p.status)
        products: dict[UUID, DdsProduct] = {}
        for item in p.products:
            product = hash_key("product", item.id)
            category = hash_key("category", item.category)
            h_product[product] = (product, item.id)
            h_category[category] = (category, item.category)
            link = hash_key("order_product", p.id, item.id)
            l_order_product[link] = (link, order, product)
            link = hash_key("product_restaurant", item.id, p.restaurant.id)
            l_product_restaurant[link] = (link, product, restaurant)
            link = hash_key("product_category", item.id, item.category)
            l_product_category[link] = (link, product, category)
            observe(model.S_PRODUCT_NAMES, product, p.update_ts, item.name)
            if product not in products:
                products[product] = DdsProduct(product, item.name, category, item.category)
        rows.outputs.append((p.user.id.encode(), DdsOrderMessage(
            order_id=order, user_id=user, status=p.status, update_ts=p.update_ts, sent_dttm=p.sent_dttm,
            products=list(products.values()))))
    return rows


@dataclass(frozen=True, slots=True)
class SatRow:
    effective: datetime
    hashdiff: UUID
    attributes: tuple


def new_satellite_rows(history: list[SatRow], watermark: datetime | None, observations: list[Observation]
                       ) -> tuple[list[SatRow], datetime | None]:
    """Rows to insert for one key, and its new watermark (newest effective time seen).

    A row is added only when its attributes differ from the row before it in effective time. A late,
    older version never becomes current: if it would, the attributes that were current at the
    watermark are written again at the watermark's time. Replays add nothing.
    """
    if not history and watermark is None:
        return _first_rows(observations)
    rows = sorted(history, key=lambda r: r.effective)
    times = [r.effective for r in rows]
    if rows and (watermark is None or times[-1] > watermark):
        watermark = times[-1]
    added: list[SatRow] = []

    def insert(row: SatRow) -> None:
        index = bisect.bisect(times, row.effective)
        times.insert(index, row.effective)
        rows.insert(index, row)
        added.append(row)

    for obs in sorted(observations, key=lambda o: o.effective):
        index = bisect.bisect_left(times, obs.effective)
        if index < len(times) and times[index] == obs.effective:
            continue  # this version is recorded already
        row = SatRow(obs.effective, obs.hashdiff, obs.attributes)
        if watermark is None or obs.effective > watermark:
            if not rows or rows[-1].hashdiff != obs.hashdiff:
                insert(row)
            watermark = obs.effective
            continue
        before = rows[index - 1] if index > 0 else None
        if before is not None and before.hashdiff == obs.hashdiff:
            continue
        current = rows[-1] if rows else None
        insert(row)
        if current is not None and rows[-1] is row and obs.effective < watermark:
            insert(SatRow(watermark, current.hashdiff, current.attributes))
    return added, watermark


def _first_rows(observations: list[Observation]) -> tuple[list[SatRow], datetime]:
    """A key seen for the first time (every new order): one row per change, in effective order."""
    ordered = sorted(observations, key=lambda o: o.effective)
    added: list[SatRow] = []
    for obs in ordered:
        if not added or (added[-1].hashdiff != obs.hashdiff and added[-1].effective != obs.effective):
            added.append(SatRow(obs.effective, obs.hashdiff, obs.attributes))
    return added, ordered[-1].effective
