"""A proposal line's reorder point and order-up-to level from the distribution of the total
demand over the lead time plus the review period (pure: no Django).

The demand is known either by a forecast's window quantiles (``from_quantiles``: the forecast
run's calibrated totals, docs/forecasting.md "window quantiles") or by the recent daily history
(``from_history``: the distribution of overlapping window totals of the last half year, the
last half year).
Either way the levels are those of a periodic-review (s, S) policy:

    reorder point   s = the service level's quantile of D(L + R)
    order-up-to     S = s + E[D(R)]
    safety stock      = s − E[D(L + R)]

so a position at or below ``s`` orders ``S − position``: what covers the lead time and the
next review at the target, plus one review's expected sales (an order about once a review).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from .budget import scenarios_from_quantiles

SCENARIOS = 40
HISTORY_DAYS = 182
_NORMAL_SCORES = [NormalDist().inv_cdf((k + 0.5) / SCENARIOS) for k in range(SCENARIOS)]


@dataclass(frozen=True)
class WindowLevels:
    forecast: float  # E[D(L + R)]
    reorder_point: int
    order_up_to: int
    safety_stock: int
    scenarios: list[float]  # equally likely totals of D(L + R), for the budget optimisation
    method: str


def _quantile(scenarios: Sequence[float], level: float) -> float:
    ordered = sorted(scenarios)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, math.ceil(level * len(ordered)) - 1))
    return float(ordered[k])


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
    """Levels from the recent daily demand (oldest first): the overlapping (L + R)-day totals
    of the last ``HISTORY_DAYS`` days as the distribution."""
    recent = [max(float(x), 0.0) for x in daily][-HISTORY_DAYS:]
    window = lead_days + review_days
    if not recent or not any(recent):
        return _levels(0.0, 0.0, 0.0, [0.0] * SCENARIOS, "history:no_demand")
    mean_day = sum(recent) / len(recent)
    if len(recent) >= window + 27:
        totals = [sum(recent[i : i + window]) for i in range(len(recent) - window + 1)]
        method = "history:window_totals"
    else:  # too short for a sample of totals: Poisson-like spread around the mean
        mu = mean_day * window
        totals = [max(mu + z * math.sqrt(mu + 1.0), 0.0) for z in _NORMAL_SCORES]
        method = "history:short"
    scenarios = [_quantile(totals, (k + 0.5) / SCENARIOS) for k in range(SCENARIOS)]
    s = _quantile(totals, service_level)
    return _levels(sum(totals) / len(totals), s, mean_day * review_days, scenarios, method)


def _interpolate(known: Mapping[float, float], level: float) -> float:
    points = sorted(known.items())
    if level <= points[0][0]:
        return points[0][1]
    for (l0, v0), (l1, v1) in itertools.pairwise(points):
        if l0 <= level <= l1:
            return v0 + (level - l0) / (l1 - l0) * (v1 - v0)
    return points[-1][1]


def _levels(
    mean: float, s: float, review_mean: float, scenarios: list[float], method: str
) -> WindowLevels:
    reorder_point = max(0, math.ceil(s - 1e-9))
    order_up_to = reorder_point + max(0, math.ceil(review_mean - 1e-9))
    return WindowLevels(
        forecast=round(mean, 4),
        reorder_point=reorder_point,
        order_up_to=order_up_to,
        safety_stock=max(0, round(reorder_point - mean)),
        scenarios=[round(x, 3) for x in scenarios],
        method=method,
    )
