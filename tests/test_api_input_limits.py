"""The limits of every input (docs/api.md, "Input limits") on every app's operations: values of
another JSON type, integers and times beyond what the database or Python can hold, text with
control characters. Each is a 4xx in the error shape, never a 500, and moves nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inventory.models import (
    Product,
)
from tests.bad_input import ROUTES, World, assert_error, ledger

pytestmark = pytest.mark.django_db


# A value of another JSON type than the schema's, which pydantic would convert: refused, in every
# body (and a time in a query), not read as 0, 2.5 or 1970. (path, body or query, the field)
OTHER_JSON_TYPES: list[tuple[str, str, dict[str, Any], str]] = [
    ("product-price-false", "/products", {"sku": "N-1", "name": "n", "price": False}, "price"),
    ("product-cost-text", "/products", {"sku": "N-1", "name": "n", "cost": "2.5"}, "cost"),
    (
        "product-volume-true",
        "/products",
        {"sku": "N-1", "name": "n", "unit_volume": True},
        "unit_volume",
    ),
    (
        "order-unit_price-text",
        "/orders",
        {
            "external_id": "x-1",
            "mode": "delivery",
            "lines": [{"sku": "SKU-1", "quantity": 1, "unit_price": "10"}],
            "delivery": {"address": "a", "latitude": 30.27, "longitude": 120.16},
        },
        "unit_price",
    ),
    (
        "order-latitude-text",
        "/orders",
        {
            "external_id": "x-2",
            "mode": "delivery",
            "lines": [{"sku": "SKU-1", "quantity": 1}],
            "delivery": {"address": "a", "latitude": "30.27", "longitude": 120.16},
        },
        "latitude",
    ),
    (
        "order-promised_at-seconds",
        "/orders",
        {
            "external_id": "x-3",
            "mode": "delivery",
            "lines": [{"sku": "SKU-1", "quantity": 1}],
            "delivery": {"address": "a", "latitude": 30.27, "longitude": 120.16},
            "promised_at": 1700000000,
        },
        "promised_at",
    ),
    (
        "capacity-opens_at-seconds",
        "/locations/S01/capacity",
        {"service": "pickup", "daily_capacity": None, "opens_at": 3600, "closes_at": 7200},
        "opens_at",
    ),
    (
        "allocation-service_level-text",
        "/allocation/runs",
        {"city": "testcity", "service_level": "0.9"},
        "service_level",
    ),
    (
        "allocation-unknown-field",
        "/allocation/runs",
        {"city": "testcity", "servce_level": 0.9},
        "servce_level",
    ),
    ("capacity-day-a-number", "/routing/capacity?city=testcity&day=0", {}, "day"),
]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [c[1:] for c in OTHER_JSON_TYPES],
    ids=[c[0] for c in OTHER_JSON_TYPES],
)
def test_a_value_of_another_json_type_is_refused(
    path: str, body: dict[str, Any], field: str, world: World, api: Any, web: Any
) -> None:
    assert web.user is not None
    client = api(web.user if path == "/orders" else world.admin)
    before = (ledger(), Product.objects.count())
    if "?" in path:
        response = client.get("/api/v1" + path)
    elif path.endswith("/capacity"):
        response = client.client.put(
            "/api/v1" + path,
            json.dumps(body),
            content_type="application/json",
            headers=client.headers,
        )
    else:
        response = client.post("/api/v1" + path, body)
    error = assert_error(response, 422, "validation_error")
    assert field in json.dumps(error["detail"]), error
    assert (ledger(), Product.objects.count()) == before


# --------------------------------------------------------------------------- limits elsewhere

# Inputs of other apps' operations beyond what the database or Python can hold: (id, method,
# path, query or body, the field the refusal names). Each is a 422 before anything is looked
# up, so the world needs none of the objects named.
LINE = {"sku": "SKU-1", "quantity": 1}
BEYOND: list[tuple[str, str, str, Any, str]] = [
    # integers beyond 64 bits (OverflowError on SQLite, DataError on PostgreSQL)
    (
        "pick-list-order-2^64",
        "post",
        "/pick-lists",
        {"location": "DC1", "orders": [2**64]},
        "orders",
    ),
    (
        "pick-list-order-minus-2^64",
        "post",
        "/pick-lists",
        {"location": "DC1", "orders": [-(2**64)]},
        "orders",
    ),
    (
        "return-order-2^70",
        "post",
        "/returns",
        {"order": 2**70, "location": "S01", "lines": [LINE]},
        "order",
    ),
    ("forecasts-run-10^20", "get", "/forecasts", {"run": "99999999999999999999"}, "run"),
    ("page_size-10^30", "get", "/moves", {"page_size": str(10**30)}, "page_size"),
    # times and dates: the years 1900 to 8999; offsets up to ±23:59 are Python's, not PostgreSQL's
    (
        "moves-since-offset-past-9999",
        "get",
        "/moves",
        {"since": "9999-12-30T23:59:59-23:59"},
        "since",
    ),
    ("moves-until-year-1", "get", "/moves", {"until": "0001-01-01T00:00:00"}, "until"),
    ("moves-since-year-9000", "get", "/moves", {"since": "9000-01-01T00:00:00+00:00"}, "since"),
    (
        "orders-since-offset-past-9999",
        "get",
        "/orders",
        {"since": "9999-12-31T23:59:59-23:59"},
        "since",
    ),
    ("orders-until-1899", "get", "/orders", {"until": "1899-12-31T23:59:59+00:00"}, "until"),
    (
        "capacity-day-9999-12-31",
        "get",
        "/routing/capacity",
        {"city": "testcity", "day": "9999-12-31"},
        "day",
    ),
    (
        "capacity-day-0001-01-01",
        "get",
        "/routing/capacity",
        {"city": "testcity", "day": "0001-01-01"},
        "day",
    ),
    ("forecast-run-as_of-9999-12-31", "post", "/forecast-runs", {"as_of": "9999-12-31"}, "as_of"),
    ("forecast-run-as_of-0001-01-01", "post", "/forecast-runs", {"as_of": "0001-01-01"}, "as_of"),
    (
        "order-promised-9999-12-31-plus-23:59",
        "post",
        "/orders",
        {
            "external_id": "x",
            "mode": "delivery",
            "lines": [LINE],
            "promised_at": "9999-12-31T23:59:59+23:59",
        },
        "promised_at",
    ),
    # control characters in query strings (PostgreSQL cannot hold NUL) and in any body
    ("products-q-nul", "get", "/products", {"q": "SKU\x00"}, "q"),
    ("products-q-escape", "get", "/products", {"q": "SKU\x1b"}, "q"),
    ("stock-levels-location-newline", "get", "/stock-levels", {"location": "S01\n"}, "location"),
    ("moves-reference-nul", "get", "/moves", {"reference": "\x00"}, "reference"),
    ("orders-external_id-nul", "get", "/orders", {"external_id": "web-\x00"}, "external_id"),
    ("availability-sku-nul", "get", "/availability", {"sku": "A\x00", "city": "x"}, "sku"),
    ("allocation-lines-sku-nul", "get", "/allocation/runs/1/lines", {"sku": "\x00"}, "sku"),
    ("routing-changes-target-bell", "get", "/routing/changes", {"target": "web@\x07"}, "target"),
    ("forecast-run-model-nul", "post", "/forecast-runs", {"models": ["ets\x00"]}, "models"),
    (
        "order-external_id-nul",
        "post",
        "/orders",
        {"external_id": "w\x00", "mode": "delivery", "lines": [LINE]},
        "external_id",
    ),
    ("allocation-run-city-nul", "post", "/allocation/runs", {"city": "x\x00"}, "city"),
    ("routing-retry-city-nul", "post", "/routing/retry", {"city": "x\x00"}, "city"),
    # numbers JSON parsing lets through
    (
        "allocation-run-fairness-infinity",
        "post",
        "/allocation/runs",
        '{"city": "x", "fairness": Infinity}',
        "fairness",
    ),
    ("allocation-run-gap-nan", "post", "/allocation/runs", '{"city": "x", "gap": NaN}', "gap"),
    (
        "allocation-run-service-level-nan",
        "post",
        "/allocation/runs",
        '{"city": "x", "service_level": NaN}',
        "service_level",
    ),
    (
        "allocation-run-time-limit-1e400",
        "post",
        "/allocation/runs",
        '{"city": "x", "time_limit": 1e400}',
        "time_limit",
    ),
    (
        "allocation-run-unknown-field",
        "post",
        "/allocation/runs",
        {"city": "x", "solver_": "highs"},
        "solver_",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "data", "field"), [c[1:] for c in BEYOND], ids=[c[0] for c in BEYOND]
)
def test_input_beyond_the_limits_is_422(
    method: str, path: str, data: Any, field: str, world: World, api: Any
) -> None:
    client = api(world.admin)
    before = ledger()
    if method == "get":
        response = client.get("/api/v1" + path, **data)
    elif isinstance(data, str):
        response = client.post("/api/v1" + path, raw=data)
    else:
        response = client.post("/api/v1" + path, data)
    body = assert_error(response, 422, "validation_error")
    assert field in body["message"], body
    assert ledger() == before


def test_free_text_keeps_its_line_breaks_and_tabs(world: World, api: Any) -> None:
    note = "shelf 3\nbehind the door\r\n\tcheck again"
    body = {**ROUTES["counts"].body, "note": note}
    response = api(world.admin).post("/api/v1/counts", body)
    assert response.status_code == 201, response.content
    assert response.json()["note"] == note


def test_a_time_with_any_offset_python_reads_is_compared_in_utc(world: World, api: Any) -> None:
    """PostgreSQL refuses offsets past ±15:59; Python reads up to ±23:59. Such a time within the
    years the API takes is a valid filter, compared as the instant it names."""
    client = api(world.admin)
    everything = client.get("/api/v1/moves", page_size=500).json()["results"]
    assert everything
    # 2000-01-01T00:00-23:59 is 2000-01-01T23:59Z: every move of this test is later
    since = client.get("/api/v1/moves", since="2000-01-01T00:00:00-23:59", page_size=500)
    assert since.status_code == 200, since.content
    assert since.json()["results"] == everything
    until = client.get("/api/v1/orders", until="2000-01-01T00:00:00+23:59")
    assert until.status_code == 200, until.content
    assert until.json()["results"] == []


def test_a_value_the_database_cannot_hold_is_a_422_not_a_500(world: World) -> None:
    """The net under the schemas' limits: an overflow that still reaches the API (SQLite raises
    OverflowError, PostgreSQL DataError) is refused in the error shape."""
    from datetime import date, timedelta

    from django.test import RequestFactory

    from omni.api import on_overflow

    request = RequestFactory().get("/api/v1/moves")
    with pytest.raises(OverflowError) as overflow:
        date.max + timedelta(days=1)
    assert_error(on_overflow(request, overflow.value), 422, "validation_error")
