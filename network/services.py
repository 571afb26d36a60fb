"""Writes of how a city is served: channel buffers, location capacity and hours, routing
profiles. Every change is written with its audit row in one transaction."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import Location, Product
from network.locks import (
    lock_channel,
    lock_channel_buffer,
    lock_location_service,
    lock_routing_profile,
)
from network.models import (
    Channel,
    ChannelBuffer,
    ChannelCity,
    ChannelKind,
    ChannelLocation,
    ConfigChange,
    LocationService,
    RoutingProfile,
    RoutingProfileStatus,
    Service,
    ShelfProtection,
)
from network.routing_rules import RuleError, check_when_short, parse_rules, rules_as_data
from omni.errors import InvalidInput
from omni.models import City, User
from omni.services import save_by_key

# --------------------------------------------------------------------------- how a city is served
# Written by the rollout file's apply (``network.rollout``); each is create-or-update by its key,
# or a removal, so an apply can say exactly what it changes.


@transaction.atomic
def channel_save(*, code: str, **fields: Any) -> Channel:
    """Create the channel ``code`` or update the ``fields`` given (name, kind, user,
    allow_backorder, hold_minutes)."""
    return save_by_key(Channel, {"code": code}, fields)


@transaction.atomic
def channel_city_save(*, channel: Channel, city: City, **fields: Any) -> ChannelCity:
    """The channel sells in ``city`` (from ``starts_on``)."""
    return save_by_key(ChannelCity, {"channel": channel, "city": city}, fields)


@transaction.atomic
def channel_city_remove(*, channel: Channel, city: City) -> None:
    ChannelCity.objects.filter(channel=channel, city=city).delete()


@transaction.atomic
def channel_location_save(
    *, channel: Channel, location: Location, **fields: Any
) -> ChannelLocation:
    """``location`` serves the channel (with its ``priority``)."""
    return save_by_key(ChannelLocation, {"channel": channel, "location": location}, fields)


@transaction.atomic
def channel_location_remove(*, channel: Channel, location: Location) -> None:
    ChannelLocation.objects.filter(channel=channel, location=location).delete()


@transaction.atomic
def location_service_save(*, location: Location, service: str, **fields: Any) -> LocationService:
    """``location`` offers ``service`` (from ``starts_on``)."""
    return save_by_key(LocationService, {"location": location, "service": service}, fields)


@transaction.atomic
def location_service_remove(*, location: Location, service: str) -> None:
    LocationService.objects.filter(location=location, service=service).delete()


@transaction.atomic
def shelf_protection_save(
    *, location: Location, product: Product | None, quantity: int
) -> ShelfProtection:
    """The units of ``product`` (None: of every SKU, the store's default) that ``location``
    keeps back for its own counter."""
    return save_by_key(
        ShelfProtection, {"location": location, "product": product}, {"quantity": quantity}
    )


@transaction.atomic
def shelf_protection_remove(*, location: Location, product: Product | None) -> None:
    ShelfProtection.objects.filter(location=location, product=product).delete()


# --------------------------------------------------------------------------- routing configuration
# Every change is written with its audit row in one transaction; reads see it on the next order,
# with nothing cached and nothing to restart.


def _audit(
    *, kind: str, target: str, old: Any, new: Any, actor: User | None, source: str
) -> ConfigChange | None:
    if old == new:
        return None
    return ConfigChange.objects.create(
        kind=kind, target=target[:128], old=old, new=new, actor=actor, source=source
    )


@transaction.atomic
def channel_buffer_set(
    *,
    channel: Channel,
    location: Location | None,
    units: int | None,
    actor: User | None = None,
    source: str = "api",
) -> ChannelBuffer | None:
    """Set (or with ``units`` None remove) the units of every SKU ``channel`` may not take at
    ``location`` (None: its default everywhere). Audited; setting the same value again writes
    nothing."""
    if units is not None and (isinstance(units, bool) or units < 0):
        raise InvalidInput.saying(_("units must be 0 or more"), detail={"field": "units"})
    if channel.kind == ChannelKind.STORE_POS and units is not None:
        raise InvalidInput.saying(
            _("the store counter sells what the customer holds; it has no buffer"),
            detail={"channel": channel.code},
        )
    row = lock_channel_buffer(channel, location)
    old = row.units if row else None
    target = f"{channel.code}@{location.code if location else '*'}"
    if units is None:
        if row is not None:
            row.delete()
        _audit(kind="channel_buffer", target=target, old=old, new=None, actor=actor, source=source)
        return None
    if row is None:
        row = ChannelBuffer.objects.create(channel=channel, location=location, units=units)
    elif row.units != units:
        row.units = units
        row.save(update_fields=["units"])
    _audit(kind="channel_buffer", target=target, old=old, new=units, actor=actor, source=source)
    return row


def _capacity_value(row: LocationService) -> dict[str, Any]:
    return {
        "daily_capacity": row.daily_capacity,
        "opens_at": row.opens_at.strftime("%H:%M") if row.opens_at else None,
        "closes_at": row.closes_at.strftime("%H:%M") if row.closes_at else None,
    }


@transaction.atomic
def location_capacity_set(
    *,
    location: Location,
    service: Service | str,
    daily_capacity: int | None,
    opens_at: time | None = None,
    closes_at: time | None = None,
    actor: User | None = None,
    source: str = "api",
) -> LocationService:
    """Set how many orders a day a location takes for a service (None: no limit) and, for
    pickups, its opening hours. Audited."""
    service = Service(service)
    row = lock_location_service(location, service)
    if row is None:
        raise InvalidInput.saying(
            _("%(location)s does not offer %(service)s"),
            detail={"location": location.code, "service": str(service)},
            location=location.code,
            service=str(service),
        )
    if daily_capacity is not None and daily_capacity < 0:
        raise InvalidInput.saying(
            _("daily_capacity must be 0 or more"), detail={"field": "daily_capacity"}
        )
    if (opens_at is None) != (closes_at is None):
        raise InvalidInput.saying(
            _("give both opens_at and closes_at, or neither"),
            detail={"field": "opens_at" if opens_at is None else "closes_at"},
        )
    if opens_at is not None and closes_at is not None and opens_at >= closes_at:
        raise InvalidInput.saying(
            _("opens_at must be before closes_at"), detail={"field": "opens_at"}
        )
    old = _capacity_value(row)
    row.daily_capacity = daily_capacity
    row.opens_at, row.closes_at = opens_at, closes_at
    row.save(update_fields=["daily_capacity", "opens_at", "closes_at"])
    _audit(
        kind="capacity",
        target=f"{location.code}/{service}",
        old=old,
        new=_capacity_value(row),
        actor=actor,
        source=source,
    )
    return row


def _profile_error(exc: RuleError) -> InvalidInput:
    return InvalidInput(exc.message, detail={"field": exc.field})


@transaction.atomic
def routing_profile_create(
    *,
    channel: Channel,
    city: City | None,
    rules: Any,
    when_short: str = "park",
    note: str = "",
    actor: User | None = None,
    source: str = "api",
) -> RoutingProfile:
    """A new draft version of the channel's routing rules. A draft never routes."""
    try:
        parsed = parse_rules(rules)
        check_when_short(when_short)
    except RuleError as exc:
        raise _profile_error(exc) from exc
    if channel.kind == ChannelKind.STORE_POS:
        raise InvalidInput.saying(
            _("counter sales are sold where they stand; they are not routed"),
            detail={"channel": channel.code},
        )
    # The channel row serialises version numbers.
    lock_channel(channel.pk)
    last = RoutingProfile.objects.filter(channel=channel).order_by("-version").first()
    profile = RoutingProfile.objects.create(
        channel=channel,
        city=city,
        version=(last.version + 1) if last else 1,
        rules=rules_as_data(parsed),
        when_short=when_short,
        note=note[:255],
        created_by=actor,
    )
    _audit(
        kind="routing_profile",
        target=f"{channel.code}@{city.code if city else '*'} v{profile.version}",
        old=None,
        new={"status": "draft", "rules": profile.rules, "when_short": when_short},
        actor=actor,
        source=source,
    )
    return profile


@transaction.atomic
def routing_profile_activate(
    *, profile: RoutingProfile, actor: User | None = None, source: str = "api"
) -> RoutingProfile:
    """Make ``profile`` the one that routes its channel's orders in its city (or by default);
    the version it replaces is retired. Activating the active version changes nothing."""
    lock_channel(profile.channel_id)
    profile = lock_routing_profile(profile.pk)
    if profile.status == RoutingProfileStatus.ACTIVE:
        return profile
    actives = RoutingProfile.objects.filter(
        channel_id=profile.channel_id,
        city__isnull=profile.city_id is None,
        status=RoutingProfileStatus.ACTIVE,
    )
    if profile.city_id is not None:
        actives = actives.filter(city_id=profile.city_id)
    current = actives.first()
    if current is not None:
        current.status = RoutingProfileStatus.RETIRED
        current.save(update_fields=["status"])
    profile.status = RoutingProfileStatus.ACTIVE
    profile.activated_by = actor
    profile.activated_at = timezone.now()
    profile.save(update_fields=["status", "activated_by", "activated_at"])
    channel_code = profile.channel.code
    _audit(
        kind="routing_profile",
        target=f"{channel_code}@{profile.city.code if profile.city else '*'}",
        old=current.version if current else None,
        new=profile.version,
        actor=actor,
        source=source,
    )
    return profile


@transaction.atomic
def routing_profile_deactivate(
    *, profile: RoutingProfile, actor: User | None = None, source: str = "api"
) -> RoutingProfile:
    """Retire the active version: the channel routes by the default rules again."""
    profile = lock_routing_profile(profile.pk)
    if profile.status != RoutingProfileStatus.ACTIVE:
        return profile
    profile.status = RoutingProfileStatus.RETIRED
    profile.save(update_fields=["status"])
    _audit(
        kind="routing_profile",
        target=f"{profile.channel.code}@{profile.city.code if profile.city else '*'}",
        old=profile.version,
        new=None,
        actor=actor,
        source=source,
    )
    return profile
