"""One answer for "not yours" and "does not exist", on every operation of the API that names an
object, in its path, its query or its body.

``CASES`` and ``UNSCOPED`` together hold every operation of the OpenAPI schema: how to name an
object of another scope in it, or why it names nothing scoped. An operation in neither fails
``test_every_operation_is_in_the_table``, so a new endpoint cannot be forgotten.

For each case a user of another scope (``store``: clerk1, store staff at S01; ``channel``: the
integration of the ``market`` channel) names the other scope's object, then one that does not
exist. The two answers must be byte-identical: status, body, and headers but the ones that vary
on every response. The status is the case's: 404; 403 where the caller's role may not use the
operation at all (refused before any id is read); 200 for a list filtered by the object (empty
either way). The refused writes change nothing: the ledger, stock levels, holds, orders,
transfers and pick lines are as before, and the ledger's invariants hold. Last, an admin
naming the same object gets another answer than for the missing one: the object is real, so
the test can fail.

The world: DC1, S01 and S02, all live, with A, B and C in stock at each. The web channel's
orders: a delivery shipped from DC1 (a package on it), pickups at S02 (one on a pick list, one
waiting for a wave, one ready with its pickup code) and one at S01 on a pick list there. A hold
at S02, a draft transfer DC1 → S02, a forecast run, an allocation run and a draft routing
profile.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from django.db.models import QuerySet
from django.test import Client

from allocation.models import AllocationRun
from forecasting.models import ForecastRun
from fulfillment import services as fulfillment
from fulfillment.models import PickLine, PickupCode
from fulfillment.tests.fixtures import pick_all, pickup_ready
from inventory import services as stock
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, Reservation, StockLevel, StockMove, Transfer
from network.models import Channel, ChannelKind
from omni.api import api as ninja_api
from omni.models import City, User
from omni.services import api_token_create
from orders.models import Order
from purchasing import services as purchasing
from tests.factories import (
    NEAR_DC,
    ChannelFactory,
    OrderFactory,
    PickupOrderFactory,
    ProductFactory,
    ReceiptFactory,
    RoutingProfileFactory,
    SupplierFactory,
    SupplierItemFactory,
)
from tests.helpers import held_at

pytestmark = pytest.mark.django_db

V1 = "/api/v1"
# Headers that differ between any two responses, whatever they answer.
VARYING_HEADERS = {"date", "x-request-id", "server-timing"}


class Named:
    """Stands for the object the request names: the other scope's, or a missing one."""

    def __repr__(self) -> str:
        return "X"


X = Named()


@dataclass(frozen=True)
class World:
    pickup_s02: int  # prepared: on a pick list at S02
    pick_list_s02: int
    line_s02: int
    task_s02: int  # the one pick task of that list
    waiting_s02: int  # held at S02, on no pick list
    ready_s02: int  # ready for pickup, with its code
    pickup_code: str
    pickup_short_code: str  # the same pickup's six digits
    pickup_s01: int  # prepared: on a pick list at S01 (clerk1's)
    pick_list_s01: int
    shipped_dc: int  # a delivery of 3 × A and 1 × B, shipped from DC1
    package_dc: int
    reservation_s02: int
    transfer: int  # a draft DC1 → S02
    forecast_run: int
    allocation_run: int
    profile: int
    purchase_order: str  # sent by supplier ACME to S02: 5 × A


@dataclass(frozen=True)
class Case:
    """Name ``other(world)`` (then a missing one) where ``X`` stands in ``path``, ``query`` or
    ``body``; a path parameter not given is ``X``. A callable value is read from the world."""

    other: Callable[[World], int | str]
    status: int = 404
    path: Mapping[str, Any] = field(default_factory=dict)
    query: Mapping[str, Any] | None = None
    body: Mapping[str, Any] | None = None
    viewers: tuple[str, ...] = ("store", "channel")
    # For the admin's check that the object is real, where ``body``/``path`` would not show it.
    admin_body: Mapping[str, Any] | None = None
    admin_path: Mapping[str, Any] | None = None


def at(name: str) -> Callable[[World], int | str]:
    return lambda world: getattr(world, name)


def code(value: str) -> Callable[[World], str]:
    return lambda world: value


S02 = code("S02")
WEB = code("web")
A1 = [{"sku": "A", "quantity": 1}]
PLANNERS_ONLY = 403  # the role may not use the operation: refused before any id is read
EMPTY = 200  # a list filtered by the object: no rows either way
STAFF, CHANNEL = ("store",), ("channel",)
SALE = {"external_id": "till-9", "channel": "pos", "mode": "store_sale", "lines": A1}
MARKET_ORDER = {
    "external_id": "m-9",
    "mode": "delivery",
    "lines": A1,
    "delivery": {"latitude": 30.2, "longitude": 120.2},
}
RETURN = {"sku": "A", "quantity": 1, "disposition": "restock"}
SCAN_ID = "5f0c7a52-8d7e-4a43-9d53-2b7b1c1e0a01"

CASES: dict[str, list[Case]] = {
    # ------------------------------------------------------------------ inventory
    "GET /locations/{code}": [Case(S02)],
    "GET /stock-levels": [Case(S02, EMPTY, query={"location": X})],
    "GET /moves": [Case(S02, EMPTY, query={"location": X})],
    "POST /receipts": [Case(S02, body={"location": X, "lines": A1})],
    "POST /counts": [Case(S02, body={"location": X, "lines": [{"sku": "A", "counted": 0}]})],
    "GET /reservations": [Case(S02, EMPTY, query={"location": X})],
    "POST /reservations": [Case(S02, body={"location": X, "lines": A1})],
    "GET /reservations/{reservation_id}": [Case(at("reservation_s02"))],
    "POST /reservations/{reservation_id}/release": [Case(at("reservation_s02"), body={})],
    "GET /transfers": [Case(S02, EMPTY, query={"location": X})],
    "POST /transfers": [
        Case(S02, body={"source": X, "destination": "DC1", "lines": A1}),
        Case(S02, body={"source": "DC1", "destination": X, "lines": A1}),
    ],
    "GET /transfers/{transfer_id}": [Case(at("transfer"))],
    "POST /transfers/{transfer_id}/approve": [Case(at("transfer"))],
    "POST /transfers/{transfer_id}/dispatch": [Case(at("transfer"))],
    "POST /transfers/{transfer_id}/receive": [Case(at("transfer"), body={})],
    "POST /transfers/{transfer_id}/cancel": [Case(at("transfer"))],
    "GET /locations/{code}/bins": [Case(S02)],
    "POST /locations/{code}/bins": [Case(S02, body={"code": "Z-1", "sequence": 1})],
    "GET /locations/{code}/home-bins": [Case(S02)],
    "POST /locations/{code}/home-bins": [Case(S02, body={"sku": "A", "bin": "Z-1"})],
    # ------------------------------------------------------------------ network
    "GET /channels/{code}/buffers": [Case(WEB, PLANNERS_ONLY)],
    "PUT /channels/{code}/buffers": [
        Case(WEB, PLANNERS_ONLY, body={"location": None, "units": 1}),
        Case(S02, PLANNERS_ONLY, path={"code": "web"}, body={"location": X, "units": 1}),
    ],
    "GET /routing/profiles": [Case(WEB, PLANNERS_ONLY, query={"channel": X})],
    "POST /routing/profiles": [
        Case(WEB, PLANNERS_ONLY, body={"channel": X, "rules": ["keep_together"]})
    ],
    "GET /routing/profiles/{profile_id}": [Case(at("profile"), PLANNERS_ONLY)],
    "POST /routing/profiles/{profile_id}/activate": [Case(at("profile"), PLANNERS_ONLY)],
    "POST /routing/profiles/{profile_id}/deactivate": [Case(at("profile"), PLANNERS_ONLY)],
    "PUT /locations/{code}/capacity": [
        Case(
            S02,
            PLANNERS_ONLY,
            body={"service": "pickup", "daily_capacity": 5, "opens_at": None, "closes_at": None},
        )
    ],
    # ------------------------------------------------------------------ orders and routing
    "GET /orders/{order_id}/routing": [Case(at("pickup_s02"))],
    "POST /orders": [
        # A counter sale at another store, for store staff; a channel's customer may collect
        # at any store, but a channel names no channel but its own.
        Case(S02, body={**SALE, "store": X}, viewers=STAFF),
        Case(WEB, body={**MARKET_ORDER, "channel": X}, viewers=CHANNEL),
    ],
    "GET /orders": [
        Case(S02, EMPTY, query={"location": X}),
        Case(WEB, EMPTY, query={"channel": X}, viewers=CHANNEL),  # staff may name any channel
    ],
    "GET /orders/{order_id}": [Case(at("pickup_s02")), Case(at("shipped_dc"))],
    "POST /orders/{order_id}/pay": [Case(at("waiting_s02"))],
    "POST /orders/{order_id}/cancel": [Case(at("waiting_s02"), body={"reason": "x"})],
    "POST /orders/{order_id}/lines/{sku}": [
        Case(at("waiting_s02"), path={"sku": "A"}, body={"quantity": 2})
    ],
    "GET /availability": [
        Case(WEB, query={"sku": ["A"], "city": "testcity", "channel": X}, viewers=CHANNEL)
    ],
    "GET /availability/nearby": [
        # A channel's integration asks for itself whatever it names: the same rows.
        Case(
            WEB,
            200,
            query={"sku": ["A"], "latitude": 30.27, "longitude": 120.16, "channel": X},
            viewers=CHANNEL,
        )
    ],
    # ------------------------------------------------------------------ fulfillment
    "GET /pick-lists": [Case(S02, EMPTY, query={"location": X})],
    "POST /pick-lists": [
        Case(S02, body={"location": X}),
        Case(at("waiting_s02"), body={"location": "S01", "orders": [X]}),
        Case(
            code("clerk2"),
            body={"location": "S01", "assign_to": X},
            admin_body={"location": "S02", "assign_to": X},
        ),
    ],
    "GET /pick-lists/{pick_list_id}": [Case(at("pick_list_s02"))],
    "POST /pick-lists/{pick_list_id}/lines/{line_id}/pick": [
        Case(at("pick_list_s02"), path={"line_id": at("line_s02")}, body={"scan": "A"}),
        # A line of another store's list, on the caller's own list.
        Case(
            at("line_s02"),
            path={"pick_list_id": at("pick_list_s01")},
            body={"scan": "A"},
            admin_path={"pick_list_id": at("pick_list_s02")},
        ),
    ],
    "POST /pick-lists/{pick_list_id}/lines/{line_id}/short": [
        Case(at("pick_list_s02"), path={"line_id": at("line_s02")}, body={"found": 0}),
        Case(
            at("line_s02"),
            path={"pick_list_id": at("pick_list_s01")},
            body={"found": 0},
            admin_path={"pick_list_id": at("pick_list_s02")},
        ),
    ],
    "POST /pick-lists/plan": [
        Case(S02, body={"location": X}),
        Case(at("waiting_s02"), body={"location": "S01", "orders": [X]}),
    ],
    "GET /pick-lists/{pick_list_id}/progress": [Case(at("pick_list_s02"))],
    "GET /pick-lists/{pick_list_id}/tasks": [Case(at("pick_list_s02"))],
    "POST /pick-lists/{pick_list_id}/scans": [
        Case(at("pick_list_s02"), body={"scan_id": SCAN_ID, "scan": "A"}),
        # A task of another store's list, on the caller's own list.
        Case(
            at("task_s02"),
            path={"pick_list_id": at("pick_list_s01")},
            body={"scan_id": SCAN_ID, "scan": "A", "task": X},
            admin_path={"pick_list_id": at("pick_list_s02")},
        ),
    ],
    "POST /pick-lists/{pick_list_id}/tasks/{task_id}/short": [
        Case(at("pick_list_s02"), path={"task_id": at("task_s02")}, body={"found": 0}),
        Case(
            at("task_s02"),
            path={"pick_list_id": at("pick_list_s01")},
            body={"found": 0},
            admin_path={"pick_list_id": at("pick_list_s02")},
        ),
    ],
    "POST /orders/{order_id}/packages": [
        Case(at("shipped_dc"), body={"location": "S01"}),
        Case(S02, path={"order_id": at("pickup_s01")}, body={"location": X}, viewers=STAFF),
    ],
    "POST /orders/{order_id}/pack-scans": [
        Case(at("shipped_dc"), body={"location": "S01", "scan": "A", "scan_id": "s-1"}),
        Case(
            S02,
            path={"order_id": at("pickup_s01")},
            body={"location": X, "scan": "A", "scan_id": "s-2"},
            viewers=STAFF,
        ),
    ],
    "GET /packages/{package_id}": [Case(at("package_dc"))],
    "POST /packages/{package_id}/ship": [Case(at("package_dc"), body={})],
    "POST /packages/{package_id}/close": [Case(at("package_dc"), body={})],
    "GET /packages/{package_id}/slip.pdf": [Case(at("package_dc"))],
    "GET /packages/{package_id}/label.pdf": [Case(at("package_dc"))],
    "POST /orders/{order_id}/pickup/prepare": [Case(at("waiting_s02"))],
    "POST /orders/{order_id}/pickup/ready": [Case(at("pickup_s02"))],
    "GET /orders/{order_id}/pickup-code": [Case(at("ready_s02"))],
    "GET /orders/{order_id}/pickup-code.svg": [Case(at("ready_s02"))],
    "GET /orders/{order_id}/pickup-code.png": [Case(at("ready_s02"))],
    "POST /pickup/redeem": [Case(S02, body={"store": X, "code": at("pickup_code")})],
    "POST /pickup/redeem-short-code": [
        Case(
            S02,
            body={
                "store": X,
                "short_code": at("pickup_short_code"),
                "order": lambda w: str(w.ready_s02),
            },
        )
    ],
    "POST /returns": [
        # What was reported: a store restocking against the DC's delivery it cannot see. Nor
        # may a refusal tell what the order holds (a SKU not on it, too many of one).
        Case(at("shipped_dc"), body={"order": X, "location": "S01", "lines": [RETURN]}),
        Case(
            at("shipped_dc"),
            body={"order": X, "location": "S01", "lines": [{**RETURN, "sku": "C"}]},
        ),
        Case(
            at("shipped_dc"),
            body={"order": X, "location": "S01", "lines": [{**RETURN, "quantity": 99}]},
        ),
        Case(
            S02,
            body={"order": at("pickup_s01"), "location": X, "lines": [RETURN]},
            viewers=STAFF,
        ),
    ],
    # ------------------------------------------------------------------ forecasting
    "GET /forecast-runs/{run_id}": [Case(at("forecast_run"), PLANNERS_ONLY)],
    "POST /forecast-runs/{run_id}/cancel": [Case(at("forecast_run"), PLANNERS_ONLY)],
    "POST /forecast-runs/{run_id}/rerun": [Case(at("forecast_run"), PLANNERS_ONLY)],
    "GET /forecast-runs/{run_id}/accuracy": [Case(at("forecast_run"), PLANNERS_ONLY)],
    "GET /forecast-runs/{run_id}/series": [Case(at("forecast_run"), PLANNERS_ONLY)],
    "GET /forecasts": [
        Case(S02, query={"location": X}, viewers=STAFF),
        Case(S02, PLANNERS_ONLY, query={"location": X}, viewers=CHANNEL),  # staff only
        Case(at("forecast_run"), PLANNERS_ONLY, query={"run": X}),
    ],
    # ------------------------------------------------------------------ allocation
    "GET /allocation/runs/{run_id}": [Case(at("allocation_run"), PLANNERS_ONLY)],
    "GET /allocation/runs/{run_id}/lines": [Case(at("allocation_run"), PLANNERS_ONLY)],
    "POST /allocation/runs/{run_id}/approve": [Case(at("allocation_run"), PLANNERS_ONLY)],
    "POST /allocation/runs/{run_id}/reject": [Case(at("allocation_run"), PLANNERS_ONLY)],
    # ------------------------------------------------------------------ purchasing
    "GET /purchasing/orders": [Case(S02, EMPTY, query={"ship_to": X})],
    "GET /purchasing/orders/{number}": [Case(at("purchase_order"))],
    "POST /purchasing/orders/{number}/receipts": [
        Case(at("purchase_order"), body={"key": "dn-1", "lines": A1})
    ],
    "PUT /purchasing/orders/{number}/lines": [
        Case(at("purchase_order"), PLANNERS_ONLY, body={"lines": A1})
    ],
    "POST /purchasing/orders/{number}/send": [Case(at("purchase_order"), PLANNERS_ONLY, body={})],
    "POST /purchasing/orders/{number}/cancel": [Case(at("purchase_order"), PLANNERS_ONLY, body={})],
    "POST /purchasing/orders/{number}/lines/{sku}/close": [
        Case(at("purchase_order"), PLANNERS_ONLY, path={"sku": "A"}, body={"reason": "x"})
    ],
    "GET /purchasing/suppliers/{code}": [Case(code("ACME"), PLANNERS_ONLY)],
    "PUT /purchasing/suppliers/{code}": [
        Case(code("ACME"), PLANNERS_ONLY, body={"code": "ACME", "name": "Acme"})
    ],
    "GET /purchasing/suppliers/{code}/items": [Case(code("ACME"), PLANNERS_ONLY)],
    "PUT /purchasing/suppliers/{code}/items/{sku}": [
        Case(
            code("ACME"),
            PLANNERS_ONLY,
            path={"sku": "A"},
            body={"cost": 1, "lead_time_days": 0, "moq": 0},
        )
    ],
    "GET /purchasing/suppliers/{code}/performance": [Case(code("ACME"), PLANNERS_ONLY)],
    "GET /purchasing/policies": [Case(S02, PLANNERS_ONLY, query={"location": X})],
    "PUT /purchasing/policies/{location}/{sku}": [
        Case(
            S02,
            PLANNERS_ONLY,
            path={"sku": "A"},
            body={"kind": "min_max", "min_quantity": 1, "max_quantity": 4},
        )
    ],
    "POST /purchasing/policies/{location}/{sku}/revert": [
        Case(S02, PLANNERS_ONLY, path={"sku": "A"})
    ],
    "POST /purchasing/policies/classify": [Case(S02, PLANNERS_ONLY, body={"location": X})],
}

# Operations that name nothing scoped, and why.
UNSCOPED: dict[str, str] = {
    "GET /valuation/stock": "figures of the caller's own locations only; filters by city,"
    " which is not scoped",
    "GET /valuation/turnover": "figures of the caller's own locations only; filters by city,"
    " which is not scoped",
    "GET /products": "products are master data every caller reads",
    "POST /products": "creates a product (administrators); names no other object",
    "GET /products/{sku}": "products are master data every caller reads",
    "GET /locations": "filters by kind and city (cities are not scoped); lists the caller's own",
    "GET /routing/changes": "planners and administrators; filters by kind and a text prefix",
    "GET /routing/capacity": "names a city (not scoped); rows are the caller's locations only",
    "GET /orders/waiting": "names a city (not scoped); rows are the caller's orders only",
    "POST /routing/retry": "planners and administrators; names a city (not scoped)",
    "GET /pickup/public-key": "names nothing",
    "POST /forecast-runs": "planners and administrators; names a city (not scoped)",
    "GET /forecast-runs": "planners and administrators; filters by status and city",
    "POST /allocation/runs": "planners and administrators; names a city (not scoped)",
    # Loyalty: members and campaigns are not location-bound; the counter's operations check the
    # named store with require_counter (loyalty/tests/test_api.py). To do: CASES for those.
    "POST /loyalty/members": "a store names its own store (require_counter); no other object",
    "GET /loyalty/members": "found by full phone or number only; listing is for marketing",
    "GET /loyalty/members/{number}": "members are not location-bound",
    "GET /loyalty/members/{number}/card": "channels and marketing; members are not bound",
    "POST /loyalty/cards/scan": "the order is resolved with order_visible, its store checked",
    "GET /loyalty/campaigns": "marketing, planners and administrators only",
    "POST /loyalty/campaigns": "marketing, planners and administrators only",
    "GET /loyalty/campaigns/{code}": "marketing, planners and administrators only",
    "PATCH /loyalty/campaigns/{code}": "marketing, planners and administrators only",
    "POST /loyalty/campaigns/{code}/issue": "marketing, planners and administrators only",
    "POST /loyalty/campaigns/{code}/claim": "channels for themselves; members are not bound",
    "POST /loyalty/campaigns/{code}/print": "marketing, planners and administrators only",
    "GET /loyalty/public-key": "names nothing",
    "POST /loyalty/coupons/verify": "the store is resolved with location_visible",
    "POST /loyalty/coupons/redeem": "the store is resolved with location_visible",
    "POST /loyalty/coupons/offline": "the store is resolved with location_visible",
    "GET /loyalty/discrepancies": "rows are the caller's stores' (scope_to_locations)",
    "POST /loyalty/discrepancies/{discrepancy_id}/resolve": "resolved within the caller's rows",
    "GET /purchasing/suppliers": "planners and administrators; names nothing",
    "POST /purchasing/suppliers": "planners and administrators; creates a supplier",
    "POST /purchasing/orders": "planners and administrators, who see every supplier and location",
    "GET /purchasing/performance": "planners and administrators; names nothing",
    "GET /purchasing/exchange-rates": "planners and administrators; names nothing",
    "POST /purchasing/exchange-rates": "planners and administrators; company-wide rates",
    "GET /loyalty/campaigns/{code}/effect": "marketing, planners and administrators only",
    "GET /loyalty/campaigns/{code}/effect.csv": "marketing, planners and administrators only",
    "GET /replenishment/runs": "planners and administrators; filters by city (not scoped)",
    "POST /replenishment/runs": "planners and administrators; names a city (not scoped)",
    "GET /replenishment/runs/{run_id}": "planners and administrators; a run spans a city",
    "GET /replenishment/runs/{run_id}/lines": "planners and administrators; a run spans a city",
    "POST /replenishment/runs/{run_id}/approve": "planners and administrators only",
    "POST /replenishment/runs/{run_id}/reject": "planners and administrators only",
    "POST /replenishment/runs/{run_id}/lines/{line_id}": "planners and administrators only",
}


def missing(value: int | str) -> int | str:
    return 999_999 if isinstance(value, int) else "NOPE-404"


def fill(value: Any, named: int | str, world: World) -> Any:
    if value is X:
        return named
    if callable(value):
        return value(world)
    if isinstance(value, Mapping):
        return {k: fill(v, named, world) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, named, world) for v in value]
    return value


def operations() -> set[str]:
    schema = ninja_api.get_openapi_schema(path_prefix="")
    return {
        f"{method.upper()} {path.removeprefix('/v1')}"
        for path, methods in schema["paths"].items()
        for method in methods
    }


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]


class Caller:
    def __init__(self, user: User) -> None:
        self.client = Client()
        _, raw = api_token_create(user=user, name="scope")
        self.auth = {"Authorization": f"Bearer {raw}"}

    def call(self, operation: str, case: Case, named: int | str, world: World) -> Answer:
        method, template = operation.split(" ", 1)
        path = template
        for name in _path_parameters(template):
            value = fill(case.path.get(name, X), named, world)
            path = path.replace("{" + name + "}", str(value))
        query = fill(case.query or {}, named, world)
        if method == "GET":
            response = self.client.get(V1 + path, query, headers=self.auth)
        else:
            body = json.dumps(fill(case.body or {}, named, world))
            response = self.client.generic(
                method, V1 + path, body, content_type="application/json", headers=self.auth
            )
        headers = tuple(
            sorted(
                (k.lower(), v)
                for k, v in response.headers.items()
                if k.lower() not in VARYING_HEADERS
            )
        )
        return Answer(response.status_code, response.content, headers)


def _path_parameters(template: str) -> list[str]:
    return re.findall(r"{(\w+)}", template)


def _ordered(rows: QuerySet[Any], *fields: str) -> list[Any]:
    return sorted(rows.values_list(*fields))


def ledger_state() -> tuple[Any, ...]:
    """Everything a refused write might have changed."""
    return (
        StockMove.objects.count(),
        _ordered(StockLevel.objects.all(), "location_id", "product_id", "on_hand", "reserved"),
        _ordered(Reservation.objects.all(), "id", "status", "quantity"),
        _ordered(Order.objects.all(), "id", "status", "payment_status"),
        _ordered(Transfer.objects.all(), "id", "status"),
        _ordered(PickLine.objects.all(), "id", "status", "picked"),
        _ordered(PickupCode.objects.all(), "id", "redeemed_at"),
        _ordered(ForecastRun.objects.all(), "id", "status"),
        _ordered(AllocationRun.objects.all(), "id", "status", "decision"),
    )


# --------------------------------------------------------------------------- the world


@pytest.fixture
def market(live_city: City, dc: Location, store: Location, store2: Location) -> Channel:
    return ChannelFactory.create(
        code="market", kind=ChannelKind.MARKETPLACE, city=live_city, serves=[dc, store, store2]
    )


@pytest.fixture
def world(
    live_city: City,
    dc: Location,
    store: Location,
    store2: Location,
    web: Channel,
    pos: Channel,
    market: Channel,
    goods: tuple[Product, Product],
    store_user: User,
    store2_user: User,
) -> World:
    a, b = goods
    ProductFactory.create(sku="C")
    for location in (dc, store, store2):
        ReceiptFactory.create(location=location, lines={"A": 20, "B": 20, "C": 20})

    shipped = OrderFactory.create(
        channel=web, external_id="shipped", lines={a: 3, b: 1}, delivery=NEAR_DC, paid=True
    )
    assert held_at(shipped) == {"DC1": 4}
    pick_all(fulfillment.pick_wave_create(location=dc))
    package = fulfillment.package_create(order=shipped, location=dc)
    fulfillment.package_ship(package=package)

    pickup_s02 = PickupOrderFactory.create(channel=web, lines={a: 1}, store=store2)
    list_s02 = fulfillment.pickup_prepare(order=pickup_s02)
    waiting_s02 = PickupOrderFactory.create(channel=web, lines={a: 1}, store=store2)
    ready_s02 = PickupOrderFactory.create(channel=web, lines={b: 1}, store=store2)
    code = pickup_ready(ready_s02)
    pickup_s01 = PickupOrderFactory.create(channel=web, lines={a: 1}, store=store)
    list_s01 = fulfillment.pickup_prepare(order=pickup_s01)

    hold = stock.stock_reserve(
        product=a, location=store2, quantity=1, owner_type="test", owner_id="1"
    )
    transfer = stock.transfer_create(source=dc, destination=store2, lines=[(a, 2)])
    acme = SupplierFactory.create(code="ACME", delivers_to_stores=True)
    SupplierItemFactory.create(supplier=acme, product=a)
    purchase_order = purchasing.purchase_order_send(
        purchase_order=purchasing.purchase_order_create(
            supplier=acme, ship_to=store2, lines=[purchasing.OrderLine(product=a, quantity=5)]
        )
    )
    return World(
        pickup_s02=pickup_s02.pk,
        pick_list_s02=list_s02.pk,
        line_s02=list_s02.lines.get().pk,
        task_s02=list_s02.tasks.get().pk,
        waiting_s02=waiting_s02.pk,
        ready_s02=ready_s02.pk,
        pickup_code=fulfillment.pickup_token(code),
        pickup_short_code=fulfillment.pickup_short_code(code),
        pickup_s01=pickup_s01.pk,
        pick_list_s01=list_s01.pk,
        shipped_dc=shipped.pk,
        package_dc=package.pk,
        reservation_s02=hold.pk,
        transfer=transfer.pk,
        forecast_run=ForecastRun.objects.create(city=live_city, horizon=7).pk,
        allocation_run=AllocationRun.objects.create(city=live_city).pk,
        profile=RoutingProfileFactory.create(channel=web, active=False).pk,
        purchase_order=purchase_order.number,
    )


@pytest.fixture
def viewers(store_user: User, market: Channel) -> dict[str, User]:
    assert market.user is not None
    return {"store": store_user, "channel": market.user}


# --------------------------------------------------------------------------- the table


def test_every_operation_is_in_the_table() -> None:
    """Each operation of the schema is a case or named as unscoped: a new one must be added."""
    known = set(CASES) | set(UNSCOPED)
    assert not set(CASES) & set(UNSCOPED)
    assert sorted(operations() - known) == [], "operations in neither CASES nor UNSCOPED"
    assert sorted(known - operations()) == [], "operations the schema no longer has"


@pytest.mark.parametrize("operation", sorted(CASES))
def test_another_scopes_object_answers_like_a_missing_one(
    operation: str, world: World, viewers: dict[str, User], admin_user: User
) -> None:
    callers = {name: Caller(user) for name, user in viewers.items()}
    admin = Caller(admin_user)
    for index, case in enumerate(CASES[operation]):
        other = case.other(world)
        for viewer in case.viewers:
            where = f"{operation} #{index} as {viewer}"
            before = ledger_state()
            theirs = callers[viewer].call(operation, case, other, world)
            nothing = callers[viewer].call(operation, case, missing(other), world)
            assert theirs == nothing, (where, theirs.body, nothing.body)
            assert theirs.status == case.status, (where, theirs.body)
            if theirs.status >= 400:
                assert set(json.loads(theirs.body)) == {"code", "message", "detail"}, where
                assert str(other) not in theirs.body.decode(), (where, "names the object")
            assert ledger_state() == before, where
            assert_invariants()
        # The object is real: someone who may see it gets another answer than for a missing
        # one (after the refusals above: the admin's writes may change the world).
        witness = replace(
            case,
            body=case.admin_body if case.admin_body is not None else case.body,
            path={**case.path, **(case.admin_path or {})},
        )
        assert admin.call(operation, witness, other, world) != admin.call(
            operation, witness, missing(other), world
        ), f"{operation} #{index}: the admin's answer for the object is the missing one's"


# --------------------------------------------------------------------------- the reported cases


def test_a_store_cannot_return_goods_against_an_order_it_cannot_see(
    world: World, store_user: User, store: Location
) -> None:
    """The report: clerk1 restocked a unit against the DC's delivery (201), and the refusals
    told what that order held. Now every variant is the answer for no order at all."""
    clerk = Caller(store_user)
    case = CASES["POST /returns"][0]
    a_level = StockLevel.objects.get(location=store, product__sku="A").on_hand
    answers = {
        clerk.call("POST /returns", replace_lines(case, lines), order, world)
        for order in (world.shipped_dc, 999_999)
        for lines in ([RETURN], [{**RETURN, "sku": "C"}], [{**RETURN, "quantity": 13}])
    }
    assert len(answers) == 1
    (answer,) = answers
    assert (answer.status, json.loads(answer.body)) == (
        404,
        {"code": "unknown_order", "message": "no such order", "detail": {}},
    )
    assert StockLevel.objects.get(location=store, product__sku="A").on_hand == a_level


def replace_lines(case: Case, lines: list[dict[str, Any]]) -> Case:
    return Case(case.other, case.status, body={**(case.body or {}), "lines": lines})


def test_a_wave_of_another_stores_order_is_no_such_order(world: World, store_user: User) -> None:
    """It was 409 nothing_to_pick for another store's order and 404 for an unknown id."""
    clerk = Caller(store_user)
    case = Case(at("waiting_s02"), body={"location": "S01", "orders": [X]})
    theirs = clerk.call("POST /pick-lists", case, world.waiting_s02, world)
    both = clerk.call(
        "POST /pick-lists",
        Case(at("waiting_s02"), body={"location": "S01", "orders": [world.pickup_s01, X]}),
        world.waiting_s02,
        world,
    )
    assert theirs.status == both.status == 404
    assert theirs.body == both.body
    assert PickLine.objects.filter(allocation__line__order_id=world.waiting_s02).count() == 0


def test_a_counter_sale_at_another_store_is_no_such_store(world: World, store_user: User) -> None:
    """It was 403 for another store and 404 for an unknown one."""
    clerk = Caller(store_user)
    case = Case(S02, body={**SALE, "store": X})
    elsewhere = clerk.call("POST /orders", case, "S02", world)
    assert elsewhere == clerk.call("POST /orders", case, "S99", world)
    assert json.loads(elsewhere.body) == {
        "code": "unknown_location",
        "message": "no such location",
        "detail": {},
    }
    sold = clerk.call("POST /orders", case, "S01", world)
    assert sold.status == 201


def test_a_channel_sees_only_its_own_orders(
    world: World, market: Channel, web: Channel, goods: tuple[Product, Product]
) -> None:
    own = OrderFactory.create(channel=market, external_id="m-1", lines={goods[0]: 1})
    assert market.user is not None and web.user is not None
    market_api, web_api = Caller(market.user), Caller(web.user)
    listed = json.loads(market_api.client.get(f"{V1}/orders", headers=market_api.auth).content)
    assert [row["id"] for row in listed["results"]] == [own.pk]
    detail = Case(at("shipped_dc"))
    assert market_api.call("GET /orders/{order_id}", detail, own.pk, world).status == 200
    theirs = market_api.call("GET /orders/{order_id}", detail, world.shipped_dc, world)
    assert theirs == market_api.call("GET /orders/{order_id}", detail, 999_999, world)
    assert theirs.status == 404
    assert web_api.call("GET /orders/{order_id}", detail, world.shipped_dc, world).status == 200
    assert web_api.call("GET /orders/{order_id}", detail, own.pk, world).status == 404
