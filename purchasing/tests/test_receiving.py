"""Receiving against a purchase order: booked once, over-receipt within the supplier's
tolerance, backorders, closing short, the lead time seen, and the scan-by-scan draft."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.errors import NoLines, ReceivingBookedElsewhere, ReceivingClosed
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, ProductCost, ReceivingDraftStatus, StockMove
from inventory.services import receiving_finish
from omni.models import User
from purchasing import services
from purchasing.errors import (
    NotOnPurchaseOrder,
    OverReceipt,
    PurchaseOrderInvalidState,
    ReceiptReasonMissing,
    UnknownPurchaseOrder,
)
from purchasing.models import PurchaseOrder, PurchaseOrderStatus, Supplier, SupplierReceipt
from tests.factories import ProductFactory
from tests.helpers import level

pytestmark = pytest.mark.django_db


def receive(order: PurchaseOrder, key: str, **quantities: int) -> services.ReceiveResult:
    lines = [
        services.ReceiveLine(product=Product.objects.get(sku=sku.replace("_", "-")), quantity=q)
        for sku, q in quantities.items()
    ]
    return services.purchase_order_receive(purchase_order=order, lines=lines, key=key)


def test_a_full_receipt_books_stock_once_and_closes_the_order(
    sent_order: PurchaseOrder, dc: Location, product: Product, product2: Product
) -> None:
    result = receive(sent_order, "k1", SKU_1=24, SKU_2=10)
    assert not result.repeated
    order = result.purchase_order
    assert order.status == PurchaseOrderStatus.RECEIVED and order.closed_at
    assert level(dc, product) == (24, 0) and level(dc, product2) == (10, 0)
    moves = StockMove.objects.filter(to_location=dc)
    assert moves.count() == 2 and {m.note for m in moves} == {order.number}
    receipt = result.supplier_receipt
    assert receipt is not None and receipt.units == 34
    assert receipt.lead_time_days == 0 and receipt.promised_lead_time_days == 7 and receipt.on_time
    # the same key again: answered with the first booking, nothing booked twice
    again = receive(sent_order, "k1", SKU_1=24, SKU_2=10)
    assert again.repeated and again.supplier_receipt == receipt
    assert level(dc, product) == (24, 0) and StockMove.objects.count() == 2
    assert_invariants()


def test_under_receipt_leaves_a_backorder(
    sent_order: PurchaseOrder, dc: Location, product: Product
) -> None:
    order = receive(sent_order, "first", SKU_1=18).purchase_order
    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    line = order.lines.get(product=product)
    assert (line.quantity_received, line.open_quantity) == (18, 6)
    order = receive(order, "second", SKU_1=6, SKU_2=10).purchase_order
    assert order.status == PurchaseOrderStatus.RECEIVED
    assert level(dc, product) == (24, 0)
    assert SupplierReceipt.objects.filter(purchase_order=order).count() == 2


def test_closing_short_ends_the_backorder_and_needs_a_reason(
    sent_order: PurchaseOrder, product: Product, product2: Product
) -> None:
    lines = [
        services.ReceiveLine(product=product, quantity=24),
        services.ReceiveLine(product=product2, quantity=7, close_short=True),
    ]
    with pytest.raises(ReceiptReasonMissing) as refused:
        services.purchase_order_receive(purchase_order=sent_order, lines=lines, key="k")
    assert refused.value.detail["lines"] == [{"sku": "SKU-2", "open": 10, "counted": 7}]
    assert not StockMove.objects.exists()
    lines[1] = services.ReceiveLine(
        product=product2, quantity=7, close_short=True, reason="discontinued"
    )
    order = services.purchase_order_receive(
        purchase_order=sent_order, lines=lines, key="k"
    ).purchase_order
    assert order.status == PurchaseOrderStatus.RECEIVED
    line = order.lines.get(product=product2)
    assert (line.quantity_received, line.quantity_cancelled, line.open_quantity) == (7, 3, 0)
    assert line.close_reason == "discontinued"


def test_over_receipt_beyond_tolerance_is_refused_within_it_booked(
    sent_order: PurchaseOrder, supplier: Supplier, dc: Location, product: Product
) -> None:
    with pytest.raises(OverReceipt) as refused:
        receive(sent_order, "k", SKU_1=25)
    assert refused.value.detail == {
        "sku": "SKU-1",
        "ordered": 24,
        "received": 0,
        "counted": 25,
        "allowed": 24,
    }
    assert "SKU-1" in refused.value.message
    assert level(dc, product) == (0, 0) and not SupplierReceipt.objects.exists()

    Supplier.objects.filter(pk=supplier.pk).update(over_receipt_tolerance=Decimal("10"))
    sent_order.refresh_from_db()
    over = [services.ReceiveLine(product=product, quantity=26)]
    with pytest.raises(ReceiptReasonMissing):  # over what was ordered: say why
        services.purchase_order_receive(purchase_order=sent_order, lines=over, key="k")
    over = [services.ReceiveLine(product=product, quantity=26, reason="bonus pack")]
    order = services.purchase_order_receive(
        purchase_order=sent_order, lines=over, key="k"
    ).purchase_order
    line = order.lines.get(product=product)
    assert line.quantity_received == 26 and line.open_quantity == 0
    assert level(dc, product) == (26, 0)
    with pytest.raises(OverReceipt) as again:  # 10 % of 24 is 2 over, all used
        receive(order, "k2", SKU_1=1)
    assert again.value.detail["allowed"] == 0
    assert_invariants()


def test_refusals_book_nothing(
    sent_order: PurchaseOrder, supplier_items: object, dc: Location, product: Product
) -> None:
    stranger = ProductFactory.create(sku="STRANGER")
    with pytest.raises(NotOnPurchaseOrder) as refused:
        services.purchase_order_receive(
            purchase_order=sent_order,
            lines=[
                services.ReceiveLine(product=product, quantity=5),
                services.ReceiveLine(product=stranger, quantity=1),
            ],
            key="k",
        )
    assert refused.value.detail == {"sku": "STRANGER", "purchase_order": sent_order.number}
    with pytest.raises(NoLines):
        receive(sent_order, "k", SKU_1=0)
    assert not StockMove.objects.exists() and not SupplierReceipt.objects.exists()
    sent_order.refresh_from_db()
    assert sent_order.status == PurchaseOrderStatus.SENT


def test_a_draft_or_cancelled_order_cannot_be_received(
    sent_order: PurchaseOrder, planner: User
) -> None:
    services.purchase_order_cancel(purchase_order=sent_order, actor=planner)
    with pytest.raises(PurchaseOrderInvalidState) as refused:
        receive(sent_order, "k", SKU_1=1)
    assert refused.value.detail["status"] == "cancelled"


def test_late_delivery_records_the_lead_time_seen(
    sent_order: PurchaseOrder, supplier: Supplier
) -> None:
    arrived = timezone.localdate(sent_order.sent_at) + datetime.timedelta(days=10)
    services.purchase_order_receive(
        purchase_order=sent_order,
        lines=[services.ReceiveLine(product=Product.objects.get(sku="SKU-1"), quantity=24)],
        key="late",
        arrived_on=arrived,
    )
    receipt = SupplierReceipt.objects.get()
    assert receipt.lead_time_days == 10 and not receipt.on_time and receipt.days_late == 3
    assert receipt.supplier == supplier
    assert [ln.quantity for ln in receipt.lines.all()] == [24]


# --------------------------------------------------------------------------- scanning


def test_receiving_by_scanning_against_the_po(
    sent_order: PurchaseOrder,
    dc: Location,
    store: Location,
    product: Product,
    product2: Product,
    warehouse_user: User,
) -> None:
    with pytest.raises(UnknownPurchaseOrder):  # it does not ship to the store
        services.purchase_order_receiving_open(purchase_order=sent_order, location=store)
    draft = services.purchase_order_receiving_open(
        purchase_order=sent_order, location=dc, actor=warehouse_user
    )
    assert services.purchase_order_receiving_open(purchase_order=sent_order, location=dc) == draft
    assert draft.supplier_reference == sent_order.number
    for n in range(3):
        services.purchase_order_receiving_scan(
            draft=draft, scan_id=f"s{n}", product=product, quantity=6
        )
    services.purchase_order_receiving_scan(draft=draft, scan_id="s0", product=product, quantity=6)
    with pytest.raises(NotOnPurchaseOrder):
        services.purchase_order_receiving_scan(
            draft=draft, scan_id="x", product=ProductFactory.create(sku="OTHER")
        )
    result = services.purchase_order_receiving_finish(draft=draft, actor=warehouse_user)
    order = result.purchase_order
    # 6 of SKU-1 and all 10 of SKU-2 still to come
    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert level(dc, product) == (18, 0) and level(dc, product2) == (0, 0)
    draft.refresh_from_db()
    assert draft.status == ReceivingDraftStatus.FINISHED and draft.receipt_id
    # finishing again books nothing; a scan on the closed draft is refused
    assert services.purchase_order_receiving_finish(draft=draft).repeated
    with pytest.raises(ReceivingClosed):
        services.purchase_order_receiving_scan(draft=draft, scan_id="late", product=product)
    # the backorder is opened afresh and closed short
    draft2 = services.purchase_order_receiving_open(purchase_order=order, location=dc)
    assert draft2 != draft
    services.purchase_order_receiving_scan(draft=draft2, scan_id="a", product=product, quantity=6)
    order = services.purchase_order_receiving_finish(
        draft=draft2, close_short={product2.pk}, reasons={product2.pk: "out of stock"}
    ).purchase_order
    assert order.status == PurchaseOrderStatus.RECEIVED
    assert level(dc, product) == (24, 0)
    assert_invariants()


def test_a_po_count_is_not_booked_as_a_free_receipt(
    sent_order: PurchaseOrder, dc: Location, product: Product
) -> None:
    """A count opened against a PO is booked by the PO's receipt (which checks the lines and
    moves the PO along); inventory's free-receipt finish refuses it, booking nothing."""
    draft = services.purchase_order_receiving_open(purchase_order=sent_order, location=dc)
    assert draft.booked_by == "purchase_order"
    services.purchase_order_receiving_scan(draft=draft, scan_id="s", product=product, quantity=6)
    with pytest.raises(ReceivingBookedElsewhere) as refused:
        receiving_finish(draft=draft)
    assert refused.value.detail == {"draft": draft.pk, "document": "purchase_order"}
    draft.refresh_from_db()
    assert draft.status == ReceivingDraftStatus.OPEN
    assert level(dc, product) == (0, 0) and not StockMove.objects.exists()
    order = services.purchase_order_receiving_finish(draft=draft).purchase_order
    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED and level(dc, product) == (6, 0)
    assert_invariants()


def test_a_po_receipt_comes_in_at_the_line_cost(
    sent_order: PurchaseOrder, dc: Location, product: Product
) -> None:
    """SKU-1 is on the PO at 6.00: received into an empty company, its average is 6.00; a
    second PO at 9.00 for as many units again moves it to 7.50."""
    receive(sent_order, "k", SKU_1=24)
    assert ProductCost.objects.get(product=product).average_cost == Decimal("6.0000")
    order = services.purchase_order_create(
        supplier=sent_order.supplier,
        ship_to=dc,
        lines=[services.OrderLine(product=product, quantity=24, unit_cost=Decimal("9"))],
    )
    receive(services.purchase_order_send(purchase_order=order), "k", SKU_1=24)
    assert ProductCost.objects.get(product=product).average_cost == Decimal("7.5000")
    assert_invariants()
