"""Forecast-run gauges read at scrape time (``omni.metrics.scrape_collector``)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.metrics_core import Metric

from omni.metrics import run_families

from .models import ForecastRun


def forecast_runs() -> Iterator[Metric]:
    yield from run_families("forecast", "Forecast", ForecastRun.objects)
