"""`streamvault export superset` writes an importable Superset bundle whose datasets are the cdm views.

The bundle's YAML is written in YAML's JSON-compatible form, so `json` is a strict parser for it here.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import PurePosixPath

import pytest

from streamvault.testing.support import cli, pg_connect

TITLES = {
    "categories-by-users": "Популярность категорий блюд по доле пользователей",
    "categories-by-orders": "Популярность категорий блюд по доле заказов",
    "dishes-by-users": "Популярность блюд по количеству уникальных пользователей",
    "dishes-by-orders": "Популярность блюд по количеству заказов",
}


@pytest.fixture(scope="module")
def bundle(warehouse_env, tmp_path_factory) -> dict[str, dict]:
    """The exported files by path below the bundle's single top folder, each parsed."""
    output = tmp_path_factory.mktemp("superset") / "bundle.zip"
    result = cli("export", "superset", "--output", str(output), "--db-user", "bi_reader", env=warehouse_env)
    assert result.returncode == 0, result.stderr
    raw = output.read_bytes()
    assert warehouse_env["PG_WAREHOUSE_PASSWORD"].encode() not in raw
    with zipfile.ZipFile(output) as archive:
        paths = [PurePosixPath(name) for name in archive.namelist()]
        assert len({path.parts[0] for path in paths}) == 1, "one top folder, as Superset's import expects"
        return {str(PurePosixPath(*path.parts[1:])): json.loads(archive.read(str(path))) for path in paths}


def test_the_bundle_has_superset_import_layout(bundle, warehouse_env):
    dbname = warehouse_env["PG_WAREHOUSE_DBNAME"]
    assert set(bundle) == {
        "metadata.yaml", f"databases/{dbname}.yaml", "dashboards/streamvault.yaml",
        *(f"datasets/{dbname}/{view}.yaml" for view in
          ("v_categories_by_users", "v_categories_by_orders", "v_dishes_by_users", "v_dishes_by_orders")),
        *(f"charts/{slug}.yaml" for slug in TITLES),
    }
    assert bundle["metadata.yaml"]["type"] == "Dashboard"
    assert all(content["version"] == "1.0.0" for content in bundle.values())


def test_superset_logs_in_as_the_given_login_and_is_asked_for_the_password(bundle, warehouse_env):
    env = warehouse_env
    database = bundle[f"databases/{env['PG_WAREHOUSE_DBNAME']}.yaml"]
    assert database["sqlalchemy_uri"] == (f"postgresql+psycopg2://bi_reader:XXXXXXXXXX@{env['PG_WAREHOUSE_HOST']}:"
                                          f"{env['PG_WAREHOUSE_PORT']}/{env['PG_WAREHOUSE_DBNAME']}")
    assert database["allow_dml"] is False


def test_each_dataset_is_a_cdm_view_the_read_only_role_may_read(bundle, warehouse_env):
    database_uuid = next(c["uuid"] for path, c in bundle.items() if path.startswith("databases/"))
    datasets = [c for path, c in bundle.items() if path.startswith("datasets/")]
    with pg_connect(warehouse_env) as conn:
        for dataset in datasets:
            assert dataset["schema"] == "cdm" and dataset["database_uuid"] == database_uuid
            columns = {row[0] for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'cdm' AND table_name = %s",
                [dataset["table_name"]])}
            assert {column["column_name"] for column in dataset["columns"]} == columns
            [metric] = dataset["metrics"]
            assert metric["expression"] == f"SUM({metric['metric_name']})" and metric["metric_name"] in columns
            assert conn.execute("SELECT has_table_privilege('streamvault_dashboard', %s, 'SELECT')",
                                [f"cdm.{dataset['table_name']}"]).fetchone()[0]


def test_the_four_charts_keep_the_original_titles_and_sit_on_one_dashboard(bundle):
    datasets = {c["uuid"]: c for path, c in bundle.items() if path.startswith("datasets/")}
    dashboard = bundle["dashboards/streamvault.yaml"]
    placed = {item["meta"]["uuid"] for item in dashboard["position"].values()
              if isinstance(item, dict) and item.get("type") == "CHART"}
    for slug, title in TITLES.items():
        chart = bundle[f"charts/{slug}.yaml"]
        assert chart["slice_name"] == title
        assert chart["viz_type"] == ("pie" if slug.startswith("categories") else "echarts_timeseries_bar")
        assert datasets[chart["dataset_uuid"]]["table_name"] == "v_" + slug.replace("-", "_")
        assert chart["uuid"] in placed
    children = [child for item in dashboard["position"].values() if isinstance(item, dict)
                for child in item.get("children", [])]
    assert set(children) <= set(dashboard["position"])
    assert dashboard["metadata"]["refresh_frequency"] > 0


def test_export_without_a_login_says_what_to_give(warehouse_env, tmp_path):
    result = cli("export", "superset", "--output", str(tmp_path / "b.zip"), env=warehouse_env,
                 unset=("DASHBOARD_PG_USER",))
    assert result.returncode == 2
    assert "--db-user or DASHBOARD_PG_USER" in result.stderr
    assert not (tmp_path / "b.zip").exists()


def test_dish_bars_group_by_the_dish_label_and_show_the_top_n_biggest_on_top(bundle):
    """Superset draws a horizontal bar chart's first row at the bottom: ascending puts the biggest on top,
    after the query took the N biggest (DASHBOARD_TOP_N, 10 by default)."""
    for slug in ("dishes-by-users", "dishes-by-orders"):
        params = bundle[f"charts/{slug}.yaml"]["params"]
        assert (params["x_axis"], params["orientation"], params["order_desc"]) == ("dish_label", "horizontal", True)
        assert (params["x_axis_sort"], params["x_axis_sort_asc"], params["row_limit"]) == (
            slug.split("-by-")[1], True, 10)
        [query] = json.loads(bundle[f"charts/{slug}.yaml"]["query_context"])["queries"]
        assert (query["columns"], query["row_limit"], query["orderby"]) == (
            ["dish_label"], 10, [[slug.split("-by-")[1], False]])
