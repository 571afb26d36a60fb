"""Replenishment proposal runs: create (by hand, or the daily job once per city and day),
execute (lines from positions and demand, the budget optimisation when a limit binds), the
planner's edits, and approve (→ one draft purchase order per supplier × ship-to, once) or
reject. See docs/replenishment.md.
"""

from __future__ import annotations

import datetime
import logging
import math
import zoneinfo
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import LocationKind, Product
from omni.models import City, User
from omni.selectors import city_today
from purchasing.models import PurchaseOrder, ReorderPolicyKind
from purchasing.policy.budget import BudgetLine, optimise
from purchasing.policy.rounding import round_to_pack
from purchasing.proposal_models import (
    ProposalDecision,
    ProposalLine,
    ProposalStatus,
    ReplenishmentRun,
)
from purchasing.services import (
    OrderLine,
    exchange_rates_on,
    purchase_order_create,
    reorder_policies_classify,
)

from . import build
from .errors import (
    ProposalAlreadyDecided,
    ProposalNotReady,
    ProposalParameterInvalid,
    ProposalQuantityNotOrderable,
)
from .locks import lock_replenishment_run

log = logging.getLogger(__name__)

CAPACITY_UNITS = ("units", "m3")
MAX_QUANTITY = 1_000_000
MAX_MONEY = Decimal("999999999999")


def setting(name: str, default: Any) -> Any:
    return getattr(settings, f"OMNI_REPLENISHMENT_{name}", default)


def daily_hour() -> int:
    """Local hour after which the daily run starts: after the forecasts' (02:00)."""
    return int(setting("DAILY_HOUR", 5))


def _checked(
    *,
    budget: Any,
    capacity: Any,
    capacity_unit: str,
    service_level: Any,
    review_days: Any,
) -> tuple[Decimal | None, float | None, float, int]:
    if budget is not None:
        try:
            budget = Decimal(str(budget))
        except ArithmeticError:
            budget = Decimal("NaN")
        if not budget.is_finite() or not 0 <= budget <= MAX_MONEY:
            raise ProposalParameterInvalid(
                "budget", str(budget), _("the budget must be a sum of 0 or more")
            )
        budget = budget.quantize(Decimal("0.01"))
    if capacity is not None:
        if isinstance(capacity, bool) or not isinstance(capacity, int | float):
            raise ProposalParameterInvalid(
                "capacity", str(capacity), _("the capacity must be a number")
            )
        if not math.isfinite(capacity) or capacity < 0:
            raise ProposalParameterInvalid(
                "capacity", capacity, _("the capacity must be 0 or more")
            )
    if capacity_unit not in CAPACITY_UNITS:
        raise ProposalParameterInvalid(
            "capacity_unit", capacity_unit, _("the capacity is counted in units or m3")
        )
    if service_level is None:
        service_level = float(setting("SERVICE_LEVEL", 0.95))
    if (
        isinstance(service_level, bool)
        or not isinstance(service_level, int | float)
        or not 0.5 <= service_level < 1
    ):
        raise ProposalParameterInvalid(
            "service_level",
            service_level,
            _("the service level is a share from 0.5 to below 1, e.g. 0.95"),
        )
    if review_days is None:
        review_days = int(setting("REVIEW_DAYS", 7))
    if (
        isinstance(review_days, bool)
        or not isinstance(review_days, int)
        or not 1 <= review_days <= 365
    ):
        raise ProposalParameterInvalid(
            "review_days", review_days, _("the review period is 1 to 365 days")
        )
    return budget, capacity, float(service_level), review_days


@transaction.atomic
def replenishment_run_create(
    *,
    city: City,
    budget: Any = None,
    capacity: Any = None,
    capacity_unit: str = "units",
    service_level: Any = None,
    review_days: Any = None,
    actor: User | None = None,
) -> ReplenishmentRun:
    """A queued run for today (city time); the caller enqueues ``replenishment_run_task``."""
    budget, capacity, level, review = _checked(
        budget=budget,
        capacity=capacity,
        capacity_unit=capacity_unit,
        service_level=service_level,
        review_days=review_days,
    )
    return ReplenishmentRun.objects.create(
        city=city,
        run_date=city_today(city),
        budget=budget,
        capacity=capacity,
        capacity_unit=capacity_unit,
        service_level=level,
        review_days=review,
        created_by=actor,
    )


def replenishment_runs_daily(*, now: datetime.datetime | None = None) -> list[ReplenishmentRun]:
    """The day's run of every city with an active DC, once per city and local day (a unique
    constraint, so two beat ticks or two workers create one), after ``daily_hour()``."""
    now = now or timezone.now()
    created = []
    cities = City.objects.filter(
        locations__kind=LocationKind.WAREHOUSE, locations__active=True
    ).distinct()
    for city in cities:
        local = now.astimezone(zoneinfo.ZoneInfo(city.timezone))
        if local.hour < daily_hour():
            continue
        if ReplenishmentRun.objects.filter(
            city=city, run_date=local.date(), scheduled=True
        ).exists():
            continue
        level, review = float(setting("SERVICE_LEVEL", 0.95)), int(setting("REVIEW_DAYS", 7))
        budget = setting("DAILY_BUDGET", None)
        try:
            with transaction.atomic():
                run = ReplenishmentRun.objects.create(
                    city=city,
                    run_date=local.date(),
                    scheduled=True,
                    service_level=level,
                    review_days=review,
                    budget=Decimal(str(budget)) if budget is not None else None,
                )
        except IntegrityError:
            continue  # another tick made it first
        created.append(run)
    return created


# --------------------------------------------------------------------------- execute


def _why(line: ProposalLine, *, fallback: bool, cut: bool) -> str:
    parts = [
        f"position {line.position} = on hand {line.on_hand} + on order {line.on_order}"
        f" + inbound {line.inbound} − held {line.held} − allocated out {line.allocated_out}"
    ]
    if line.method == "min_max":
        parts.append(
            f"min/max set by hand: reorder at {line.reorder_point}, up to {line.order_up_to}"
        )
    else:
        source = "history (no forecast covers it)" if fallback else "forecast"
        parts.append(
            f"demand over {line.lead_time_days}+{line.run.review_days} days {line.forecast:.1f}"
            f" ({source}); safety stock {line.safety_stock}; reorder point {line.reorder_point},"
            f" order-up-to {line.order_up_to}"
        )
    if line.supplier is None:
        parts.append("no active supplier sells it here: nothing proposed")
    elif line.need <= 0:
        parts.append("position above the reorder point: nothing to buy")
    else:
        parts.append(
            f"need {line.need} rounded to {line.unconstrained_quantity}"
            f" (MOQ {line.moq}, packs of {line.multiple})"
        )
        if cut:
            parts.append(f"budget/capacity: {line.quantity} of {line.unconstrained_quantity}")
    return "; ".join(parts)


def replenishment_run_execute(*, run: ReplenishmentRun) -> ReplenishmentRun:
    """Build and save the run's lines; a failure marks the run failed with its message. The
    daily (scheduled) run first classifies the city's SKUs (``reorder_policies_classify``)."""
    updated = ReplenishmentRun.objects.filter(pk=run.pk, status=ProposalStatus.QUEUED).update(
        status=ProposalStatus.RUNNING
    )
    if not updated:
        run.refresh_from_db()
        return run  # another worker has it, or it ran
    try:
        if run.scheduled:
            # The daily run starts from today's classes: a SKU whose value or variability
            # moved gets its new class's policy before it is proposed (planners' ones kept).
            reorder_policies_classify(city=run.city)
        _execute(run)
    except Exception as exc:  # the run must not stay "running" forever
        log.exception("replenishment run %s failed", run.pk)
        ReplenishmentRun.objects.filter(pk=run.pk).update(
            status=ProposalStatus.FAILED, message=str(exc)[:2000], finished_at=timezone.now()
        )
    run.refresh_from_db()
    return run


@transaction.atomic
def _execute(run: ReplenishmentRun) -> None:
    city = run.city
    today = run.run_date
    locations = build.buying_locations(city)
    items = build.supplier_items(locations)
    keys = sorted(items)
    parts = build.position_parts(keys)
    own = build.policies(keys)
    source = build.demand_source(city, locations, keys, today)
    # Budgets and values count in the company currency: every supplier's at today's rate.
    rates = exchange_rates_on({item.supplier.currency for item in items.values()}, today)
    lines: list[ProposalLine] = []
    fallback: dict[int, bool] = {}
    for key in keys:
        item = items[key]
        p = parts[key]
        kind, level, review = build.policy_of(
            own.get(key), service_level=run.service_level, review_days=run.review_days
        )
        lead = build.lead_time_days(item)
        levels = build.window_levels(
            source, key, lead_days=lead, review_days=review, service_level=level
        )
        if kind == ReorderPolicyKind.MIN_MAX:
            levels = build.min_max_levels(own[key], levels)
        position = p.position
        need = levels.order_up_to - position if position <= levels.reorder_point else 0
        need = max(0, min(need, MAX_QUANTITY))
        rounded = round_to_pack(need, item.moq, item.order_multiple)
        line = ProposalLine(
            run=run,
            product_id=key[0],
            location_id=key[1],
            supplier=item.supplier,
            unit_cost=item.cost,
            exchange_rate=rates[item.supplier.currency],
            moq=item.moq,
            multiple=item.order_multiple,
            lead_time_days=lead,
            on_hand=p.on_hand,
            on_order=p.on_order,
            inbound=p.inbound,
            held=p.held,
            allocated_out=p.allocated_out,
            position=position,
            method=levels.method,
            forecast=levels.forecast,
            reorder_point=levels.reorder_point,
            order_up_to=levels.order_up_to,
            safety_stock=levels.safety_stock,
            need=need,
            unconstrained_quantity=rounded,
            quantity=rounded,
            demand=levels.scenarios,
        )
        fallback[len(lines)] = levels.method.startswith("history")
        lines.append(line)

    volumes = {
        pk: float(v)
        for pk, v in Product.objects.filter(pk__in=[k[0] for k in keys]).values_list(
            "pk", "unit_volume"
        )
    }
    dc_ids = {loc.pk for loc in locations if loc.kind == LocationKind.WAREHOUSE}
    candidates = [
        BudgetLine(
            key=str(n),
            unit_cost=float(line.unit_cost * line.exchange_rate),
            quantity=line.unconstrained_quantity,
            position=float(line.position) - _policy_lift(line, run.service_level),
            demand=line.demand,
            moq=line.moq,
            multiple=line.multiple,
            volume=(
                0.0
                if line.location_id not in dc_ids
                else (volumes.get(line.product_id, 0.0) if run.capacity_unit == "m3" else 1.0)
            ),
        )
        for n, line in enumerate(lines)
        if line.unconstrained_quantity > 0
    ]
    plan = optimise(
        candidates,
        budget=float(run.budget) if run.budget is not None else None,
        capacity=run.capacity,
        time_limit=float(setting("TIME_LIMIT", 30.0)),
    )
    if not plan.has_plan:
        raise RuntimeError(plan.message or "the budget optimisation found no plan")
    for n, line in enumerate(lines):
        if line.unconstrained_quantity > 0:
            line.quantity = plan.quantities[str(n)]
        line.why = _why(line, fallback=fallback[n], cut=line.quantity < line.unconstrained_quantity)
    ProposalLine.objects.filter(run=run).delete()
    ProposalLine.objects.bulk_create(lines, batch_size=2000)
    run.status = ProposalStatus.READY
    run.solver_status = plan.status
    run.demand_source = (
        ",".join(f"forecast:{r}" for r in source.run_ids) if source.run_ids else "history"
    )
    if any(fallback.values()) and source.run_ids:
        run.demand_source += ",history"
    run.spend = Decimal(str(round(plan.spend, 2)))
    run.unconstrained_spend = Decimal(str(round(plan.unconstrained_spend, 2)))
    run.expected_sold = round(plan.expected_sold, 3)
    run.unconstrained_expected_sold = round(plan.unconstrained_expected_sold, 3)
    run.message = plan.message
    run.finished_at = timezone.now()
    run.save()


def _policy_lift(line: ProposalLine, service_level: float) -> float:
    """How far the line's order-up-to sits above the service level's quantile of its window
    demand: 0 for a service-level line, the planner's margin for a hand-set max (a
    promotion). The budget sees the position lowered by it, so the units the policy asks for
    count as units that sell."""
    ordered = sorted(float(x) for x in line.demand)
    if not ordered:
        return float(max(line.order_up_to, 0))
    k = min(len(ordered) - 1, max(0, math.ceil(service_level * len(ordered)) - 1))
    return max(0.0, line.order_up_to - ordered[k])


# --------------------------------------------------------------------------- review


def _require_open(run: ReplenishmentRun) -> None:
    if run.decision != ProposalDecision.PENDING:
        raise ProposalAlreadyDecided(run)
    if run.status != ProposalStatus.READY:
        raise ProposalNotReady(run)


@transaction.atomic
def proposal_line_edit(
    *, line: ProposalLine, quantity: int, actor: User | None = None
) -> ProposalLine:
    """The planner's quantity for a line (0: buy none). It must be orderable: 0, or at least
    the MOQ in whole packs; the error suggests the nearest that is. Holds the run's lock, so an
    edit and an approval of the same run queue."""
    run = lock_replenishment_run(line.run_id)
    _require_open(run)
    line = ProposalLine.objects.select_related("product").get(pk=line.pk)
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not 0 <= quantity <= MAX_QUANTITY
    ):
        raise ProposalParameterInvalid(
            "quantity", quantity, _("the quantity is a whole number from 0 to 1000000")
        )
    if quantity and line.supplier_id is None:
        raise ProposalParameterInvalid(
            "quantity", quantity, _("no supplier sells this SKU here: it can only be 0")
        )
    if quantity and (quantity < line.moq or quantity % line.multiple):
        raise ProposalQuantityNotOrderable(
            line, quantity, round_to_pack(quantity, line.moq, line.multiple)
        )
    ProposalLine.objects.filter(pk=line.pk).update(edited_quantity=quantity)
    line.refresh_from_db()
    return line


def replenishment_run_purchase_orders(run: ReplenishmentRun) -> list[PurchaseOrder]:
    return list(
        PurchaseOrder.objects.filter(reference=run.reference)
        .select_related("supplier", "ship_to")
        .order_by("supplier__code", "ship_to__code", "pk")
    )


@transaction.atomic
def replenishment_run_approve(
    *, run: ReplenishmentRun, actor: User | None = None
) -> list[PurchaseOrder]:
    """The run's lines become draft purchase orders, one per supplier × ship-to location, in
    one transaction, once. The run row is locked first and its decision moves pending →
    approved by a conditional UPDATE: a second approval waits for the first, then finds it
    approved and returns the same purchase orders (nothing new is created)."""
    run = lock_replenishment_run(run.pk)
    if run.decision == ProposalDecision.APPROVED:
        return replenishment_run_purchase_orders(run)
    _require_open(run)
    groups: dict[tuple[int, int], list[ProposalLine]] = defaultdict(list)
    rows = (
        ProposalLine.objects.filter(run=run, supplier__isnull=False)
        .select_related("product", "supplier", "location")
        .order_by("product__sku")
    )
    for line in rows:
        if line.final_quantity > 0:
            groups[(line.supplier_id, line.location_id)].append(line)  # type: ignore[index]
    ordered = sorted(groups.values(), key=lambda g: (g[0].supplier_id, g[0].location.code))
    for lines in ordered:
        first = lines[0]
        assert first.supplier is not None
        lead = max(ln.lead_time_days for ln in lines)
        purchase_order_create(
            supplier=first.supplier,
            ship_to=first.location,
            lines=[OrderLine(product=ln.product, quantity=ln.final_quantity) for ln in lines],
            expected_arrival=run.run_date + datetime.timedelta(days=lead),
            reference=run.reference,
            note=f"replenishment proposal {run.pk}",
            actor=actor,
        )
    moved = ReplenishmentRun.objects.filter(pk=run.pk, decision=ProposalDecision.PENDING).update(
        decision=ProposalDecision.APPROVED, decided_by=actor, decided_at=timezone.now()
    )
    if moved != 1:  # cannot happen under the row lock; if it did, keep nothing of this try
        run.refresh_from_db()
        raise ProposalAlreadyDecided(run)
    return replenishment_run_purchase_orders(run)


@transaction.atomic
def replenishment_run_reject(
    *, run: ReplenishmentRun, actor: User | None = None
) -> ReplenishmentRun:
    run = lock_replenishment_run(run.pk)
    if run.decision == ProposalDecision.REJECTED:
        return run
    if run.decision == ProposalDecision.APPROVED:
        raise ProposalAlreadyDecided(run)
    ReplenishmentRun.objects.filter(pk=run.pk, decision=ProposalDecision.PENDING).update(
        decision=ProposalDecision.REJECTED, decided_by=actor, decided_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def lines_summary(lines: Sequence[ProposalLine]) -> dict[str, Any]:
    units = sum(ln.final_quantity for ln in lines)
    value = sum(Decimal(ln.final_quantity) * ln.unit_cost * ln.exchange_rate for ln in lines)
    return {
        "lines": sum(1 for ln in lines if ln.final_quantity > 0),
        "units": units,
        "value": value,
    }
