"""docs/datalens.md, followed as a DataLens user would: the fields its table names and the SQL it gives
to paste, run over marts where dishes of three restaurants share a name, show what docs/spec.md §2.4
means — one bar per dish — and nothing merged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from psycopg import sql

from marts import CATEGORIES, TWIN_DISHES, Marts, spec_chart
from streamvault.dashboard.charts import CHARTS
from streamvault.testing.support import pg_connect

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "datalens.md").read_text()
# | 3. bar «title» | `cdm.view` | `dimension` | `measure` |
FIELDS = {title: (view, dimension, measure) for title, view, dimension, measure in re.findall(
    r"^\| \d\. \w+ «(.+?)» \| `cdm\.(\w+)` \| `(\w+)` \| `(\w+)` \|$", GUIDE, re.MULTILINE)}
# ```sql\n-- 3. «title»\nSELECT …;\n```
PASTED = {title: query for title, query in re.findall(r"^```sql\n-- \d\. (.+)\n(SELECT .+;)\n```$", GUIDE, re.MULTILINE)}


@pytest.fixture(scope="module")
def seeded(warehouse_env) -> dict[str, str]:
    Marts(warehouse_env).replace(products=TWIN_DISHES, categories=CATEGORIES)
    return warehouse_env


def _as_dashboard_role(env: dict[str, str], query: sql.Composable | str) -> list[tuple[str, int]]:
    """What a BI login in the role streamvault_dashboard reads (docs/datalens.md, "A read-only login")."""
    with pg_connect(env) as conn:
        conn.execute("SET ROLE streamvault_dashboard")
        return [tuple(row) for row in conn.execute(query).fetchall()]


def test_the_guide_gives_fields_and_sql_for_each_of_the_four_charts():
    assert set(FIELDS) == set(PASTED) == {chart.title["ru"] for chart in CHARTS}


@pytest.mark.parametrize("chart", CHARTS, ids=lambda chart: chart.slug)
def test_the_guides_fields_summed_as_datalens_does_give_one_item_per_dish_or_category(seeded, chart):
    view, dimension, measure = FIELDS[chart.title["ru"]]
    rows = _as_dashboard_role(seeded, sql.SQL("SELECT {d}, sum({m}) FROM {v} GROUP BY {d}").format(
        d=sql.Identifier(dimension), m=sql.Identifier(measure), v=sql.Identifier("cdm", view)))
    assert dict(rows) == spec_chart(seeded, chart.slug) and len(rows) == len(dict(rows))


@pytest.mark.parametrize("chart", CHARTS, ids=lambda chart: chart.slug)
def test_the_guides_sql_gives_the_chart_biggest_first(seeded, chart):
    expected = sorted(spec_chart(seeded, chart.slug).items(), key=lambda item: (-item[1], item[0]))
    assert _as_dashboard_role(seeded, PASTED[chart.title["ru"]]) == expected
