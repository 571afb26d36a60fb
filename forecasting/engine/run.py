"""A forecast run of the pure core: hygiene, validation on rolling origins inside the history,
a blend of the candidate models weighted on those origins, point forecasts, daily and window
quantiles, accuracy. The Django service and the command line both call ``run_forecast``;
nothing here knows about a database.

1. **Hygiene** (``hygiene.py``): trim each series to its first sale, cap outliers; idle series
   forecast zero (unless they have open orders); series too short to validate get a moving
   average.
2. **Validation**: every candidate forecasts ``windows`` consecutive horizons ending on
   ``as_of`` — the origins ``as_of − k × horizon`` for k = windows … 1, all inside the history
   — scored by RMSSE. The statsforecast models fit each series alone (ETS, Theta and seasonal
   naive are fitted once, at the first origin — their parameters estimated on the last
   ``estimate_days`` before it — and rolled forward over the later ones; the
   cheap intermittent models are re-fitted at every origin); the global model (``lightgbm``,
   ``global_model.py``) is fitted once across all series at the first origin.
3. **Blend** (``blend.py``): the weights of the candidates are chosen by forward selection on
   the validation windows — globally, and per demand class where that pays on an origin it was
   not chosen on. The run records the origins, every segment's weights and their scores.
4. **Forecast**: every model with a weight forecasts from the day after ``as_of`` (the rolled
   models carry their fit on; the others are fitted on the recent history; the global model is
   fitted again on all of it) and the blend is their weighted sum, floored at zero.
5. **Quantiles**: daily — the forecast plus the empirical quantiles of the blend's validation
   errors of that series (``windows × horizon`` of them, split-conformal style); of window
   totals (``window_days``) — ``windows.py``, calibrated on the window totals of all series.

Series are cut into blocks that run in a process pool (one process per core); the global model
and the blend see all the series of the run at once.
"""

from __future__ import annotations

import functools
import logging
import math
import multiprocessing
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from .blend import GLOBAL, BlendChoice, BlendConfig, choose_blends
from .global_model import GLOBAL_MODEL, GlobalModelUnavailable, GlobalSeries, global_forecasts
from .history import History, SeriesHistory, SeriesKey
from .hygiene import (
    CappedDay,
    Prepared,
    backtest_length,
    demand_class,
    is_idle,
    moving_average,
    prepare,
)
from .metrics import Accuracy, Scale, backtest_accuracy, mean_accuracy
from .model_catalogue import (
    BASELINE_MODEL,
    DEFAULT_MODELS,
    FALLBACK_MOVING_AVERAGE,
    IDLE,
    MODELS,
    SEASON_LENGTH,
    ModelSpec,
    resolve_models,
)
from .pool import RUN_SERIES, Workers
from .summary import ModelSummary, RunSummary
from .windows import calibrate, window_table

logger = logging.getLogger(__name__)

DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
BLEND = "blend"  # the model name of a series forecast by a blend of several models
# Shares of a run's work: local validation, the global model, the final forecasts.
LOCAL_SHARE, GLOBAL_SHARE = 0.7, 0.15


class Method:
    """How a series' forecast was made."""

    BACKTEST = "backtest"  # the blend weighted on the validation origins
    SHORT_HISTORY = "short_history"  # too short to validate: moving average
    IDLE = "idle"  # no sale for idle_days and no open orders: zero


@dataclass(frozen=True)
class ForecastConfig:
    horizon: int = 28
    models: tuple[str, ...] = DEFAULT_MODELS
    windows: int = 3  # validation origins, each one horizon apart
    min_train_days: int = 56  # history before the first validation origin
    idle_days: int = 180
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    window_days: tuple[int, ...] = ()  # windows whose total gets quantiles (each <= horizon)
    blend_steps: int = 20
    min_segment_series: int = 50  # a demand class needs this many series for its own weights
    outlier_k: float = 10.0
    outlier_min_sales: int = 8
    moving_average_days: int = 28
    season_length: int = SEASON_LENGTH
    # Days of history the statsforecast models fit on (None: all). A year holds every weekly
    # pattern they use; older days cost time in ETS and Theta and slow their adaptation.
    fit_window: int | None = 364
    # Days before the first validation origin the rolled-forward models (ETS, Theta) estimate
    # their parameters on (None: the fit window). Their states then run over the whole fit
    # window at every origin; the estimation is most of a run's cost, and grows with its days.
    estimate_days: int | None = 182
    refit: bool = False  # re-estimate forward-capable models at every validation origin
    jobs: int = 0  # processes; 0: one per core
    block_size: int = 250

    def __post_init__(self) -> None:
        if not 1 <= self.horizon <= 366:
            raise ValueError("horizon must be 1 to 366 days")
        if not 1 <= self.windows <= 12:
            raise ValueError("windows must be 1 to 12")
        if self.min_train_days < 2 * self.season_length:
            raise ValueError(f"min_train_days must be at least {2 * self.season_length}")
        if self.idle_days < 1:
            raise ValueError("idle_days must be at least 1")
        if not self.quantiles or any(not 0 < q < 1 for q in self.quantiles):
            raise ValueError("quantiles must be between 0 and 1 (exclusive)")
        if list(self.quantiles) != sorted(set(self.quantiles)):
            raise ValueError("quantiles must be increasing, without repeats")
        if any(not 1 <= d <= self.horizon for d in self.window_days):
            raise ValueError(f"window days must be 1 to the horizon ({self.horizon})")
        if list(self.window_days) != sorted(set(self.window_days)):
            raise ValueError("window days must be increasing, without repeats")
        if not 1 <= self.blend_steps <= 200 or self.min_segment_series < 1:
            raise ValueError("blend_steps must be 1 to 200, min_segment_series at least 1")
        if self.fit_window is not None and self.fit_window < self.min_train_days:
            raise ValueError("fit_window must be at least min_train_days")
        if self.estimate_days is not None and self.estimate_days < self.min_train_days:
            raise ValueError("estimate_days must be at least min_train_days")
        if self.moving_average_days < 1 or self.block_size < 1 or self.jobs < 0:
            raise ValueError("moving_average_days and block_size must be positive, jobs >= 0")
        object.__setattr__(self, "models", resolve_models(self.models))

    @functools.cached_property
    def quantile_names(self) -> list[str]:
        return [quantile_name(q) for q in self.quantiles]

    @property
    def backtest_days(self) -> int:
        return backtest_length(
            horizon=self.horizon, windows=self.windows, min_train_days=self.min_train_days
        )

    @property
    def local_models(self) -> list[str]:
        return [name for name in self.models if not MODELS[name].is_global]

    def origins(self, as_of: date) -> list[date]:
        """The validation origins (the last day each forecast saw), oldest first."""
        return [as_of - timedelta(days=k * self.horizon) for k in range(self.windows, 0, -1)]

    def process_count(self) -> int:
        if self.jobs:
            return self.jobs
        # A daemonic multiprocessing child may not start processes of its own.
        if multiprocessing.current_process().daemon:
            return 1
        return os.cpu_count() or 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "models": list(self.models),
            "windows": self.windows,
            "min_train_days": self.min_train_days,
            "idle_days": self.idle_days,
            "quantiles": list(self.quantiles),
            "window_days": list(self.window_days),
            "blend_steps": self.blend_steps,
            "min_segment_series": self.min_segment_series,
            "outlier_k": self.outlier_k,
            "outlier_min_sales": self.outlier_min_sales,
            "moving_average_days": self.moving_average_days,
            "season_length": self.season_length,
            "fit_window": self.fit_window,
            "estimate_days": self.estimate_days,
            "refit": self.refit,
        }


def quantile_name(q: float) -> str:
    """0.9 -> "q90", 0.975 -> "q97.5"."""
    return f"q{round(q * 100, 3):g}"


@dataclass
class SeriesForecast:
    sku: str
    location: str
    model: str  # "blend", or the one model a blend or a method came down to
    method: str
    start: date  # the first forecast day
    forecast: np.ndarray
    quantiles: dict[str, np.ndarray]
    accuracy: Accuracy | None = None  # the blend's, on the validation windows
    backtests: dict[str, Accuracy] = field(default_factory=dict)  # every candidate's
    weights: dict[str, float] = field(default_factory=dict)  # the blend's
    segment: str = ""  # whose weights: a demand class, or "*" (the run's global weights)
    window: dict[int, dict[str, float]] = field(default_factory=dict)  # days -> total, q50…
    demand_class: str = ""
    history_days: int = 0  # from the first sale to as_of
    last_sale: date | None = None
    open_orders: bool = False
    capped: list[CappedDay] = field(default_factory=list)
    # Until the forecast is made: each candidate's validation forecasts (windows, horizon),
    # what was sold in those windows, the series' scale, and the forecasts from as_of the
    # candidates already made (the rolled-forward ones and the global model).
    validation: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    actual: np.ndarray | None = field(default=None, repr=False)
    scale: Scale | None = field(default=None, repr=False)
    finals: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    offsets: np.ndarray | None = field(default=None, repr=False)  # the blend's error quantiles

    @property
    def key(self) -> SeriesKey:
        return (self.sku, self.location)

    @property
    def baseline(self) -> Accuracy | None:
        return self.backtests.get(BASELINE_MODEL)

    @property
    def own_best(self) -> str | None:
        """The single candidate with the lowest validation RMSSE on this series."""
        if not self.backtests:
            return None
        return min(self.backtests, key=lambda name: self.backtests[name].rmsse)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(len(self.forecast))]

    def drop_workings(self) -> None:
        self.validation, self.actual, self.finals, self.offsets = {}, None, {}, None


@dataclass
class ForecastResult:
    series: list[SeriesForecast]
    summary: RunSummary
    # CPU seconds per phase (validation, global model, blend, window calibration, forecast),
    # this process's and its pool's together: what a run costs whatever else the machine does.
    cpu_seconds: dict[str, float] = field(default_factory=dict)


class _CpuClock:
    """CPU seconds per phase of a run: this process's clock (the global model's threads
    included) and what the pool's processes report."""

    def __init__(self) -> None:
        self.workers: Workers | None = None
        self.phases: dict[str, float] = {}
        self.last = self._now()

    def _now(self) -> float:
        return time.process_time() + (self.workers.cpu_seconds if self.workers else 0.0)

    def lap(self, phase: str) -> None:
        now = self._now()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self.last
        self.last = now


Progress = Callable[[float, str], None]  # (share of the run done, 0..1; what is happening)
BlockSink = Callable[[list[SeriesForecast]], None]


# --------------------------------------------------------------------------- the run


def run_forecast(
    history: History,
    config: ForecastConfig | None = None,
    *,
    open_orders: Iterable[SeriesKey] = (),
    progress: Progress | None = None,
    on_block: BlockSink | None = None,
    keep: bool = True,
) -> ForecastResult:
    """Forecast every series of ``history`` from the day after ``history.as_of``.

    ``open_orders``: series with open orders (never idled). ``on_block`` receives each block of
    finished series as it completes (in completion order); ``keep=False`` drops them after
    that, for runs too large to hold. ``progress`` is called as blocks complete."""
    config = config or ForecastConfig()
    started = time.perf_counter()
    open_keys = frozenset(open_orders)
    series = history.series
    total = len(series)
    processes = config.process_count()
    # Enough blocks to keep every process busy to the end, none larger than block_size.
    size = max(16, min(config.block_size, math.ceil(total / (4 * processes)) or 1))
    bounds = [(lo, min(lo + size, total)) for lo in range(0, total, size)]
    flags = [s.key in open_keys for s in series]
    collector = _Collector(config, history.as_of)
    clock = _CpuClock()

    def report(share: float, message: str) -> None:
        if progress:
            progress(min(max(share, 0.0), 1.0), message)

    report(0.0, f"validating {total:,} series ({len(config.models)} models)")
    assessed: list[SeriesForecast | None] = [None] * total
    if config.local_models:
        # statsforecast takes seconds to import: once here, before the pool forks, rather than
        # in every pool process.
        _statsforecast([], None)
    with Workers(series, min(processes, len(bounds))) as workers:
        clock.workers = workers
        done = 0
        for lo, items in workers.map(
            _assess_block, [(lo, hi, flags[lo:hi], history.as_of, config) for lo, hi in bounds]
        ):
            assessed[lo : lo + len(items)] = items
            done += len(items)
            report(LOCAL_SHARE * done / total, f"validated {done:,} of {total:,} series")
        items_all = [item for item in assessed if item is not None]
        validated = [i for i, item in enumerate(items_all) if item.method == Method.BACKTEST]
        clock.lap("validation")
        if GLOBAL_MODEL in config.models and validated:
            report(LOCAL_SHARE, f"fitting the global model on {len(validated):,} series")
            _global_model(series, items_all, validated, config, threads=processes)
            clock.lap("global model")
        report(LOCAL_SHARE + GLOBAL_SHARE, "choosing the blend")
        choice = _blend(items_all, validated, config)
        collector.choice(choice, config.origins(history.as_of))
        clock.lap("blend")
        calibration = _window_calibration(items_all, validated, config)
        clock.lap("window calibration")
        collector.window_calibration = {
            days: dict(zip(config.quantile_names, [round(float(z), 4) for z in zs], strict=True))
            for days, zs in calibration.items()
        }
        done = 0
        for lo, fitted in workers.map(
            _fit_block,
            [(lo, hi, _needs(items_all[lo:hi]), config) for lo, hi in bounds],
        ):
            block = items_all[lo : lo + len(fitted)]
            for item, finals in zip(block, fitted, strict=True):
                _finish(item, finals, calibration, config)
                for cap in item.capped:
                    logger.info("outlier capped before fitting: %s", cap)
            collector.add(block)
            if on_block:
                on_block(block)
            done += len(block)
            report(
                LOCAL_SHARE + GLOBAL_SHARE + (1 - LOCAL_SHARE - GLOBAL_SHARE) * done / total,
                f"forecast {done:,} of {total:,} series",
            )
        clock.lap("forecast")
    summary = collector.summary(seconds=time.perf_counter() - started)
    if summary.capped_days:
        logger.warning(
            "capped %d outlier day(s) in %d series before fitting",
            summary.capped_days,
            summary.capped_series,
        )
    return ForecastResult(
        series=items_all if keep else [], summary=summary, cpu_seconds=clock.phases
    )


def _global_model(
    series: Sequence[SeriesHistory],
    items: list[SeriesForecast],
    validated: list[int],
    config: ForecastConfig,
    *,
    threads: int,
) -> None:
    """The global model's validation forecasts and its forecast from ``as_of``, for every
    validated series."""
    h, windows = config.horizon, config.windows
    inputs = [_global_series(series[i], config) for i in validated]
    cuts = [k * h for k in range(windows, -1, -1)]
    try:
        out = global_forecasts(inputs, horizon=h, cuts=cuts, threads=threads)
    except GlobalModelUnavailable as exc:
        logger.warning("the global model sits this run out: %s", exc)
        return
    for k, i in enumerate(validated):
        item = items[i]
        assert item.actual is not None and item.scale is not None
        item.validation[GLOBAL_MODEL] = np.stack([out[w * h][k] for w in range(windows, 0, -1)])
        item.finals[GLOBAL_MODEL] = out[0][k]
        item.backtests[GLOBAL_MODEL] = backtest_accuracy(
            item.actual, item.validation[GLOBAL_MODEL], item.scale
        )


def _global_series(series: SeriesHistory, config: ForecastConfig) -> GlobalSeries:
    prepared = _prepare(series, config)
    return GlobalSeries(
        start=prepared.start,
        values=prepared.values,
        attributes={"sku": series.sku, "location": series.location, **series.attributes},
        price=prepared.price,
        promo=prepared.promo,
    )


def _blend(
    items: list[SeriesForecast], validated: list[int], config: ForecastConfig
) -> BlendChoice | None:
    """Choose the blend on the validation windows and give every validated series its weights,
    its blend's validation accuracy and its daily error quantiles."""
    if not validated:
        return None
    names = [name for name in config.models if name in items[validated[0]].validation]
    rows = [items[i] for i in validated]
    forecasts = np.stack([np.stack([item.validation[name] for item in rows]) for name in names])
    actual = np.stack([a for item in rows if (a := item.actual) is not None])
    scale_sq = np.array([item.scale.squared if item.scale else 1.0 for item in rows])
    choice = choose_blends(
        forecasts,
        actual,
        scale_sq,
        [item.demand_class for item in rows],
        names,
        BlendConfig(steps=config.blend_steps, min_segment_series=config.min_segment_series),
    )
    # Every series' blended validation forecasts at once, segment by segment.
    segments = [choice.for_segment(item.demand_class) for item in rows]
    weights = np.array([[blend.weights.get(name, 0.0) for name in names] for blend in segments])
    validation = np.einsum("sm,msoh->soh", weights, forecasts)
    offsets = np.quantile((actual - validation).reshape(len(rows), -1), config.quantiles, axis=1).T
    for k, (item, blend) in enumerate(zip(rows, segments, strict=True)):
        item.weights = dict(blend.weights)
        item.segment = item.demand_class if blend.own else GLOBAL
        item.model = next(iter(item.weights)) if len(item.weights) == 1 else BLEND
        assert item.scale is not None
        item.accuracy = backtest_accuracy(actual[k], validation[k], item.scale)
        item.validation = {BLEND: validation[k]}
        item.offsets = offsets[k]
    return choice


def _window_calibration(
    items: list[SeriesForecast], validated: list[int], config: ForecastConfig
) -> dict[int, np.ndarray]:
    if not config.window_days:
        return {}
    if not validated:
        return {days: np.zeros(len(config.quantiles)) for days in config.window_days}
    forecasts = np.stack([items[i].validation[BLEND] for i in validated])
    actual = np.stack([a for i in validated if (a := items[i].actual) is not None])
    return {
        days: calibrate(forecasts, actual, days, config.quantiles) for days in config.window_days
    }


def _needs(block: Sequence[SeriesForecast]) -> list[list[str]]:
    """Per series, the weighted models whose forecast from as_of is still to be made."""
    return [
        [name for name in item.weights if name not in item.finals]
        if item.method == Method.BACKTEST
        else []
        for item in block
    ]


def _finish(
    item: SeriesForecast,
    finals: dict[str, np.ndarray],
    calibration: dict[int, np.ndarray],
    config: ForecastConfig,
) -> None:
    """The blend's forecast and quantiles of a validated series, the window quantiles of
    every series; the workings dropped."""
    if item.method == Method.BACKTEST:
        made = item.finals | finals
        forecast = np.zeros(config.horizon)
        for name, weight in item.weights.items():
            forecast += weight * made[name]
        item.forecast = np.maximum(forecast, 0.0)
        offsets = item.offsets if item.offsets is not None else np.zeros(len(config.quantiles))
        item.quantiles = {
            name: np.maximum(item.forecast + offset, 0.0)
            for name, offset in zip(config.quantile_names, offsets, strict=True)
        }
    if item.method == Method.IDLE:
        zero = {"total": 0.0} | dict.fromkeys(config.quantile_names, 0.0)
        item.window = {days: dict(zero) for days in calibration}
    else:
        item.window = window_table(item.forecast, calibration, config.quantile_names)
    item.drop_workings()


class _Collector:
    """Running totals for the summary, so a run need not hold every series."""

    def __init__(self, config: ForecastConfig, as_of: date) -> None:
        self.config = config
        self.as_of = as_of
        self.per_model: dict[str, list[Accuracy]] = defaultdict(list)
        self.wins: dict[str, int] = defaultdict(int)
        self.chosen: list[Accuracy] = []
        self.baseline: list[Accuracy] = []
        self.counts: dict[str, int] = defaultdict(int)
        self.classes: dict[str, int] = defaultdict(int)
        self.origins: list[date] = []
        self.blends: list[dict[str, Any]] = []
        self.global_weights: dict[str, float] = {}
        self.window_calibration: dict[int, dict[str, float]] = {}

    def choice(self, choice: BlendChoice | None, origins: list[date]) -> None:
        self.origins = origins
        if choice is None:
            return
        self.blends = [blend.as_dict() for blend in choice.blends.values()]
        self.global_weights = dict(choice.blends[GLOBAL].weights)

    def add(self, block: list[SeriesForecast]) -> None:
        for item in block:
            self.counts["series"] += 1
            if item.capped:
                self.counts["capped_series"] += 1
                self.counts["capped_days"] += len(item.capped)
            if item.method == Method.IDLE:
                self.counts["idle"] += 1
                continue
            if item.method == Method.SHORT_HISTORY:
                self.counts["short_history"] += 1
            if item.open_orders and (
                item.last_sale is None
                or (self.as_of - item.last_sale).days >= self.config.idle_days
            ):
                self.counts["kept_for_open_orders"] += 1
            if item.method != Method.BACKTEST or item.accuracy is None:
                continue
            self.counts["backtested"] += 1
            self.classes[item.demand_class] += 1
            best = item.own_best
            if best is not None:
                self.wins[best] += 1
            self.chosen.append(item.accuracy)
            for name, acc in item.backtests.items():
                self.per_model[name].append(acc)
            if item.baseline is not None:
                self.baseline.append(item.baseline)

    def summary(self, *, seconds: float) -> RunSummary:
        return RunSummary(
            as_of=self.as_of,
            horizon=self.config.horizon,
            models=self.config.models,
            series=self.counts["series"],
            backtested=self.counts["backtested"],
            short_history=self.counts["short_history"],
            idle=self.counts["idle"],
            kept_for_open_orders=self.counts["kept_for_open_orders"],
            capped_series=self.counts["capped_series"],
            capped_days=self.counts["capped_days"],
            per_model=[
                ModelSummary(
                    model=name,
                    series=len(self.per_model[name]),
                    accuracy=mean_accuracy(self.per_model[name]),
                    wins=self.wins.get(name, 0),
                    weight=self.global_weights.get(name, 0.0),
                )
                for name in self.config.models
            ],
            selection=mean_accuracy(self.chosen),
            baseline=mean_accuracy(self.baseline),
            demand_classes=dict(sorted(self.classes.items())),
            origins=self.origins,
            blends=self.blends,
            window_calibration=self.window_calibration,
            seconds=seconds,
        )


# --------------------------------------------------------------------------- blocks


def _prepare(series: SeriesHistory, config: ForecastConfig) -> Prepared:
    return prepare(series, outlier_k=config.outlier_k, outlier_min_sales=config.outlier_min_sales)


def _recent(values: np.ndarray, config: ForecastConfig) -> np.ndarray:
    return values[-config.fit_window :] if config.fit_window else values


def _assess_block(
    task: tuple[int, int, int, list[bool], date, ForecastConfig],
) -> tuple[int, list[SeriesForecast]]:
    token, lo, hi, flags, as_of, config = task
    return lo, assess_block(list(zip(RUN_SERIES[token][lo:hi], flags, strict=True)), config, as_of)


def assess_block(
    block: Sequence[tuple[SeriesHistory, bool]], config: ForecastConfig, as_of: date
) -> list[SeriesForecast]:
    """Hygiene and validation for a block of ``(series, has_open_orders)``: idle and short
    series get their final forecast here, the others every local candidate's validation."""
    start = as_of + timedelta(days=1)
    h = config.horizon
    out: list[SeriesForecast] = []
    to_backtest: list[tuple[SeriesForecast, Prepared]] = []
    for series, open_orders in block:
        prepared = _prepare(series, config)
        item = SeriesForecast(
            sku=series.sku,
            location=series.location,
            model=IDLE,
            method=Method.IDLE,
            start=start,
            forecast=np.zeros(h),
            quantiles={name: np.zeros(h) for name in config.quantile_names},
            demand_class=demand_class(_recent(prepared.values, config)),
            history_days=prepared.days,
            last_sale=prepared.last_sale,
            open_orders=open_orders,
            capped=prepared.capped,
        )
        out.append(item)
        if not open_orders and is_idle(prepared, as_of=as_of, idle_days=config.idle_days):
            continue
        if prepared.days < config.backtest_days:
            recent = prepared.values[-config.moving_average_days :]
            item.model, item.method = FALLBACK_MOVING_AVERAGE, Method.SHORT_HISTORY
            item.forecast = np.full(h, moving_average(prepared.values, config.moving_average_days))
            # The spread of the recent days themselves: there is no backtest to learn from.
            levels = (
                np.quantile(recent, config.quantiles)
                if recent.size
                else np.zeros(len(config.quantiles))
            )
            item.quantiles = {
                name: np.full(h, float(level))
                for name, level in zip(config.quantile_names, levels, strict=True)
            }
            continue
        item.method = Method.BACKTEST
        to_backtest.append((item, prepared))
    if to_backtest:
        _backtest([i for i, _ in to_backtest], [p for _, p in to_backtest], config)
    return out


def _backtest(
    items: list[SeriesForecast], prepared: list[Prepared], config: ForecastConfig
) -> None:
    h, windows = config.horizon, config.windows
    n = len(prepared)
    names = config.local_models
    specs = [MODELS[name] for name in names]
    rolled = [s for s in specs if s.forward and not config.refit]
    refitted = [s for s in specs if s not in rolled]
    actual = np.stack([p.values[-windows * h :].reshape(windows, h) for p in prepared])
    cv: dict[str, np.ndarray] = {}
    finals: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in rolled:
            cv[spec.name], finals[spec.name] = _roll(spec, prepared, config)
        if refitted:
            # Cheap models, re-estimated at every origin by statsforecast's own backtest.
            keep = None if config.fit_window is None else config.fit_window + windows * h
            sf = _statsforecast(
                [s.model(config.season_length) for s in refitted], _fallback(False, config)
            )
            result = sf.cross_validation(
                df=_frame([p.values[-keep:] if keep else p.values for p in prepared]),
                h=h,
                n_windows=windows,
                step_size=h,
                input_size=config.fit_window,
                refit=True,
            )
            # Sorted by series, then origin, then day: every series has windows × h rows.
            for spec in refitted:
                values = result[spec.name].to_numpy(dtype=float).reshape(n, windows, h)
                cv[spec.name] = np.maximum(np.nan_to_num(values, nan=0.0), 0.0)
    for i, (item, p) in enumerate(zip(items, prepared, strict=True)):
        item.scale = Scale.of(p.values[: p.days - windows * h])
        item.actual = actual[i]
        item.backtests = {
            name: backtest_accuracy(actual[i], cv[name][i], item.scale) for name in names
        }
        item.validation = {name: cv[name][i] for name in names}
        item.finals = {name: final[i] for name, final in finals.items()}
        item.model = item.own_best or names[0]


def _roll(
    spec: ModelSpec, prepared: list[Prepared], config: ForecastConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Backtest a forward-capable model the cheap way: fit once at the first origin, then roll
    the fitted model forward over each later origin and on to ``as_of`` for the forecast, so
    its parameters cost one fit per series. Returns (backtest forecasts (n, windows, h),
    forecasts from ``as_of`` (n, h)), floored at zero."""
    h, windows, window = config.horizon, config.windows, config.fit_window
    estimate = min(d for d in (window, config.estimate_days, 1 << 30) if d)
    model = spec.model(config.season_length)
    fallback = _fallback(True, config)
    cv = np.zeros((len(prepared), windows, h))
    final = np.zeros((len(prepared), h))
    for i, p in enumerate(prepared):
        y = p.values
        first_origin = y.size - windows * h
        train = y[:first_origin][-estimate:]
        try:
            fitted = model.new().fit(y=train)
        except Exception:  # a degenerate series; the stand-in cannot fail
            fitted = fallback.new().fit(y=train)
        for w in range(windows + 1):
            end = first_origin + w * h
            seen = y[:end][-window:] if window else y[:end]
            mean = np.asarray(fitted.forward(y=seen, h=h)["mean"], dtype=float)
            if w < windows:
                cv[i, w] = mean
            else:
                final[i] = mean
    return (
        np.maximum(np.nan_to_num(cv, nan=0.0), 0.0),
        np.maximum(np.nan_to_num(final, nan=0.0), 0.0),
    )


def _fit_block(
    task: tuple[int, int, int, list[list[str]], ForecastConfig],
) -> tuple[int, list[dict[str, np.ndarray]]]:
    token, lo, hi, needs, config = task
    return lo, fit_block(RUN_SERIES[token][lo:hi], needs, config)


def fit_block(
    series: Sequence[SeriesHistory], needs: Sequence[Sequence[str]], config: ForecastConfig
) -> list[dict[str, np.ndarray]]:
    """Forecasts from ``as_of`` of the models each series still needs (``needs[i]``), each
    fitted on the series' recent history: ``{model: forecast}`` per series."""
    h = config.horizon
    out: list[dict[str, np.ndarray]] = [{} for _ in needs]
    by_model: dict[str, list[int]] = defaultdict(list)
    for i, names in enumerate(needs):
        for name in names:
            by_model[name].append(i)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, members in by_model.items():
            spec = MODELS[name]
            sf = _statsforecast(
                [spec.model(config.season_length)],
                _fallback(spec.forward and not config.refit, config),
            )
            frame = _frame([_recent(_prepare(series[i], config).values, config) for i in members])
            forecasts = sf.forecast(df=frame, h=h)[name].to_numpy(dtype=float).reshape(-1, h)
            forecasts = np.maximum(np.nan_to_num(forecasts, nan=0.0), 0.0)
            for forecast, i in zip(forecasts, members, strict=True):
                out[i][name] = forecast
    return out


def _frame(arrays: Sequence[np.ndarray]) -> pd.DataFrame:
    """statsforecast's long format; integer days (freq 1) skip all date handling."""
    lengths = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    return pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(len(arrays)), lengths),
            "ds": np.concatenate([np.arange(n) for n in lengths]),
            "y": np.concatenate(arrays).astype(float),
        }
    )


def _statsforecast(models: list[Any], fallback: Any) -> Any:
    from statsforecast import StatsForecast

    return StatsForecast(models=models, freq=1, n_jobs=1, fallback_model=fallback)


def _fallback(forward: bool, config: ForecastConfig) -> Any:
    # A model that fails on a series (a degenerate fit) is replaced by one that cannot fail;
    # in the rolled-forward group the stand-in must roll forward too.
    from statsforecast import models as sf

    if forward:
        return sf.SeasonalNaive(season_length=config.season_length)
    return sf.WindowAverage(window_size=config.moving_average_days)


def model_forecasts(
    history: History, config: ForecastConfig, models: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Every named model's forecast for every series (rows in ``history.series`` order), on the
    same hygienic history a run fits on, without any choice. For evaluations."""
    names = list(resolve_models(models or config.models))
    frame = _frame([_recent(_prepare(s, config).values, config) for s in history.series])
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            spec = MODELS[name]
            if spec.is_global:
                inputs = [_global_series(s, config) for s in history.series]
                out[name] = global_forecasts(
                    inputs, horizon=config.horizon, cuts=[0], threads=config.process_count()
                )[0]
                continue
            sf = _statsforecast([spec.model(config.season_length)], _fallback(spec.forward, config))
            sf.n_jobs = config.process_count()
            values = sf.forecast(df=frame, h=config.horizon)[name].to_numpy(dtype=float)
            out[name] = np.maximum(np.nan_to_num(values, nan=0.0), 0.0).reshape(-1, config.horizon)
    return out
