"""The demo's purchasing step: suppliers for the pilot city's SKUs, the DC's replenishment
proposal (from the forecast the planning step just made), approval into purchase orders, their
sending and receipt, and what it all bought; the city's turnover."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from inventory import valuation_selectors
from inventory.models import Location, LocationKind, StockLevel
from omni.selectors import city_by_code
from purchasing.models import PurchaseOrderStatus, Supplier
from purchasing.proposal_models import ProposalLine, ReplenishmentRun
from purchasing.proposals import selectors as proposal_selectors
from purchasing.proposals import services as proposals
from purchasing.services import (
    ReceiveLine,
    exchange_rate_set,
    purchase_order_receive,
    purchase_order_send,
    reorder_policy_set,
    supplier_item_save,
    supplier_save,
)

SUPPLIERS = (
    ("SUP-HZ-FOODS", "Hangzhou Foods Co.", 5, ""),
    ("SUP-ZJ-HOME", "Zhejiang Home Goods", 7, ""),
    ("SUP-SH-DAILY", "Shanghai Daily Needs", 10, ""),
    ("SUP-OSAKA", "Osaka Snacks Import", 21, "JPY"),  # priced in yen
)
RATES = {"JPY": Decimal("0.0480")}  # company currency per unit, set a month ago
PACKS = (1, 6, 12)
PROMOTION_SKUS = 12


def _suppliers(dc: Location, seed: int) -> list[Supplier]:
    """Four suppliers, one selling in yen (its costs the same in yuan at the rate set a month
    ago); every SKU the DC stocks gets one preferred supplier item (cost a bit under the
    product's, MOQ one or two packs) and some a second, dearer source."""
    rng = random.Random(seed)
    for currency, rate in RATES.items():
        exchange_rate_set(
            currency=currency, rate=rate, valid_from=timezone.localdate() - timedelta(days=30)
        )
    made = [
        Supplier.objects.filter(code=code).first()
        or supplier_save(code=code, name=name, currency=currency)
        for code, name, _lead, currency in SUPPLIERS
    ]
    at_home = {s.pk: RATES.get(s.currency, Decimal(1)) for s in made}
    levels = StockLevel.objects.filter(location=dc).select_related("product")
    for n, level in enumerate(levels.order_by("product__sku")):
        product = level.product
        if not product.active or product.supplier_items.exists():
            continue
        first = n % len(made)
        pack = PACKS[rng.randrange(len(PACKS))]
        base = product.cost if product.cost > 0 else Decimal("5.00")
        supplier_item_save(
            supplier=made[first],
            product=product,
            cost=(base * Decimal("0.9") / at_home[made[first].pk]).quantize(Decimal("0.01")),
            lead_time_days=SUPPLIERS[first][2],
            moq=pack * rng.choice((1, 2)),
            order_multiple=pack,
            preferred=True,
        )
        if n % 4 == 0:
            second = (first + 1) % len(made)
            supplier_item_save(
                supplier=made[second],
                product=product,
                cost=(base / at_home[made[second].pk]).quantize(Decimal("0.01")),
                lead_time_days=SUPPLIERS[second][2],
                moq=pack,
                order_multiple=pack,
            )
    return made


def purchasing_demo_step(city_code: str, *, seed: int = 14) -> list[str]:
    city = city_by_code(city_code)
    dc = Location.objects.filter(city=city, kind=LocationKind.WAREHOUSE, active=True).first()
    if dc is None:
        return ["purchasing: the city has no DC"]
    suppliers = _suppliers(dc, seed)
    lines = [
        f"suppliers: {len(suppliers)}, "
        f"{sum(s.items.count() for s in suppliers)} supplier items for the DC's SKUs"
    ]
    run = _propose(city)
    lines.append(_run_line(run))
    if run.status != "ready":
        return [*lines, f"  {run.message}"]
    if proposal_selectors.run_totals(run)["buying"] < PROMOTION_SKUS:
        # The demo's DC is stocked well above its forecast: a planner getting ready for a
        # promotion raises the min/max of the best sellers, and proposes again.
        raised = _raise_for_promotion(run, dc)
        proposals.replenishment_run_reject(run=run)
        lines.append(
            f"  the DC's stock covers the window; min/max raised for {raised} best sellers "
            "ahead of a promotion"
        )
        run = _propose(city)
        lines.append(_run_line(run))
    # The same proposal with a budget of 60 % of it: where the optimisation puts the money.
    if run.unconstrained_spend > 0:
        tight = _propose(
            city, budget=(run.unconstrained_spend * Decimal("0.6")).quantize(Decimal("0.01"))
        )
        lines.append(
            f"  with a budget of {tight.budget}: {tight.solver_status}, spends {tight.spend}, "
            f"expected units sold {tight.expected_sold:.0f}"
            f" of {tight.unconstrained_expected_sold:.0f}"
            f" ({_share(tight.expected_sold, tight.unconstrained_expected_sold)} for "
            f"{_share(float(tight.spend), float(tight.unconstrained_spend))} of the money)"
        )
        proposals.replenishment_run_reject(run=tight)
    example = ProposalLine.objects.filter(run=run, quantity__gt=0).select_related("product").first()
    if example is not None:
        lines.append(f"  why {example.product.sku}: {example.why}")
    orders = proposals.replenishment_run_approve(run=run)
    per_supplier: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    received_units = 0
    late_or_short = 0
    for n, order in enumerate(orders):
        order_lines = list(order.lines.select_related("product"))
        per_supplier[order.supplier.code][0] += 1
        per_supplier[order.supplier.code][1] += sum(ln.quantity_ordered for ln in order_lines)
        purchase_order_send(purchase_order=order)
        # every third order comes one case short of its first line: a backorder
        receive = []
        for i, ln in enumerate(order_lines):
            quantity = ln.quantity_ordered
            if n % 3 == 2 and i == 0 and quantity > 1:
                quantity -= 1
                late_or_short += 1
            receive.append(ReceiveLine(product=ln.product, quantity=quantity))
        purchase_order_receive(purchase_order=order, lines=receive, key=f"demo-{order.number}")
        received_units += sum(r.quantity for r in receive)
    lines.append(f"approved: {len(orders)} purchase orders (one per supplier)")
    for code, (count, units) in sorted(per_supplier.items()):
        lines.append(f"  {code}: {count} PO, {units} units")
    statuses: dict[str, int] = defaultdict(int)
    for order in orders:
        order.refresh_from_db()
        statuses[order.status] += 1
        if order.exchange_rate is not None and order.exchange_rate != 1:
            lines.append(
                f"  {order.number} is in {order.currency}, sent at 1 {order.currency} = "
                f"{order.exchange_rate.normalize()}; its receipt came in at cost x rate"
            )
    on_backorder = statuses.get(PurchaseOrderStatus.PARTIALLY_RECEIVED, 0)
    lines.append(
        f"received: {received_units} units into {dc.code}; {statuses.get('received', 0)} POs "
        f"received in full, {on_backorder} with a backorder"
    )
    on_hand = StockLevel.objects.filter(location=dc).aggregate(u=Sum("on_hand"))["u"] or 0
    lines.append(f"  {dc.code} now holds {on_hand} units")
    return lines + _turnover(city.code)


def _propose(city: Any, budget: Decimal | None = None) -> ReplenishmentRun:
    return proposals.replenishment_run_execute(
        run=proposals.replenishment_run_create(
            city=city, service_level=0.95, review_days=7, budget=budget
        )
    )


def _run_line(run: ReplenishmentRun) -> str:
    totals = proposal_selectors.run_totals(run)
    return (
        f"replenishment proposal {run.pk} for {run.city.code}: {run.status}, demand from "
        f"{run.demand_source or '—'}; {totals['buying']} of {totals['lines']} lines buy, "
        f"{totals['units']} units, value {totals['value']}"
    )


def _raise_for_promotion(run: ReplenishmentRun, dc: Location) -> int:
    """Min/max for the proposal's best sellers at the DC: reorder at the position plus the
    window's demand, order up to another window's worth above it."""
    best = (
        ProposalLine.objects.filter(run=run, location=dc, forecast__gt=0)
        .select_related("product")
        .order_by("-forecast")[:PROMOTION_SKUS]
    )
    for line in best:
        low = max(0, line.position) + math.ceil(line.forecast)
        reorder_policy_set(
            product=line.product,
            location=dc,
            kind="min_max",
            min_quantity=low,
            max_quantity=low + math.ceil(line.forecast),
            note="demo: promotion",
        )
    return len(best)


def _share(part: float, whole: float) -> str:
    return "—" if not whole else f"{100 * part / whole:.0f}%"


def _turnover(city_code: str) -> list[str]:
    """Turnover of the city over the last 28 days (``inventory.valuation_selectors``)."""
    city = city_by_code(city_code)
    rows = valuation_selectors.turnover_metrics("city", valuation_selectors.Period.last(28))
    row = next((r for r in rows if r.key == city.pk), None)
    if row is None:
        return ["turnover: no stock value yet"]
    turnover = "—" if row.turnover is None else f"{row.turnover:.2f}"
    days = "—" if row.days_of_supply is None else f"{row.days_of_supply:.0f}"
    gmroi = "—" if row.gmroi is None else f"{row.gmroi:.2f}"
    return [
        f"turnover ({city_code}, 28 days): {turnover}, days of supply {days}, GMROI {gmroi}, "
        f"stock value {row.stock_value}"
    ]
