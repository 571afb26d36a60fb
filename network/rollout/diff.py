"""What a plan would change in the database: one computation for the diff and the apply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from inventory.models import Location
from network.models import (
    Channel,
    ChannelBuffer,
    ChannelCity,
    ChannelLocation,
    LocationService,
    RoutingProfile,
    RoutingProfileStatus,
    Service,
    ShelfProtection,
)
from omni.models import City

from .parse import _database_issues, _Declared, _raise_if_any
from .plan import CAPACITY_FIELDS, CHANNEL_USER_PREFIX, CITY_KEYS, Change, RolloutIssue, RolloutPlan


def rollout_diff(plan: RolloutPlan) -> list[Change]:
    """What ``rollout_apply`` would change, without writing anything."""
    _raise_if_any(plan.file, _plan_database_issues(plan))
    return _changes(plan)


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
