"""Row locks of forecasting: every ``select_for_update`` of forecasting is one of these.

The one lock order of the whole system (DESIGN.md, "Lock order"; docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

A forecast run's row stands outside that chain: forecasting reads the ledger and never locks
stock, and a transaction holding a run's lock takes no other lock but its chunks'. Within a
run: **the run before its chunk**. Everything else that changes a run or a chunk (claim,
heartbeat, a stored block, cancel, reap) is one conditional UPDATE of one row, never the chunk's
row and then the run's in one transaction.
"""

from __future__ import annotations

from .models import ForecastChunk, ForecastRun


def lock_forecast_run(run_id: int) -> ForecastRun:
    """Lock a forecast run: to total its chunks' progress, or to finish it only if it is still
    running."""
    return ForecastRun.objects.select_for_update().get(pk=run_id)


def lock_forecast_chunk(run_id: int, number: int) -> ForecastChunk:
    """Lock one chunk of a run, to mark it done. The caller holds the run's lock
    (``lock_forecast_run``) already: run before chunk."""
    return ForecastChunk.objects.select_for_update().get(run_id=run_id, number=number)
