"""Receiving by scanning in a real browser at a handheld scanner's 412×915 (Debian's chromium
via Playwright, PostgreSQL behind ``live_server``): a store clerk opens an arriving transfer,
scans it the way a keyboard-wedge scanner types (a code and Enter in a few milliseconds, the
next scan 100 ms later, while earlier scans are still on their way), meets a bad code and an
item that is not on the transfer, logs out and back in to find the count where it was, and
books one short line with a reason. The transfer and the ledger are booked once; the sending
DC finds the shortfall as a count task on its count page. The folder's conftest checks the
ledger invariants after each test.

Screenshots of every step go to ``test-artifacts/screenshots/`` (412×915 and 1366×768).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from inventory.models import (
    DiscrepancyCause,
    DiscrepancyStatus,
    Location,
    MoveReason,
    Product,
    ReceivingScan,
    StockDiscrepancy,
    StockMove,
    Transfer,
    TransferStatus,
)
from inventory.services import transfer_approve, transfer_create, transfer_dispatch
from tests.factories import (
    ProductFactory,
    ReceiptFactory,
    StoreUserFactory,
    WarehouseUserFactory,
)
from tests.helpers import level

# The browser and the screenshots are those of the staff pages' browser test.
from .test_browser import (  # noqa: F401
    OOLONG,
    TEA,
    Shots,
    assert_scan_box_focused,
    browser,
    log_in,
    oolong,
    playwright,
    tea,
)

pytestmark = pytest.mark.django_db(transaction=True)

HANDHELD = {"width": 412, "height": 915}
DESKTOP = {"width": 1366, "height": 768}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def open_tab(chromium: Browser, viewport: dict[str, int], *, handheld: bool) -> Page:
    context = chromium.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        locale="en-US",
        is_mobile=handheld,
        has_touch=handheld,
    )
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture
def handheld(browser: Browser) -> Iterator[Page]:  # noqa: F811
    tab = open_tab(browser, HANDHELD, handheld=True)
    yield tab
    tab.context.close()


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:  # noqa: F811
    tab = open_tab(browser, DESKTOP, handheld=False)
    yield tab
    tab.context.close()


def scanner(page: Page, code: str) -> None:
    """A keyboard-wedge scanner: 13 digits and Enter in about 30 ms."""
    page.keyboard.type(code, delay=2)
    page.keyboard.press("Enter")


def counted(page: Page, sku: str) -> int:
    return int(page.get_attribute(f'#receiving-lines tr[data-sku="{sku}"]', "data-counted") or -1)


def fits(page: Page) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the page scrolls sideways"


@pytest.fixture
def arriving(
    dc: Location,
    store: Location,
    tea: Product,  # noqa: F811
    oolong: Product,  # noqa: F811
) -> Transfer:
    ReceiptFactory.create(location=dc, lines={"TEA-500": 10, "OOL-250": 6})
    transfer = transfer_create(
        source=dc, destination=store, lines=[(tea, 4), (oolong, 3)], reference="REPL-0412"
    )
    return transfer_dispatch(transfer=transfer_approve(transfer=transfer))


def test_a_transfer_is_received_by_scanning_with_one_short_line(
    live_server: Any,
    handheld: Page,
    request: pytest.FixtureRequest,
    dc: Location,
    store: Location,
    tea: Product,  # noqa: F811
    oolong: Product,  # noqa: F811
    arriving: Transfer,
) -> None:
    page, base = handheld, live_server.url
    shot = Shots(page, "receiving_412")
    ProductFactory.create(sku="MUG-01", name="Stray mug", barcode="6900000000550")
    clerk = StoreUserFactory.create(username="receiver", locations=[store])

    log_in(page, base, clerk, shot)
    page.click("nav >> text=Receive")
    page.wait_for_url("**/staff/receiving/**")
    assert f"Transfer {arriving.pk} from DC1" in page.inner_text("#transfers")
    assert page.locator("input.scan").count() == 0  # the list takes no scans
    fits(page)
    shot("expected")

    page.click(f"#transfer-{arriving.pk} >> text=Start receiving")
    page.wait_for_selector("#receiving-lines")
    assert_scan_box_focused(page)
    assert counted(page, "TEA-500") == 0 and counted(page, "OOL-250") == 0  # nothing pre-filled
    fits(page)
    shot("opened")

    # Seven scans 100 ms apart, each typed in ~30 ms: the box must take every one whole.
    for code in (TEA, TEA, OOLONG, TEA, OOLONG, TEA, TEA):
        scanner(page, code)
        page.wait_for_timeout(100)
    page.wait_for_selector('#receiving-lines .progress[data-counted-units="7"]')
    assert counted(page, "TEA-500") == 5 and counted(page, "OOL-250") == 2
    assert ReceivingScan.objects.count() == 7
    assert page.input_value("input.scan") == ""
    shot("scanned")

    # One TEA too many: the clerk recounts that line, at scanner speed again.
    page.click('#receiving-lines tr[data-sku="TEA-500"] >> text=Recount')
    page.wait_for_selector('#receiving-lines .progress[data-counted-units="2"]')
    for _ in range(4):
        scanner(page, TEA)
        page.wait_for_timeout(100)
    page.wait_for_selector('#receiving-lines .progress[data-counted-units="6"]')
    assert counted(page, "TEA-500") == 4

    # A code nobody knows, then an item that is not on this transfer: each says what to do,
    # and the box is empty and ready for the next scan.
    scanner(page, "6900000000999")
    page.wait_for_selector("#receiving-lines .notice.error")
    assert "No item has the code “6900000000999”" in page.inner_text("#receiving-lines .notices")
    assert page.input_value("input.scan") == ""
    assert_scan_box_focused(page)
    scanner(page, "6900000000550")
    page.wait_for_selector("#receiving-lines .notice.error >> text=Stray mug")
    assert (
        f"is not on transfer {arriving.pk} from DC1. Put it aside and call a supervisor, or scan"
        " the next item." in page.inner_text("#receiving-lines .notices")
    )
    assert page.input_value("input.scan") == "" and counted(page, "TEA-500") == 4
    fits(page)
    shot("bad-scan")

    # Log out mid-delivery; the count is in the database, not in the session.
    page.click("text=Log out")
    page.wait_for_url("**/staff/login/**")
    log_in(page, base, clerk, shot)
    page.click("nav >> text=Receive")
    assert "Being counted: 6 units so far" in page.inner_text(f"#transfer-{arriving.pk}")
    page.click(f"#transfer-{arriving.pk} >> text=Continue receiving")
    page.wait_for_selector("#receiving-lines")
    assert counted(page, "TEA-500") == 4 and counted(page, "OOL-250") == 2
    shot("after-login")

    page.click("text=Finish receiving")
    page.wait_for_selector("form.finish")
    assert page.locator("fieldset.reason").count() == 1  # only the oolong differs
    fits(page)
    shot("finish")
    page.click("text=Book the receipt")  # no reason yet: asked again, nothing booked
    page.wait_for_selector(".field-error")
    assert level(store, tea) == (0, 0)
    page.select_option(f"select[name=cause_{oolong.pk}]", "short_in_transit")
    page.fill(f"input[name=note_{oolong.pk}]", "one tin missing from the case")
    shot("reason")
    page.click("text=Book the receipt")
    page.wait_for_url("**/staff/receiving/?at=S01")
    assert (
        f"Received transfer {arriving.pk} from DC1: 6 units booked, 1 line with a difference"
        in page.inner_text("main")
    )
    assert "No transfer is on its way here." in page.inner_text("#transfers")
    fits(page)
    shot("booked")

    # Booked once: one transfer_in per line, the shortfall once, the levels as counted.
    arriving.refresh_from_db()
    assert arriving.status == TransferStatus.RECEIVED
    moves = StockMove.objects.filter(reference=arriving.ledger_reference)
    assert sorted(
        (m.product.sku, m.reason, m.quantity) for m in moves.exclude(reason="transfer_out")
    ) == [
        ("OOL-250", MoveReason.ADJUSTMENT, 1),
        ("OOL-250", MoveReason.TRANSFER_IN, 2),
        ("TEA-500", MoveReason.TRANSFER_IN, 4),
    ]
    assert level(store, tea) == (4, 0) and level(store, oolong) == (2, 0)
    line = arriving.lines.get(product=oolong)
    assert (line.received_quantity, line.discrepancy_cause) == (2, "short_in_transit")

    # The DC, where the tin may still be on the shelf, has it on its count page.
    task = StockDiscrepancy.objects.get()
    assert (task.location, task.cause) == (dc, DiscrepancyCause.TRANSFER_SHORT)
    dc_clerk = WarehouseUserFactory.create(username="dc-counter", locations=[dc])
    page.click("text=Log out")
    log_in(page, base, dc_clerk, shot)
    page.click("nav >> text=Count")
    tasks = page.inner_text("#count-tasks")
    assert f"Transfer {arriving.pk} to S01 arrived short: 2 of 3." in tasks
    fits(page)
    shot("count-task")
    page.click("#count-tasks >> text=Count it")
    page.wait_for_selector(".counting")
    page.keyboard.type("4")  # the cursor waits in the quantity: the DC found one more tin
    page.keyboard.press("Enter")
    page.wait_for_selector(".notice.ok")
    assert "This closed 1 count task for it." in page.inner_text(".notices")
    assert "Nothing is waiting to be counted here." in page.inner_text("#count-tasks")
    shot("counted")
    task.refresh_from_db()
    assert task.status == DiscrepancyStatus.RESOLVED
    assert level(dc, oolong) == (4, 0)


def test_the_receiving_pages_on_a_desktop(
    live_server: Any,
    desktop: Page,
    store: Location,
    tea: Product,  # noqa: F811
    arriving: Transfer,
) -> None:
    page, base = desktop, live_server.url
    shot = Shots(page, "receiving_1366")
    clerk = StoreUserFactory.create(username="receiver", locations=[store])
    log_in(page, base, clerk, shot)
    page.click("nav >> text=Receive")
    page.check(f"#blind-{arriving.pk}")
    shot("expected")
    page.click(f"#transfer-{arriving.pk} >> text=Start receiving")
    page.wait_for_selector("#receiving-lines")
    for _ in range(3):
        scanner(page, TEA)
        page.wait_for_timeout(100)
    page.wait_for_selector('#receiving-lines .progress[data-counted-units="3"]')
    assert "Expected" not in page.inner_text("#receiving-lines")  # a blind count
    fits(page)
    shot("blind")
    page.click("text=Finish receiving")
    page.wait_for_selector("form.finish")
    assert page.locator("fieldset.reason").count() == 2  # tea 3 of 4, oolong 0 of 3
    shot("finish")
    page.click("text=Back to scanning")
    page.wait_for_selector("#receiving-lines")
    assert counted(page, "TEA-500") == 3

    # The same count in Chinese: the page and the answer to a bad scan.
    page.click("button:has-text('简体中文')")
    page.wait_for_selector("html[lang='zh-hans']")  # back on the list, in Chinese
    assert "正在清点：目前已清点 3 件" in page.inner_text("#transfers")
    page.click("text=继续收货")
    page.wait_for_selector("text=完成收货")
    scanner(page, "6900000000999")
    page.wait_for_selector("#receiving-lines .notice.error")
    assert "没有商品的编码是“6900000000999”" in page.inner_text("#receiving-lines .notices")
    fits(page)
    shot("zh")
