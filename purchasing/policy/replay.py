"""Replay a periodic-review (s, S) policy over actual daily demand: what it would have served
and what stock it would have held.

The rules, day by day (``t = 0, 1, …``):

1. Orders due today arrive first (an order placed on day ``t`` arrives on day ``t + L``; with
   ``L = 0`` the same day).
2. On a review day (``t`` a multiple of ``R``, day 0 included) the inventory position — on hand
   plus on order — is compared with the reorder point ``s``: at or below it, ``S − position``
   is ordered (never a negative order).
3. Demand is served from what is on hand; what cannot be served is lost (a shop's customer
   does not wait).
4. The stock left at the end of the day is what the day holds.

The replay starts with ``on_hand`` (default: ``S``) and nothing on order. Fill rate = units
served / units demanded; average on hand = the mean of the end-of-day stocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ReplayResult:
    demanded: np.ndarray  # per series, units
    served: np.ndarray
    average_on_hand: np.ndarray  # per series, units (mean of end-of-day stock)
    orders: np.ndarray  # per series, number of orders placed

    @property
    def fill_rate(self) -> float:
        """Pooled: units served / units demanded over every series."""
        total = float(self.demanded.sum())
        return float(self.served.sum()) / total if total > 0 else 1.0

    @property
    def mean_on_hand(self) -> float:
        """Average on-hand units per series."""
        return float(self.average_on_hand.mean()) if self.average_on_hand.size else 0.0


def replay(
    demand: np.ndarray,
    reorder_point: np.ndarray,
    order_up_to: np.ndarray,
    *,
    lead_days: int,
    review_days: int,
    on_hand: np.ndarray | None = None,
) -> ReplayResult:
    """Replay ``demand`` (series × days) under per-series ``reorder_point`` and
    ``order_up_to``."""
    demand = np.atleast_2d(np.asarray(demand, dtype=float))
    series, days = demand.shape
    s = np.asarray(reorder_point, dtype=float).reshape(series)
    big_s = np.asarray(order_up_to, dtype=float).reshape(series)
    if lead_days < 0 or review_days < 1:
        raise ValueError("lead time must be >= 0 days and the review period >= 1 day")
    if np.any(big_s < s):
        raise ValueError("order-up-to level below the reorder point")
    stock = big_s.copy() if on_hand is None else np.asarray(on_hand, dtype=float).copy()
    arrivals = np.zeros((days + lead_days + 1, series))
    on_order = np.zeros(series)
    served = np.zeros(series)
    held = np.zeros(series)
    orders = np.zeros(series, dtype=np.int64)
    for t in range(days):
        stock += arrivals[t]
        on_order -= arrivals[t]
        if t % review_days == 0:
            position = stock + on_order
            quantity = np.where(position <= s, np.maximum(big_s - position, 0.0), 0.0)
            orders += quantity > 0
            if lead_days == 0:
                stock += quantity
            else:
                arrivals[t + lead_days] += quantity
                on_order += quantity
        sold = np.minimum(stock, demand[:, t])
        stock -= sold
        served += sold
        held += stock
    return ReplayResult(
        demanded=demand.sum(axis=1),
        served=served,
        average_on_hand=held / max(days, 1),
        orders=orders,
    )
