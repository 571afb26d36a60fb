"""The valuation page in a real browser (Debian's chromium, headless, driven by Playwright)
against the app served by ``live_server`` on PostgreSQL: a planner opens it on a demo-sized
city (a DC and six stores, 120 SKUs with costs, a day of sales) at a desktop's width and at a
handheld's, in English and in Chinese. The page never scrolls sideways; the chart and the
stacked tables stay inside their cards.

Screenshots go to ``test-artifacts/screenshots/valuation-<nn>-<step>.png``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize

from inventory import services
from inventory.models import Location, MoveReason
from omni.models import City, User
from tests.factories import PlannerFactory, ProductFactory, StoreFactory

from .test_browser import Shots, browser, log_in, open_page, playwright  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP: ViewportSize = {"width": 1366, "height": 768}
HANDHELD: ViewportSize = {"width": 412, "height": 915}
PAGE_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def valued_city(city: City, dc: Location, store: Location, store2: Location) -> City:
    stores = [store, store2] + [
        StoreFactory.create(code=f"S0{n}", name=f"Store {n}", city=city) for n in range(3, 7)
    ]
    products = [
        ProductFactory.create(sku=f"TEA-{n:03d}", price=Decimal(8 + n % 20)) for n in range(120)
    ]
    costs = {p.pk: Decimal(4 + p.pk % 11) / 2 for p in products}
    services.stock_receive(location=dc, lines=[(p, 200) for p in products], unit_costs=costs)
    for s, shop in enumerate(stores):
        services.stock_receive(
            location=shop,
            lines=[(p, 20 + s) for p in products[:60]],
            unit_costs={p.pk: costs[p.pk] for p in products[:60]},
        )
        for p in products[s:60:3]:
            hold = services.stock_reserve(
                product=p, location=shop, quantity=1 + (p.pk + s) % 7, owner_type="t", owner_id="1"
            )
            services.reservation_consume(reservation=hold, reason=MoveReason.SALE)
    return city


@pytest.fixture
def planner_user(db: Any) -> User:
    return PlannerFactory.create(username="mei")


def overflow(tab: Page) -> int:
    return int(tab.evaluate(PAGE_OVERFLOW))


def cards_fit(tab: Page) -> None:
    for n in range(tab.locator("main .card").count()):
        card = tab.locator("main .card").nth(n)
        assert card.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1"), f"card {n} overflows"


def test_a_planner_reads_stock_value_and_turnover(
    live_server: Any,
    open_page: Any,  # noqa: F811
    valued_city: City,
    planner_user: User,
) -> None:
    base = live_server.url
    url = f"{base}/staff/valuation/?city={valued_city.code}&days=7"

    desk = open_page(DESKTOP)
    shot = Shots(desk, "valuation")
    log_in(desk, base, planner_user, shot)
    desk.goto(url)
    assert "Stock value by location" in desk.inner_text("main")
    assert desk.locator("main .chart svg").count() == 1
    assert desk.locator("[data-table=turnover] tbody tr").count() == 7
    assert overflow(desk) <= 0
    cards_fit(desk)
    shot("desktop")
    desk.goto(f"{url}&grain=sku")
    assert desk.locator("[data-table=turnover] tbody tr").count() == 50
    assert overflow(desk) <= 0
    shot("desktop-sku")

    hand = open_page(HANDHELD, handheld=True)
    shot = Shots(hand, "valuation-handheld")
    log_in(hand, base, planner_user, shot)
    hand.goto(url)
    assert overflow(hand) <= 0, "the page scrolls sideways on a handheld"
    cards_fit(hand)
    shot("handheld")

    hand.click("button[name=language][value=zh-hans]")
    hand.wait_for_load_state()
    hand.goto(url)
    assert "各地点库存金额" in hand.inner_text("main")
    assert overflow(hand) <= 0, "the Chinese page scrolls sideways on a handheld"
    cards_fit(hand)
    shot("handheld-zh")
