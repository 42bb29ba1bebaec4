"""Pure DDS logic: an STG order version -> Data Vault rows, and which satellite rows are new."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import msgspec

from streamvault.contracts.dds import DdsOrderMessage, DdsProduct
from streamvault.contracts.stg import StgOrderMessage
from streamvault.dds import model
from streamvault.hashing import hash_diff, hash_key
from streamvault.runtime.stage import Rejected

_decoder = msgspec.json.Decoder(StgOrderMessage)


def decode(raw: bytes) -> StgOrderMessage:
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise Rejected(f"invalid STG message: {exc}") from None


@dataclass(frozen=True, slots=True)
class Observation:
    """One version's attributes of a satellite key, valid from `effective`."""

    key: UUID
    effective: datetime
    hashdiff: UUID
    attributes: tuple


@dataclass
class VaultRows:
    sets: dict[model.SetTable, dict[UUID, tuple]] = field(default_factory=lambda: defaultdict(dict))
    # Keyed by (key, effective time, hashdiff): a popular dish is observed in every order that has it.
    observations: dict[model.Satellite, dict[tuple, Observation]] = field(default_factory=lambda: defaultdict(dict))
    outputs: list[tuple[bytes, DdsOrderMessage]] = field(default_factory=list)

    def add(self, table: model.SetTable, *row) -> UUID:
        self.sets[table].setdefault(row[0], row)
        return row[0]

    def observe(self, sat: model.Satellite, key: UUID, effective: datetime, *attributes) -> None:
        hashdiff = hash_diff(sat.name, *attributes)
        seen = self.observations[sat]
        if (key, effective, hashdiff) not in seen:
            seen[key, effective, hashdiff] = Observation(key, effective, hashdiff, attributes)


def vault_rows(messages: list[StgOrderMessage]) -> VaultRows:
    rows = VaultRows()
    for message in messages:
        p = message.payload
        order = rows.add(model.H_ORDER, hash_key("order", p.id), p.id, p.date)
        user = rows.add(model.H_USER, hash_key("user", p.user.id), p.user.id)
        restaurant = rows.add(model.H_RESTAURANT, hash_key("restaurant", p.restaurant.id), p.restaurant.id)
        rows.add(model.L_ORDER_USER, hash_key("order_user", p.id, p.user.id), order, user)
        rows.observe(model.S_USER_NAMES, user, p.user.update_ts, p.user.name, p.user.login)
        rows.observe(model.S_RESTAURANT_NAMES, restaurant, p.restaurant.update_ts, p.restaurant.name)
        rows.observe(model.S_ORDER_COST, order, p.update_ts, p.cost, p.payment)
        rows.observe(model.S_ORDER_STATUS, order, p.update_ts, p.status)
        products: dict[UUID, DdsProduct] = {}
        for item in p.products:
            product = rows.add(model.H_PRODUCT, hash_key("product", item.id), item.id)
            category = rows.add(model.H_CATEGORY, hash_key("category", item.category), item.category)
            rows.add(model.L_ORDER_PRODUCT, hash_key("order_product", p.id, item.id), order, product)
            rows.add(model.L_PRODUCT_RESTAURANT, hash_key("product_restaurant", item.id, p.restaurant.id),
                     product, restaurant)
            rows.add(model.L_PRODUCT_CATEGORY, hash_key("product_category", item.id, item.category),
                     product, category)
            rows.observe(model.S_PRODUCT_NAMES, product, p.update_ts, item.name)
            products.setdefault(product, DdsProduct(product, item.name, category, item.category))
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
    rows = sorted(history, key=lambda r: r.effective)
    times = [r.effective for r in rows]
    if watermark is None and rows:
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
