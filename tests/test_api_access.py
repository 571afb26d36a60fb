"""Who may do what, where: every route of the inventory router × role × own/other location, read
from one table, plus the life of an API token and session auth with CSRF.

The world: a DC (DC1) and three stores (S01, S02, S03), 100 units of SKU-1 at each. The warehouse
user works at DC1, the store user at S01; admins and planners work nowhere and see everything.
"own" is the user's home (S01 for admins and planners), "other" is S02, a location no test user
works at, and S03 is the far end of every transfer and nobody's home. For each of DC1, S01 and S02
there is a hold, and a transfer to and from S03 in each of draft, approved and dispatched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client

from inventory import services
from inventory.models import (
    Location,
    Product,
    Reservation,
    StockLevel,
    StockMove,
    Transfer,
)
from omni.models import City, User
from omni.services import api_token_create, api_token_revoke
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


ROLES = ("admin", "planner", "warehouse", "store")
HOME = {"admin": "S01", "planner": "S01", "warehouse": "DC1", "store": "S01"}
OTHER = "S02"
PARTNER = "S03"
STAFFED = ("DC1", "S01", "S02")  # the locations that get holds and transfers
VISIBLE: dict[str, set[str] | None] = {  # None: every location, virtual ones included
    "admin": None,
    "planner": None,
    "warehouse": {"DC1"},
    "store": {"S01"},
}

# A list filtered by a location the user may not see answers exactly like one filtered by a
# location that does not exist: 200 with no rows.
EMPTY = "200 []"

# fmt: off
#                              admin       planner     warehouse   store
#                              own  other  own  other  own  other  own  other
MATRIX: dict[str, tuple[int | str, ...]] = {
    "products.list":          (200, 200,   200, 200,   200, 200,   200, 200),
    "products.detail":        (200, 200,   200, 200,   200, 200,   200, 200),
    "products.create":        (201, 201,   403, 403,   403, 403,   403, 403),
    "locations.list":         (200, 200,   200, 200,   200, 200,   200, 200),
    "locations.detail":       (200, 200,   200, 200,   200, 404,   200, 404),
    "stock-levels.list":      (200, 200,   200, 200,   200, EMPTY, 200, EMPTY),
    "moves.list":             (200, 200,   200, 200,   200, EMPTY, 200, EMPTY),
    "receipts.create":        (201, 201,   403, 403,   201, 404,   201, 404),
    "counts.create":          (201, 201,   403, 403,   201, 404,   201, 404),
    "reservations.list":      (200, 200,   200, 200,   200, EMPTY, 200, EMPTY),
    "reservations.detail":    (200, 200,   200, 200,   200, 404,   200, 404),
    "reservations.create":    (201, 201,   403, 403,   201, 404,   201, 404),
    "reservations.release":   (200, 200,   403, 403,   200, 404,   200, 404),
    "transfers.list":         (200, 200,   200, 200,   200, EMPTY, 200, EMPTY),
    "transfers.detail":       (200, 200,   200, 200,   200, 404,   200, 404),
    "transfers.create":       (201, 201,   201, 201,   201, 404,   201, 404),
    "transfers.approve":      (200, 200,   200, 200,   200, 404,   200, 404),
    "transfers.dispatch":     (200, 200,   403, 403,   200, 404,   200, 404),
    "transfers.receive":      (200, 200,   403, 403,   200, 404,   200, 404),
    "transfers.cancel":       (200, 200,   200, 200,   200, 404,   200, 404),
}

# The user's home is at the *other* end of the transfer: approving, dispatching and cancelling
# belong to the source, receiving to the destination; staff at either end may see it and may
# draft a transfer into their location.
#                              admin  planner  warehouse  store
FAR_END: dict[str, tuple[int, ...]] = {
    "transfers.detail":       (200,   200,     200,       200),
    "transfers.create":       (201,   201,     201,       201),
    "transfers.approve":      (200,   200,     403,       403),
    "transfers.dispatch":     (200,   403,     403,       403),
    "transfers.receive":      (200,   403,     403,       403),
    "transfers.cancel":       (200,   200,     403,       403),
}
# fmt: on


@dataclass(frozen=True)
class Endpoint:
    """How to call one route against location ``loc``. ``transfer`` names the state of the
    transfer in the path and ``end`` the end at which staff may act on it."""

    method: str
    path: str
    body: Callable[[str], dict[str, Any]] | None = None
    params: Callable[[str], dict[str, Any]] = field(default=lambda loc: {})
    transfer: str | None = None
    end: str = "source"
    not_found: str = "not_found"
    rows: Callable[[dict[str, Any]], set[str]] | None = None  # the locations a list row shows


def line(quantity: int = 2) -> list[dict[str, Any]]:
    return [{"sku": "SKU-1", "quantity": quantity}]


ENDPOINTS: dict[str, Endpoint] = {
    "products.list": Endpoint("GET", "/products"),
    "products.detail": Endpoint("GET", "/products/SKU-1"),
    "products.create": Endpoint("POST", "/products", body=lambda loc: {"sku": "N", "name": "N"}),
    "locations.list": Endpoint("GET", "/locations", rows=lambda r: {r["code"]}),
    "locations.detail": Endpoint("GET", "/locations/{loc}", not_found="unknown_location"),
    "stock-levels.list": Endpoint(
        "GET",
        "/stock-levels",
        params=lambda loc: {"location": loc, "page_size": 500},
        rows=lambda r: {r["location"]},
    ),
    "moves.list": Endpoint(
        "GET",
        "/moves",
        params=lambda loc: {"location": loc, "page_size": 500},
        rows=lambda r: {r["from_location"], r["to_location"]},
    ),
    "receipts.create": Endpoint(
        "POST",
        "/receipts",
        body=lambda loc: {"location": loc, "lines": line(5)},
        not_found="unknown_location",
    ),
    "counts.create": Endpoint(
        "POST",
        "/counts",
        body=lambda loc: {"location": loc, "lines": [{"sku": "SKU-1", "counted": 50}]},
        not_found="unknown_location",
    ),
    "reservations.list": Endpoint(
        "GET",
        "/reservations",
        params=lambda loc: {"location": loc, "page_size": 500},
        rows=lambda r: {r["location"]},
    ),
    "reservations.detail": Endpoint("GET", "/reservations/{hold}"),
    "reservations.create": Endpoint(
        "POST",
        "/reservations",
        body=lambda loc: {"location": loc, "lines": line()},
        not_found="unknown_location",
    ),
    "reservations.release": Endpoint("POST", "/reservations/{hold}/release", body=lambda loc: {}),
    "transfers.list": Endpoint(
        "GET",
        "/transfers",
        params=lambda loc: {"location": loc, "page_size": 500},
        rows=lambda r: {r["source"], r["destination"]},
    ),
    "transfers.detail": Endpoint("GET", "/transfers/{transfer}", transfer="draft"),
    "transfers.create": Endpoint(
        "POST",
        "/transfers",
        body=lambda loc: {"source": loc, "destination": PARTNER, "lines": line()},
        not_found="unknown_location",
    ),
    "transfers.approve": Endpoint("POST", "/transfers/{transfer}/approve", transfer="draft"),
    "transfers.dispatch": Endpoint("POST", "/transfers/{transfer}/dispatch", transfer="approved"),
    "transfers.receive": Endpoint(
        "POST", "/transfers/{transfer}/receive", transfer="dispatched", end="destination"
    ),
    "transfers.cancel": Endpoint("POST", "/transfers/{transfer}/cancel", transfer="draft"),
}


@dataclass(frozen=True)
class Case:
    endpoint: str
    role: str
    scope: str  # "own", "other" or "far-end"
    expected: int | str

    def __str__(self) -> str:
        return f"{self.endpoint}-{self.role}-{self.scope}"

    @property
    def loc(self) -> str:
        return OTHER if self.scope == "other" else HOME[self.role]


CASES = [
    Case(endpoint, role, scope, row[2 * i + j])
    for endpoint, row in MATRIX.items()
    for i, role in enumerate(ROLES)
    for j, scope in enumerate(("own", "other"))
] + [
    Case(endpoint, role, "far-end", row[i])
    for endpoint, row in FAR_END.items()
    for i, role in enumerate(ROLES)
]


# --------------------------------------------------------------------------- the world


@dataclass
class World:
    holds: dict[str, int]
    # (state, location, the location's end) → transfer id
    transfers: dict[tuple[str, str, str], int]
    users: dict[str, User]


def flip(end: str) -> str:
    return "destination" if end == "source" else "source"


@pytest.fixture
def world(
    city: City,
    dc: Location,
    store: Location,
    store2: Location,
    product: Product,
    admin_user: User,
    planner: User,
    warehouse_user: User,
    store_user: User,
) -> World:
    store3 = StoreFactory.create(
        code=PARTNER, name="Store 3", city=city, latitude=30.2, longitude=120.1
    )
    by_code = {loc.code: loc for loc in (dc, store, store2, store3)}
    for location in by_code.values():
        services.stock_receive(location=location, lines=[(product, 100)])
    holds = {
        code: services.stock_reserve(
            product=product, location=by_code[code], quantity=1, owner_type="test", owner_id=code
        ).pk
        for code in STAFFED
    }
    transfers: dict[tuple[str, str, str], int] = {}
    for code in STAFFED:
        for end in ("source", "destination"):
            ends = (by_code[code], store3) if end == "source" else (store3, by_code[code])
            for state in ("draft", "approved", "dispatched"):
                transfer = services.transfer_create(
                    source=ends[0], destination=ends[1], lines=[(product, 2)]
                )
                if state in ("approved", "dispatched"):
                    services.transfer_approve(transfer=transfer)
                if state == "dispatched":
                    services.transfer_dispatch(transfer=transfer)
                transfers[(state, code, end)] = transfer.pk
    users = {
        "admin": admin_user,
        "planner": planner,
        "warehouse": warehouse_user,
        "store": store_user,
    }
    return World(holds=holds, transfers=transfers, users=users)


def request_for(world: World, endpoint: Endpoint, loc: str, *, far_end: bool = False) -> Any:
    """The path, query and body that call ``endpoint`` about location ``loc``."""
    transfer = 0
    if endpoint.transfer:
        end = flip(endpoint.end) if far_end else endpoint.end
        transfer = world.transfers[(endpoint.transfer, loc, end)]
    path = "/api/v1" + endpoint.path.format(
        loc=loc, hold=world.holds.get(loc, 0), transfer=transfer
    )
    body = endpoint.body(loc) if endpoint.body else None
    if far_end and body and "source" in body:
        body = {**body, "source": PARTNER, "destination": loc}
    return path, endpoint.params(loc), body


# --------------------------------------------------------------------------- checks


def state() -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    return {
        "moves": StockMove.objects.count(),
        "levels": list(
            StockLevel.objects.order_by("id").values_list(
                "id", "location_id", "product_id", "on_hand", "reserved"
            )
        ),
        "reservations": list(
            Reservation.objects.order_by("id").values_list("id", "status", "quantity")
        ),
        "transfers": list(Transfer.objects.order_by("id").values_list("id", "status")),
        "products": list(Product.objects.order_by("id").values_list("sku", flat=True)),
    }


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "detail"}, body
    assert isinstance(body["code"], str)
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["detail"], dict)
    if code is not None:
        assert body["code"] == code, body
    return body


ERROR_CODES = {401: "unauthenticated", 403: "permission_denied"}


def call(client: Any, method: str, path: str, params: dict, body: Any) -> Any:
    if method == "GET":
        return client.get(path, **params)
    return client.post(path, body)


# --------------------------------------------------------------------------- the matrix


@pytest.mark.parametrize("case", CASES, ids=str)
def test_access_matrix(case: Case, world: World, api: Any) -> None:
    endpoint = ENDPOINTS[case.endpoint]
    client = api(world.users[case.role])
    path, params, body = request_for(world, endpoint, case.loc, far_end=case.scope == "far-end")
    before = state()

    response = call(client, endpoint.method, path, params, body)

    if case.expected == EMPTY:
        assert response.status_code == 200, response.content
        assert response.json()["results"] == []
        unknown = call(client, "GET", path, {**params, "location": "NOWHERE"}, None)
        assert response.json() == unknown.json()
        return
    assert isinstance(case.expected, int)
    if case.expected >= 400:
        code = ERROR_CODES.get(case.expected, endpoint.not_found)
        assert_error(response, case.expected, code)
        assert state() == before, "a refused request changed stock"
        return
    assert response.status_code == case.expected, response.content
    if endpoint.method == "POST":
        assert state() != before, "a successful write changed nothing"
    elif endpoint.rows is not None:
        rows = response.json()["results"]
        assert rows, "a list the user may read came back empty"
        visible = VISIBLE[case.role]
        for row in rows:
            assert visible is None or endpoint.rows(row) & visible, f"{case.role} sees {row}"
        if "location" in params:
            assert all(case.loc in endpoint.rows(row) for row in rows)


# Unfiltered lists: staff see rows of their own locations only; admins and planners see S02's.
LISTS = [name for name, endpoint in ENDPOINTS.items() if endpoint.rows is not None]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", LISTS)
def test_unfiltered_lists_show_only_visible_rows(
    name: str, role: str, world: World, api: Any
) -> None:
    endpoint = ENDPOINTS[name]
    assert endpoint.rows is not None
    response = api(world.users[role]).get("/api/v1" + endpoint.path, page_size=500)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next"] is None, "the page must hold the whole list for this check"
    shown = [endpoint.rows(row) for row in body["results"]]
    assert shown
    visible = VISIBLE[role]
    if visible is None:
        assert any(OTHER in locations for locations in shown)
    else:
        assert all(locations & visible for locations in shown), shown
        assert not any(OTHER in locations for locations in shown)


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_unauthenticated_is_401_everywhere(name: str, world: World, api: Any) -> None:
    endpoint = ENDPOINTS[name]
    path, params, body = request_for(world, endpoint, "S01")
    before = state()
    for enforce_csrf in (False, True):  # a client without a session needs no CSRF token
        client = api(None)
        client.client = Client(enforce_csrf_checks=enforce_csrf)
        response = call(client, endpoint.method, path, params, body)
        assert_error(response, 401, "unauthenticated")
    assert state() == before


# --------------------------------------------------------------------------- tokens and sessions

RECEIPT = {"location": "S01", "lines": line(5)}
CSRF_SECRET = "a" * 32


def with_bearer(api: Any, header: str) -> Any:
    """An API client whose Django test client enforces CSRF, as a real browser-less caller's
    request would meet it."""
    client = api(None)
    client.client = Client(enforce_csrf_checks=True)
    client.headers["Authorization"] = header
    return client


def test_token_works_until_revoked(
    store: Location, product: Product, store_user: User, api: Any
) -> None:
    token, raw = api_token_create(user=store_user, name="till")
    client = with_bearer(api, f"Bearer {raw}")
    assert client.get("/api/v1/stock-levels").status_code == 200
    assert client.post("/api/v1/receipts", RECEIPT).status_code == 201, "tokens need no CSRF"
    token.refresh_from_db()
    assert token.last_used_at is not None

    api_token_revoke(token_id=token.pk)
    before = state()
    assert_error(client.get("/api/v1/stock-levels"), 401, "unauthenticated")
    assert_error(client.post("/api/v1/receipts", RECEIPT), 401, "unauthenticated")
    assert_error(client.post("/api/v1/receipts", RECEIPT, key="k1"), 401, "unauthenticated")
    assert state() == before


@pytest.mark.parametrize(
    "header",
    [
        "Bearer omni_not-a-real-token",
        "Bearer ",
        "Bearer " + "x" * 300,
        "Basic Zm9vOmJhcg==",
        "omni_",
    ],
    ids=["unknown-token", "empty-token", "huge-token", "basic-auth", "no-scheme"],
)
def test_bad_credentials_are_401(header: str, store: Location, product: Product, api: Any) -> None:
    client = with_bearer(api, header)
    before = state()
    assert_error(client.get("/api/v1/products"), 401, "unauthenticated")
    assert_error(client.post("/api/v1/receipts", RECEIPT), 401, "unauthenticated")
    assert state() == before


def test_token_of_deactivated_user_is_401(store: Location, store_user: User, api: Any) -> None:
    _, raw = api_token_create(user=store_user, name="till")
    store_user.is_active = False
    store_user.save()
    assert_error(with_bearer(api, f"Bearer {raw}").get("/api/v1/products"), 401, "unauthenticated")


@pytest.fixture
def session(store: Location, store2: Location, product: Product, store_user: User) -> Client:
    for location in (store, store2):
        services.stock_receive(location=location, lines=[(product, 10)])
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="clerk1", password="pw-clerk1")
    return client


def test_session_reads_are_scoped(session: Client) -> None:
    response = session.get("/api/v1/stock-levels")
    assert response.status_code == 200
    assert [row["location"] for row in response.json()["results"]] == ["S01"]
    assert session.get("/api/v1/locations/S01").status_code == 200
    assert_error(session.get("/api/v1/locations/S02"), 404, "unknown_location")


def post_json(client: Client, path: str, body: Any, **headers: str) -> Any:
    return client.post(path, data=body, content_type="application/json", headers=headers)


def test_session_posts_need_csrf(session: Client) -> None:
    before = state()
    assert_error(post_json(session, "/api/v1/receipts", RECEIPT), 403, "permission_denied")
    session.cookies["csrftoken"] = CSRF_SECRET
    wrong = post_json(session, "/api/v1/receipts", RECEIPT, **{"X-CSRFToken": "b" * 32})
    assert_error(wrong, 403, "permission_denied")
    assert state() == before

    response = post_json(session, "/api/v1/receipts", RECEIPT, **{"X-CSRFToken": CSRF_SECRET})
    assert response.status_code == 201, response.content
    assert StockMove.objects.count() == before["moves"] + 1


def test_a_csrf_refusal_is_not_replayed_for_its_idempotency_key(session: Client) -> None:
    refused = post_json(session, "/api/v1/receipts", RECEIPT, **{"Idempotency-Key": "k1"})
    assert_error(refused, 403, "permission_denied")
    session.cookies["csrftoken"] = CSRF_SECRET
    headers = {"Idempotency-Key": "k1", "X-CSRFToken": CSRF_SECRET}
    response = post_json(session, "/api/v1/receipts", RECEIPT, **headers)
    assert response.status_code == 201, response.content
    assert response["Idempotent-Replayed"] == "false"


def test_session_after_logout_is_401(session: Client) -> None:
    session.logout()
    assert_error(session.get("/api/v1/stock-levels"), 401, "unauthenticated")
    assert_error(post_json(session, "/api/v1/receipts", RECEIPT), 401, "unauthenticated")
