"""Reads of the rollout and the routing settings: which locations of a city are live for a
service (and a channel) on a day, how many units of a SKU a store keeps back for its own
counter, how many a channel may not take, and which routing profile routes a channel's orders.
Sourcing and availability offer only what these return."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, QuerySet

from inventory.models import Location, LocationKind
from network.errors import UnknownChannel
from network.models import (
    Channel,
    ChannelBuffer,
    ChannelCity,
    ChannelKind,
    RoutingProfile,
    RoutingProfileStatus,
    Service,
    ShelfProtection,
)
from omni.access import visible_one
from omni.models import City
from omni.selectors import city_today


def live_locations(
    *, city: City, service: Service, channel: Channel | None = None, on: date | None = None
) -> QuerySet[Location]:
    """The city's active locations offering ``service`` on ``on`` (default: today in the
    city). With a channel: only those serving it, and none before the channel is live in the
    city; annotated with ``channel_priority`` and ordered by it."""
    if on is None:
        on = city_today(city)
    locations = Location.objects.filter(
        city=city,
        active=True,
        services__service=service,
        services__starts_on__lte=on,
    )
    if channel is None:
        return locations.order_by("code")
    channel_live = ChannelCity.objects.filter(
        channel=channel, channel__active=True, city=city, starts_on__lte=on
    )
    return (
        locations.filter(Exists(channel_live), channels__channel=channel)
        .annotate(channel_priority=F("channels__priority"))
        .order_by("channel_priority", "code")
    )


def shelf_protected(
    *, location_ids: Iterable[int], product_ids: Iterable[int]
) -> dict[tuple[int, int], int]:
    """Units kept for the counter per (location, product): the SKU's own row, else the store's
    default row, else ``settings.OMNI_SHELF_PROTECTED_DEFAULT``. Only stores keep any back."""
    location_ids, product_ids = list(location_ids), list(product_ids)
    stores = set(
        Location.objects.filter(pk__in=location_ids, kind=LocationKind.STORE).values_list(
            "pk", flat=True
        )
    )
    per_sku: dict[tuple[int, int], int] = {}
    per_store: dict[int, int] = {}
    rows = ShelfProtection.objects.filter(location_id__in=stores).filter(
        product_id__in=product_ids
    ) | ShelfProtection.objects.filter(location_id__in=stores, product__isnull=True)
    for location_id, product_id, quantity in rows.values_list(
        "location_id", "product_id", "quantity"
    ):
        if product_id is None:
            per_store[location_id] = quantity
        else:
            per_sku[(location_id, product_id)] = quantity
    fallback = int(getattr(settings, "OMNI_SHELF_PROTECTED_DEFAULT", 0))
    return {
        (location_id, product_id): per_sku.get(
            (location_id, product_id), per_store.get(location_id, fallback)
        )
        if location_id in stores
        else 0
        for location_id in location_ids
        for product_id in product_ids
    }


def channel_buffers(*, channel: Channel, location_ids: Iterable[int]) -> dict[int, int]:
    """Units of every SKU ``channel`` may not take per location: the location's own row, else
    the channel's default row, else none. The store counter has no buffer."""
    location_ids = list(location_ids)
    if channel.kind == ChannelKind.STORE_POS:
        return dict.fromkeys(location_ids, 0)
    own: dict[int, int] = {}
    default = 0
    rows = ChannelBuffer.objects.filter(channel=channel).values_list("location_id", "units")
    for location_id, units in rows:
        if location_id is None:
            default = units
        else:
            own[location_id] = units
    return {loc: own.get(loc, default) for loc in location_ids}


def held_back(
    *,
    channel: Channel,
    location_ids: Iterable[int],
    product_ids: Iterable[int],
    service: Service,
) -> dict[tuple[int, int], int]:
    """Units per (location, product) an order of ``channel`` may not take: the larger of the
    channel's buffer and, for deliveries, the store's shelf protection. Both keep the same last
    units on the same shelf for someone else, so they do not add up."""
    location_ids, product_ids = list(location_ids), list(product_ids)
    buffers = channel_buffers(channel=channel, location_ids=location_ids)
    shelf = (
        shelf_protected(location_ids=location_ids, product_ids=product_ids)
        if service == Service.SHIP
        else {}
    )
    return {
        (loc, p): max(buffers.get(loc, 0), shelf.get((loc, p), 0))
        for loc in location_ids
        for p in product_ids
    }


def active_routing_profile(*, channel: Channel, city: City) -> RoutingProfile | None:
    """The profile routing ``channel``'s orders in ``city``: the city's own active version,
    else the channel's active default; None routes by the default rules."""
    profiles = RoutingProfile.objects.filter(
        channel=channel, status=RoutingProfileStatus.ACTIVE
    ).filter(models.Q(city=city) | models.Q(city__isnull=True))
    found = sorted(profiles, key=lambda p: p.city_id is None)
    return found[0] if found else None


def channel_by_code(code: str) -> Channel:
    return visible_one(Channel.objects.all(), UnknownChannel, code=code)
