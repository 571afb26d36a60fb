"""Row locks of purchasing: every ``select_for_update`` of this app is one of these.

The one lock order of the whole system (DESIGN.md, "Lock order"; docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

A purchase order stands beside the transfers: before the receiving draft opened against it and
before any stock level. Receiving against a PO locks the PO, then its draft, then the stock
levels of the receipt (``inventory.services.stock_receive``). A path holding a purchase order
takes no Transfer, and a path holding a Transfer takes no purchase order: no path needs both.

Reorder policies stand outside the chain: classifying a location locks its policies (id order)
and takes no other lock; setting or reverting one policy locks that row alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from .models import PurchaseOrder, ReorderPolicy


def lock_purchase_order(purchase_order_id: int) -> PurchaseOrder:
    """Lock one purchase order (its lines go with it: every write to a line holds its PO).
    A caller holding a stock level or a receiving draft must not call this."""
    return (
        PurchaseOrder.objects.select_related("supplier", "ship_to")
        .select_for_update(of=("self",))
        .get(pk=purchase_order_id)
    )


def lock_purchase_orders(purchase_order_ids: Iterable[int]) -> list[PurchaseOrder]:
    """Lock several purchase orders in id order, before any stock level."""
    ids = sorted(set(purchase_order_ids))
    if not ids:
        return []
    return list(PurchaseOrder.objects.select_for_update().filter(pk__in=ids).order_by("pk"))


def lock_reorder_policies(location_ids: Iterable[int]) -> list[ReorderPolicy]:
    """Lock every reorder policy of the locations, in id order (a classification's rows)."""
    ids = sorted(set(location_ids))
    if not ids:
        return []
    return list(
        ReorderPolicy.objects.select_for_update().filter(location_id__in=ids).order_by("pk")
    )


def lock_reorder_policy(product_id: int, location_id: int) -> ReorderPolicy | None:
    """Lock the policy of one SKU at one location, if it has one."""
    return (
        ReorderPolicy.objects.select_for_update()
        .filter(product_id=product_id, location_id=location_id)
        .first()
    )
