"""Fixtures of fulfillment (a pytest plugin, listed in the root conftest): two products with
barcodes to scan, and the steps every pickup story takes through the services."""

from __future__ import annotations

from typing import Any

import pytest

from fulfillment import services
from fulfillment.models import PickLineStatus, PickList, PickupCode
from inventory.models import Product
from omni.models import User
from orders.models import Order
from tests.factories import ProductFactory

A_BARCODE, B_BARCODE = "6900000000017", "6900000000024"


@pytest.fixture
def goods(db: Any) -> tuple[Product, Product]:
    """A and B, each with a barcode to scan."""
    return (
        ProductFactory.create(sku="A", barcode=A_BARCODE),
        ProductFactory.create(sku="B", barcode=B_BARCODE),
    )


def pick_all(pick_list: PickList, actor: User | None = None) -> None:
    """Pick every open line of the list in full, scanning each item's barcode (else its SKU)."""
    for line in pick_list.lines.filter(status=PickLineStatus.OPEN).select_related("product"):
        services.pick_line_confirm(
            pick_line=line,
            scanned=line.product.barcode or line.product.sku,
            quantity=line.quantity,
            actor=actor,
        )


def pickup_ready(order: Order) -> PickupCode:
    """A pickup order prepared, picked and marked ready through the services: its code."""
    pick_all(services.pickup_prepare(order=order))
    return services.pickup_mark_ready(order=order)
