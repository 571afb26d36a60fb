"""Every staff page fits the screens it is used on: a 412×915 handheld and a 1366×768 desktop,
on a demo-sized day (the pilot city's 520 SKUs, eight stores, an hour of orders from every
channel, a wave picked, packed and shipped, a second hour's wave open). For each role
(warehouse, store, planner) every page of its menu, and the pages one level down (an open pick
list, a transfer to receive, an order's routing, a forecast run):

- the page never scrolls sideways (``scrollWidth <= innerWidth``);
- its main action (the first ``.primary`` button or the scan box) lies inside the viewport;
- no stacked table (``table.stack``) is wider than its card.

Screenshots: ``test-artifacts/screenshots/layout-<role>-<width>-<page>.png``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from demo import steps as demo
from fulfillment import services as fulfil
from fulfillment.models import PickList, PickListStatus
from inventory.models import Transfer, TransferStatus
from omni.celery import app as celery_app
from omni.models import User
from orders.models import Order

from .test_browser import SCREENSHOTS, browser, playwright  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

VIEWPORTS = [(412, 915), (1366, 768)]
ROLES = ["warehouse", "store1", "planner"]

# The main action of a page: its first primary button or link, else its scan box.
MAIN_ACTION = "main button.primary, main a.button.primary, main [data-scan]"

MEASURE = """(selector) => {
  const main = [...document.querySelectorAll(selector)].find(
    (el) => el.offsetParent !== null && el.getBoundingClientRect().width > 0);
  const box = main ? main.getBoundingClientRect() : null;
  const wide = [...document.querySelectorAll("table.stack")]
    .filter((t) => t.offsetParent !== null
      && t.parentElement.scrollWidth > t.parentElement.clientWidth + 1)
    .map((t) => t.id || t.className);
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    main: main ? (main.textContent.trim() || main.getAttribute("name") || main.tagName) : null,
    left: box ? box.left : null,
    right: box ? box.right : null,
    wideStacks: wide,
  };
}"""


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Routing and the demo's jobs run in the process, as ``make demo`` runs them."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def demo_day(transactional_db: Any) -> dict[str, str]:
    """The demo's pilot city after a day's work, plus what the pages one level down need: an
    open wave at the DC, a pickup being picked at a store, a transfer on its way there."""
    demo.load_pilot_city()
    demo.run_stock_day(seed=7)
    first = demo.run_order_hour(seed=7)
    demo.run_fulfillment(first)
    demo.run_order_hour(seed=8)
    dc, stores = demo.pilot_locations()
    warehouse = User.objects.get(username="warehouse")
    wave = fulfil.pick_wave_create(location=dc, actor=warehouse, include_transfers=False)
    store = stores[0]
    clerk = User.objects.get(username="store1")
    pickup = Order.objects.filter(pickup_store=store, status="reserved").first()
    store_pick = fulfil.pickup_prepare(order=pickup, actor=clerk) if pickup else None
    arriving = (
        Transfer.objects.filter(destination=store, status=TransferStatus.DISPATCHED).first()
        or Transfer.objects.filter(status=TransferStatus.DISPATCHED).first()
    )
    waiting = Order.objects.exclude(status__in=["completed", "shipped", "cancelled"]).first()
    assert PickList.objects.filter(status=PickListStatus.OPEN).exists()
    return {
        "wave": f"/staff/picking/{wave.pk}/",
        "store_pick": f"/staff/picking/{store_pick.pk}/" if store_pick else "",
        "transfer": (
            f"/staff/receiving/transfers/{arriving.pk}/?at={arriving.destination.code}"
            if arriving
            else ""
        ),
        "order": f"/staff/orders/{waiting.pk}/routing/" if waiting else "",
        "store": store.code,
    }


def _pages(role: str, day: dict[str, str]) -> list[str]:
    common = ["/staff/", "/staff/stock/", "/staff/stock/?code=BEV-0121", "/staff/picking/"]
    pages = {
        "warehouse": [
            *common,
            day["wave"],
            "/staff/packing/",
            "/staff/receiving/",
            "/staff/count/",
        ],
        "store1": [
            *common,
            "/staff/pickups/",
            day["store_pick"],
            "/staff/packing/",
            "/staff/reserve/",
            "/staff/receiving/",
            day["transfer"] if day["store"] in day["transfer"] else "",
            "/staff/count/",
        ],
        "planner": [
            "/staff/",
            "/staff/stock/?code=BEV-0121",
            "/staff/routing/",
            day["order"],
            "/staff/forecasts/",
            "/staff/allocations/",
        ],
    }[role]
    return [p for p in pages if p]


def _log_in(tab: Page, base: str, username: str) -> None:
    tab.goto(f"{base}/staff/login/")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", demo.DEMO_PASSWORD)
    tab.click("main button[type=submit]")
    tab.wait_for_url(f"{base}/staff/")


def test_every_staff_page_fits_a_handheld_and_a_desktop(
    live_server: Any,
    browser: Browser,  # noqa: F811
    demo_day: dict[str, str],
) -> None:
    """One demo day (seeding it is most of the time) for the three roles."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    visited = 0
    for role, (width, height) in itertools.product(ROLES, VIEWPORTS):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        context.set_default_timeout(30_000)
        tab = context.new_page()
        _log_in(tab, live_server.url, role)
        for path in _pages(role, demo_day):
            response = tab.goto(live_server.url + path)
            assert response is not None and response.status == 200, (path, response)
            tab.wait_for_load_state("load")
            seen = tab.evaluate(MEASURE, MAIN_ACTION)
            name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-") or "home"
            tab.screenshot(
                path=str(SCREENSHOTS / f"layout-{role}-{width}-{name}.png"), full_page=True
            )
            visited += 1
            where = f"{role} {width}px {path}"
            if seen["scrollWidth"] > seen["innerWidth"]:
                problems.append(f"{where}: scrolls sideways ({seen['scrollWidth']}px)")
            if seen["main"] is not None and not (
                seen["left"] >= 0 and seen["right"] <= seen["innerWidth"]
            ):
                problems.append(
                    f"{where}: main action {seen['main']!r} at {seen['left']:.0f}–"
                    f"{seen['right']:.0f}px, outside the screen"
                )
            if seen["wideStacks"]:
                problems.append(
                    f"{where}: stacked tables wider than their card {seen['wideStacks']}"
                )
        context.close()
    assert visited >= 2 * (8 + 10 + 6)
    assert not problems, "\n".join(problems)
