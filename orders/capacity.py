"""How many orders a day a location takes for a service: what is left for routing, the slots
orders take and give back, and when a pickup can be ready given the store's opening hours.

A location service with ``daily_capacity`` set takes that many orders on a local day: one slot per
order per location, whatever its size (ship-from-store orders picked in the store, pickups
prepared there). A slot is taken by one conditional UPDATE against the limit, after the order's
stock levels are locked (the one lock order, docs/locking.md), and given back when the order is
cancelled or expires; the day counters are always taken in (location, service, day) order.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from network.models import LocationService, Service
from omni.models import City

from .models import CapacitySlot, CapacityUse, Order


@dataclass(frozen=True)
class Capacity:
    limit: int
    used: int

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


def capacity_of(*, location_ids: Iterable[int], service: Service, day: date) -> dict[int, Capacity]:
    """The day's limit and use per location, for the locations whose service has a limit."""
    limits = dict(
        LocationService.objects.filter(
            location_id__in=list(location_ids), service=service, daily_capacity__isnull=False
        ).values_list("location_id", "daily_capacity")
    )
    if not limits:
        return {}
    used = dict(
        CapacityUse.objects.filter(
            location_id__in=list(limits), service=service, day=day
        ).values_list("location_id", "used")
    )
    return {
        loc: Capacity(limit=limit, used=used.get(loc, 0))
        for loc, limit in limits.items()
        if limit is not None
    }


def capacity_take(
    *, order: Order, location_id: int, service: Service, day: date, limit: int | None
) -> bool:
    """Give ``order`` a slot at the location for the day; False if the day is full. An order
    holding a slot there already keeps it (a retry routes more units to the same node). A
    location without a limit keeps no count: nothing to take, and no hot row for every order."""
    if limit is None:
        return True
    if CapacitySlot.objects.filter(
        order=order, location_id=location_id, service=service, released_at__isnull=True
    ).exists():
        return True
    day_row = CapacityUse.objects.filter(location_id=location_id, service=service, day=day)
    if not day_row.exists():
        try:
            with transaction.atomic():
                CapacityUse.objects.create(location_id=location_id, service=service, day=day)
        except IntegrityError:
            pass  # created a moment ago by another order
    if not day_row.filter(used__lt=limit).update(used=F("used") + 1):
        return False
    CapacitySlot.objects.create(order=order, location_id=location_id, service=service, day=day)
    return True


def capacity_release(*, order: Order) -> int:
    """Give back every slot the order holds (it was cancelled or expired). Safe to repeat.
    The day counters move in (location, service, day) order, as ``capacity_take`` takes them,
    so two orders giving back the same days never wait on each other in a cycle."""
    released = 0
    slots = CapacitySlot.objects.filter(order=order, released_at__isnull=True).order_by(
        "location_id", "service", "day", "id"
    )
    for slot in slots:
        if not CapacitySlot.objects.filter(pk=slot.pk, released_at__isnull=True).update(
            released_at=timezone.now()
        ):
            continue
        CapacityUse.objects.filter(
            location_id=slot.location_id, service=slot.service, day=slot.day, used__gt=0
        ).update(used=F("used") - 1)
        released += 1
    return released


def local_now(city: City) -> datetime:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(city.timezone))


def pickup_ready_at(
    *, service: LocationService | None, city: City, day_offset: int = 0
) -> datetime:
    """When a pickup placed now can be ready: after the preparation time, within the store's
    opening hours (the next opening if it would fall after closing), ``day_offset`` days later
    when the nearer days are full."""
    prep = timedelta(minutes=settings.OMNI_PICKUP_PREP_MINUTES)
    now = local_now(city)
    ready = now + prep
    opens: time | None = service.opens_at if service else None
    closes: time | None = service.closes_at if service else None
    if opens is not None and closes is not None:
        opening_today = ready.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
        if ready.time() < opens:
            ready = opening_today + prep
        elif ready.time() > closes:
            ready = opening_today + timedelta(days=1) + prep
    if day_offset:
        ready = ready + timedelta(days=day_offset)
        if opens is not None:
            ready = ready.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
            ready += prep
    return ready
