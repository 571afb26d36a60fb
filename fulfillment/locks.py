"""Row locks of fulfillment: every ``select_for_update`` of pick lists, pick lines and packages
is one of these. An order is locked with ``orders.locks.lock_order``, a transfer with
``inventory.locks.lock_transfer``, stock levels with ``inventory.locks.lock_stock_levels``.

The one lock order of the whole system (DESIGN.md, "Lock order"; docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

A pick list stands after the orders on it and before the transfers on it. Its tasks and lines
are locked after the list itself (parent before child): a task, then that task's lines in tote
order; several lines of a list in walking order. A scan or a short on a task touches that task
and its lines only, never the whole list. A package and a pickup code
belong to one order and are taken after it, each on its own (no path holds two of them). A
pickup code is never selected for update: redeeming it is one conditional UPDATE, single use,
made under its order's lock.

So a wave locks the orders it takes (``lock_orders``), then the transfers (``lock_transfers``),
and only then writes its new pick list; a short pick on a transfer line holds the pick list and
line, then takes the transfer, then the stock level; nothing holding a pick list locks an order.
"""

from __future__ import annotations

from .models import Package, PickLine, PickLineStatus, PickList, PickTask


def lock_pick_list(pick_list_id: int) -> PickList:
    """Lock a pick list: everyone working on its lines queues here first."""
    return PickList.objects.select_for_update().get(pk=pick_list_id)


def lock_pick_line(pick_line: PickLine) -> PickLine:
    """Lock a pick line, after its pick list, and read it again with its product and list."""
    lock_pick_list(pick_line.pick_list_id)
    return (
        PickLine.objects.select_for_update(of=("self",))
        .select_related("product", "pick_list")
        .get(pk=pick_line.pk)
    )


def lock_open_pick_lines(pick_list: PickList) -> list[PickLine]:
    """Lock a pick list and then its open lines, in walking order (bin, SKU)."""
    lock_pick_list(pick_list.pk)
    return list(
        PickLine.objects.select_for_update(of=("self",))
        .filter(pick_list=pick_list, status=PickLineStatus.OPEN)
        .select_related("product")
        .order_by("bin", "product__sku", "id")
    )


def lock_pick_task(task_id: int) -> PickTask:
    """Lock a pick task, with its product and bin. Expects the caller to hold its pick list's
    lock (``lock_pick_list``)."""
    return (
        PickTask.objects.select_for_update(of=("self",))
        .select_related("product", "bin")
        .get(pk=task_id)
    )


def lock_task_lines(task: PickTask) -> list[PickLine]:
    """Lock the open lines of a task, in tote order (the order units are sorted into totes).
    Expects the caller to hold the task's lock."""
    return list(
        PickLine.objects.select_for_update(of=("self",))
        .filter(task=task, status=PickLineStatus.OPEN)
        .order_by("tote", "id")
    )


def lock_package(package_id: int) -> Package:
    """Lock a package. Expects the caller to hold its order's lock (the order comes first)."""
    return Package.objects.select_for_update().get(pk=package_id)
