"""Fixtures of purchasing (a pytest plugin, listed in the root conftest): a supplier of the
test city's two products delivering to the DC, a purchase order of them sent to it, and four
SKUs whose recorded demand puts each in a known ABC/XYZ class."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from forecasting.models import DemandImport, DemandRecord
from forecasting.selectors import local_today
from inventory.models import Location, Product
from omni.models import User
from purchasing.models import PurchaseOrder, Supplier, SupplierItem
from purchasing.services import OrderLine, purchase_order_create, purchase_order_send
from tests.factories import ProductFactory, SupplierFactory, SupplierItemFactory


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


@dataclass
class PolicySkus:
    """Four SKUs the DC buys, with a recorded history at a store that puts each in a known
    class at the DC (10 weeks, ending yesterday; unit cost from the supplier item)."""

    high: Product  # 8 a day at 10.00: the most value, steady → AX
    mid: Product  # 6 or 36 a week, alternately, at 5.00 → BY
    low: Product  # 10 every other week at 1.00 → CZ
    none: Product  # never sold → CZ
    supplier: Supplier


@pytest.fixture
def policy_skus(dc: Location, store: Location) -> PolicySkus:
    supplier = SupplierFactory.create(code="CLS", name="Class Supply")
    skus = PolicySkus(
        high=ProductFactory.create(sku="CL-HIGH", name="Rice 5 kg"),
        mid=ProductFactory.create(sku="CL-MID", name="Soy sauce"),
        low=ProductFactory.create(sku="CL-LOW", name="Birthday candles"),
        none=ProductFactory.create(sku="CL-NONE", name="Snow shovel"),
        supplier=supplier,
    )
    for product, cost in ((skus.high, "10"), (skus.mid, "5"), (skus.low, "1"), (skus.none, "2")):
        SupplierItemFactory.create(
            supplier=supplier, product=product, cost=Decimal(cost), lead_time_days=7
        )
    source = DemandImport.objects.create(file_name="classes.csv", rows=0)
    yesterday = local_today(dc.city) - timedelta(days=1)
    rows: list[tuple[Product, int, float]] = [(skus.high, d, 8.0) for d in range(70)]
    rows += [(skus.mid, d, 6.0 if (d // 7) % 2 else 36.0) for d in range(0, 70, 7)]
    rows += [(skus.low, d, 10.0) for d in range(0, 70, 14)]
    DemandRecord.objects.bulk_create(
        DemandRecord(
            product=product,
            location=store,
            day=yesterday - timedelta(days=back),
            quantity=quantity,
            source=source,
        )
        for product, back, quantity in rows
    )
    return skus
