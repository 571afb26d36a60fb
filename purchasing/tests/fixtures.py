"""Fixtures of purchasing (a pytest plugin, listed in the root conftest): a supplier of the
test city's two products delivering to the DC, and a purchase order of them sent to it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Location, Product
from omni.models import User
from purchasing.models import PurchaseOrder, Supplier, SupplierItem
from purchasing.services import OrderLine, purchase_order_create, purchase_order_send
from tests.factories import SupplierFactory, SupplierItemFactory


@pytest.fixture
def supplier(db: object) -> Supplier:
    return SupplierFactory.create(code="ACME", name="Acme Trading")


@pytest.fixture
def supplier_items(
    supplier: Supplier, product: Product, product2: Product
) -> tuple[SupplierItem, SupplierItem]:
    """SKU-1 at 6.00 in cases of 6 (MOQ 12, 7 days); SKU-2 at 2.50 by the unit (5 days)."""
    first = SupplierItemFactory.create(
        supplier=supplier,
        product=product,
        cost=Decimal("6.0000"),
        moq=12,
        order_multiple=6,
        lead_time_days=7,
        preferred=True,
    )
    second = SupplierItemFactory.create(
        supplier=supplier, product=product2, cost=Decimal("2.5000"), lead_time_days=5
    )
    return first, second


@pytest.fixture
def sent_order(
    supplier_items: tuple[SupplierItem, SupplierItem],
    dc: Location,
    product: Product,
    product2: Product,
    planner: User,
) -> PurchaseOrder:
    """A PO to the DC of 24 SKU-1 and 10 SKU-2, sent today (arrival promised in 7 days)."""
    order = purchase_order_create(
        supplier=supplier_items[0].supplier,
        ship_to=dc,
        lines=[OrderLine(product=product, quantity=24), OrderLine(product=product2, quantity=10)],
        actor=planner,
    )
    return purchase_order_send(purchase_order=order, actor=planner)
