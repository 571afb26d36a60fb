"""The rollout file's plan: what a file declares, checked, and the changes it makes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Any, Literal, TypeVar

from django.db import models

from inventory.models import LocationKind
from network.models import (
    ChannelKind,
    Service,
)

T = TypeVar("T")

SECTIONS = ("city", "phases", "warehouses", "stores", "channels")
CITY_KEYS = ("code", "name", "timezone", "latitude", "longitude")
LOCATION_KEYS = ("code", "name", "latitude", "longitude", "capacity", "services", "orders_per_day")
STORE_KEYS = (*LOCATION_KEYS, "protected_default", "pickup_hours")
CHANNEL_KEYS = (
    "code",
    "name",
    "kind",
    "phase",
    "allow_backorder",
    "hold_minutes",
    "serves",
    "buffer",
    "buffers",
    "routing",
)
ROUTING_KEYS = ("rules", "when_short", "note")
# The file's service names per kind of location; a store's ``ship_from_store`` is ``ship``.
SERVICES: dict[str, dict[str, Service]] = {
    "warehouses": {"ship": Service.SHIP},
    "stores": {
        "pickup": Service.PICKUP,
        "ship_from_store": Service.SHIP,
        "store_sale": Service.STORE_SALE,
    },
}
# The services a day's order limit applies to (counter sales are never limited).
ORDERS_PER_DAY = {"warehouses": ("ship",), "stores": ("ship_from_store", "pickup")}
LOCATION_KINDS = {"warehouses": LocationKind.WAREHOUSE, "stores": LocationKind.STORE}
CAPACITY_LIMIT = 10**9  # Location.capacity has 9 digits before the point
INT_LIMIT = 2**31 - 1  # a positive integer column on PostgreSQL
CHANNEL_USER_PREFIX = "channel-"
ROLLOUT_SOURCE = "rollout"  # ConfigChange.source of what an apply writes
# LocationService fields written through ``location_capacity_set`` (audited), not directly.
CAPACITY_FIELDS = ("daily_capacity", "opens_at", "closes_at")

_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_KEY_PART = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)"""
_DOTTED_KEY = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_KEY_LINE = re.compile(rf"^\s*({_DOTTED_KEY})\s*=")
_TABLE_LINE = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED_KEY})\s*\]\]?\s*(?:#.*)?$")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class RolloutIssue:
    """One mistake in a rollout file; ``line`` is None when the file has no place for it (a
    table missing altogether)."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


@dataclass(frozen=True)
class CityPlan:
    code: str
    name: str
    timezone: str
    latitude: Decimal
    longitude: Decimal


@dataclass(frozen=True)
class LocationPlan:
    code: str
    name: str
    kind: LocationKind
    latitude: Decimal
    longitude: Decimal
    capacity: Decimal | None  # None: unbounded
    services: dict[Service, date]  # service → first day it is offered
    protected_default: int | None  # None: leave the store's default protection as it is
    orders_per_day: dict[Service, int]  # a service missing here has no daily limit
    pickup_hours: tuple[time, time] | None  # (opens, closes) of the pickup service; None: any time
    label: str = field(compare=False)  # "stores[2]", to name it in errors
    line: int | None = field(compare=False)  # line of its ``code``


@dataclass(frozen=True)
class RoutingPlan:
    """The channel's routing profile for the city: ``rules`` as stored (``rules_as_data``), so
    they compare equal to the active version's when nothing changed."""

    rules: list[dict[str, Any]]
    when_short: str
    note: str


@dataclass(frozen=True)
class ChannelPlan:
    code: str
    name: str
    kind: ChannelKind
    starts_on: date  # live in the city from this day
    allow_backorder: bool | None  # None: as it is (the model default for a new channel)
    hold_minutes: int | None
    serves: tuple[str, ...]  # location codes, most preferred first
    buffer: int | None  # the channel's default buffer; None: leave it as it is
    buffers: dict[str, int]  # location code → units, for this city's locations
    routing: RoutingPlan | None  # None: no profile of its own in this city
    label: str = field(compare=False)
    line: int | None = field(compare=False)


@dataclass(frozen=True)
class RolloutPlan:
    file: str
    city: CityPlan
    phases: dict[str, date]
    locations: tuple[LocationPlan, ...]
    channels: tuple[ChannelPlan, ...]


@dataclass(frozen=True)
class Change:
    """One row the rollout creates, updates or deletes. ``lookup`` names the row by codes, not
    ids: at diff time the city or location it hangs on may not exist yet."""

    action: Literal["create", "update", "delete"]
    model: type[models.Model]
    key: str  # how a planner names the row: "HZ-S01", "HZ-S01 pickup", "web ← HZ-S01"
    lookup: dict[str, Any]
    fields: dict[str, tuple[Any, Any]]  # field → (old, new); None old on create, None new on delete

    def __str__(self) -> str:
        head = f"{self.action} {self.model.__name__} {self.key}"
        if self.action == "update":
            parts = [f"{f} {_show(old)} → {_show(new)}" for f, (old, new) in self.fields.items()]
        elif self.action == "create":
            parts = [f"{f}={_show(new)}" for f, (_, new) in self.fields.items()]
        else:
            parts = [f"{f}={_show(old)}" for f, (old, _) in self.fields.items()]
        return f"{head}: {', '.join(parts)}" if parts else head


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, list):  # a routing profile's rules
        return f"[{', '.join(_show_rule(rule) for rule in value)}]"
    return str(value)


def _show_rule(rule: Mapping[str, Any]) -> str:
    """``max_splits(value=1)``, ``exclude_kinds(kinds=store)``: short enough for one diff line."""

    def value(v: Any) -> str:
        if isinstance(v, list):
            return "/".join(str(item) for item in v)
        return f"{v:g}" if isinstance(v, float) else str(v)

    params = [f"{k}={value(v)}" for k, v in rule.items() if k != "rule"]
    return f"{rule['rule']}({', '.join(params)})" if params else str(rule["rule"])
