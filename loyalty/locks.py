"""Row locks of loyalty. The one lock order of the whole system (docs/locking.md):

    City → Order → PickList → Transfer / PurchaseOrder → Campaign / Coupon
         → StockLevel (by location id, product id) → Reservation

Within loyalty: coupons are taken in (campaign id, coupon id) order, each coupon's row before
its member's use counter before its campaign's row, and an order's adjustments come before
its stock levels (``orders.adjusters`` runs before sourcing and before holds are released).
The hot path takes no explicit lock: the coupon, the member's uses and the budget move in
conditional UPDATEs. Issuing coupons locks the campaign's row (``lock_campaign``), so the issue
cap and a member's coupon count are read and raised by one writer at a time.
"""

from __future__ import annotations

from .models import Campaign


def lock_campaign(campaign_id: int) -> Campaign:
    return Campaign.objects.select_for_update(of=("self",)).get(pk=campaign_id)
