"""Receiving against a purchase order on PostgreSQL with real threads: two receipts of the same
PO line at once book it once (the same delivery sent twice, or two deliveries where only one
fits the order), two clerks opening a PO share one draft, and a finish raced by a second finish
books once. The folder's conftest checks the ledger invariants after each test."""

from __future__ import annotations

from collections import Counter

import pytest

from inventory.models import Location, Product, ReceivingDraft, StockMove
from omni.models import User
from purchasing import services
from purchasing.errors import OverReceipt
from purchasing.models import (
    PurchaseOrder,
    PurchaseOrderDraft,
    PurchaseOrderStatus,
    SupplierItem,
    SupplierReceipt,
)
from tests.helpers import level

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
THREADS = 4


def _sent_orders(
    items: tuple[SupplierItem, SupplierItem], dc: Location, product: Product, count: int
) -> list[PurchaseOrder]:
    orders = []
    for _ in range(count):
        order = services.purchase_order_create(
            supplier=items[0].supplier,
            ship_to=dc,
            lines=[services.OrderLine(product=product, quantity=24)],
        )
        orders.append(services.purchase_order_send(purchase_order=order))
    return orders


def test_the_same_receipt_sent_at_once_books_once(
    supplier_items: tuple[SupplierItem, SupplierItem], dc: Location, product: Product
) -> None:
    orders = _sent_orders(supplier_items, dc, product, ROUNDS)
    for order in orders:

        def work(_: int, order_id: int = order.pk) -> bool:
            result = services.purchase_order_receive(
                purchase_order=PurchaseOrder.objects.get(pk=order_id),
                lines=[services.ReceiveLine(product=product, quantity=24)],
                key="delivery-note-77",
            )
            return result.repeated

        assert Counter(run_together(work, threads=THREADS)) == {False: 1, True: THREADS - 1}
    assert level(dc, product) == (24 * ROUNDS, 0)
    assert StockMove.objects.filter(to_location=dc).count() == ROUNDS
    assert SupplierReceipt.objects.count() == ROUNDS
    for order in orders:
        order.refresh_from_db()
        assert order.status == PurchaseOrderStatus.RECEIVED
        assert order.lines.get().quantity_received == 24


def test_two_deliveries_of_the_whole_line_at_once_book_one(
    supplier_items: tuple[SupplierItem, SupplierItem], dc: Location, product: Product
) -> None:
    """Two clerks each book the full line under their own key: the PO's lock makes the second
    see the first, and its units are over the (zero) tolerance. (The PO's other line is still
    open, so the PO stays open for receiving.)"""
    other = supplier_items[1].product
    orders = []
    for _ in range(ROUNDS):
        order = services.purchase_order_create(
            supplier=supplier_items[0].supplier,
            ship_to=dc,
            lines=[
                services.OrderLine(product=product, quantity=24),
                services.OrderLine(product=other, quantity=10),
            ],
        )
        orders.append(services.purchase_order_send(purchase_order=order))
    for order in orders:

        def work(thread: int, order_id: int = order.pk) -> str:
            try:
                services.purchase_order_receive(
                    purchase_order=PurchaseOrder.objects.get(pk=order_id),
                    lines=[services.ReceiveLine(product=product, quantity=24)],
                    key=f"clerk-{thread}",
                )
            except OverReceipt as refused:
                return str(refused.code)
            return "booked"

        assert Counter(run_together(work, threads=2)) == {"booked": 1, "over_receipt": 1}
    assert level(dc, product) == (24 * ROUNDS, 0)
    assert SupplierReceipt.objects.count() == ROUNDS
    assert all(
        o.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
        for o in PurchaseOrder.objects.filter(pk__in=[o.pk for o in orders])
    )


def test_two_clerks_share_one_draft_and_finish_once(
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    product: Product,
    warehouse_user: User,
) -> None:
    (order,) = _sent_orders(supplier_items, dc, product, 1)
    drafts = run_together(
        lambda _: (
            services.purchase_order_receiving_open(
                purchase_order=PurchaseOrder.objects.get(pk=order.pk), location=dc
            ).pk
        ),
        threads=THREADS,
    )
    assert len(set(drafts)) == 1 and PurchaseOrderDraft.objects.count() == 1
    draft = ReceivingDraft.objects.get(pk=drafts[0])
    run_together(
        lambda i: services.purchase_order_receiving_scan(
            draft=ReceivingDraft.objects.get(pk=draft.pk),
            scan_id=f"scan-{i % 2}",  # each scan sent twice
            product=product,
            quantity=6,
        ),
        threads=THREADS,
    )
    repeated = run_together(
        lambda _: (
            services.purchase_order_receiving_finish(
                draft=ReceivingDraft.objects.get(pk=draft.pk), actor=warehouse_user
            ).repeated
        ),
        threads=THREADS,
    )
    assert Counter(repeated) == {False: 1, True: THREADS - 1}
    assert level(dc, product) == (12, 0)
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    assert order.lines.get().open_quantity == 12
