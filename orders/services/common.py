"""What every order service shares: the line and delivery point a caller gives, the owner type
of an order's holds, and an order's status after sourcing."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from inventory.models import (
    Product,
)
from network.models import Service

from ..errors import (
    OrderInvalidState,
)
from ..models import (
    HELD_STATUSES,
    OPEN_STATUSES,
    ORDER_TRANSITIONS,
    Allocation,
    Order,
    OrderMode,
    OrderStatus,
)
from ..routing import (
    Plan,
)

logger = logging.getLogger(__name__)

OWNER_TYPE = "order_line"
SERVICE_FOR_MODE = {
    OrderMode.DELIVERY: Service.SHIP,
    OrderMode.PICKUP: Service.PICKUP,
    OrderMode.STORE_SALE: Service.STORE_SALE,
}
# How many other stores a refused pickup suggests.
PICKUP_ALTERNATIVES = 5
STORE_NEEDED = {
    OrderMode.PICKUP: gettext_lazy("a pickup order needs a store"),
    OrderMode.STORE_SALE: gettext_lazy("a store_sale order needs a store"),
}


@dataclass(frozen=True)
class LineIn:
    product: Product
    quantity: int
    unit_price: Decimal = Decimal("0")


@dataclass(frozen=True)
class DeliveryPoint:
    latitude: float
    longitude: float
    address: str = ""


# --------------------------------------------------------------------------- status


def _set_status(order: Order, to: OrderStatus) -> None:
    """Move ``order`` (locked by the caller) along the transition table."""
    if order.status == to:
        return
    if to not in ORDER_TRANSITIONS[order.status]:
        raise OrderInvalidState(order, to=to)
    order.status = to


def _status_after_sourcing(order: Order) -> OrderStatus:
    """Reserved when every line is held in full, else backordered (one query)."""
    held = dict(
        Allocation.objects.filter(
            line__order=order,
            reservation__status__in=HELD_STATUSES,
        )
        .values_list("line_id")
        .annotate(units=Sum("quantity"))
    )
    wanted = order.lines.values_list("id", "quantity")
    missing = any(held.get(line_id, 0) < quantity for line_id, quantity in wanted)
    return OrderStatus.BACKORDERED if missing else OrderStatus.RESERVED


def _settle(order: Order, plan: Plan, *, placing: bool = False) -> None:
    """Set an order's status and place in the waiting queue after routing (the caller holds
    the order). An open order that holds nothing and was parked is parked; one holding part
    is backordered; one holding all is reserved. An order past picking that still misses
    units is backordered where the transition table allows, and waits either way."""
    after = _status_after_sourcing(order)
    missing = after == OrderStatus.BACKORDERED
    if placing or order.status in OPEN_STATUSES:
        target = after
        parked = plan.outcome == "parked" or order.status == OrderStatus.PARKED
        if missing and parked and not _holds_any(order):
            target = OrderStatus.PARKED
        if placing:
            order.status = target
        else:
            _set_status(order, target)
    elif missing and OrderStatus.BACKORDERED in ORDER_TRANSITIONS[order.status]:
        _set_status(order, OrderStatus.BACKORDERED)
    if missing:
        order.waiting_since = order.waiting_since or timezone.now()
    else:
        order.waiting_since = None


def _holds_any(order: Order) -> bool:
    return Allocation.objects.filter(
        line__order=order,
        reservation__status__in=HELD_STATUSES,
    ).exists()
