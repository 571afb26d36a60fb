"""Forecast runs on the database: a run end to end, what is served as current, and what
happens to runs that fail, are cancelled or lose their worker."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from forecasting import selectors, services
from forecasting.demand_imports import demand_import
from forecasting.errors import ForecastRunFinished, ForecastRunInProgress, UnknownModel
from forecasting.models import ForecastRun, ForecastSeries, RunStatus
from forecasting.services import (
    forecast_run_cancel,
    forecast_run_execute,
    forecast_run_rerun,
    forecast_run_start,
    forecast_runs_reap,
)
from tests.factories import CityFactory, StoreFactory

from .fixtures import AS_OF


@pytest.fixture
def imported(write_csv, history_csv, products):
    demand_import(path=write_csv(history_csv))


def start_and_run(planner=None, **kw) -> ForecastRun:
    run = forecast_run_start(horizon=7, actor=planner, enqueue=False, **kw)
    return forecast_run_execute(run_id=run.pk, worker="test")


def served(user) -> dict[tuple[str, str], int]:
    rows = selectors.forecast_series_list(user=user)
    return {(r.product.sku, r.location.code): r.run_id for r in rows}


def test_a_run_forecasts_every_series_and_reports_accuracy(imported, planner, city):
    run = start_and_run(planner, city=city)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.progress, run.as_of, run.series_total, run.series_done) == (100, AS_OF, 4, 4)
    summary = run.summary
    assert (
        summary["series"],
        summary["backtested"],
        summary["short_history"],
        summary["idle"],
    ) == (
        4,
        2,
        1,
        1,
    )
    assert {m["model"] for m in summary["per_model"]} >= {"seasonal_naive", "ets", "theta", "tsb"}
    assert summary["improvement_pct"] is not None
    rows = {
        (r.product.sku, r.location.code): r
        for r in run.series.select_related("product", "location")
    }
    assert rows[("SKU-3", "S01")].method == "idle" and rows[("SKU-3", "S01")].values == [0.0] * 7
    assert rows[("SKU-2", "S01")].model == "moving_average"
    weekly = rows[("SKU-1", "S01")]
    assert weekly.method == "backtest" and weekly.rmsse is not None and weekly.baseline_rmsse
    assert weekly.start == AS_OF + timedelta(days=1)
    assert set(weekly.quantiles) == {"q50", "q80", "q90", "q95"}
    assert len(weekly.values) == 7 == len(weekly.quantiles["q90"])
    assert "running" not in run.message and run.finished_at is not None


def test_the_latest_succeeded_run_is_served_never_a_half_written_one(imported, planner, city):
    first = start_and_run(planner, city=city)
    assert set(served(planner).values()) == {first.pk}
    # A second run dies half way: its rows are under its id, but it never succeeded.
    half = forecast_run_start(city=city, horizon=7, enqueue=False)
    ForecastRun.objects.filter(pk=half.pk).update(status=RunStatus.RUNNING)
    row = first.series.first()
    assert row is not None
    ForecastSeries.objects.create(
        run=half, product=row.product, location=row.location, model="ets", method="backtest",
        start=row.start, values=[99.0] * 7, quantiles={},
    )  # fmt: skip
    assert set(served(planner).values()) == {first.pk}
    with pytest.raises(Exception, match="not served"):
        selectors.forecast_series_list(user=planner, run=half)


def test_a_run_of_all_cities_supersedes_an_older_city_run(imported, planner, city):
    city_run = start_and_run(planner, city=city)
    everywhere = start_and_run(planner)
    assert set(served(planner).values()) == {everywhere.pk}
    newer_city_run = start_and_run(planner, city=city)
    assert set(served(planner).values()) == {newer_city_run.pk}
    assert city_run.pk < everywhere.pk < newer_city_run.pk


def test_one_active_run_per_city(imported, city):
    run = forecast_run_start(city=city, horizon=7, enqueue=False)
    with pytest.raises(ForecastRunInProgress) as caught:
        forecast_run_start(city=city, horizon=7, enqueue=False)
    assert caught.value.detail["run"] == run.pk
    forecast_run_start(horizon=7, enqueue=False)  # all cities: another scope


def test_a_run_whose_worker_died_is_reaped_and_can_be_run_again(imported, city, products, store):
    run = forecast_run_start(city=city, horizon=7, enqueue=False)
    long_ago = timezone.now() - timedelta(minutes=10)
    ForecastRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago
    )
    ForecastSeries.objects.create(  # a block it had written before it died
        run=run, product=products[0], location=store, model="ets", method="backtest",
        start=AS_OF, values=[1.0], quantiles={},
    )  # fmt: skip
    # A live heartbeat keeps it: a new run is refused.
    ForecastRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    with pytest.raises(ForecastRunInProgress):
        forecast_run_start(city=city, horizon=7, enqueue=False)
    ForecastRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago)
    assert forecast_runs_reap() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error.startswith("worker lost")
    assert not run.series.exists()  # its partial rows are gone
    again = forecast_run_execute(run_id=forecast_run_rerun(run=run).pk)
    assert again.status == RunStatus.SUCCEEDED and again.rerun_of_id == run.pk


def test_a_run_is_done_at_most_once(imported, city):
    run = start_and_run(city=city)
    rows = run.series.count()
    assert forecast_run_execute(run_id=run.pk).status == RunStatus.SUCCEEDED
    assert run.series.count() == rows


def test_cancelling_stops_a_run_and_a_finished_run_cannot_be_cancelled(imported, city, planner):
    run = forecast_run_start(city=city, horizon=7, enqueue=False)
    forecast_run_cancel(run=run, actor=planner)
    assert run.status == RunStatus.CANCELLED and "cancelled by plan" in run.message
    assert forecast_run_execute(run_id=run.pk).status == RunStatus.CANCELLED  # never claimed
    with pytest.raises(ForecastRunFinished):
        forecast_run_cancel(run=run)


def test_a_run_cancelled_while_running_stops_at_its_next_report(imported, city, monkeypatch):
    run = forecast_run_start(city=city, horizon=7, enqueue=False)
    real = services._store_block

    def cancel_midway(run_id, block, demand):
        real(run_id, block, demand)
        forecast_run_cancel(run=ForecastRun.objects.get(pk=run_id))

    monkeypatch.setattr(services, "_store_block", cancel_midway)
    monkeypatch.setattr(services._RunReporter, "__call__", _report_always)
    done = forecast_run_execute(run_id=run.pk)
    assert done.status == RunStatus.CANCELLED
    assert not done.series.exists()


def _report_always(self, share, message, *, force=False):
    updated = ForecastRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
        progress=round(self.low + (self.high - self.low) * share, 1)
    )
    if not updated:
        raise services.RunAbandoned


def test_a_run_without_history_fails_with_a_reason(db, city):
    run = start_and_run(city=city)
    assert run.status == RunStatus.FAILED
    assert "no demand history" in run.error


def test_unknown_models_are_refused_before_queueing(db, city):
    with pytest.raises(UnknownModel):
        forecast_run_start(city=city, models=["ets", "prophet"], enqueue=False)
    assert not ForecastRun.objects.exists()


def test_daily_runs_start_once_per_city_and_day(imported, city, dc):
    quiet = CityFactory.create(code="quiet", name="No sales yet", latitude=31, longitude=121)
    StoreFactory.create(code="Q1", name="Q1", city=quiet)
    # Noon of the city's today: before DAILY_RUN_HOUR no run starts, whatever the clock says.
    local = timezone.now().astimezone(zoneinfo.ZoneInfo(city.timezone))
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    first = services.forecast_runs_daily(now=noon)
    assert [r.scope for r in first] == [city.code]
    assert services.forecast_runs_daily(now=noon) == []


def test_daily_runs_wait_for_the_run_hour(imported, city):
    local = timezone.now().astimezone(zoneinfo.ZoneInfo(city.timezone))
    early = local.replace(hour=services.DAILY_RUN_HOUR - 1, minute=30)
    assert services.forecast_runs_daily(now=early) == []
    assert not ForecastRun.objects.exists()


def test_the_forecast_command_shows_progress_and_the_table(imported, city):
    out = StringIO()
    call_command("forecast", city=city.code, horizon=7, stdout=out)
    text = out.getvalue()
    assert "100%" in text and "selection" in text and "seasonal_naive" in text
    assert ForecastRun.objects.get().status == RunStatus.SUCCEEDED
