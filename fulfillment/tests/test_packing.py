"""Packing by scanning: the offering rule, sort to order, scans into an order's open package
(idempotent by scan id, over-packing refused), closing, shipping, partial shipments, and the
packing slip and shipping label PDFs. Each story ends with the ledger invariants."""

from __future__ import annotations

import contextlib
import re
import zlib
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from fulfillment import documents, packing, selectors, services
from fulfillment.errors import (
    NotFullyPicked,
    NothingToSort,
    NotInOrder,
    OverPack,
    PackageInvalidState,
)
from fulfillment.models import Package, PackageStatus, PackScan, PickLine
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, StockMove
from network.models import Channel
from orders.models import Order, OrderStatus
from tests.factories import NEAR_DC, OrderFactory, ReceiptFactory
from tests.helpers import level

from .fixtures import A_BARCODE, B_BARCODE, pick_all


def _order(web: Channel, ext: str, lines: dict[Product, int], **kw: Any) -> Order:
    return OrderFactory.create(
        channel=web, external_id=ext, lines=lines, delivery=NEAR_DC, paid=True, **kw
    )


def _line(order: Order, product: Product) -> PickLine:
    return PickLine.objects.get(allocation__line__order=order, product=product)


def test_an_order_is_offered_for_packing_only_when_fully_picked_or_as_a_partial_shipment(
    web: Channel, dc: Location, goods: tuple[Product, Product], warehouse_user: Any
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    order = _order(web, "w1", {a: 2, b: 1})
    services.pick_wave_create(location=dc)
    services.pick_line_confirm(pick_line=_line(order, a), scanned=A_BARCODE, quantity=2)

    queue, waiting = selectors.pack_queue(dc)
    assert waiting == 1
    (entry,) = queue
    assert not entry.ready
    assert (entry.progress.picked, entry.progress.wanted) == (2, 3)  # type: ignore[union-attr]
    # B is still to pick: packing A is refused, with the units in the sentence...
    with pytest.raises(NotFullyPicked) as refused:
        packing.package_scan(order=order, location=dc, scanned=A_BARCODE, scan_id="s1")
    assert refused.value.detail == {"order": order.pk, "picked": 2, "wanted": 3}
    assert "2 of 3 units" in refused.value.message
    with pytest.raises(NotFullyPicked):
        services.package_create(order=order, location=dc)
    assert not Package.objects.exists() and not PackScan.objects.exists()
    # ... unless the packer ships what is picked now; then the open package takes more scans.
    packing.package_scan(order=order, location=dc, scanned=A_BARCODE, scan_id="s1", partial=True)
    result = packing.package_scan(order=order, location=dc, scanned="a", scan_id="s2")
    assert (result.packed, result.wanted) == (2, 2)
    package = packing.package_close(package=result.scan.package, carrier="SF Express")
    assert package.tracking_number.startswith("DC1") and len(package.tracking_number) == 13
    packing.order_packages_ship(order=order, location=dc, actor=warehouse_user)
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert level(dc, a) == (8, 0) and level(dc, b) == (10, 1)  # B stays held, still open

    # The rest is picked: the order is offered again, ready this time, and ships in full.
    services.pick_line_confirm(pick_line=_line(order, b), scanned=B_BARCODE)
    (entry,) = selectors.pack_queue(dc)[0]
    assert entry.ready and [i.product.sku for i in entry.items if i.ready] == ["B"]
    rest = packing.package_scan(order=order, location=dc, scanned=B_BARCODE, scan_id="s3")
    packing.package_close(package=rest.scan.package, tracking_number="SF999")
    packing.order_packages_ship(order=order, location=dc)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert selectors.pack_queue(dc) == ([], 0)
    assert_invariants()


def test_a_short_pick_re_sourced_away_leaves_the_order_ready(
    web: Channel, dc: Location, goods: tuple[Product, Product]
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 1})
    order = _order(web, "w1", {a: 1, b: 1})
    services.pick_wave_create(location=dc)
    services.pick_line_confirm(pick_line=_line(order, a), scanned="A")
    services.pick_line_short(pick_line=_line(order, b), found=0)  # nowhere else: backordered
    (entry,) = selectors.pack_queue(dc)[0]
    assert entry.ready and (entry.progress.picked, entry.progress.wanted) == (1, 1)  # type: ignore[union-attr]
    packing.package_scan(order=order, location=dc, scanned="A", scan_id="x")
    assert_invariants()


def test_sort_to_order_sends_each_unit_to_the_oldest_promise_and_packs_it(
    web: Channel, dc: Location, goods: tuple[Product, Product]
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 20, "B": 5})
    now = timezone.now()
    late = _order(web, "late", {a: 1}, promised_at=now + timedelta(days=2))
    soon = _order(web, "soon", {a: 2}, promised_at=now + timedelta(hours=3))
    no_promise = _order(web, "none", {a: 1})
    waiting = _order(web, "waiting", {a: 1, b: 1}, promised_at=now + timedelta(hours=1))
    services.pick_wave_create(location=dc)
    for order in (late, soon, no_promise):
        services.pick_line_confirm(pick_line=_line(order, a), scanned="A", quantity=1)
    services.pick_line_confirm(pick_line=_line(soon, a), scanned="A")
    services.pick_line_confirm(pick_line=_line(waiting, a), scanned="A")  # B not picked yet

    # "waiting" has the oldest promise but is still being picked: the unit goes where it can
    # be packed now, the next oldest promise.
    target = selectors.sort_to_order(dc, a)
    assert target is not None and target.order == soon and target.ready
    sorted_to = []
    for n in range(4):
        result = packing.pack_station_scan(location=dc, product=a, scan_id=f"st{n}")
        assert result is not None
        sorted_to.append(result.order.external_id)
    assert sorted_to == ["soon", "soon", "late", "none"]
    # Only the order still being picked waits for A now: it is named, nothing is packed.
    assert packing.pack_station_scan(location=dc, product=a, scan_id="st9") is None
    assert packing.station_target(dc, a)[0] == waiting
    with pytest.raises(NothingToSort):
        packing.pack_station_scan(location=dc, product=b, scan_id="st10")
    assert Package.objects.filter(status=PackageStatus.OPEN).count() == 3
    # A repeated station scan is the same scan: nothing more is packed.
    again = packing.pack_station_scan(location=dc, product=a, scan_id="st0")
    assert again is not None and again.repeated and again.order == soon
    assert sum(PickLine.objects.values_list("packed", flat=True)) == 4
    assert_invariants()


def test_sort_to_order_costs_four_queries_whatever_the_number_of_orders(
    web: Channel, dc: Location, goods: tuple[Product, Product], django_assert_max_num_queries: Any
) -> None:
    a, _ = goods
    ReceiptFactory.create(location=dc, lines={"A": 100})
    orders = [_order(web, f"o{n}", {a: 1}) for n in range(30)]
    pick_all(services.pick_wave_create(location=dc))
    for n, order in enumerate(orders[:25]):
        packing.package_scan(order=order, location=dc, scanned="A", scan_id=f"p{n}")
    with django_assert_max_num_queries(4):
        target = selectors.sort_to_order(dc, a)
    assert target is not None and target.order == orders[25]
    # The partial index holds the work in progress only: the 5 lines not packed.
    assert selectors.unpacked_lines(dc).count() == 5


def test_pack_by_scanning_counts_each_scan_id_once_and_refuses_over_packing(
    web: Channel, dc: Location, goods: tuple[Product, Product], warehouse_user: Any
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    order = _order(web, "w1", {a: 2, b: 1}, customer_name="Wang Fang")
    other = _order(web, "w2", {b: 3})
    pick_all(services.pick_wave_create(location=dc))

    first = packing.package_scan(
        order=order, location=dc, scanned=A_BARCODE, scan_id="dev-1", actor=warehouse_user
    )
    assert not first.repeated and (first.packed, first.wanted) == (1, 2)
    again = packing.package_scan(order=order, location=dc, scanned=A_BARCODE, scan_id="dev-1")
    assert again.repeated and again.scan == first.scan and again.packed == 1
    packing.package_scan(order=order, location=dc, scanned=A_BARCODE, scan_id="dev-2")
    with pytest.raises(OverPack) as over:
        packing.package_scan(order=order, location=dc, scanned=A_BARCODE, scan_id="dev-3")
    assert "needs no more A" in over.value.message
    assert over.value.detail["packed"] == 2
    with pytest.raises(NotInOrder) as wrong:
        packing.package_scan(order=other, location=dc, scanned=A_BARCODE, scan_id="dev-4")
    assert wrong.value.detail["belongs_to"] is None  # every picked A is packed already
    assert _line(order, a).packed == 2
    assert PackScan.objects.count() == 2

    package = first.scan.package
    assert package.status == PackageStatus.OPEN
    with pytest.raises(PackageInvalidState):
        services.package_ship(package=package)  # an open package cannot leave
    closed = packing.package_close(
        package=package, carrier="ZTO Express", service="express", weight_grams=850
    )
    assert closed.status == PackageStatus.PACKED and closed.weight_grams == 850
    # Another package for the rest of the same order.
    second = packing.package_scan(order=order, location=dc, scanned="b", scan_id="dev-5")
    assert second.scan.package != package
    packing.package_close(package=second.scan.package, tracking_number="ZTO-2")
    assert selectors.package_number(second.scan.package) == selectors.PackageNumber(2, 2)
    shipped = packing.order_packages_ship(order=order, location=dc, actor=warehouse_user)
    assert len(shipped) == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    moves = StockMove.objects.filter(reference=order.reference, reason="ship")
    assert sorted((m.product.sku, m.quantity) for m in moves) == [("A", 2), ("B", 1)]
    assert_invariants()


def _pdf_text(content: bytes) -> str:
    """The literal strings of a PDF's page streams (uncompressed, or deflated)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, flags=re.S)
    text = []
    for stream in streams:
        with contextlib.suppress(zlib.error):
            stream = zlib.decompress(stream)
        for literal in re.findall(rb"\((.*?)\) Tj", stream):
            text.append(re.sub(r"\\([()\\])", r"\1", literal.decode("latin-1")))
    return "\n".join(text)


def test_packing_slip_and_shipping_label_are_pdfs_with_the_order_on_them(
    web: Channel, dc: Location, goods: tuple[Product, Product], warehouse_user: Any
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    order = _order(web, "WEB-1043", {a: 2, b: 1}, customer_name="王芳")
    pick_all(services.pick_wave_create(location=dc))
    scan = packing.package_scan(
        order=order, location=dc, scanned="A", scan_id="1", quantity=2, actor=warehouse_user
    )
    package = packing.package_close(
        package=scan.scan.package, carrier="SF Express", tracking_number="SF1234567890"
    )
    packing.package_scan(order=order, location=dc, scanned="B", scan_id="2")

    slip = documents.packing_slip_pdf(package)
    assert slip.startswith(b"%PDF-")
    text = _pdf_text(slip)
    assert f"Order {order.pk} (WEB-1043)" in text
    assert "Package 1 of 2" in text
    assert "A" in text.split("\n") and "2" in text.split("\n")
    assert f"Packed by {warehouse_user.get_username()}" in text

    label = documents.shipping_label_pdf(package)
    assert label.startswith(b"%PDF-")
    text = _pdf_text(label)
    assert "SF1234567890" in text and "SF Express" in text
    assert f"Order {order.pk} (WEB-1043)" in text and "Package 1 of 2" in text
    # 100 × 150 mm, in points
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", label)
    assert box is not None
    assert (round(float(box.group(1))), round(float(box.group(2)))) == (283, 425)
    # The barcode: Code128 bars are filled rectangles drawn in the page stream.
    assert label.count(b" re") > 30
