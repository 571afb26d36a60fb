"""Row locks of replenishment proposals.

The one lock order of the whole system (docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

A proposal run stands before its purchase orders: approving locks the run row, then creates
the purchase orders (and locks them, in id order, if it touches them again).
"""

from __future__ import annotations

from purchasing.proposal_models import ReplenishmentRun


def lock_replenishment_run(run_id: int) -> ReplenishmentRun:
    """The run row (with its city), locked until the caller's transaction ends."""
    return ReplenishmentRun.objects.select_for_update().select_related("city").get(pk=run_id)
