"""Paying, cancelling and changing an order."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy

from inventory import locks as stock_locks
from inventory import services as stock
from inventory.errors import (
    ReservationNotActive,
)
from inventory.models import (
    Product,
    Reservation,
    ReservationStatus,
)
from omni.errors import InvalidInput
from omni.models import User

from .. import adjusters
from ..adjusters import OrderEvent
from ..capacity import capacity_release
from ..errors import (
    OrderInvalidState,
)
from ..locks import lock_order
from ..models import (
    OPEN_STATUSES,
    Allocation,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from ..routing import (
    Plan,
    Why,
)
from .common import OWNER_TYPE, _set_status, _settle
from .sourcing import _source

# --------------------------------------------------------------------------- pay, cancel, change


@transaction.atomic
def order_pay(*, order: Order, actor: User | None = None) -> Order:
    """Payment arrived: the hold no longer expires. Paying a paid order changes nothing."""
    order = lock_order(order.pk)
    if order.payment_status == PaymentStatus.PAID:
        return order
    if order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        raise OrderInvalidState(order, action="pay")
    order.payment_status = PaymentStatus.PAID
    order.hold_expires_at = None
    order.save(update_fields=["payment_status", "hold_expires_at", "updated_at"])
    adjusters.order_event(order=order, event=OrderEvent.PAID, actor=actor)
    return order


def _release_holds(order: Order, *, reason: str, actor: User | None) -> int:
    """Give back every active hold of the order (the caller holds the order)."""
    holds = list(
        Reservation.objects.filter(
            allocation__line__order=order, status=ReservationStatus.ACTIVE
        ).order_by("location_id", "product_id")
    )
    stock_locks.lock_stock_levels((h.location_id, h.product_id) for h in holds)
    released = 0
    for hold in holds:
        try:
            stock.reservation_release(reservation=hold, reason=reason, actor=actor)
        except ReservationNotActive:
            continue  # a counter sale took it a moment ago
        released += hold.quantity
    return released


@transaction.atomic
def order_cancel(*, order: Order, reason: str = "cancelled", actor: User | None = None) -> Order:
    order = lock_order(order.pk)
    if order.status == OrderStatus.CANCELLED:
        return order  # a retried cancel
    _set_status(order, OrderStatus.CANCELLED)
    adjusters.order_event(order=order, event=OrderEvent.CANCELLED, actor=actor)
    _release_holds(order, reason=reason, actor=actor)
    capacity_release(order=order)
    order.hold_expires_at = None
    order.waiting_since = None
    order.save(update_fields=["status", "hold_expires_at", "waiting_since", "updated_at"])
    return order


@transaction.atomic
def order_line_set_quantity(
    *, order: Order, product: Product, quantity: int, actor: User | None = None
) -> Order:
    """Change how many of a SKU the order wants: more is sourced and reserved (or refused, or
    backordered where the channel allows); fewer releases the newest holds first."""
    order = lock_order(order.pk)
    if order.status not in OPEN_STATUSES:
        raise OrderInvalidState(order, action="change")
    if order.lines.filter(discount__gt=0).exists():
        # The discount was computed on these lines and its budget taken: cancel and place the
        # order again rather than leave a discount the new lines would not earn.
        raise OrderInvalidState(order, action="discounted")
    stock.check_quantity(quantity)
    line = order.lines.select_related("product").filter(product=product).first()
    if line is None:
        raise InvalidInput.saying(
            gettext_lazy("%(sku)s is not on order %(order)s"),
            detail={"sku": product.sku},
            sku=product.sku,
            order=order.pk,
        )
    held = line.units_held
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    if quantity > held:
        plan = _source(
            order, {line: quantity - held}, what=f"line {product.sku} raised to {quantity}"
        )
    else:
        plan = Plan(why=Why("line_lowered", {"sku": product.sku, "quantity": quantity}))
        if quantity < held:
            _shrink_line(line, keep=quantity, actor=actor)
    _settle(order, plan)
    order.save()
    return order


def _shrink_line(line: OrderLine, *, keep: int, actor: User | None) -> None:
    """Release the newest holds of a line until it holds ``keep``; a hold cut in the middle
    is released and the part still wanted reserved again at the same place."""
    allocations = list(
        line.allocations.select_related("reservation", "location")
        .filter(reservation__status=ReservationStatus.ACTIVE)
        .order_by("-id")
    )
    stock_locks.lock_stock_levels((a.location_id, line.product_id) for a in allocations)
    excess = line.units_held - keep
    for allocation in allocations:
        if excess <= 0:
            break
        stock.reservation_release(
            reservation=allocation.reservation, reason="line reduced", actor=actor
        )
        if allocation.quantity > excess:
            again = allocation.quantity - excess
            reservation = stock.stock_reserve(
                product=line.product,
                location=allocation.location,
                quantity=again,
                owner_type=OWNER_TYPE,
                owner_id=line.owner_id,
                actor=actor,
            )
            Allocation.objects.create(
                line=line, location=allocation.location, quantity=again, reservation=reservation
            )
        excess -= allocation.quantity
