"""Bad input on every stock-changing POST, bad path ids, bad list queries and bad
Idempotency-Keys: each is a 4xx in the one error shape, never a 500, and moves nothing.

Every case starts from a request that succeeds (``test_the_valid_request_succeeds`` proves it)
and spoils one thing, so a refusal can only come from that one thing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from inventory import services
from inventory.models import (
    Location,
    Product,
    StockLevel,
    StockMove,
)
from tests.bad_input import MAX, ROUTES, Route, World, assert_error, ledger, path_of
from tests.factories import StoreUserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", list(ROUTES))
def test_the_valid_request_succeeds(name: str, world: World, api: Any) -> None:
    route = ROUTES[name]
    response = api(world.admin).post(path_of(route, world), route.body)
    assert response.status_code in (200, 201), response.content


# --------------------------------------------------------------------------- the bad bodies

Body = dict[str, Any]
VALIDATION = (422, "validation_error")
MALFORMED = (400, "malformed_request")


@dataclass(frozen=True)
class Bad:
    route: str
    name: str
    spoil: Callable[[Body], Body] | None = None  # None: send ``raw`` instead
    raw: str | None = None
    expected: tuple[int, str] = VALIDATION
    user: str = "admin"

    def __str__(self) -> str:
        return f"{self.route}-{self.name}"


def set_line(field: str, value: Any) -> Callable[[Body], Body]:
    def spoil(body: Body) -> Body:
        return {**body, "lines": [{**body["lines"][0], field: value}]}

    return spoil


def drop_line_field(field: str) -> Callable[[Body], Body]:
    def spoil(body: Body) -> Body:
        line = {k: v for k, v in body["lines"][0].items() if k != field}
        return {**body, "lines": [line]}

    return spoil


def set_field(field: str, value: Any) -> Callable[[Body], Body]:
    return lambda body: {**body, field: value}


def drop_field(field: str) -> Callable[[Body], Body]:
    return lambda body: {k: v for k, v in body.items() if k != field}


def bad_numbers(route: str, qty: str, zero_ok: bool) -> list[Bad]:
    numbers: list[tuple[str, Any]] = [
        ("negative", -1),
        ("huge", 10**12),
        ("above-max", MAX + 1),
        ("float", 1.5),
        ("whole-float", 5.0),
        ("string", "5"),
        ("bool", True),
        ("null", None),
        ("list", [5]),
    ]
    if not zero_ok:
        numbers.insert(0, ("zero", 0))
    cases = [Bad(route, f"{qty}-{label}", set_line(qty, value)) for label, value in numbers]
    return [*cases, Bad(route, f"{qty}-missing", drop_line_field(qty))]


def bad_lines(route: str, r: Route) -> list[Bad]:
    line = r.body["lines"][0]
    cases = [
        Bad(route, "sku-unknown", set_line("sku", "NOPE"), expected=(404, "unknown_product")),
        Bad(route, "sku-65-chars", set_line("sku", "S" * 65)),
        Bad(route, "sku-empty", set_line("sku", "")),
        Bad(route, "sku-number", set_line("sku", 1)),
        Bad(route, "sku-null", set_line("sku", None)),
        Bad(route, "sku-missing", drop_line_field("sku")),
        Bad(route, "lines-null", set_field("lines", None)),
        Bad(route, "lines-object", set_field("lines", line)),
        Bad(route, "lines-string", set_field("lines", "SKU-1")),
        Bad(route, "lines-of-numbers", set_field("lines", [5])),
        Bad(
            route,
            "duplicate-sku",
            set_field("lines", [line, line]),
            expected=(422, "duplicate_line"),
        ),
        Bad(
            route,
            "1001-lines",
            set_field("lines", [{**line, "sku": f"X-{i}"} for i in range(1001)]),
        ),
    ]
    if not r.empty_lines_ok:
        cases += [
            Bad(route, "lines-empty", set_field("lines", [])),
            Bad(route, "lines-missing", drop_field("lines")),
        ]
    return cases


def bad_locations(route: str, field: str) -> list[Bad]:
    not_found = (404, "unknown_location")
    return [
        Bad(route, f"{field}-unknown", set_field(field, "NOWHERE"), expected=not_found),
        Bad(
            route,
            f"{field}-virtual",
            set_field(field, "VIRTUAL-SUPPLIER"),
            expected=(422, "not_a_stock_location"),
        ),
        Bad(route, f"{field}-33-chars", set_field(field, "L" * 33)),
        Bad(route, f"{field}-empty", set_field(field, "")),
        Bad(route, f"{field}-number", set_field(field, 1)),
        Bad(route, f"{field}-null", set_field(field, None)),
        Bad(route, f"{field}-missing", drop_field(field)),
    ]


def bad_bodies(route: str, optional: bool) -> list[Bad]:
    """Bodies that are no JSON object. ``optional``: the route also takes no body at all."""
    cases = [
        Bad(route, "malformed-json", raw="{bad", expected=MALFORMED),
        Bad(route, "truncated-json", raw='{"lines": [', expected=MALFORMED),
        Bad(route, "json-array", raw="[]", expected=MALFORMED),
        Bad(route, "json-array-of-body", raw=json.dumps([ROUTES[route].body]), expected=MALFORMED),
        Bad(route, "json-string", raw='"text"', expected=MALFORMED),
        Bad(route, "json-number", raw="5", expected=MALFORMED),
        Bad(route, "json-null", raw="null", expected=MALFORMED),
    ]
    if not optional:
        cases += [Bad(route, "empty-body", raw=""), Bad(route, "json-empty-object", raw="{}")]
    return cases


def too_long(route: str, field: str, length: int) -> Bad:
    return Bad(route, f"{field}-{length}-chars", set_field(field, "x" * length))


BAD: list[Bad] = []
for _name, _route in ROUTES.items():
    if _route.qty:
        BAD += bad_numbers(_name, _route.qty, _route.zero_ok)
        BAD += bad_lines(_name, _route)
    for _field in _route.locations:
        BAD += bad_locations(_name, _field)
    if _route.body:
        BAD += bad_bodies(_name, _route.body_optional)

BAD += [
    # a store user may not even see a virtual location: as unknown as a missing one
    Bad(
        "receipts",
        "location-virtual-for-store-staff",
        set_field("location", "VIRTUAL-SUPPLIER"),
        expected=(404, "unknown_location"),
        user="store",
    ),
    too_long("receipts", "supplier", 101),
    too_long("receipts", "supplier_reference", 65),
    Bad("receipts", "supplier-number", set_field("supplier", 5)),
    too_long("counts", "note", 256),
    Bad("counts", "release_holds-maybe", set_field("release_holds", "maybe")),
    Bad("counts", "release_holds-list", set_field("release_holds", [])),
    # A flag is true or false: a number or a word that pydantic would read as one is refused.
    Bad("counts", "release_holds-zero", set_field("release_holds", 0)),
    Bad("counts", "release_holds-one", set_field("release_holds", 1)),
    Bad("counts", "release_holds-word", set_field("release_holds", "false")),
    Bad(
        "counts",
        "counted-below-reserved",
        set_line("counted", 1),
        expected=(409, "count_below_reserved"),
    ),
    too_long("reservations", "owner_type", 33),
    too_long("reservations", "owner_id", 65),
    Bad("reservations", "owner_type-empty", set_field("owner_type", "")),
    Bad("reservations", "owner_id-number", set_field("owner_id", 7)),
    Bad("reservations", "expires-zero", set_field("expires_in_seconds", 0)),
    Bad("reservations", "expires-negative", set_field("expires_in_seconds", -5)),
    Bad("reservations", "expires-huge", set_field("expires_in_seconds", 10**12)),
    Bad("reservations", "expires-string", set_field("expires_in_seconds", "60")),
    Bad("reservations", "expires-float", set_field("expires_in_seconds", 1.5)),
    Bad(
        "reservations",
        "more-than-available",
        set_line("quantity", MAX),
        expected=(409, "insufficient_stock"),
    ),
    Bad(
        "reservations",
        "inactive-product",
        set_line("sku", "SKU-OFF"),
        expected=(422, "inactive_product"),
    ),
    too_long("transfers", "note", 256),
    too_long("transfers", "reference", 65),
    Bad("transfers", "source-is-destination", set_field("destination", "S01")),
    too_long("release", "reason", 65),
    Bad("release", "reason-number", set_field("reason", 5)),
    Bad("release", "reason-null", set_field("reason", None)),
    Bad(
        "transfer-receive",
        "reason-256-chars",
        lambda body: {"lines": [{**body["lines"][0], "reason": "x" * 256}]},
    ),
    Bad("transfer-receive", "shortfall-without-reason", set_line("reason", " ")),
    Bad("transfer-receive", "sku-not-on-transfer", set_line("sku", "SKU-2")),
]


# The limits of every input (omni.schemas): no control characters (line breaks and tabs only in
# free text), integers within 64 bits, finite numbers; refused before anything is looked up.
CONTROLS = {
    "nul": "\x00",
    "bell": "\x07",
    "escape": "\x1b",
    "delete": "\x7f",
    "c1-next-line": "\x85",
    "newline": "\n",
    "carriage-return": "\r",
    "tab": "\t",
}
LINE_BREAKS = ("newline", "carriage-return", "tab")
RECEIPT_JSON = json.dumps(ROUTES["receipts"].body)
BAD += [
    case
    for name, char in CONTROLS.items()
    for case in (
        Bad("receipts", f"supplier-{name}", set_field("supplier", f"AC{char}ME")),
        Bad("receipts", f"sku-{name}", set_line("sku", f"SKU{char}-1")),
        Bad("counts", f"location-{name}", set_field("location", f"S0{char}1")),
        Bad("reservations", f"owner_id-{name}", set_field("owner_id", f"o{char}1")),
        Bad("release", f"reason-{name}", set_field("reason", f"gone{char}")),
    )
] + [
    # free text takes line breaks and tabs, never the other control characters
    Bad(route, f"note-{name}", set_field("note", f"shelf{char}3"))
    for route in ("counts", "transfers")
    for name, char in CONTROLS.items()
    if name not in LINE_BREAKS
]
BAD += [
    Bad("receipts", "supplier-lone-surrogate", raw=RECEIPT_JSON.replace("ACME", "\\ud800")),
    Bad("receipts", "quantity-nan", raw=RECEIPT_JSON.replace('"quantity": 5', '"quantity": NaN')),
    Bad(
        "receipts",
        "quantity-infinity",
        raw=RECEIPT_JSON.replace('"quantity": 5', '"quantity": Infinity'),
    ),
    Bad(
        "receipts", "quantity-1e400", raw=RECEIPT_JSON.replace('"quantity": 5', '"quantity": 1e400')
    ),
    Bad("receipts", "quantity-2^64", set_line("quantity", 2**64)),
    Bad("receipts", "quantity-minus-2^64", set_line("quantity", -(2**64))),
    Bad("receipts", "quantity-10^30", set_line("quantity", 10**30)),
    Bad("reservations", "expires-2^64", set_field("expires_in_seconds", 2**64)),
    Bad("transfer-receive", "received-2^64", set_line("received", 2**64)),
]


@pytest.mark.parametrize("case", BAD, ids=str)
def test_bad_body_is_refused_and_moves_nothing(case: Bad, world: World, api: Any) -> None:
    route = ROUTES[case.route]
    user = world.admin if case.user == "admin" else world.store_user
    before = ledger()

    if case.spoil is not None:
        response = api(user).post(path_of(route, world), case.spoil(route.body))
    else:
        response = api(user).post(path_of(route, world), raw=case.raw)

    assert_error(response, *case.expected)
    assert ledger() == before


# --------------------------------------------------------------------------- states and paths

# Well-formed requests that do not fit the state of what they name: (id, path, status, code).
CONFLICTS = [
    ("release-twice", "/reservations/{released}/release", 409, "reservation_not_active"),
    ("approve-approved", "/transfers/{approved}/approve", 409, "transfer_invalid_state"),
    ("approve-short", "/transfers/{greedy}/approve", 409, "insufficient_stock"),
    ("dispatch-draft", "/transfers/{draft}/dispatch", 409, "transfer_invalid_state"),
    ("dispatch-dispatched", "/transfers/{dispatched}/dispatch", 409, "transfer_invalid_state"),
    ("receive-draft", "/transfers/{draft}/receive", 409, "transfer_invalid_state"),
    ("receive-approved", "/transfers/{approved}/receive", 409, "transfer_invalid_state"),
    ("cancel-dispatched", "/transfers/{dispatched}/cancel", 409, "transfer_invalid_state"),
    ("cancel-cancelled", "/transfers/{cancelled}/cancel", 409, "transfer_invalid_state"),
]


@pytest.mark.parametrize(
    ("path", "status", "code"), [c[1:] for c in CONFLICTS], ids=[c[0] for c in CONFLICTS]
)
def test_action_in_the_wrong_state_is_refused(
    path: str, status: int, code: str, world: World, api: Any, dc: Location, product: Product
) -> None:
    released = services.stock_reserve(
        product=product, location=dc, quantity=1, owner_type="test", owner_id="x"
    )
    services.reservation_release(reservation=released)
    greedy = services.transfer_create(
        source=dc, destination=Location.objects.get(code="S02"), lines=[(product, MAX)]
    )
    cancelled = services.transfer_create(
        source=dc, destination=Location.objects.get(code="S02"), lines=[(product, 1)]
    )
    services.transfer_cancel(transfer=cancelled)
    ids = {**world.ids, "released": released.pk, "greedy": greedy.pk, "cancelled": cancelled.pk}
    before = ledger()
    response = api(world.admin).post("/api/v1" + path.format(**ids))
    assert_error(response, status, code)
    assert ledger() == before


ID_ROUTES = [
    "/reservations/{id}",
    "/reservations/{id}/release",
    "/transfers/{id}",
    "/transfers/{id}/approve",
    "/transfers/{id}/dispatch",
    "/transfers/{id}/receive",
    "/transfers/{id}/cancel",
]
BAD_IDS = {
    "abc": (422, "validation_error"),
    "1.5": (422, "validation_error"),
    "1e3": (422, "validation_error"),
    "%00": (400, "malformed_request"),  # NUL is refused for every path, before any view
    "99999999999999999999": (404, "not_found"),
    "9223372036854775808": (404, "not_found"),  # one past the largest 64-bit id
    "-1": (404, "not_found"),
    "0": (404, "not_found"),
    "999999": (404, "not_found"),
}


@pytest.mark.parametrize("bad_id", list(BAD_IDS))
@pytest.mark.parametrize("route", ID_ROUTES)
def test_bad_path_id_is_refused(route: str, bad_id: str, world: World, api: Any) -> None:
    client = api(world.admin)
    path = "/api/v1" + route.format(id=bad_id)
    before = ledger()
    response = client.post(path) if route.count("/") > 2 else client.get(path)
    status, code = BAD_IDS[bad_id]
    assert_error(response, status, code)
    assert ledger() == before


def cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


LISTS = ["/products", "/locations", "/stock-levels", "/moves", "/reservations", "/transfers"]
BAD_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("page_size-negative", {"page_size": -1}),
    ("page_size-zero", {"page_size": 0}),
    ("page_size-text", {"page_size": "all"}),
    ("page_size-float", {"page_size": "1.5"}),
    ("cursor-garbage", {"cursor": "garbage"}),
    ("cursor-not-ascii", {"cursor": "é"}),
    ("cursor-position-text", {"cursor": cursor("p=abc")}),
    ("cursor-offset-negative", {"cursor": cursor("o=-1")}),
    ("cursor-offset-huge", {"cursor": cursor("o=99999999999999999999")}),
    ("cursor-offset-text", {"cursor": cursor("o=abc")}),
    ("cursor-reverse-text", {"cursor": cursor("r=maybe")}),
]
BAD_FILTERS: list[tuple[str, str, dict[str, Any]]] = [
    ("/moves", "since-notadate", {"since": "notadate"}),
    ("/moves", "until-month-13", {"until": "2024-13-01"}),
    # pydantic reads a number as seconds since 1970; a time is written as one
    ("/moves", "until-a-number", {"until": "0.5"}),
    ("/moves", "since-seconds", {"since": "1700000000"}),
    ("/stock-levels", "in_stock-maybe", {"in_stock": "maybe"}),
    ("/products", "active-maybe", {"active": "maybe"}),
]
QUERY_CASES = [
    pytest.param(path, params, id=f"{path[1:]}-{name}")
    for path in LISTS
    for name, params in BAD_QUERIES
] + [pytest.param(path, params, id=f"{path[1:]}-{name}") for path, name, params in BAD_FILTERS]


@pytest.mark.parametrize(("path", "params"), QUERY_CASES)
def test_bad_list_query_is_422(path: str, params: dict[str, Any], world: World, api: Any) -> None:
    before = ledger()
    response = api(world.store_user).get("/api/v1" + path, **params)
    assert_error(response, 422, "validation_error")
    assert ledger() == before


@pytest.mark.parametrize("path", LISTS)
def test_a_real_cursor_still_pages(path: str, world: World, api: Any) -> None:
    client = api(world.admin)
    first = client.get("/api/v1" + path, page_size=1)
    assert first.status_code == 200, first.content
    next_url = first.json()["next"]
    assert next_url, "the world has two rows of every list"
    second = client.client.get(next_url, headers=client.headers)
    assert second.status_code == 200, second.content
    assert second.json()["results"] != first.json()["results"]


# --------------------------------------------------------------------------- Idempotency-Key

BAD_KEYS = {"empty": "", "blank": "   ", "300-chars": "k" * 300, "control-char": "a\x07b"}


@pytest.mark.parametrize("key", list(BAD_KEYS))
@pytest.mark.parametrize("name", list(ROUTES))
def test_bad_idempotency_key_is_400(name: str, key: str, world: World, api: Any) -> None:
    route = ROUTES[name]
    before = ledger()
    response = api(world.admin).post(path_of(route, world), route.body, key=BAD_KEYS[key])
    assert_error(response, 400, "idempotency_key_invalid")
    assert ledger() == before


RECEIPT = ROUTES["receipts"].body


def on_hand_at_s01() -> int:
    return StockLevel.objects.get(location__code="S01", product__sku="SKU-1").on_hand


def test_same_key_same_body_is_replayed(world: World, api: Any) -> None:
    client = api(world.store_user)
    moves, on_hand = StockMove.objects.count(), on_hand_at_s01()

    first = client.post("/api/v1/receipts", RECEIPT, key="receipt-1")
    # the same JSON in another key order and spacing is the same request
    again = client.post(
        "/api/v1/receipts",
        raw=json.dumps(dict(reversed(RECEIPT.items())), indent=2),
        key="receipt-1",
    )

    assert first.status_code == again.status_code == 201
    assert first["Idempotent-Replayed"] == "false"
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert StockMove.objects.count() == moves + 1
    assert on_hand_at_s01() == on_hand + 5


def test_same_key_other_request_is_409(world: World, api: Any) -> None:
    client = api(world.store_user)
    assert client.post("/api/v1/receipts", RECEIPT, key="k").status_code == 201
    before = ledger()

    other_body = client.post("/api/v1/receipts", {**RECEIPT, "supplier": "Other"}, key="k")
    other_path = client.post("/api/v1/counts", ROUTES["counts"].body, key="k")

    for response in (other_body, other_path):
        body = assert_error(response, 409, "idempotency_key_reused")
        assert body["detail"]["key"] == "k"
    assert ledger() == before


def test_a_refusal_is_replayed_too(world: World, api: Any) -> None:
    client = api(world.store_user)
    bad = {**RECEIPT, "lines": [{"sku": "SKU-1", "quantity": 0}]}
    first = client.post("/api/v1/receipts", bad, key="k")
    again = client.post("/api/v1/receipts", bad, key="k")
    assert_error(first, 422, "validation_error")
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"


def test_users_keys_are_independent(world: World, api: Any, store: Location) -> None:
    other_clerk = StoreUserFactory.create(username="clerk1b", password="x", locations=[store])
    moves = StockMove.objects.count()

    mine = api(world.store_user).post("/api/v1/receipts", RECEIPT, key="shared")
    theirs = api(other_clerk).post("/api/v1/receipts", RECEIPT, key="shared")

    assert mine.status_code == theirs.status_code == 201
    assert mine["Idempotent-Replayed"] == theirs["Idempotent-Replayed"] == "false"
    assert mine.json()["id"] != theirs.json()["id"]
    assert StockMove.objects.count() == moves + 2


def test_unknown_field_is_refused_not_ignored(world: World, api: Any) -> None:
    """A typo must not quietly mean "all defaults" (here: booked in full)."""
    client = api(world.admin)
    before = ledger()
    response = client.post(
        f"/api/v1/transfers/{world.ids['dispatched']}/receive",
        {"line": [{"sku": "SKU-1", "received": 0, "reason": "lost"}]},
    )
    body = assert_error(response, 422, "validation_error")
    assert "line" in json.dumps(body["detail"])
    assert ledger() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "post",
            "/api/v1/receipts",
            {"location": "S01", "lines": [{"sku": "SKU\x00", "quantity": 1}]},
        ),
        (
            "post",
            "/api/v1/counts",
            {"location": "S\x0001", "lines": [{"sku": "SKU-1", "counted": 1}]},
        ),
        ("get", "/api/v1/products/SKU%00-1", None),
        ("get", "/api/v1/locations/S0%001", None),
    ],
)
def test_nul_characters_are_refused(
    method: str, path: str, body: Any, world: World, api: Any
) -> None:
    client = api(world.admin)
    before = ledger()
    response = client.post(path, body) if method == "post" else client.get(path)
    assert_error(response, 422 if method == "post" else 400)
    assert ledger() == before


@pytest.mark.parametrize("key", [None, "big-one"], ids=["plain", "idempotent"])
def test_a_body_over_the_limit_is_413_in_the_error_shape(
    world: World, api: Any, settings: Any, key: str | None
) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    lines = [{"sku": "SKU-1", "quantity": 1}] * (limit // 20)
    body = json.dumps({"location": "S01", "lines": lines})
    assert len(body) > limit
    before = ledger()
    response = api(world.admin).post("/api/v1/receipts", raw=body, key=key)
    error = assert_error(response, 413, "request_too_large")
    assert error["detail"] == {"limit": limit}
    assert ledger() == before


def test_a_body_read_past_the_limit_without_a_declared_length_is_413(
    world: World, settings: Any
) -> None:
    from django.core.exceptions import RequestDataTooBig
    from django.test import RequestFactory

    from omni.api import on_too_large

    request = RequestFactory().post("/api/v1/receipts", data="{}", content_type="application/json")
    response = on_too_large(request, RequestDataTooBig("too big"))
    assert response.status_code == 413
    assert json.loads(response.content)["code"] == "request_too_large"
