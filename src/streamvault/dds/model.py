"""The Data Vault's tables as data, so one loader serves every hub, link and satellite."""

from __future__ import annotations

from dataclasses import dataclass


# eq=False: each table is one constant object, hashed by identity (they key dicts on the hot path).
@dataclass(frozen=True, eq=False)
class SetTable:
    """A hub or link: an insert-only set keyed by its hash key (first column)."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]  # each column's PostgreSQL type, as the loader sends it (streamvault.db.arrays)


@dataclass(frozen=True, eq=False)
class Satellite:
    name: str
    key: str
    attributes: tuple[str, ...]
    attribute_types: tuple[str, ...]
    # Orders: all versions of a key travel on one partition (messages are keyed by user), so one
    # replica writes them. Names of users' dishes and restaurants are written by every replica.
    one_partition: bool = False
    # Orders: two versions may share an update_ts (1-second resolution); the later sent is the newer
    # (docs/spec.md §3), so a row records its sent_dttm too. A name has its effective time only.
    sent_ordered: bool = False
    # Orders: a key has a handful of versions and none after the order closes, so a batch reads them all.
    # A name's key recurs in batch after batch and gains a row at every rename for as long as it lives.
    short_history: bool = False

    @property
    def hashdiff(self) -> str:
        return f"hk_{self.name.removeprefix('s_')}_hashdiff"

    @property
    def version_columns(self) -> tuple[str, ...]:
        return ("effective_dt", "sent_dttm") if self.sent_ordered else ("effective_dt",)

    @property
    def columns(self) -> tuple[str, ...]:
        """A row as the loader inserts it: key, attributes, version, hashdiff."""
        return (self.key, *self.attributes, *self.version_columns, self.hashdiff)

    @property
    def types(self) -> tuple[str, ...]:
        return ("uuid", *self.attribute_types, *("timestamp" for _ in self.version_columns), "uuid")


_LINK = ("uuid", "uuid", "uuid")
H_USER = SetTable("h_user", ("h_user_pk", "user_id"), ("uuid", "text"))
H_PRODUCT = SetTable("h_product", ("h_product_pk", "product_id"), ("uuid", "text"))
H_CATEGORY = SetTable("h_category", ("h_category_pk", "category_name"), ("uuid", "text"))
H_RESTAURANT = SetTable("h_restaurant", ("h_restaurant_pk", "restaurant_id"), ("uuid", "text"))
H_ORDER = SetTable("h_order", ("h_order_pk", "order_id", "order_dt"), ("uuid", "bigint", "timestamp"))
L_ORDER_PRODUCT = SetTable("l_order_product", ("hk_order_product_pk", "h_order_pk", "h_product_pk"), _LINK)
L_PRODUCT_RESTAURANT = SetTable("l_product_restaurant", ("hk_product_restaurant_pk", "h_product_pk", "h_restaurant_pk"),
                                _LINK)
L_PRODUCT_CATEGORY = SetTable("l_product_category", ("hk_product_category_pk", "h_product_pk", "h_category_pk"), _LINK)
L_ORDER_USER = SetTable("l_order_user", ("hk_order_user_pk", "h_order_pk", "h_user_pk"), _LINK)

# Hubs before links: the links' foreign keys need them.
SET_TABLES = (H_USER, H_PRODUCT, H_CATEGORY, H_RESTAURANT, H_ORDER,
              L_ORDER_PRODUCT, L_PRODUCT_RESTAURANT, L_PRODUCT_CATEGORY, L_ORDER_USER)

S_USER_NAMES = Satellite("s_user_names", "h_user_pk", ("username", "userlogin"), ("text", "text"))
S_PRODUCT_NAMES = Satellite("s_product_names", "h_product_pk", ("name",), ("text",))
S_RESTAURANT_NAMES = Satellite("s_restaurant_names", "h_restaurant_pk", ("name",), ("text",))
S_ORDER_COST = Satellite("s_order_cost", "h_order_pk", ("cost", "payment"), ("numeric", "numeric"),
                         one_partition=True, sent_ordered=True, short_history=True)
S_ORDER_STATUS = Satellite("s_order_status", "h_order_pk", ("status",), ("text",),
                           one_partition=True, sent_ordered=True, short_history=True)

SATELLITES = (S_USER_NAMES, S_PRODUCT_NAMES, S_RESTAURANT_NAMES, S_ORDER_COST, S_ORDER_STATUS)
