"""Row locks of allocation: every ``select_for_update`` of allocation is one of these.

The one lock order of the whole system (docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

An allocation run stands before the transfers: approving a run locks the run, then creates and
approves its transfers (each locks its Transfer, then its stock levels).
"""

from __future__ import annotations

from .models import AllocationRun


def lock_allocation_run(run_id: int) -> AllocationRun:
    """The run row (with its city), locked until the caller's transaction ends."""
    return AllocationRun.objects.select_for_update().select_related("city").get(pk=run_id)
