"""Helpers any test may import (the fixtures are pytest plugins, the data comes from
``tests.factories``): API and page clients, reading stock levels and what an order holds, a
sale through the ledger, and the test database's URL for processes outside pytest."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.test import Client

from inventory import services as stock_services
from inventory.models import Location, LocationKind, Product, ReservationStatus, StockLevel
from omni.models import User
from omni.services import api_token_create
from orders.models import Allocation, Order


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


def client_for(user: User) -> Client:
    """A page client logged in as ``user``."""
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def stock_level(location: Location, product: Product) -> StockLevel:
    """The stock level row of ``product`` at ``location`` (it must exist)."""
    return StockLevel.objects.get(location=location, product=product)


def level(location: Location, product: Product) -> tuple[int, int]:
    """``(on_hand, reserved)`` of ``product`` at ``location``; ``(0, 0)`` where it never was."""
    row = StockLevel.objects.filter(location=location, product=product).first()
    return (row.on_hand, row.reserved) if row else (0, 0)


def held_at(order: Order) -> dict[str, int]:
    """Units the order holds (active reservations) per location code."""
    held: Counter[str] = Counter()
    allocations = Allocation.objects.filter(line__order=order).select_related(
        "reservation", "location"
    )
    for allocation in allocations:
        if allocation.reservation.status == ReservationStatus.ACTIVE:
            held[allocation.location.code] += allocation.quantity
    return dict(held)


def sell(store: Location, product: Product, units: int) -> None:
    """``units`` sold at ``store`` today, through the ledger: received, held, handed over."""
    stock_services.stock_receive(location=store, lines=[(product, units)])
    hold = stock_services.stock_reserve(
        product=product, location=store, quantity=units, owner_type="test", owner_id="1"
    )
    stock_services.reservation_consume(
        reservation=hold, to_location=stock_services.virtual_location(LocationKind.CUSTOMER)
    )


def database_url() -> str:
    """The URL of the test database pytest-django created, for a process outside pytest."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def manage(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``manage.py ARGS`` in a process of its own with exactly ``env`` (the settings a deployed
    machine would have), its output captured."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
