"""Routing through the API: capacity and hours, the waiting queue and its retry, the per-order
explanation, the audit, orders placed under a profile, and the admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from inventory.invariants import assert_invariants
from inventory.models import Location, Product
from network.models import (
    Channel,
    ChannelBuffer,
    ChannelKind,
    ConfigChange,
    LocationService,
    RoutingProfile,
    Service,
)
from omni.models import City, User
from orders.models import Order
from orders.tests.routing_api_helpers import (  # noqa: F401 (fixtures, by their names)
    API,
    ORDERS,
    PROFILES,
    Api,
    activate_parking_profile,
    bad_rules,
    error,
    goods_fixture,
    held_at,
    order_body,
    planner_api_fixture,
    put,
    web_api_fixture,
)
from tests.factories import (
    ChannelFactory,
    CityFactory,
    ReceiptFactory,
    StoreUserFactory,
)
from tests.helpers import ApiClient

# --------------------------------------------------------------------------- capacity and hours


def test_a_planner_sets_capacity_and_hours_and_reads_the_day(
    planner_api: ApiClient,
    web_api: ApiClient,
    planner: User,
    live_city: City,
    store: Location,
    goods: list[Product],
) -> None:
    path = f"{API}/locations/S01/capacity"
    body = {"service": "ship", "daily_capacity": 1, "opens_at": None, "closes_at": None}
    assert put(planner_api, path, body).json() == {
        "location": "S01",
        "service": "ship",
        "starts_on": "2020-01-01",
        "daily_capacity": 1,
        "opens_at": None,
        "closes_at": None,
    }
    hours = {"service": "pickup", "daily_capacity": 20, "opens_at": "09:00", "closes_at": "21:30"}
    assert put(planner_api, path, hours).json()["closes_at"] == "21:30:00"
    ReceiptFactory.create(location=store, lines={"A": 5})
    near_store = {"address": "by S01", "latitude": 30.2705, "longitude": 120.161}
    placed = web_api.post(ORDERS, order_body("w1", {"A": 1}, delivery=near_store))
    assert held_at(placed.json()) == {"S01": 1}

    day = planner_api.get(f"{API}/routing/capacity", city="testcity").json()
    assert day["city"] == "testcity" and day["day"]
    rows = {(r["location"], r["service"]): r for r in day["rows"]}
    assert set(rows) == {
        ("DC1", "ship"),
        ("S01", "pickup"),
        ("S01", "ship"),
        ("S02", "pickup"),
        ("S02", "ship"),
    }
    assert rows[("S01", "ship")] == {
        "location": "S01",
        "service": "ship",
        "limit": 1,
        "used": 1,
        "left": 0,
        "opens_at": None,
        "closes_at": None,
    }
    assert (rows[("S01", "pickup")]["opens_at"], rows[("S01", "pickup")]["left"]) == (
        "09:00:00",
        20,
    )
    assert rows[("S02", "ship")]["limit"] is None and rows[("S02", "ship")]["left"] is None
    other_day = planner_api.get(f"{API}/routing/capacity", city="testcity", day="2030-01-02")
    assert {(r["location"], r["used"]) for r in other_day.json()["rows"]} >= {("S01", 0)}
    audit = ConfigChange.objects.filter(kind="capacity").order_by("id")
    assert [(c.target, c.actor, c.source) for c in audit] == [
        ("S01/ship", planner, "api"),
        ("S01/pickup", planner, "api"),
    ]
    assert audit[1].new == {"daily_capacity": 20, "opens_at": "09:00", "closes_at": "21:30"}


def test_staff_see_only_their_own_capacity_rows_and_change_none(
    api: Api,
    live_city: City,
    web: Channel,
    store_user: User,
    warehouse_user: User,
) -> None:
    def locations(user: User | None) -> set[str]:
        response = api(user).get(f"{API}/routing/capacity", city="testcity")
        assert response.status_code == 200, response.json()
        return {row["location"] for row in response.json()["rows"]}

    assert locations(store_user) == {"S01"}
    assert locations(warehouse_user) == {"DC1"}
    assert locations(StoreUserFactory.create(username="nowhere")) == set()
    channel = api(web.user).get(f"{API}/routing/capacity", city="testcity")
    assert error(channel) == (403, "permission_denied")
    body = {"service": "ship", "daily_capacity": 3, "opens_at": None, "closes_at": None}
    assert error(put(api(store_user), f"{API}/locations/S01/capacity", body)) == (
        403,
        "permission_denied",
    )
    assert error(put(api(web.user), f"{API}/locations/S01/capacity", body)) == (
        403,
        "permission_denied",
    )
    assert not ConfigChange.objects.exists()


def capacity(**over: Any) -> dict[str, Any]:
    body = {"service": "pickup", "daily_capacity": 5, "opens_at": "09:00", "closes_at": "18:00"}
    body.update(over)
    return body


BAD_CAPACITY: dict[str, tuple[str, Any, tuple[int, str]]] = {
    "opens at closing time": ("S01", capacity(opens_at="18:00"), (422, "validation_error")),
    "opens after closing": ("S01", capacity(opens_at="19:00"), (422, "validation_error")),
    "only opening time": ("S01", capacity(closes_at=None), (422, "validation_error")),
    "time with an offset": ("S01", capacity(opens_at="09:00+08:00"), (422, "validation_error")),
    "not a time": ("S01", capacity(opens_at="nine"), (422, "validation_error")),
    "negative capacity": ("S01", capacity(daily_capacity=-1), (422, "validation_error")),
    "capacity as text": ("S01", capacity(daily_capacity="5"), (422, "validation_error")),
    "service left out": (
        "S01",
        {"daily_capacity": 5, "opens_at": None, "closes_at": None},
        (422, "validation_error"),
    ),
    "unknown service": ("S01", capacity(service="teleport"), (422, "validation_error")),
    "service not offered": ("DC1", capacity(), (422, "validation_error")),
    "unknown location": ("S99", capacity(), (404, "unknown_location")),
    "malformed json": ("S01", "{service", (400, "malformed_request")),
}


@pytest.mark.parametrize("case", list(BAD_CAPACITY))
def test_bad_capacity_requests_are_4xx_and_change_nothing(
    case: str, planner_api: ApiClient, live_city: City, store: Location
) -> None:
    code, body, expected = BAD_CAPACITY[case]
    path = f"{API}/locations/{code}/capacity"
    response = (
        put(planner_api, path, raw=body) if isinstance(body, str) else put(planner_api, path, body)
    )
    assert error(response) == expected, response.json()
    row = LocationService.objects.get(location=store, service=Service.PICKUP)
    assert (row.daily_capacity, row.opens_at, row.closes_at) == (None, None, None)
    assert not ConfigChange.objects.exists()


def test_bad_capacity_queries(planner_api: ApiClient, live_city: City) -> None:
    path = f"{API}/routing/capacity"
    assert error(planner_api.get(path, city="atlantis")) == (404, "unknown_city")
    assert error(planner_api.get(path)) == (422, "validation_error")
    assert error(planner_api.get(path, city="testcity", day="someday")) == (
        422,
        "validation_error",
    )


# --------------------------------------------------------------------------- the waiting queue


@pytest.fixture
def parked(planner_api: ApiClient, web_api: ApiClient, dc: Location, goods: list[Product]) -> int:
    """A web order for 3 × A (10.00 each) with 1 in stock, parked by the active profile."""
    ReceiptFactory.create(location=dc, lines={"A": 1})
    activate_parking_profile(planner_api)
    placed = web_api.post(ORDERS, order_body("w-park", {"A": 3}))
    assert placed.status_code == 201, placed.json()
    body = placed.json()
    assert body["status"] == "parked" and body["waiting_since"]
    assert held_at(body) == {} and body["routing_profile"]["version"] == 1
    order_id: int = body["id"]
    return order_id


def test_the_waiting_queue_lists_a_parked_order_with_what_it_misses(
    planner_api: ApiClient, web_api: ApiClient, parked: int
) -> None:
    promised = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)  # overdue
    urgent = web_api.post(
        ORDERS, order_body("w-urgent", {"A": 2}, promised_at=promised.isoformat())
    ).json()
    assert urgent["status"] == "parked"
    assert datetime.fromisoformat(urgent["promised_at"]) == promised

    queue = planner_api.get(f"{ORDERS}/waiting")
    assert queue.status_code == 200, queue.json()
    body = queue.json()
    assert (body["count"], body["parked"], body["backordered"]) == (2, 2, 0)
    assert (body["units"], body["value"]) == (5, 50.0)
    first, second = body["orders"]
    # An order is served by its promise, else by its age: the overdue one goes first.
    assert (first["position"], first["order"], first["missing_units"]) == (1, urgent["id"], 2)
    assert second == {
        "position": 2,
        "order": parked,
        "external_id": "w-park",
        "channel": "web",
        "city": "testcity",
        "mode": "delivery",
        "status": "parked",
        "reason": Order.objects.get(pk=parked).sourcing_reason,
        "waiting_since": second["waiting_since"],
        "promised_at": None,
        "missing_units": 3,
        "missing_value": 30.0,
    }
    assert second["reason"] and second["waiting_since"]
    top = planner_api.get(f"{ORDERS}/waiting", limit=1, city="testcity").json()
    assert [o["order"] for o in top["orders"]] == [urgent["id"]] and top["count"] == 2


def test_the_waiting_queue_is_scoped_like_every_order_read(
    api: Api, web_api: ApiClient, parked: int, live_city: City, store_user: User
) -> None:
    assert [o["order"] for o in web_api.get(f"{ORDERS}/waiting").json()["orders"]] == [parked]
    app = ChannelFactory.create(code="app", kind=ChannelKind.MINI_PROGRAM, city=live_city)
    others = api(app.user).get(f"{ORDERS}/waiting").json()
    assert (others["count"], others["orders"]) == (0, [])
    # A parked delivery holds nothing at the store: not the store's order.
    assert api(store_user).get(f"{ORDERS}/waiting").json()["count"] == 0


def test_bad_waiting_queries(planner_api: ApiClient, parked: int) -> None:
    assert error(planner_api.get(f"{ORDERS}/waiting", city="atlantis")) == (404, "unknown_city")
    for limit in (0, 501, "ten"):
        response = planner_api.get(f"{ORDERS}/waiting", limit=limit)
        assert error(response) == (422, "validation_error")
    # The queue's path is not an order id, and an order id still is one.
    assert planner_api.get(f"{ORDERS}/{parked}").json()["status"] == "parked"


def test_a_retry_routes_the_waiting_orders_once_stock_is_free(
    planner_api: ApiClient, web_api: ApiClient, dc: Location, goods: list[Product]
) -> None:
    # The DC's units are all kept back from the web channel, so its order parks. Lowering a
    # buffer routes nothing by itself (a receipt would): the planner retries.
    ReceiptFactory.create(location=dc, lines={"A": 3})
    put(planner_api, f"{API}/channels/web/buffers", {"location": "DC1", "units": 3})
    activate_parking_profile(planner_api)
    order = web_api.post(ORDERS, order_body("w-park", {"A": 3})).json()
    assert order["status"] == "parked"
    path = f"{API}/routing/retry"
    idle = planner_api.post(path, {"city": "testcity"})
    assert idle.status_code == 202, idle.json()
    assert idle.json() == {
        "queued": True,
        "city": "testcity",
        "report": {"tried": 1, "filled": 0, "partly": 0, "still_waiting": 1, "failed": 0},
    }
    put(planner_api, f"{API}/channels/web/buffers", {"location": "DC1", "units": None})
    assert web_api.get(f"{ORDERS}/{order['id']}").json()["status"] == "parked"
    CityFactory.create(code="elsewhere", name="Elsewhere", latitude=31.2, longitude=121.5)
    other_city = planner_api.post(path, {"city": "elsewhere"}).json()["report"]
    assert other_city["tried"] == 0  # another city's queue only
    assert web_api.get(f"{ORDERS}/{order['id']}").json()["status"] == "parked"
    done = planner_api.post(path)  # no body: every city
    assert done.status_code == 202, done.json()
    assert (done.json()["city"], done.json()["report"]["filled"]) == (None, 1)
    routed = web_api.get(f"{ORDERS}/{order['id']}").json()
    assert routed["status"] == "reserved" and routed["waiting_since"] is None
    assert held_at(routed) == {"DC1": 3}
    assert planner_api.get(f"{ORDERS}/waiting").json()["count"] == 0
    assert_invariants()


def test_retry_permissions_and_bad_input(
    api: Api, planner_api: ApiClient, web: Channel, store_user: User
) -> None:
    path = f"{API}/routing/retry"
    assert error(api(web.user).post(path, {})) == (403, "permission_denied")
    assert error(api(store_user).post(path, {})) == (403, "permission_denied")
    assert error(planner_api.post(path, {"city": "atlantis"})) == (404, "unknown_city")
    assert error(planner_api.post(path, {"town": "x"})) == (422, "validation_error")
    assert error(planner_api.post(path, raw="{city")) == (400, "malformed_request")


# --------------------------------------------------------------------------- explanations


def test_an_order_explains_its_routing_node_by_node(
    api: Api,
    planner_api: ApiClient,
    web_api: ApiClient,
    dc: Location,
    store: Location,
    store2: Location,
    store_user: User,
    goods: list[Product],
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 5})
    ReceiptFactory.create(location=store, lines={"A": 5})
    activate_parking_profile(
        planner_api, [{"rule": "exclude_kinds", "kinds": ["warehouse"]}, "nearest_first"]
    )
    order = web_api.post(ORDERS, order_body("w1", {"A": 1})).json()
    explained = web_api.get(f"{ORDERS}/{order['id']}/routing")
    assert explained.status_code == 200, explained.json()
    body = explained.json()
    assert (body["order"], body["status"], body["reason"]) == (
        order["id"],
        "reserved",
        order["sourcing_reason"],
    )
    assert body["profile"] == {
        "id": order["routing_profile"]["id"],
        "version": 1,
        "status": "active",
    }
    decision = body["decisions"][0]
    assert decision["rules"][0]["rule"] == "exclude_kinds"
    candidates = {c["location"]: c for c in decision["candidates"]}
    assert candidates["DC1"]["used"] is False
    assert candidates["DC1"]["skipped"].startswith("exclude_kinds: a warehouse")
    assert candidates["S01"]["used"] is True and candidates["S01"]["skipped"] == ""
    assert candidates["S02"]["skipped"] == "has none of the order's units to give"
    # Someone who may not see the order gets the same answer as for no order at all.
    app = ChannelFactory.create(code="app", kind=ChannelKind.MINI_PROGRAM, city=City.objects.get())
    assert error(api(app.user).get(f"{ORDERS}/{order['id']}/routing")) == (404, "unknown_order")
    assert error(api(store_user).get(f"{ORDERS}/999999/routing")) == (404, "unknown_order")
    assert planner_api.get(f"{ORDERS}/{order['id']}/routing").status_code == 200


# --------------------------------------------------------------------------- the audit


def test_the_audit_lists_changes_newest_first_with_filters(
    planner_api: ApiClient, admin_user: User, api: Api, web: Channel, store_user: User
) -> None:
    put(planner_api, f"{API}/channels/web/buffers", {"location": None, "units": 1})
    put(planner_api, f"{API}/channels/web/buffers", {"location": "S01", "units": 2})
    draft = planner_api.post(PROFILES, bad_rules(["keep_together"])).json()["id"]
    api(admin_user).post(f"{PROFILES}/{draft}/activate")

    rows = planner_api.get(f"{API}/routing/changes").json()
    assert [(r["kind"], r["target"], r["actor"], r["source"]) for r in rows] == [
        ("routing_profile", "web@*", "boss", "api"),
        ("routing_profile", "web@* v1", "plan", "api"),
        ("channel_buffer", "web@S01", "plan", "api"),
        ("channel_buffer", "web@*", "plan", "api"),
    ]
    assert (rows[0]["old"], rows[0]["new"]) == (None, 1)
    buffers = planner_api.get(f"{API}/routing/changes", kind="channel_buffer", target="web@S")
    assert [(r["target"], r["new"]) for r in buffers.json()] == [("web@S01", 2)]
    assert len(planner_api.get(f"{API}/routing/changes", limit=1).json()) == 1
    assert error(planner_api.get(f"{API}/routing/changes", limit=0)) == (422, "validation_error")
    assert error(api(web.user).get(f"{API}/routing/changes")) == (403, "permission_denied")
    assert error(api(store_user).get(f"{API}/routing/changes")) == (403, "permission_denied")


# --------------------------------------------------------------------------- orders


def test_an_order_takes_a_promise_with_an_offset_only(
    web_api: ApiClient, dc: Location, goods: list[Product]
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 5})
    naive = web_api.post(ORDERS, order_body("w1", {"A": 1}, promised_at="2030-01-01T10:00:00"))
    assert error(naive) == (422, "validation_error")
    for wrong in ("tomorrow", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"):
        refused = web_api.post(ORDERS, order_body("w1", {"A": 1}, promised_at=wrong))
        assert error(refused) == (422, "validation_error"), wrong
    for since in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00"):
        assert error(web_api.get(ORDERS, since=since)) == (422, "validation_error"), since
    assert not Order.objects.exists()
    placed = web_api.post(
        ORDERS, order_body("w1", {"A": 1}, promised_at="2030-01-01T10:00:00+08:00")
    )
    assert placed.status_code == 201, placed.json()
    body = placed.json()
    assert datetime.fromisoformat(body["promised_at"]) == datetime(2030, 1, 1, 2, 0, tzinfo=UTC)
    assert body["status"] == "reserved" and body["waiting_since"] is None
    assert body["routing_profile"] is None


def test_unauthenticated_calls_are_refused(live_city: City, web: Channel) -> None:
    client = Client()
    for path in (f"{API}/routing/profiles", f"{ORDERS}/waiting", f"{API}/routing/changes"):
        response = client.get(path)
        assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")


# --------------------------------------------------------------------------- the admin


def admin_url(model: str, action: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(f"admin:network_{model}_{action}", args=args)


def test_buffers_edited_in_the_admin_are_audited(
    admin_client: Client, admin_user: User, web: Channel, pos: Channel, store: Location
) -> None:
    add = admin_url("channelbuffer", "add")
    added = admin_client.post(add, {"channel": web.pk, "location": store.pk, "units": 3})
    assert added.status_code == 302
    row = ChannelBuffer.objects.get()
    assert (row.channel, row.location, row.units) == (web, store, 3)
    changed = admin_client.post(admin_url("channelbuffer", "change", row.pk), {"units": 1})
    assert changed.status_code == 302
    assert ChannelBuffer.objects.get().units == 1
    deleted = admin_client.post(admin_url("channelbuffer", "delete", row.pk), {"post": "yes"})
    assert deleted.status_code == 302 and not ChannelBuffer.objects.exists()
    audit = ConfigChange.objects.order_by("id")
    assert [(c.target, c.old, c.new, c.actor, c.source) for c in audit] == [
        ("web@S01", None, 3, admin_user, "admin"),
        ("web@S01", 3, 1, admin_user, "admin"),
        ("web@S01", 1, None, admin_user, "admin"),
    ]
    refused = admin_client.post(add, {"channel": pos.pk, "location": "", "units": 2}, follow=True)
    assert "it has no buffer" in refused.content.decode()
    assert not ChannelBuffer.objects.exists() and ConfigChange.objects.count() == 3


def test_profiles_in_the_admin_are_versions_activated_by_action(
    admin_client: Client, admin_user: User, web: Channel
) -> None:
    add = admin_url("routingprofile", "add")
    body = {"channel": web.pk, "city": "", "when_short": "park", "note": "stores first"}
    bad = admin_client.post(add, {**body, "rules": '["keep_together", {"rule": "nope"}]'})
    assert bad.status_code == 200 and "rules[1].rule" in bad.content.decode()
    huge = '[{"rule": "distance_band", "max_km": 1' + "0" * 400 + "}]"
    for junk in ('[{"rule": ["keep_together"]}]', huge):
        assert admin_client.post(add, {**body, "rules": junk}).status_code == 200, junk
    assert not RoutingProfile.objects.exists()
    created = admin_client.post(add, {**body, "rules": '["keep_together"]'})
    assert created.status_code == 302
    profile = RoutingProfile.objects.get()
    assert (profile.version, profile.status, profile.created_by) == (1, "draft", admin_user)
    page = admin_client.get(admin_url("routingprofile", "change", profile.pk)).content.decode()
    assert "the fewest nodes win over rank" in page and f"?from={profile.pk}" in page
    # A saved version cannot be changed or deleted; a new version starts from it.
    edit = admin_client.post(
        admin_url("routingprofile", "change", profile.pk), {**body, "rules": "[]"}
    )
    assert edit.status_code == 403
    assert RoutingProfile.objects.get().rules == [{"rule": "keep_together"}]
    start = admin_client.get(add, {"from": profile.pk}).content.decode()
    assert "keep_together" in start and "stores first" in start
    changelist = admin_url("routingprofile", "changelist")
    admin_client.post(changelist, {"action": "activate", "_selected_action": [profile.pk]})
    assert RoutingProfile.objects.get().status == "active"
    admin_client.post(changelist, {"action": "retire", "_selected_action": [profile.pk]})
    assert RoutingProfile.objects.get().status == "retired"
    audit = ConfigChange.objects.order_by("id")
    assert [(c.target, c.old, c.new) for c in audit][1:] == [
        ("web@*", None, 1),
        ("web@*", 1, None),
    ]
    assert {(c.source, c.actor) for c in audit} == {("admin", admin_user)}


def test_capacity_edited_in_the_admin_goes_through_the_service(
    admin_client: Client, admin_user: User, live_city: City, store: Location
) -> None:
    row = LocationService.objects.get(location=store, service=Service.PICKUP)
    url = admin_url("locationservice", "change", row.pk)
    form = {
        "location": store.pk,
        "service": "pickup",
        "starts_on": "2020-01-01",
        "cost_per_order": "0",
        "daily_capacity": "8",
        "opens_at": "10:00",
        "closes_at": "20:00",
    }
    assert admin_client.post(url, form).status_code == 302
    row.refresh_from_db()
    assert (row.daily_capacity, str(row.opens_at), str(row.closes_at)) == (
        8,
        "10:00:00",
        "20:00:00",
    )
    change = ConfigChange.objects.get()
    assert (change.kind, change.target, change.actor, change.source) == (
        "capacity",
        "S01/pickup",
        admin_user,
        "admin",
    )
    refused = admin_client.post(url, {**form, "opens_at": "21:00"}, follow=True)
    assert "opens_at must be before closes_at" in refused.content.decode().lower()
    row.refresh_from_db()
    assert str(row.opens_at) == "10:00:00" and ConfigChange.objects.count() == 1
    # Another field of the row is saved as before, with no capacity audit.
    assert admin_client.post(url, {**form, "cost_per_order": "2.50"}).status_code == 302
    assert ConfigChange.objects.count() == 1


def test_the_audit_and_capacity_use_are_read_only_in_the_admin(admin_client: Client) -> None:
    from django.urls import reverse

    assert admin_client.get(admin_url("configchange", "add")).status_code == 403
    assert admin_client.get(reverse("admin:orders_capacityuse_add")).status_code == 403
    assert admin_client.get(admin_url("configchange", "changelist")).status_code == 200
    assert admin_client.get(reverse("admin:orders_capacityuse_changelist")).status_code == 200
