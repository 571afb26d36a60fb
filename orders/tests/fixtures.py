"""Fixtures of orders (a pytest plugin, listed in the root conftest): the SKUs the order
stories sell. The city they are sold in, its channels and live stores are network's."""

from __future__ import annotations

import pytest

from inventory.models import Product
from tests.factories import ProductFactory


@pytest.fixture
def skus(db: object) -> tuple[Product, Product, Product]:
    """A (sells for 10), B (for 4) and C, in stock nowhere yet."""
    return (
        ProductFactory.create(sku="A", price=10),
        ProductFactory.create(sku="B", price=4),
        ProductFactory.create(sku="C"),
    )
