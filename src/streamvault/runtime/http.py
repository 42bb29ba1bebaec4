"""Liveness, readiness and metrics over HTTP, served from a background thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.serving import make_server


def create_app(alive: Callable[[], bool], readiness: Callable[[], dict[str, object]]) -> Flask:
    app = Flask("streamvault.service")

    @app.get("/health")
    def health():
        ok = alive()
        return jsonify(alive=ok), 200 if ok else 503

    @app.get("/ready")
    def ready():
        state = readiness()
        return jsonify(state), 200 if state["ready"] else 503

    @app.get("/metrics")
    def metrics():
        return generate_latest(), 200, {"Content-Type": CONTENT_TYPE_LATEST}

    return app


def serve_in_background(app: Flask, host: str, port: int) -> Callable[[], None]:
    """Start serving; returns the function that stops the server."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # probes every few seconds are not news
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    return server.shutdown
