"""The routing settings through the API: channel buffers and routing profiles (versions,
activation, bad rules), each change made by a planner and audited."""

from __future__ import annotations

from typing import Any

import pytest

from inventory.invariants import assert_invariants
from inventory.models import Location, Product
from network.models import (
    Channel,
    ChannelBuffer,
    ConfigChange,
    RoutingProfile,
)
from omni.models import User
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
    ReceiptFactory,
)
from tests.helpers import ApiClient

# --------------------------------------------------------------------------- channel buffers


def test_a_planner_sets_reads_and_removes_buffers_and_each_change_is_audited(
    planner_api: ApiClient, planner: User, web: Channel, store: Location, goods: list[Product]
) -> None:
    path = f"{API}/channels/web/buffers"
    assert planner_api.get(path).json() == {"channel": "web", "default": None, "locations": []}
    default = put(planner_api, path, {"location": None, "units": 2})
    assert default.status_code == 200, default.json()
    own = put(planner_api, path, {"location": "S01", "units": 5})
    assert own.json() == {
        "channel": "web",
        "default": 2,
        "locations": [{"location": "S01", "units": 5}],
    }
    assert planner_api.get(path).json() == own.json()
    removed = put(planner_api, path, {"location": "S01", "units": None})
    assert removed.json()["locations"] == [] and removed.json()["default"] == 2
    changes = list(ConfigChange.objects.filter(kind="channel_buffer").order_by("id"))
    assert [(c.target, c.old, c.new, c.actor, c.source) for c in changes] == [
        ("web@*", None, 2, planner, "api"),
        ("web@S01", None, 5, planner, "api"),
        ("web@S01", 5, None, planner, "api"),
    ]


def test_a_buffer_set_over_the_api_applies_to_the_next_availability_read(
    planner_api: ApiClient, web_api: ApiClient, dc: Location, goods: list[Product]
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 10})

    def available() -> int:
        response = web_api.get(f"{API}/availability", sku="A", city="testcity")
        return int(response.json()["skus"][0]["available"])

    assert available() == 10
    put(planner_api, f"{API}/channels/web/buffers", {"location": "DC1", "units": 4})
    assert available() == 6


@pytest.mark.parametrize("who", ["channel", "store", "warehouse"])
def test_only_planners_and_admins_touch_buffers(
    who: str,
    api: Api,
    web: Channel,
    store_user: User,
    warehouse_user: User,
    admin_user: User,
) -> None:
    user = {"channel": web.user, "store": store_user, "warehouse": warehouse_user}[who]
    client = api(user)
    path = f"{API}/channels/web/buffers"
    assert error(put(client, path, {"location": None, "units": 0})) == (403, "permission_denied")
    assert error(client.get(path)) == (403, "permission_denied")
    assert not ChannelBuffer.objects.exists() and not ConfigChange.objects.exists()
    assert put(api(admin_user), path, {"location": None, "units": 0}).status_code == 200


BAD_BUFFERS: dict[str, tuple[str, Any, tuple[int, str]]] = {
    "unknown channel": ("nope", {"location": None, "units": 1}, (404, "unknown_channel")),
    "unknown location": ("web", {"location": "S99", "units": 1}, (404, "unknown_location")),
    "negative units": ("web", {"location": None, "units": -1}, (422, "validation_error")),
    "units as text": ("web", {"location": None, "units": "3"}, (422, "validation_error")),
    "huge units": ("web", {"location": None, "units": 10**10}, (422, "validation_error")),
    "units left out": ("web", {"location": "S01"}, (422, "validation_error")),
    "unknown field": ("web", {"location": None, "units": 1, "sku": "A"}, (422, "validation_error")),
    "the counter has none": ("pos", {"location": None, "units": 1}, (422, "validation_error")),
    "malformed json": ("web", "{units: 1", (400, "malformed_request")),
    "not an object": ("web", "[1]", (400, "malformed_request")),
}


@pytest.mark.parametrize("case", list(BAD_BUFFERS))
def test_bad_buffer_requests_are_4xx_and_write_nothing(
    case: str, planner_api: ApiClient, web: Channel, pos: Channel
) -> None:
    channel, body, expected = BAD_BUFFERS[case]
    path = f"{API}/channels/{channel}/buffers"
    response = (
        put(planner_api, path, raw=body) if isinstance(body, str) else put(planner_api, path, body)
    )
    assert error(response) == expected
    assert not ChannelBuffer.objects.exists() and not ConfigChange.objects.exists()


# --------------------------------------------------------------------------- routing profiles


def test_a_profile_is_created_as_a_draft_with_each_rule_described(
    planner_api: ApiClient, planner: User, web: Channel
) -> None:
    rules = [
        {"rule": "exclude_kinds", "kinds": ["warehouse"]},
        "nearest_first",
        {"rule": "distance_band", "max_km": 30},
    ]
    created = planner_api.post(PROFILES, {"channel": "web", "rules": rules, "note": "stores"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["channel"], body["city"], body["version"], body["status"]) == (
        "web",
        None,
        1,
        "draft",
    )
    assert (body["when_short"], body["note"], body["created_by"]) == ("park", "stores", "plan")
    assert body["rules"] == [
        {
            "rule": "exclude_kinds",
            "params": {"kinds": ["warehouse"]},
            "description": "never nodes of these kinds: warehouse",
        },
        {"rule": "nearest_first", "params": {}, "description": "try the nearest node first"},
        {
            "rule": "distance_band",
            "params": {"max_km": 30.0},
            "description": "only nodes within this distance of the customer: 0–30 km",
        },
    ]
    assert planner_api.get(f"{PROFILES}/{body['id']}").json() == body
    city_one = planner_api.post(PROFILES, {"channel": "web", "city": "testcity", "rules": []})
    assert city_one.json()["version"] == 2 and city_one.json()["city"] == "testcity"
    listed = planner_api.get(PROFILES).json()
    assert [p["version"] for p in listed["results"]] == [2, 1]
    only_city = planner_api.get(PROFILES, city="testcity", status="draft", channel="web").json()
    assert [p["version"] for p in only_city["results"]] == [2]
    assert planner_api.get(PROFILES, status="active").json()["results"] == []
    audit = ConfigChange.objects.filter(kind="routing_profile").order_by("id").first()
    assert audit is not None
    assert (audit.target, audit.actor, audit.source) == ("web@* v1", planner, "api")


def test_a_draft_routes_nothing_and_an_active_version_is_recorded_on_orders(
    planner_api: ApiClient,
    web_api: ApiClient,
    planner: User,
    dc: Location,
    store: Location,
    goods: list[Product],
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 5})
    ReceiptFactory.create(location=store, lines={"A": 5})
    draft = planner_api.post(
        PROFILES, {"channel": "web", "rules": [{"rule": "exclude_kinds", "kinds": ["warehouse"]}]}
    ).json()
    first = web_api.post(ORDERS, order_body("w1", {"A": 1}))
    assert first.status_code == 201, first.json()
    assert first.json()["routing_profile"] is None
    assert held_at(first.json()) == {"DC1": 1}  # the default rules: the DC next door

    activated = planner_api.post(f"{PROFILES}/{draft['id']}/activate")
    assert activated.status_code == 200
    assert (activated.json()["status"], activated.json()["activated_by"]) == ("active", "plan")
    second = web_api.post(ORDERS, order_body("w2", {"A": 1})).json()
    assert second["routing_profile"] == {"id": draft["id"], "version": 1}
    assert "DC1" not in held_at(second)
    assert web_api.get(f"{ORDERS}/{second['id']}").json()["routing_profile"]["version"] == 1
    listed = web_api.get(ORDERS).json()["results"]
    assert {o["external_id"]: o["routing_profile"] for o in listed}["w2"]["version"] == 1

    retired = planner_api.post(f"{PROFILES}/{draft['id']}/deactivate")
    assert retired.status_code == 200 and retired.json()["status"] == "retired"
    assert web_api.post(ORDERS, order_body("w3", {"A": 1})).json()["routing_profile"] is None
    audit = ConfigChange.objects.filter(kind="routing_profile", target="web@*").order_by("id")
    assert [(c.old, c.new, c.actor, c.source) for c in audit] == [
        (None, 1, planner, "api"),
        (1, None, planner, "api"),
    ]
    assert_invariants()


def test_activating_a_new_version_retires_the_last(planner_api: ApiClient, web: Channel) -> None:
    v1 = activate_parking_profile(planner_api)
    v2 = activate_parking_profile(planner_api, ["keep_together", "nearest_first"])
    assert planner_api.get(f"{PROFILES}/{v1}").json()["status"] == "retired"
    assert planner_api.get(f"{PROFILES}/{v2}").json()["status"] == "active"
    again = planner_api.post(f"{PROFILES}/{v2}/activate")  # twice changes nothing
    assert again.status_code == 200 and again.json()["status"] == "active"
    assert ConfigChange.objects.filter(kind="routing_profile", target="web@*").count() == 2


BAD_PROFILES: dict[str, tuple[Any, tuple[int, str], str | None]] = {
    "unknown rule": (bad_rules(["teleport"]), (422, "validation_error"), "rules[0].rule"),
    "negative distance": (
        bad_rules(["keep_together", {"rule": "distance_band", "max_km": -5}]),
        (422, "validation_error"),
        "rules[1].max_km",
    ),
    "missing parameter": (
        bad_rules([{"rule": "max_splits"}]),
        (422, "validation_error"),
        "rules[0].value",
    ),
    "rule listed twice": (
        bad_rules(["keep_together", "keep_together"]),
        (422, "validation_error"),
        "rules[1].rule",
    ),
    "unknown kind": (
        bad_rules([{"rule": "exclude_kinds", "kinds": ["moon"]}]),
        (422, "validation_error"),
        "rules[0].kinds[0]",
    ),
    "rule name not text": (
        bad_rules([{"rule": ["keep_together"]}]),
        (422, "validation_error"),
        None,
    ),
    "rules not a list": (bad_rules("keep_together"), (422, "validation_error"), None),
    "unknown when_short": (
        {**bad_rules([]), "when_short": "wait"},
        (422, "validation_error"),
        None,
    ),
    "unknown channel": ({"channel": "nope", "rules": []}, (404, "unknown_channel"), None),
    "unknown city": ({**bad_rules([]), "city": "atlantis"}, (404, "unknown_city"), None),
    "counter sales are not routed": (
        {"channel": "pos", "rules": []},
        (422, "validation_error"),
        None,
    ),
    "unknown field": ({**bad_rules([]), "colour": "red"}, (422, "validation_error"), None),
}


@pytest.mark.parametrize("case", list(BAD_PROFILES))
def test_bad_profiles_are_refused_naming_the_field(
    case: str, planner_api: ApiClient, web: Channel, pos: Channel
) -> None:
    body, expected, field = BAD_PROFILES[case]
    response = planner_api.post(PROFILES, body)
    assert error(response) == expected, response.json()
    if field is not None:
        assert response.json()["detail"]["field"] == field
        assert response.json()["message"]
    assert not RoutingProfile.objects.exists() and not ConfigChange.objects.exists()


def test_non_finite_numbers_and_malformed_json_are_refused(
    planner_api: ApiClient, web: Channel
) -> None:
    for number in ("NaN", "Infinity", "1" + "0" * 400):
        rule = '{"rule": "distance_band", "max_km": ' + number + "}"
        raw = '{"channel": "web", "rules": [' + rule + "]}"
        assert error(planner_api.post(PROFILES, raw=raw)) == (422, "validation_error"), number
    assert error(planner_api.post(PROFILES, raw='{"channel": "web",')) == (
        400,
        "malformed_request",
    )
    assert not RoutingProfile.objects.exists()


def test_profiles_are_for_planners_and_admins(
    api: Api, web: Channel, store_user: User, admin_user: User, planner_api: ApiClient
) -> None:
    draft = planner_api.post(PROFILES, bad_rules(["keep_together"])).json()["id"]
    for user in (web.user, store_user):
        client = api(user)
        assert error(client.post(PROFILES, bad_rules([]))) == (403, "permission_denied")
        assert error(client.get(PROFILES)) == (403, "permission_denied")
        assert error(client.get(f"{PROFILES}/{draft}")) == (403, "permission_denied")
        assert error(client.post(f"{PROFILES}/{draft}/activate")) == (403, "permission_denied")
    assert RoutingProfile.objects.get().status == "draft"
    admin = api(admin_user)
    assert admin.post(f"{PROFILES}/{draft}/activate").json()["activated_by"] == "boss"
    assert error(admin.get(f"{PROFILES}/999999")) == (404, "unknown_routing_profile")
    assert error(admin.post(f"{PROFILES}/999999/deactivate")) == (404, "unknown_routing_profile")
    assert error(admin.get(PROFILES, status="sleeping")) == (422, "validation_error")
