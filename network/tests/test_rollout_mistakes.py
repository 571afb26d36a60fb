"""The rollout file's mistakes: every one reported at once with its line and key, and nothing
written."""

from __future__ import annotations

import pytest

from network.errors import RolloutFileInvalid
from network.models import (
    Channel,
)
from network.rollout import rollout_load
from network.tests.rollout_helpers import BAD, SMALL, counts, line_of, write
from tests.factories import StoreUserFactory

# --------------------------------------------------------------------------- mistakes


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
