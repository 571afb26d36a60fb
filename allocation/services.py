"""Allocation runs: build a city's problem from the database, solve it, save the plan, and the
planner's approve (→ transfers, once) or reject.

Need per (SKU, store) = forecast over the cover window + safety stock − position, where the
cover window is the lane's lead time + the review period, position = on_hand − reserved +
inbound (transfers approved or dispatched, not yet received, and open purchase orders shipping
to the store: ``inventory.inbound``). The forecast is the store's
current forecasting run (``forecasting.ForecastSeries``: the point forecast summed over the
window; safety stock = the window total's quantile nearest the service level minus that total,
from the run's calibration of window totals — ``forecasting.selectors.window_demand``; a run
without one, or a window beyond its horizon, sums the daily quantiles instead). Where no
forecast exists the fallback is a moving average of the last 28 days of ``sale``/``ship``/
``pickup`` moves, safety stock z·σ·√window; the run records which was used.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from statistics import NormalDist
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from allocation import optimizer as opt
from allocation.errors import AllocationAlreadyDecided, AllocationNoPlan
from allocation.locks import lock_allocation_run
from allocation.models import AllocationLine, AllocationRun, RunDecision, RunStatus
from forecasting.models import ForecastSeries
from forecasting.selectors import current_run_for, window_calibrations, window_demand
from inventory.geo import haversine_km
from inventory.inbound import expected_inbound
from inventory.locks import lock_stock_levels, lock_transfers
from inventory.models import (
    Location,
    LocationKind,
    MoveReason,
    Product,
    StockLevel,
    StockMove,
    Transfer,
)
from inventory.services import transfer_approve, transfer_create
from network.models import Service
from network.selectors import live_locations
from omni.errors import ApplicationError, InvalidInput
from omni.models import City, User
from omni.selectors import city_today

HISTORY_DAYS = 28
DEMAND_REASONS = (MoveReason.SALE, MoveReason.SHIP, MoveReason.PICKUP)

Progress = Callable[[int, str], None]


def setting(name: str, default: Any) -> Any:
    return getattr(settings, f"OMNI_ALLOCATION_{name}", default)


def default_parameters() -> dict[str, Any]:
    return {
        "service_level": float(setting("SERVICE_LEVEL", 0.9)),
        "review_days": int(setting("REVIEW_DAYS", 7)),
        "lead_days": int(setting("LEAD_DAYS", 1)),
        "km_per_day": float(setting("KM_PER_DAY", 400.0)),
        "cost_per_km": float(setting("COST_PER_KM", 0.002)),
        "dc_safety_days": float(setting("DC_SAFETY_DAYS", 0.0)),
        "fairness": float(setting("FAIRNESS", 0.01)),
        "time_limit": float(setting("TIME_LIMIT", 60.0)),
        "gap": float(setting("GAP", 0.0)),
        "solver": str(setting("SOLVER", "highs")),
        "method": "auto",
    }


def _km(a: Location, b: Location) -> float:
    coords = [a.latitude, a.longitude, b.latitude, b.longitude]
    if any(x is None for x in coords):
        return 0.0
    return haversine_km(*(float(x or 0) for x in coords))


@dataclass
class CityProblem:
    problem: opt.Problem
    products: list[Product]
    sources: list[Location]
    stores: list[Location]
    need_source: str
    lead_days: dict[str, int]


def _positions(location_ids: list[int]) -> dict[tuple[int, int], tuple[int, int]]:
    return {
        (row["product_id"], row["location_id"]): (row["on_hand"], row["reserved"])
        for row in StockLevel.objects.filter(location_id__in=location_ids).values(
            "product_id", "location_id", "on_hand", "reserved"
        )
    }


def _inbound(store_ids: list[int]) -> dict[tuple[int, int], int]:
    """Units expected in at the stores: inbound transfers and open purchase orders shipping
    straight to them (``inventory.inbound``)."""
    return expected_inbound(location_ids=store_ids)


def _moving_average(
    store_ids: list[int], product_ids: list[int], since: Any
) -> dict[tuple[int, int], list[float]]:
    """Daily demand of the last HISTORY_DAYS days per (product, store)."""
    daily: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0] * HISTORY_DAYS)
    moves = StockMove.objects.filter(
        from_location_id__in=store_ids,
        product_id__in=product_ids,
        reason__in=DEMAND_REASONS,
        created_at__gte=since,
    ).values_list("product_id", "from_location_id", "created_at", "quantity")
    for product_id, store_id, created, quantity in moves:
        day = min(HISTORY_DAYS - 1, max(0, (created - since).days))
        daily[(product_id, store_id)][day] += quantity
    return daily


def _forecasts(
    stores: list[Location], product_ids: list[int]
) -> tuple[dict[tuple[int, int], Any], str]:
    """The current forecasting run's series per (product, store), where a run has any (else
    the moving average stands in)."""
    out: dict[tuple[int, int], Any] = {}
    runs: set[int] = set()
    for store in stores:
        run_id = current_run_for(store)
        if run_id is None:
            continue
        runs.add(run_id)
        for series in ForecastSeries.objects.filter(
            run_id=run_id, location=store, product_id__in=product_ids
        ):
            out[(series.product_id, store.pk)] = series
    return out, ",".join(str(r) for r in sorted(runs))


def _window_sum(values: list[float], start: Any, today: Any, days: int) -> float:
    offset = max(0, (today - start).days)
    return float(sum(values[offset : offset + days]))


def allocation_problem_build(*, city: City, parameters: dict[str, Any]) -> CityProblem:
    """The city's allocation problem as the optimizer takes it (see the module docstring)."""
    params = {**default_parameters(), **parameters}
    today = city_today(city)
    sources = list(
        Location.objects.filter(city=city, kind=LocationKind.WAREHOUSE, active=True).order_by(
            "code"
        )
    )
    stores = [
        loc
        for loc in live_locations(city=city, service=Service.STORE_SALE).distinct()
        if loc.kind == LocationKind.STORE
    ]
    if not sources:
        raise InvalidInput.saying(
            _("city %(city)s has no active DC"), detail={"city": city.code}, city=city.code
        )
    if not stores:
        raise InvalidInput.saying(
            _("city %(city)s has no live store"), detail={"city": city.code}, city=city.code
        )
    source_ids = [s.pk for s in sources]
    store_ids = [s.pk for s in stores]
    positions = _positions(source_ids + store_ids)
    product_ids = sorted({p for (p, loc) in positions if loc in source_ids})
    products = list(Product.objects.filter(pk__in=product_ids, active=True).order_by("sku"))
    product_ids = [p.pk for p in products]
    n_i, n_d, n_s = len(products), len(sources), len(stores)

    # lanes: cost per unit = rate × km; lead time = base + km / km per day
    cost = np.zeros((n_d, n_s))
    lead = np.zeros((n_d, n_s), dtype=np.int64)
    for d, src in enumerate(sources):
        for s, store in enumerate(stores):
            km = _km(src, store)
            cost[d, s] = round(params["cost_per_km"] * km, 6)
            lead[d, s] = params["lead_days"] + math.ceil(km / params["km_per_day"])
    # a store's cover window uses its nearest lane
    window = lead.min(axis=0) + params["review_days"]

    forecasts, forecast_runs = _forecasts(stores, product_ids)
    calibrations = window_calibrations({series.run_id for series in forecasts.values()})
    since = timezone.now() - timedelta(days=HISTORY_DAYS)
    history = _moving_average(store_ids + source_ids, product_ids, since)
    inbound = _inbound(store_ids)
    z = NormalDist().inv_cdf(min(max(params["service_level"], 0.5), 0.9999))
    q_key = f"q{round(params['service_level'] * 100)}"

    need = np.zeros((n_i, n_s), dtype=np.int64)
    used_forecast = used_average = 0
    for i, product in enumerate(products):
        for s, store in enumerate(stores):
            w = int(window[s])
            series = forecasts.get((product.pk, store.pk))
            window_total = (
                window_demand(
                    series,
                    calibration=calibrations.get(series.run_id, {}),
                    first_day=today,
                    days=w,
                    level=q_key,
                )
                if series is not None
                else None
            )
            if window_total is not None:
                used_forecast += 1
                mean = window_total.total
                safety = max(0.0, window_total.upper - mean)
            elif series is not None:
                used_forecast += 1
                mean = _window_sum(series.values, series.start, today, w)
                quantiles = series.quantiles or {}
                key = q_key if q_key in quantiles else _nearest_quantile(quantiles, q_key)
                upper = _window_sum(quantiles[key], series.start, today, w) if key else mean
                safety = max(0.0, upper - mean)
            else:
                used_average += 1
                days = history.get((product.pk, store.pk), [0.0] * HISTORY_DAYS)
                mean = float(np.mean(days)) * w
                safety = z * float(np.std(days)) * math.sqrt(w)
            on_hand, reserved = positions.get((product.pk, store.pk), (0, 0))
            position = on_hand - reserved + inbound.get((product.pk, store.pk), 0)
            need[i, s] = max(0, math.ceil(mean + safety - position - 1e-9))

    available = np.zeros((n_i, n_d), dtype=np.int64)
    for i, product in enumerate(products):
        for d, src in enumerate(sources):
            on_hand, reserved = positions.get((product.pk, src.pk), (0, 0))
            daily = float(np.mean(history.get((product.pk, src.pk), [0.0])))
            dc_safety = math.ceil(daily * params["dc_safety_days"])
            available[i, d] = max(0, on_hand - reserved - dc_safety)

    volume = np.array([float(p.unit_volume or 0) for p in products])
    capacity = np.full(n_s, np.inf)
    for s, store in enumerate(stores):
        if store.capacity is not None:
            used = sum(
                volume[i] * positions.get((p.pk, store.pk), (0, 0))[0]
                for i, p in enumerate(products)
            )
            capacity[s] = max(0.0, float(store.capacity) - used)
    penalty = np.array([max(float(p.price - p.cost), 0.0) for p in products])
    problem = opt.Problem(
        sku_ids=[p.sku for p in products],
        source_ids=[s.code for s in sources],
        store_ids=[s.code for s in stores],
        pack=np.array([max(1, p.pack_size) for p in products], dtype=np.int64),
        volume=volume,
        penalty=penalty,
        available=available,
        need=need,
        capacity=capacity,
        cost=cost,
        fairness=float(params["fairness"]),
        time_limit=float(params["time_limit"]),
        gap=float(params["gap"]),
        solver=str(params["solver"]),
        method=str(params["method"]),
    )
    if used_forecast and used_average:
        need_source = f"forecast run {forecast_runs} + moving_average"
    elif used_forecast:
        need_source = f"forecast run {forecast_runs}"
    else:
        need_source = "moving_average"
    return CityProblem(
        problem=problem,
        products=products,
        sources=sources,
        stores=stores,
        need_source=need_source[:32],
        lead_days={st.code: int(lead[:, s].min()) for s, st in enumerate(stores)},
    )


def _nearest_quantile(quantiles: dict[str, Any], key: str) -> str | None:
    def level(k: str) -> float:
        try:
            return float(k[1:])
        except ValueError:
            return -1.0

    keys = [k for k in quantiles if level(k) >= 50]
    if not keys:
        return None
    target = level(key)
    return min(keys, key=lambda k: abs(level(k) - target))


@transaction.atomic
def allocation_run_create(
    *, city: City, parameters: dict[str, Any] | None = None, actor: User | None = None
) -> AllocationRun:
    params = {**default_parameters(), **(parameters or {})}
    if params["solver"] not in opt.SOLVERS:
        raise InvalidInput.saying(
            _("solver must be one of %(choices)s"), choices=", ".join(opt.SOLVERS)
        )
    if params["method"] not in opt.METHODS:
        raise InvalidInput.saying(
            _("method must be one of %(choices)s"), choices=", ".join(opt.METHODS)
        )
    if not 0.5 <= params["service_level"] < 1:
        raise InvalidInput.saying(_("service_level must be in [0.5, 1)"))
    return AllocationRun.objects.create(city=city, parameters=params, created_by=actor)


def _progress(run: AllocationRun, percent: int, message: str) -> None:
    AllocationRun.objects.filter(pk=run.pk).update(progress=percent, progress_message=message)
    run.progress, run.progress_message = percent, message


def allocation_run_execute(
    *, run: AllocationRun, progress: Progress | None = None
) -> AllocationRun:
    """Build, solve and save one run (called by the task; safe to call again: a run already
    finished is returned as it is)."""

    def report(percent: int, message: str) -> None:
        _progress(run, percent, message)
        if progress is not None:
            progress(percent, message)

    run = AllocationRun.objects.get(pk=run.pk)
    if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
        return run
    AllocationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now()
    )
    t0 = time.perf_counter()
    try:
        report(5, "reading stock, forecasts and transfers")
        built = allocation_problem_build(city=run.city, parameters=run.parameters)
        t1 = time.perf_counter()
        report(30, f"solving {len(built.products)} SKUs × {len(built.stores)} stores")
        plan = opt.solve(built.problem)
        t2 = time.perf_counter()
        report(85, "saving the plan")
        _save_plan(run, built, plan, {"read": t1 - t0, "solve_total": t2 - t1})
        report(100, f"{plan.status}")
    except ApplicationError as exc:
        _fail(run, exc.message)
        raise
    except Exception as exc:
        _fail(run, f"{type(exc).__name__}: {exc}")
        raise
    run.refresh_from_db()
    return run


def _fail(run: AllocationRun, message: str) -> None:
    AllocationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.FAILED, message=message[:2000], finished_at=timezone.now()
    )


@transaction.atomic
def _save_plan(
    run: AllocationRun, built: CityProblem, plan: opt.Plan, timings: dict[str, float]
) -> None:
    p = built.problem
    lines: list[AllocationLine] = []
    unmet = plan.unmet_units()
    packs = plan.packs
    for i, s in zip(*np.nonzero(p.need), strict=True):
        shipped_any = False
        if packs is not None:
            for d in np.flatnonzero(packs[i, :, s]):
                k = int(packs[i, d, s])
                lines.append(
                    AllocationLine(
                        run=run,
                        product=built.products[i],
                        source=built.sources[d],
                        store=built.stores[s],
                        need=int(p.need[i, s]),
                        packs=k,
                        units=k * int(p.pack[i]),
                        unmet=int(unmet[i, s]),
                    )
                )
                shipped_any = True
        if not shipped_any:
            lines.append(
                AllocationLine(
                    run=run,
                    product=built.products[i],
                    source=None,
                    store=built.stores[s],
                    need=int(p.need[i, s]),
                    unmet=int(unmet[i, s]),
                )
            )
    AllocationLine.objects.filter(run=run).delete()
    AllocationLine.objects.bulk_create(lines, batch_size=2000)
    total_need = int(p.need.sum())
    run.status = plan.status
    run.inputs = p.to_json()
    run.need_source = built.need_source
    run.method = plan.method
    run.objective = plan.objective
    run.bound = plan.bound
    run.gap = plan.gap
    run.terms = plan.terms
    run.fill_rate = plan.fill_rate() if plan.has_plan else {}
    run.total_fill_rate = (
        (total_need - int(unmet.sum())) / total_need if total_need and plan.has_plan else None
    )
    run.transport_cost = plan.terms.get("transport") if plan.has_plan else None
    run.timings = {
        **{k: round(v, 3) for k, v in timings.items()},
        "build": round(plan.build_seconds, 3),
        "solve": round(plan.solve_seconds, 3),
    }
    run.message = plan.message
    run.finished_at = timezone.now()
    run.parameters = {**run.parameters, "lead_days_per_store": built.lead_days}
    run.save()


def _lock_run(run: AllocationRun) -> AllocationRun:
    """The run row, locked until the caller's transaction ends (the caller holds it)."""
    return lock_allocation_run(run.pk)


def allocation_run_transfers(run: AllocationRun) -> list[Transfer]:
    return list(
        Transfer.objects.filter(reference=run.reference).order_by("destination__code", "pk")
    )


@transaction.atomic
def allocation_run_approve(*, run: AllocationRun, actor: User | None = None) -> list[Transfer]:
    """The plan becomes transfers (approved: stock reserved at the DC), all in one
    transaction, once: approving an approved run returns the transfers it made."""
    run = _lock_run(run)
    if run.decision == RunDecision.APPROVED:
        return allocation_run_transfers(run)
    if run.decision == RunDecision.REJECTED:
        raise AllocationAlreadyDecided(run)
    if not run.has_plan:
        raise AllocationNoPlan(run)
    by_lane: dict[tuple[int, int], list[tuple[Product, int]]] = defaultdict(list)
    lines = AllocationLine.objects.filter(run=run, source__isnull=False, units__gt=0)
    for line in lines.select_related("product", "source", "store").order_by("product__sku"):
        assert line.source is not None
        by_lane[(line.source.pk, line.store.pk)].append((line.product, line.units))
    locations = Location.objects.in_bulk({pk for lane in by_lane for pk in lane})
    drafts = [
        transfer_create(
            source=locations[source_id],
            destination=locations[store_id],
            lines=transfer_lines,
            reference=run.reference,
            note=f"allocation run {run.pk}",
            actor=actor,
        )
        for (source_id, store_id), transfer_lines in sorted(by_lane.items())
    ]
    # One lock order (docs/locking.md): the run, then every transfer, then every stock level
    # the run reserves at once in (location, product) order; approving lane by lane would take
    # the DC's stock levels in lane order and could deadlock with a multi-line hold there.
    lock_transfers(t.pk for t in drafts)
    lock_stock_levels(
        (source_id, product.pk)
        for (source_id, _), transfer_lines in by_lane.items()
        for product, _ in transfer_lines
    )
    for transfer in drafts:
        transfer_approve(transfer=transfer, actor=actor)
    AllocationRun.objects.filter(pk=run.pk).update(
        decision=RunDecision.APPROVED, decided_by=actor, decided_at=timezone.now()
    )
    return allocation_run_transfers(run)


@transaction.atomic
def allocation_run_reject(*, run: AllocationRun, actor: User | None = None) -> AllocationRun:
    run = _lock_run(run)
    if run.decision == RunDecision.REJECTED:
        return run
    if run.decision == RunDecision.APPROVED:
        raise AllocationAlreadyDecided(run)
    AllocationRun.objects.filter(pk=run.pk).update(
        decision=RunDecision.REJECTED, decided_by=actor, decided_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def fill_rate_by_sku(run: AllocationRun) -> list[dict[str, Any]]:
    rows = (
        AllocationLine.objects.filter(run=run)
        .values(sku=F("product__sku"))
        .annotate(need=Sum("need"), units=Sum("units"), unmet=Sum("unmet"))
        .order_by("sku")
    )
    return list(rows)
