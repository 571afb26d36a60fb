"""The demo's valuation figures: stock value, cost of goods and turnover per location for the
demo's day, from the same selectors as the valuation page and API."""

from __future__ import annotations

from decimal import Decimal

from inventory.models import Location
from inventory.valuation_selectors import Period, stock_value_by_location, turnover_metrics


def valuation_rows() -> list[tuple[str, str, str, str, str]]:
    """(location, stock value, cost of goods today, turnover today, days of supply) per
    physical location with stock, the DC first, then the stores by code."""
    today = Period.last(1)
    metrics = {m.key: m for m in turnover_metrics("location", today)}
    places = Location.objects.in_bulk([row["location_id"] for row in stock_value_by_location()])
    rows = []
    for location in sorted(places.values(), key=lambda loc: (loc.kind != "warehouse", loc.code)):
        m = metrics.get(location.pk)
        if m is None:
            continue
        rows.append(
            (
                location.code,
                f"{m.stock_value:,.2f}",
                f"{m.cogs:,.2f}",
                f"{m.turnover:.3f}" if m.turnover is not None else "—",
                f"{m.days_of_supply:,.0f}" if m.days_of_supply is not None else "—",
            )
        )
    return rows


def supplier_cost(standard: Decimal, swing: float) -> Decimal:
    """A supplier's price today: the standard cost moved by ``swing`` (e.g. −0.05 … +0.08)."""
    return (standard * Decimal(str(1 + swing))).quantize(Decimal("0.01"))
