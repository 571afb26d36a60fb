"""A forecast run in chunks, without a broker (the chunks run in this process, one after the
other): the same forecasts whatever the chunk size, a chunk taken once however often it is
delivered, a lost worker's chunk done again from scratch, a chunk that fails failing the run.
The same on real workers killed mid-way: ``tests/integration/test_forecast_fanout.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from forecasting import selectors, services
from forecasting.demand_imports import demand_import
from forecasting.models import ChunkStatus, ForecastChunk, ForecastRun, ForecastSeries, RunStatus
from forecasting.services import (
    forecast_chunk_execute,
    forecast_run_cancel,
    forecast_run_execute,
    forecast_run_start,
    forecast_runs_reap,
)
from forecasting.tasks import forecast_chunk_task

from .fixtures import AS_OF

COUNTS = ("series", "backtested", "short_history", "idle", "kept_for_open_orders", "capped_days")


@pytest.fixture
def imported(write_csv, history_csv, products):
    demand_import(path=write_csv(history_csv))


def hold_chunks(monkeypatch) -> list[tuple[int, list[int]]]:
    """From now on chunks sent are held here instead of run: the test delivers them, as a
    broker would."""
    sent: list[tuple[int, list[int]]] = []
    monkeypatch.setattr(
        services, "_send_chunks", lambda run_id, numbers: sent.append((run_id, list(numbers)))
    )
    return sent


@pytest.fixture
def held(monkeypatch) -> list[tuple[int, list[int]]]:
    return hold_chunks(monkeypatch)


def run_in_chunks(settings, city, size: int, models=None) -> ForecastRun:
    settings.OMNI_FORECAST_CHUNK_SERIES = size
    run = forecast_run_start(city=city, horizon=7, models=models, enqueue=False)
    return forecast_run_execute(run_id=run.pk, worker="test")


def rows_of(run: ForecastRun) -> dict[tuple[int, int], ForecastSeries]:
    return {(r.product_id, r.location_id): r for r in run.series.all()}


def served(user) -> set[int]:
    return set(selectors.forecast_series_list(user=user).values_list("run_id", flat=True))


def long_ago():
    return timezone.now() - timedelta(minutes=10)


def test_a_run_in_chunks_forecasts_what_a_run_in_one_chunk_does(imported, city, settings):
    # What a chunk decides from its series together — the global model, the blend's weights,
    # the window calibration — is decided per chunk; a model fitted per series is the same
    # whatever the chunks.
    whole = run_in_chunks(settings, city, 5000, models=["seasonal_naive"])
    split = run_in_chunks(settings, city, 1, models=["seasonal_naive"])  # a chunk per series
    assert whole.status == split.status == RunStatus.SUCCEEDED, split.error
    assert whole.chunks.count() == 1 and split.chunks.count() == 4
    assert set(split.chunks.values_list("status", "attempts")) == {(ChunkStatus.DONE, 1)}
    assert (split.progress, split.series_done, split.series_total) == (100, 4, 4)
    one, many = rows_of(whole), rows_of(split)
    assert one.keys() == many.keys() and len(many) == 4
    for key, row in one.items():
        other = many[key]
        fields = ("model", "method", "demand_class", "values", "quantiles", "scores", "rmsse")
        assert [getattr(row, f) for f in fields] == [getattr(other, f) for f in fields], key
    # The chunks' summaries merge into the one-chunk run's.
    a, b = whole.summary, split.summary
    assert [a[k] for k in COUNTS] == [b[k] for k in COUNTS]
    assert a["demand_classes"] == b["demand_classes"]
    assert [(m["model"], m["series"], m["wins"]) for m in a["per_model"]] == [
        (m["model"], m["series"], m["wins"]) for m in b["per_model"]
    ]
    for m, n in zip(a["per_model"], b["per_model"], strict=True):
        assert n["rmsse"] == pytest.approx(m["rmsse"]) and n["bias"] == pytest.approx(m["bias"])
    assert b["selection"]["rmsse"] == pytest.approx(a["selection"]["rmsse"])
    assert b["improvement_pct"] == pytest.approx(a["improvement_pct"])
    assert "chunks" not in b  # nothing of the engine's summary the merge does not know


def test_a_run_of_the_default_models_in_chunks_blends_per_chunk(imported, city, settings):
    split = run_in_chunks(settings, city, 2)
    assert split.status == RunStatus.SUCCEEDED, split.error
    assert split.series.count() == split.series_total == 4
    everyone = next(b for b in split.summary["blends"] if b["segment"] == "*")
    assert everyone["series"] == split.summary["backtested"]
    assert sum(everyone["weights"].values()) == pytest.approx(1.0)
    assert set(split.summary["window_calibration"]) == {str(d) for d in range(1, 8)}


def test_a_chunk_delivered_twice_is_done_once(imported, city, planner, settings, monkeypatch):
    first = run_in_chunks(settings, city, 5000)
    held = hold_chunks(monkeypatch)
    run = run_in_chunks(settings, city, 2)
    assert held == [(run.pk, [1, 2])] and run.status == RunStatus.RUNNING
    assert (run.series_total, run.progress) == (4, services.SPLIT_PERCENT)

    done = forecast_chunk_execute(run_id=run.pk, number=1, worker="a")
    assert done is not None and (done.status, done.series_done) == (ChunkStatus.DONE, 2)
    again = forecast_chunk_execute(run_id=run.pk, number=1, worker="b")
    assert again is not None and (again.worker, again.attempts) == ("a", 1)
    assert run.series.count() == 2
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING and run.series_done == 2
    assert services.SPLIT_PERCENT < run.progress < services.CHUNKS_PERCENT
    assert served(planner) == {first.pk}  # half of it is stored, none of it served

    # Chunk 2 is in the hands of a live worker: another delivery leaves it alone.
    ForecastChunk.objects.filter(run=run, number=2).update(
        status=ChunkStatus.RUNNING, attempts=1, worker="a", heartbeat_at=timezone.now()
    )
    live = forecast_chunk_execute(run_id=run.pk, number=2, worker="b")
    assert live is not None and (live.worker, live.attempts) == ("a", 1)

    # Its worker dies after storing one series: the next delivery does it again from scratch.
    second = ForecastChunk.objects.get(run=run, number=2)
    product_id, location_id = second.series[0]
    ForecastSeries.objects.create(
        run=run, product_id=product_id, location_id=location_id, model="ets",
        method="backtest", start=AS_OF, values=[99.0] * 7, quantiles={},
    )  # fmt: skip
    ForecastChunk.objects.filter(pk=second.pk).update(heartbeat_at=long_ago())
    retaken = forecast_chunk_execute(run_id=run.pk, number=2, worker="b")
    assert retaken is not None and (retaken.status, retaken.worker, retaken.attempts) == (
        ChunkStatus.DONE,
        "b",
        2,
    )
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.series_done == 4
    assert run.series.count() == 4 and 99.0 not in run.series.get(product_id=product_id).values
    assert served(planner) == {run.pk}

    # A message that comes back once the run is over changes nothing.
    finished_at = run.finished_at
    assert forecast_chunk_task.apply(args=(run.pk, 2)).get() == ChunkStatus.DONE
    run.refresh_from_db()
    assert (run.finished_at, run.series.count()) == (finished_at, 4)


def test_a_chunk_of_a_cancelled_run_is_not_taken(imported, city, settings, held):
    run = run_in_chunks(settings, city, 2)
    forecast_run_cancel(run=run)
    chunk = forecast_chunk_execute(run_id=run.pk, number=1, worker="a")
    assert chunk is not None and (chunk.status, chunk.attempts) == (ChunkStatus.PENDING, 0)
    assert not run.series.exists()


def test_a_chunk_that_fails_fails_the_run(imported, city, settings, held, monkeypatch):
    run = run_in_chunks(settings, city, 2)
    forecast_chunk_execute(run_id=run.pk, number=1, worker="a")
    assert run.series.count() == 2

    def broken(*args, **kwargs):
        raise ValueError("the engine broke")

    monkeypatch.setattr(services, "run_forecast", broken)
    forecast_chunk_execute(run_id=run.pk, number=2, worker="a")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error == "ValueError (chunk 2): the engine broke"
    assert not run.series.exists()  # chunk 1's rows went with it


def lost_worker(run: ForecastRun, number: int, *, attempts: int) -> None:
    """A worker took the chunk (its ``attempts``-th) and died: its heartbeat went stale."""
    ForecastChunk.objects.filter(run=run, number=number).update(
        status=ChunkStatus.RUNNING, attempts=attempts, worker="gone", heartbeat_at=long_ago()
    )


def test_the_reaper_sends_a_lost_workers_chunk_again(
    imported, city, settings, held, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # with workers: the chunk goes to another
    run = run_in_chunks(settings, city, 2)
    forecast_chunk_execute(run_id=run.pk, number=1, worker="a")
    lost_worker(run, 2, attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert forecast_runs_reap() == 0
    assert held[-1] == (run.pk, [2])
    chunk = ForecastChunk.objects.get(run=run, number=2)
    assert (chunk.status, chunk.attempts) == (ChunkStatus.PENDING, 1)
    forecast_chunk_execute(run_id=run.pk, number=2, worker="b")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.series.count() == 4


def test_a_chunk_that_loses_every_worker_fails_its_run(imported, city, settings, held):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.OMNI_FORECAST_CHUNK_ATTEMPTS = 2
    run = run_in_chunks(settings, city, 2)
    forecast_chunk_execute(run_id=run.pk, number=1, worker="a")
    lost_worker(run, 2, attempts=2)
    # Not taken again by a late delivery either: its attempts are spent.
    assert forecast_chunk_execute(run_id=run.pk, number=2, worker="b").attempts == 2  # type: ignore[union-attr]
    assert forecast_runs_reap() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.message == "worker lost"
    assert run.error.startswith("worker lost: chunk 2 lost each of the 2 worker(s) that took it")
    assert not run.series.exists()


def test_a_chunk_whose_message_was_lost_is_sent_again(
    imported, city, settings, held, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    run = run_in_chunks(settings, city, 2)
    forecast_chunk_execute(run_id=run.pk, number=1, worker="a")
    ForecastChunk.objects.filter(run=run, number=2).update(sent_at=long_ago())
    # While the run reports, a pending chunk may only be waiting for a free worker.
    with django_capture_on_commit_callbacks(execute=True):
        forecast_runs_reap()
    assert held == [(run.pk, [1, 2])]
    # Nothing of the run heard of for the stale time: its message is taken for lost.
    ForecastRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago())
    with django_capture_on_commit_callbacks(execute=True):
        assert forecast_runs_reap() == 0
    assert held[-1] == (run.pk, [2])


def test_without_a_broker_a_stale_run_is_failed_as_a_whole(imported, city, settings, held):
    run = run_in_chunks(settings, city, 2)
    lost_worker(run, 1, attempts=1)
    ForecastRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago())
    assert forecast_runs_reap() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and run.error.startswith("worker lost: no progress")


def test_a_chunks_progress_line_is_worded_in_the_language_asked():
    line = "chunk 2 of 6: backtested 100 of 200 series"
    with translation.override("zh-hans"):
        assert selectors.progress_text(line) == "第 2 / 6 块：已回测 100 / 200 个序列"
    with translation.override("en"):
        assert selectors.progress_text(line) == line


def test_the_admin_page_of_a_run_lists_its_chunks(imported, city, settings, admin_client):
    run = run_in_chunks(settings, city, 2)
    page = admin_client.get(reverse("admin:forecasting_forecastrun_change", args=[run.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Forecast chunks" in text
    assert f"Chunk 1 of forecast run {run.pk} (done)" in text
    assert f"Chunk 2 of forecast run {run.pk} (done)" in text
