"""Reading a rollout file: every mistake reported at once, each with its line and key, and
the checks against the database (codes taken by other cities, users taken by others)."""

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
from typing import Any

from inventory.models import Location
from network.errors import RolloutFileInvalid
from network.models import (
    Channel,
    ChannelKind,
    Service,
)
from network.routing_rules import RuleError, check_when_short, parse_rules, rules_as_data
from omni.models import Role, User

from .plan import (
    _HOURS,
    _KEY_LINE,
    _KEY_PART,
    _SLUG,
    _TABLE_LINE,
    CAPACITY_LIMIT,
    CHANNEL_KEYS,
    CHANNEL_USER_PREFIX,
    CITY_KEYS,
    INT_LIMIT,
    LOCATION_KEYS,
    LOCATION_KINDS,
    ORDERS_PER_DAY,
    ROUTING_KEYS,
    SECTIONS,
    SERVICES,
    STORE_KEYS,
    ChannelPlan,
    CityPlan,
    LocationPlan,
    RolloutIssue,
    RolloutPlan,
    RoutingPlan,
    T,
)

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
