"""Fixtures at the bottom of every suite (a pytest plugin, listed in the root conftest): the
test city, the staff who work at no location in particular (an admin and a planner), the
admin's page client, and JSON API clients that authenticate with real hashed tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from omni.models import City, User
from tests.factories import AdminFactory, CityFactory, PlannerFactory
from tests.helpers import ApiClient, client_for


@pytest.fixture
def city(db: Any) -> City:
    return CityFactory.create(code="testcity", name="Test City", latitude=30.27, longitude=120.15)


@pytest.fixture
def admin_user(db: Any) -> User:
    return AdminFactory.create(username="boss")


@pytest.fixture
def planner(db: Any) -> User:
    return PlannerFactory.create(username="plan")


@pytest.fixture
def admin_client(admin_user: User) -> Client:
    """A page client logged in as the admin, made a superuser for the Django admin."""
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    return client_for(admin_user)


@pytest.fixture
def api() -> Callable[[User | None], ApiClient]:
    return ApiClient
