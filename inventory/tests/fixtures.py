"""Fixtures of stock (a pytest plugin, listed in the root conftest): in the test city a DC and
two stores, two products, and the warehouse and store staff who work there."""

from __future__ import annotations

from typing import Any

import pytest

from inventory.models import Location, Product
from omni.models import City, User
from tests.factories import (
    DcFactory,
    ProductFactory,
    StoreFactory,
    StoreUserFactory,
    WarehouseUserFactory,
)


@pytest.fixture
def dc(city: City) -> Location:
    return DcFactory.create(code="DC1", name="DC", city=city, latitude=30.18, longitude=120.26)


@pytest.fixture
def store(city: City) -> Location:
    return StoreFactory.create(
        code="S01", name="Store 1", city=city, latitude=30.27, longitude=120.16
    )


@pytest.fixture
def store2(city: City) -> Location:
    return StoreFactory.create(
        code="S02", name="Store 2", city=city, latitude=30.25, longitude=120.21
    )


@pytest.fixture
def product(db: Any) -> Product:
    return ProductFactory.create(sku="SKU-1", barcode="6900000000017", pack_size=6)


@pytest.fixture
def product2(db: Any) -> Product:
    return ProductFactory.create(sku="SKU-2")


@pytest.fixture
def warehouse_user(dc: Location) -> User:
    return WarehouseUserFactory.create(username="wh", locations=[dc])


@pytest.fixture
def store_user(store: Location) -> User:
    return StoreUserFactory.create(username="clerk1", locations=[store])


@pytest.fixture
def store2_user(store2: Location) -> User:
    return StoreUserFactory.create(username="clerk2", locations=[store2])
