"""Writes of forecasting: forecast runs, their chunks and the workers that do them (demand imports
are ``demand_imports.py``).

A run's life: ``forecast_run_start`` creates it queued (one queued or running run per city at a
time) and sends ``forecast_run_task`` once the transaction commits; the task calls
``forecast_run_execute``, the run's coordinator: it claims the run (queued → running), reads
which series the city has (not their history), cuts them into chunks of
``OMNI_FORECAST_CHUNK_SERIES`` and sends one ``forecast_chunk_task`` per chunk as a Celery
group, so a run spreads over as many workers as there are. Each chunk
(``forecast_chunk_execute``) reads the history of its own series, runs the pure engine, stores
each finished block of series under the run, and reports progress and a heartbeat on its chunk
and on the run. Only when the last chunk is done, in one transaction, does the run become
``succeeded`` with the chunks' summaries merged: readers take rows of succeeded runs only, so
they see the previous forecast until then, never part of a new one.

A worker that dies mid-chunk leaves a ``running`` chunk whose heartbeat stops. Once it is older
than ``OMNI_FORECAST_STALE_SECONDS`` (default 120 s), ``forecast_runs_reap`` (every minute, and
whenever a run is started) sends the chunk again, to be done from scratch by whichever worker
takes it; after ``OMNI_FORECAST_CHUNK_ATTEMPTS`` (default 3) lost workers it fails the run and
drops its rows, and a new run (or ``forecast_run_rerun``) supersedes it. A coordinator that dies
before its run is split leaves a stale run without chunks: that run is failed, as is a stale
run done in-process (no broker).
"""

from __future__ import annotations

import logging
import os
import time
import zoneinfo
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, FloatField, Q, QuerySet, Sum
from django.utils import timezone, translation

from inventory.models import PHYSICAL_KINDS
from omni.models import City, User

from . import selectors
from .engine import (
    ForecastConfig,
    SeriesForecast,
    run_forecast,
)
from .engine import UnknownModel as EngineUnknownModel
from .engine.model_catalogue import MODELS as ENGINE_MODELS
from .errors import (
    ForecastRunFinished,
    ForecastRunInProgress,
    NoDemandHistory,
    UnknownModel,
)
from .locks import lock_forecast_chunk, lock_forecast_run
from .models import (
    ACTIVE_STATUSES,
    ChunkStatus,
    ForecastChunk,
    ForecastRun,
    ForecastSeries,
    RunStatus,
)
from .summaries import merge_summaries

logger = logging.getLogger(__name__)


def _setting(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, str(default))
    return int(value)


def stale_after() -> timedelta:
    """A running run whose heartbeat is older than this has lost its worker."""
    return timedelta(seconds=_setting("OMNI_FORECAST_STALE_SECONDS", 120))


def engine_jobs() -> int:
    """Processes a chunk of a run uses (0: one per core)."""
    return _setting("OMNI_FORECAST_JOBS", 0)


def chunk_size() -> int:
    """Series per chunk of a run: the unit of work a worker takes, and does again if lost."""
    return max(1, _setting("OMNI_FORECAST_CHUNK_SERIES", 5000))


def chunk_attempts() -> int:
    """Workers that may take a chunk before its run fails: a chunk that kills every worker that
    takes it (say, out of memory) must not go round for ever."""
    return max(1, _setting("OMNI_FORECAST_CHUNK_ATTEMPTS", 3))


KEEP_SUCCEEDED_RUNS = 14  # per scope, the newest runs keep their series rows
DAILY_RUN_HOUR = 2  # local time after which the day's run of a city starts


# --------------------------------------------------------------------------- forecast runs


# Window totals each stored series carries (the API and the forecast page show them); the run
# calibrates every window from 1 day to the horizon, so a reader can have any of them
# (``selectors.window_quantile``).
SHOWN_WINDOWS = (7, 14, 28)


def _engine_config(
    *,
    horizon: int,
    models: Sequence[str] | None,
    quantiles: Sequence[float] | None,
) -> ForecastConfig:
    base = ForecastConfig()
    try:
        return ForecastConfig(
            horizon=horizon,
            models=tuple(models) if models else base.models,
            quantiles=tuple(sorted(set(quantiles))) if quantiles else base.quantiles,
            window_days=tuple(range(1, horizon + 1)),
            jobs=engine_jobs(),
        )
    except EngineUnknownModel as exc:
        raise UnknownModel(exc.names, known=list(ENGINE_MODELS)) from exc


@transaction.atomic
def forecast_run_start(
    *,
    city: City | None = None,
    horizon: int = 28,
    models: Sequence[str] | None = None,
    quantiles: Sequence[float] | None = None,
    as_of: date | None = None,
    actor: User | None = None,
    rerun_of: ForecastRun | None = None,
    enqueue: bool = True,
) -> ForecastRun:
    """Queue a forecast run of ``city`` (None: every city) and send its task once committed
    (``enqueue=False``: the caller runs ``forecast_run_execute`` itself). Refused while another
    run of the same city is queued or running with a live worker."""
    config = _engine_config(horizon=horizon, models=models, quantiles=quantiles)
    scope = selectors.scope_of(city)
    forecast_runs_reap()
    active = ForecastRun.objects.filter(scope=scope, status__in=ACTIVE_STATUSES).first()
    if active is not None:
        raise ForecastRunInProgress(active)
    try:
        with transaction.atomic():
            run = ForecastRun.objects.create(
                city=city,
                scope=scope,
                horizon=config.horizon,
                requested_as_of=as_of,
                candidates=list(config.models),
                quantiles=list(config.quantiles),
                options=config.as_dict(),
                message="queued",
                created_by=actor,
                rerun_of=rerun_of,
            )
    except IntegrityError as exc:  # a start that raced ours won
        other = ForecastRun.objects.filter(scope=scope, status__in=ACTIVE_STATUSES).first()
        raise ForecastRunInProgress(other) from exc
    run.task_id = f"forecast-run-{run.pk}"
    run.save(update_fields=["task_id"])
    if enqueue:
        transaction.on_commit(lambda: _send(run.pk, run.task_id))
    return run


def _send(run_id: int, task_id: str) -> None:
    from .tasks import forecast_run_task

    forecast_run_task.apply_async(args=(run_id,), task_id=task_id)


def forecast_run_rerun(*, run: ForecastRun, actor: User | None = None) -> ForecastRun:
    """Start a new run with the parameters of a finished one (e.g. one whose worker died)."""
    forecast_runs_reap()
    run.refresh_from_db()
    if run.is_active:
        raise ForecastRunInProgress(run)
    return forecast_run_start(
        city=run.city,
        horizon=run.horizon,
        models=run.candidates,
        quantiles=run.quantiles,
        as_of=run.requested_as_of,
        actor=actor,
        rerun_of=run,
    )


def forecast_run_cancel(*, run: ForecastRun, actor: User | None = None) -> ForecastRun:
    """Stop a queued or running run: its worker stops at its next progress report."""
    who = f" by {actor.get_username()}" if actor is not None else ""
    ended = _end(run.pk, RunStatus.CANCELLED, message=f"cancelled{who}")
    run.refresh_from_db()
    if not ended:
        raise ForecastRunFinished(run)
    return run


def _end(run_id: int, status: RunStatus, *, message: str, error: str = "") -> bool:
    """Move an active run to a final status and drop its rows; False if it was not active."""
    with transaction.atomic():
        ended = ForecastRun.objects.filter(pk=run_id, status__in=ACTIVE_STATUSES).update(
            status=status,
            message=message[:255],
            error=error,
            finished_at=timezone.now(),
        )
        if ended:
            ForecastSeries.objects.filter(run_id=run_id).delete()
    return bool(ended)


def forecast_runs_reap(*, now: datetime | None = None) -> int:
    """Look after the running runs whose workers stopped reporting; returns how many it failed.

    - A run not yet split into chunks (its coordinator died first) whose heartbeat is older
      than ``stale_after()`` is failed and its rows dropped. So is any stale run without a
      broker: there the process that ran its chunks is the one that is gone.
    - A running chunk whose heartbeat is stale lost its worker: it goes back to pending and is
      sent again, unless ``chunk_attempts()`` workers have taken it already; then the run fails.
    - A pending chunk sent longer ago than the stale time, while nothing of its run has reported
      for as long, lost its message (the sender died, the broker forgot it): it is sent again.

    The chunks leave once the caller's transaction commits; a duplicate of a message that was
    only late is harmless (``forecast_chunk_execute`` takes a chunk once)."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    in_process = bool(settings.CELERY_TASK_ALWAYS_EAGER)
    reaped = 0
    for run in ForecastRun.objects.filter(status=RunStatus.RUNNING):
        seen = run.heartbeat_at or run.started_at or now
        quiet = seen < cutoff
        if in_process or not run.chunks.exists():
            if quiet and _reap(run, f"worker lost: no progress since {seen:%Y-%m-%d %H:%M:%S} UTC"):
                reaped += 1
            continue
        lost = list(
            run.chunks.filter(status=ChunkStatus.RUNNING, heartbeat_at__lt=cutoff).defer("series")
        )
        spent = [chunk for chunk in lost if chunk.attempts >= chunk_attempts()]
        if spent:
            chunk = spent[0]
            error = (
                f"worker lost: chunk {chunk.number} lost each of the {chunk.attempts} worker(s) "
                f"that took it, the last {chunk.worker} after "
                f"{chunk.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC"
            )
            if _reap(run, error):
                reaped += 1
            continue
        _chunks_resend(run, lost, cutoff=cutoff, now=now, quiet=quiet)
    return reaped


def _reap(run: ForecastRun, error: str) -> bool:
    if not _end(run.pk, RunStatus.FAILED, message="worker lost", error=error):
        return False
    logger.warning("forecast run %s: %s (%s)", run.pk, error, run.worker)
    return True


def _chunks_resend(
    run: ForecastRun, lost: Sequence[ForecastChunk], *, cutoff: datetime, now: datetime, quiet: bool
) -> list[int]:
    """Send again the chunks of ``run`` whose worker (``lost``) or message is gone."""
    numbers = []
    with transaction.atomic():
        for chunk in lost:
            # Only if nobody took it or reported on it since we looked.
            back = ForecastChunk.objects.filter(
                pk=chunk.pk,
                status=ChunkStatus.RUNNING,
                attempts=chunk.attempts,
                heartbeat_at__lt=cutoff,
            ).update(status=ChunkStatus.PENDING, progress=0, sent_at=now)
            if back:
                numbers.append(chunk.number)
                logger.warning(
                    "forecast run %s: chunk %s lost its worker %s (attempt %s); sent again",
                    run.pk,
                    chunk.number,
                    chunk.worker,
                    chunk.attempts,
                )
        if quiet:
            waiting = run.chunks.filter(status=ChunkStatus.PENDING, sent_at__lt=cutoff)
            unheard = list(waiting.values_list("number", flat=True))
            if unheard:
                waiting.update(sent_at=now)
                numbers += unheard
                logger.warning(
                    "forecast run %s: chunk(s) %s never started; sent again", run.pk, unheard
                )
        if numbers:
            transaction.on_commit(partial(_send_chunks, run.pk, sorted(numbers)))
    return numbers


def forecast_runs_daily(*, now: datetime | None = None) -> list[ForecastRun]:
    """Start the day's run of every city with stores or DCs, once per local day, after
    ``DAILY_RUN_HOUR``. A city whose run today already exists (whatever its status) waits for
    tomorrow; a planner can re-run a failed one."""
    now = now or timezone.now()
    started = []
    cities = City.objects.filter(locations__kind__in=PHYSICAL_KINDS).distinct()
    for city in cities:
        local = now.astimezone(zoneinfo.ZoneInfo(city.timezone))
        if local.hour < DAILY_RUN_HOUR:
            continue
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if ForecastRun.objects.filter(scope=city.code, created_at__gte=midnight).exists():
            continue
        if not selectors.has_demand(city):
            continue  # nothing sold or imported yet: a run could only fail
        try:
            started.append(forecast_run_start(city=city))
        except ForecastRunInProgress:
            continue
    return started


class RunAbandoned(Exception):
    """The run stopped being ours (cancelled, or reaped as stale): stop working on it."""


class ChunkAbandoned(Exception):
    """The chunk was given to another worker (this one was taken for lost): stop, keep out."""


# In-process runs (no broker): the progress listener of a run whose chunks run in this process.
_LISTENERS: dict[int, Callable[[float, str], None]] = {}
SPLIT_PERCENT = 5.0  # a run's progress once its series are split into chunks
CHUNKS_PERCENT = 99.0  # ... once every chunk is done, before the switch to succeeded


def _chunk_of(run_id: int, number: int, attempt: int) -> QuerySet[ForecastChunk]:
    """The chunk, while it is still this attempt's: the condition of every write a chunk's
    worker makes (a stale worker's writes then match nothing)."""
    return ForecastChunk.objects.filter(
        run_id=run_id, number=number, attempts=attempt, status=ChunkStatus.RUNNING
    )


class _RunReporter:
    """A chunk's progress and heartbeat, written at most once a second on the chunk's row, then
    totalled on its run's; it notices there a run cancelled or reaped (``RunAbandoned``) and a
    chunk given to another worker (``ChunkAbandoned``)."""

    def __init__(
        self,
        run_id: int,
        *,
        number: int,
        attempt: int,
        chunks: int,
        listener: Callable[[float, str], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.number, self.attempt, self.chunks = number, attempt, chunks
        self.low, self.high = 0.0, 100.0  # the chunk's own percent
        self.listener = listener
        self.last = 0.0

    def __call__(self, share: float, message: str, *, force: bool = False) -> None:
        clock = time.monotonic()
        if not force and clock - self.last < 1.0 and share < 1.0:
            return
        self.last = clock
        percent = round(self.low + (self.high - self.low) * share, 1)
        now = timezone.now()
        mine = _chunk_of(self.run_id, self.number, self.attempt)
        if not mine.update(progress=min(percent, 100.0), heartbeat_at=now):
            raise ChunkAbandoned
        if self.chunks > 1:
            message = f"chunk {self.number} of {self.chunks}: {message}"
        with transaction.atomic():
            run = lock_forecast_run(self.run_id)
            if run.status != RunStatus.RUNNING:
                raise RunAbandoned
            _total_chunks(run, message=message, now=now)
        if self.listener is not None:
            self.listener(run.progress, message)


def _total_chunks(run: ForecastRun, *, message: str | None, now: datetime) -> None:
    """The run's progress, series done and heartbeat from its chunks' rows. The caller holds the
    run's lock: totals of two workers never overwrite each other out of order."""
    totals = run.chunks.aggregate(
        done=Sum("series_done"),
        work=Sum(F("progress") * F("series_total"), output_field=FloatField()),
    )
    share = (totals["work"] or 0.0) / (100.0 * run.series_total) if run.series_total else 0.0
    run.progress = round(SPLIT_PERCENT + (CHUNKS_PERCENT - SPLIT_PERCENT) * min(share, 1.0), 1)
    run.series_done = totals["done"] or 0
    run.heartbeat_at = now
    fields = ["progress", "series_done", "heartbeat_at"]
    if message is not None:
        run.message = message[:255]
        fields.append("message")
    run.save(update_fields=fields)


def forecast_run_execute(
    *,
    run_id: int,
    worker: str = "",
    on_progress: Callable[[float, str], None] | None = None,
) -> ForecastRun:
    """Start a queued run (its task's body): claim it, so a run is done at most once; split its
    series into chunks of ``chunk_size()``; send them as a Celery group, one task per chunk, to
    as many workers as there are. Without a broker the group runs here, chunk after chunk, and
    the run has ended when this returns; with workers it returns once they are sent. Returns
    the run as it stands. ``on_progress(percent, message)`` follows it in-process.

    It must be the outermost transaction (the claim and the split are ``durable``): they commit
    before any chunk is sent, and every heartbeat commits as it happens, for other workers, the
    reaper and the progress page to see."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        claimed = ForecastRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=worker[:255],
            progress=0,
            message="reading demand history",
        )
    run = selectors.forecast_run_get(run_id)
    if not claimed:
        logger.info("forecast run %s is %s; not run again", run_id, run.status)
        return run
    try:
        numbers = _split(run)
    except RunAbandoned:
        logger.info("forecast run %s stopped before it was split: no longer running", run_id)
        numbers = []
    except Exception as exc:
        _fail(run_id, exc)
        numbers = []
    if numbers:
        if on_progress is not None:
            run.refresh_from_db()
            on_progress(run.progress, run.message)
            _LISTENERS[run_id] = on_progress
        try:
            _send_chunks(run_id, numbers)
        finally:
            _LISTENERS.pop(run_id, None)
    run.refresh_from_db()
    return run


def _split(run: ForecastRun) -> list[int]:
    """Cut a claimed run into chunks: its series in (product id, location id) order, every
    ``chunk_size()``; the run's ``as_of`` is fixed here for all of them. Returns the chunks'
    numbers, committed before any is sent."""
    keys = selectors.demand_series_keys(city=run.city, as_of=run.requested_as_of)
    if not keys.series:
        raise NoDemandHistory(run.city)
    size = chunk_size()
    parts = [keys.series[lo : lo + size] for lo in range(0, len(keys.series), size)]
    now = timezone.now()
    with transaction.atomic(durable=True):
        ours = ForecastRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            as_of=keys.as_of,
            series_total=len(keys.series),
            progress=SPLIT_PERCENT,
            heartbeat_at=now,
            message=f"{len(keys.series):,} series, history to {keys.as_of}",
        )
        if not ours:
            raise RunAbandoned
        ForecastChunk.objects.bulk_create(
            [
                ForecastChunk(
                    run_id=run.pk,
                    number=number,
                    series=[list(key) for key in part],
                    series_total=len(part),
                    sent_at=now,
                )
                for number, part in enumerate(parts, start=1)
            ],
            batch_size=100,
        )
    logger.info(
        "forecast run %s: %s series in %s chunk(s) of up to %s",
        run.pk,
        len(keys.series),
        len(parts),
        size,
    )
    return list(range(1, len(parts) + 1))


def _send_chunks(run_id: int, numbers: Sequence[int]) -> None:
    """One task per chunk, as a Celery group: the workers share them out. Without a broker the
    group runs in this process, one chunk after the other."""
    from celery import group

    from .tasks import forecast_chunk_task

    group(forecast_chunk_task.s(run_id, number) for number in numbers).apply_async()


def forecast_chunk_execute(*, run_id: int, number: int, worker: str = "") -> ForecastChunk | None:
    """Do one chunk of a running run (the chunk task's body): take it, read the history of its
    series, run the engine on them, store each finished block under the run, and report
    progress and a heartbeat on the chunk and the run. Then, under the run's lock, mark the
    chunk done with its summary; the last chunk done switches the run to succeeded with the
    merged summary, in the same transaction. Returns the chunk as it ended (None if unknown).

    Delivered twice, it is done once: a chunk already done, or taken by a worker whose
    heartbeat is live, is left alone. A chunk that raises fails the run."""
    chunk = _chunk_take(run_id=run_id, number=number, worker=worker)
    if chunk is None:
        found = ForecastChunk.objects.filter(run_id=run_id, number=number).defer("series").first()
        logger.info(
            "forecast run %s, chunk %s: %s; not taken",
            run_id,
            number,
            found.status if found is not None else "no such chunk",
        )
        return found
    run = selectors.forecast_run_get(run_id)
    reporter = _RunReporter(
        run_id,
        number=number,
        attempt=chunk.attempts,
        chunks=run.chunks.count(),
        listener=_LISTENERS.get(run_id),
    )
    try:
        _execute_chunk(run, chunk, reporter)
    except ChunkAbandoned:
        logger.warning(
            "forecast run %s, chunk %s: given to another worker; %s stopped", run_id, number, worker
        )
    except RunAbandoned:
        logger.info("forecast run %s stopped: no longer running", run_id)
        _series_of(run_id, chunk.series).delete()  # what it stored after the run ended
    except Exception as exc:
        _fail(run_id, exc, chunk=number)
    chunk.refresh_from_db()
    return chunk


def _chunk_take(*, run_id: int, number: int, worker: str) -> ForecastChunk | None:
    """Claim a chunk of a running run: pending, or running with a stale heartbeat (its worker is
    gone and the message came back) — one conditional UPDATE, so of two deliveries one wins. A
    chunk taken before may have stored rows with its lost worker: they are dropped here."""
    if not ForecastRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).exists():
        return None
    now = timezone.now()
    lost = Q(
        status=ChunkStatus.RUNNING,
        heartbeat_at__lt=now - stale_after(),
        attempts__lt=chunk_attempts(),
    )
    with transaction.atomic(durable=True):
        taken = ForecastChunk.objects.filter(
            Q(status=ChunkStatus.PENDING) | lost, run_id=run_id, number=number
        ).update(
            status=ChunkStatus.RUNNING,
            attempts=F("attempts") + 1,
            worker=worker[:255],
            progress=0,
            series_done=0,
            heartbeat_at=now,
            started_at=now,
            finished_at=None,
        )
        if not taken:
            return None
        chunk = ForecastChunk.objects.get(run_id=run_id, number=number)
        if chunk.attempts > 1:
            _series_of(run_id, chunk.series).delete()
    ForecastRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(heartbeat_at=now)
    return chunk


def _series_of(run_id: int, series: Sequence[Sequence[int]]) -> QuerySet[ForecastSeries]:
    """The rows a run stored for a chunk's series. A chunk is a contiguous range of the run's
    (product id, location id) pairs, so they are that range of the run's rows (one index scan,
    however many series)."""
    rows = ForecastSeries.objects.filter(run_id=run_id)
    if not series:
        return rows.none()
    (first_product, first_location), (last_product, last_location) = series[0], series[-1]
    if first_product == last_product:
        return rows.filter(
            product_id=first_product,
            location_id__gte=first_location,
            location_id__lte=last_location,
        )
    return rows.filter(
        Q(product_id=first_product, location_id__gte=first_location)
        | Q(product_id__gt=first_product, product_id__lt=last_product)
        | Q(product_id=last_product, location_id__lte=last_location)
    )


def _execute_chunk(run: ForecastRun, chunk: ForecastChunk, reporter: _RunReporter) -> None:
    config = _engine_config(horizon=run.horizon, models=run.candidates, quantiles=run.quantiles)
    series = [(int(product), int(location)) for product, location in chunk.series]
    demand = selectors.demand_history(city=run.city, as_of=run.as_of, series=series)
    history = demand.history
    open_orders = set(_keys_of(selectors.open_hold_series(run.city, series=series), demand))
    reporter(0.0, f"{len(history.series):,} series, history to {history.as_of}", force=True)

    def store(block: list[SeriesForecast]) -> None:
        with transaction.atomic():
            mine = _chunk_of(run.pk, chunk.number, reporter.attempt)
            stored = mine.update(
                series_done=F("series_done") + len(block), heartbeat_at=timezone.now()
            )
            if not stored:
                raise ChunkAbandoned
            _store_block(run.pk, block, demand)
        reporter.last = 0.0  # report each stored block at once: it is the progress that shows

    result = run_forecast(
        history, config, open_orders=open_orders, progress=reporter, on_block=store, keep=False
    )
    _chunk_finish(run, chunk.number, reporter.attempt, result.summary.as_dict())


def _chunk_finish(run: ForecastRun, number: int, attempt: int, summary: dict[str, Any]) -> None:
    """Mark a chunk done with its summary; if it was the run's last, switch the run to
    succeeded with every chunk's summary merged — one transaction, under the run's lock then
    the chunk's, so of two chunks finishing at once the second sees the first done."""
    finished = False
    with transaction.atomic():
        locked = lock_forecast_run(run.pk)
        if locked.status != RunStatus.RUNNING:
            raise RunAbandoned
        mine = lock_forecast_chunk(run.pk, number)
        if mine.status != ChunkStatus.RUNNING or mine.attempts != attempt:
            raise ChunkAbandoned
        now = timezone.now()
        mine.status = ChunkStatus.DONE
        mine.summary = summary
        mine.progress = 100
        mine.finished_at = mine.heartbeat_at = now
        mine.save(update_fields=["status", "summary", "progress", "finished_at", "heartbeat_at"])
        chunks = locked.chunks.order_by("number")
        if any(status != ChunkStatus.DONE for status in chunks.values_list("status", flat=True)):
            _total_chunks(locked, message=None, now=now)
        else:
            merged = merge_summaries(list(chunks.values_list("summary", flat=True)))
            series_done = sum(chunks.values_list("series_done", flat=True))
            improvement = merged.get("improvement_pct")
            locked.status = RunStatus.SUCCEEDED
            locked.summary = merged
            locked.progress = 100
            locked.series_done = series_done
            locked.message = f"done: {series_done:,} series" + (
                f", {improvement:+.1f}% RMSSE vs seasonal naive" if improvement is not None else ""
            )
            locked.finished_at = locked.heartbeat_at = now
            locked.save()
            finished = True
    if finished:
        logger.info("forecast run %s succeeded", run.pk)
        _prune(run.scope)


def _fail(run_id: int, exc: Exception, *, chunk: int | None = None) -> None:
    """A run failed: its status and reason, its rows dropped."""
    where = f" (chunk {chunk})" if chunk is not None else ""
    logger.exception("forecast run %s failed%s", run_id, where)
    # Stored in the default language, whoever's request ran it eagerly.
    with translation.override(settings.LANGUAGE_CODE):
        text = str(exc)
    _end(
        run_id,
        RunStatus.FAILED,
        message=f"failed: {text}",
        error=f"{type(exc).__name__}{where}: {text}",
    )


def _keys_of(pairs: set[tuple[int, int]], demand: selectors.DemandHistory) -> list[tuple[str, str]]:
    skus = {pk: sku for sku, pk in demand.product_ids.items()}
    codes = {pk: code for code, pk in demand.location_ids.items()}
    return [(skus[p], codes[loc]) for p, loc in pairs if p in skus and loc in codes]


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 4) for v in values]


def _store_block(run_id: int, block: list[SeriesForecast], demand: selectors.DemandHistory) -> None:
    rows = []
    for item in block:
        product_id, location_id = demand.ids(item.key)
        acc, base = item.accuracy, item.baseline
        rows.append(
            ForecastSeries(
                run_id=run_id,
                product_id=product_id,
                location_id=location_id,
                model=item.model,
                method=item.method,
                weights={name: round(w, 4) for name, w in item.weights.items()},
                segment=item.segment,
                window={
                    str(days): item.window[days] for days in SHOWN_WINDOWS if days in item.window
                },
                demand_class=item.demand_class,
                start=item.start,
                values=_rounded(item.forecast),
                quantiles={name: _rounded(v) for name, v in item.quantiles.items()},
                rmsse=acc.rmsse if acc else None,
                mase=acc.mase if acc else None,
                bias=acc.bias if acc else None,
                baseline_rmsse=base.rmsse if base else None,
                scores={name: round(a.rmsse, 4) for name, a in item.backtests.items()},
                history_days=item.history_days,
                last_sale=item.last_sale,
                open_orders=item.open_orders,
                capped=[
                    {"day": c.day.isoformat(), "quantity": c.quantity, "capped_to": c.capped_to}
                    for c in item.capped
                ],
            )
        )
    with transaction.atomic():
        ForecastSeries.objects.bulk_create(rows, batch_size=500)


def _prune(scope: str) -> None:
    """Keep the series rows of the newest succeeded runs of a scope; older runs keep their
    summary."""
    old = list(
        ForecastRun.objects.filter(scope=scope, status=RunStatus.SUCCEEDED)
        .order_by("-pk")
        .values_list("pk", flat=True)[KEEP_SUCCEEDED_RUNS:]
    )
    if old:
        ForecastSeries.objects.filter(run_id__in=old).delete()
