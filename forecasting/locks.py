"""Row locks of forecasting: every ``select_for_update`` of forecasting is one of these.

The one lock order of the whole system (DESIGN.md, "Lock order"; docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

A forecast run's row stands outside that chain: forecasting reads the ledger and never locks
stock, and a transaction holding a run's lock takes no other lock. Everything else that
changes a run (claim, progress, cancel, reap) is one conditional UPDATE on its status.
"""

from __future__ import annotations

from .models import ForecastRun


def lock_forecast_run(run_id: int) -> ForecastRun:
    """Lock a forecast run, to finish it only if it is still running."""
    return ForecastRun.objects.select_for_update().get(pk=run_id)
