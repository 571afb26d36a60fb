"""Fixtures shared by every test suite: a small city with a DC and two stores, products, staff
of every role, and API clients that authenticate with real hashed tokens."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from inventory.models import Location, LocationKind, Product
from omni.models import City, Role, User
from omni.services import api_token_create

# Each app's fixtures, as plugins: any test may use them, none imports them.
pytest_plugins = ["orders.tests.fixtures", "forecasting.tests.fixtures"]

# Staff users are made in hundreds of fixtures; the production hasher's million PBKDF2 rounds cost
# most of the suite's CPU time and test nothing of ours.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def city(db: Any) -> City:
    return City.objects.create(code="testcity", name="Test City", latitude=30.27, longitude=120.15)


@pytest.fixture
def dc(city: City) -> Location:
    return Location.objects.create(
        code="DC1",
        name="DC",
        kind=LocationKind.WAREHOUSE,
        city=city,
        latitude=30.18,
        longitude=120.26,
    )


@pytest.fixture
def store(city: City) -> Location:
    return Location.objects.create(
        code="S01",
        name="Store 1",
        kind=LocationKind.STORE,
        city=city,
        latitude=30.27,
        longitude=120.16,
    )


@pytest.fixture
def store2(city: City) -> Location:
    return Location.objects.create(
        code="S02",
        name="Store 2",
        kind=LocationKind.STORE,
        city=city,
        latitude=30.25,
        longitude=120.21,
    )


def make_product(sku: str = "SKU-1", **fields: Any) -> Product:
    fields.setdefault("name", f"Product {sku}")
    fields.setdefault("barcode", None)
    return Product.objects.create(sku=sku, **fields)


@pytest.fixture
def product(db: Any) -> Product:
    return make_product("SKU-1", barcode="6900000000017", pack_size=6)


@pytest.fixture
def product2(db: Any) -> Product:
    return make_product("SKU-2")


def make_user(username: str, role: str, locations: list[Location] | None = None) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, role=role)
    if locations:
        user.locations.set(locations)
    return user


@pytest.fixture
def admin_user(db: Any) -> User:
    return make_user("boss", Role.ADMIN)


@pytest.fixture
def planner(db: Any) -> User:
    return make_user("plan", Role.PLANNER)


@pytest.fixture
def warehouse_user(dc: Location) -> User:
    return make_user("wh", Role.WAREHOUSE, [dc])


@pytest.fixture
def store_user(store: Location) -> User:
    return make_user("clerk1", Role.STORE, [store])


@pytest.fixture
def store2_user(store2: Location) -> User:
    return make_user("clerk2", Role.STORE, [store2])


class ApiClient:
    """A test client that speaks JSON and authenticates with a real API token."""

    def __init__(self, user: User | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None:
            _, raw = api_token_create(user=user, name="test")
            self.headers["Authorization"] = f"Bearer {raw}"

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params, headers=self.headers)

    def post(
        self, path: str, body: Any = None, *, raw: str | None = None, key: str | None = None
    ) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data=data, content_type="application/json", headers=headers)


@pytest.fixture
def api() -> Callable[[User | None], ApiClient]:
    return ApiClient
