"""The rollout file: diff and apply, the command, the selectors that make sourcing obey the
rollout (live locations, shelf protection), and the admin."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from inventory.models import Location, LocationKind
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
from network.selectors import live_locations, shelf_protected
from network.tests.rollout_helpers import (
    BAD,
    DEMO_CITY,
    DEMO_DC,
    DEMO_STORES,
    PILOT,
    ROUTED,
    SMALL,
    STORES,
    counts,
    dump,
    line_of,
    write,
)
from omni.models import City, Role, User
from omni.selectors import city_today
from tests.factories import CityFactory, LocationFactory, ProductFactory

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
