"""Writes of forecasting: demand imports and forecast runs.

A run's life: ``forecast_run_start`` creates it queued (one queued or running run per city at a
time) and sends ``forecast_run_task`` once the transaction commits; the task calls
``forecast_run_execute``, which claims it (queued → running), reads the demand history, runs the
pure engine, stores each finished block of series under the run, and reports progress and a
heartbeat on the run row as it goes. Only at the very end, in one transaction, does the run
become ``succeeded`` with its accuracy summary: readers take rows of succeeded runs only, so
they see the previous forecast until then, never half of a new one.

A worker that dies mid-run leaves a ``running`` run whose heartbeat stops. Once the heartbeat is
older than ``OMNI_FORECAST_STALE_SECONDS`` (default 120 s), ``forecast_runs_reap`` (every minute,
and whenever a run is started) marks it failed and drops its rows; a new run (or
``forecast_run_rerun``) then supersedes it. A run is never resumed: it is cheap to start over,
and a fresh run reads the latest history.
"""

from __future__ import annotations

import logging
import os
import time
import tomllib
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation

from inventory.models import PHYSICAL_KINDS, Location, Product
from omni.models import City, User

from . import selectors
from .engine import (
    ForecastConfig,
    HistoryError,
    SeriesForecast,
    read_history_rows,
    run_forecast,
)
from .engine import UnknownModel as EngineUnknownModel
from .engine.model_catalogue import MODELS as ENGINE_MODELS
from .errors import (
    DemandFileInvalid,
    ForecastRunFinished,
    ForecastRunInProgress,
    NoDemandHistory,
    UnknownModel,
)
from .locks import lock_forecast_run
from .models import (
    ACTIVE_STATUSES,
    DemandImport,
    DemandRecord,
    ForecastRun,
    ForecastSeries,
    RunStatus,
)

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
    """Processes a run uses (0: one per core)."""
    return _setting("OMNI_FORECAST_JOBS", 0)


KEEP_SUCCEEDED_RUNS = 14  # per scope, the newest runs keep their series rows
DAILY_RUN_HOUR = 2  # local time after which the day's run of a city starts


# --------------------------------------------------------------------------- demand import


@dataclass(frozen=True)
class DemandMapping:
    """How a foreign history file maps onto Omni: its column names, its item ids to SKUs and
    its store ids to location codes (see docs/forecasting.md)."""

    columns: dict[str, str] = field(default_factory=dict)  # Omni's name -> the file's
    ignore: tuple[str, ...] = ()
    sku_prefix: str = ""
    skus: dict[str, str] = field(default_factory=dict)  # the file's item -> SKU
    locations: dict[str, str] = field(default_factory=dict)  # the file's store -> code
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "columns": self.columns,
            "ignore": list(self.ignore),
            "sku_prefix": self.sku_prefix,
            "skus": len(self.skus),
            "locations": self.locations,
        }


def demand_mapping_load(path: str | Path) -> DemandMapping:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DemandFileInvalid.unreadable_mapping(path.name, exc) from exc
    errors: list[str] = []
    columns = data.get("columns", {})
    skus = data.get("skus", {})
    locations = data.get("locations", {})
    for section, value in (("columns", columns), ("skus", skus), ("locations", locations)):
        if not isinstance(value, dict):
            errors.append(f"{path.name}: [{section}] must be a table")
    unknown = set(data) - {"columns", "skus", "locations"}
    errors += [f"{path.name}: unknown section [{name}]" for name in sorted(unknown)]
    if errors:
        raise DemandFileInvalid(errors)
    ignore = columns.pop("ignore", [])
    bad_columns = set(columns) - {"sku", "location", "date", "quantity"}
    if bad_columns:
        errors.append(f"{path.name}: [columns] has unknown key(s) {sorted(bad_columns)}")
    prefix = skus.pop("prefix", "")
    table = skus.pop("map", {})
    if skus:
        errors.append(f"{path.name}: [skus] takes 'prefix' and a [skus.map] table only")
    if errors:
        raise DemandFileInvalid(errors)
    return DemandMapping(
        columns={str(k): str(v) for k, v in columns.items()},
        ignore=tuple(str(c) for c in ignore),
        sku_prefix=str(prefix),
        skus={str(k): str(v) for k, v in table.items()},
        locations={str(k): str(v) for k, v in locations.items()},
        source=path.name,
    )


@dataclass(frozen=True)
class DemandImportReport:
    batch: DemandImport | None  # None for a dry run
    rows: int
    series: int
    first_day: date | None
    last_day: date | None
    created_products: int


def demand_import(
    *,
    path: str | Path,
    mapping: DemandMapping | None = None,
    create_products: bool = False,
    actor: User | None = None,
    dry_run: bool = False,
) -> DemandImportReport:
    """Import a demand history file (``sku,location,date,quantity``, or any layout through a
    ``mapping``). All or nothing: any bad line, unknown SKU or unknown location refuses the
    whole file with ``DemandFileInvalid`` naming every problem by line. A day imported again
    replaces the earlier value."""
    path = Path(path)
    mapping = mapping or DemandMapping()
    label = path.name
    try:
        rows = read_history_rows(path, name=label, columns=mapping.columns, ignore=mapping.ignore)
    except HistoryError as exc:
        raise DemandFileInvalid(exc.errors, file=label, error_count=exc.error_count) from exc

    import pandas as pd

    items = pd.Series(rows.sku)
    stores = pd.Series(rows.location)
    skus = items.map(lambda item: mapping.skus.get(item, mapping.sku_prefix + item))
    problems: list[tuple[int, str]] = []
    if mapping.locations:
        codes = stores.map(mapping.locations)
        for store, first in _first_lines(stores[codes.isna()], rows.line).items():
            problems.append(
                (first[0], f"store {store!r} has no location in the mapping ({first[1]} lines)")
            )
    else:
        codes = stores
    known_locations = {
        loc.code: loc for loc in Location.objects.filter(code__in=set(codes.dropna()))
    }
    for code, first in _first_lines(codes.dropna(), rows.line).items():
        location = known_locations.get(code)
        if location is None:
            problems.append((first[0], f"location {code!r} does not exist ({first[1]} lines)"))
        elif location.kind not in PHYSICAL_KINDS:
            problems.append((first[0], f"location {code!r} is {location.kind}, not a store or DC"))
    existing = dict(Product.objects.filter(sku__in=set(skus)).values_list("sku", "pk"))
    missing = {}
    for sku, first in _first_lines(skus, rows.line).items():
        if sku in existing:
            continue
        if len(sku) > 64:
            problems.append((first[0], f"SKU {sku!r} is longer than 64 characters"))
        elif create_products:
            missing[sku] = first
        else:
            problems.append(
                (
                    first[0],
                    f"SKU {sku!r} is not a product ({first[1]} lines; --create-products adds it)",
                )
            )
    if problems:
        problems.sort()
        errors = [f"{label}:{line}: {message}" for line, message in problems]
        raise DemandFileInvalid(errors, file=label)
    days = pd.to_datetime(rows.day)
    report = DemandImportReport(
        batch=None,
        rows=len(rows),
        series=int(pd.DataFrame({"s": skus, "l": codes}).drop_duplicates().shape[0]),
        first_day=days.min().date() if len(rows) else None,
        last_day=days.max().date() if len(rows) else None,
        created_products=len(missing),
    )
    if dry_run:
        return report
    with transaction.atomic():
        if missing:
            Product.objects.bulk_create(
                [Product(sku=sku, name=sku[:200], barcode=None) for sku in missing],
                batch_size=1000,
            )
            existing.update(Product.objects.filter(sku__in=list(missing)).values_list("sku", "pk"))
        batch = DemandImport.objects.create(
            file_name=label[:255],
            rows=report.rows,
            series=report.series,
            first_day=report.first_day,
            last_day=report.last_day,
            mapping=mapping.as_dict(),
            created_products=report.created_products,
            actor=actor,
        )
        product_ids = skus.map(existing).to_numpy()
        location_ids = codes.map({c: loc.pk for c, loc in known_locations.items()}).to_numpy()
        day_values = [d.date() for d in days]
        quantities = rows.quantity
        step = 5000
        for lo in range(0, len(rows), step):
            DemandRecord.objects.bulk_create(
                [
                    DemandRecord(
                        product_id=int(product_ids[i]),
                        location_id=int(location_ids[i]),
                        day=day_values[i],
                        quantity=float(quantities[i]),
                        source=batch,
                    )
                    for i in range(lo, min(lo + step, len(rows)))
                ],
                update_conflicts=True,
                unique_fields=["product", "location", "day"],
                update_fields=["quantity", "source"],
            )
    return DemandImportReport(
        batch=batch,
        rows=report.rows,
        series=report.series,
        first_day=report.first_day,
        last_day=report.last_day,
        created_products=report.created_products,
    )


def _first_lines(values: Any, lines: np.ndarray) -> dict[str, tuple[int, int]]:
    """Each distinct value: (the first file line it is on, how many lines have it)."""
    out: dict[str, tuple[int, int]] = {}
    for index, value in values.items():
        line = int(lines[index])
        first = out.get(value)
        out[value] = (line, 1) if first is None else (first[0], first[1] + 1)
    return out


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
    """Fail the running runs whose worker stopped reporting, and drop their rows."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    stale = ForecastRun.objects.filter(status=RunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    reaped = 0
    for run in stale:
        seen = run.heartbeat_at or run.started_at
        message = f"worker lost: no progress since {seen:%Y-%m-%d %H:%M:%S} UTC"
        if _end(run.pk, RunStatus.FAILED, message="worker lost", error=message):
            logger.warning("forecast run %s: %s (%s)", run.pk, message, run.worker)
            reaped += 1
    return reaped


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


class _RunReporter:
    """Writes progress and the heartbeat on the run row, at most once a second, and notices a
    cancellation there."""

    def __init__(
        self,
        run_id: int,
        *,
        low: float,
        high: float,
        listener: Callable[[float, str], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.low, self.high = low, high
        self.listener = listener
        self.last = 0.0
        self.series_done = 0

    def phase(self, low: float, high: float) -> None:
        self.low, self.high = low, high

    def __call__(self, share: float, message: str, *, force: bool = False) -> None:
        clock = time.monotonic()
        if not force and clock - self.last < 1.0 and share < 1.0:
            return
        self.last = clock
        percent = round(self.low + (self.high - self.low) * share, 1)
        updated = ForecastRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING).update(
            progress=min(percent, 100.0),
            message=message[:255],
            heartbeat_at=timezone.now(),
            series_done=self.series_done,
        )
        if not updated:
            raise RunAbandoned
        if self.listener is not None:
            self.listener(percent, message)


def forecast_run_execute(
    *,
    run_id: int,
    worker: str = "",
    on_progress: Callable[[float, str], None] | None = None,
) -> ForecastRun:
    """Do a queued run (the task's body). Claims it first, so a run is done at most once;
    returns the run as it ended. ``on_progress(percent, message)`` follows it in-process.

    It must be the outermost transaction (the claim is ``durable``): the claim, each stored
    block and every heartbeat commit as they happen, for other workers, the reaper and the
    progress page to see."""
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
    reporter = _RunReporter(run_id, low=0, high=5, listener=on_progress)
    try:
        _execute(run, reporter)
    except RunAbandoned:
        logger.info("forecast run %s stopped: no longer running", run_id)
        ForecastSeries.objects.filter(run_id=run_id).delete()
    except Exception as exc:
        logger.exception("forecast run %s failed", run_id)
        # Stored in the default language, whoever's request ran it eagerly.
        with translation.override(settings.LANGUAGE_CODE):
            text = str(exc)
        _end(
            run_id,
            RunStatus.FAILED,
            message=f"failed: {text}",
            error=f"{type(exc).__name__}: {text}",
        )
    run.refresh_from_db()
    return run


def _execute(run: ForecastRun, reporter: _RunReporter) -> None:
    config = _engine_config(horizon=run.horizon, models=run.candidates, quantiles=run.quantiles)
    demand = selectors.demand_history(city=run.city, as_of=run.requested_as_of)
    history = demand.history
    if not history.series:
        raise NoDemandHistory(run.city)
    open_orders = {
        (sku, code) for sku, code in _keys_of(selectors.open_hold_series(run.city), demand)
    }
    ForecastRun.objects.filter(pk=run.pk).update(
        as_of=history.as_of, series_total=len(history.series)
    )
    reporter(1.0, f"{len(history.series):,} series, history to {history.as_of}", force=True)
    reporter.phase(5, 99)

    def store(block: list[SeriesForecast]) -> None:
        _store_block(run.pk, block, demand)
        reporter.series_done += len(block)
        reporter.last = 0.0  # report each stored block at once: it is the progress that shows

    result = run_forecast(
        history, config, open_orders=open_orders, progress=reporter, on_block=store, keep=False
    )
    summary = result.summary.as_dict()
    with transaction.atomic():
        locked = lock_forecast_run(run.pk)
        if locked.status != RunStatus.RUNNING:
            raise RunAbandoned
        improvement = summary.get("improvement_pct")
        locked.status = RunStatus.SUCCEEDED
        locked.summary = summary
        locked.progress = 100
        locked.series_done = reporter.series_done
        locked.message = f"done: {reporter.series_done:,} series" + (
            f", {improvement:+.1f}% RMSSE vs seasonal naive" if improvement is not None else ""
        )
        locked.finished_at = timezone.now()
        locked.heartbeat_at = locked.finished_at
        locked.save()
    _prune(run.scope)


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
