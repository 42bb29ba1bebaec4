"""The dashboard page in headless Chromium, served by `streamvault dashboard` over known marts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from marts import CATEGORIES, ORDERS, PRODUCTS, TWIN_DISHES
from served import Server, start_dashboard

TOP_N = 3
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SLUGS = ["categories-by-users", "categories-by-orders", "dishes-by-users", "dishes-by-orders"]
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def server(warehouse_env, tmp_path_factory) -> Iterator[Server]:
    """With a short refresh, so that tests wait less for the page to poll."""
    running = start_dashboard({**warehouse_env, "DASHBOARD_REFRESH_SECONDS": "0.3", "DASHBOARD_TOP_N": str(TOP_N)},
                              tmp_path_factory.mktemp("dashboard") / "stderr.log")
    try:
        yield running
    finally:
        running.process.terminate()
        running.process.wait(timeout=30)


def test_sigterm_stops_the_dashboard_cleanly(warehouse_env, tmp_path):
    """docker stop and Kubernetes send SIGTERM: the server closes its pool and exits 0, as on Ctrl-C."""
    running = start_dashboard(warehouse_env, tmp_path / "stderr.log")
    assert running.get("/api/kpis") is not None
    running.process.terminate()
    assert running.process.wait(timeout=30) == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Seen:
    """What the page did: every request, dialog, navigation and console error."""

    requests: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    navigations: int = 0
    errors: list[str] = field(default_factory=list)


def _open(browser: Browser, server: Server, path: str = "/", **context_options) -> tuple[Page, Seen]:
    page = browser.new_context(**context_options).new_page()
    seen = Seen()
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("response", lambda response: seen.statuses.append(response.status))
    page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("framenavigated", lambda frame: setattr(seen, "navigations", seen.navigations + 1))
    page.on("console", lambda message: message.type == "error" and seen.errors.append(message.text))
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.goto(server.url + path)
    _await_polls(page, 1)
    return page, seen


def _await_polls(page: Page, count: int) -> None:
    page.wait_for_function(f"() => Number(document.body.dataset.polls) >= {count}")


def _chart(page: Page, slug: str) -> list[tuple[str, int]]:
    """The data inside the chart's ECharts instance, not what the API said."""
    data = page.evaluate(f"""() => echarts.getInstanceByDom(document.querySelector('#chart-{slug} .chart'))
                                    .getOption().series[0].data.map(d => [d.name, d.value])""")
    return [tuple(pair) for pair in data]


def _endpoint(server: Server, slug: str) -> list[tuple[str, int]]:
    """What the page asks for: bar charts show the top N until "show all"; each item under its label."""
    limit = f"?limit={TOP_N}" if slug.startswith("dishes") else ""
    return [(item["label"], item["value"]) for item in server.get(f"/api/charts/{slug}{limit}")["items"]]


@pytest.fixture
def known(marts):
    marts.replace(PRODUCTS, CATEGORIES, ORDERS)
    return marts


def test_the_page_loads_with_no_request_leaving_this_machine(browser, server, known):
    page, seen = _open(browser, server)
    assert seen.requests, "the page made no requests at all"
    assert {urlsplit(url).hostname for url in seen.requests if not url.startswith("data:")} == {"127.0.0.1"}
    assert seen.errors == []


def test_the_four_charts_show_exactly_their_endpoints_data(browser, server, known):
    page, _ = _open(browser, server)
    for slug in SLUGS:
        assert _chart(page, slug) == _endpoint(server, slug), slug
        assert page.locator(f"#chart-{slug} svg").count() == 1
    kpis = server.get("/api/kpis")
    for name in ("orders", "users", "dishes"):
        assert page.locator(f'[data-kpi="{name}"]').text_content() == str(kpis[name])


def test_the_page_says_as_of_when_its_data_is_and_how_far_behind_now(browser, server, marts):
    """"Data as of …" with the seconds behind now, from the newest source publish time in the marts."""
    marts.replace(PRODUCTS, CATEGORIES, ORDERS, data_as_of=datetime.now(UTC) - timedelta(seconds=30))
    page, _ = _open(browser, server)
    text = page.locator("#data-as-of").text_content()
    behind = re.search(r"отставание ([\d\s\u00a0,]+) с", text)
    assert behind, text
    assert 30 <= float(re.sub(r"[\s\u00a0]", "", behind[1]).replace(",", ".")) < 300, text


def test_a_change_in_the_marts_appears_without_reloading_the_page(browser, server, known):
    page, seen = _open(browser, server)
    assert ("Пельмени", 9) not in _chart(page, "dishes-by-orders")
    known.add(products=[("anna", "Пельмени", 9)])

    page.wait_for_function("""() => echarts.getInstanceByDom(document.querySelector('#chart-dishes-by-orders .chart'))
                                      .getOption().series[0].data.some(d => d.name === 'Пельмени' && d.value === 9)""")
    assert _chart(page, "dishes-by-orders") == _endpoint(server, "dishes-by-orders")
    assert seen.navigations == 1


def test_unchanged_data_is_not_rendered_again(browser, server, known):
    page, seen = _open(browser, server)
    _await_polls(page, 4)
    renders = page.eval_on_selector_all(".card", "cards => cards.map(card => card.dataset.renders)")
    assert renders == ["1", "1", "1", "1"]
    assert 304 in seen.statuses


def test_a_dish_named_like_html_shows_as_literal_text(browser, server, marts):
    marts.replace(products=[("anna", XSS, 2)], categories=[("anna", "<b>Супы</b>", 2)])
    page, seen = _open(browser, server)

    assert seen.dialogs == []
    assert page.locator("main img, main b").count() == 0
    assert _chart(page, "dishes-by-orders") == [(XSS, 2)]
    assert page.locator("#chart-dishes-by-orders tbody td").first.text_content() == XSS
    assert page.locator("#chart-categories-by-orders tbody td").first.text_content() == "<b>Супы</b>"
    assert page.locator("#chart-categories-by-orders svg text", has_text="<b>Супы</b>").count() >= 1


def test_dishes_of_the_same_name_in_different_restaurants_get_labels_a_reader_tells_apart(browser, server, marts):
    """Bars, axis labels and the table row for each dish: name and restaurant, biggest on top."""
    marts.replace(products=TWIN_DISHES)
    page, _ = _open(browser, server)
    page.locator("#chart-dishes-by-orders .toggle").click()
    page.wait_for_function("() => document.querySelector('#chart-dishes-by-orders').dataset.renders === '2'")

    expected = [("Медовик (Теремок)", 4), ("Борщ (Теремок)", 3), ("Борщ (Пушкин)", 2), ("Борщ (Корчма)", 1)]
    assert _chart(page, "dishes-by-orders") == expected
    axis = page.evaluate("""() => echarts.getInstanceByDom(document.querySelector('#chart-dishes-by-orders .chart'))
                                   .getOption().yAxis[0]""")
    assert (axis["data"], axis["inverse"]) == ([label for label, _ in expected], True)
    assert page.locator("#chart-dishes-by-orders tbody td:first-child").all_text_contents() == [
        label for label, _ in expected]


def test_empty_marts_show_no_data_yet(browser, server, marts):
    marts.replace()
    page, seen = _open(browser, server)
    assert page.locator("#no-data").is_visible()
    for slug in SLUGS:
        assert page.locator(f"#chart-{slug} .chart-empty").is_visible()
    assert page.locator('[data-kpi="orders"]').text_content() == "0"
    assert seen.errors == []


def test_long_dish_lists_show_the_top_n_until_asked_for_all(browser, server, known):
    page, _ = _open(browser, server)
    toggle = page.locator("#chart-dishes-by-users .toggle")
    assert len(_chart(page, "dishes-by-users")) == TOP_N
    assert toggle.text_content() == "Показать все (5)"

    toggle.click()
    page.wait_for_function("() => document.querySelector('#chart-dishes-by-users').dataset.renders === '2'")
    assert _chart(page, "dishes-by-users") == [
        (item["name"], item["value"]) for item in server.get("/api/charts/dishes-by-users")["items"]]
    assert len(_chart(page, "dishes-by-users")) == 5


def test_a_poll_racing_the_show_all_click_does_not_draw_the_chart_twice(browser, server, known):
    """The click and the next poll both ask for the full list; whichever answer comes second changes nothing."""
    page, _ = _open(browser, server)
    held = []
    # Only the first two are held: a poll whose request stayed held would never end.
    page.route(lambda url: url.endswith("/api/charts/dishes-by-users"),
               lambda route: held.append(route) if len(held) < 2 else route.continue_())

    page.locator("#chart-dishes-by-users .toggle").click()
    while len(held) < 2:  # the click's request, then the next poll's
        page.wait_for_timeout(50)
    polls = int(page.evaluate("document.body.dataset.polls"))  # before the held poll can end
    for route in held:
        route.continue_()
    _await_polls(page, polls + 1)

    assert len(_chart(page, "dishes-by-users")) == 5
    assert page.locator("#chart-dishes-by-users").get_attribute("data-renders") == "2"


def test_on_a_phone_the_charts_stack_in_one_column_without_sideways_scrolling(browser, server, known):
    page, _ = _open(browser, server, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    lefts = page.eval_on_selector_all(".card", "cards => cards.map(card => card.getBoundingClientRect().left)")
    assert len(set(lefts)) == 1
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_command_listens_on_loopback_only(server):
    port = urlsplit(server.url).port
    with open("/proc/net/tcp") as table:
        listening = [line.split()[1] for line in table.readlines()[1:]
                     if line.split()[3] == "0A" and int(line.split()[1].split(":")[1], 16) == port]
    assert listening == ["0100007F:" + f"{port:04X}"]


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "99999999999999999999", "9" * 5000, "-1", "1.5", ""])
def test_a_limit_that_is_not_a_whole_number_in_range_gets_400_over_http(server, known, limit):
    """Unicode digits ("²", Arabic "٣"), numbers beyond PostgreSQL's bigint, and Python's int() digit limit."""
    status, body = server.answer(f"/api/charts/dishes-by-orders?limit={limit}")
    assert (status, body) == (400, {"error": "limit must be a whole number from 1 to 9223372036854775807"})
