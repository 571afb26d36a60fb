"""The pure forecasting core: plain data in, plain data out, no Django.

``python -m forecasting`` (the file interface) and ``forecasting.services`` (forecast runs on the
database) both run ``run_forecast`` from here, so a file and a run choose models the same way.
"""

from .history import (
    COLUMNS,
    History,
    HistoryError,
    HistoryRows,
    SeriesHistory,
    SeriesKey,
    history_from_rows,
    read_history,
    read_history_rows,
)
from .hygiene import CappedDay
from .metrics import Accuracy, Scale, accuracy
from .model_catalogue import (
    BASELINE_MODEL,
    DEFAULT_MODELS,
    MODELS,
    UnknownModel,
    resolve_models,
)
from .run import (
    DEFAULT_QUANTILES,
    ForecastConfig,
    ForecastResult,
    Method,
    SeriesForecast,
    quantile_name,
    run_forecast,
)
from .summary import RunSummary

__all__ = [
    "BASELINE_MODEL",
    "COLUMNS",
    "DEFAULT_MODELS",
    "DEFAULT_QUANTILES",
    "MODELS",
    "Accuracy",
    "CappedDay",
    "ForecastConfig",
    "ForecastResult",
    "History",
    "HistoryError",
    "HistoryRows",
    "Method",
    "RunSummary",
    "Scale",
    "SeriesForecast",
    "SeriesHistory",
    "SeriesKey",
    "UnknownModel",
    "accuracy",
    "history_from_rows",
    "quantile_name",
    "read_history",
    "read_history_rows",
    "resolve_models",
    "run_forecast",
]
