"""Reads of valuation: stock value per location, and cost of goods, turnover, days of supply
and GMROI per SKU, location or city for a period (docs/valuation.md).

Everything is aggregated in SQL, a handful of grouped queries per call whatever the number of
SKUs, locations and days; the few grouped rows are combined with pandas.

Average stock value is reconstructed from the ledger, time-weighted: the units at a location
at any moment of the period are the units at its end minus the moves since, so the integral of
stock over the period is ``q_end · T − Σ δ · (t − start)`` over the period's moves (δ signed,
t its time). Units are valued at the SKU's current moving-average cost (the company-wide
average moves little within a period; the ledger keeps no per-location history of it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import pandas as pd
from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import PHYSICAL_KINDS, Location, MoveReason, StockLevel, StockMove

Grain = Literal["sku", "location", "city"]
SOLD = (MoveReason.SALE, MoveReason.SHIP, MoveReason.PICKUP)
GRAIN_FIELDS: dict[str, tuple[str, str, str]] = {
    # grain: (key on a stock level, key on a move's destination, key on a move's source)
    "sku": ("product_id", "product_id", "product_id"),
    "location": ("location_id", "to_location_id", "from_location_id"),
    "city": ("location__city_id", "to_location__city_id", "from_location__city_id"),
}
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=24, decimal_places=4)


class EpochSeconds(Func):
    """Seconds since 1970 of a datetime column, on PostgreSQL and SQLite."""

    output_field = FloatField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)", **extra
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
            **extra,
        )


@dataclass(frozen=True)
class Period:
    """Whole days, ``start`` to ``end`` inclusive, in the server's time zone."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def starts_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def ends_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @classmethod
    def last(cls, days: int, *, today: date | None = None) -> Period:
        end = today or timezone.localdate()
        return cls(end - timedelta(days=days - 1), end)


@dataclass(frozen=True)
class Metrics:
    """One row of the turnover table. Money in the company currency, 2 places; ``None`` where
    a ratio has no denominator (no stock, or nothing sold)."""

    key: int
    units_sold: int
    revenue: Decimal
    cogs: Decimal
    stock_value: Decimal
    average_stock_value: Decimal
    turnover: float | None
    days_of_supply: float | None
    gmroi: float | None


def _physical_levels(location_ids: Iterable[int] | None) -> QuerySet[StockLevel]:
    levels = StockLevel.objects.filter(location__kind__in=PHYSICAL_KINDS)
    if location_ids is not None:
        levels = levels.filter(location_id__in=list(location_ids))
    return levels


def stock_value_by_location(location_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Units on hand and their value (on hand × the SKU's moving-average cost) per physical
    location, biggest value first; ``location_ids`` limits to those (None: every one)."""
    rows = (
        _physical_levels(location_ids)
        .filter(on_hand__gt=0)
        .values("location_id", "location__code", "location__name", "location__city_id")
        .annotate(
            units=Sum("on_hand"),
            value=Sum(F("on_hand") * F("product__cost_row__average_cost"), output_field=MONEY),
        )
        .order_by("-value", "location__code")
    )
    return [
        {
            "location_id": r["location_id"],
            "code": r["location__code"],
            "name": r["location__name"],
            "city_id": r["location__city_id"],
            "units": int(r["units"] or 0),
            "value": Decimal(r["value"] or 0).quantize(Decimal("0.01")),
        }
        for r in rows
    ]


def _frame(rows: Iterable[Any], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=["key", *columns])
    for column in columns:
        frame[column] = frame[column].astype(float)
    return frame.groupby("key").sum()


def _sum(condition: Q, then: Any, output: Any = MONEY) -> Coalesce:
    zero = 0.0 if isinstance(output, FloatField) else Decimal(0)
    return Coalesce(
        Sum(Case(When(condition, then=then)), output_field=output), zero, output_field=output
    )


def _move_side(moves: QuerySet[StockMove], key: str, sign: int, period: Period) -> pd.DataFrame:
    """The grouped sums of one side of the moves (``sign`` +1 for moves in, −1 for out): value
    moved after the period, value moved in it weighted by its time since the start, and the
    cost of goods, revenue and units of sales (out) or returns (in) in it."""
    start, end = period.starts_at, period.ends_at
    in_period = Q(created_at__gte=start, created_at__lt=end)
    at_average = ExpressionWrapper(
        F("quantity") * F("product__cost_row__average_cost"), output_field=FloatField()
    )
    since_start = ExpressionWrapper(
        EpochSeconds("created_at") - start.timestamp(), output_field=FloatField()
    )
    sold = in_period & (Q(reason__in=SOLD) if sign < 0 else Q(reason=MoveReason.RETURN))
    columns = ["after", "weighted", "cogs", "revenue", "units"]
    rows = (
        moves.values(key)
        .annotate(
            after=_sum(Q(created_at__gte=end), at_average, FloatField()),
            weighted=_sum(in_period, at_average * since_start, FloatField()),
            cogs=_sum(sold, F("value")),
            # What was paid, net of discounts; list price on moves booked before it was kept.
            revenue=_sum(
                sold,
                Coalesce(F("revenue"), F("quantity") * F("product__price"), output_field=MONEY),
            ),
            units=_sum(sold, F("quantity"), FloatField()),
        )
        .values_list(key, *columns)
    )
    return _frame(rows, columns) * sign


def turnover_metrics(
    grain: Grain,
    period: Period,
    *,
    location_ids: Iterable[int] | None = None,
) -> list[Metrics]:
    """Cost of goods, revenue, stock value, average stock value, turnover, days of supply and
    GMROI per SKU, physical location or city over ``period``, biggest cost of goods first.
    ``location_ids`` limits every figure to those locations (a store clerk's own)."""
    level_key, in_key, out_key = GRAIN_FIELDS[grain]
    ids = None if location_ids is None else list(location_ids)
    levels = _physical_levels(ids)
    now_rows = levels.values(level_key).annotate(
        value=Sum(F("on_hand") * F("product__cost_row__average_cost"), output_field=MONEY)
    )
    now = _frame(now_rows.values_list(level_key, "value"), ["value"])
    moves = StockMove.objects.filter(created_at__gte=period.starts_at)
    physical_in = moves.filter(to_location__kind__in=PHYSICAL_KINDS)
    physical_out = moves.filter(from_location__kind__in=PHYSICAL_KINDS)
    if ids is not None:
        physical_in = physical_in.filter(to_location_id__in=ids)
        physical_out = physical_out.filter(from_location_id__in=ids)
    ins = _move_side(physical_in, in_key, +1, period)
    outs = _move_side(physical_out, out_key, -1, period)
    table = now.join(ins.add(outs, fill_value=0.0), how="outer").fillna(0.0)
    seconds = (period.ends_at - period.starts_at).total_seconds()
    # Value at the period's end, and the time-weighted average: ∫v = v_end·T − Σ δv·(t − start).
    table["end_value"] = table["value"] - table["after"]
    table["average"] = table["end_value"] - table["weighted"] / seconds
    # Out-moves were negated: cost of goods and revenue come back positive, returns net off.
    table["cogs"] = -table["cogs"]
    table["revenue"] = -table["revenue"]
    table["units"] = -table["units"]
    table = table.sort_values(["cogs", "end_value"], ascending=False)
    return [_metrics(int(key), row, period.days) for key, row in table.iterrows()]


def _ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator > 0.005 else None


def _metrics(key: int, row: Any, days: int) -> Metrics:
    average = max(round(float(row["average"]), 6), 0.0)
    # Rounded to a millionth (and -0.0 made 0.0): sums of floats leave crumbs such as -1e-13.
    cogs, revenue, end_value = (
        round(float(row[c]), 6) + 0.0 for c in ("cogs", "revenue", "end_value")
    )
    return Metrics(
        key=key,
        units_sold=round(row["units"]),
        revenue=Decimal(revenue).quantize(Decimal("0.01")),
        cogs=Decimal(cogs).quantize(Decimal("0.01")),
        stock_value=Decimal(end_value).quantize(Decimal("0.01")),
        average_stock_value=Decimal(average).quantize(Decimal("0.01")),
        turnover=_ratio(cogs, average),
        days_of_supply=_ratio(end_value, cogs / days) if cogs > 0 else None,
        gmroi=_ratio(revenue - cogs, average),
    )


def location_names(ids: Iterable[int]) -> dict[int, Location]:
    return Location.objects.in_bulk(list(ids))
