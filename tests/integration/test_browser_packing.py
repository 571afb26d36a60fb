"""Packing by scanning in a real browser on a handheld (412 × 915), on PostgreSQL: a batch pick
of one SKU for three orders leaves their units in one cart; at the packing station each unit is
scanned, and the page answers which order and tote it belongs to and packs it there (sort to
order); an order is opened, its last item scanned into its package, the package closed and
shipped, and its shipping label downloaded as a PDF. Scans are typed as a keyboard-wedge
scanner types them, three of them 100 ms apart; every one counts once.

Screenshots of the station and an order are taken at 412 × 915 and at 1366 × 768.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, ViewportSize

from fulfillment import services
from fulfillment.models import Package, PackageStatus, PickLine, PickTask
from inventory.models import Location, Product, StockMove
from network.models import Channel
from orders.models import Order, OrderStatus
from orders.services import LineIn, order_pay, order_place
from tests.factories import HomeBinFactory, ProductFactory, ReceiptFactory, WarehouseUserFactory
from tests.helpers import level

# The browser, its pages and the screenshots are those of the staff pages' browser test.
from .test_browser import (  # noqa: F401
    NEAR_DC,
    Shots,
    assert_scan_box_focused,
    browser,
    log_in,
    page,
    playwright,
    scan,
    tea,
    web,
)

pytestmark = pytest.mark.django_db(transaction=True)

BOTTLE = "6900000000527"
HANDHELD: ViewportSize = {"width": 412, "height": 915}
DESKTOP: ViewportSize = {"width": 1366, "height": 768}
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def _delivery(channel: Channel, ext: str, lines: list[LineIn], promised_in: timedelta) -> Order:
    order, _ = order_place(
        channel=channel,
        external_id=ext,
        mode="delivery",
        delivery=NEAR_DC,
        customer_name=f"Customer {ext}",
        lines=lines,
        promised_at=timezone.now() + promised_in,
    )
    return order_pay(order=order)


def _packed(order: Order, product: Product) -> int:
    return PickLine.objects.get(allocation__line__order=order, product=product).packed


def test_batch_pick_then_sort_to_order_pack_ship_and_print_the_label(
    live_server: Any,
    page: Page,  # noqa: F811
    web: Channel,  # noqa: F811
    dc: Location,
    tea: Product,  # noqa: F811
) -> None:
    shot = Shots(page, "packing")
    page.set_viewport_size(HANDHELD)
    packer = WarehouseUserFactory.create(username="packer", locations=[dc])
    bottle = ProductFactory.create(sku="BAB-0052", name="Baby bottle 250 ml", barcode=BOTTLE)
    HomeBinFactory.create(location=dc, product=bottle, code="A-03-2", sequence=1)
    HomeBinFactory.create(location=dc, product=tea, code="B-01-1", sequence=2)
    ReceiptFactory.create(location=dc, lines={"BAB-0052": 20, "TEA-500": 5})
    soon = _delivery(web, "WEB-1043", [LineIn(product=bottle, quantity=2)], timedelta(hours=2))
    mixed = _delivery(
        web,
        "WEB-1044",
        [LineIn(product=bottle, quantity=1), LineIn(product=tea, quantity=1)],
        timedelta(hours=5),
    )
    late = _delivery(web, "WEB-1045", [LineIn(product=bottle, quantity=3)], timedelta(days=1))

    # The batch pick: one task of 6 × BAB-0052 from A-03-2 into three totes, one of the tea.
    wave = services.pick_wave_create(location=dc, actor=packer)
    bottle_task = PickTask.objects.get(pick_list=wave, product=bottle)
    assert bottle_task.quantity == 6
    totes = dict(
        PickLine.objects.filter(pick_list=wave, product=bottle).values_list(
            "allocation__line__order_id", "tote"
        )
    )
    assert len(set(totes.values())) == 3
    for n in range(6):
        scan_id = f"00000000-0000-0000-0000-00000000000{n}"
        services.pick_task_scan(pick_list=wave, scan_id=scan_id, scanned=BOTTLE)
    services.pick_task_scan(
        pick_list=wave, scan_id="00000000-0000-0000-0000-0000000000ff", scanned="TEA-500"
    )
    base = live_server.url

    log_in(page, base, packer, shot)
    page.click("nav >> text=Pack")
    page.wait_for_url("**/staff/packing/**")
    queue = page.locator("table.pack-queue tbody tr")
    assert queue.count() == 3
    tote_cell = page.inner_text(f"#order-{soon.pk} td.tote")
    assert (
        tote_cell.split()[0] == str(totes[soon.pk]) and f"{wave.pk}-{totes[soon.pk]}" in tote_cell
    )
    late_row = page.inner_text(f"#order-{late.pk}")
    assert "3/3" in late_row and "all picked" in late_row
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert_scan_box_focused(page)
    shot("station-412")

    # Sort to order: each bottle from the cart goes to the oldest promise that still wants one.
    scan(page, BOTTLE)
    page.wait_for_selector(f'[data-sorted-order="{soon.pk}"]')
    notice = page.inner_text("#panel .notices")
    assert f"BAB-0052 → order {soon.pk}, tote {totes[soon.pk]}" in notice and "(1 of 2)" in notice
    assert page.input_value("#pack-code") == ""
    assert_scan_box_focused(page)
    shot("sorted-first-412")
    scan(page, BOTTLE)
    page.wait_for_function(
        "() => document.querySelector('#panel .notices').innerText.includes('(2 of 2)')"
    )
    scan(page, BOTTLE)
    page.wait_for_selector(f'[data-sorted-order="{mixed.pk}"]')
    assert f"tote {totes[mixed.pk]}" in page.inner_text("#panel .sort-target")
    # Three bottles for the last order at scanner speed: typed + Enter, 100 ms apart.
    for _ in range(3):
        page.keyboard.type(BOTTLE, delay=2)
        page.keyboard.press("Enter")
        page.wait_for_timeout(100)
    page.wait_for_function(
        "() => document.querySelector('#pack-scan').dataset.pending === '0'"
        " && document.querySelector('#panel .notices').innerText.includes('(3 of 3)')"
    )
    assert _packed(late, bottle) == 3 and _packed(soon, bottle) == 2 and _packed(mixed, bottle) == 1
    shot("sorted-last-412")
    # A seventh bottle: nobody waits for it, and the page says so in a sentence.
    scan(page, BOTTLE)
    page.wait_for_selector("#panel .notice.error")
    assert "No order here waits for BAB-0052" in page.inner_text("#panel .notices")
    assert sum(PickLine.objects.filter(product=bottle).values_list("packed", flat=True)) == 6
    shot("nothing-to-sort-412")

    # The mixed order: open it by scanning its tote (pick list and tote number), scan its tea
    # into the same package, close, ship.
    scan(page, f"{wave.pk}-{totes[mixed.pk]}")
    page.wait_for_url(f"**/staff/packing/orders/{mixed.pk}/**")
    assert_scan_box_focused(page)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    scan(page, "6900000000999")  # not the order's: refused, the box is empty for the next
    page.wait_for_selector("#panel .notice.error")
    assert page.input_value("#pack-code") == ""
    scan(page, "TEA-500")
    page.wait_for_selector("#panel .notice.ok")
    assert page.get_attribute("#panel", "data-unpacked") == "0"
    assert "1 × TEA-500" in page.inner_text("#open-package")
    shot("order-packed-412")
    page.select_option("#id_close-carrier", "SF Express")
    page.select_option("#id_close-service", "express")
    page.fill("#id_close-weight_kg", "0.8")
    page.fill("#id_close-tracking_number", "SF1234567890")
    page.click("text=Close the package")
    page.wait_for_selector("#panel tr[data-status=packed]")
    assert "tracking number SF1234567890" in page.inner_text("#panel .notices")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    shot("order-closed-412")
    page.set_viewport_size(DESKTOP)
    shot("order-closed-1366")
    page.set_viewport_size(HANDHELD)

    package = Package.objects.get(order=mixed)
    label = page.request.get(f"{base}/staff/packing/packages/{package.pk}/label.pdf?at=DC1")
    assert label.ok and label.headers["content-type"] == "application/pdf"
    assert label.body().startswith(b"%PDF-") and b"SF1234567890" in label.body()

    page.click("button.ship-order")
    page.wait_for_url("**/staff/packing/?**shipped=*")
    assert f"Order {mixed.pk}: 1 package(s) shipped. The order is shipped." in page.inner_text(
        "#panel .notices"
    )
    assert page.locator(f"#order-{mixed.pk}").count() == 0
    assert_scan_box_focused(page)
    shot("shipped-412")
    page.set_viewport_size(DESKTOP)
    shot("station-1366")

    mixed.refresh_from_db()
    package.refresh_from_db()
    assert mixed.status == OrderStatus.SHIPPED and package.status == PackageStatus.SHIPPED
    moves = StockMove.objects.filter(reference=mixed.reference, reason="ship")
    assert sorted((m.product.sku, m.quantity) for m in moves) == [("BAB-0052", 1), ("TEA-500", 1)]
    assert level(dc, bottle) == (19, 5) and level(dc, tea) == (4, 0)
    # The shipped package's label from the station's "shipped recently" list.
    href = page.get_attribute(f'#panel a[href*="/packages/{package.pk}/label.pdf"]', "href")
    assert href is not None and f"/packages/{package.pk}/label.pdf" in href
    again = page.request.get(f"{base}{href}")
    assert again.ok and again.body().startswith(b"%PDF-")
