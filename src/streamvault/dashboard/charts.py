"""The four charts of the original DataLens dashboard (docs/spec.md §2.4): one registry for the page, the
JSON API and the Superset export, so a title or a view name is written once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["ru", "en"]
LANGS: tuple[Lang, ...] = ("ru", "en")


@dataclass(frozen=True)
class Chart:
    slug: str                                  # URL (/api/charts/<slug>) and DOM id
    kind: Literal["pie", "bar"]
    view: str                                  # the cdm view behind it (0005 migration)
    dimension: Literal["category", "product"]  # the view's column prefix
    measure: Literal["users", "orders"]        # the view's value column
    title: dict[Lang, str]

    @property
    def query_file(self) -> str:
        """The page's query, in dashboard/sql/."""
        return self.slug.replace("-", "_") + ".sql"

    @property
    def id_column(self) -> str:
        return f"{self.dimension}_id"

    @property
    def name_column(self) -> str:
        return f"{self.dimension}_name"

    @property
    def label_column(self) -> str:
        """What a chart groups by and shows: unique per item, so that no two dishes ever merge (0015 migration)."""
        return "dish_label" if self.dimension == "product" else self.name_column


CHARTS: tuple[Chart, ...] = (
    Chart("categories-by-users", "pie", "v_categories_by_users", "category", "users", {
        "ru": "Популярность категорий блюд по доле пользователей",
        "en": "Dish categories by share of users"}),
    Chart("categories-by-orders", "pie", "v_categories_by_orders", "category", "orders", {
        "ru": "Популярность категорий блюд по доле заказов",
        "en": "Dish categories by share of orders"}),
    Chart("dishes-by-users", "bar", "v_dishes_by_users", "product", "users", {
        "ru": "Популярность блюд по количеству уникальных пользователей",
        "en": "Dishes by number of unique users"}),
    Chart("dishes-by-orders", "bar", "v_dishes_by_orders", "product", "orders", {
        "ru": "Популярность блюд по количеству заказов",
        "en": "Dishes by number of orders"}),
)

BY_SLUG = {chart.slug: chart for chart in CHARTS}
