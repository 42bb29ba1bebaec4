"""`streamvault export superset` in a real Apache Superset (6.1.0, .tools/superset from
scripts/install-superset.sh): imported the documented way (docs/superset.md), logging in as the documented
reader, each chart's data as Superset's own chart data API answers it equals SQL over the marts."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from psycopg import sql

from marts import CATEGORIES, TWIN_DISHES, Marts, spec_chart
from streamvault.dashboard.charts import BY_SLUG
from streamvault.testing import real_superset
from streamvault.testing.support import cli, pg_connect

DOCS = Path(__file__).resolve().parents[2] / "docs" / "superset.md"
@pytest.fixture(scope="module")
def reader(warehouse_env):
    """The login docs/superset.md creates, by its very line (under a name of this run: roles are cluster-wide)."""
    [line] = re.findall(r"^CREATE ROLE superset_reader .*;$", DOCS.read_text(), re.MULTILINE)
    name, password = f"superset_reader_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    statement = line.replace("superset_reader", name).replace("'change-me'", f"'{password}'")
    with pg_connect(warehouse_env, autocommit=True) as conn:
        conn.execute(statement)
        yield name, password
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def superset_answers(warehouse_env, reader, tmp_path_factory) -> dict:
    """Marts with dishes that share a name across restaurants, exported, imported, every chart's data."""
    assert real_superset.installed(), "Superset is missing: run scripts/install-superset.sh (`make test` does)"
    Marts(warehouse_env).replace(products=TWIN_DISHES, categories=CATEGORIES)
    workdir = tmp_path_factory.mktemp("superset")
    exported = cli("export", "superset", "--output", str(workdir / "bundle.zip"), "--db-user", reader[0],
                   env=warehouse_env)
    assert exported.returncode == 0, exported.stderr
    return real_superset.import_and_fetch(workdir / "bundle.zip",
                                          {f"databases/{warehouse_env['PG_WAREHOUSE_DBNAME']}.yaml": reader[1]}, workdir)


def _chart_rows(answers: dict, slug: str) -> list[tuple[str, int]]:
    """The rows Superset's chart data API gave for the chart, found by its title."""
    [answer] = [answer for answer in answers["charts"].values() if answer["slice_name"] == BY_SLUG[slug].title["ru"]]
    assert answer["status"] == 200, answer["body"]
    [result] = answer["body"]["result"]
    label, measure = result["colnames"]
    return [(row[label], row[measure]) for row in result["data"]]


def test_the_bundle_imports_into_a_fresh_superset_through_its_api(superset_answers):
    assert superset_answers["import"] == {"status": 200, "body": {"message": "OK"}}
    assert len(superset_answers["charts"]) == 4


@pytest.mark.parametrize("slug", ["dishes-by-users", "dishes-by-orders"])
def test_each_dish_bar_is_one_dish_with_its_own_count_biggest_first(superset_answers, warehouse_env, slug):
    """Three dishes named «Борщ» in three restaurants: a chart over the name would show one bar with the sum."""
    expected = spec_chart(warehouse_env, slug)
    rows = _chart_rows(superset_answers, slug)
    assert dict(rows) == expected and len(rows) == len(expected)
    assert [value for _, value in rows] == sorted(expected.values(), reverse=True)


@pytest.mark.parametrize("slug", ["categories-by-users", "categories-by-orders"])
def test_each_category_pie_equals_the_marts(superset_answers, warehouse_env, slug):
    rows = _chart_rows(superset_answers, slug)
    assert dict(rows) == spec_chart(warehouse_env, slug) and len(rows) == len(set(rows))
