"""The staff pages in a real browser (Debian's chromium, headless, driven by Playwright) against
the app served by pytest-django's ``live_server`` on PostgreSQL: a warehouse picker scans a
wave and ships it, a store clerk prepares a pickup and hands it over against the customer's QR
code. Keys are typed the way a keyboard-wedge scanner types them (characters, then Enter), and
the scan box must keep the focus after every scan.

Every page visited is saved, full page, to ``test-artifacts/screenshots/<test>-<step>.png``.
The folder's conftest checks the ledger invariants after each test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from fulfillment import services
from fulfillment.models import PickupCode
from inventory.models import Location, Product, StockMove
from network.models import Channel, ChannelKind, Service, ShelfProtection
from omni.models import City, User
from orders.models import Order, OrderStatus
from orders.services import DeliveryPoint, LineIn, order_pay, order_place
from tests.factories import (
    ChannelFactory,
    HomeBinFactory,
    LocationServiceFactory,
    ProductFactory,
    ReceiptFactory,
    StoreUserFactory,
    WarehouseUserFactory,
)
from tests.helpers import level

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself
# (fixtures, ledger checks) are plain synchronous code, which Django then refuses by default.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TEA, OOLONG = "6900000000017", "6900000000024"
NEAR_DC = DeliveryPoint(latitude=30.1850, longitude=120.2600, address="88 Binjiang Road")
SCAN_FOCUSED = (
    "document.activeElement !== null && document.activeElement.dataset.scan !== undefined"
)
FOCUS_ON_NEXT_STEP = "(label) => document.activeElement.textContent.trim() === label"


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    """Opens pages at a viewport (``handheld``: a touch phone); closes them after the test."""
    contexts = []

    def open_at(viewport: ViewportSize, *, handheld: bool = False) -> Page:
        context = browser.new_context(
            viewport=viewport, locale="en-US", is_mobile=handheld, has_touch=handheld
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_at
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


class Shots:
    """Numbered full-page screenshots of one test: ``<test>-<nn>-<step>.png``."""

    def __init__(self, page: Page, test: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page, self.test, self.n = page, test, 0

    def __call__(self, step: str) -> None:
        self.n += 1
        path = SCREENSHOTS / f"{self.test}-{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name.removeprefix("test_"))


def log_in(page: Page, base: str, user: User, shot: Shots) -> None:
    page.goto(f"{base}/staff/login/")
    shot("login")
    page.fill("input[name=username]", user.get_username())
    page.fill("input[name=password]", f"pw-{user.get_username()}")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/staff/")
    shot("home")


def scan(page: Page, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code into whatever has focus, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def assert_scan_box_focused(page: Page) -> None:
    page.wait_for_function(SCAN_FOCUSED, timeout=3_000)
    assert page.evaluate(SCAN_FOCUSED)


# --------------------------------------------------------------------------- data


@pytest.fixture
def tea(db: Any) -> Product:
    return ProductFactory.create(sku="TEA-500", name="Green tea 500 ml", barcode=TEA)


@pytest.fixture
def oolong(db: Any) -> Product:
    return ProductFactory.create(sku="OOL-250", name="Oolong 250 g tin", barcode=OOLONG)


@pytest.fixture
def web(city: City, dc: Location, store: Location) -> Channel:
    """A web shop shipping from the DC and offering pickup at S01."""
    LocationServiceFactory.go_live(dc, Service.SHIP)
    LocationServiceFactory.go_live(store, Service.PICKUP, Service.SHIP)
    ShelfProtection.objects.create(location=store, product=None, quantity=0)
    return ChannelFactory.create(code="web", kind=ChannelKind.WEB, city=city, serves=[dc, store])


# --------------------------------------------------------------------------- (a) the DC


def test_warehouse_picks_a_wave_by_scanning_then_packs_and_ships(
    live_server: Any,
    page: Page,
    shot: Shots,
    web: Channel,
    dc: Location,
    tea: Product,
    oolong: Product,
) -> None:
    picker = WarehouseUserFactory.create(username="picker", locations=[dc])
    HomeBinFactory.create(location=dc, product=tea, code="A-01-1", sequence=1)
    HomeBinFactory.create(location=dc, product=oolong, code="B-03-2", sequence=2)
    ReceiptFactory.create(location=dc, lines={"TEA-500": 10, "OOL-250": 6})
    order, _ = order_place(
        channel=web,
        external_id="WEB-1001",
        mode="delivery",
        delivery=NEAR_DC,
        customer_name="Wang Fang",
        lines=[LineIn(product=tea, quantity=2), LineIn(product=oolong, quantity=1)],
    )
    order = order_pay(order=order)
    base = live_server.url

    log_in(page, base, picker, shot)
    page.click("nav >> text=Pick")
    page.wait_for_url("**/staff/picking/**")
    assert "2 lines wait to be picked here." in page.inner_text("main")
    shot("picking")

    page.click("text=Start this wave")
    page.wait_for_selector("#pick-task")
    assert page.inner_text("h1").endswith("Pick list " + page.url.split("/")[-2])
    assert_scan_box_focused(page)
    shot("pick-list")

    # Bin order: the tea (A-01-1) twice, then the oolong (B-03-2), with one wrong item between.
    assert page.inner_text("#pick-task .bin-code") == "A-01-1"
    scan(page, TEA)
    page.wait_for_selector('#pick-task[data-units-picked="1"]')
    assert "Picked 1 × TEA-500" in page.inner_text("#pick-task .notices")
    assert_scan_box_focused(page)
    assert page.input_value("input[data-scan]") == ""  # emptied for the next scan
    shot("scanned-first")

    scan(page, "6900000000999")
    page.wait_for_selector("#pick-task .notice.error")
    assert "Scan TEA-500" in page.inner_text("#pick-task .notices")
    assert page.get_attribute("#pick-task", "data-units-picked") == "1"
    assert_scan_box_focused(page)
    shot("wrong-item")

    scan(page, TEA)
    page.wait_for_selector('#pick-task[data-units-picked="2"]')
    assert page.inner_text("#pick-task .bin-code") == "B-03-2"
    assert_scan_box_focused(page)
    scan(page, OOLONG)
    page.wait_for_selector('#pick-task[data-status="done"]')
    assert page.get_attribute("#pick-task", "data-units-picked") == "3"
    assert "Pick list done" in page.inner_text("#pick-task")
    # The scan box is gone with the last stop; Enter now leads on to packing.
    assert page.locator("input[data-scan]").count() == 0
    page.wait_for_function(FOCUS_ON_NEXT_STEP, arg="Pack and ship", timeout=3_000)
    shot("pick-done")

    pick_url = page.url
    page.click("text=Print")
    page.wait_for_selector("table.print-list")
    assert page.locator("table.print-list.stops tbody tr").count() == 2
    assert page.locator("table.totes-legend tbody tr").count() == 1
    assert page.locator("nav").count() == 0
    shot("print")
    page.emulate_media(media="print")
    assert not page.is_visible("button:has-text('Print')")
    shot("print-as-printed")
    page.emulate_media(media="screen")

    page.goto(pick_url)
    page.wait_for_function(FOCUS_ON_NEXT_STEP, arg="Pack and ship", timeout=3_000)
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/packing/**")
    card = page.locator(f"#order-{order.pk}")
    assert "WEB-1001" in card.inner_text() and "Wang Fang" in card.inner_text()
    assert "all picked" in card.inner_text()
    # The station's scan box has the focus: the order number opens the order.
    assert_scan_box_focused(page)
    shot("packing")
    scan(page, "WEB-1001")
    page.wait_for_url(f"**/staff/packing/orders/{order.pk}/**")
    assert_scan_box_focused(page)
    for code in (TEA, TEA, OOLONG):  # each item into the package
        scan(page, code)
        page.wait_for_selector("#panel .notice.ok")
        assert page.input_value("#pack-code") == ""
    page.wait_for_selector('#panel[data-unpacked="0"]')
    page.select_option("#id_close-carrier", "SF Express")
    page.fill("#id_close-tracking_number", "SF1234567890")
    page.click("text=Close the package")
    page.wait_for_selector("#panel tr[data-status=packed]")
    shot("packed")
    page.click("button.ship-order")
    page.wait_for_url("**/staff/packing/?**shipped=*")
    assert "The order is shipped." in page.inner_text("#panel .notices")
    assert "Nothing picked here waits to be packed." in page.inner_text("#panel")
    assert "SF Express SF1234567890" in page.inner_text("#panel")
    shot("shipped")

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    moves = StockMove.objects.filter(reference=order.reference, reason="ship")
    assert sorted((m.product.sku, m.quantity, m.from_location.code) for m in moves) == [
        ("OOL-250", 1, "DC1"),
        ("TEA-500", 2, "DC1"),
    ]
    assert level(dc, tea) == (8, 0) and level(dc, oolong) == (5, 0)


# --------------------------------------------------------------------------- (b) the store


def test_store_clerk_prepares_a_pickup_and_hands_it_over_against_the_code(
    live_server: Any,
    page: Page,
    shot: Shots,
    web: Channel,
    store: Location,
    tea: Product,
) -> None:
    clerk = StoreUserFactory.create(username="clerk", locations=[store])
    ReceiptFactory.create(location=store, lines={"TEA-500": 5})
    order, _ = order_place(
        channel=web,
        external_id="WEB-2001",
        mode="pickup",
        store=store,
        customer_name="Li Lei",
        customer_phone="13800000000",
        lines=[LineIn(product=tea, quantity=2)],
    )
    base = live_server.url

    log_in(page, base, clerk, shot)
    page.click("nav >> text=Pickups")
    page.wait_for_url("**/staff/pickups/**")
    assert_scan_box_focused(page)  # the handover box
    shot("pickups-to-prepare")

    page.click(f"#pickup-{order.pk} >> text=Prepare")
    page.wait_for_selector("#pick-task")
    assert_scan_box_focused(page)
    shot("pick-list")
    scan(page, TEA)
    page.wait_for_selector('#pick-task[data-units-picked="1"]')
    assert_scan_box_focused(page)
    scan(page, "tea-500")  # typed by hand: the SKU in any case
    page.wait_for_selector('#pick-task[data-status="done"]')
    assert page.locator("input[data-scan]").count() == 0
    page.wait_for_function(FOCUS_ON_NEXT_STEP, arg="Pickups", timeout=3_000)
    shot("pick-done")

    page.keyboard.press("Enter")  # back to the pickup queue
    page.wait_for_url("**/staff/pickups/**")
    shot("pickups-being-picked")
    page.click(f"#pickup-{order.pk} >> text=Mark ready")
    page.wait_for_selector("#pickup-panel .notice.ok")
    assert "is ready for pickup" in page.inner_text("#pickup-panel .notices")
    ready_row = page.inner_text(f"#pickup-{order.pk}")
    assert "Li Lei" in ready_row and "13800000000" in ready_row
    shot("pickup-ready")

    page.click(f"#pickup-{order.pk} >> text=Show code")
    page.wait_for_selector(".qr svg")
    token = services.pickup_token(PickupCode.objects.get(order=order))
    assert page.input_value("textarea[data-token]") == token
    shot("customer-code")

    page.go_back()
    page.wait_for_selector("#handover")
    assert_scan_box_focused(page)
    scan(page, token)
    page.wait_for_selector('[data-result="redeemed"]')
    result = page.inner_text(".handover-result")
    assert f"Hand over order {order.pk}: 2 × TEA-500 Green tea 500 ml" in result
    assert_scan_box_focused(page)
    assert page.input_value("input[data-scan]") == ""
    shot("handover-ok")

    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    assert StockMove.objects.get(reference=order.reference, reason="pickup").quantity == 2
    assert level(store, tea) == (3, 0)

    scan(page, token)  # the same code again
    page.wait_for_selector('[data-result="pickup_code_used"]')
    refusal = page.inner_text(".handover-result")
    assert "This code was used already" in refusal and "Do not hand over" in refusal
    assert "pickup_code_used" not in refusal
    assert_scan_box_focused(page)
    shot("handover-used")
    assert StockMove.objects.filter(reference=order.reference, reason="pickup").count() == 1
    assert Order.objects.get(pk=order.pk).status == OrderStatus.COMPLETED
