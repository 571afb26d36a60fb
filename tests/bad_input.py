"""The world the bad-input tests spoil one thing of: the stock-changing routes with a request
that succeeds, the ``world`` fixture (stock, a hold and transfers in each state) and what no
refused request may change (``ledger``). A fixture plugin (root conftest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.db.models import Sum

from inventory import services
from inventory.models import (
    Location,
    Product,
    Reservation,
    StockLevel,
    StockMove,
    Transfer,
)
from omni.models import User
from tests.factories import ProductFactory

MAX = services.MAX_LINE_QUANTITY


# --------------------------------------------------------------------------- the routes


@dataclass(frozen=True)
class Route:
    """A stock-changing POST and a body it accepts. ``qty`` is the name of the lines' number
    field; ``locations`` the body's location fields; ``zero_ok`` says a count of 0 is valid."""

    path: str
    body: dict[str, Any]
    qty: str | None = None
    locations: tuple[str, ...] = ()
    zero_ok: bool = False
    empty_lines_ok: bool = False
    body_optional: bool = False


ROUTES: dict[str, Route] = {
    "receipts": Route(
        "/receipts",
        {
            "location": "S01",
            "supplier": "ACME",
            "supplier_reference": "PO-1",
            "lines": [{"sku": "SKU-1", "quantity": 5}],
        },
        qty="quantity",
        locations=("location",),
    ),
    "counts": Route(
        "/counts",
        {"location": "S01", "note": "shelf 3", "lines": [{"sku": "SKU-1", "counted": 90}]},
        qty="counted",
        locations=("location",),
        zero_ok=True,
    ),
    "reservations": Route(
        "/reservations",
        {
            "location": "S01",
            "owner_type": "manual",
            "owner_id": "o-1",
            "expires_in_seconds": 600,
            "lines": [{"sku": "SKU-1", "quantity": 2}],
        },
        qty="quantity",
        locations=("location",),
    ),
    "transfers": Route(
        "/transfers",
        {
            "source": "S01",
            "destination": "S02",
            "reference": "ref",
            "note": "note",
            "lines": [{"sku": "SKU-1", "quantity": 2}],
        },
        qty="quantity",
        locations=("source", "destination"),
    ),
    "transfer-receive": Route(
        "/transfers/{dispatched}/receive",
        {"lines": [{"sku": "SKU-1", "received": 1, "reason": "one broken"}]},
        qty="received",
        zero_ok=True,
        empty_lines_ok=True,  # lines left out arrived in full
        body_optional=True,
    ),
    "release": Route(
        "/reservations/{hold}/release", {"reason": "customer left"}, body_optional=True
    ),
    "approve": Route("/transfers/{draft}/approve", {}, body_optional=True),
    "dispatch": Route("/transfers/{approved}/dispatch", {}, body_optional=True),
    "cancel": Route("/transfers/{draft}/cancel", {}, body_optional=True),
}


@dataclass
class World:
    admin: User
    store_user: User
    ids: dict[str, int]


@pytest.fixture
def world(
    dc: Location,
    store: Location,
    store2: Location,
    product: Product,
    product2: Product,
    admin_user: User,
    store_user: User,
) -> World:
    """100 of SKU-1 and SKU-2 at S01 and DC1; a hold of 3 at S01; transfers DC1 → S01 as a
    draft, approved and dispatched (2 of SKU-1 each)."""
    for location in (store, dc):
        services.stock_receive(location=location, lines=[(product, 100), (product2, 100)])
    hold = services.stock_reserve(
        product=product, location=store, quantity=3, owner_type="test", owner_id="h"
    )
    ids = {"hold": hold.pk}
    for state in ("draft", "approved", "dispatched"):
        transfer = services.transfer_create(source=dc, destination=store, lines=[(product, 2)])
        if state != "draft":
            services.transfer_approve(transfer=transfer)
        if state == "dispatched":
            services.transfer_dispatch(transfer=transfer)
        ids[state] = transfer.pk
    ProductFactory.create(sku="SKU-OFF", name="Discontinued", active=False)
    return World(admin=admin_user, store_user=store_user, ids=ids)


def ledger() -> dict[str, Any]:
    """What no refused request may change."""
    totals = StockLevel.objects.aggregate(on_hand=Sum("on_hand"), reserved=Sum("reserved"))
    return {
        "moves": StockMove.objects.count(),
        "on_hand": totals["on_hand"],
        "reserved": totals["reserved"],
        "levels": list(StockLevel.objects.order_by("id").values_list("on_hand", "reserved")),
        "reservations": list(Reservation.objects.order_by("id").values_list("status", "quantity")),
        "transfers": list(Transfer.objects.order_by("id").values_list("status", flat=True)),
    }


def assert_error(response: Any, status: int | None = None, code: str | None = None) -> dict:
    assert response.status_code < 500, response.content
    assert 400 <= response.status_code < 500, response.content
    body = json.loads(response.content)
    assert isinstance(body, dict), body
    assert set(body) == {"code", "message", "detail"}, body
    assert isinstance(body["code"], str)
    assert body["code"]
    assert isinstance(body["message"], str)
    assert isinstance(body["detail"], dict)
    if status is not None:
        assert response.status_code == status, body
    if code is not None:
        assert body["code"] == code, body
    return body


def path_of(route: Route, world: World) -> str:
    return "/api/v1" + route.path.format(**world.ids)
