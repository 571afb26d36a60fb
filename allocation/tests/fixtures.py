"""Fixtures of allocation (a pytest plugin, listed in the root conftest): the test city ready
for a run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import Location, Product
from network.models import Service
from omni.models import City
from tests.factories import LocationServiceFactory, ReceiptFactory


@pytest.fixture
def allocation_setup(
    city: City, dc: Location, store: Location, store2: Location, product: Product
) -> tuple[City, Location, Location, Location, Product]:
    """Both stores sell over the counter, SKU-1 costs 6 and sells for 10 (packs of 6), and the
    DC holds 120 of it. Returns the city, the DC, both stores and the product."""
    for s in (store, store2):
        LocationServiceFactory.create(location=s, service=Service.STORE_SALE)
    Product.objects.filter(pk=product.pk).update(
        price=Decimal("10"), cost=Decimal("6"), unit_volume=Decimal("0.01")
    )
    product.refresh_from_db()
    ReceiptFactory.create(location=dc, lines={product: 120})
    return city, dc, store, store2, product
