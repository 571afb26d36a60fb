"""A proposal line's reorder point and order-up-to level from the distribution of the total
demand over the lead time plus the review period (pure: no Django).

The demand is known either by a forecast's window quantiles (``from_quantiles``: the forecast
run's calibrated totals, docs/forecasting.md "window quantiles") or by the recent daily history
(``from_history``: the policy core's window distribution, ``distribution.window_demand`` —
overlapping window totals, or the compound-Bernoulli convolution for intermittent series — and
its fill-rate level, ``levels.fill_rate_levels``). Either way:

    order-up-to     S = the level that serves the target over L + R
                        (forecast: the target's quantile of D(L + R);
                         history: the smallest S whose expected fill reaches the target)
    reorder point   s = S − E[D(R)]
    safety stock      = S − E[D(L + R)]

The proposal runs every day, the policy reviews every R days: ordering only once the position
is at or below ``s`` (about one review's sales below ``S``) places about one order per review,
each lifting the position back to ``S``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .budget import scenarios_from_quantiles

SCENARIOS = 40


@dataclass(frozen=True)
class WindowLevels:
    forecast: float  # E[D(L + R)]
    reorder_point: int
    order_up_to: int
    safety_stock: int
    scenarios: list[float]  # equally likely totals of D(L + R), for the budget optimisation
    method: str


def from_quantiles(
    *,
    total: float,
    quantiles: Mapping[float, float],
    review_mean: float,
    service_level: float,
    method: str,
) -> WindowLevels:
    """Levels from a forecast: ``total`` = E[D(L+R)], ``quantiles`` of D(L+R) by level (the
    levels a run calibrates, 0.5 and up; the lower half mirrors the upper about the median,
    floored at zero), ``review_mean`` = E[D(R)]."""
    known = dict(quantiles)
    median = known.get(0.5, total)
    for level, value in list(known.items()):
        if level > 0.5 and (1 - level) not in known:
            known[round(1 - level, 6)] = max(2 * median - value, 0.0)
    scenarios = scenarios_from_quantiles(known, n=SCENARIOS)
    if service_level in quantiles:
        s = float(quantiles[service_level])
    else:
        s = _interpolate(known, service_level)
    return _levels(total, s, review_mean, scenarios, method)


def from_history(
    daily: Sequence[float], *, lead_days: int, review_days: int, service_level: float
) -> WindowLevels:
    """Levels from the recent daily demand (oldest first, from the first sale)."""
    import numpy as np

    from .distribution import window_demand
    from .levels import fill_rate_levels

    values = np.asarray([max(float(x), 0.0) for x in daily], dtype=float)
    nonzero = np.flatnonzero(values > 0)
    values = values[nonzero[0] :] if nonzero.size else values[:0]
    demand = window_demand(values, lead_days, max(review_days, 1))
    level = fill_rate_levels([demand], service_level, pooled=False)
    cdf = np.cumsum(demand.window)
    scenarios = [
        float(np.searchsorted(cdf, (k + 0.5) / SCENARIOS - 1e-12)) for k in range(SCENARIOS)
    ]
    return _levels(
        demand.window_mean,
        float(level.order_up_to[0]),
        demand.review_mean,
        scenarios,
        f"history:{demand.method}",
    )


def _interpolate(known: Mapping[float, float], level: float) -> float:
    points = sorted(known.items())
    if level <= points[0][0]:
        return points[0][1]
    for (l0, v0), (l1, v1) in itertools.pairwise(points):
        if l0 <= level <= l1:
            return v0 + (level - l0) / (l1 - l0) * (v1 - v0)
    return points[-1][1]


def _levels(
    mean: float, order_up_to: float, review_mean: float, scenarios: list[float], method: str
) -> WindowLevels:
    top = max(0, math.ceil(order_up_to - 1e-9))
    return WindowLevels(
        forecast=round(mean, 4),
        reorder_point=max(0, top - math.ceil(review_mean - 1e-9)),
        order_up_to=top,
        safety_stock=round(top - mean),
        scenarios=[round(x, 3) for x in scenarios],
        method=method,
    )
