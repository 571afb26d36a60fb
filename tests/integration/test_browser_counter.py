"""The store counter in a real browser at a handheld's 412×915 (Debian's chromium, headless,
driven by Playwright) on PostgreSQL: a pickup handed over by its short code when the phone
cannot be scanned (a wrong code refused first, in words), and a walk-in hold ticket of three
items written from the stock lookup, held, and sold at the counter. Each page is checked for
horizontal scrolling and saved at 412×915 and 1366×768 to ``test-artifacts/screenshots/``.
The folder's conftest checks the ledger invariants after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from fulfillment import services
from fulfillment.tests.fixtures import pickup_ready
from inventory.models import Location, Product, StockMove
from network.models import Channel, ChannelKind, Service
from omni.models import City
from orders.models import HoldTicket, HoldTicketStatus, OrderMode, OrderStatus
from orders.services import LineIn, order_place
from tests.factories import (
    ChannelFactory,
    LocationServiceFactory,
    ProductFactory,
    ReceiptFactory,
    StoreUserFactory,
)
from tests.helpers import level

# The browser and the screenshots are those of the staff pages' browser test.
from .test_browser import (  # noqa: F401
    OOLONG,
    TEA,
    Shots,
    browser,
    log_in,
    oolong,
    playwright,
    scan,
    tea,
    web,
)

pytestmark = pytest.mark.django_db(transaction=True)

HANDHELD = {"width": 412, "height": 915}
DESKTOP = {"width": 1366, "height": 768}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:  # noqa: F811 - a handheld, not the desktop one
    context = browser.new_context(viewport=HANDHELD, locale="en-US")  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name.removeprefix("test_"))


def fits(page: Page, shot: Shots, step: str, primary: str | None = None) -> None:
    """The page scrolls only downwards at 412 px and its primary action is on screen; saved at
    the handheld's size and at a desktop's."""
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{step}: the page scrolls sideways at 412 px"
    if primary is not None:
        box = page.locator(primary).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= HANDHELD["width"]
    shot(f"{step}-412")
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    shot(f"{step}-1366")
    page.set_viewport_size(HANDHELD)  # type: ignore[arg-type]


def test_store_clerk_hands_over_a_pickup_by_its_short_code(
    live_server: Any,
    page: Page,
    shot: Shots,
    web: Channel,  # noqa: F811
    store: Location,
    tea: Product,  # noqa: F811
) -> None:
    clerk = StoreUserFactory.create(username="clerk", locations=[store])
    ReceiptFactory.create(location=store, lines={"TEA-500": 5})
    order, _ = order_place(
        channel=web,
        external_id="WEB-3001",
        mode="pickup",
        store=store,
        customer_name="Li Lei",
        customer_phone="13800004321",
        lines=[LineIn(product=tea, quantity=2)],
    )
    code = pickup_ready(order)
    digits = services.pickup_short_code(code)
    wrong = str((int(digits) + 7) % 1_000_000).zfill(6)
    base = live_server.url

    log_in(page, base, clerk, shot)
    page.goto(f"{base}/staff/pickups/{order.pk}/code/")
    page.wait_for_selector("[data-short-code]")
    assert page.inner_text("[data-short-code]") == f"{digits[:3]} {digits[3:]}"
    fits(page, shot, "customer-code")

    page.goto(f"{base}/staff/pickups/")
    page.click("text=Phone cannot be scanned? Type the short code")
    fits(page, shot, "short-code-box", primary="#short-code button[type=submit]")

    # The customer reads out the wrong digits: refused, in words, nothing handed over.
    page.fill("#short-code input[name=short_code]", wrong)
    page.fill("#short-code input[name=order]", str(order.pk))
    page.click("#short-code button[type=submit]")
    page.wait_for_selector('[data-result="pickup_short_code_wrong"]')
    refusal = page.inner_text(".handover-result")
    assert "Do not hand over" in refusal
    assert "Check the digits and the order number with the customer" in refusal
    assert f"No pickup for order {order.pk} here has this short code." in refusal
    assert level(store, tea) == (5, 2)
    fits(page, shot, "short-code-refused", primary="#short-code button[type=submit]")

    # Read out again, with the phone's last four this time.
    page.fill("#short-code input[name=short_code]", f"{digits[:3]} {digits[3:]}")
    page.fill("#short-code input[name=order]", "")
    page.fill("#short-code input[name=phone_last4]", "4321")
    page.click("#short-code button[type=submit]")
    page.wait_for_selector('[data-result="redeemed"]')
    result = page.inner_text(".handover-result")
    assert f"Hand over order {order.pk}: 2 × TEA-500 Green tea 500 ml" in result
    fits(page, shot, "short-code-handed-over")

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert StockMove.objects.get(reference=order.reference, reason="pickup").quantity == 2
    assert level(store, tea) == (3, 0)


@pytest.fixture
def counter(
    city: City,
    store: Location,
    store2: Location,
    web: Channel,  # noqa: F811
) -> Channel:
    """S01 sells at its counter; S02 nearby offers pickup (so it is offered when S01 is short)."""
    LocationServiceFactory.go_live(store, Service.STORE_SALE)
    LocationServiceFactory.go_live(store2, Service.PICKUP)
    return ChannelFactory.create(
        code="pos", kind=ChannelKind.STORE_POS, city=city, serves=[store, store2]
    )


def look_up_and_hold(page: Page, code: str, quantity: int, sku: str) -> None:
    page.click("input[data-scan]")
    scan(page, code)
    page.wait_for_selector(f"h2.product:has-text('{sku}')")
    page.fill("#hold-qty", str(quantity))
    page.click("text=Hold for a customer")
    page.wait_for_selector(f".notice.ok:has-text('{sku} is on the ticket')")


def test_store_clerk_holds_three_items_for_a_walk_in_and_sells_them_at_the_counter(
    live_server: Any,
    page: Page,
    shot: Shots,
    counter: Channel,
    store: Location,
    store2: Location,
    tea: Product,  # noqa: F811
    oolong: Product,  # noqa: F811
) -> None:
    cups = ProductFactory.create(sku="CUP-2", name="Tea cups, pair", barcode="6900000000031")
    clerk = StoreUserFactory.create(username="clerk", locations=[store])
    ReceiptFactory.create(location=store, lines={"TEA-500": 6, "OOL-250": 3, "CUP-2": 1})
    ReceiptFactory.create(location=store2, lines={"CUP-2": 4})
    base = live_server.url

    log_in(page, base, clerk, shot)
    page.click("nav >> text=Stock lookup")
    page.wait_for_url("**/staff/stock/**")
    look_up_and_hold(page, TEA, 2, "TEA-500")
    fits(page, shot, "lookup-hold", primary="text=Hold for a customer")
    look_up_and_hold(page, OOLONG, 1, "OOL-250")
    look_up_and_hold(page, "CUP-2", 2, "CUP-2")  # only one here
    assert "Hold ticket: 3 items" in page.inner_text("#ticket-bar")
    fits(page, shot, "lookup-ticket-bar", primary="text=Open the ticket")

    page.click("text=Open the ticket")
    page.wait_for_url("**/staff/reserve/**")
    cup_line = page.locator(".ticket-line[data-sku='CUP-2']")
    assert "only 1 free here" in cup_line.inner_text()
    assert "S02" in cup_line.inner_text() and "Ask S02 to send it here" in cup_line.inner_text()
    fits(page, shot, "ticket-short-item", primary=".hold-form button[type=submit]")

    # Holding it all now is refused, in words, and holds nothing.
    page.fill("input[name=customer_name]", "Wang Fang")
    page.fill("input[name=customer_phone]", "13900000000")
    page.click(".hold-form button[type=submit]")
    page.wait_for_selector(".notice.error:has-text('Nothing was held')")
    assert level(store, tea) == (6, 0)
    # The customer takes the one cup pair there is.
    cup_line.locator("input[name=quantity]").fill("1")
    cup_line.locator("text=Change").click()
    page.wait_for_selector(".notice.ok:has-text('CUP-2: 1 on the ticket now')")
    page.fill("input[name=customer_name]", "Wang Fang")
    page.fill("input[name=customer_phone]", "13900000000")
    page.click(".hold-form button[type=submit]")
    page.wait_for_selector(".notice.ok:has-text('is held until')")
    ticket = HoldTicket.objects.get(status=HoldTicketStatus.HELD)
    assert [level(store, p) for p in (tea, oolong, cups)] == [(6, 2), (3, 1), (1, 1)]
    fits(page, shot, "ticket-held", primary=f"#ticket-{ticket.pk} >> text=Sell at the counter")

    # The customer comes back: sells the tea and the cups, leaves the oolong.
    page.click(f"#ticket-{ticket.pk} >> text=Sell at the counter")
    page.wait_for_url(f"**/staff/reserve/tickets/{ticket.pk}/sell/**")
    page.locator(".ticket-line[data-sku='OOL-250'] input").fill("0")
    fits(page, shot, "ticket-sell", primary="text=Sell and hand over")
    page.click("text=Sell and hand over")
    page.wait_for_selector(".notice.ok:has-text('Sold ticket')")
    notice = page.inner_text(".notice.ok")
    assert f"Sold ticket {ticket.number} as order" in notice
    assert "The 1 unit not taken went back to stock." in notice
    fits(page, shot, "ticket-sold")

    ticket.refresh_from_db()
    sale = ticket.order
    assert ticket.status == HoldTicketStatus.SOLD and sale is not None
    assert (sale.mode, sale.status) == (OrderMode.STORE_SALE, OrderStatus.COMPLETED)
    assert [level(store, p) for p in (tea, oolong, cups)] == [(4, 0), (3, 0), (0, 0)]
    moves = StockMove.objects.filter(reason="sale").values_list("product__sku", "quantity")
    assert sorted(moves) == [("CUP-2", 1), ("TEA-500", 2)]
