#!/usr/bin/env python3
"""Makes docs/img/dashboard.png (and -phone.png): the dashboard over plausible generated marts.

Needs a PostgreSQL server in PG_WAREHOUSE_* (e.g. after `streamvault stack up`) and Debian's chromium.
Works in a scratch database that it drops afterwards, so the warehouse itself is never touched.

    .venv/bin/python scripts/screenshot-dashboard.py [OUTPUT_DIR]
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from playwright.sync_api import sync_playwright
from psycopg import sql
from werkzeug.serving import make_server

from streamvault import config
from streamvault.dashboard import create_app
from streamvault.db.migrate import migrate

MENU = {  # category -> (dish, how popular)
    "Супы": [("Борщ со сметаной", 9), ("Солянка сборная", 5), ("Куриный суп с лапшой", 6), ("Том ям", 3)],
    "Салаты": [("Цезарь с курицей", 8), ("Оливье", 4), ("Греческий салат", 5), ("Винегрет", 2)],
    "Горячее": [("Плов узбекский", 6), ("Пельмени домашние", 8), ("Бефстроганов с пюре", 4),
                ("Котлета по-киевски", 3)],
    "Пицца": [("Пицца Маргарита", 7), ("Пицца Пепперони", 9), ("Пицца Четыре сыра", 4)],
    "Роллы": [("Филадельфия", 7), ("Калифорния", 5), ("Ролл с угрём", 3)],
    "Выпечка": [("Хачапури по-аджарски", 5), ("Сырники со сметаной", 6), ("Блины с творогом", 4)],
    "Десерты": [("Медовик", 5), ("Чизкейк Нью-Йорк", 4), ("Наполеон", 3)],
    "Напитки": [("Морс клюквенный", 6), ("Компот из сухофруктов", 3), ("Лимонад тархун", 2)],
}


def key(*parts: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "streamvault-screenshot/" + "/".join(parts))


def fill(conn: psycopg.Connection, seed: int = 7) -> None:
    """Orders of 400 users, then the marts exactly as SPEC §2.3 defines them over those orders."""
    rng = random.Random(seed)
    dishes = [(category, dish) for category, items in MENU.items() for dish, _ in items]
    weights = [weight for items in MENU.values() for _, weight in items]
    product_orders: dict[tuple[str, str], int] = defaultdict(int)
    category_orders: dict[tuple[str, str], int] = defaultdict(int)
    contributions = []
    start = datetime(2025, 11, 27, 8, 0)
    for order in range(1, 1201):
        user = f"user{rng.randint(1, 400)}"
        closed = rng.random() > 0.08
        basket = set(rng.choices(dishes, weights, k=rng.randint(1, 4)))
        contributions.append((key("order", str(order)), key("user", user), start + timedelta(seconds=29 * order), closed))
        if closed:
            for _, dish in basket:
                product_orders[user, dish] += 1
            for category in {category for category, _ in basket}:
                category_orders[user, category] += 1
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO cdm.user_product_counters (user_id, product_id, product_name, order_cnt) "
                        "VALUES (%s, %s, %s, %s)",
                        [(key("user", u), key("dish", d), d, n) for (u, d), n in product_orders.items()])
        cur.executemany("INSERT INTO cdm.user_category_counters (user_id, category_id, category_name, order_cnt) "
                        "VALUES (%s, %s, %s, %s)",
                        [(key("user", u), key("category", c), c, n) for (u, c), n in category_orders.items()])
        cur.executemany("INSERT INTO cdm.srv_order_contributions (order_id, user_id, version_ts, counted) "
                        "VALUES (%s, %s, %s, %s)", contributions)


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
    pg = config.load(config.PgSettings)
    scratch = pg.model_copy(update={"dbname": f"screenshot_{uuid.uuid4().hex[:8]}"})
    admin = psycopg.connect(pg.conninfo(), dbname="postgres", autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch.dbname)))
    try:
        with psycopg.connect(scratch.conninfo(), autocommit=True) as conn:
            migrate(conn)
            fill(conn)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app = create_app(config.DashboardSettings(), scratch)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}/", output_dir)
        finally:
            server.shutdown()
            app.extensions["streamvault.warehouse"].close()
    finally:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(scratch.dbname)))
        admin.close()


if __name__ == "__main__":
    main()
