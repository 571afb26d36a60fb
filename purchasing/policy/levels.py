"""Order-up-to levels for a target fill rate, and the textbook normal-approximation policy.

**Fill rate** (the ``service_level`` target): the share of demanded units served from stock,
``units served / units demanded`` — not the share of cycles without a stock-out.

A periodic-review order-up-to policy (R, S) raises the inventory position to ``S`` at every
review. An order placed now arrives after the lead time ``L``; the next one ``R`` days later
arrives at ``L + R``. So the units short in one cycle (between two arrivals) are

    ESC(S) = E[(D_{L+R} − S)+] − E[(D_L − S)+]

where ``D_n`` is the **total** demand over ``n`` days (its distribution from
``distribution.window_demand``) and ``E[(D − S)+]`` its loss function. The cycle's expected fill
rate is ``1 − ESC(S) / E[D_R]`` (Hadley–Whitin; with lost sales, as in a shop, it is slightly
pessimistic). Omni's ``S`` is the smallest whole number reaching the target; the reorder point
equals it (order whatever was sold at every review).

**Pooled targets.** A planner's fill target is for a group of series (a city's assortment),
measured in units over the group. Stock is then placed by marginal analysis: every further unit
of ``S`` goes to the series where it saves the most expected short units per cycle (per unit of
cost, when costs are given), until the group's expected fill reaches the target; each series
keeps at least ``floor`` fill. ESC is decreasing in ``S``, so this is the greedy solution of
"least stock for the group's fill" (Sherbrooke's marginal allocation), exact up to one unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .distribution import WindowDemand, expected_shortfall


def cycle_shortfall(demand: WindowDemand) -> np.ndarray:
    """``ESC(S)`` for ``S = 0 … max``: expected units short per cycle at order-up-to ``S``
    (non-increasing, 0 at the last entry)."""
    size = demand.window.size + 1
    esc = expected_shortfall(demand.window, size) - expected_shortfall(demand.lead, size)
    esc = np.minimum.accumulate(np.clip(esc, 0.0, None))
    esc[-1] = 0.0
    return esc


@dataclass(frozen=True)
class Levels:
    order_up_to: np.ndarray  # int per series
    expected_fill: np.ndarray  # per series (1.0 for series without demand)
    pooled_fill: float  # expected, over the group, in units


def fill_rate_levels(
    demands: Sequence[WindowDemand],
    target: float | Sequence[float],
    *,
    pooled: bool = True,
    floor: float = 0.0,
    unit_cost: Sequence[float] | None = None,
) -> Levels:
    """Order-up-to levels reaching ``target`` fill: over the group by marginal analysis, no
    series below ``floor`` (``pooled=True``), or per series (``pooled=False``; ``target`` may
    then be one target per series)."""
    targets = np.broadcast_to(np.asarray(target, dtype=float), (len(demands),))
    if targets.size and (targets.min() <= 0.0 or targets.max() >= 1.0):
        raise ValueError("service_level: a fill-rate target must be between 0 and 1 (exclusive)")
    if pooled and np.ndim(target) != 0:
        raise ValueError("service_level: a pooled target is one number for the group")
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"floor: a fill-rate floor must be in [0, 1), not {floor}")
    escs = [cycle_shortfall(d) for d in demands]
    per_cycle = np.array([e[0] for e in escs])
    firsts = np.minimum(targets, floor) if pooled else targets
    levels = np.array(
        [_smallest_level(e, float(f)) for e, f in zip(escs, firsts, strict=True)], dtype=np.int64
    )
    if pooled and escs:
        levels = _marginal(escs, levels, per_cycle, float(targets[0]), unit_cost)
    short = np.array([e[s] for e, s in zip(escs, levels, strict=True)])
    safe = np.where(per_cycle > 0, per_cycle, 1.0)
    fill = np.where(per_cycle > 0, 1.0 - short / safe, 1.0)
    total = float(per_cycle.sum())
    pooled_fill = 1.0 - float(short.sum()) / total if total > 0 else 1.0
    return Levels(order_up_to=levels, expected_fill=fill, pooled_fill=pooled_fill)


def _smallest_level(esc: np.ndarray, target: float) -> int:
    """The smallest ``S`` with ``ESC(S) <= (1 − target) ESC(0)``."""
    allowed = (1.0 - target) * esc[0]
    return int(np.argmax(esc <= allowed + 1e-12))


def _marginal(
    escs: list[np.ndarray],
    start: np.ndarray,
    per_cycle: np.ndarray,
    target: float,
    unit_cost: Sequence[float] | None,
) -> np.ndarray:
    """Add units above ``start`` in order of short units saved (per cost) until the group's
    expected short units are at most ``(1 − target)`` of its demand per cycle."""
    short_now = sum(float(e[s]) for e, s in zip(escs, start, strict=True))
    deficit = short_now - (1.0 - target) * float(per_cycle.sum())
    if deficit <= 0:
        return start
    keys, gains, owners, steps = [], [], [], []
    for i, (esc, s) in enumerate(zip(escs, start, strict=True)):
        gain = esc[s:-1] - esc[s + 1 :]
        if gain.size == 0:
            continue
        # The best any further unit of this series can still buy: with it, every series'
        # units are taken in order, so the taken set is always S = start … start + k.
        best = np.maximum.accumulate(gain[::-1])[::-1]
        cost = float(unit_cost[i]) if unit_cost is not None else 1.0
        keys.append(best / max(cost, 1e-9))
        gains.append(gain)
        owners.append(np.full(gain.size, i))
        steps.append(np.arange(gain.size))
    if not keys:
        return start
    key, gain = np.concatenate(keys), np.concatenate(gains)
    owner, step = np.concatenate(owners), np.concatenate(steps)
    order = np.lexsort((step, owner, -key))
    saved = np.cumsum(gain[order])
    taken = min(int(np.searchsorted(saved, deficit - 1e-9)) + 1, order.size)
    levels = start.copy()
    np.add.at(levels, owner[order[:taken]], 1)
    return levels


def textbook_levels(
    values: np.ndarray, lead_days: int, review_days: int, target: float
) -> tuple[int, int]:
    """The textbook normal-approximation (s, S): ``s = μ(L+R) + z σ √(L+R)``, ``S = s + μR``
    with ``μ``, ``σ`` the daily mean and standard deviation of the whole history and ``z`` the
    normal quantile of the target; both rounded up to whole units."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return (0, 0)
    mean, sigma = float(values.mean()), float(values.std())
    z = NormalDist().inv_cdf(target)
    window = lead_days + review_days
    s = mean * window + z * sigma * math.sqrt(window)
    big_s = s + mean * review_days
    return (max(0, math.ceil(s - 1e-9)), max(0, math.ceil(big_s - 1e-9)))
