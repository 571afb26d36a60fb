"""What each model reads of a series: its hygienic values (``prepare_series``), the days the
local models fit on (``fit_days``), and the global model's view of it (``global_series``)."""

from __future__ import annotations

import numpy as np

from .config import ForecastConfig
from .global_model import GlobalSeries
from .history import SeriesHistory
from .hygiene import Prepared, prepare


def prepare_series(series: SeriesHistory, config: ForecastConfig) -> Prepared:
    return prepare(series, outlier_k=config.outlier_k, outlier_min_sales=config.outlier_min_sales)


def fit_days(values: np.ndarray, config: ForecastConfig) -> np.ndarray:
    return values[-config.fit_window :] if config.fit_window else values


def global_series(
    series: SeriesHistory, config: ForecastConfig, prepared: Prepared | None = None
) -> GlobalSeries:
    """``prepared``: the series' hygienic values when they are at hand already."""
    prepared = prepared or prepare_series(series, config)
    return GlobalSeries(
        start=prepared.start,
        values=prepared.values,
        attributes={"sku": series.sku, "location": series.location, **series.attributes},
        price=prepared.price,
        promo=prepared.promo,
    )
