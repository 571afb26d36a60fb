"""Row locks of orders: every ``select_for_update`` of orders and walk-in hold tickets (and of
fulfillment on an order) is one of these.

The one lock order of the whole system (DESIGN.md, "Lock order"; docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

Coarse before fine, parent before child: a service that changes an order locks the order
first, then stock levels (``inventory.locks.lock_stock_levels``); nothing locks an order while
holding a stock level. A transaction that works on several orders locks them all up front, in
id order (``lock_orders``), or takes one transaction per order; it never locks the next order
after the previous one's stock levels. Capacity counters (``orders.capacity``) move in
conditional UPDATEs after the stock levels, in (location id, service, day) order.
"""

from __future__ import annotations

from collections.abc import Iterable

from omni.models import City

from .models import HoldTicket, Order


def lock_order(order_id: int) -> Order:
    """Lock one order's row, with its channel, city and pickup store read in the same query
    (those rows are not locked: PostgreSQL cannot lock the nullable side of the store join, and
    nobody needs them locked)."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("channel", "city", "pickup_store")
        .get(pk=order_id)
    )


def lock_orders(order_ids: Iterable[int]) -> list[Order]:
    """Lock several orders in id order (the same order for everyone), before any of their
    pick lists, transfers or stock levels."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    return list(
        Order.objects.select_for_update(of=("self",))
        .select_related("channel", "city", "pickup_store")
        .filter(pk__in=ids)
        .order_by("pk")
    )


def lock_city_queue(city_id: int) -> None:
    """Take the mutex of a city's waiting queue: the City row, held until the transaction ends.

    It guards the routing of the city's waiting orders (``services.orders_route_waiting``):
    concurrent runs (two receipts at once, the periodic run, a planner's retry) take turns
    order by order, and the check "did stock come in since this run started its walk" and the
    routing of the order that follows it happen under one lock, so a newer order never takes
    units an older one was about to get. It is the coarsest lock there is: taken first, before
    the order it routes and that order's stock levels. Nothing else locks a City row.

    ``FOR NO KEY UPDATE``: placing an order inserts a row referencing its City, and
    PostgreSQL's foreign-key check takes ``FOR KEY SHARE`` on that City row when the placing
    transaction commits, already holding its stock levels. A plain ``FOR UPDATE`` here blocks
    that check while this run waits for those stock levels: a deadlock. ``FOR NO KEY UPDATE``
    still excludes every other run of the queue but lets the check through."""
    list(City.objects.select_for_update(no_key=True).filter(pk=city_id).values_list("pk"))


def lock_hold_ticket(ticket_id: int) -> HoldTicket:
    """Lock a walk-in hold ticket. It stands at the Order's step, before the counter sale it
    becomes (a new order, inserted, never locked) and before its lines' stock levels: whoever
    holds the ticket decides about it, so holding, selling and releasing it take turns."""
    return (
        HoldTicket.objects.select_for_update(of=("self",)).select_related("store").get(pk=ticket_id)
    )
