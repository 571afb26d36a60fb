"""A forecast run on a real Celery worker whose process is killed half way (SIGKILL): the
half-written run is never served as current — the previous succeeded run is — and once its
heartbeat has gone stale it is failed, its rows dropped, and a re-run on a fresh worker
succeeds. The run is one chunk, and a chunk may lose one worker only here
(``OMNI_FORECAST_CHUNK_ATTEMPTS=1``): by default the reaper would send it to another worker
instead, which ``test_forecast_fanout.py`` proves. PostgreSQL and Redis, on the test database
pytest-django created."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import date

import pytest

from forecasting import selectors
from forecasting.models import ForecastRun, RunStatus
from forecasting.services import forecast_run_rerun, forecast_run_start, forecast_runs_reap
from omni.models import City, User
from tests.factories import PlannerFactory
from tests.integration.forecast_history import synthetic_city

pytestmark = pytest.mark.django_db(transaction=True)

STORES = 3
SKUS = 800  # 2,400 series: a run takes several seconds, its last phase writes in blocks
DAYS = 120
AS_OF = date(2024, 6, 30)
# Cheap candidates: the run is dominated by storing its blocks, the phase the kill aims at.
MODELS = ["seasonal_naive", "tsb", "adida", "croston_sba"]
STALE_SECONDS = 3


@pytest.fixture
def history(db: object) -> City:
    return synthetic_city(
        code="fc-city",
        prefix="FC",
        stores=STORES,
        skus=SKUS,
        days=DAYS,
        as_of=AS_OF,
        seed=12,
    )


def wait_for(run: ForecastRun, done: Callable[[ForecastRun], bool], timeout: float) -> ForecastRun:
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if done(run):
            return run
        if time.monotonic() > deadline:
            pytest.fail(f"run {run.pk} stuck: {run.status} {run.progress}% {run.message}")
        time.sleep(0.02)


def served_runs(planner: User) -> set[int]:
    return set(selectors.forecast_series_list(user=planner).values_list("run_id", flat=True))


def test_a_run_killed_mid_way_is_never_served_and_a_rerun_succeeds(
    history: City, start_worker: Callable[[str], subprocess.Popen[bytes]], settings: object
) -> None:
    planner = PlannerFactory.create(username="planner", password=None)
    first_worker = start_worker("forecast-a")

    # A succeeded run: the current forecast.
    first = forecast_run_start(city=history, horizon=7, models=MODELS, actor=planner)
    first = wait_for(first, lambda r: not r.is_active, timeout=180)
    assert first.status == RunStatus.SUCCEEDED, first.error
    series = STORES * SKUS
    assert first.series.count() == series
    assert served_runs(planner) == {first.pk}

    # The next run is killed with its worker once it has stored part of its forecasts.
    second = forecast_run_start(city=history, horizon=7, models=MODELS, actor=planner)
    second = wait_for(second, lambda r: r.series_done > 0 or not r.is_active, timeout=180)
    os.killpg(first_worker.pid, signal.SIGKILL)
    first_worker.wait(timeout=10)
    second.refresh_from_db()
    assert second.status == RunStatus.RUNNING, "the kill came too late: the run had finished"
    stored = second.series.count()
    assert stored > 0  # part (rarely all) of its rows are stored, under its own id
    print(f"killed at {second.progress}%: {stored:,} of {series:,} series stored")

    # Half written, never served: readers still get the first run, every series of it.
    assert served_runs(planner) == {first.pk}
    assert selectors.forecast_series_list(user=planner).count() == series
    with pytest.raises(Exception, match="not served"):
        selectors.forecast_series_list(user=planner, run=second)

    # Its heartbeat goes stale; the reaper fails it and drops its rows.
    settings.OMNI_FORECAST_STALE_SECONDS = STALE_SECONDS  # type: ignore[attr-defined]
    settings.OMNI_FORECAST_CHUNK_ATTEMPTS = 1  # type: ignore[attr-defined]
    time.sleep(STALE_SECONDS + 0.5)
    assert forecast_runs_reap() == 1
    second.refresh_from_db()
    assert second.status == RunStatus.FAILED and second.error.startswith("worker lost")
    assert second.chunks.get().attempts == 1
    assert not second.series.exists()
    assert served_runs(planner) == {first.pk}

    # A re-run on a fresh worker succeeds and becomes current.
    start_worker("forecast-b")
    rerun = forecast_run_rerun(run=second, actor=planner)
    rerun = wait_for(rerun, lambda r: not r.is_active, timeout=180)
    assert rerun.status == RunStatus.SUCCEEDED, rerun.error
    assert rerun.rerun_of_id == second.pk and rerun.series.count() == series
    assert served_runs(planner) == {rerun.pk}
    assert rerun.worker.startswith("forecast-b-")
