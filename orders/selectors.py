"""Reads of orders and availability, scoped to the caller.

A channel sees its own orders; store and warehouse staff see the orders that touch their
locations (a pickup or counter sale there, or stock held there); planners and admins see all.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from inventory.geo import haversine_km
from inventory.models import Location, StockLevel
from network.models import Channel, LocationService, Service
from network.selectors import channel_buffers, held_back, live_locations
from omni.access import reads_everything, visible_all, visible_one
from omni.models import City, Role, User
from omni.selectors import city_today

from .errors import UnknownOrder
from .models import (
    Allocation,
    CapacityUse,
    HoldTicket,
    HoldTicketStatus,
    Order,
    OrderLine,
    OrderStatus,
)

# Forward keys are joined inside the prefetches, never prefetched themselves: Django 5.2
# prefetches a forward key with a tuple lookup that SQLite spells as one OR per row, and SQLite
# refuses an expression of 1,000 terms (a page of 500 orders holds more reservations).
ORDER_PREFETCH = (
    Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
    Prefetch(
        "lines__allocations",
        queryset=Allocation.objects.select_related("location", "reservation"),
    ),
)


def caller_channel(user: User) -> Channel | None:
    """The channel a ``channel``-role caller speaks for."""
    if user.role != Role.CHANNEL:
        return None
    return Channel.objects.filter(user=user).first()


def order_list(
    *,
    user: User,
    status: str | None = None,
    mode: str | None = None,
    channel: str | None = None,
    payment_status: str | None = None,
    external_id: str | None = None,
    location: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Order]:
    orders = scope_orders(
        user, Order.objects.select_related("channel", "city", "pickup_store", "routing_profile")
    )
    if status:
        orders = orders.filter(status=status)
    if mode:
        orders = orders.filter(mode=mode)
    if channel:
        orders = orders.filter(channel__code=channel)
    if payment_status:
        orders = orders.filter(payment_status=payment_status)
    if external_id:
        orders = orders.filter(external_id=external_id)
    if location:
        orders = orders.filter(
            Q(pickup_store__code=location) | Q(lines__allocations__location__code=location)
        ).distinct()
    if since:
        orders = orders.filter(created_at__gte=since)
    if until:
        orders = orders.filter(created_at__lt=until)
    return orders.prefetch_related(*ORDER_PREFETCH)


def scope_orders(user: User, orders: QuerySet[Order]) -> QuerySet[Order]:
    if reads_everything(user):
        return orders
    if user.role == Role.CHANNEL:
        return orders.filter(channel__user=user)
    ids = user.location_ids()
    return orders.filter(
        Q(pickup_store_id__in=ids) | Q(lines__allocations__location_id__in=ids)
    ).distinct()


def order_visible(user: User, order_id: int) -> Order:
    """An order the user may see (``scope_orders``); another's is as unknown as a missing one."""
    orders = scope_orders(user, Order.objects.select_related("channel", "city", "pickup_store"))
    return visible_one(orders.prefetch_related(*ORDER_PREFETCH), UnknownOrder, pk=order_id)


def orders_visible(user: User, order_ids: Collection[int]) -> list[Order]:
    """Every named order, all visible to the user, or ``UnknownOrder`` (which one is not said)."""
    return visible_all(scope_orders(user, Order.objects.all()), order_ids, UnknownOrder)


# --------------------------------------------------------------------------- availability


def available_to_promise(
    *, channel: Channel, city: City, product_ids: Sequence[int], service: Service = Service.SHIP
) -> dict[int, dict[str, Any]]:
    """Units a channel may promise per product in a city: available less what routing keeps
    back from this channel (its buffer, and for deliveries the stores' shelf protection, the
    larger of the two), summed over the locations live for the service that serve the
    channel."""
    locations = list(live_locations(city=city, service=service, channel=channel))
    ids = [loc.pk for loc in locations]
    codes = {loc.pk: loc.code for loc in locations}
    kept = held_back(channel=channel, location_ids=ids, product_ids=product_ids, service=service)
    result: dict[int, dict[str, Any]] = {p: {"available": 0, "locations": {}} for p in product_ids}
    levels = StockLevel.objects.filter(location_id__in=ids, product_id__in=product_ids)
    for level in levels.only("location_id", "product_id", "on_hand", "reserved"):
        units = max(0, level.available - kept.get((level.location_id, level.product_id), 0))
        if units:
            entry = result[level.product_id]
            entry["available"] += units
            entry["locations"][codes[level.location_id]] = units
    return result


def stores_with_stock(
    *,
    city: City | None,
    channel: Channel | None,
    product_ids: Sequence[int],
    latitude: float | None = None,
    longitude: float | None = None,
    radius_km: float | None = None,
) -> list[dict[str, Any]]:
    """Stores live for pickup (for ``channel`` when given; in ``city`` or every city), with
    what they have of each product (less the channel's buffer), nearest first when a point is
    given. Stores with none of the products are left out."""
    cities = [city] if city is not None else list(City.objects.all())
    stores = []
    city_of: dict[int, str] = {}
    for each in cities:
        for store in live_locations(city=each, service=Service.PICKUP, channel=channel):
            stores.append(store)
            city_of[store.pk] = each.code
    rows = []
    available: dict[tuple[int, int], int] = {
        (lvl.location_id, lvl.product_id): lvl.available
        for lvl in StockLevel.objects.filter(
            location_id__in=[s.pk for s in stores], product_id__in=product_ids
        ).only("location_id", "product_id", "on_hand", "reserved")
    }
    # A channel's pickup may not take its buffer: the same units routing would refuse it.
    kept = (
        channel_buffers(channel=channel, location_ids=[s.pk for s in stores])
        if channel is not None
        else {}
    )
    for store in stores:
        distance = None
        if (
            latitude is not None
            and longitude is not None
            and store.latitude is not None
            and store.longitude is not None
        ):
            distance = round(
                haversine_km(latitude, longitude, float(store.latitude), float(store.longitude)),
                2,
            )
            if radius_km is not None and distance > radius_km:
                continue
        have = {
            p: max(0, available.get((store.pk, p), 0) - kept.get(store.pk, 0)) for p in product_ids
        }
        if not any(have.values()):
            continue
        rows.append(
            {
                "location_id": store.pk,
                "code": store.code,
                "name": store.name,
                "city": city_of[store.pk],
                "latitude": store.latitude,
                "longitude": store.longitude,
                "distance_km": distance,
                "available": have,
            }
        )
    rows.sort(key=lambda r: (r["distance_km"] is None, r["distance_km"] or 0, r["code"]))
    return rows


# --------------------------------------------------------------------------- routing


@dataclass(frozen=True)
class WaitingOrder:
    """An order in the routing queue, with what it still misses and what that is worth."""

    order: Order
    missing_units: int
    missing_value: Decimal
    position: int  # 1 = served first when stock arrives


@dataclass(frozen=True)
class WaitingSummary:
    orders: list[WaitingOrder]
    count: int
    parked: int
    backordered: int
    units: int
    value: Decimal


def waiting_summary(
    *, user: User | None = None, city: City | None = None, limit: int = 200
) -> WaitingSummary:
    """The waiting queue in the order it is served (promised date, else age), the first
    ``limit`` orders with their missing units and value, and totals over all of it."""
    from .services import waiting_queue

    queue = waiting_queue(city=city)
    if user is not None:
        queue = scope_orders(user, queue)
    orders = list(
        queue.select_related("channel", "city", "pickup_store", "routing_profile").prefetch_related(
            *ORDER_PREFETCH
        )
    )
    rows: list[WaitingOrder] = []
    units = 0
    value = Decimal("0")
    parked = 0
    for position, order in enumerate(orders, start=1):
        missing = 0
        worth = Decimal("0")
        for line in order.lines.all():
            short = line.units_missing
            missing += short
            worth += short * line.unit_price
        units += missing
        value += worth
        parked += order.status == OrderStatus.PARKED
        if position <= limit:
            rows.append(
                WaitingOrder(
                    order=order, missing_units=missing, missing_value=worth, position=position
                )
            )
    return WaitingSummary(
        orders=rows,
        count=len(orders),
        parked=parked,
        backordered=len(orders) - parked,
        units=units,
        value=value,
    )


@dataclass(frozen=True)
class CapacityRow:
    location: Location
    service: str
    limit: int | None
    used: int
    opens_at: time | None
    closes_at: time | None

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


def capacity_overview(
    *, city: City, day: date | None = None, location_ids: Sequence[int] | None = None
) -> list[CapacityRow]:
    """Per live location of the city and order service (ship, pickup): the day's limit, what
    is used and left, and the pickup opening hours."""
    day = day or city_today(city)
    services = LocationService.objects.filter(
        location__city=city,
        location__active=True,
        service__in=(Service.SHIP, Service.PICKUP),
        starts_on__lte=day,
    ).select_related("location")
    if location_ids is not None:
        services = services.filter(location_id__in=list(location_ids))
    used = {
        (row.location_id, row.service): row.used
        for row in CapacityUse.objects.filter(location__city=city, day=day)
    }
    return [
        CapacityRow(
            location=s.location,
            service=s.service,
            limit=s.daily_capacity,
            used=used.get((s.location_id, s.service), 0),
            opens_at=s.opens_at,
            closes_at=s.closes_at,
        )
        for s in sorted(services, key=lambda s: (s.location.code, s.service))
    ]


def routing_explain(order: Order) -> dict[str, Any]:
    """Every routing decision recorded on the order: the profile version, the rules in their
    order and what each did, every candidate node with why it was used or skipped."""
    decisions = list((order.sourcing or {}).get("decisions", []))
    return {
        "order": order.pk,
        "status": order.status,
        "reason": order.sourcing_reason,
        "waiting_since": order.waiting_since,
        "promised_at": order.promised_at,
        "profile": (
            {
                "id": order.routing_profile.pk,
                "version": order.routing_profile.version,
                "status": order.routing_profile.status,
            }
            if order.routing_profile
            else None
        ),
        "decisions": decisions,
    }


# --------------------------------------------------------------------------- walk-in hold tickets


def hold_ticket_draft_find(*, store: Location, user: User) -> HoldTicket | None:
    """The ticket ``user`` is writing at ``store``, if any (``hold_ticket_draft`` makes one)."""
    return (
        HoldTicket.objects.filter(store=store, created_by=user, status=HoldTicketStatus.DRAFT)
        .order_by("id")
        .first()
    )


def hold_tickets_held(*, store: Location) -> QuerySet[HoldTicket]:
    """The store's held tickets with their lines, the soonest to run out first."""
    return (
        HoldTicket.objects.filter(store=store, status=HoldTicketStatus.HELD)
        .prefetch_related("lines__product")
        .order_by("hold_until", "id")
    )


def hold_ticket_at(*, store: Location, ticket_id: int) -> HoldTicket | None:
    """A ticket of ``store`` (any status); None for another store's or a missing one."""
    return HoldTicket.objects.filter(pk=ticket_id, store=store).select_related("order").first()


def free_units(*, store: Location, product_ids: Collection[int]) -> dict[int, int]:
    """Units free to hold (on hand − reserved) of each product at a store."""
    return {
        level.product_id: level.available
        for level in StockLevel.objects.filter(location=store, product_id__in=product_ids)
    }
