"""Writes of orders: place (source + reserve in one transaction), pay, cancel, change a line,
expire unpaid holds, and re-source lines whose stock a counter sale took.

Locking (docs/locking.md): a service that changes an existing order locks the order row first
(``orders.locks``), then stock levels (``inventory.locks.lock_stock_levels``, in the global
order). Nothing locks an order while holding stock-level locks, so the two kinds of lock never
wait on each other in a cycle; work on several orders is one transaction per order
(``durable``: the batch must be the outermost transaction, or the second order's lock would
come after the first order's stock levels). The waiting queue runs under its city's mutex
(``locks.lock_city_queue``), the coarsest lock of all.
"""

from __future__ import annotations

from .changes import order_cancel, order_line_set_quantity, order_pay
from .common import (
    OWNER_TYPE,
    PICKUP_ALTERNATIVES,
    SERVICE_FOR_MODE,
    STORE_NEEDED,
    DeliveryPoint,
    LineIn,
)
from .counter import order_lines_resource, order_set_status
from .expiry import orders_expire_unpaid
from .holds import (
    counter_channel,
    hold_ticket_draft,
    hold_ticket_hold,
    hold_ticket_hold_elsewhere,
    hold_ticket_line_add,
    hold_ticket_line_set,
    hold_ticket_release,
    hold_ticket_sell,
    hold_ticket_transfer_request,
)
from .placing import order_place
from .sourcing import DECISIONS_KEPT, pickup_alternatives
from .waiting import WAITING_RESTARTS, WaitingReport, orders_route_waiting, waiting_queue

__all__ = [
    "DECISIONS_KEPT",
    "OWNER_TYPE",
    "PICKUP_ALTERNATIVES",
    "SERVICE_FOR_MODE",
    "STORE_NEEDED",
    "WAITING_RESTARTS",
    "DeliveryPoint",
    "LineIn",
    "WaitingReport",
    "counter_channel",
    "hold_ticket_draft",
    "hold_ticket_hold",
    "hold_ticket_hold_elsewhere",
    "hold_ticket_line_add",
    "hold_ticket_line_set",
    "hold_ticket_release",
    "hold_ticket_sell",
    "hold_ticket_transfer_request",
    "order_cancel",
    "order_line_set_quantity",
    "order_lines_resource",
    "order_pay",
    "order_place",
    "order_set_status",
    "orders_expire_unpaid",
    "orders_route_waiting",
    "pickup_alternatives",
    "waiting_queue",
]
