"""The orders API: channels place and see only their own orders, staff see their locations',
every bad request is a 4xx in the error shape with nothing written, and availability obeys
the rollout and the shelf protection."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from inventory.models import Location, Product, Reservation, StockMove
from network.models import Channel, ChannelKind, ShelfProtection
from omni.models import City, User
from orders.models import Order
from tests.factories import AdminFactory, ChannelFactory, ProductFactory, ReceiptFactory
from tests.helpers import ApiClient

ORDERS = "/api/v1/orders"


@pytest.fixture
def goods(web: Channel, dc: Location, store: Location, store2: Location) -> list[Product]:
    products = [ProductFactory.create(sku="A"), ProductFactory.create(sku="B")]
    ReceiptFactory.create(location=dc, lines={"A": 20, "B": 20})
    ReceiptFactory.create(location=store, lines={"A": 5})
    ReceiptFactory.create(location=store2, lines={"A": 5, "B": 5})
    return products


def delivery_body(ext: str = "web-1", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": ext,
        "mode": "delivery",
        "delivery": {"address": "1 Lake Rd", "latitude": 30.2705, "longitude": 120.161},
        "customer": {"name": "Li Lei", "phone": "13800000000", "member_id": "M-1"},
        "lines": [{"sku": "A", "quantity": 2, "unit_price": 9.9}, {"sku": "B", "quantity": 1}],
    }
    body.update(over)
    return body


def snapshot() -> tuple[int, int, int]:
    return Order.objects.count(), Reservation.objects.count(), StockMove.objects.count()


@pytest.fixture
def web_api(web: Channel, api: Callable[[User | None], ApiClient]) -> ApiClient:
    assert web.user is not None
    return api(web.user)


def test_a_channel_places_an_order_and_a_retry_returns_it(
    web_api: ApiClient, goods: list[Product]
) -> None:
    first = web_api.post(ORDERS, delivery_body())
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["channel"] == "web" and body["status"] == "reserved"
    assert body["payment_status"] == "unpaid" and body["hold_expires_at"]
    assert [(ln["sku"], ln["quantity"]) for ln in body["lines"]] == [("A", 2), ("B", 1)]
    assert body["sourcing_reason"].startswith("one node serves the whole order")
    again = web_api.post(ORDERS, delivery_body())
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    other = web_api.post(ORDERS, delivery_body(lines=[{"sku": "A", "quantity": 1}]))
    assert other.status_code == 409 and other.json()["code"] == "external_id_reused"
    assert Order.objects.count() == 1


def test_pay_change_and_cancel_over_the_api(web_api: ApiClient, goods: list[Product]) -> None:
    order_id = web_api.post(ORDERS, delivery_body()).json()["id"]
    changed = web_api.post(f"{ORDERS}/{order_id}/lines/A", {"quantity": 4})
    assert changed.status_code == 200
    assert (
        sum(
            a["quantity"]
            for a in changed.json()["lines"][0]["allocations"]
            if a["status"] == "active"
        )
        == 4
    )
    paid = web_api.post(f"{ORDERS}/{order_id}/pay")
    assert paid.status_code == 200 and paid.json()["payment_status"] == "paid"
    cancelled = web_api.post(f"{ORDERS}/{order_id}/cancel", {"reason": "customer asked"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert not Reservation.objects.filter(status="active").exists()
    missing = web_api.post(f"{ORDERS}/{order_id}/lines/NOPE", {"quantity": 1})
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_product"


def test_insufficient_stock_is_a_409_and_writes_nothing(
    web_api: ApiClient, goods: list[Product]
) -> None:
    before = snapshot()
    refused = web_api.post(ORDERS, delivery_body(lines=[{"sku": "A", "quantity": 500}]))
    assert refused.status_code == 409
    assert refused.json()["code"] == "insufficient_stock"
    assert refused.json()["detail"]["lines"][0]["sku"] == "A"
    assert snapshot() == before


def test_pickup_refusal_names_alternatives(web_api: ApiClient, goods: list[Product]) -> None:
    body = delivery_body(mode="pickup", store="S01", delivery=None)
    body["lines"] = [{"sku": "B", "quantity": 2}]
    refused = web_api.post(ORDERS, body)
    assert refused.status_code == 409
    assert [a["store"] for a in refused.json()["detail"]["alternatives"]] == ["S02"]


BAD_BODIES: dict[str, tuple[Callable[[dict[str, Any]], Any], int, str]] = {
    "zero quantity": (lambda b: b["lines"][0].update(quantity=0), 422, "validation_error"),
    "negative quantity": (lambda b: b["lines"][0].update(quantity=-3), 422, "validation_error"),
    "huge quantity": (lambda b: b["lines"][0].update(quantity=10**12), 422, "validation_error"),
    "quantity as text": (lambda b: b["lines"][0].update(quantity="2"), 422, "validation_error"),
    "duplicate lines": (
        lambda b: b.update(lines=[{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 2}]),
        422,
        "duplicate_line",
    ),
    "no lines": (lambda b: b.update(lines=[]), 422, "validation_error"),
    "unknown sku": (lambda b: b["lines"][0].update(sku="NOPE"), 404, "unknown_product"),
    "latitude 91": (lambda b: b["delivery"].update(latitude=91), 422, "validation_error"),
    "longitude -181": (lambda b: b["delivery"].update(longitude=-181), 422, "validation_error"),
    "latitude text": (lambda b: b["delivery"].update(latitude="north"), 422, "validation_error"),
    "delivery without point": (lambda b: b.update(delivery=None), 422, "validation_error"),
    "long external id": (lambda b: b.update(external_id="x" * 65), 422, "validation_error"),
    "long customer name": (lambda b: b["customer"].update(name="n" * 101), 422, "validation_error"),
    "long address": (lambda b: b["delivery"].update(address="a" * 256), 422, "validation_error"),
    "unknown mode": (lambda b: b.update(mode="teleport"), 422, "validation_error"),
    "unknown field": (lambda b: b.update(colour="red"), 422, "validation_error"),
    "unknown channel": (lambda b: b.update(channel="nope"), 404, "unknown_channel"),
    "unknown city": (lambda b: b.update(city="atlantis"), 404, "unknown_city"),
    "pickup without store": (lambda b: b.update(mode="pickup"), 422, "validation_error"),
    "pickup at unknown store": (
        lambda b: b.update(mode="pickup", store="S99"),
        404,
        "unknown_location",
    ),
    "counter sale from the web": (
        lambda b: b.update(mode="store_sale", store="S01"),
        422,
        "mode_not_allowed",
    ),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_bad_order_requests_are_4xx_and_write_nothing(
    case: str, web_api: ApiClient, goods: list[Product]
) -> None:
    spoil, status, code = BAD_BODIES[case]
    body = delivery_body()
    spoil(body)
    before = snapshot()
    response = web_api.post(ORDERS, body)
    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert set(response.json()) == {"code", "message", "detail"}
    assert snapshot() == before


def test_malformed_json_and_not_an_object(web_api: ApiClient, goods: list[Product]) -> None:
    for raw in ("{not json", "[1, 2]", '"text"'):
        response = web_api.post(ORDERS, raw=raw)
        assert response.status_code == 400, raw
        assert response.json()["code"] == "malformed_request"
    assert Order.objects.count() == 0


def test_a_store_not_live_is_refused_and_never_listed(
    web_api: ApiClient, goods: list[Product], store3: Location, web: Channel
) -> None:
    from network.models import ChannelLocation

    ChannelLocation.objects.create(channel=web, location=store3, priority=9)
    ReceiptFactory.create(location=store3, lines={"A": 50})
    body = delivery_body(mode="pickup", store="S03", delivery=None)
    before = snapshot()
    refused = web_api.post(ORDERS, body)
    assert refused.status_code == 422 and refused.json()["code"] == "store_not_live"
    assert snapshot() == before
    near = web_api.get("/api/v1/availability/nearby", sku="A", latitude=30.2701, longitude=120.1601)
    assert "S03" not in [row["store"] for row in near.json()]
    atp = web_api.get("/api/v1/availability", sku="A", city="testcity")
    assert "S03" not in atp.json()["skus"][0]["locations"]


# --------------------------------------------------------------------------- access


@pytest.fixture
def orders_everywhere(
    web: Channel, pos: Channel, goods: list[Product], store: Location, store2: Location
) -> dict[str, int]:
    """A web delivery (held at the DC), a web pickup at S01 and one at S02."""
    from orders.services import DeliveryPoint, LineIn, order_place

    a = goods[0]
    made = {
        "delivery": order_place(
            channel=web,
            external_id="d",
            mode="delivery",
            delivery=DeliveryPoint(latitude=30.18, longitude=120.26),
            lines=[LineIn(product=a, quantity=1)],
        ),
        "pickup_s01": order_place(
            channel=web,
            external_id="p1",
            mode="pickup",
            store=store,
            lines=[LineIn(product=a, quantity=1)],
        ),
        "pickup_s02": order_place(
            channel=web,
            external_id="p2",
            mode="pickup",
            store=store2,
            lines=[LineIn(product=a, quantity=1)],
        ),
    }
    return {name: order.pk for name, (order, _) in made.items()}


def visible_ids(client: ApiClient) -> set[int]:
    response = client.get(ORDERS)
    assert response.status_code == 200
    return {o["id"] for o in response.json()["results"]}


def test_each_caller_sees_only_its_orders(
    orders_everywhere: dict[str, int],
    api: Callable[[User | None], ApiClient],
    web: Channel,
    live_city: City,
    store: Location,
    admin_user: User,
    planner: User,
    warehouse_user: User,
    store_user: User,
    store2_user: User,
) -> None:
    other_channel = ChannelFactory.create(
        code="market", kind=ChannelKind.MARKETPLACE, city=live_city
    )
    ids = orders_everywhere
    everything = set(ids.values())
    expected = {
        "web": (web.user, everything),
        "market": (other_channel.user, set()),
        "admin": (admin_user, everything),
        "planner": (planner, everything),
        "warehouse": (warehouse_user, {ids["delivery"]}),
        "store1": (store_user, {ids["pickup_s01"]}),
        "store2": (store2_user, {ids["pickup_s02"]}),
    }
    for who, (user, allowed) in expected.items():
        client = api(user)
        assert visible_ids(client) == allowed, who
        for order_id in everything - allowed:
            detail = client.get(f"{ORDERS}/{order_id}")
            assert detail.status_code == 404, (who, order_id)
            cancel = client.post(f"{ORDERS}/{order_id}/cancel")
            assert cancel.status_code == 404, (who, order_id)
    # Readers who may not change: planners and warehouse staff get 403 on what they see.
    assert api(planner).post(f"{ORDERS}/{ids['pickup_s01']}/cancel").status_code == 403
    assert api(warehouse_user).post(f"{ORDERS}/{ids['delivery']}/pay").status_code == 403
    assert api(planner).post(ORDERS, delivery_body(channel="web")).status_code == 403
    # Store staff may cancel a pickup at their own store.
    assert api(store_user).post(f"{ORDERS}/{ids['pickup_s01']}/cancel").status_code == 200
    assert Order.objects.get(pk=ids["pickup_s01"]).status == "cancelled"


def test_store_staff_sell_at_their_own_counter_only(
    api: Callable[[User | None], ApiClient],
    pos: Channel,
    goods: list[Product],
    store_user: User,
) -> None:
    clerk = api(store_user)
    sale = {
        "external_id": "till-1",
        "channel": "pos",
        "mode": "store_sale",
        "lines": [{"sku": "A", "quantity": 1}],
    }
    # Another store answers like a store that does not exist.
    elsewhere = clerk.post(ORDERS, {**sale, "store": "S02"})
    nowhere = clerk.post(ORDERS, {**sale, "store": "S99"})
    assert (elsewhere.status_code, elsewhere.content) == (404, nowhere.content)
    sold = clerk.post(ORDERS, {**sale, "store": "S01"})
    assert sold.status_code == 201 and sold.json()["status"] == "completed"


# --------------------------------------------------------------------------- availability


def test_available_to_promise_subtracts_shelf_protection(
    web_api: ApiClient, goods: list[Product], store: Location, store2: Location
) -> None:
    ShelfProtection.objects.filter(location=store).update(quantity=2)
    response = web_api.get("/api/v1/availability", sku=["A", "B"], city="testcity")
    assert response.status_code == 200
    by_sku = {row["sku"]: row for row in response.json()["skus"]}
    assert by_sku["A"]["available"] == 20 + (5 - 2) + 5
    assert by_sku["A"]["locations"] == {"DC1": 20, "S01": 3, "S02": 5}
    assert by_sku["B"]["available"] == 25
    pickup = web_api.get("/api/v1/availability", sku="A", city="testcity", mode="pickup")
    assert pickup.json()["skus"][0]["locations"] == {"S01": 5, "S02": 5}


def test_nearby_stores_nearest_first_within_the_radius(
    web_api: ApiClient, goods: list[Product]
) -> None:
    response = web_api.get(
        "/api/v1/availability/nearby", sku=["A", "B"], latitude=30.251, longitude=120.209
    )
    assert response.status_code == 200
    rows = response.json()
    assert [r["store"] for r in rows] == ["S02", "S01"]
    assert rows[0]["available"] == {"A": 5, "B": 5}
    assert rows[0]["distance_km"] < rows[1]["distance_km"]
    tight = web_api.get(
        "/api/v1/availability/nearby", sku="A", latitude=30.251, longitude=120.209, radius_km=1
    )
    assert [r["store"] for r in tight.json()] == ["S02"]


@pytest.mark.parametrize(
    "params",
    [
        {"sku": "A", "latitude": 91, "longitude": 120},
        {"sku": "A", "latitude": 30, "longitude": 181},
        {"sku": "A", "latitude": "x", "longitude": 120},
        {"sku": "A", "latitude": 30, "longitude": 120, "radius_km": 0},
        {"latitude": 30, "longitude": 120},
    ],
)
def test_bad_availability_queries_are_422(
    web_api: ApiClient, goods: list[Product], params: dict[str, Any]
) -> None:
    response = web_api.get("/api/v1/availability/nearby", **params)
    assert response.status_code == 422, json.dumps(params)
    assert response.json()["code"] == "validation_error"


def test_availability_for_unknown_sku_channel_or_city(
    web_api: ApiClient, goods: list[Product], api: Callable[[User | None], ApiClient]
) -> None:
    assert web_api.get("/api/v1/availability", sku="NOPE", city="testcity").status_code == 404
    assert (
        web_api.get("/api/v1/availability", sku="A", city="nowhere").json()["code"]
        == "unknown_city"
    )
    boss = api(AdminFactory.create(username="boss2"))
    assert (
        boss.get("/api/v1/availability", sku="A", city="testcity").json()["code"]
        == "unknown_channel"
    )
    assert (
        boss.get("/api/v1/availability", sku="A", city="testcity", channel="web").status_code == 200
    )
