"""Error codes of demand history and forecast runs."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from omni.errors import Conflict, InvalidInput, NotFound


class ForecastErrorCode(StrEnum):
    DEMAND_FILE_INVALID = "demand_file_invalid"
    UNKNOWN_FORECAST_RUN = "unknown_forecast_run"
    UNKNOWN_MODEL = "unknown_model"
    FORECAST_RUN_IN_PROGRESS = "forecast_run_in_progress"
    FORECAST_RUN_NOT_READY = "forecast_run_not_ready"
    FORECAST_RUN_FINISHED = "forecast_run_finished"
    NO_DEMAND_HISTORY = "no_demand_history"
    NO_FORECAST = "no_forecast"


class DemandFileInvalid(InvalidInput):
    """A history file with mistakes. ``detail["errors"]`` names every bad line
    (``file:line: message``, the first 50); nothing was imported."""

    code: ClassVar[str] = ForecastErrorCode.DEMAND_FILE_INVALID


class UnknownForecastRun(NotFound):
    code: ClassVar[str] = ForecastErrorCode.UNKNOWN_FORECAST_RUN


class UnknownModel(InvalidInput):
    code: ClassVar[str] = ForecastErrorCode.UNKNOWN_MODEL


class ForecastRunInProgress(Conflict):
    """Another run of the same city is queued or running (``detail["run"]``)."""

    code: ClassVar[str] = ForecastErrorCode.FORECAST_RUN_IN_PROGRESS


class ForecastRunNotReady(Conflict):
    """The run has not succeeded: its forecasts are not served."""

    code: ClassVar[str] = ForecastErrorCode.FORECAST_RUN_NOT_READY


class ForecastRunFinished(Conflict):
    code: ClassVar[str] = ForecastErrorCode.FORECAST_RUN_FINISHED


class NoDemandHistory(InvalidInput):
    code: ClassVar[str] = ForecastErrorCode.NO_DEMAND_HISTORY


class NoForecast(NotFound):
    """No succeeded run covers the series."""

    code: ClassVar[str] = ForecastErrorCode.NO_FORECAST
