"""The dashboard web app: one page and the JSON API it polls, over the read-only warehouse views."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from flask import Flask, Response, abort, jsonify, render_template, request, url_for
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from streamvault.config import DashboardSettings, PgSettings
from streamvault.dashboard.availability import Availability
from streamvault.dashboard.charts import BY_SLUG, CHARTS, LANGS
from streamvault.dashboard.texts import TEXTS
from streamvault.dashboard.warehouse import Warehouse

# Everything the page needs comes from this server: no CDN, no inline script, no plug-ins.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def create_app(settings: DashboardSettings, pg: PgSettings) -> Flask:
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    warehouse = Warehouse(pg, settings)
    app.extensions["streamvault.warehouse"] = warehouse
    availability = Availability()

    @app.get("/")
    def page() -> str:
        lang = request.args.get("lang", LANGS[0])
        if lang not in LANGS:
            lang = LANGS[0]
        config = {
            "lang": lang,
            "refreshMs": round(settings.refresh_seconds * 1000),
            "topN": settings.top_n,
            "kpisUrl": url_for("kpis"),
            "charts": {chart.slug: url_for("chart_data", slug=chart.slug) for chart in CHARTS},
            "texts": TEXTS[lang],
        }
        return render_template("index.html", lang=lang, langs=LANGS, t=TEXTS[lang], charts=CHARTS, config=config)

    @app.get("/api/charts/<slug>")
    def chart_data(slug: str) -> Response:
        chart = BY_SLUG.get(slug) or abort(404, f"no chart {slug!r}; charts: {', '.join(BY_SLUG)}")
        items, total = warehouse.chart(chart, _limit())
        return _versioned({"chart": chart.slug, "measure": chart.measure, "total_items": total, "items": items})

    @app.get("/api/kpis")
    def kpis() -> Response:
        return _versioned(warehouse.kpis())

    @app.get("/ready")
    def ready() -> Response:
        """The readiness probe: 200 only when the API's queries can run (`/` never queries: the liveness probe)."""
        warehouse.check()
        return jsonify(status="ready")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return jsonify(error=exc.description), exc.code or 500

    @app.errorhandler(psycopg.errors.UndefinedTable)
    def not_migrated(exc: psycopg.Error) -> tuple[Response, int]:
        return _unavailable("the dashboard views are missing: run `streamvault migrate`", exc)

    @app.errorhandler(psycopg.Error)
    @app.errorhandler(PoolTimeout)
    def unavailable(exc: Exception) -> tuple[Response, int]:
        return _unavailable(warehouse.login_problem or "the warehouse is unavailable", exc)

    def _unavailable(problem: str, exc: Exception) -> tuple[Response, int]:
        availability.failed(problem, exc)
        return jsonify(error=problem), 503

    @app.after_request
    def queried(response: Response) -> Response:
        if request.endpoint in _QUERYING and response.status_code in (200, 304):
            availability.answered()
        return response

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return app


# The endpoints whose answer comes from a warehouse query.
_QUERYING = {"chart_data", "kpis", "ready"}

# PostgreSQL's LIMIT is a bigint. ASCII digits only: str.isdigit() and int() also take "²" and "٣".
MAX_LIMIT = 2**63 - 1
_LIMIT = re.compile(r"[0-9]{1,19}")


def _limit() -> int | None:
    raw = request.args.get("limit")
    if raw is None:
        return None
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        abort(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def _versioned(body: dict[str, Any]) -> Response:
    """JSON with an ETag of its content: a poll with If-None-Match gets 304 while nothing changed."""
    response = jsonify(body)
    response.add_etag()
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)
