"""Reads of fulfillment, scoped to the caller's locations (another store's pick list or
pickup is as unknown as a missing one)."""

from __future__ import annotations

from django.db.models import QuerySet

from omni.access import scope_to_locations
from omni.models import User
from orders.models import Order, OrderMode, OrderStatus

from .errors import UnknownPackage, UnknownPickList
from .models import Package, PickList


def pick_list_list(
    *, user: User, location: str | None = None, status: str | None = None
) -> QuerySet[PickList]:
    lists = scope_to_locations(user, PickList.objects.select_related("location"), "location")
    if location:
        lists = lists.filter(location__code=location)
    if status:
        lists = lists.filter(status=status)
    return lists.prefetch_related("lines__product").order_by("-id")


def pick_list_visible(user: User, pick_list_id: int) -> PickList:
    pick_list = (
        scope_to_locations(user, PickList.objects.select_related("location"), "location")
        .filter(pk=pick_list_id)
        .prefetch_related("lines__product")
        .first()
    )
    if pick_list is None:
        raise UnknownPickList(pick_list_id)
    return pick_list


def package_visible(user: User, package_id: int) -> Package:
    package = (
        scope_to_locations(user, Package.objects.select_related("location", "order"), "location")
        .filter(pk=package_id)
        .prefetch_related("lines__allocation__line__product")
        .first()
    )
    if package is None:
        raise UnknownPackage(package_id)
    return package


PICKUP_QUEUE_STATUSES = (
    OrderStatus.RESERVED,
    OrderStatus.BACKORDERED,
    OrderStatus.PROCESSING,
    OrderStatus.READY_FOR_PICKUP,
)


def pickup_queue(*, user: User, store_id: int | None = None) -> QuerySet[Order]:
    """Pickups waiting at the user's stores, oldest first: to prepare, or ready to hand over."""
    orders = scope_to_locations(
        user,
        Order.objects.filter(mode=OrderMode.PICKUP, status__in=PICKUP_QUEUE_STATUSES),
        "pickup_store",
    )
    if store_id is not None:
        orders = orders.filter(pickup_store_id=store_id)
    return (
        orders.select_related("pickup_store", "channel")
        .prefetch_related("lines__product")
        .order_by("created_at", "id")
    )
