#!/usr/bin/env python3
"""Makes docs/img/dashboard.png (and -phone.png): the dashboard over the demo's warehouse.

Needs the warehouse in PG_WAREHOUSE_* (read from .streamvault/env when unset) and Debian's chromium:

    .venv/bin/streamvault demo --orders 3000 --exit-when-drained --keep-stack
    .venv/bin/python scripts/screenshot-dashboard.py [OUTPUT_DIR]
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from streamvault import config
from streamvault.dashboard import create_app


def shoot(url: str, output_dir: Path) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        for name, options in [("dashboard.png", {"viewport": {"width": 1280, "height": 900}}),
                              ("dashboard-phone.png", {"viewport": {"width": 390, "height": 844},
                                                       "device_scale_factor": 2, "is_mobile": True})]:
            page = browser.new_page(**options)
            page.goto(url)
            page.wait_for_function("() => Number(document.body.dataset.polls) >= 1")
            # The whole page in one viewport (no scrollbar), and time for the charts to settle at that size.
            page.set_viewport_size({"width": options["viewport"]["width"],
                                    "height": page.evaluate("() => document.documentElement.scrollHeight")})
            page.wait_for_timeout(1200)
            page.screenshot(path=output_dir / name)
            print(f"wrote {output_dir / name}")
        browser.close()


def main() -> None:
    output_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img")
    output_dir.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(config.load(config.DashboardSettings), config.load(config.PgSettings))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        shoot(f"http://127.0.0.1:{server.server_port}/", output_dir)
    finally:
        server.shutdown()
        app.extensions["streamvault.warehouse"].close()


if __name__ == "__main__":
    main()
