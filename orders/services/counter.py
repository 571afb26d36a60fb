"""Counter sales, which never block a customer holding the goods, and the re-sourcing of the
lines whose holds a sale (or a short pick) took."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from inventory import locks as stock_locks
from inventory import services as stock
from inventory.models import (
    DiscrepancyCause,
    Location,
    MoveReason,
    Reservation,
    ReservationStatus,
)
from omni.models import User

from .. import adjusters
from ..adjusters import OrderEvent
from ..locks import lock_order
from ..models import (
    OPEN_STATUSES,
    ORDER_TRANSITIONS,
    Allocation,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from .common import OWNER_TYPE, _set_status, _settle, logger
from .sourcing import _source

# --------------------------------------------------------------------------- counter sales


def _sell_at_counter(order: Order, lines: Sequence[OrderLine], *, actor: User | None) -> None:
    """The customer holds the goods: the sale is recorded whatever the system shows.

    If the store shows fewer on hand than sold, the shelf was right and the system wrong: an
    adjustment brings on hand up and a discrepancy is flagged for a count. If the sale takes
    units other orders hold, their holds are released (newest first) and their lines queued
    for re-sourcing after commit.
    """
    store = order.pickup_store
    assert store is not None
    levels = stock_locks.lock_stock_levels((store.pk, line.product_id) for line in lines)
    broken: set[int] = set()
    for line in lines:
        level = levels[(store.pk, line.product_id)]
        observed = max(level.on_hand, line.quantity)
        must_free = level.reserved - (observed - line.quantity)
        holds = _order_holds(store, line.product_id) if must_free > 0 else []
        breakable = sum(h.quantity for h in holds)
        if must_free > breakable:
            # Holds of transfers stay: the shelf must have had those units too.
            observed += must_free - breakable
            must_free = breakable
        if observed != level.on_hand:
            stock.stock_discrepancy_record(
                product=line.product,
                location=store,
                observed=observed,
                reason=f"counter sale of {line.quantity} with {level.on_hand} on hand",
                reference=order.reference,
                cause=DiscrepancyCause.COUNTER_SALE,
                actor=actor,
            )
        freed = 0
        for hold in holds:
            if freed >= must_free:
                break
            stock.reservation_release(
                reservation=hold, reason=f"taken by counter sale {order.reference}", actor=actor
            )
            freed += hold.quantity
            broken.add(int(hold.owner_id))
        reservation = stock.stock_reserve(
            product=line.product,
            location=store,
            quantity=line.quantity,
            owner_type=OWNER_TYPE,
            owner_id=line.owner_id,
            actor=actor,
        )
        Allocation.objects.create(
            line=line, location=store, quantity=line.quantity, reservation=reservation
        )
        stock.reservation_consume(
            reservation=reservation,
            reason=MoveReason.SALE,
            reference=order.reference,
            actor=actor,
            revenue=line.net_amount(line.quantity),
        )
    order.status = OrderStatus.COMPLETED
    order.payment_status = PaymentStatus.PAID
    order.sourcing = {"decisions": [{"what": "counter sale", "store": store.code}]}
    order.sourcing_reason = f"sold at the counter of {store.code}"
    if broken:
        from ..tasks import order_lines_resource_task

        ids = sorted(broken)
        transaction.on_commit(lambda: order_lines_resource_task.delay(ids))
        logger.warning("counter sale %s took stock held by order lines %s", order.pk, ids)


def _order_holds(store: Location, product_id: int) -> list[Reservation]:
    """Active order-line holds of a SKU at a store, newest first."""
    return list(
        Reservation.objects.filter(
            location=store,
            product_id=product_id,
            status=ReservationStatus.ACTIVE,
            owner_type=OWNER_TYPE,
        ).order_by("-created_at", "-id")
    )


def order_lines_resource(
    *,
    line_ids: Sequence[int],
    why: str = "stock taken by a counter sale",
    exclude: Sequence[int] = (),
) -> list[Order]:
    """Source again what lines lost (a counter sale took their hold, a picker found the shelf
    short), away from the ``exclude`` locations. What cannot be found is backordered and the
    order flagged with ``why``.

    Each order is its own transaction, ``durable``: in one transaction the second order's lock
    and stock levels would come after the first order's stock levels, out of the global order
    (docs/locking.md). Call it outside any transaction (its task runs after the commit that
    queued it)."""
    orders = []
    order_ids = sorted(
        set(OrderLine.objects.filter(pk__in=line_ids).values_list("order_id", flat=True))
    )
    for order_id in order_ids:
        with transaction.atomic(durable=True):
            order = lock_order(order_id)
            if order.status not in OPEN_STATUSES | {
                OrderStatus.PROCESSING,
                OrderStatus.PARTIALLY_SHIPPED,
            }:
                continue
            lines = list(order.lines.select_related("product"))
            missing = {line: line.units_missing for line in lines}
            if not any(missing.values()):
                continue
            plan = _source(
                order, missing, what=f"re-sourced: {why}", when_short="backorder", exclude=exclude
            )
            if plan.short:
                order.flagged = f"{why}; waiting for stock"[:255]
            _settle(order, plan)
            order.save()
        orders.append(order)
    return orders


@transaction.atomic
def order_set_status(*, order: Order, to: OrderStatus) -> Order:
    """Move an order along the transition table (fulfillment calls this as work proceeds)."""
    order = lock_order(order.pk)
    before = order.status
    _set_status(order, to)
    if not ORDER_TRANSITIONS[to] or to == OrderStatus.SHIPPED:
        order.waiting_since = None  # nothing more will be routed for it
    order.save(update_fields=["status", "waiting_since", "updated_at"])
    if to == OrderStatus.COMPLETED and before != to:
        adjusters.order_event(order=order, event=OrderEvent.HANDED_OVER)
    elif to in (OrderStatus.CANCELLED, OrderStatus.EXPIRED) and before != to:
        event = OrderEvent.CANCELLED if to == OrderStatus.CANCELLED else OrderEvent.EXPIRED
        adjusters.order_event(order=order, event=event)
    return order
