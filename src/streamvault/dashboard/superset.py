"""An importable Apache Superset dashboard bundle for the four charts (Superset's v1 import format:
metadata.yaml, databases/, datasets/, charts/, dashboards/ under one folder in a ZIP).

The YAML is written in its JSON-compatible form: Superset reads it with `yaml.safe_load`, and
streamvault needs no YAML library for it. UUIDs are derived from the warehouse's address, so a
re-import updates the same objects instead of adding copies. Each chart carries its saved query
context, which Superset's chart data API, reports, alerts and thumbnails run.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import datetime
from typing import Any
from urllib.parse import quote

from streamvault.config import PgSettings
from streamvault.dashboard.charts import CHARTS, Chart
from streamvault.dashboard.texts import TEXTS

ROOT = "streamvault_dashboard"
FORMAT = "1.0.0"
MASKED_PASSWORD = "XXXXXXXXXX"  # what Superset writes in its own exports; its import asks for the real one
REFRESH_SECONDS = 10            # Superset's shortest auto-refresh preset
_NAMESPACE = uuid.UUID("5f0c8a9e-3c1b-4f57-9a43-2f7d1d6b2c10")
_MEASURE_LABEL = {"users": "Пользователей (users)", "orders": "Заказов (orders)"}


def bundle(pg: PgSettings, db_user: str, exported_at: datetime, top_n: int) -> bytes:
    """The ZIP's bytes; the dish bars show the `top_n` biggest. The database password is never written:
    Superset asks for it on import."""
    seed = f"postgresql://{pg.host}:{pg.port}/{pg.dbname}"
    database_uuid = _uuid(seed)
    database_file = f"databases/{pg.dbname}.yaml"
    files: dict[str, dict[str, Any]] = {
        "metadata.yaml": {"version": FORMAT, "type": "Dashboard", "timestamp": exported_at.isoformat()},
        database_file: _database(pg, db_user, database_uuid),
    }
    chart_uuids = {}
    for chart in CHARTS:
        dataset_uuid = _uuid(f"{seed}/dataset/{chart.view}")
        chart_uuids[chart.slug] = _uuid(f"{seed}/chart/{chart.slug}")
        files[f"datasets/{pg.dbname}/{chart.view}.yaml"] = _dataset(chart, dataset_uuid, database_uuid)
        files[f"charts/{chart.slug}.yaml"] = _chart(chart, chart_uuids[chart.slug], dataset_uuid, top_n)
    files["dashboards/streamvault.yaml"] = _dashboard(_uuid(f"{seed}/dashboard"), chart_uuids)

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{ROOT}/{name}", json.dumps(content, ensure_ascii=False, indent=2) + "\n")
    return buffer.getvalue()


def _uuid(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _database(pg: PgSettings, db_user: str, database_uuid: str) -> dict[str, Any]:
    return {
        "database_name": f"streamvault {pg.dbname}",
        "sqlalchemy_uri": f"postgresql+psycopg2://{quote(db_user, safe='')}:{MASKED_PASSWORD}"
                          f"@{pg.host}:{pg.port}/{quote(pg.dbname, safe='')}",
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True,
                  "engine_params": {"connect_args": {"sslmode": pg.sslmode}}},
        "uuid": database_uuid,
        "version": FORMAT,
    }


def _column(name: str, type_: str, *, groupby: bool) -> dict[str, Any]:
    return {"column_name": name, "verbose_name": None, "is_dttm": False, "is_active": True, "type": type_,
            "groupby": groupby, "filterable": groupby, "expression": None, "description": None,
            "python_date_format": None}


def _dataset(chart: Chart, dataset_uuid: str, database_uuid: str) -> dict[str, Any]:
    return {
        "table_name": chart.view,
        "schema": "cdm",
        "main_dttm_col": None,
        "description": chart.title["ru"],
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "sql": None,
        "params": None,
        "template_params": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "uuid": dataset_uuid,
        "metrics": [{"metric_name": chart.measure, "verbose_name": _MEASURE_LABEL[chart.measure],
                     "metric_type": "sum", "expression": f"SUM({chart.measure})", "description": None,
                     "d3format": ",d", "extra": None, "warning_text": None}],
        "columns": [_column(chart.id_column, "UUID", groupby=False),
                    _column(chart.name_column, "VARCHAR(256)", groupby=chart.name_column == chart.label_column),
                    _column(chart.measure, "BIGINT", groupby=False),
                    *([_column("restaurant_name", "TEXT", groupby=False), _column("dish_label", "TEXT", groupby=True)]
                      if chart.label_column == "dish_label" else [])],
        "version": FORMAT,
        "database_uuid": database_uuid,
    }


def _chart(chart: Chart, chart_uuid: str, dataset_uuid: str, top_n: int) -> dict[str, Any]:
    """Pies show every category; bars one per dish (its label is unique), the `top_n` biggest, the biggest on
    top (Superset draws a horizontal bar chart's first row at the bottom, so the rows are sorted ascending)."""
    row_limit = 10000 if chart.kind == "pie" else top_n
    common = {"adhoc_filters": [], "row_limit": row_limit, "color_scheme": "supersetColors", "extra_form_data": {}}
    if chart.kind == "pie":
        params = {"viz_type": "pie", "groupby": [chart.label_column], "metric": chart.measure, "sort_by_metric": True,
                  "show_labels": True, "label_type": "key_percent", "labels_outside": True, "show_legend": True,
                  "legendType": "scroll", "legendOrientation": "bottom", "donut": True, "innerRadius": 36,
                  "outerRadius": 64, "number_format": "SMART_NUMBER", **common}
    else:
        params = {"viz_type": "echarts_timeseries_bar", "x_axis": chart.label_column, "metrics": [chart.measure],
                  "groupby": [], "orientation": "horizontal", "order_desc": True, "x_axis_sort": chart.measure,
                  "x_axis_sort_asc": True, "show_value": True, "show_legend": False, "y_axis_format": "SMART_NUMBER",
                  "rich_tooltip": True, **common}
    return {"slice_name": chart.title["ru"], "description": chart.title["en"], "certified_by": None,
            "certification_details": None, "viz_type": params["viz_type"], "params": params,
            "query_context": json.dumps(_query_context(chart, params), ensure_ascii=False),
            "cache_timeout": None, "uuid": chart_uuid, "version": FORMAT, "dataset_uuid": dataset_uuid}


def _query_context(chart: Chart, params: dict[str, Any]) -> dict[str, Any]:
    """What Superset's chart editor saves with a chart: its one query, biggest first. The import replaces the
    datasource id with the id the dataset gets."""
    query = {"columns": [chart.label_column], "metrics": [chart.measure], "orderby": [[chart.measure, False]],
             "row_limit": params["row_limit"], "order_desc": True, "filters": [], "extras": {"having": "", "where": ""},
             "applied_time_extras": {}, "annotation_layers": [], "series_limit": 0, "url_params": {},
             "custom_params": {}, "custom_form_data": {}, "post_processing": []}
    return {"datasource": {"id": 0, "type": "table"}, "force": False, "queries": [query], "form_data": params,
            "result_format": "json", "result_type": "full"}


def _dashboard(dashboard_uuid: str, chart_uuids: dict[str, str]) -> dict[str, Any]:
    """Pies side by side in the first row, the dish bars (taller) in the second, as in the original."""
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": TEXTS["ru"]["title"]}},
        "GRID_ID": {"id": "GRID_ID", "type": "GRID", "children": [], "parents": ["ROOT_ID"]},
    }
    for kind in ("pie", "bar"):
        row = f"ROW-{kind}s"
        position["GRID_ID"]["children"].append(row)
        members = [chart for chart in CHARTS if chart.kind == kind]
        position[row] = {"id": row, "type": "ROW", "children": [f"CHART-{c.slug}" for c in members],
                         "parents": ["ROOT_ID", "GRID_ID"], "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        for chart in members:
            position[f"CHART-{chart.slug}"] = {
                "id": f"CHART-{chart.slug}", "type": "CHART", "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row],
                "meta": {"chartId": CHARTS.index(chart) + 1, "uuid": chart_uuids[chart.slug],
                         "sliceName": chart.title["ru"], "width": 12 // len(members),
                         "height": 60 if kind == "pie" else 90},
            }
    return {
        "dashboard_title": TEXTS["ru"]["title"],
        "description": None,
        "css": "",
        "slug": "streamvault",
        "certified_by": None,
        "certification_details": None,
        "published": True,
        "uuid": dashboard_uuid,
        "position": position,
        "metadata": {"refresh_frequency": REFRESH_SECONDS, "timed_refresh_immune_slices": [],
                     "expanded_slices": {}, "color_scheme": "supersetColors", "label_colors": {},
                     "shared_label_colors": [], "native_filter_configuration": [],
                     "cross_filters_enabled": False},
        "version": FORMAT,
    }
