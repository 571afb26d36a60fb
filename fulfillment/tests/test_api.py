"""Fulfillment through the HTTP API, the way staff devices and channels drive it: the warehouse
wave (pick by scanning, pack, ship), a short pick that re-sources, store pickup with its signed
code and QR pictures, every refused code, who may see and touch what, bad input, and returns.
Setup goes through the services; what is under test goes through ``/api/v1``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from fulfillment import pickup_codes, services
from fulfillment.models import PickLine, PickLineStatus, PickList, PickupAttempt, PickupCode
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, StockMove
from network.models import Channel
from omni.models import User
from orders.models import Order, OrderStatus
from tests.factories import NEAR_DC, OrderFactory, PickupOrderFactory, ReceiptFactory
from tests.helpers import ApiClient, level

from .fixtures import pick_all, pickup_ready

V1 = "/api/v1"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

Api = Callable[[User | None], ApiClient]


# --------------------------------------------------------------------------- helpers


def data(response: Any) -> Any:
    return json.loads(response.content)


def error_code(response: Any) -> str:
    return str(data(response)["code"])


def moves() -> int:
    return StockMove.objects.count()


def pick_url(pick_list_id: int, line_id: int, action: str = "pick") -> str:
    return f"{V1}/pick-lists/{pick_list_id}/lines/{line_id}/{action}"


# --------------------------------------------------------------------------- warehouse flow


def test_wave_pick_pack_ship_over_the_api(
    api: Api,
    web: Channel,
    dc: Location,
    goods: tuple[Product, Product],
    warehouse_user: User,
) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    order = OrderFactory.create(
        channel=web, external_id="w1", lines={a: 3, b: 2}, delivery=NEAR_DC, paid=True
    )
    wh = api(warehouse_user)

    created = wh.post(f"{V1}/pick-lists", {"location": "DC1"})
    assert created.status_code == 201, created.content
    wave = data(created)
    assert (wave["location"], wave["status"], wave["assigned_to"]) == ("DC1", "open", "wh")
    assert sorted((ln["sku"], ln["quantity"], ln["order_id"]) for ln in wave["lines"]) == [
        ("A", 3, order.pk),
        ("B", 2, order.pk),
    ]
    line_a = next(ln for ln in wave["lines"] if ln["sku"] == "A")

    wrong = wh.post(pick_url(wave["id"], line_a["id"]), {"scan": b.barcode, "quantity": 1})
    assert wrong.status_code == 422
    assert data(wrong)["code"] == "wrong_item"
    assert data(wrong)["detail"]["expected"] == "A"
    after_wrong = data(wh.get(f"{V1}/pick-lists/{wave['id']}"))
    assert [(ln["picked"], ln["status"]) for ln in after_wrong["lines"]] == [(0, "open")] * 2

    for ln in wave["lines"]:
        picked = wh.post(pick_url(wave["id"], ln["id"]), {"scan": ln["barcode"], "quantity": 1})
        assert picked.status_code == 200, picked.content
        rest = wh.post(
            pick_url(wave["id"], ln["id"]), {"scan": ln["sku"], "quantity": ln["quantity"] - 1}
        )
        assert rest.status_code == 200, rest.content
    done = data(rest)
    assert done["status"] == "done"
    assert {(ln["picked"], ln["status"]) for ln in done["lines"]} == {(3, "picked"), (2, "picked")}
    assert StockMove.objects.filter(reference=order.reference).count() == 0  # picking moves none

    packed = wh.post(
        f"{V1}/orders/{order.pk}/packages",
        {"location": "DC1", "carrier": "SF Express", "tracking_number": "SF123"},
    )
    assert packed.status_code == 201, packed.content
    package = data(packed)
    assert (package["status"], package["carrier"], package["tracking_number"]) == (
        "packed",
        "SF Express",
        "SF123",
    )
    assert sorted((ln["sku"], ln["quantity"]) for ln in package["lines"]) == [("A", 3), ("B", 2)]

    shipped = wh.post(f"{V1}/packages/{package['id']}/ship", {})
    assert shipped.status_code == 200, shipped.content
    assert data(shipped)["status"] == "shipped"
    assert data(wh.get(f"{V1}/orders/{order.pk}"))["status"] == "shipped"
    assert data(api(web.user).get(f"{V1}/orders/{order.pk}"))["status"] == "shipped"
    ship_moves = StockMove.objects.filter(reference=order.reference, reason="ship")
    assert sorted(
        (m.product.sku, m.quantity, m.from_location.code, m.to_location.code) for m in ship_moves
    ) == [("A", 3, "DC1", "VIRTUAL-CUSTOMER"), ("B", 2, "DC1", "VIRTUAL-CUSTOMER")]
    assert level(dc, a) == (7, 0) and level(dc, b) == (8, 0)
    assert_invariants()


def test_short_pick_over_the_api_resources_the_rest(
    api: Api,
    web: Channel,
    dc: Location,
    store: Location,
    goods: tuple[Product, Product],
    warehouse_user: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, _ = goods
    ReceiptFactory.create(location=dc, lines={"A": 5})
    ReceiptFactory.create(location=store, lines={"A": 9})
    order = OrderFactory.create(
        channel=web, external_id="w1", lines={a: 5}, delivery=NEAR_DC, paid=True
    )
    wh = api(warehouse_user)
    wave = data(wh.post(f"{V1}/pick-lists", {"location": "DC1"}))
    (line,) = wave["lines"]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        short = wh.post(pick_url(wave["id"], line["id"], "short"), {"found": 2})
    assert short.status_code == 200, short.content
    assert len(callbacks) >= 1  # the re-sourcing was queued after commit, not run inline
    assert [(ln["picked"], ln["status"]) for ln in data(short)["lines"]] == [(2, "short")]
    assert data(short)["status"] == "done"

    seen = data(api(web.user).get(f"{V1}/orders/{order.pk}"))
    assert seen["sourcing"]["decisions"][-1]["what"].startswith("re-sourced")
    assert "short pick at DC1" in seen["sourcing"]["decisions"][-1]["what"]
    held = {
        (al.location.code, al.quantity)
        for al in order.lines.get().allocations.filter(reservation__status="active")
    }
    assert held == {("DC1", 2), ("S01", 3)}
    assert level(dc, a) == (2, 2)  # the 3 missing units left the ledger as an adjustment
    assert level(store, a) == (9, 3)
    assert_invariants()


# --------------------------------------------------------------------------- store pickup


@pytest.fixture
def pickup_ready_over_api(
    api: Api, web: Channel, store: Location, goods: tuple[Product, Product], store_user: User
) -> tuple[Order, dict[str, Any]]:
    """A pickup of 2 × A at S01, prepared, picked and marked ready by S01's clerk over the
    API. Returns the order and the ``ready`` response body."""
    ReceiptFactory.create(location=store, lines={"A": 5})
    order = PickupOrderFactory.create(
        channel=web, external_id="p1", store=store, lines={goods[0]: 2}
    )
    clerk = api(store_user)
    prepared = clerk.post(f"{V1}/orders/{order.pk}/pickup/prepare", {})
    assert prepared.status_code == 201, prepared.content
    pick_list = data(prepared)
    assert pick_list["location"] == "S01"
    (line,) = pick_list["lines"]
    assert (line["sku"], line["quantity"], line["order_id"]) == ("A", 2, order.pk)
    not_yet = clerk.post(f"{V1}/orders/{order.pk}/pickup/ready", {})
    assert (not_yet.status_code, error_code(not_yet)) == (409, "pickup_not_ready")
    picked = clerk.post(pick_url(pick_list["id"], line["id"]), {"scan": "A", "quantity": 2})
    assert picked.status_code == 200, picked.content
    ready = clerk.post(f"{V1}/orders/{order.pk}/pickup/ready", {})
    assert ready.status_code == 200, ready.content
    return order, data(ready)


def test_pickup_over_the_api_code_pictures_and_single_redeem(
    api: Api,
    web: Channel,
    pos: Channel,
    store: Location,
    goods: tuple[Product, Product],
    store_user: User,
    store2_user: User,
    planner: User,
    pickup_ready_over_api: tuple[Order, dict[str, Any]],
) -> None:
    order, ready = pickup_ready_over_api
    assert {"code", "qr_svg", "qr_png"} <= set(ready)
    assert (ready["order_id"], ready["store"], ready["redeemed_at"]) == (order.pk, "S01", None)
    token = ready["code"]
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_PICKUP
    assert level(store, goods[0]) == (5, 2)

    # The pictures: for the channel that owns the order and for the store's clerk.
    for who in (web.user, store_user):
        svg = api(who).get(ready["qr_svg"])
        assert svg.status_code == 200, (who, svg.content)
        assert svg["Content-Type"] == "image/svg+xml"
        assert svg.content.lstrip().startswith(b"<svg")
        png = api(who).get(ready["qr_png"])
        assert png.status_code == 200, (who, png.content)
        assert png["Content-Type"] == "image/png"
        assert png.content.startswith(PNG_MAGIC)
        code = api(who).get(f"{V1}/orders/{order.pk}/pickup-code")
        assert (code.status_code, data(code)["code"]) == (200, token)
    # ... and nobody else: another store's clerk, another channel, a planner (who reads every
    # order, but the customer's code is not a planning figure).
    for who in (store2_user, pos.user, planner):
        for path in (ready["qr_svg"], ready["qr_png"], f"{V1}/orders/{order.pk}/pickup-code"):
            refused = api(who).get(path)
            assert refused.status_code == 404, (who, path, refused.content)
            assert token.encode() not in refused.content

    # A store device verifies the code offline with the published key alone.
    published = api(store_user).get(f"{V1}/pickup/public-key")
    assert published.status_code == 200
    pem = data(published)["public_key_pem"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    payload = pickup_codes.verify(token, pickup_codes.public_key_from_pem(pem))
    assert (payload.order, payload.store) == (order.pk, "S01")
    someone_else = pickup_codes.public_key_pem(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(pickup_codes.BadSignature):
        pickup_codes.verify(token, pickup_codes.public_key_from_pem(someone_else))

    clerk = api(store_user)
    redeemed = clerk.post(f"{V1}/pickup/redeem", {"code": token, "store": "S01"})
    assert redeemed.status_code == 200, redeemed.content
    assert data(redeemed) == {"order_id": order.pk, "status": "completed", "store": "S01"}
    assert level(store, goods[0]) == (3, 0)
    (handed,) = StockMove.objects.filter(reference=order.reference, reason="pickup")
    assert (handed.quantity, handed.from_location.code) == (2, "S01")
    ledger = moves()

    again = clerk.post(f"{V1}/pickup/redeem", {"code": token, "store": "S01"})
    assert (again.status_code, error_code(again)) == (409, "pickup_code_used")
    assert moves() == ledger
    assert level(store, goods[0]) == (3, 0)
    assert list(PickupAttempt.objects.order_by("id").values_list("result", flat=True)) == [
        "redeemed",
        "pickup_code_used",
    ]
    assert data(api(web.user).get(f"{V1}/orders/{order.pk}"))["status"] == "completed"
    assert_invariants()


# --------------------------------------------------------------------------- refused codes


@dataclass
class ReadyPickup:
    """What a refused-code case works on: the ready order, its issued code and token."""

    order: Order
    code: PickupCode
    token: str


def _malformed(c: ReadyPickup) -> str:
    return "OMNI1.not-a-code"


def _forged(c: ReadyPickup) -> str:
    p = services._payload(c.code)
    return pickup_codes.sign(
        pickup_codes.Payload(p.order, p.store, p.expires, "never-issued"),
        Ed25519PrivateKey.generate(),
    )


def _tampered(c: ReadyPickup) -> str:
    prefix, _body, signature = c.token.split(".")
    p = services._payload(c.code)
    longer = pickup_codes.Payload(p.order, p.store, p.expires + 30 * 86400, p.nonce)
    return f"{prefix}.{pickup_codes._b64(longer.encode())}.{signature}"


def _expired(c: ReadyPickup) -> str:
    c.code.expires_at = timezone.now() - timedelta(minutes=1)
    c.code.payload_hash = services._payload(c.code).digest()
    c.code.save(update_fields=["expires_at", "payload_hash"])
    return services.pickup_token(c.code)


def _genuine(c: ReadyPickup) -> str:
    return c.token


def _used(c: ReadyPickup) -> str:
    services.pickup_redeem(token=c.token, store=c.code.store)
    return c.token


@dataclass(frozen=True)
class Refusal:
    name: str
    token: Callable[[ReadyPickup], str]
    at: str  # where the code is shown, by that store's clerk
    status: int
    code: str
    logged_against_code: bool


REFUSALS = [
    Refusal("malformed", _malformed, "S01", 422, "pickup_code_malformed", False),
    Refusal("forged", _forged, "S01", 422, "pickup_code_forged", False),
    Refusal("tampered", _tampered, "S01", 422, "pickup_code_tampered", True),
    Refusal("expired", _expired, "S01", 409, "pickup_code_expired", True),
    Refusal("wrong-store", _genuine, "S02", 409, "pickup_code_wrong_store", True),
    Refusal("used", _used, "S01", 409, "pickup_code_used", True),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[r.name for r in REFUSALS])
def test_each_refused_code_has_its_own_error_is_logged_and_moves_nothing(
    api: Api,
    web: Channel,
    store: Location,
    store2: Location,
    goods: tuple[Product, Product],
    store_user: User,
    store2_user: User,
    case: Refusal,
) -> None:
    ReceiptFactory.create(location=store, lines={"A": 5})
    order = PickupOrderFactory.create(
        channel=web, external_id="p1", store=store, lines={goods[0]: 2}
    )
    token = services.pickup_token(pickup_ready(order))
    code = PickupCode.objects.select_related("store").get(order=order)
    shown = case.token(ReadyPickup(order, code, token))
    status_before = Order.objects.get(pk=order.pk).status
    level_before = level(store, goods[0])
    ledger = moves()
    attempts = PickupAttempt.objects.count()
    clerk = api(store_user if case.at == "S01" else store2_user)

    refused = clerk.post(f"{V1}/pickup/redeem", {"code": shown, "store": case.at})

    assert (refused.status_code, error_code(refused)) == (case.status, case.code), refused.content
    assert "_code_id" not in data(refused)["detail"]  # internal bookkeeping stays inside
    assert moves() == ledger
    assert level(store, goods[0]) == level_before
    assert Order.objects.get(pk=order.pk).status == status_before
    assert PickupAttempt.objects.count() == attempts + 1
    attempt = PickupAttempt.objects.order_by("id").last()
    assert attempt is not None
    assert (attempt.result, attempt.store.code) == (case.code, case.at)
    assert attempt.actor_id == (store_user if case.at == "S01" else store2_user).pk
    assert attempt.code_id == (code.pk if case.logged_against_code else None)
    assert_invariants()


# --------------------------------------------------------------------------- access


@dataclass
class S01World:
    open_list: int  # a pick list at S01 with an open line of 2 × A
    open_line: int
    unprepared: int  # a pickup order at S01 nobody prepared yet
    picked: int  # a pickup order at S01 fully picked, not marked ready
    ready: int  # a pickup order at S01 with its code issued
    ready_token: str


@pytest.fixture
def s01_world(web: Channel, store: Location, goods: tuple[Product, Product]) -> S01World:
    a = goods[0]
    ReceiptFactory.create(location=store, lines={"A": 10})
    open_order = PickupOrderFactory.create(
        channel=web, external_id="open", store=store, lines={a: 2}
    )
    open_list = services.pickup_prepare(order=open_order)
    unprepared = PickupOrderFactory.create(
        channel=web, external_id="unprepared", store=store, lines={a: 2}
    )
    picked = PickupOrderFactory.create(channel=web, external_id="picked", store=store, lines={a: 2})
    pick_all(services.pickup_prepare(order=picked))
    ready = PickupOrderFactory.create(channel=web, external_id="ready", store=store, lines={a: 2})
    token = services.pickup_token(pickup_ready(ready))
    return S01World(
        open_list=open_list.pk,
        open_line=open_list.lines.get().pk,
        unprepared=unprepared.pk,
        picked=picked.pk,
        ready=ready.pk,
        ready_token=token,
    )


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: Callable[[S01World], str]
    body: Callable[[S01World], dict[str, Any]]
    not_found_code: str


# In this order S01's clerk then succeeds at each (the pick takes 1 of 2, the short finds 1).
S01_CALLS = [
    Call(
        "pick-list.detail",
        "GET",
        lambda w: f"{V1}/pick-lists/{w.open_list}",
        lambda w: {},
        "unknown_pick_list",
    ),
    Call(
        "pick-list.pick",
        "POST",
        lambda w: pick_url(w.open_list, w.open_line),
        lambda w: {"scan": "A", "quantity": 1},
        "unknown_pick_list",
    ),
    Call(
        "pick-list.short",
        "POST",
        lambda w: pick_url(w.open_list, w.open_line, "short"),
        lambda w: {"found": 1},
        "unknown_pick_list",
    ),
    Call(
        "pickup.prepare",
        "POST",
        lambda w: f"{V1}/orders/{w.unprepared}/pickup/prepare",
        lambda w: {},
        "unknown_order",
    ),
    Call(
        "pickup.ready",
        "POST",
        lambda w: f"{V1}/orders/{w.picked}/pickup/ready",
        lambda w: {},
        "unknown_order",
    ),
    Call(
        "pickup-code",
        "GET",
        lambda w: f"{V1}/orders/{w.ready}/pickup-code",
        lambda w: {},
        "unknown_order",
    ),
    Call(
        "pickup-code.svg",
        "GET",
        lambda w: f"{V1}/orders/{w.ready}/pickup-code.svg",
        lambda w: {},
        "unknown_order",
    ),
    Call(
        "pickup-code.png",
        "GET",
        lambda w: f"{V1}/orders/{w.ready}/pickup-code.png",
        lambda w: {},
        "unknown_order",
    ),
    Call(
        "pickup.redeem",
        "POST",
        lambda w: f"{V1}/pickup/redeem",
        lambda w: {"code": w.ready_token, "store": "S01"},
        "unknown_location",
    ),
]


def call(client: ApiClient, c: Call, world: S01World) -> Any:
    if c.method == "GET":
        return client.get(c.path(world))
    return client.post(c.path(world), c.body(world))


def test_another_stores_clerk_gets_404_for_everything_of_s01(
    api: Api, s01_world: S01World, store_user: User, store2_user: User
) -> None:
    outsider = api(store2_user)
    ledger = moves()
    pick_lists, pick_lines = PickList.objects.count(), PickLine.objects.count()
    for c in S01_CALLS:
        response = call(outsider, c, s01_world)
        assert response.status_code == 404, (c.name, response.content)
        assert error_code(response) == c.not_found_code, (c.name, response.content)
        assert s01_world.ready_token.encode() not in response.content
    listed = outsider.get(f"{V1}/pick-lists")
    assert listed.status_code == 200
    assert data(listed)["results"] == []
    assert data(outsider.get(f"{V1}/pick-lists", location="S01"))["results"] == []
    # Nothing moved, nothing was picked, prepared, issued or redeemed.
    assert moves() == ledger
    assert (PickList.objects.count(), PickLine.objects.count()) == (pick_lists, pick_lines)
    line = PickLine.objects.get(pk=s01_world.open_line)
    assert (line.picked, line.status) == (0, PickLineStatus.OPEN)
    assert Order.objects.get(pk=s01_world.picked).status == OrderStatus.PROCESSING
    assert Order.objects.get(pk=s01_world.ready).status == OrderStatus.READY_FOR_PICKUP
    assert not PickupAttempt.objects.exists()

    # The same calls by S01's own clerk go through: the 404s above were about who asked.
    insider = api(store_user)
    for c in S01_CALLS:
        response = call(insider, c, s01_world)
        assert 200 <= response.status_code < 300, (c.name, response.content)
    assert len(data(insider.get(f"{V1}/pick-lists"))["results"]) == PickList.objects.count()
    assert Order.objects.get(pk=s01_world.ready).status == OrderStatus.COMPLETED
    assert_invariants()


def test_planner_reads_pick_lists_but_moves_nothing(
    api: Api, s01_world: S01World, planner: User
) -> None:
    planning = api(planner)
    detail = planning.get(f"{V1}/pick-lists/{s01_world.open_list}")
    assert (detail.status_code, data(detail)["id"]) == (200, s01_world.open_list)
    listed = data(planning.get(f"{V1}/pick-lists"))["results"]
    assert {p["id"] for p in listed} == set(PickList.objects.values_list("pk", flat=True))
    pick_lists = PickList.objects.count()

    wave = planning.post(f"{V1}/pick-lists", {"location": "S01"})
    assert (wave.status_code, error_code(wave)) == (403, "permission_denied")
    pick = planning.post(pick_url(s01_world.open_list, s01_world.open_line), {"scan": "A"})
    assert (pick.status_code, error_code(pick)) == (403, "permission_denied")
    assert PickList.objects.count() == pick_lists
    assert PickLine.objects.get(pk=s01_world.open_line).picked == 0


def test_a_channel_token_sees_no_pick_lists_and_makes_none(
    api: Api, web: Channel, s01_world: S01World, dc: Location, warehouse_user: User
) -> None:
    shop = api(web.user)
    listed = shop.get(f"{V1}/pick-lists")
    assert listed.status_code == 200
    assert data(listed)["results"] == []
    assert shop.get(f"{V1}/pick-lists/{s01_world.open_list}").status_code == 404
    pick_lists = PickList.objects.count()
    for where in ("DC1", "S01"):
        wave = shop.post(f"{V1}/pick-lists", {"location": where})
        assert (wave.status_code, error_code(wave)) == (404, "unknown_location"), wave.content
    assert PickList.objects.count() == pick_lists


# --------------------------------------------------------------------------- bad input


@dataclass
class DcWorld:
    shipped: int  # a delivery of 3 × A and 1 × B, shipped from DC1
    pick_list: int  # an open pick list at DC1: one line of 2 × A
    line: int


@pytest.fixture
def dc_world(web: Channel, dc: Location, goods: tuple[Product, Product]) -> DcWorld:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    shipped = OrderFactory.create(
        channel=web, external_id="shipped", lines={a: 3, b: 1}, delivery=NEAR_DC, paid=True
    )
    pick_all(services.pick_wave_create(location=dc))
    services.package_ship(package=services.package_create(order=shipped, location=dc))
    waiting = OrderFactory.create(
        channel=web, external_id="waiting", lines={a: 2}, delivery=NEAR_DC, paid=True
    )
    wave = services.pick_wave_create(location=dc, orders=[waiting])
    return DcWorld(shipped=shipped.pk, pick_list=wave.pk, line=wave.lines.get().pk)


@dataclass(frozen=True)
class Bad:
    name: str
    path: Callable[[DcWorld], str]
    body: Callable[[DcWorld], dict[str, Any] | str]  # a str is sent as the raw body
    status: int
    code: str


def _returns(w: DcWorld, sku: str, quantity: int) -> dict[str, Any]:
    return {
        "order": w.shipped,
        "location": "DC1",
        "lines": [{"sku": sku, "quantity": quantity, "disposition": "restock"}],
    }


BAD_INPUT = [
    Bad("unknown-location", lambda w: f"{V1}/pick-lists", lambda w: {"location": "NOPE"}, 404,
        "unknown_location"),
    Bad("found-negative", lambda w: pick_url(w.pick_list, w.line, "short"),
        lambda w: {"found": -1}, 422, "validation_error"),
    Bad("found-all", lambda w: pick_url(w.pick_list, w.line, "short"),
        lambda w: {"found": 2}, 422, "validation_error"),
    Bad("found-more", lambda w: pick_url(w.pick_list, w.line, "short"),
        lambda w: {"found": 3}, 422, "validation_error"),
    Bad("pick-zero", lambda w: pick_url(w.pick_list, w.line),
        lambda w: {"scan": "A", "quantity": 0}, 422, "validation_error"),
    Bad("over-pick", lambda w: pick_url(w.pick_list, w.line),
        lambda w: {"scan": "A", "quantity": 3}, 422, "over_pick"),
    Bad("unknown-line", lambda w: pick_url(w.pick_list, w.line + 1000),
        lambda w: {"scan": "A", "quantity": 1}, 404, "unknown_pick_list"),
    Bad("unknown-line-short", lambda w: pick_url(w.pick_list, w.line + 1000, "short"),
        lambda w: {"found": 0}, 404, "unknown_pick_list"),
    Bad("unknown-pick-list", lambda w: pick_url(w.pick_list + 1000, w.line),
        lambda w: {"scan": "A", "quantity": 1}, 404, "unknown_pick_list"),
    Bad("return-more-than-delivered", lambda w: f"{V1}/returns",
        lambda w: _returns(w, "A", 4), 422, "not_returnable"),
    Bad("return-unknown-sku", lambda w: f"{V1}/returns",
        lambda w: _returns(w, "NO-SUCH-SKU", 1), 404, "unknown_product"),
    Bad("pick-malformed-json", lambda w: pick_url(w.pick_list, w.line),
        lambda w: '{"scan": "A", "quantity": ', 400, "malformed_request"),
    Bad("return-malformed-json", lambda w: f"{V1}/returns",
        lambda w: "not json at all", 400, "malformed_request"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_INPUT, ids=[b.name for b in BAD_INPUT])
def test_bad_input_is_refused_cleanly_and_moves_nothing(
    api: Api, dc_world: DcWorld, warehouse_user: User, case: Bad
) -> None:
    ledger = moves()
    pick_lists = PickList.objects.count()
    body = case.body(dc_world)
    wh = api(warehouse_user)

    if isinstance(body, str):
        response = wh.post(case.path(dc_world), raw=body)
    else:
        response = wh.post(case.path(dc_world), body)

    assert response.status_code != 500
    assert (response.status_code, error_code(response)) == (case.status, case.code), (
        response.content
    )
    assert set(data(response)) == {"code", "message", "detail"}
    assert moves() == ledger
    assert PickList.objects.count() == pick_lists
    line = PickLine.objects.get(pk=dc_world.line)
    assert (line.picked, line.status) == (0, PickLineStatus.OPEN)
    assert_invariants()


# --------------------------------------------------------------------------- returns


def test_returns_over_the_api_restock_and_scrap(
    api: Api,
    dc_world: DcWorld,
    store: Location,
    goods: tuple[Product, Product],
    admin_user: User,
) -> None:
    """A delivery shipped from the DC comes back to a store. Only someone who can see the
    order takes it back (store staff cannot: tests/test_api_scope.py)."""
    a, b = goods
    order = Order.objects.get(pk=dc_world.shipped)
    clerk = api(admin_user)
    back = clerk.post(
        f"{V1}/returns",
        {
            "order": order.pk,
            "location": "S01",
            "reason": "wrong size",
            "lines": [
                {"sku": "A", "quantity": 2, "disposition": "restock"},
                {"sku": "B", "quantity": 1, "disposition": "scrap"},
            ],
        },
    )
    assert back.status_code == 201, back.content
    record = data(back)
    assert (record["order_id"], record["location"], record["reason"]) == (
        order.pk,
        "S01",
        "wrong size",
    )
    assert sorted((ln["sku"], ln["quantity"], ln["disposition"]) for ln in record["lines"]) == [
        ("A", 2, "restock"),
        ("B", 1, "scrap"),
    ]
    returned = StockMove.objects.filter(reference=order.reference, reason="return")
    assert sorted(
        (m.product.sku, m.quantity, m.from_location.code, m.to_location.code) for m in returned
    ) == [("A", 2, "VIRTUAL-CUSTOMER", "S01"), ("B", 1, "VIRTUAL-CUSTOMER", "S01")]
    (scrapped,) = StockMove.objects.filter(reference=order.reference, reason="scrap")
    assert (scrapped.product.sku, scrapped.quantity, scrapped.from_location.code) == ("B", 1, "S01")
    assert scrapped.to_location.kind == "scrap"
    assert level(store, a) == (2, 0) and level(store, b) == (0, 0)

    # One more A can come back (3 delivered, 2 returned), not two.
    ledger = moves()
    too_many = clerk.post(
        f"{V1}/returns",
        {"order": order.pk, "location": "S01", "lines": [{"sku": "A", "quantity": 2}]},
    )
    assert (too_many.status_code, error_code(too_many)) == (422, "not_returnable")
    assert data(too_many)["detail"]["returnable"] == 1
    assert moves() == ledger
    assert_invariants()
