"""Reorder policies per SKU × location: ``service_level`` (from the demand distribution),
``min_max`` (hand-set), and the textbook normal approximation (for comparison).

A policy is a periodic-review (s, S): at a review, when the inventory position (on hand + on
order + inbound − held − allocated out) is at or below the reorder point ``s``, order up to
``S``. ``safety_stock`` is ``s`` minus the expected demand over lead time + review period: the
stock held against that demand's uncertainty (negative when a pooled target leaves a slow item
below its mean).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .distribution import DEFAULT_MODEL, DemandModel, WindowDemand, window_demand
from .levels import fill_rate_levels, textbook_levels

SERVICE_LEVEL = "service_level"
MIN_MAX = "min_max"
TEXTBOOK = "textbook_normal"


@dataclass(frozen=True)
class PolicyConfig:
    lead_days: int | tuple[int, ...]  # a lead time, or the lead times actually seen
    review_days: int
    service_level: float  # the fill-rate target (units served / units demanded)
    pooled: bool = True  # the target holds over the group (marginal allocation)
    floor: float = 0.0  # with ``pooled``: no series below this expected fill
    model: DemandModel = field(default_factory=lambda: DEFAULT_MODEL)

    def __post_init__(self) -> None:
        leads = (self.lead_days,) if isinstance(self.lead_days, int) else self.lead_days
        if not leads or any(lead < 0 for lead in leads):
            raise ValueError("lead_days: a lead time must be 0 days or more")
        if self.review_days < 1:
            raise ValueError(f"review_days: must be at least 1, not {self.review_days}")
        if not 0.0 < self.service_level < 1.0:
            raise ValueError(
                f"service_level: a fill rate between 0 and 1 (exclusive), not {self.service_level}"
            )
        if not 0.0 <= self.floor < 1.0:
            raise ValueError(f"floor: a fill rate in [0, 1), not {self.floor}")


@dataclass(frozen=True)
class Policy:
    sku: str
    location: str
    reorder_point: int
    order_up_to: int
    safety_stock: float
    method: str  # the model that sized it: compound_bootstrap, window_empirical, ...
    demand_class: str = ""  # SBC: smooth, erratic, intermittent, lumpy, none
    daily_mean: float = 0.0  # the demand level used, units a day
    expected_fill: float | None = None  # what the policy is expected to serve


@dataclass(frozen=True)
class SeriesInput:
    """One series for ``service_level_policies``: daily demand, oldest first, from its first
    sale (leading zeros may be left in: they are dropped)."""

    sku: str
    location: str
    values: np.ndarray
    unit_cost: float = 1.0
    lead_days: tuple[int, ...] | None = None  # this series' own lead times, if known


def service_level_policies(
    series: Sequence[SeriesInput],
    config: PolicyConfig,
    *,
    targets: Sequence[float] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Policy]:
    """``service_level`` policies for a group: the group's ``config.service_level`` by marginal
    allocation (``config.pooled``), each series' own target, or ``targets`` (one per series,
    e.g. its ABC/XYZ class's; implies per series). ``progress(done, total)`` is called as the
    distributions are estimated."""
    demands = []
    for done, item in enumerate(series, start=1):
        demands.append(
            window_demand(
                _from_first_sale(item.values),
                item.lead_days or config.lead_days,
                config.review_days,
                config.model,
            )
        )
        if progress is not None and (done % 200 == 0 or done == len(series)):
            progress(done, len(series))
    pooled = config.pooled and targets is None
    target: float | Sequence[float] = targets if targets is not None else config.service_level
    costs = [item.unit_cost for item in series] if pooled else None
    levels = fill_rate_levels(demands, target, pooled=pooled, floor=config.floor, unit_cost=costs)
    return [
        _policy(item, demand, int(level), float(fill))
        for item, demand, level, fill in zip(
            series, demands, levels.order_up_to, levels.expected_fill, strict=True
        )
    ]


def _policy(item: SeriesInput, demand: WindowDemand, level: int, fill: float) -> Policy:
    return Policy(
        sku=item.sku,
        location=item.location,
        # An order-up-to policy: s = S, every review orders what was sold since the last.
        reorder_point=level,
        order_up_to=level,
        safety_stock=round(level - demand.window_mean, 4),
        method=demand.method,
        demand_class=demand.demand_class,
        daily_mean=round(demand.daily_mean, 4),
        expected_fill=round(fill, 4),
    )


def textbook_policy(
    sku: str, location: str, values: np.ndarray, lead_days: int, review_days: int, target: float
) -> Policy:
    """The textbook normal-approximation (s, S) (see ``levels.textbook_levels``)."""
    values = _from_first_sale(values)
    s, big_s = textbook_levels(values, lead_days, review_days, target)
    mean = float(values.mean()) if values.size else 0.0
    return Policy(
        sku=sku,
        location=location,
        reorder_point=s,
        order_up_to=big_s,
        safety_stock=round(s - mean * (lead_days + review_days), 4),
        method=TEXTBOOK,
        daily_mean=round(mean, 4),
    )


def min_max_policy(
    sku: str, location: str, minimum: int, maximum: int, *, window_mean: float = 0.0
) -> Policy:
    """A hand-set policy, passed through: reorder at ``minimum``, order up to ``maximum``."""
    if minimum < 0:
        raise ValueError(f"minimum: must be 0 or more, not {minimum}")
    if maximum < minimum:
        raise ValueError(f"maximum: {maximum} is below the minimum {minimum}")
    return Policy(
        sku=sku,
        location=location,
        reorder_point=int(minimum),
        order_up_to=int(maximum),
        safety_stock=round(minimum - window_mean, 4),
        method=MIN_MAX,
    )


def _from_first_sale(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    sold = np.flatnonzero(values > 0)
    return values[sold[0] :] if sold.size else values[:0]
