"""Reads of replenishment proposals: runs, their lines, and totals per supplier."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, DecimalField, F, QuerySet, Sum, When

from omni.access import visible_one
from purchasing.proposal_models import ProposalLine, ReplenishmentRun

from .errors import UnknownProposalLine, UnknownProposalRun


def replenishment_run_list(
    *, city: str | None = None, status: str | None = None, decision: str | None = None
) -> QuerySet[ReplenishmentRun]:
    runs = ReplenishmentRun.objects.select_related("city")
    if city:
        runs = runs.filter(city__code=city)
    if status:
        runs = runs.filter(status=status)
    if decision:
        runs = runs.filter(decision=decision)
    return runs


def replenishment_run_get(run_id: int) -> ReplenishmentRun:
    return visible_one(
        ReplenishmentRun.objects.select_related("city"), UnknownProposalRun, pk=run_id
    )


def proposal_line_get(run: ReplenishmentRun, line_id: int) -> ProposalLine:
    return visible_one(
        ProposalLine.objects.filter(run=run).select_related(
            "product", "location", "supplier", "run"
        ),
        UnknownProposalLine,
        pk=line_id,
    )


def _final() -> Case:
    return Case(
        When(edited_quantity__isnull=False, then=F("edited_quantity")), default=F("quantity")
    )


def proposal_line_list(
    run: ReplenishmentRun,
    *,
    sku: str | None = None,
    supplier: str | None = None,
    location: str | None = None,
    buying: bool | None = None,
) -> QuerySet[ProposalLine]:
    """A run's lines; ``buying``: only those with (True) or without (False) a quantity."""
    lines = (
        ProposalLine.objects.filter(run=run)
        .select_related("product", "location", "supplier")
        .annotate(final=_final())
    )
    if sku:
        lines = lines.filter(product__sku__icontains=sku)
    if supplier:
        lines = lines.filter(supplier__code=supplier)
    if location:
        lines = lines.filter(location__code=location)
    if buying is True:
        lines = lines.filter(final__gt=0)
    elif buying is False:
        lines = lines.filter(final=0)
    return lines


def run_totals(run: ReplenishmentRun) -> dict[str, Any]:
    """Lines, lines buying, units and value as the run stands (the planner's edits in)."""
    rows = ProposalLine.objects.filter(run=run).annotate(final=_final())
    agg = rows.aggregate(
        lines=Count("id"),
        units=Sum("final"),
        value=Sum(F("final") * F("unit_cost") * F("exchange_rate"), output_field=DecimalField()),
    )
    buying = rows.filter(final__gt=0).count()
    edited = rows.filter(edited_quantity__isnull=False).count()
    return {
        "lines": agg["lines"] or 0,
        "buying": buying,
        "edited": edited,
        "units": int(agg["units"] or 0),
        "value": (agg["value"] or Decimal("0")).quantize(Decimal("0.01")),
    }


def run_by_supplier(run: ReplenishmentRun) -> list[dict[str, Any]]:
    """Per supplier × ship-to: lines, units and value to order (what approval turns into POs)."""
    rows = (
        ProposalLine.objects.filter(run=run, supplier__isnull=False)
        .annotate(final=_final())
        .filter(final__gt=0)
        .values(
            supplier_code=F("supplier__code"),
            supplier_name=F("supplier__name"),
            ship_to=F("location__code"),
        )
        .annotate(
            lines=Count("id"),
            units=Sum("final"),
            value=Sum(
                F("final") * F("unit_cost") * F("exchange_rate"), output_field=DecimalField()
            ),
        )
        .order_by("supplier_code", "ship_to")
    )
    return [{**r, "value": (r["value"] or Decimal("0")).quantize(Decimal("0.01"))} for r in rows]
