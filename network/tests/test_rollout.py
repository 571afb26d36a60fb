"""The rollout file: loading and its mistakes, diff and apply, the command, and the selectors
that make sourcing obey the rollout (live locations, shelf protection)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import Location, LocationKind
from network.errors import RolloutFileInvalid
from network.models import (
    Channel,
    ChannelBuffer,
    ChannelCity,
    ChannelLocation,
    ConfigChange,
    LocationService,
    RoutingProfile,
    Service,
    ShelfProtection,
)
from network.rollout import Change, rollout_apply, rollout_diff, rollout_load
from network.rollout import apply as rollout_writes
from network.selectors import active_routing_profile, live_locations, shelf_protected
from network.services import (
    channel_buffer_set,
    location_capacity_set,
    routing_profile_activate,
    routing_profile_create,
)
from omni.models import City, Role, User
from omni.selectors import city_today
from tests.factories import CityFactory, LocationFactory, ProductFactory, StoreUserFactory

PILOT = Path(__file__).resolve().parents[1] / "rollouts" / "pilot.toml"
ROLLOUT_MODELS = (
    City,
    Location,
    LocationService,
    ShelfProtection,
    Channel,
    ChannelCity,
    ChannelLocation,
    ChannelBuffer,
    RoutingProfile,
    ConfigChange,
    User,
)
STORES = [f"HZ-S0{n}" for n in range(1, 9)]
# The demo city as the pilot file must declare it (what ``manage.py demo`` used to create).
DEMO_CITY = {
    "code": "hangzhou",
    "name": "Hangzhou",
    "latitude": "30.274085",
    "longitude": "120.155070",
}
DEMO_DC = ("HZ-DC1", "Hangzhou DC (Xiaoshan)", "30.183400", "120.264500", "4000")
DEMO_STORES = [
    ("HZ-S01", "Wulin Square", "30.276800", "120.164600", "60"),
    ("HZ-S02", "West Lake Hubin", "30.257400", "120.165300", "45"),
    ("HZ-S03", "Qianjiang New Town", "30.247000", "120.210700", "70"),
    ("HZ-S04", "Binjiang Xixing", "30.186900", "120.213200", "55"),
    ("HZ-S05", "Xixi Wetland", "30.271600", "120.067400", "50"),
    ("HZ-S06", "Gongshu Daguan", "30.316300", "120.145800", "40"),
    ("HZ-S07", "Xiasha University Town", "30.309500", "120.343700", "65"),
    ("HZ-S08", "Linping Station", "30.421800", "120.301200", "50"),
]


def dump() -> dict[str, list[Any]]:
    return {
        model.__name__: list(model._default_manager.order_by("pk").values())
        for model in ROLLOUT_MODELS
    }


def counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in ROLLOUT_MODELS}


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only line containing ``needle``."""
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def write(tmp_path: Path, text: str, name: str = "city.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def pilot(db) -> list[Change]:
    return rollout_apply(rollout_load(PILOT))


# --------------------------------------------------------------------------- applying


def test_pilot_file_applied_to_an_empty_database_creates_the_city(pilot):
    city = City.objects.get()
    assert (city.code, city.name, city.timezone) == ("hangzhou", "Hangzhou", "Asia/Shanghai")
    assert (city.latitude, city.longitude) == (Decimal("30.274085"), Decimal("120.155070"))
    physical = Location.objects.filter(kind__in=[LocationKind.WAREHOUSE, LocationKind.STORE])
    assert sorted(physical.values_list("code", flat=True)) == ["HZ-DC1", *STORES]
    assert all(loc.city == city and loc.active for loc in physical)
    dc = Location.objects.get(code="HZ-DC1")
    assert (dc.kind, dc.capacity, dc.latitude) == ("warehouse", Decimal(4000), Decimal("30.1834"))
    assert Location.objects.get(code="HZ-S08").capacity == 50

    # DC ship; S01–S03 pickup, counter, ship-from-store; S04–S08 pickup and counter
    assert LocationService.objects.count() == 1 + 3 * 3 + 5 * 2
    assert set(LocationService.objects.filter(location=dc).values_list("service", flat=True)) == {
        Service.SHIP
    }
    shipping_stores = LocationService.objects.filter(
        service=Service.SHIP, location__kind=LocationKind.STORE
    ).values_list("location__code", flat=True)
    assert sorted(shipping_stores) == ["HZ-S01", "HZ-S02", "HZ-S03"]
    starts = dict(
        LocationService.objects.filter(service=Service.PICKUP).values_list(
            "location__code", "starts_on"
        )
    )
    assert starts["HZ-S06"] == date(2026, 11, 1)
    assert starts["HZ-S07"] == date(2026, 11, 16)
    assert starts["HZ-S08"] == date(2027, 3, 1)

    channels = {c.code: c for c in Channel.objects.select_related("user")}
    assert sorted(channels) == ["mini_program", "pos", "tmall", "web", "wholesale"]
    assert channels["tmall"].name == "Tmall store" and channels["tmall"].kind == "marketplace"
    assert channels["tmall"].allow_backorder and channels["wholesale"].allow_backorder
    assert not channels["web"].allow_backorder
    assert (channels["mini_program"].hold_minutes, channels["web"].hold_minutes) == (15, 30)
    for code, channel in channels.items():
        assert channel.user is not None
        assert channel.user.username == f"channel-{code}" and channel.user.role == Role.CHANNEL
        assert not channel.user.has_usable_password()
    assert ChannelCity.objects.filter(city=city, starts_on=date(2026, 11, 1)).count() == 5

    def served(code: str) -> list[str]:
        rows = ChannelLocation.objects.filter(channel__code=code).order_by("priority")
        return [f"{row.location.code}#{row.priority}" for row in rows]

    assert served("web") == [f"{c}#{n}" for n, c in enumerate(["HZ-DC1", *STORES], start=1)]
    assert served("mini_program") == served("web")
    assert served("tmall") == served("wholesale") == ["HZ-DC1#1"]
    assert served("pos") == [f"{c}#{n}" for n, c in enumerate(STORES, start=1)]
    assert ChannelLocation.objects.count() == 9 + 9 + 1 + 8 + 1

    defaults = ShelfProtection.objects.filter(product__isnull=True)
    assert sorted(defaults.values_list("location__code", "quantity")) == [(c, 2) for c in STORES]
    assert ShelfProtection.objects.count() == 8

    # daily limits: the DC and the ship-from-store stores' deliveries, every store's pickups
    limits = LocationService.objects.filter(daily_capacity__isnull=False)
    assert sorted(limits.values_list("location__code", "service", "daily_capacity")) == [
        ("HZ-DC1", "ship", 2000),
        *[
            (code, service, n)
            for code in STORES[:3]
            for service, n in (("pickup", 60), ("ship", 25))
        ],
        *[(code, "pickup", 40) for code in STORES[3:]],
    ]
    hours = LocationService.objects.filter(opens_at__isnull=False)
    assert sorted(hours.values_list("location__code", "service", "opens_at", "closes_at")) == [
        (code, "pickup", time(10), time(22)) for code in STORES
    ]
    assert list(ChannelBuffer.objects.values_list("channel__code", "location", "units")) == [
        ("tmall", None, 2)
    ]
    profiles = {p.channel.code: p for p in RoutingProfile.objects.select_related("channel")}
    assert sorted(profiles) == ["mini_program", "tmall", "web", "wholesale"]  # no pos
    assert {(p.version, p.status, p.city) for p in profiles.values()} == {(1, "active", city)}
    assert profiles["web"].rules == [
        {"rule": "stay_in_city"},
        {"rule": "keep_together"},
        {"rule": "nearest_first"},
        {"rule": "max_splits", "value": 1},
        {"rule": "distance_band", "max_km": 30.0},
    ]
    assert profiles["tmall"].rules[1] == {"rule": "exclude_kinds", "kinds": ["store"]}
    assert {code: p.when_short for code, p in profiles.items()} == {
        "web": "park",
        "mini_program": "park",
        "tmall": "backorder",
        "wholesale": "park",
    }
    # audited as the rollout's: 12 capacities, 1 buffer, a draft and its activation per profile
    assert ConfigChange.objects.filter(source="rollout", actor=None).count() == 12 + 1 + 4 * 2
    assert ConfigChange.objects.count() == 12 + 1 + 4 * 2

    # one change per row, but a channel's user comes with the channel
    assert len(pilot) == (
        sum(counts().values())
        - _virtual_locations()
        - User.objects.count()
        - ConfigChange.objects.count()
    )


def _virtual_locations() -> int:
    return Location.objects.exclude(kind__in=[LocationKind.WAREHOUSE, LocationKind.STORE]).count()


def test_applying_the_same_file_twice_changes_nothing_the_second_time(pilot):
    before = dump()
    assert rollout_apply(rollout_load(PILOT)) == []
    assert rollout_diff(rollout_load(PILOT)) == []
    assert dump() == before


def test_pilot_file_matches_the_demo_city(db):
    """Demo data loaded first: the file only adds services, channels and protection."""
    plan = rollout_load(PILOT)
    assert (plan.city.code, plan.city.name) == (DEMO_CITY["code"], DEMO_CITY["name"])
    assert (str(plan.city.latitude), str(plan.city.longitude)) == (
        DEMO_CITY["latitude"],
        DEMO_CITY["longitude"],
    )
    declared = [
        (loc.code, loc.name, loc.latitude, loc.longitude, loc.capacity) for loc in plan.locations
    ]
    assert declared == [
        (code, name, Decimal(lat), Decimal(lon), Decimal(capacity))
        for code, name, lat, lon, capacity in [DEMO_DC, *DEMO_STORES]
    ]


def test_demo_locations_already_present_are_not_changed(db):
    city = CityFactory.create(**DEMO_CITY)
    for code, name, lat, lon, capacity in [DEMO_DC, *DEMO_STORES]:
        kind = LocationKind.WAREHOUSE if code == DEMO_DC[0] else LocationKind.STORE
        LocationFactory.create(
            code=code,
            name=name,
            kind=kind,
            city=city,
            latitude=lat,
            longitude=lon,
            capacity=capacity,
        )
    changes = rollout_apply(rollout_load(PILOT))
    assert [c for c in changes if c.model in (City, Location)] == []
    assert LocationService.objects.count() == 20


def test_diff_after_editing_one_latitude_shows_exactly_that_change(pilot, tmp_path):
    edited = PILOT.read_text().replace("latitude = 30.257400", "latitude = 30.2575", 1)
    assert edited != PILOT.read_text()
    path = write(tmp_path, edited, "pilot.toml")
    before = dump()

    changes = rollout_diff(rollout_load(path))

    assert changes == [
        Change(
            "update",
            Location,
            "HZ-S02",
            {"code": "HZ-S02"},
            {"latitude": (Decimal("30.257400"), Decimal("30.257500"))},
        )
    ]
    assert str(changes[0]) == "update Location HZ-S02: latitude 30.257400 → 30.257500"
    assert dump() == before  # a diff writes nothing
    assert rollout_apply(rollout_load(path)) == changes
    assert Location.objects.get(code="HZ-S02").latitude == Decimal("30.2575")


SMALL = """\
[city]
code = "testcity"
name = "Test City"
timezone = "Asia/Shanghai"
latitude = 30.27
longitude = 120.15

[phases]
pilot = 2026-11-01
later = 2027-01-01

[[warehouses]]
code = "T-DC1"
name = "DC"
latitude = 30.18
longitude = 120.26
services = { ship = "pilot" }

[[stores]]
code = "T-S01"
name = "Store 1"
latitude = 30.27
longitude = 120.16
protected_default = 1
services = { pickup = "pilot", ship_from_store = "pilot", store_sale = "pilot" }

[[stores]]
code = "T-S02"
name = "Store 2"
latitude = 30.25
longitude = 120.21
services = { pickup = "later" }

[[channels]]
code = "web"
name = "Web"
kind = "web"
phase = "pilot"
serves = ["T-DC1", "T-S01", "T-S02"]

[[channels]]
code = "pos"
name = "Counters"
kind = "store_pos"
phase = "pilot"
serves = ["T-S01", "T-S02"]
"""


def test_file_is_the_truth_for_its_city(db, tmp_path, dc):
    """Services, channels and serving locations dropped from the file go; rows of other
    cities stay."""
    rollout_apply(rollout_load(write(tmp_path, SMALL)))
    other = City.objects.get(code="testcity")
    assert other is not None
    # the fixtures' DC1 lives in "testcity" too: make a second city to hold it
    elsewhere = CityFactory.create(code="elsewhere", name="Elsewhere", latitude=1, longitude=1)
    dc.city = elsewhere
    dc.save()
    ChannelLocation.objects.create(channel=Channel.objects.get(code="pos"), location=dc, priority=7)

    edited = (
        SMALL.replace('pickup = "pilot", ship_from_store = "pilot", ', 'pickup = "pilot", ')
        .replace('serves = ["T-DC1", "T-S01", "T-S02"]', 'serves = ["T-S02", "T-DC1"]')
        .split('[[channels]]\ncode = "pos"')[0]
    )
    changes = rollout_apply(rollout_load(write(tmp_path, edited)))

    assert {(c.action, c.model.__name__, c.key) for c in changes} == {
        ("delete", "LocationService", "T-S01 ship"),
        ("update", "ChannelLocation", "web ← T-S02"),
        ("update", "ChannelLocation", "web ← T-DC1"),
        ("delete", "ChannelLocation", "web ← T-S01"),
        ("delete", "ChannelCity", "pos in testcity"),
        ("delete", "ChannelLocation", "pos ← T-S01"),
        ("delete", "ChannelLocation", "pos ← T-S02"),
    }
    assert sorted(
        ChannelLocation.objects.filter(channel__code="web").values_list(
            "location__code", "priority"
        )
    ) == [("T-DC1", 2), ("T-S02", 1)]
    # the channel itself and its rows in another city are left alone
    assert ChannelLocation.objects.filter(channel__code="pos").get().location == dc
    assert not LocationService.objects.filter(location__code="T-S01", service="ship").exists()


@pytest.mark.parametrize("at_the_last_change", [False, True])
def test_a_failed_apply_writes_nothing(db, tmp_path, monkeypatch, at_the_last_change):
    """Nor any audit row: the routing settings' services write in the apply's transaction."""
    plan = rollout_load(write(tmp_path, ROUTED))
    fail_after = len(rollout_diff(plan)) if at_the_last_change else 5
    before = dump()
    real_write = rollout_writes._write
    written = []

    def write_then_fail(change: Change) -> None:
        real_write(change)
        written.append(change)
        if len(written) == fail_after:
            raise RuntimeError("disk full")

    monkeypatch.setattr(rollout_writes, "_write", write_then_fail)
    with pytest.raises(RuntimeError):
        rollout_apply(plan)
    # the last write made an audit row: the app's routing profile, or the DC's daily limit
    assert written[-1].model is (RoutingProfile if at_the_last_change else LocationService)
    assert dump() == before


def test_optional_channel_settings_left_alone_when_absent(db, tmp_path):
    rollout_apply(rollout_load(write(tmp_path, SMALL)))
    Channel.objects.filter(code="web").update(allow_backorder=True, hold_minutes=45)
    assert rollout_diff(rollout_load(write(tmp_path, SMALL))) == []
    edited = SMALL.replace('kind = "web"\n', 'kind = "web"\nhold_minutes = 20\n')
    (change,) = rollout_apply(rollout_load(write(tmp_path, edited)))
    assert change.fields == {"hold_minutes": (45, 20)}
    assert Channel.objects.get(code="web").allow_backorder is True


# --------------------------------------------------------------------------- routing settings

ROUTED = (
    SMALL.replace(
        'services = { ship = "pilot" }\n',
        'services = { ship = "pilot" }\norders_per_day = { ship = 500 }\n',
    )
    .replace(
        'services = { pickup = "pilot", ship_from_store = "pilot", store_sale = "pilot" }\n',
        'services = { pickup = "pilot", ship_from_store = "pilot", store_sale = "pilot" }\n'
        "orders_per_day = { ship_from_store = 20, pickup = 30 }\n"
        'pickup_hours = "09:30-21:00"\n',
    )
    .replace(
        'serves = ["T-DC1", "T-S01", "T-S02"]\n',
        'serves = ["T-DC1", "T-S01", "T-S02"]\n'
        "buffer = 3\n"
        'buffers = { "T-S01" = 5 }\n'
        "\n"
        "[channels.routing]\n"
        'when_short = "park"\n'
        'note = "pilot rules"\n'
        "rules = [\n"
        '  "stay_in_city",\n'
        '  "keep_together",\n'
        '  { rule = "max_splits", value = 1 },\n'
        '  { rule = "distance_band", max_km = 30 },\n'
        "]\n",
    )
)
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


# --------------------------------------------------------------------------- mistakes

BAD = """\
[city]
code = "testcity"
name = "Test City"
timezone = "Mars/Olympus_Mons"
latitude = 30.27
longitude = 120.15

[phases]
pilot = 2026-11-01
wave2 = "2026-12-01"

[[warehouses]]
code = "T-DC1"
name = "DC"
latitude = 30.18
longitude = 120.26
services = { ship = "pilot", pickup = "pilot" }

[[stores]]
code = "T-S01"
name = "Store 1"
latitude = 30.27
longitude = 120.16
services = { pickup = "pilot" }

[[stores]]
code = "T-S02"
name = "Store 2"
latitude = 95.5
longitude = 120.21
capacity = 0
services = { pickup = "wave9" }

[[stores]]
code = "T-S01"
name = "Store 3"
latitude = 30.2
longitude = 120.2
protected_defualt = 2

[[stores]]
code = "T S04"
name = "Store 4"
longitude = 120.2

[[channels]]
code = "web"
name = "Web"
kind = "website"
phase = "pilot"
hold_minutes = 0
serves = [
  "T-DC1",
  "T-S09",
]
"""


def test_every_mistake_is_reported_with_its_line_and_key(db, tmp_path):
    path = write(tmp_path, BAD, "bad.toml")
    before = counts()
    with pytest.raises(RolloutFileInvalid) as caught:
        rollout_load(path)

    def at(needle: str, key: str, message: str) -> str:
        return f"{path}:{line_of(BAD, needle)}: {key}: {message}"

    second_s01 = BAD.index('code = "T-S01"', BAD.index('code = "T-S01"') + 1)
    s01_line = BAD[:second_s01].count("\n") + 1
    assert caught.value.code == "rollout_file_invalid"
    assert caught.value.detail["errors"] == [
        at(
            "Mars", "city.timezone", "'Mars/Olympus_Mons' is not a time zone (e.g. 'Asia/Shanghai')"
        ),
        at("wave2 =", "phases.wave2", "must be a date like 2026-11-01 (no quotes, no time)"),
        at(
            'ship = "pilot", pickup',
            "warehouses[1].services.pickup",
            "not a service of a warehouse (expected one of: ship)",
        ),
        at("95.5", "stores[2].latitude", "must be between -90 and 90"),
        at("capacity = 0", "stores[2].capacity", "must be greater than 0"),
        at("wave9", "stores[2].services.pickup", "unknown phase 'wave9' (phases: pilot, wave2)"),
        f"{path}:{s01_line}: stores[3].code: 'T-S01' is declared twice (also stores[1])",
        at(
            "protected_defualt",
            "stores[3].protected_defualt",
            "unknown key (expected one of: code, name, latitude, longitude, capacity, services, "
            "orders_per_day, protected_default, pickup_hours)",
        ),
        # a missing key is reported at its table's header
        f"{path}:{line_of(BAD, 'T S04') - 1}: stores[4].latitude: required",
        at("T S04", "stores[4].code", "must be a code of letters, digits, '-' and '_'"),
        at(
            "website",
            "channels[1].kind",
            "must be one of: web, mini_program, marketplace, store_pos, wholesale",
        ),
        at("hold_minutes", "channels[1].hold_minutes", "must be at least 1"),
        at('"T-S09"', "channels[1].serves[2]", "'T-S09' is not a warehouse or store of this file"),
    ]
    assert counts() == before


BAD_ROUTING = """\
[city]
code = "testcity"
name = "Test City"
timezone = "Asia/Shanghai"
latitude = 30.27
longitude = 120.15

[phases]
pilot = 2026-11-01

[[warehouses]]
code = "T-DC1"
name = "DC"
latitude = 30.18
longitude = 120.26
services = { ship = "pilot" }
orders_per_day = { ship = "lots" }
pickup_hours = "08:00-20:00"

[[stores]]
code = "T-S01"
name = "Store 1"
latitude = 30.27
longitude = 120.16
services = { pickup = "pilot", store_sale = "pilot" }
orders_per_day = { store_sale = 5, ship_from_store = 10, pickup = -1 }
pickup_hours = "22:00-10:00"

[[stores]]
code = "T-S02"
name = "Store 2"
latitude = 30.25
longitude = 120.21
services = { pickup = "pilot" }
pickup_hours = "10am-10pm"

[[stores]]
code = "T-S03"
name = "Store 3"
latitude = 30.25
longitude = 120.22
services = { store_sale = "pilot" }
pickup_hours = "10:00-22:00"

[[channels]]
code = "web"
name = "Web"
kind = "web"
phase = "pilot"
serves = ["T-DC1", "T-S01"]
buffer = -1
buffers = { "T-S09" = 2, "T-S02" = 1, "T-S01" = true }

[channels.routing]
when_short = "wait"
notes = "typo"
rules = [
  "stay_in_city",
  "nearest",
  { rule = "distance_band", max_km = -5 },
  { rule = "exclude_kinds", kinds = ["store", "van"] },
  { rule = "max_splits" },
]

[[channels]]
code = "app"
name = "App"
kind = "mini_program"
phase = "pilot"
serves = ["T-S01"]

[channels.routing]
rules = [
  "keep_together",
  "nearest_first",
  "keep_together",
]

[[channels]]
code = "pos"
name = "Counters"
kind = "store_pos"
phase = "pilot"
serves = ["T-S01"]
buffer = 1
routing = { rules = ["nearest_first"] }

[[channels]]
code = "b2b"
name = "B2B"
kind = "wholesale"
phase = "pilot"
serves = ["T-DC1"]
routing = { when_short = "park" }
"""


def test_every_routing_setting_mistake_is_reported_with_its_line_and_key(db, tmp_path):
    path = write(tmp_path, BAD_ROUTING, "bad.toml")
    before = counts()
    with pytest.raises(RolloutFileInvalid) as caught:
        rollout_load(path)

    def at(needle: str, key: str, message: str) -> str:
        return f"{path}:{line_of(BAD_ROUTING, needle)}: {key}: {message}"

    twice = BAD_ROUTING.rindex('"keep_together"')
    twice_line = BAD_ROUTING[:twice].count("\n") + 1
    counter = "a store_pos channel has no buffer: the counter sells what the customer holds"
    assert caught.value.detail["errors"] == [
        at('ship = "lots"', "warehouses[1].orders_per_day.ship", "must be a whole number"),
        at(
            "08:00-20:00",
            "warehouses[1].pickup_hours",
            "unknown key (expected one of: code, name, latitude, longitude, capacity, services, "
            "orders_per_day)",
        ),
        at(
            "store_sale = 5",
            "stores[1].orders_per_day.store_sale",
            "not a service with a daily limit (expected one of: ship_from_store, pickup)",
        ),
        at(
            "store_sale = 5",
            "stores[1].orders_per_day.ship_from_store",
            "the store does not offer ship_from_store (not in its services)",
        ),
        at("store_sale = 5", "stores[1].orders_per_day.pickup", "must be at least 0"),
        at(
            "22:00-10:00",
            "stores[1].pickup_hours",
            "must open before it closes, on the same day",
        ),
        at("10am", "stores[2].pickup_hours", 'must be opening hours like "10:00-22:00"'),
        at(
            '"10:00-22:00"',
            "stores[3].pickup_hours",
            "the store does not offer pickup (not in its services)",
        ),
        at("buffer = -1", "channels[1].buffer", "must be at least 0"),
        at(
            '"T-S09" = 2',
            "channels[1].buffers.T-S09",
            "'T-S09' is not a warehouse or store of this file",
        ),
        at(
            '"T-S09" = 2',
            "channels[1].buffers.T-S02",
            "'T-S02' does not serve this channel (not in serves)",
        ),
        at('"T-S09" = 2', "channels[1].buffers.T-S01", "must be a whole number"),
        at(
            'when_short = "wait"',
            "channels[1].routing.when_short",
            "must be one of park, refuse, backorder",
        ),
        at(
            "notes =",
            "channels[1].routing.notes",
            "unknown key (expected one of: rules, when_short, note)",
        ),
        at(
            '"nearest",',
            "channels[1].routing.rules[2].rule",
            "unknown rule 'nearest'; one of ('stay_in_city', 'exclude_kinds', 'distance_band', "
            "'nearest_first', 'location_rank', 'lowest_cost', 'keep_together', 'max_splits')",
        ),
        at("max_km = -5", "channels[1].routing.rules[3].max_km", "cannot be negative"),
        at(
            '"van"',
            "channels[1].routing.rules[4].kinds[2]",
            "unknown kind 'van'; one of ('warehouse', 'store')",
        ),
        at(
            '{ rule = "max_splits" }',
            "channels[1].routing.rules[5].value",
            "max_splits needs value",
        ),
        f"{path}:{twice_line}: channels[2].routing.rules[3].rule: keep_together is listed twice",
        at("buffer = 1", "channels[3].buffer", counter),
        at(
            'routing = { rules = ["nearest_first"] }',
            "channels[3].routing",
            "a store_pos channel is not routed: counter sales are sold on the spot",
        ),
        at('routing = { when_short = "park" }', "channels[4].routing.rules", "required"),
    ]
    assert counts() == before


def test_bad_toml_syntax_is_reported_as_tomllib_says(db, tmp_path):
    text = SMALL.replace('name = "Store 2"', 'name = "Store 2')
    path = write(tmp_path, text, "broken.toml")
    before = counts()
    with pytest.raises(RolloutFileInvalid) as caught:
        rollout_load(path)
    (error,) = caught.value.detail["errors"]
    line = line_of(text, 'name = "Store 2')
    assert error.startswith(f"{path}:{line}: ")
    assert f"(at line {line}, column" in error
    assert counts() == before


def test_missing_tables_and_unknown_top_level_keys(db, tmp_path):
    text = 'citty = "x"\n\n[[stores]]\ncode = "A"\nname = "A"\nlatitude = 1\nlongitude = 1\n'
    path = write(tmp_path, text, "short.toml")
    with pytest.raises(RolloutFileInvalid) as caught:
        rollout_load(path)
    assert caught.value.detail["errors"] == [
        f"{path}: city: required",
        f"{path}: phases: required",
        f"{path}:1: citty: unknown key (expected one of: city, phases, warehouses, stores, "
        "channels)",
    ]


def test_location_of_another_city_or_kind_is_a_mistake(db, tmp_path, dc, store):
    """The fixtures' DC1 (a warehouse) and S01 are in "testcity"; the file is for another."""
    text = (
        SMALL.replace('"T-DC1"', '"S01"')
        .replace('code = "T-S01"', 'code = "DC1"')
        .replace('"T-S01"', '"DC1"')
        .replace("latitude = 30.27\nlongitude = 120.16", "latitude = -91\nlongitude = 120.16")
    )
    path = write(tmp_path, text, "clash.toml")
    s01, dc1, lat = (line_of(text, n) for n in ('code = "S01"', 'code = "DC1"', "-91"))
    with pytest.raises(RolloutFileInvalid) as caught:
        rollout_load(path)
    # the clash is found even in a table with other mistakes
    assert caught.value.detail["errors"] == [
        f"{path}:{s01}: warehouses[1].code: S01 exists as a store, not a warehouse",
        f"{path}:{dc1}: stores[1].code: DC1 exists as a warehouse, not a store",
        f"{path}:{lat}: stores[1].latitude: must be between -90 and 90",
    ]
    text = SMALL.replace('code = "testcity"', 'code = "othercity"').replace('"T-S01"', '"S01"')
    path = write(tmp_path, text, "moved.toml")
    s01 = line_of(text, 'code = "S01"')
    with pytest.raises(RolloutFileInvalid) as caught:
        rollout_load(path)
    assert caught.value.detail["errors"] == [
        f"{path}:{s01}: stores[1].code: S01 exists in another city (testcity)",
    ]


def test_a_username_taken_by_staff_is_not_made_a_channel(db, tmp_path):
    StoreUserFactory.create(username="channel-pos", password="x")
    path = write(tmp_path, SMALL)
    with pytest.raises(RolloutFileInvalid) as caught:
        rollout_load(path)
    second_channel = SMALL.index('code = "pos"')
    line = SMALL[:second_channel].count("\n") + 1
    assert caught.value.detail["errors"] == [
        f"{path}:{line}: channels[2].code: user 'channel-pos' exists and is not a free channel user"
    ]
    assert not Channel.objects.exists()


# --------------------------------------------------------------------------- the command


def test_command_diff_then_apply_then_no_changes(db, tmp_path):
    path = write(tmp_path, SMALL)
    out = io.StringIO()
    call_command("rollout", "diff", str(path), stdout=out)
    assert "create City testcity: name=Test City" in out.getvalue()
    assert out.getvalue().rstrip().endswith("would apply 19 change(s): 19 create")
    assert not City.objects.exists()

    out = io.StringIO()
    call_command("rollout", "apply", str(path), stdout=out)
    assert "create ChannelLocation web ← T-S02: priority=3" in out.getvalue()
    assert out.getvalue().rstrip().endswith("applied 19 change(s): 19 create")

    out = io.StringIO()
    call_command("rollout", "apply", str(path), stdout=out)
    assert out.getvalue() == "no changes\n"


def test_command_on_an_invalid_file_prints_every_mistake_and_exits_1(db, tmp_path):
    path = write(tmp_path, BAD, "bad.toml")
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("rollout", "apply", str(path), stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1
    lines = err.getvalue().splitlines()
    assert len(lines) == 13
    assert f"{path}:{line_of(BAD, '95.5')}: stores[2].latitude: must be between -90 and 90" in lines
    assert not City.objects.exists()


# --------------------------------------------------------------------------- selectors


def codes(locations) -> list[str]:
    return [loc.code for loc in locations]


def test_a_store_is_offered_from_the_day_its_phase_starts(pilot):
    city = City.objects.get()
    eve, first_day = date(2026, 11, 15), date(2026, 11, 16)
    assert "HZ-S07" not in codes(live_locations(city=city, service=Service.PICKUP, on=eve))
    assert "HZ-S07" in codes(live_locations(city=city, service=Service.PICKUP, on=first_day))
    assert codes(live_locations(city=city, service=Service.PICKUP, on=first_day)) == STORES[:7]
    assert codes(live_locations(city=city, service=Service.PICKUP, on=date(2027, 3, 1))) == STORES
    # ship: the DC and the three ship-from-store stores only
    assert codes(live_locations(city=city, service=Service.SHIP, on=first_day)) == [
        "HZ-DC1",
        "HZ-S01",
        "HZ-S02",
        "HZ-S03",
    ]
    assert list(live_locations(city=city, service=Service.SHIP, on=date(2026, 10, 31))) == []


def test_live_locations_for_a_channel_follow_its_priority(pilot):
    city = City.objects.get()
    web = Channel.objects.get(code="web")
    live = list(live_locations(city=city, service=Service.SHIP, channel=web, on=date(2026, 12, 1)))
    ranked = [(loc.code, loc.channel_priority) for loc in live]  # type: ignore[attr-defined]
    assert ranked == [
        ("HZ-DC1", 1),
        ("HZ-S01", 2),
        ("HZ-S02", 3),
        ("HZ-S03", 4),
    ]
    ChannelLocation.objects.filter(channel=web, location__code="HZ-DC1").update(priority=99)
    reordered = live_locations(city=city, service=Service.SHIP, channel=web, on=date(2026, 12, 1))
    assert codes(reordered) == ["HZ-S01", "HZ-S02", "HZ-S03", "HZ-DC1"]
    tmall = Channel.objects.get(code="tmall")
    assert codes(live_locations(city=city, service=Service.SHIP, channel=tmall)) == ["HZ-DC1"]
    pos = Channel.objects.get(code="pos")
    assert codes(live_locations(city=city, service=Service.SHIP, channel=pos)) == STORES[:3]


def test_a_channel_not_live_in_the_city_yet_gets_nothing(pilot):
    city = City.objects.get()
    web = Channel.objects.get(code="web")
    ChannelCity.objects.filter(channel=web).update(starts_on=date(2027, 1, 1))
    on = date(2026, 12, 31)
    assert list(live_locations(city=city, service=Service.SHIP, channel=web, on=on)) == []
    assert codes(live_locations(city=city, service=Service.SHIP, on=on))[0] == "HZ-DC1"
    assert codes(live_locations(city=city, service=Service.SHIP, channel=web, on=date(2027, 1, 1)))
    Channel.objects.filter(pk=web.pk).update(active=False)
    assert not live_locations(city=city, service=Service.SHIP, channel=web, on=date(2027, 1, 1))
    other = CityFactory.create(code="other", name="Other", latitude=0, longitude=0)
    assert list(live_locations(city=other, service=Service.SHIP, channel=web)) == []


def test_today_is_the_citys_day_not_utc(pilot, monkeypatch):
    city = City.objects.get()
    # 2027-02-28 16:30 UTC is already 2027-03-01 00:30 in Hangzhou: Linping opens
    monkeypatch.setattr(timezone, "now", lambda: datetime(2027, 2, 28, 16, 30, tzinfo=UTC))
    assert city_today(city) == date(2027, 3, 1)
    assert "HZ-S08" in codes(live_locations(city=city, service=Service.PICKUP))
    monkeypatch.setattr(timezone, "now", lambda: datetime(2027, 2, 28, 15, 59, tzinfo=UTC))
    assert city_today(city) == date(2027, 2, 28)
    assert "HZ-S08" not in codes(live_locations(city=city, service=Service.PICKUP))


def test_shelf_protection_per_sku_then_store_default_then_setting(
    db, settings, city, dc, store, store2
):
    settings.OMNI_SHELF_PROTECTED_DEFAULT = 3
    one, two = ProductFactory.create(sku="SKU-1"), ProductFactory.create(sku="SKU-2")
    ShelfProtection.objects.create(location=store, product=None, quantity=2)
    ShelfProtection.objects.create(location=store, product=one, quantity=5)
    ShelfProtection.objects.create(location=dc, product=None, quantity=9)  # ignored: no store

    protected = shelf_protected(
        location_ids=[dc.pk, store.pk, store2.pk], product_ids=[one.pk, two.pk]
    )

    assert protected == {
        (store.pk, one.pk): 5,  # the SKU's own row
        (store.pk, two.pk): 2,  # the store's default
        (store2.pk, one.pk): 3,  # the setting
        (store2.pk, two.pk): 3,
        (dc.pk, one.pk): 0,  # warehouses keep nothing back
        (dc.pk, two.pk): 0,
    }
    del settings.OMNI_SHELF_PROTECTED_DEFAULT
    assert shelf_protected(location_ids=[store2.pk], product_ids=[one.pk]) == {
        (store2.pk, one.pk): 0
    }


# --------------------------------------------------------------------------- admin


def test_admin_shows_channels_with_their_cities_and_locations(pilot, admin_user):
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)
    web = Channel.objects.get(code="web")
    page = client.get(reverse("admin:network_channel_change", args=[web.pk]))
    assert page.status_code == 200
    assert b"Wulin Square" in page.content and b"2026-11-01" in page.content
    for name in ("locationservice", "shelfprotection", "channel"):
        assert client.get(reverse(f"admin:network_{name}_changelist")).status_code == 200
