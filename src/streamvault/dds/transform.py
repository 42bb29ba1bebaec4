"""Pure DDS logic: an STG order version -> Data Vault rows, and which satellite rows are new."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, partial
from operator import itemgetter
from typing import NamedTuple

from streamvault.contracts.dds import DdsOrderMessage, DdsProduct
from streamvault.contracts.stg import StgOrderMessage
from streamvault.dds import model
from streamvault.hashing import HashKey, hash_diff, hash_key
from streamvault.runtime.stage import strict_decoder

decode = strict_decoder(StgOrderMessage, "STG message")
_effective = itemgetter(0)

# A version's place in the source's order (docs/spec.md §3): its effective time, then, for order versions, its
# sent_dttm; a name has no sent time and takes NEVER.
Moment = tuple[datetime, datetime]
NEVER = datetime(1, 1, 1)


class Version(NamedTuple):
    """A satellite key's attributes valid from `effective`: seen in a message, or stored as a row."""

    effective: Moment
    hashdiff: HashKey
    attributes: tuple


# Version((effective, hashdiff, attributes)) without the NamedTuple constructor's Python-level call:
# vault_rows builds several per order.
_version = partial(tuple.__new__, Version)


@dataclass
class VaultRows:
    sets: dict[model.SetTable, dict[HashKey, tuple]]
    # Per satellite, every version of every key seen in the batch (a popular dish: in almost every order).
    versions: dict[model.Satellite, dict[HashKey, list[Version]]]
    outputs: list[tuple[bytes, DdsOrderMessage]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Named:
    """A user or a restaurant under one name: its hub row and its name's satellite values."""

    key: HashKey
    hub: tuple
    hashdiff: HashKey
    attributes: tuple


@dataclass(frozen=True, slots=True)
class _Dish:
    """What one menu item of one restaurant adds to the vault besides its order."""

    product: HashKey
    h_product: tuple
    h_category: tuple
    l_product_restaurant: tuple
    l_product_category: tuple
    name: tuple
    name_hashdiff: HashKey
    message: DdsProduct


# Users, restaurants and dishes recur in almost every batch: their keys, rows and hashdiffs are computed once.
# Sized for the recent working set, not for all of history: every rename adds an entry that never recurs,
# so with 65,536 entries a cache could keep growing through hours of a stream (~100 MiB at most); a miss
# costs a few microseconds of hashing. At most ~0.5 KiB a user, ~1.5 KiB a dish: under 10 MiB in all.
_RECENT = 4096


@lru_cache(maxsize=_RECENT)
def _user(user_id: str, name: str, login: str) -> _Named:
    key = hash_key("user", user_id)
    return _Named(key, (key, user_id), hash_diff(model.S_USER_NAMES.name, name, login), (name, login))


@lru_cache(maxsize=_RECENT)
def _restaurant(restaurant_id: str, name: str) -> _Named:
    key = hash_key("restaurant", restaurant_id)
    return _Named(key, (key, restaurant_id), hash_diff(model.S_RESTAURANT_NAMES.name, name), (name,))


@lru_cache(maxsize=_RECENT)
def _dish(item_id: str, name: str, category: str, restaurant_id: str) -> _Dish:
    product, category_key = hash_key("product", item_id), hash_key("category", category)
    product_restaurant = hash_key("product_restaurant", item_id, restaurant_id)
    product_category = hash_key("product_category", item_id, category)
    return _Dish(product, (product, item_id), (category_key, category),
                 (product_restaurant, product, hash_key("restaurant", restaurant_id)),
                 (product_category, product, category_key), (name,), hash_diff(model.S_PRODUCT_NAMES.name, name),
                 DdsProduct(product, name, category_key, category))


_status_hashdiff = lru_cache(maxsize=64)(partial(hash_diff, model.S_ORDER_STATUS.name))


def vault_rows(messages: list[StgOrderMessage]) -> VaultRows:
    """Hub and link rows of a batch, each once, and every satellite version seen. The hot path of DDS:
    plain dicts, and what recurs (users, restaurants, dishes) comes from the caches above."""
    sets: dict[model.SetTable, dict[HashKey, tuple]] = {table: {} for table in model.SET_TABLES}
    versions: dict[model.Satellite, dict[HashKey, list[Version]]] = {sat: defaultdict(list) for sat in model.SATELLITES}
    rows = VaultRows(sets, versions)
    h_order, h_user, h_restaurant = sets[model.H_ORDER], sets[model.H_USER], sets[model.H_RESTAURANT]
    h_product, h_category = sets[model.H_PRODUCT], sets[model.H_CATEGORY]
    l_order_user, l_order_product = sets[model.L_ORDER_USER], sets[model.L_ORDER_PRODUCT]
    l_product_restaurant, l_product_category = sets[model.L_PRODUCT_RESTAURANT], sets[model.L_PRODUCT_CATEGORY]
    user_names, restaurant_names = versions[model.S_USER_NAMES], versions[model.S_RESTAURANT_NAMES]
    product_names = versions[model.S_PRODUCT_NAMES]
    order_cost, order_status = versions[model.S_ORDER_COST], versions[model.S_ORDER_STATUS]

    for message in messages:
        p = message.payload
        user = _user(p.user.id, p.user.name, p.user.login)
        restaurant = _restaurant(p.restaurant.id, p.restaurant.name)
        order = hash_key("order", p.id)
        h_order[order] = (order, p.id, p.date)
        h_user[user.key] = user.hub
        h_restaurant[restaurant.key] = restaurant.hub
        link = hash_key("order_user", p.id, p.user.id)
        l_order_user[link] = (link, order, user.key)
        user_names[user.key].append(_version(((p.user.update_ts, NEVER), user.hashdiff, user.attributes)))
        restaurant_names[restaurant.key].append(
            _version(((p.restaurant.update_ts, NEVER), restaurant.hashdiff, restaurant.attributes)))
        moment = (p.update_ts, p.sent_dttm)
        order_cost[order].append(_version((
            moment, hash_diff(model.S_ORDER_COST.name, p.cost, p.payment), (p.cost, p.payment))))
        order_status[order].append(_version((moment, _status_hashdiff(p.status), (p.status,))))
        products: dict[HashKey, DdsProduct] = {}
        placed = (p.date, NEVER)  # when every dish name of the order holds from (docs/spec.md §2.3)
        for item in p.products:
            dish = _dish(item.id, item.name, item.category, p.restaurant.id)
            h_product[dish.product] = dish.h_product
            h_category[dish.h_category[0]] = dish.h_category
            l_product_restaurant[dish.l_product_restaurant[0]] = dish.l_product_restaurant
            l_product_category[dish.l_product_category[0]] = dish.l_product_category
            link = hash_key("order_product", p.id, item.id)
            l_order_product[link] = (link, order, dish.product)
            product_names[dish.product].append(_version((placed, dish.name_hashdiff, dish.name)))
            products.setdefault(dish.product, dish.message)
        rows.outputs.append((p.user.id.encode(), DdsOrderMessage(
            order_id=order, user_id=user.key, status=p.status, update_ts=p.update_ts, sent_dttm=p.sent_dttm,
            date=p.date, restaurant_update_ts=p.restaurant.update_ts, products=list(products.values()))))
    return rows


def new_satellite_rows(history: list[Version], watermark: Moment | None, seen: list[Version]
                       ) -> tuple[list[Version], Moment | None]:
    """Rows to insert for one key, and the watermark to remember: the newest effective time seen, or
    None when the newest row records it already.

    A row is added only when its attributes differ from the row before it in effective time. A late,
    older version never becomes current: if it would, the attributes that were current at the
    watermark are written again at the watermark's time. Replays add nothing.
    """
    seen = sorted(seen, key=_effective)  # stable: of two versions at one time, the first seen stays
    latest = max(history, key=_effective) if history else None
    if latest is not None and (watermark is None or latest.effective > watermark):
        watermark = latest.effective
    if watermark is None or seen[0].effective > watermark:
        added = _newer_rows(latest, seen)
        newest_row = added[-1] if added else latest
        return added, _beyond(seen[-1].effective, newest_row)
    rows = sorted(history, key=_effective)
    times = [r.effective for r in rows]
    added: list[Version] = []

    def insert(row: Version) -> None:
        index = bisect.bisect(times, row.effective)
        times.insert(index, row.effective)
        rows.insert(index, row)
        added.append(row)

    for version in seen:
        index = bisect.bisect_left(times, version.effective)
        if index < len(times) and times[index] == version.effective:
            continue  # this version is recorded already
        if watermark is None or version.effective > watermark:
            if not rows or rows[-1].hashdiff != version.hashdiff:
                insert(version)
            watermark = version.effective
            continue
        before = rows[index - 1] if index > 0 else None
        if before is not None and before.hashdiff == version.hashdiff:
            continue
        current = rows[-1] if rows else None
        insert(version)
        if current is not None and rows[-1] is version and version.effective < watermark:
            insert(Version(watermark, current.hashdiff, current.attributes))
    return added, _beyond(watermark, rows[-1] if rows else None)


def _beyond(watermark: Moment | None, newest_row: Version | None) -> Moment | None:
    """The watermark, if it says more than the newest row (a newer version that added no row)."""
    if watermark is None or (newest_row is not None and newest_row.effective >= watermark):
        return None
    return watermark


def _newer_rows(current: Version | None, seen: list[Version]) -> list[Version]:
    """Versions all newer than anything recorded (the usual case: every new order, every unchanged
    name): one row per change, in effective order."""
    added: list[Version] = []
    for version in seen:
        if current is None or (current.hashdiff != version.hashdiff and current.effective != version.effective):
            added.append(version)
            current = version
    return added
