"""The rollout file's routing settings: buffers, capacity and hours, routing profiles, each
change audited like one made in the admin."""

from __future__ import annotations

from datetime import time
from typing import Any

from inventory.models import Location
from network.models import (
    Channel,
    ChannelBuffer,
    ConfigChange,
    LocationService,
    RoutingProfile,
    Service,
)
from network.rollout import rollout_apply, rollout_diff, rollout_load
from network.selectors import active_routing_profile
from network.services import (
    channel_buffer_set,
    location_capacity_set,
    routing_profile_activate,
    routing_profile_create,
)
from network.tests.rollout_helpers import ROUTED, SMALL, dump, write
from omni.models import City
from tests.factories import CityFactory

# --------------------------------------------------------------------------- routing settings

# A second routed channel, its rules written inline.
ROUTED += """
[[channels]]
code = "app"
name = "App"
kind = "mini_program"
phase = "pilot"
serves = ["T-S01", "T-S02"]
routing = { rules = ["nearest_first", { rule = "exclude_kinds", kinds = ["warehouse"] }], when_short = "refuse" }
"""  # noqa: E501
WEB_RULES = [
    {"rule": "stay_in_city"},
    {"rule": "keep_together"},
    {"rule": "max_splits", "value": 1},
    {"rule": "distance_band", "max_km": 30.0},
]


def audit() -> list[tuple[str, str, Any, Any]]:
    rows = ConfigChange.objects.order_by("id")
    assert all(row.source == "rollout" and row.actor is None for row in rows)
    return [(row.kind, row.target, row.old, row.new) for row in rows]


def service(code: str, name: str) -> LocationService:
    return LocationService.objects.get(location__code=code, service=name)


def test_routing_settings_are_applied_audited_and_idempotent(db, tmp_path):
    changes = rollout_apply(rollout_load(write(tmp_path, ROUTED)))

    assert service("T-DC1", "ship").daily_capacity == 500
    ship, pickup = service("T-S01", "ship"), service("T-S01", "pickup")
    assert (ship.daily_capacity, ship.opens_at, ship.closes_at) == (20, None, None)
    assert (pickup.daily_capacity, pickup.opens_at, pickup.closes_at) == (30, time(9, 30), time(21))
    assert service("T-S01", "store_sale").daily_capacity is None  # no limit
    assert service("T-S02", "pickup").daily_capacity is None
    assert set(ChannelBuffer.objects.values_list("channel__code", "location__code", "units")) == {
        ("web", None, 3),
        ("web", "T-S01", 5),
    }
    city = City.objects.get(code="testcity")
    web, app = Channel.objects.get(code="web"), Channel.objects.get(code="app")
    profile = active_routing_profile(channel=web, city=city)
    assert profile is not None
    assert (profile.version, profile.city, profile.rules) == (1, city, WEB_RULES)
    assert (profile.when_short, profile.note) == ("park", "pilot rules")
    app_profile = active_routing_profile(channel=app, city=city)
    assert app_profile is not None and app_profile.when_short == "refuse"
    assert app_profile.rules == [
        {"rule": "nearest_first"},
        {"rule": "exclude_kinds", "kinds": ["warehouse"]},
    ]
    assert not RoutingProfile.objects.filter(channel__code="pos").exists()

    capacity = {"daily_capacity": None, "opens_at": None, "closes_at": None}
    assert audit() == [
        ("capacity", "T-DC1/ship", capacity, {**capacity, "daily_capacity": 500}),
        (
            "capacity",
            "T-S01/pickup",
            capacity,
            {"daily_capacity": 30, "opens_at": "09:30", "closes_at": "21:00"},
        ),
        ("capacity", "T-S01/ship", capacity, {**capacity, "daily_capacity": 20}),
        ("channel_buffer", "web@*", None, 3),
        ("channel_buffer", "web@T-S01", None, 5),
        (
            "routing_profile",
            "web@testcity v1",
            None,
            {"status": "draft", "rules": WEB_RULES, "when_short": "park"},
        ),
        ("routing_profile", "web@testcity", None, 1),
        (
            "routing_profile",
            "app@testcity v1",
            None,
            {"status": "draft", "rules": app_profile.rules, "when_short": "refuse"},
        ),
        ("routing_profile", "app@testcity", None, 1),
    ]
    routing_models = (ChannelBuffer, RoutingProfile)
    assert len([c for c in changes if c.model in routing_models]) == 4

    before = dump()
    assert rollout_diff(rollout_load(write(tmp_path, ROUTED))) == []
    assert rollout_apply(rollout_load(write(tmp_path, ROUTED))) == []
    assert dump() == before  # nothing written, not even an audit row


def test_diff_shows_each_routing_setting(db, tmp_path):
    rollout_apply(rollout_load(write(tmp_path, SMALL)))
    before = dump()

    changes = rollout_diff(rollout_load(write(tmp_path, ROUTED)))

    assert dump() == before
    shown = [str(c) for c in changes if c.model is not Channel or c.key != "app"]
    assert shown == [
        "update LocationService T-DC1 ship: daily_capacity — → 500",
        "update LocationService T-S01 pickup: daily_capacity — → 30, opens_at — → 09:30, "
        "closes_at — → 21:00",
        "update LocationService T-S01 ship: daily_capacity — → 20",
        "create ChannelCity app in testcity: starts_on=2026-11-01",
        "create ChannelLocation app ← T-S01: priority=1",
        "create ChannelLocation app ← T-S02: priority=2",
        "create ChannelBuffer web default: units=3",
        "create ChannelBuffer web at T-S01: units=5",
        "create RoutingProfile web in testcity v1: status=active, rules=[stay_in_city, "
        "keep_together, max_splits(value=1), distance_band(max_km=30)], when_short=park, "
        "note=pilot rules",
        "create RoutingProfile app in testcity v1: status=active, rules=[nearest_first, "
        "exclude_kinds(kinds=warehouse)], when_short=refuse",
    ]
    assert rollout_apply(rollout_load(write(tmp_path, ROUTED))) == changes


def test_a_setting_changed_outside_the_file_is_set_back(db, tmp_path):
    """The file is the truth for its city: the admin's change shows in the diff and the next
    apply undoes it."""
    rollout_apply(rollout_load(write(tmp_path, ROUTED)))
    s01 = Location.objects.get(code="T-S01")
    location_capacity_set(
        location=s01,
        service=Service.PICKUP,
        daily_capacity=99,
        opens_at=time(9, 30),
        closes_at=time(23),
        source="admin",
    )
    channel_buffer_set(
        channel=Channel.objects.get(code="web"), location=s01, units=1, source="admin"
    )
    audited = ConfigChange.objects.count()

    changes = rollout_apply(rollout_load(write(tmp_path, ROUTED)))

    assert [str(c) for c in changes] == [
        "update LocationService T-S01 pickup: daily_capacity 99 → 30, closes_at 23:00 → 21:00",
        "update ChannelBuffer web at T-S01: units 1 → 5",
    ]
    pickup = service("T-S01", "pickup")
    assert (pickup.daily_capacity, pickup.opens_at, pickup.closes_at) == (30, time(9, 30), time(21))
    assert ChannelBuffer.objects.get(location=s01).units == 5
    new = ConfigChange.objects.order_by("id")[audited:]
    assert [(row.source, row.kind, row.target) for row in new] == [
        ("rollout", "capacity", "T-S01/pickup"),
        ("rollout", "channel_buffer", "web@T-S01"),
    ]


def test_changed_rules_make_a_new_active_version_and_retire_the_old(db, tmp_path):
    rollout_apply(rollout_load(write(tmp_path, ROUTED)))
    audited = ConfigChange.objects.count()
    edited = ROUTED.replace(
        '{ rule = "max_splits", value = 1 }', '{ rule = "max_splits", value = 2 }'
    )

    changes = rollout_apply(rollout_load(write(tmp_path, edited)))

    assert [str(c) for c in changes] == [
        "create RoutingProfile web in testcity v2: status=active, rules=[stay_in_city, "
        "keep_together, max_splits(value=2), distance_band(max_km=30)], when_short=park, "
        "note=pilot rules",
        "update RoutingProfile web in testcity v1: status active → retired",
    ]
    versions = RoutingProfile.objects.filter(channel__code="web").order_by("version")
    assert [(p.version, p.status) for p in versions] == [(1, "retired"), (2, "active")]
    assert versions[1].rules[2] == {"rule": "max_splits", "value": 2}
    assert versions[0].rules == WEB_RULES  # a saved version never changes
    new = ConfigChange.objects.order_by("id")[audited:]
    draft = {"status": "draft", "rules": versions[1].rules, "when_short": "park"}
    assert [(row.kind, row.target, row.old, row.new) for row in new] == [
        ("routing_profile", "web@testcity v2", None, draft),
        ("routing_profile", "web@testcity", 1, 2),  # the activation that retired v1
    ]

    # when_short alone is a change too; the note alone is not (it describes a version)
    refused = edited.replace('when_short = "park"', 'when_short = "refuse"')
    assert [c.key for c in rollout_apply(rollout_load(write(tmp_path, refused)))] == [
        "web in testcity v3",
        "web in testcity v2",
    ]
    renoted = refused.replace('note = "pilot rules"', 'note = "other words"')
    assert rollout_apply(rollout_load(write(tmp_path, renoted))) == []


def test_settings_dropped_from_the_file_are_cleared_but_the_default_buffer_stays(
    db, tmp_path, city, dc
):
    """Limits, hours, buffers at the city's locations and the city's profiles follow the
    file; the channel's default buffer and profile and its rows in other cities do not."""
    rollout_apply(rollout_load(write(tmp_path, ROUTED)))
    web = Channel.objects.get(code="web")
    # "testcity" is the fixtures' city too: move their DC to a city of its own
    elsewhere = CityFactory.create(code="elsewhere", name="Elsewhere", latitude=1, longitude=1)
    dc.city = elsewhere
    dc.save()
    channel_buffer_set(channel=web, location=dc, units=7)
    default = routing_profile_create(channel=web, city=None, rules=["lowest_cost"])
    routing_profile_activate(profile=default)
    audited = ConfigChange.objects.count()

    changes = rollout_apply(rollout_load(write(tmp_path, SMALL)))

    assert [str(c) for c in changes] == [
        "update LocationService T-DC1 ship: daily_capacity 500 → —",
        "update LocationService T-S01 pickup: daily_capacity 30 → —, opens_at 09:30 → —, "
        "closes_at 21:00 → —",
        "update LocationService T-S01 ship: daily_capacity 20 → —",
        "delete ChannelBuffer web at T-S01: units=5",
        "delete ChannelCity app in testcity: starts_on=2026-11-01",
        "delete ChannelLocation app ← T-S01: priority=1",
        "delete ChannelLocation app ← T-S02: priority=2",
        "update RoutingProfile web in testcity v1: status active → retired",
        "update RoutingProfile app in testcity v1: status active → retired",
    ]
    assert not LocationService.objects.filter(daily_capacity__isnull=False).exists()
    assert not LocationService.objects.filter(opens_at__isnull=False).exists()
    assert set(ChannelBuffer.objects.values_list("location__code", "units")) == {
        ("DC1", 7),
        (None, 3),  # the channel's default: not this file's to remove
    }
    assert not RoutingProfile.objects.filter(city__code="testcity", status="active").exists()
    # the channel routes by its default profile again
    assert active_routing_profile(channel=web, city=City.objects.get(code="testcity")) == default
    new = ConfigChange.objects.order_by("id")[audited:]
    assert [(row.source, row.kind, row.target, row.old, row.new) for row in new][-3:] == [
        ("rollout", "channel_buffer", "web@T-S01", 5, None),
        ("rollout", "routing_profile", "web@testcity", 1, None),
        ("rollout", "routing_profile", "app@testcity", 1, None),
    ]
    assert len(new) == 3 + 3
    assert rollout_apply(rollout_load(write(tmp_path, SMALL))) == []


def test_a_channel_made_a_store_counter_loses_its_buffers_here_first(db, tmp_path):
    """The counter may have no buffer, so the buffers go before the channel changes kind."""
    rollout_apply(rollout_load(write(tmp_path, ROUTED)))
    counter = ROUTED.replace('kind = "web"', 'kind = "store_pos"').replace(
        'buffer = 3\nbuffers = { "T-S01" = 5 }\n', ""
    )
    start = counter.index("[channels.routing]")  # and no routing: a counter is not routed
    counter = counter[:start] + counter[counter.index("[[channels]]", start) :]

    changes = rollout_apply(rollout_load(write(tmp_path, counter)))

    keys = [(c.action, c.model.__name__, c.key) for c in changes]
    assert keys.index(("delete", "ChannelBuffer", "web at T-S01")) < keys.index(
        ("update", "Channel", "web")
    )
    assert ("update", "RoutingProfile", "web in testcity v1") in keys
    assert Channel.objects.get(code="web").kind == "store_pos"
    assert not ChannelBuffer.objects.filter(location__isnull=False).exists()
