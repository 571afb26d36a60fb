"""Forecast hygiene: what planners expect to happen to a series before any model sees it.

- A series starts at its first sale: leading zeros say nothing about demand.
- **Idle**: an item with no sale in the last ``idle_days`` (default 180) forecasts zero, unless
  it has open orders (then it is forecast as usual).
- **Short**: a series too short for the rolling-origin backtest (``windows × horizon`` plus
  ``min_train_days``) is forecast by a moving average of its last days.
- **Outliers**: a day far above the series' usual non-zero demand (a one-off bulk sale) is
  capped before fitting and backtesting; the run logs and reports every cap. A day is an
  outlier when it exceeds ``median + outlier_k × max(1.4826 × MAD, 1)`` of the non-zero days
  (robust: the outlier itself cannot inflate the bar), and the series has at least
  ``outlier_min_sales`` non-zero days to judge from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from .history import SeriesHistory


@dataclass(frozen=True)
class CappedDay:
    sku: str
    location: str
    day: date
    quantity: float
    capped_to: float

    def __str__(self) -> str:
        return (
            f"{self.sku} at {self.location} on {self.day}: {self.quantity:g} capped to "
            f"{self.capped_to:g}"
        )


@dataclass
class Prepared:
    """A series ready for modelling: trimmed to its first sale, outliers capped."""

    source: SeriesHistory
    start: date  # the first sale (or the first row if it never sold)
    values: np.ndarray  # capped
    raw: np.ndarray  # as recorded, from ``start``
    last_sale: date | None
    capped: list[CappedDay] = field(default_factory=list)
    price: np.ndarray | None = None  # from ``start``, as the history has them
    promo: np.ndarray | None = None

    @property
    def days(self) -> int:
        return len(self.values)


def trim_to_first_sale(series: SeriesHistory) -> tuple[date, np.ndarray]:
    sold = np.flatnonzero(series.values > 0)
    if sold.size == 0:
        return series.start, series.values
    first = int(sold[0])
    return series.start + timedelta(days=first), series.values[first:]


def outlier_threshold(values: np.ndarray, *, k: float, min_sales: int) -> float | None:
    """The level above which a day is capped, or None when there is too little to judge."""
    sales = values[values > 0]
    if sales.size < min_sales:
        return None
    median = float(np.median(sales))
    spread = max(1.4826 * float(np.median(np.abs(sales - median))), 1.0)
    return median + k * spread


def prepare(series: SeriesHistory, *, outlier_k: float, outlier_min_sales: int) -> Prepared:
    start, raw = trim_to_first_sale(series)
    sold = np.flatnonzero(raw > 0)
    last_sale = start + timedelta(days=int(sold[-1])) if sold.size else None
    values = raw
    capped: list[CappedDay] = []
    threshold = outlier_threshold(raw, k=outlier_k, min_sales=outlier_min_sales)
    if threshold is not None:
        over = np.flatnonzero(raw > threshold)
        if over.size:
            values = raw.copy()
            values[over] = threshold
            for index in over:
                capped.append(
                    CappedDay(
                        sku=series.sku,
                        location=series.location,
                        day=start + timedelta(days=int(index)),
                        quantity=float(raw[index]),
                        capped_to=round(threshold, 3),
                    )
                )
    offset = (start - series.start).days
    return Prepared(
        source=series,
        start=start,
        values=values,
        raw=raw,
        last_sale=last_sale,
        capped=capped,
        price=None if series.price is None else series.price[offset:],
        promo=None if series.promo is None else series.promo[offset:],
    )


def is_idle(prepared: Prepared, *, as_of: date, idle_days: int) -> bool:
    """No sale in the last ``idle_days`` days up to ``as_of`` (or never)."""
    if prepared.last_sale is None:
        return True
    return (as_of - prepared.last_sale).days >= idle_days


def backtest_length(*, horizon: int, windows: int, min_train_days: int) -> int:
    """Days of history a series needs for the rolling-origin backtest."""
    return windows * horizon + min_train_days


def moving_average(values: np.ndarray, window: int) -> float:
    recent = values[-window:] if values.size else values
    return float(recent.mean()) if recent.size else 0.0


# Syntetos, Boylan & Croston (2005): the cut-offs between demand classes.
ADI_CUTOFF = 1.32  # average days between sales
CV2_CUTOFF = 0.49  # squared coefficient of variation of the sale sizes


def demand_class(values: np.ndarray) -> str:
    """``smooth``, ``erratic``, ``intermittent`` or ``lumpy`` (the SBC classes): how often an
    item sells and how much the quantities vary. Model choice pools series by class."""
    sales = values[values > 0]
    if sales.size == 0:
        return "none"
    adi = values.size / sales.size
    cv2 = float((sales.std() / sales.mean()) ** 2) if sales.size > 1 else 0.0
    if adi > ADI_CUTOFF:
        return "lumpy" if cv2 > CV2_CUTOFF else "intermittent"
    return "erratic" if cv2 > CV2_CUTOFF else "smooth"
