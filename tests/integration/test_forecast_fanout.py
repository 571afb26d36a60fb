"""A forecast run in chunks on two real Celery workers, one of them killed mid-chunk (SIGKILL
of its whole process group): the other worker does the other chunks; once the lost chunk's
heartbeat is stale the reaper sends it again and the survivor does it from scratch. The run
succeeds once, with every series exactly once, and until then readers are served the previous
run only. PostgreSQL and Redis, on the test database pytest-django created."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import date

import pytest
from django.db.models import Count

from forecasting import selectors
from forecasting.models import (
    ChunkStatus,
    ForecastChunk,
    ForecastRun,
    RunStatus,
)
from forecasting.services import forecast_run_start, forecast_runs_reap
from forecasting.tasks import forecast_chunk_task, forecast_run_task
from omni.models import City, User
from tests.factories import PlannerFactory
from tests.integration.forecast_history import synthetic_city

pytestmark = pytest.mark.django_db(transaction=True)

STORES = 4
SKUS = 480
SERIES = STORES * SKUS  # 1,920 series
CHUNK = 320  # six chunks, each stored in four blocks by a worker of one process
DAYS = 120
AS_OF = date(2024, 6, 30)
# Cheap local candidates and the global model: every chunk fits LightGBM in a prefork worker.
MODELS = ["seasonal_naive", "tsb", "adida", "croston_sba", "lightgbm"]
STALE_SECONDS = 4
WORKER_ENV = {"OMNI_FORECAST_CHUNK_SERIES": str(CHUNK)}


@pytest.fixture
def history(db: object) -> City:
    return synthetic_city(
        code="fan-city",
        prefix="FO",
        stores=STORES,
        skus=SKUS,
        days=DAYS,
        as_of=AS_OF,
        seed=21,
        sell_first_day=True,
    )


def wait_for(run: ForecastRun, done: Callable[[ForecastRun], bool], timeout: float) -> ForecastRun:
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if done(run):
            return run
        if time.monotonic() > deadline:
            chunks = list(run.chunks.values_list("number", "status", "worker", "series_done"))
            pytest.fail(f"run {run.pk} stuck: {run.status} {run.progress}% {run.message} {chunks}")
        time.sleep(0.01)


def served_runs(planner: User) -> set[int]:
    return set(selectors.forecast_series_list(user=planner).values_list("run_id", flat=True))


def chunk_of(run: ForecastRun, worker: str) -> ForecastChunk | None:
    """A chunk the worker is running and has stored part of."""
    return (
        run.chunks.filter(
            worker__startswith=f"{worker}-", status=ChunkStatus.RUNNING, series_done__gt=0
        )
        .defer("series")
        .first()
    )


def test_a_chunk_whose_worker_is_killed_is_done_again_by_another(
    history: City, start_worker: Callable[..., subprocess.Popen[bytes]], settings: object
) -> None:
    planner = PlannerFactory.create(username="planner", password=None)
    worker_a = start_worker("fanout-a", env=WORKER_ENV)
    start_worker("fanout-b", env=WORKER_ENV)

    # A run on both workers: the current forecast.
    first = forecast_run_start(city=history, horizon=7, models=MODELS, actor=planner)
    first = wait_for(first, lambda r: not r.is_active, timeout=300)
    assert first.status == RunStatus.SUCCEEDED, first.error
    assert first.chunks.count() == 6 and first.series.count() == SERIES
    workers = {w.split("-")[1] for w in first.chunks.values_list("worker", flat=True)}
    assert workers == {"a", "b"}, "the chunks were not shared out"
    assert served_runs(planner) == {first.pk}

    # The next run: worker A is killed once it has stored part of a chunk.
    second = forecast_run_start(city=history, horizon=7, models=MODELS, actor=planner)
    second = wait_for(
        second, lambda r: chunk_of(r, "fanout-a") is not None or not r.is_active, timeout=300
    )
    os.killpg(worker_a.pid, signal.SIGKILL)
    worker_a.wait(timeout=10)
    lost = chunk_of(second, "fanout-a")
    assert lost is not None, "the kill came too late: worker A's chunk was done"
    assert 0 < lost.series_done < lost.series_total
    print(f"killed in chunk {lost.number}: {lost.series_done} of {lost.series_total} stored")

    # Worker B does every other chunk; the run is still half written, never served.
    others = second.chunks.exclude(number=lost.number)
    second = wait_for(
        second,
        lambda r: not others.exclude(status=ChunkStatus.DONE).exists() or not r.is_active,
        timeout=300,
    )
    assert second.status == RunStatus.RUNNING
    assert second.series.count() < SERIES
    assert served_runs(planner) == {first.pk}
    assert selectors.forecast_series_list(user=planner).count() == SERIES
    with pytest.raises(Exception, match="not served"):
        selectors.forecast_series_list(user=planner, run=second)

    # Once its heartbeat is stale the reaper sends A's chunk again, and B does it.
    settings.OMNI_FORECAST_STALE_SECONDS = STALE_SECONDS  # type: ignore[attr-defined]
    lost.refresh_from_db()
    assert lost.status == ChunkStatus.RUNNING and lost.heartbeat_at is not None
    time.sleep(max(0.0, STALE_SECONDS + 0.5 - (time.time() - lost.heartbeat_at.timestamp())))
    assert forecast_runs_reap() == 0  # sent again, nothing failed
    second = wait_for(second, lambda r: not r.is_active, timeout=300)
    assert second.status == RunStatus.SUCCEEDED, second.error
    lost.refresh_from_db()
    assert lost.status == ChunkStatus.DONE and lost.attempts == 2
    assert lost.worker.startswith("fanout-b-")
    assert set(second.chunks.values_list("status", flat=True)) == {ChunkStatus.DONE}

    # Every series exactly once, the summary of all of them, and it is now the one served.
    assert second.series.count() == SERIES
    pairs = second.series.values("product_id", "location_id").annotate(n=Count("id"))
    assert pairs.count() == SERIES and {p["n"] for p in pairs} == {1}
    assert (second.series_total, second.series_done, second.progress) == (SERIES, SERIES, 100)
    assert second.summary["series"] == SERIES and "chunks" not in second.summary
    assert served_runs(planner) == {second.pk}

    # It succeeded once: late deliveries of its task or of a chunk change nothing.
    finished_at = second.finished_at
    assert forecast_chunk_task.delay(second.pk, lost.number).get(timeout=60) == "done"
    assert forecast_run_task.delay(second.pk).get(timeout=60) == "succeeded"
    second.refresh_from_db()
    assert (second.status, second.finished_at) == (RunStatus.SUCCEEDED, finished_at)
    assert second.series.count() == SERIES
