"""What is on order (and how positions count it), and how suppliers perform."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.inbound import expected_inbound, inbound_sources
from inventory.models import Location, Product
from inventory.services import transfer_approve, transfer_create
from omni.models import User
from purchasing import selectors, services
from purchasing.models import PurchaseOrder, Supplier, SupplierItem
from tests.factories import ReceiptFactory, SupplierFactory

pytestmark = pytest.mark.django_db


def test_on_order_counts_open_quantities_of_sent_orders_only(
    sent_order: PurchaseOrder,
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    product: Product,
    product2: Product,
) -> None:
    # a draft is not on order yet
    services.purchase_order_create(
        supplier=supplier_items[0].supplier,
        ship_to=dc,
        lines=[services.OrderLine(product=product, quantity=12)],
    )
    assert selectors.on_order([dc.pk]) == {(product.pk, dc.pk): 24, (product2.pk, dc.pk): 10}
    services.purchase_order_receive(
        purchase_order=sent_order,
        lines=[services.ReceiveLine(product=product, quantity=18)],
        key="k",
    )
    assert selectors.on_order([dc.pk], [product.pk]) == {(product.pk, dc.pk): 6}
    services.purchase_order_line_close(purchase_order=sent_order, product=product, reason="gone")
    assert selectors.on_order([dc.pk]) == {(product2.pk, dc.pk): 10}
    services.purchase_order_cancel(purchase_order=sent_order)
    assert selectors.on_order([dc.pk]) == {}


def test_expected_inbound_adds_open_orders_to_transfers(
    city: object, dc: Location, store: Location, product: Product, planner: User
) -> None:
    """Inventory counts transfers; purchasing registered its open orders (apps.py)."""
    assert inbound_sources() == ["transfers", "purchase_orders"]
    direct = SupplierFactory.create(code="DIRECT", delivers_to_stores=True)
    SupplierItem.objects.create(supplier=direct, product=product, cost=1, lead_time_days=2)
    order = services.purchase_order_create(
        supplier=direct, ship_to=store, lines=[services.OrderLine(product=product, quantity=5)]
    )
    services.purchase_order_send(purchase_order=order)
    ReceiptFactory.create(location=dc, lines={product: 20})
    transfer_approve(transfer=transfer_create(source=dc, destination=store, lines=[(product, 3)]))
    assert expected_inbound(location_ids=[store.pk]) == {(product.pk, store.pk): 8}


def test_supplier_performance(
    sent_order: PurchaseOrder, supplier: Supplier, product: Product, product2: Product
) -> None:
    sent_on = timezone.localdate(sent_order.sent_at)
    services.purchase_order_receive(
        purchase_order=sent_order,
        lines=[services.ReceiveLine(product=product, quantity=24)],
        key="a",
        arrived_on=sent_on + datetime.timedelta(days=6),
    )
    services.purchase_order_receive(
        purchase_order=sent_order,
        lines=[
            services.ReceiveLine(product=product2, quantity=5, close_short=True, reason="short")
        ],
        key="b",
        arrived_on=sent_on + datetime.timedelta(days=12),
    )
    idle = SupplierFactory.create(code="IDLE")
    rows = selectors.supplier_performance(
        since=sent_on, until=sent_on + datetime.timedelta(days=30), suppliers=[supplier, idle]
    )
    acme, quiet = rows
    assert acme.deliveries == 2 and acme.on_time_rate == 0.5
    assert acme.lead_time_mean == 9.0 and acme.promised_lead_time_mean == 7.0
    assert acme.lead_time_p90 == pytest.approx(11.4)
    assert (acme.lines_closed, acme.units_ordered, acme.units_received) == (2, 34, 29)
    assert acme.fill_rate == pytest.approx(29 / 34)
    assert quiet.deliveries == 0 and quiet.on_time_rate is None and quiet.fill_rate is None


def test_lead_time_seen_falls_back_to_the_promised_one(
    supplier_items: tuple[SupplierItem, SupplierItem], dc: Location, product: Product
) -> None:
    item = supplier_items[0]
    seen = selectors.lead_time_seen(item)
    assert (seen.days, seen.source, seen.observations) == (7.0, "promised", 0)
    for n, days in enumerate((9, 10, 11)):
        order = services.purchase_order_create(
            supplier=item.supplier,
            ship_to=dc,
            lines=[services.OrderLine(product=product, quantity=12)],
        )
        order = services.purchase_order_send(purchase_order=order)
        services.purchase_order_receive(
            purchase_order=order,
            lines=[services.ReceiveLine(product=product, quantity=12)],
            key=f"k{n}",
            arrived_on=timezone.localdate(order.sent_at) + datetime.timedelta(days=days),
        )
        if n < 2:
            assert selectors.lead_time_seen(item).source == "promised"
    seen = selectors.lead_time_seen(item)
    assert (seen.days, seen.source, seen.observations, seen.promised) == (10.0, "seen", 3, 7)
    assert seen.p90 == pytest.approx(10.8)


def test_preferred_supplier_item(supplier_items: tuple[SupplierItem, SupplierItem]) -> None:
    first, second = supplier_items
    assert selectors.preferred_supplier_item(first.product_id) == first
    assert selectors.preferred_supplier_item(second.product_id) is None
    assert first.cost == Decimal("6.0000")
