"""The rollout file of a city (TOML, see ``docs/rollout.md``): load and check it, show what it
would change, and apply it.

``rollout_load`` reads and checks the whole file and reports every mistake at once, each with
its line and key. ``rollout_diff`` and ``rollout_apply`` share one computation (``_changes``):
apply writes exactly the changes the diff shows, in one transaction, so a second apply of the
same file finds nothing to do. The file is the truth for its city: services, channels and
serving locations the file no longer names are removed from the city, and so are its daily
capacities and pickup hours, the channels' buffers at its locations and the channels' routing
profiles for the city. Those routing settings are written through ``omni.services`` (source
``rollout``), so each change leaves a ``ConfigChange`` audit row like one made in the admin.
"""

from __future__ import annotations

import math
import re
import tomllib
import zoneinfo
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from django.db import models, transaction

from inventory.models import Location, LocationKind

from .errors import RolloutFileInvalid
from .models import (
    Channel,
    ChannelBuffer,
    ChannelCity,
    ChannelKind,
    ChannelLocation,
    City,
    LocationService,
    Role,
    RoutingProfile,
    RoutingProfileStatus,
    Service,
    ShelfProtection,
    User,
)
from .routing_rules import RuleError, check_when_short, parse_rules, rules_as_data
from .services import (
    channel_buffer_set,
    location_capacity_set,
    routing_profile_activate,
    routing_profile_create,
    routing_profile_deactivate,
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


# --------------------------------------------------------------------------- loading


def rollout_load(path: str | Path) -> RolloutPlan:
    """Read and check a rollout file, against itself and against the database (a location
    code already used in another city or for another kind). Raises ``RolloutFileInvalid``
    listing every mistake."""
    file = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        issue = RolloutIssue(file, None, "", f"cannot read the file: {exc}")
        raise _invalid(file, [issue]) from exc
    parsed = _parse(text, file)
    issues = parsed.issues + _database_issues(
        file,
        parsed.city.code if parsed.city else None,
        parsed.declared_locations.values(),
        parsed.declared_channels.values(),
    )
    _raise_if_any(file, issues)
    return parsed.plan()


def rollout_parse(text: str, *, file: str = "<rollout>") -> RolloutPlan:
    """Check a rollout file's text on its own (no database). Raises ``RolloutFileInvalid``."""
    parsed = _parse(text, file)
    _raise_if_any(file, parsed.issues)
    return parsed.plan()


def _raise_if_any(file: str, issues: Sequence[RolloutIssue]) -> None:
    if issues:
        raise _invalid(file, issues)


def _invalid(file: str, issues: Sequence[RolloutIssue]) -> RolloutFileInvalid:
    ordered = sorted(issues, key=lambda i: (i.line is not None, i.line or 0))
    return RolloutFileInvalid(
        f"{file}: {len(ordered)} mistake(s) in the rollout file; nothing was written",
        detail={"file": file, "errors": [str(issue) for issue in ordered]},
    )


@dataclass
class _Block:
    line: int | None  # the table header's line; None for the top of the file
    keys: dict[str, int] = field(default_factory=dict)  # dotted key → line of its first use


class _LineIndex:
    """Where tables and keys are in the raw text: tomllib gives values but no positions.
    ``[[stores]]`` blocks are counted from 1, as errors name them (``stores[2]``)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.root = _Block(None)
        self.blocks: dict[tuple[str, int | None], _Block] = {}
        self.first_header: dict[str, int] = {}
        counts: dict[str, int] = {}
        block, prefix = self.root, ""
        for number, raw in enumerate(self.lines, start=1):
            if header := _TABLE_LINE.match(raw):
                parts = _key_parts(header[2])
                self.first_header.setdefault(parts[0], number)
                parent = (parts[0], counts.get(parts[0]))
                if len(parts) > 1 and parent in self.blocks:
                    # [stores.services]: a sub-table of the latest [[stores]] (or of [city])
                    block, prefix = self.blocks[parent], ".".join(parts[1:])
                    block.keys.setdefault(prefix, number)
                    prefix += "."
                    continue
                name = ".".join(parts)
                index = None
                if header[1] == "[[":
                    index = counts[name] = counts.get(name, 0) + 1
                block, prefix = self.blocks.setdefault((name, index), _Block(number)), ""
            elif key := _KEY_LINE.match(raw):
                parts = _key_parts(key[1])
                for n in range(1, len(parts) + 1):
                    block.keys.setdefault(prefix + ".".join(parts[:n]), number)

    def line_of(
        self,
        section: str,
        index: int | None,
        key: str | None,
        needle: str | None = None,
        nth: int = 1,
    ) -> int | None:
        if not section:  # a top-level key, or a whole table
            assert key is not None
            top = key.split(".")[0]
            return self.root.keys.get(top, self.first_header.get(top))
        block = self.blocks.get((section, index))
        if block is None:  # written inline at the top: `city = { ... }`
            return self.root.keys.get(section)
        if key is None:
            return block.line
        parts = key.split(".")
        for n in range(len(parts), 0, -1):
            line = block.keys.get(".".join(parts[:n]))
            if line is not None:
                return self._find(needle, line, nth) if needle else line
        return block.line

    def _find(self, needle: str, start: int, nth: int = 1) -> int:
        """The line of the ``nth`` ``needle`` in the value that starts at line ``start`` (a list
        may run over several lines, and name the same rule twice)."""
        seen = 0
        for number in range(start, len(self.lines) + 1):
            raw = self.lines[number - 1]
            if number > start and (_KEY_LINE.match(raw) or _TABLE_LINE.match(raw)):
                break
            seen += raw.split("#")[0].count(needle)
            if seen >= nth:
                return number
        return start


def _key_parts(dotted: str) -> list[str]:
    return [part.strip("\"'") for part in re.findall(_KEY_PART, dotted)]


@dataclass
class _Entry:
    """A table of the file: ``[city]`` (index None) or the n-th ``[[stores]]``."""

    section: str
    index: int | None
    data: dict[str, Any]

    @property
    def label(self) -> str:
        return self.section if self.index is None else f"{self.section}[{self.index}]"


@dataclass(frozen=True)
class _Declared:
    """A location or channel code as the file declares it, and where: checked against the
    database even when the rest of its table has mistakes."""

    code: str
    kind: str
    label: str
    line: int | None


@dataclass
class _Parsed:
    file: str
    issues: list[RolloutIssue] = field(default_factory=list)
    declared_locations: dict[str, _Declared] = field(default_factory=dict)
    declared_channels: dict[str, _Declared] = field(default_factory=dict)
    city: CityPlan | None = None
    phases: dict[str, date] = field(default_factory=dict)
    locations: list[LocationPlan] = field(default_factory=list)
    channels: list[ChannelPlan] = field(default_factory=list)

    def plan(self) -> RolloutPlan:
        assert not self.issues and self.city is not None
        return RolloutPlan(
            file=self.file,
            city=self.city,
            phases=self.phases,
            locations=tuple(self.locations),
            channels=tuple(self.channels),
        )


def _given(value: T | None) -> T:
    assert value is not None
    return value


class _Reader:
    """Checks values key by key, recording every mistake with its line."""

    def __init__(self, file: str, text: str, parsed: _Parsed) -> None:
        self.file = file
        self.index = _LineIndex(text)
        self.issues = parsed.issues

    def issue(
        self, entry: _Entry, key: str, message: str, *, needle: str | None = None, nth: int = 1
    ) -> None:
        line = self.index.line_of(
            entry.section, entry.index, re.sub(r"\[\d+\]", "", key) or None, needle, nth
        )
        label = ".".join(part for part in (entry.label, key) if part)
        self.issues.append(RolloutIssue(self.file, line, label, message))

    def declare(self, entry: _Entry, code: str, kind: str, declared: dict[str, _Declared]) -> None:
        """Codes are unique within the file (locations and channels each)."""
        if code in declared:
            also = declared[code]
            self.issue(entry, "code", f"{code!r} is declared twice (also {also.label})")
        else:
            line = self.index.line_of(entry.section, entry.index, "code")
            declared[code] = _Declared(code, kind, entry.label, line)

    def keys(self, entry: _Entry, allowed: Collection[str], required: Collection[str]) -> None:
        for key in entry.data:
            if key not in allowed:
                self.issue(entry, key, f"unknown key (expected one of: {', '.join(allowed)})")
        for key in required:
            if key not in entry.data:
                self.issue(entry, key, "required")

    def table(self, root: _Entry, section: str) -> _Entry | None:
        value = root.data.get(section)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.issue(root, section, f"must be a table: write [{section}] once")
            return None
        return _Entry(section, None, value)

    def array(self, root: _Entry, section: str) -> list[_Entry]:
        value = root.data.get(section)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.issue(root, section, f"must be a list of tables: write [[{section}]] for each")
            return []
        return [_Entry(section, n, item) for n, item in enumerate(value, start=1)]

    def text(self, entry: _Entry, key: str, *, max_length: int, code: bool = False) -> str | None:
        value = entry.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.issue(entry, key, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.issue(entry, key, f"must be at most {max_length} characters")
            return None
        if code and not _SLUG.match(value):
            self.issue(entry, key, "must be a code of letters, digits, '-' and '_'")
            return None
        return value

    def decimal(
        self, entry: _Entry, key: str, *, low: float, high: float, places: int, open_low: bool
    ) -> Decimal | None:
        value = entry.data.get(key)
        if value is None:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.issue(entry, key, "must be a number")
            return None
        if open_low and value <= low:
            message = f"must be greater than {low}"
        elif not low <= value <= high:  # checked before rounding: a huge number does not round
            message = f"must be at most {high}" if open_low else f"must be between {low} and {high}"
        else:
            number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
            if not (open_low and number <= low):
                return number
            message = f"must be greater than {low}"
        self.issue(entry, key, message)
        return None

    def latitude(self, entry: _Entry) -> Decimal | None:
        return self.decimal(entry, "latitude", low=-90, high=90, places=6, open_low=False)

    def longitude(self, entry: _Entry) -> Decimal | None:
        return self.decimal(entry, "longitude", low=-180, high=180, places=6, open_low=False)

    def integer(self, entry: _Entry, key: str, *, low: int) -> int | None:
        return self.whole(entry, key, entry.data.get(key), low=low)

    def whole(self, entry: _Entry, key: str, value: Any, *, low: int) -> int | None:
        """``value`` (found at ``key``, which may be inside an inline table) as a whole number
        from ``low``; None when absent or wrong."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.issue(entry, key, "must be a whole number")
        elif not low <= value <= INT_LIMIT:
            self.issue(entry, key, f"must be at least {low}" if value < low else "is too large")
        else:
            return value
        return None

    def boolean(self, entry: _Entry, key: str) -> bool | None:
        value = entry.data.get(key)
        if value is not None and not isinstance(value, bool):
            self.issue(entry, key, "must be true or false")
            return None
        return value

    def phase(
        self, entry: _Entry, key: str, value: Any, phases: Mapping[str, date], names: Sequence[str]
    ) -> date | None:
        """The start date of the phase named by ``value``. A phase whose own date is wrong was
        reported already and gives None silently."""
        if not isinstance(value, str):
            self.issue(entry, key, "must be a phase name (a string)")
        elif value not in names:
            known = ", ".join(names) or "none declared"
            self.issue(entry, key, f"unknown phase {value!r} (phases: {known})")
        else:
            return phases.get(value)
        return None


def _parse(text: str, file: str) -> _Parsed:
    parsed = _Parsed(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already says where: "... (at line 7, column 12)"
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found[1]) if found else max(len(text.splitlines()), 1)
        parsed.issues.append(RolloutIssue(file, line, "", str(exc)))
        return parsed
    reader = _Reader(file, text, parsed)
    root = _Entry("", None, data)
    reader.keys(root, SECTIONS, required=("city", "phases"))
    if (city := reader.table(root, "city")) is not None:
        parsed.city = _parse_city(reader, city)
    names: list[str] = []
    if (phases := reader.table(root, "phases")) is not None:
        names = list(phases.data)
        parsed.phases = _parse_phases(reader, phases)
    locations, channels = parsed.declared_locations, parsed.declared_channels
    for section in ("warehouses", "stores"):
        for entry in reader.array(root, section):
            location = _parse_location(reader, entry, parsed.phases, names, locations)
            if location is not None:
                parsed.locations.append(location)
    for entry in reader.array(root, "channels"):
        channel = _parse_channel(reader, entry, parsed.phases, names, locations, channels)
        if channel is not None:
            parsed.channels.append(channel)
    return parsed


def _parse_city(reader: _Reader, entry: _Entry) -> CityPlan | None:
    before = len(reader.issues)
    reader.keys(entry, CITY_KEYS, required=CITY_KEYS)
    code = reader.text(entry, "code", max_length=32, code=True)
    name = reader.text(entry, "name", max_length=100)
    tz = reader.text(entry, "timezone", max_length=64)
    if tz is not None:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            reader.issue(entry, "timezone", f"{tz!r} is not a time zone (e.g. 'Asia/Shanghai')")
    latitude, longitude = reader.latitude(entry), reader.longitude(entry)
    if len(reader.issues) > before:
        return None
    return CityPlan(
        code=_given(code),
        name=_given(name),
        timezone=_given(tz),
        latitude=_given(latitude),
        longitude=_given(longitude),
    )


def _parse_phases(reader: _Reader, entry: _Entry) -> dict[str, date]:
    phases: dict[str, date] = {}
    for name, value in entry.data.items():
        if isinstance(value, date) and not isinstance(value, datetime):
            phases[name] = value
        else:
            reader.issue(entry, name, "must be a date like 2026-11-01 (no quotes, no time)")
    return phases


def _parse_location(
    reader: _Reader,
    entry: _Entry,
    phases: Mapping[str, date],
    names: Sequence[str],
    declared: dict[str, _Declared],
) -> LocationPlan | None:
    before = len(reader.issues)
    is_store = entry.section == "stores"
    reader.keys(entry, STORE_KEYS if is_store else LOCATION_KEYS, required=LOCATION_KEYS[:4])
    code = reader.text(entry, "code", max_length=32, code=True)
    if code is not None:
        reader.declare(entry, code, LOCATION_KINDS[entry.section], declared)
    name = reader.text(entry, "name", max_length=100)
    latitude, longitude = reader.latitude(entry), reader.longitude(entry)
    capacity = reader.decimal(
        entry, "capacity", low=0, high=CAPACITY_LIMIT - 1, places=3, open_low=True
    )
    protected = reader.integer(entry, "protected_default", low=0) if is_store else None

    services: dict[Service, date] = {}
    offered = entry.data.get("services", {})
    allowed = SERVICES[entry.section]
    if not isinstance(offered, dict):
        reader.issue(entry, "services", 'must be a table like { pickup = "pilot" }')
        offered = {}
    for key, value in offered.items():
        if key not in allowed:
            kind = "store" if is_store else "warehouse"
            reader.issue(
                entry,
                f"services.{key}",
                f"not a service of a {kind} (expected one of: {', '.join(allowed)})",
            )
        elif (
            starts_on := reader.phase(entry, f"services.{key}", value, phases, names)
        ) is not None:
            services[allowed[key]] = starts_on
    orders_per_day = _parse_orders_per_day(reader, entry, offered)
    pickup_hours = _parse_pickup_hours(reader, entry, offered) if is_store else None

    if len(reader.issues) > before:
        return None
    return LocationPlan(
        code=_given(code),
        name=_given(name),
        kind=LOCATION_KINDS[entry.section],
        latitude=_given(latitude),
        longitude=_given(longitude),
        capacity=capacity,
        services=services,
        protected_default=protected,
        orders_per_day=orders_per_day,
        pickup_hours=pickup_hours,
        label=entry.label,
        line=declared[_given(code)].line,
    )


def _parse_orders_per_day(
    reader: _Reader, entry: _Entry, offered: Collection[str]
) -> dict[Service, int]:
    value = entry.data.get("orders_per_day", {})
    if not isinstance(value, dict):
        reader.issue(entry, "orders_per_day", "must be a table like { pickup = 60 }")
        return {}
    kind = "store" if entry.section == "stores" else "warehouse"
    limited = ORDERS_PER_DAY[entry.section]
    limits: dict[Service, int] = {}
    for name, limit in value.items():
        key = f"orders_per_day.{name}"
        if name not in limited:
            expected = ", ".join(limited)
            reader.issue(
                entry, key, f"not a service with a daily limit (expected one of: {expected})"
            )
        elif name not in offered:
            # a limit on a service the location does not offer would be dropped silently
            reader.issue(entry, key, f"the {kind} does not offer {name} (not in its services)")
        elif (number := reader.whole(entry, key, limit, low=0)) is not None:
            limits[SERVICES[entry.section][name]] = number
    return limits


def _parse_pickup_hours(
    reader: _Reader, entry: _Entry, offered: Collection[str]
) -> tuple[time, time] | None:
    value = entry.data.get("pickup_hours")
    if value is None:
        return None
    found = _HOURS.match(value) if isinstance(value, str) else None
    if found is None:
        reader.issue(entry, "pickup_hours", 'must be opening hours like "10:00-22:00"')
        return None
    open_hour, open_minute, close_hour, close_minute = (int(part) for part in found.groups())
    if max(open_hour, close_hour) > 23 or max(open_minute, close_minute) > 59:
        reader.issue(entry, "pickup_hours", "must be times of day, from 00:00 to 23:59")
        return None
    opens, closes = time(open_hour, open_minute), time(close_hour, close_minute)
    if opens >= closes:
        # pickups are ready within one local day: hours past midnight are not supported
        reader.issue(entry, "pickup_hours", "must open before it closes, on the same day")
        return None
    if "pickup" not in offered:
        reader.issue(entry, "pickup_hours", "the store does not offer pickup (not in its services)")
        return None
    return opens, closes


def _parse_channel(
    reader: _Reader,
    entry: _Entry,
    phases: Mapping[str, date],
    names: Sequence[str],
    locations: Mapping[str, _Declared],
    declared: dict[str, _Declared],
) -> ChannelPlan | None:
    before = len(reader.issues)
    reader.keys(entry, CHANNEL_KEYS, required=("code", "name", "kind", "phase", "serves"))
    code = reader.text(entry, "code", max_length=32, code=True)
    kind = entry.data.get("kind")
    if code is not None:
        reader.declare(entry, code, str(kind), declared)
    name = reader.text(entry, "name", max_length=100)
    if kind is not None and kind not in ChannelKind.values:
        reader.issue(entry, "kind", f"must be one of: {', '.join(ChannelKind.values)}")
    starts_on = None
    if "phase" in entry.data:
        starts_on = reader.phase(entry, "phase", entry.data["phase"], phases, names)
    allow_backorder = reader.boolean(entry, "allow_backorder")
    hold_minutes = reader.integer(entry, "hold_minutes", low=1)

    serves: list[str] = []
    value = entry.data.get("serves")
    if value is not None and not isinstance(value, list):
        reader.issue(entry, "serves", 'must be a list of location codes, like ["HZ-DC1"]')
    elif value is not None:
        if not value:
            reader.issue(entry, "serves", "must name at least one location")
        for n, served in enumerate(value, start=1):
            key = f"serves[{n}]"
            if not isinstance(served, str):
                reader.issue(entry, key, "must be a location code (a string)")
            elif served not in locations:
                reader.issue(
                    entry,
                    key,
                    f"{served!r} is not a warehouse or store of this file",
                    needle=served,
                )
            elif served in serves:
                reader.issue(entry, key, f"{served!r} is listed twice", needle=served)
            else:
                serves.append(served)

    is_counter = kind == ChannelKind.STORE_POS
    buffer = reader.integer(entry, "buffer", low=0)
    if is_counter and "buffer" in entry.data:
        reader.issue(entry, "buffer", COUNTER_HAS_NO_BUFFER)
    buffers = _parse_buffers(reader, entry, locations, serves, is_counter=is_counter)
    routing = _parse_routing(reader, entry, is_counter=is_counter)

    if len(reader.issues) > before:
        return None
    return ChannelPlan(
        code=_given(code),
        name=_given(name),
        kind=ChannelKind(str(kind)),
        starts_on=_given(starts_on),
        allow_backorder=allow_backorder,
        hold_minutes=hold_minutes,
        serves=tuple(serves),
        buffer=buffer,
        buffers=buffers,
        routing=routing,
        label=entry.label,
        line=declared[_given(code)].line,
    )


COUNTER_HAS_NO_BUFFER = (
    "a store_pos channel has no buffer: the counter sells what the customer holds"
)


def _parse_buffers(
    reader: _Reader,
    entry: _Entry,
    locations: Mapping[str, _Declared],
    serves: Collection[str],
    *,
    is_counter: bool,
) -> dict[str, int]:
    value = entry.data.get("buffers", {})
    if not isinstance(value, dict):
        reader.issue(entry, "buffers", 'must be a table like { "HZ-S01" = 5 }')
        return {}
    if is_counter and value:
        reader.issue(entry, "buffers", COUNTER_HAS_NO_BUFFER)
        return {}
    buffers: dict[str, int] = {}
    for code, units in value.items():
        key = f"buffers.{code}"
        if code not in locations:
            reader.issue(entry, key, f"{code!r} is not a warehouse or store of this file")
        elif code not in serves:
            # the channel never takes stock there, so the buffer would hold nothing back
            reader.issue(entry, key, f"{code!r} does not serve this channel (not in serves)")
        elif (number := reader.whole(entry, key, units, low=0)) is not None:
            buffers[code] = number
    return buffers


def _parse_routing(reader: _Reader, entry: _Entry, *, is_counter: bool) -> RoutingPlan | None:
    value = entry.data.get("routing")
    if value is None:
        return None
    if not isinstance(value, dict):
        example = '{ rules = ["nearest_first"], when_short = "park" }'
        reader.issue(entry, "routing", f"must be a table like {example}")
        return None
    if is_counter:
        reader.issue(
            entry,
            "routing",
            "a store_pos channel is not routed: counter sales are sold on the spot",
        )
        return None
    before = len(reader.issues)
    for key in value:
        if key not in ROUTING_KEYS:
            expected = ", ".join(ROUTING_KEYS)
            reader.issue(entry, f"routing.{key}", f"unknown key (expected one of: {expected})")
    rules: list[dict[str, Any]] = []
    if "rules" not in value:
        reader.issue(entry, "routing.rules", "required")
    else:
        rules = _parse_rules(reader, entry, value["rules"])
    when_short = value.get("when_short", "park")
    try:
        check_when_short(when_short, field="routing.when_short")
    except RuleError as exc:
        reader.issue(entry, exc.field, exc.message)
    note = value.get("note", "")
    if not isinstance(note, str) or len(note) > 255:
        reader.issue(entry, "routing.note", "must be a string of at most 255 characters")
    if len(reader.issues) > before:
        return None
    return RoutingPlan(rules=rules, when_short=str(when_short), note=note)


def _parse_rules(reader: _Reader, entry: _Entry, raw: Any) -> list[dict[str, Any]]:
    """The rules as ``parse_rules`` checks them for the API, every mistake reported: one rule
    at a time first (``parse_rules`` stops at the first), then the whole list for a rule
    listed twice."""
    if not isinstance(raw, list):
        example = '["stay_in_city", { rule = "max_splits", value = 1 }]'
        reader.issue(entry, "routing.rules", f"must be a list of rules, like {example}")
        return []
    # Where each rule is written: its name, and how many times the list named it so far.
    places: list[tuple[str | None, int]] = []
    seen: dict[str, int] = {}
    for item in raw:
        name = item.get("rule") if isinstance(item, dict) else item
        if isinstance(name, str) and name:
            seen[name] = seen.get(name, 0) + 1
            places.append((name, seen[name]))
        else:
            places.append((None, 1))
    mistakes = len(reader.issues)
    for n, item in enumerate(raw, start=1):
        try:
            parse_rules([item], field="rules")
        except RuleError as exc:
            needle, nth = places[n - 1]
            reader.issue(entry, _rule_field(exc.field, n), exc.message, needle=needle, nth=nth)
    if len(reader.issues) > mistakes:
        return []
    try:
        return rules_as_data(parse_rules(raw, field="rules"))
    except RuleError as exc:
        found = re.match(r"rules\[(\d+)\]", exc.field)
        n = int(found[1]) + 1 if found else 1
        needle, nth = places[n - 1]
        reader.issue(entry, _rule_field(exc.field, n), exc.message, needle=needle, nth=nth)
        return []


def _rule_field(field: str, n: int) -> str:
    """``parse_rules``'s place of a mistake (``rules[0].kinds[0]``, counted from 0) as the file
    counts, from 1: ``routing.rules[n].kinds[1]``."""
    rest = re.sub(r"^rules\[\d+\]", "", field)
    rest = re.sub(r"\[(\d+)\]", lambda m: f"[{int(m[1]) + 1}]", rest)
    return f"routing.rules[{n}]{rest}"


def _database_issues(
    file: str,
    city_code: str | None,
    locations: Collection[_Declared],
    channels: Collection[_Declared],
) -> list[RolloutIssue]:
    """What the file may not do to rows that exist: move a location to another city or make a
    store of a warehouse, or take a username that is not a free channel user."""
    issues = []
    existing = Location.objects.filter(code__in=[loc.code for loc in locations])
    found = {loc.code: loc for loc in existing.select_related("city")}
    for wanted in locations:
        location = found.get(wanted.code)
        if location is None:
            continue
        if location.kind != wanted.kind:
            message = f"{wanted.code} exists as a {location.kind}, not a {wanted.kind}"
            issues.append(RolloutIssue(file, wanted.line, f"{wanted.label}.code", message))
        elif city_code is not None and (location.city is None or location.city.code != city_code):
            other = location.city.code if location.city else "no city"
            message = f"{wanted.code} exists in another city ({other})"
            issues.append(RolloutIssue(file, wanted.line, f"{wanted.label}.code", message))
    known = set(
        Channel.objects.filter(code__in=[c.code for c in channels]).values_list("code", flat=True)
    )
    for channel in channels:
        if channel.code in known:
            continue
        username = CHANNEL_USER_PREFIX + channel.code
        user = User.objects.filter(username=username).first()
        if user is not None and (
            user.role != Role.CHANNEL or Channel.objects.filter(user=user).exists()
        ):
            message = f"user {username!r} exists and is not a free channel user"
            issues.append(RolloutIssue(file, channel.line, f"{channel.label}.code", message))
    return issues


# --------------------------------------------------------------------------- diff and apply


def rollout_diff(plan: RolloutPlan) -> list[Change]:
    """What ``rollout_apply`` would change, without writing anything."""
    _raise_if_any(plan.file, _plan_database_issues(plan))
    return _changes(plan)


@transaction.atomic
def rollout_apply(plan: RolloutPlan) -> list[Change]:
    """Bring the database in line with the plan, all or nothing; returns what changed (nothing
    when it already was)."""
    _raise_if_any(plan.file, _plan_database_issues(plan))
    changes = _changes(plan)
    for change in changes:
        _write(change)
    return changes


def _plan_database_issues(plan: RolloutPlan) -> list[RolloutIssue]:
    # checked again here: the database may have moved on since the file was loaded
    return _database_issues(
        plan.file,
        plan.city.code,
        [_Declared(loc.code, loc.kind, loc.label, loc.line) for loc in plan.locations],
        [_Declared(c.code, c.kind, c.label, c.line) for c in plan.channels],
    )


def _compare(
    model: type[models.Model],
    key: str,
    lookup: dict[str, Any],
    current: Mapping[str, Any] | None,
    wanted: Mapping[str, Any],
) -> list[Change]:
    if current is None:
        return [Change("create", model, key, lookup, {f: (None, v) for f, v in wanted.items()})]
    fields = {f: (current[f], v) for f, v in wanted.items() if current[f] != v}
    return [Change("update", model, key, lookup, fields)] if fields else []


def _deleted(model: type[models.Model], key: str, lookup: dict[str, Any], **old: Any) -> Change:
    return Change("delete", model, key, lookup, {f: (value, None) for f, value in old.items()})


def _changes(plan: RolloutPlan) -> list[Change]:
    """Every row to create, update or delete, in an order that can be written as it stands
    (a city before its locations, a channel before where it is served). Buffers go before the
    channels change: a channel turned into a store counter must lose its buffers first, as the
    counter may have none."""
    buffers = _buffer_changes(plan)
    return [
        *_city_changes(plan),
        *_location_changes(plan),
        *_service_changes(plan),
        *_protection_changes(plan),
        *(change for change in buffers if change.action == "delete"),
        *_channel_changes(plan),
        *_channel_city_changes(plan),
        *_serving_changes(plan),
        *(change for change in buffers if change.action != "delete"),
        *_routing_changes(plan),
    ]


def _city_changes(plan: RolloutPlan) -> list[Change]:
    code = plan.city.code
    city = City.objects.filter(code=code).first()
    return _compare(
        City,
        code,
        {"code": code},
        None if city is None else {f: getattr(city, f) for f in CITY_KEYS},
        {f: getattr(plan.city, f) for f in CITY_KEYS if f != "code"},
    )


def _location_changes(plan: RolloutPlan) -> list[Change]:
    existing = Location.objects.filter(code__in=[loc.code for loc in plan.locations])
    found = {loc.code: loc for loc in existing.select_related("city")}
    changes = []
    for loc in plan.locations:
        current = found.get(loc.code)
        changes += _compare(
            Location,
            loc.code,
            {"code": loc.code},
            None if current is None else _location_values(current),
            {
                "name": loc.name,
                "kind": loc.kind,
                "city": plan.city.code,
                "latitude": loc.latitude,
                "longitude": loc.longitude,
                "capacity": loc.capacity,
                "active": True,
            },
        )
    return changes


def _location_values(location: Location) -> dict[str, Any]:
    return {
        "name": location.name,
        "kind": location.kind,
        "city": location.city.code if location.city else None,
        "latitude": location.latitude,
        "longitude": location.longitude,
        "capacity": location.capacity,
        "active": location.active,
    }


def _service_changes(plan: RolloutPlan) -> list[Change]:
    """The file's services of its locations, with their daily limit and pickup hours; a
    service it no longer names is deleted. A limit or hours the file does not give are
    cleared: the file is the truth for its city, whoever set them since."""
    rows = LocationService.objects.filter(location__code__in=[loc.code for loc in plan.locations])
    offered = {
        (row["location__code"], row["service"]): row
        for row in rows.values("location__code", "service", "starts_on", *CAPACITY_FIELDS)
    }
    changes = []
    for loc in plan.locations:
        for service, starts_on in sorted(loc.services.items()):
            current = offered.pop((loc.code, service), None)
            hours = loc.pickup_hours if service == Service.PICKUP else None
            wanted = {
                "starts_on": starts_on,
                "daily_capacity": loc.orders_per_day.get(service),
                "opens_at": hours[0] if hours else None,
                "closes_at": hours[1] if hours else None,
            }
            if current is None:  # a new row has no limit and no hours: name only those set
                wanted = {f: v for f, v in wanted.items() if f == "starts_on" or v is not None}
            changes += _compare(
                LocationService,
                f"{loc.code} {service}",
                {"location": loc.code, "service": service},
                current,
                wanted,
            )
    for (code, dropped), row in offered.items():
        lookup = {"location": code, "service": dropped}
        changes.append(
            _deleted(LocationService, f"{code} {dropped}", lookup, starts_on=row["starts_on"])
        )
    return changes


def _protection_changes(plan: RolloutPlan) -> list[Change]:
    """The stores' default shelf protection, where the file gives one."""
    rows = ShelfProtection.objects.filter(
        location__code__in=[loc.code for loc in plan.locations], product__isnull=True
    )
    protected = dict(rows.values_list("location__code", "quantity"))
    changes = []
    for loc in plan.locations:
        if loc.protected_default is None:
            continue
        current = protected.get(loc.code)
        changes += _compare(
            ShelfProtection,
            f"{loc.code} default",
            {"location": loc.code, "product": None},
            None if current is None else {"quantity": current},
            {"quantity": loc.protected_default},
        )
    return changes


def _channel_changes(plan: RolloutPlan) -> list[Change]:
    existing = Channel.objects.filter(code__in=[c.code for c in plan.channels])
    found = {channel.code: channel for channel in existing}
    changes = []
    for channel in plan.channels:
        current = found.get(channel.code)
        wanted: dict[str, Any] = {"name": channel.name, "kind": channel.kind}
        if channel.allow_backorder is not None:
            wanted["allow_backorder"] = channel.allow_backorder
        if channel.hold_minutes is not None:
            wanted["hold_minutes"] = channel.hold_minutes
        if current is None:
            wanted["user"] = CHANNEL_USER_PREFIX + channel.code
        changes += _compare(
            Channel,
            channel.code,
            {"code": channel.code},
            None if current is None else {f: getattr(current, f) for f in wanted},
            wanted,
        )
    return changes


def _city_location_codes(plan: RolloutPlan) -> set[str]:
    """The city's warehouses and stores: the file's, and any the city has that it does not
    name."""
    codes = {loc.code for loc in plan.locations}
    codes.update(Location.objects.filter(city__code=plan.city.code).values_list("code", flat=True))
    return codes


def _buffer_changes(plan: RolloutPlan) -> list[Change]:
    """Each channel's buffers at the city's locations: exactly the file's ``buffers``. A
    channel's default buffer (no location) is not the city's: it is set when the file gives
    ``buffer`` and otherwise left alone, since another city's file may be the one that set it."""
    rows = ChannelBuffer.objects.filter(location__code__in=_city_location_codes(plan))
    buffered = {
        (channel, location): units
        for channel, location, units in rows.values_list("channel__code", "location__code", "units")
    }
    defaults = dict(
        ChannelBuffer.objects.filter(
            location__isnull=True, channel__code__in=[c.code for c in plan.channels]
        ).values_list("channel__code", "units")
    )
    changes = []
    for channel in plan.channels:
        if channel.buffer is not None:
            current = defaults.get(channel.code)
            changes += _compare(
                ChannelBuffer,
                f"{channel.code} default",
                {"channel": channel.code, "location": None},
                None if current is None else {"units": current},
                {"units": channel.buffer},
            )
        for code, units in channel.buffers.items():
            current = buffered.pop((channel.code, code), None)
            changes += _compare(
                ChannelBuffer,
                f"{channel.code} at {code}",
                {"channel": channel.code, "location": code},
                None if current is None else {"units": current},
                {"units": units},
            )
    for (channel_code, code), units in buffered.items():
        lookup = {"channel": channel_code, "location": code}
        changes.append(_deleted(ChannelBuffer, f"{channel_code} at {code}", lookup, units=units))
    return changes


def _routing_changes(plan: RolloutPlan) -> list[Change]:
    """Each channel's active routing profile for the city. Versions never change once saved:
    new rules or ``when_short`` make a new version, activated (which retires the one it
    replaces); the same ones change nothing, whatever the note says. A channel without
    ``routing`` in the file, or no longer in it, has its profile for the city retired, and
    routes by its default profile or the default rules."""
    city = plan.city.code
    active = {
        profile.channel.code: profile
        for profile in RoutingProfile.objects.filter(
            city__code=city, status=RoutingProfileStatus.ACTIVE
        ).select_related("channel")
    }
    last_version = dict(
        RoutingProfile.objects.filter(channel__code__in=[c.code for c in plan.channels])
        .values("channel__code")
        .annotate(last=models.Max("version"))
        .values_list("channel__code", "last")
    )
    changes = []
    for channel in plan.channels:
        current = active.pop(channel.code, None)
        routing = channel.routing
        if routing is None:
            if current is not None:
                changes.append(_retired(current, city))
            continue
        if current is not None and (current.rules, current.when_short) == (
            routing.rules,
            routing.when_short,
        ):
            continue
        version = last_version.get(channel.code, 0) + 1  # as routing_profile_create numbers it
        wanted = {
            "status": RoutingProfileStatus.ACTIVE.value,
            "rules": routing.rules,
            "when_short": routing.when_short,
        }
        if routing.note:
            wanted["note"] = routing.note
        lookup = {"channel": channel.code, "city": city}
        key = f"{channel.code} in {city} v{version}"
        changes.append(Change("create", RoutingProfile, key, lookup, _created(wanted)))
        if current is not None:
            changes.append(_retired(current, city))
    for profile in active.values():
        changes.append(_retired(profile, city))
    return changes


def _created(wanted: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {f: (None, v) for f, v in wanted.items()}


def _retired(profile: RoutingProfile, city: str) -> Change:
    return Change(
        "update",
        RoutingProfile,
        f"{profile.channel.code} in {city} v{profile.version}",
        {"channel": profile.channel.code, "city": city, "version": profile.version},
        {"status": (RoutingProfileStatus.ACTIVE.value, RoutingProfileStatus.RETIRED.value)},
    )


def _channel_city_changes(plan: RolloutPlan) -> list[Change]:
    """When each channel goes live in the city; a channel the file no longer names stops."""
    city = plan.city.code
    rows = ChannelCity.objects.filter(city__code=city)
    live = dict(rows.values_list("channel__code", "starts_on"))
    changes = []
    for channel in plan.channels:
        current = live.pop(channel.code, None)
        changes += _compare(
            ChannelCity,
            f"{channel.code} in {city}",
            {"channel": channel.code, "city": city},
            None if current is None else {"starts_on": current},
            {"starts_on": channel.starts_on},
        )
    for code, starts_on in live.items():
        lookup = {"channel": code, "city": city}
        changes.append(_deleted(ChannelCity, f"{code} in {city}", lookup, starts_on=starts_on))
    return changes


def _serving_changes(plan: RolloutPlan) -> list[Change]:
    """Which of the city's locations serve each channel, in order: exactly the file's
    ``serves``. Rows at other cities' locations are not touched."""
    rows = ChannelLocation.objects.filter(location__code__in=_city_location_codes(plan))
    serving = {
        (channel, location): priority
        for channel, location, priority in rows.values_list(
            "channel__code", "location__code", "priority"
        )
    }
    changes = []
    for channel in plan.channels:
        for priority, code in enumerate(channel.serves, start=1):
            current = serving.pop((channel.code, code), None)
            changes += _compare(
                ChannelLocation,
                f"{channel.code} ← {code}",
                {"channel": channel.code, "location": code},
                None if current is None else {"priority": current},
                {"priority": priority},
            )
    for (channel_code, code), priority in serving.items():
        lookup = {"channel": channel_code, "location": code}
        changes.append(
            _deleted(ChannelLocation, f"{channel_code} ← {code}", lookup, priority=priority)
        )
    return changes


# Fields that hold a row's code in a Change and an instance when written.
_BY_CODE: dict[str, type[City] | type[Location] | type[Channel]] = {
    "city": City,
    "location": Location,
    "channel": Channel,
}


def _resolve(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: _BY_CODE[name]._default_manager.get(code=value)
        if name in _BY_CODE and value is not None
        else value
        for name, value in values.items()
    }


def _write(change: Change) -> None:
    if change.model is ChannelBuffer:
        _write_buffer(change)
        return
    if change.model is RoutingProfile:
        _write_routing(change)
        return
    manager = change.model._default_manager
    lookup = _resolve(change.lookup)
    if change.action == "delete":
        manager.filter(**lookup).delete()
        return
    values = _resolve({name: new for name, (_, new) in change.fields.items()})
    capacity = {f: values.pop(f) for f in CAPACITY_FIELDS if f in values}
    if change.action == "update":
        if values:
            manager.filter(**lookup).update(**values)
    else:
        if change.model is Channel:
            values["user"] = _channel_user(values["user"])
        manager.create(**lookup, **values)
    if capacity:
        _write_capacity(lookup, capacity)


def _write_capacity(lookup: Mapping[str, Any], changed: Mapping[str, Any]) -> None:
    """Through the service, for its audit row. The service sets the limit and both hours at
    once, so the fields this change leaves alone are passed as they are, read under the row
    lock the service then takes again in the same transaction."""
    row = LocationService.objects.select_for_update().get(**lookup)
    values = {f: getattr(row, f) for f in CAPACITY_FIELDS} | dict(changed)
    location_capacity_set(
        location=lookup["location"],
        service=lookup["service"],
        daily_capacity=values["daily_capacity"],
        opens_at=values["opens_at"],
        closes_at=values["closes_at"],
        actor=None,
        source=ROLLOUT_SOURCE,
    )


def _write_buffer(change: Change) -> None:
    lookup = _resolve(change.lookup)
    ((_, units),) = change.fields.values()
    channel_buffer_set(
        channel=lookup["channel"],
        location=lookup["location"],
        units=units,  # None on delete: the service removes the row
        actor=None,
        source=ROLLOUT_SOURCE,
    )


def _write_routing(change: Change) -> None:
    lookup = _resolve(change.lookup)
    if change.action == "create":
        draft = routing_profile_create(
            channel=lookup["channel"],
            city=lookup["city"],
            rules=change.fields["rules"][1],
            when_short=change.fields["when_short"][1],
            note=change.fields.get("note", (None, ""))[1],
            actor=None,
            source=ROLLOUT_SOURCE,
        )
        routing_profile_activate(profile=draft, actor=None, source=ROLLOUT_SOURCE)
        return
    # Retiring: the version a new one replaces was retired when that one was activated (just
    # before, in the same apply); the service then has nothing left to do.
    profile = RoutingProfile.objects.get(channel=lookup["channel"], version=lookup["version"])
    routing_profile_deactivate(profile=profile, actor=None, source=ROLLOUT_SOURCE)


def _channel_user(username: str) -> User:
    """The integration user of a new channel: it signs in with API tokens only."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=Role.CHANNEL)
        user.set_unusable_password()
        user.save()
    return user
