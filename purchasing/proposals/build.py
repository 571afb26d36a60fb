"""What a proposal run reads from the database: the locations that buy, the supplier of each
SKU, the parts of each position and the demand over the lead time plus review period.

Position = on hand + on order + inbound transfers − held − allocated out, where

* **on hand**, **held**: the location's stock level (``held`` = reserved: order holds, approved
  transfers waiting at the source);
* **on order**: the open quantity of its purchase orders sent or partially received
  (``purchasing.selectors.on_order``), plus its draft purchase orders (so that a proposal
  approved yesterday and not yet sent is not bought again today);
* **inbound**: transfers to it that are approved or dispatched;
* **allocated out**: draft transfers from it (an allocation plan made but not approved yet;
  approved ones are already held).

The demand of a DC is the city's: its own series plus every store's of the city (the DC
refills them). From the forecasting run current at each location: the point forecast summed
over the window and the run's calibrated window quantiles
(``total + z_q × √(total + 1)``, docs/forecasting.md "window quantiles"), applied to the summed
total. Without a run, or a window beyond its horizon, the recent daily history stands in
(``policy.proposal_levels.from_history``), and the line says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from django.db.models import Sum

from forecasting.engine.windows import spread
from forecasting.models import ForecastSeries
from forecasting.selectors import current_run_for, demand_history, window_calibrations
from inventory.models import (
    Location,
    LocationKind,
    StockLevel,
    TransferLine,
    TransferStatus,
)
from omni.models import City
from purchasing.models import (
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReorderPolicy,
    ReorderPolicyKind,
    SupplierItem,
)
from purchasing.policy.proposal_levels import WindowLevels, from_history, from_quantiles
from purchasing.selectors import lead_time_seen, on_order

Key = tuple[int, int]  # (product id, location id)


@dataclass
class Parts:
    on_hand: int = 0
    held: int = 0
    on_order: int = 0
    inbound: int = 0
    allocated_out: int = 0

    @property
    def position(self) -> int:
        return self.on_hand + self.on_order + self.inbound - self.held - self.allocated_out


def buying_locations(city: City) -> list[Location]:
    """The city's active DCs, and the stores with a reorder policy of their own."""
    dcs = Location.objects.filter(city=city, kind=LocationKind.WAREHOUSE, active=True)
    stores = Location.objects.filter(
        city=city,
        kind=LocationKind.STORE,
        active=True,
        pk__in=ReorderPolicy.objects.values("location_id"),
    )
    return list(dcs.order_by("code")) + list(stores.order_by("code"))


def supplier_items(locations: list[Location]) -> dict[Key, SupplierItem]:
    """Per (product, location) the item it buys: the preferred supplier's when it delivers
    there, else the cheapest active one that does."""
    items = (
        SupplierItem.objects.filter(active=True, supplier__active=True, product__active=True)
        .select_related("supplier", "product")
        .order_by("-preferred", "cost", "supplier__code")
    )
    by_product: dict[int, list[SupplierItem]] = defaultdict(list)
    for item in items:
        by_product[item.product_id].append(item)
    out: dict[Key, SupplierItem] = {}
    store_policies = set(
        ReorderPolicy.objects.filter(location__in=locations).values_list(
            "product_id", "location_id"
        )
    )
    for loc in locations:
        dc = loc.kind == LocationKind.WAREHOUSE
        for product_id, candidates in by_product.items():
            if not dc and (product_id, loc.pk) not in store_policies:
                continue
            for item in candidates:
                s = item.supplier
                if (dc and s.delivers_to_dc) or (not dc and s.delivers_to_stores):
                    out[(product_id, loc.pk)] = item
                    break
    return out


def position_parts(keys: list[Key]) -> dict[Key, Parts]:
    location_ids = sorted({loc for _, loc in keys})
    product_ids = sorted({p for p, _ in keys})
    parts: dict[Key, Parts] = {k: Parts() for k in keys}

    def part(key: Key) -> Parts | None:
        return parts.get(key)

    for p, loc, on_hand, reserved in StockLevel.objects.filter(
        location_id__in=location_ids, product_id__in=product_ids
    ).values_list("product_id", "location_id", "on_hand", "reserved"):
        if (x := part((p, loc))) is not None:
            x.on_hand, x.held = on_hand, reserved
    for (p, loc), units in on_order(location_ids, product_ids).items():
        if (x := part((p, loc))) is not None:
            x.on_order += units
    # drafts too: a proposal approved yesterday and not sent yet is not bought again today
    for p, loc, ordered in PurchaseOrderLine.objects.filter(
        purchase_order__ship_to_id__in=location_ids,
        purchase_order__status=PurchaseOrderStatus.DRAFT,
        product_id__in=product_ids,
    ).values_list("product_id", "purchase_order__ship_to_id", "quantity_ordered"):
        if (x := part((p, loc))) is not None:
            x.on_order += ordered
    inbound = (
        TransferLine.objects.filter(
            transfer__destination_id__in=location_ids,
            transfer__status__in=(TransferStatus.APPROVED, TransferStatus.DISPATCHED),
            product_id__in=product_ids,
        )
        .values_list("product_id", "transfer__destination_id")
        .annotate(total=Sum("quantity"))
    )
    for p, loc, total in inbound:
        if (x := part((p, loc))) is not None:
            x.inbound = int(total or 0)
    outgoing = (
        TransferLine.objects.filter(
            transfer__source_id__in=location_ids,
            transfer__status=TransferStatus.DRAFT,
            product_id__in=product_ids,
        )
        .values_list("product_id", "transfer__source_id")
        .annotate(total=Sum("quantity"))
    )
    for p, loc, total in outgoing:
        if (x := part((p, loc))) is not None:
            x.allocated_out = int(total or 0)
    return parts


def lead_time_days(item: SupplierItem) -> int:
    """The lead time a line plans with: the mean of the supplier's deliveries of the SKU when
    it has made enough of them (``purchasing.selectors.lead_time_seen``), else the promised one;
    in whole days, rounded up."""
    seen = lead_time_seen(item)
    return max(0, math.ceil(seen.days - 1e-9))


def policies(keys: list[Key]) -> dict[Key, ReorderPolicy]:
    product_ids = sorted({p for p, _ in keys})
    location_ids = sorted({loc for _, loc in keys})
    return {
        (pol.product_id, pol.location_id): pol
        for pol in ReorderPolicy.objects.filter(
            product_id__in=product_ids, location_id__in=location_ids
        )
    }


@dataclass
class DemandSource:
    """The forecasts and history a run reads its demand from, loaded once."""

    city: City
    today: date
    series: dict[Key, list[ForecastSeries]]  # per (product, buying location): series that count
    calibration: dict[int, dict[str, Any]]  # per forecast run
    history: dict[Key, np.ndarray]  # per (product, buying location): daily, oldest first
    run_ids: list[int]


def city_demand_locations(city: City) -> list[Location]:
    """The city's active DCs and stores: where its demand is recorded."""
    return list(
        Location.objects.filter(
            city=city, kind__in=(LocationKind.WAREHOUSE, LocationKind.STORE), active=True
        )
    )


def demand_feeds(locations: list[Location], city_locations: list[Location]) -> dict[int, list[int]]:
    """Which demand locations feed each buying location: a DC the whole city, a store itself."""
    return {
        loc.pk: ([c.pk for c in city_locations] if loc.kind == LocationKind.WAREHOUSE else [loc.pk])
        for loc in locations
    }


def buying_history(city: City, locations: list[Location], keys: list[Key]) -> dict[Key, np.ndarray]:
    """Daily recorded demand per (product, buying location), oldest first, ending yesterday:
    ``forecasting.selectors.demand_history`` of the locations that feed it, summed. Keys with
    no demand at all are absent."""
    city_locations = city_demand_locations(city)
    feeds = demand_feeds(locations, city_locations)
    if not keys:
        return {}
    past = demand_history(
        city=city,
        products=sorted({p for p, _ in keys}),
        locations=[c.pk for c in city_locations],
    )
    daily: dict[Key, np.ndarray] = {}
    for one in past.history.series:
        daily[past.ids((one.sku, one.location))] = np.asarray(one.values, dtype=float)
    history: dict[Key, np.ndarray] = {}
    for p, loc_id in keys:
        parts = [daily[(p, f)] for f in feeds[loc_id] if (p, f) in daily]
        if parts:
            n = max(len(a) for a in parts)
            total = np.zeros(n)
            for a in parts:  # every series ends on the same day: align the ends
                total[n - len(a) :] += a
            history[(p, loc_id)] = total
    return history


def demand_source(
    city: City, locations: list[Location], keys: list[Key], today: date
) -> DemandSource:
    city_locations = city_demand_locations(city)
    product_ids = sorted({p for p, _ in keys})
    feeds = demand_feeds(locations, city_locations)
    run_of = {c.pk: current_run_for(c) for c in city_locations}
    run_ids = sorted({r for r in run_of.values() if r is not None})
    by_series: dict[Key, ForecastSeries] = {}
    for run_id in run_ids:
        locs = [pk for pk, r in run_of.items() if r == run_id]
        for s in ForecastSeries.objects.filter(
            run_id=run_id, location_id__in=locs, product_id__in=product_ids
        ).only("run_id", "product_id", "location_id", "start", "values"):
            by_series[(s.product_id, s.location_id)] = s
    series: dict[Key, list[ForecastSeries]] = {}
    for p, loc_id in keys:
        found = [by_series[(p, f)] for f in feeds[loc_id] if (p, f) in by_series]
        if found:
            series[(p, loc_id)] = found
    missing = [k for k in keys if k not in series]
    return DemandSource(
        city=city,
        today=today,
        series=series,
        calibration=window_calibrations(run_ids),
        history=buying_history(city, locations, missing),
        run_ids=run_ids,
    )


def _level_number(name: str) -> float | None:
    try:
        value = float(name.lstrip("q")) / 100
    except ValueError:
        return None
    return value if 0 < value < 1 else None


def window_levels(
    source: DemandSource, key: Key, *, lead_days: int, review_days: int, service_level: float
) -> WindowLevels:
    """The line's levels from its forecasts, else from its history (see the module docstring)."""
    window = lead_days + review_days
    found = source.series.get(key)
    if found:
        calib = source.calibration.get(found[0].run_id, {}).get(str(window))
        total, review, complete = 0.0, 0.0, True
        for s in found:
            offset = max(0, (source.today - s.start).days)
            values = s.values[offset : offset + window]
            if len(values) < window:
                complete = False
                break
            total += float(sum(values))
            review += float(sum(s.values[offset + lead_days : offset + window]))
        if complete and calib:
            quantiles: dict[float, float] = {}
            for name, z in calib.items():
                level = _level_number(name)
                if level is not None and level >= 0.5:
                    quantiles[level] = max(total + float(z) * float(spread(total)), 0.0)
            if quantiles:
                return from_quantiles(
                    total=total,
                    quantiles=quantiles,
                    review_mean=review,
                    service_level=service_level,
                    method=f"forecast:{found[0].run_id}",
                )
    daily = source.history.get(key, np.zeros(0))
    return from_history(
        daily.tolist(), lead_days=lead_days, review_days=review_days, service_level=service_level
    )


def min_max_levels(policy: ReorderPolicy, demand: WindowLevels) -> WindowLevels:
    """A hand-set min/max: its levels, the demand's scenarios (for the budget) kept."""
    low = int(policy.min_quantity or 0)
    high = int(policy.max_quantity or 0)
    return WindowLevels(
        forecast=demand.forecast,
        reorder_point=low,
        order_up_to=max(high, low),
        safety_stock=max(0, round(low - demand.forecast)),
        scenarios=demand.scenarios,
        method="min_max",
    )


def policy_of(
    policy: ReorderPolicy | None, *, service_level: float, review_days: int
) -> tuple[str, float, int]:
    """(kind, service level, review days) of a line: its own policy's, else the run's."""
    if policy is None:
        return ReorderPolicyKind.SERVICE_LEVEL, service_level, review_days
    level = float(policy.service_level) if policy.service_level is not None else service_level
    return policy.kind, level, int(policy.review_days or review_days)
