"""What the rollout tests share: the pilot file, the demo city it lays out, and helpers to
write a file and read the rows a rollout owns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inventory.models import Location
from network.models import (
    Channel,
    ChannelBuffer,
    ChannelCity,
    ChannelLocation,
    ConfigChange,
    LocationService,
    RoutingProfile,
    ShelfProtection,
)
from omni.models import City, User

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
