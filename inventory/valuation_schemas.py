"""Answers of the valuation API (docs/valuation.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ninja import Schema


class LocationValueOut(Schema):
    """Stock on hand at a physical location, valued at each SKU's moving-average cost."""

    code: str
    name: str
    units: int
    value: Decimal


class MetricsOut(Schema):
    """One SKU, location or city over a period. ``key`` is the SKU or the location's or
    city's code; ratios are ``null`` where their denominator is zero."""

    key: str
    start: date
    end: date
    units_sold: int
    revenue: Decimal
    cogs: Decimal
    stock_value: Decimal
    average_stock_value: Decimal
    turnover: float | None
    days_of_supply: float | None
    gmroi: float | None
