"""A forecast run of the pure core: hygiene, rolling-origin backtest, model choice per series,
point forecasts and quantiles, accuracy. The Django service and the command line both call
``run_forecast``; nothing here knows about a database.

1. **Hygiene** (``hygiene.py``): trim each series to its first sale, cap outliers; idle series
   forecast zero (unless they have open orders); series too short to backtest get a moving
   average.
2. **Backtest**: every candidate model forecasts ``windows`` consecutive horizons ending on
   ``as_of`` (rolling origin: the origins are ``as_of − k × horizon``), scored by RMSSE.
3. **Choice**, per series: the model with the lowest mean backtest RMSSE, if it beats the best
   model of the series' demand class (smooth / erratic / intermittent / lumpy, pooled over the
   run) by at least ``switch_margin`` (10%); otherwise the class's best. Three windows of one
   series are a small sample: without the margin a series often "wins" with a model that was
   only lucky (on the M5 data, a plain per-series arg-min is clearly worse than the margin;
   see docs/forecasting.md). ``switch_margin=0`` is the plain per-series choice.
4. **Forecast**: ETS, Theta and seasonal naive are fitted once per series, at the first backtest
   origin, and rolled forward (their state updated by the later days, their parameters kept)
   over the later origins and on to ``as_of``: the backtest scores exactly what is served, for
   the cost of one fit. The cheap intermittent models are re-fitted at every origin and, when
   chosen, once more on the whole recent history. (``refit=True`` re-fits everything.)
5. **Quantiles**: the forecast plus the empirical quantiles of the chosen model's backtest
   errors (``windows × horizon`` of them, split-conformal style), floored at zero. They cost no
   extra fit and hold for intermittent demand, where normal intervals do not.

Series are cut into blocks that run in a process pool (one process per core).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import multiprocessing
import os
import time
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

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

logger = logging.getLogger(__name__)

DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
# Share of a run's work in the backtest (every model, every window) against the final fits.
BACKTEST_SHARE = 0.9


class Method:
    """How a series' forecast was made."""

    BACKTEST = "backtest"  # the model chosen by the rolling-origin backtest
    SHORT_HISTORY = "short_history"  # too short to backtest: moving average
    IDLE = "idle"  # no sale for idle_days and no open orders: zero


@dataclass(frozen=True)
class ForecastConfig:
    horizon: int = 28
    models: tuple[str, ...] = DEFAULT_MODELS
    windows: int = 3  # rolling-origin backtest windows, each one horizon long
    min_train_days: int = 56  # history before the first backtest origin
    idle_days: int = 180
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    switch_margin: float = 0.10  # see step 3 above; 0: plain per-series choice
    outlier_k: float = 10.0
    outlier_min_sales: int = 8
    moving_average_days: int = 28
    season_length: int = SEASON_LENGTH
    # Days of history the models fit on (None: all). A year holds every weekly pattern the
    # models use; older days cost time in ETS and Theta and slow their adaptation.
    fit_window: int | None = 364
    refit: bool = False  # re-estimate forward-capable models at every backtest origin
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
        if not 0 <= self.switch_margin <= 1:
            raise ValueError("switch_margin must be between 0 and 1")
        if self.fit_window is not None and self.fit_window < self.min_train_days:
            raise ValueError("fit_window must be at least min_train_days")
        if self.moving_average_days < 1 or self.block_size < 1 or self.jobs < 0:
            raise ValueError("moving_average_days and block_size must be positive, jobs >= 0")
        object.__setattr__(self, "models", resolve_models(self.models))

    @property
    def quantile_names(self) -> list[str]:
        return [quantile_name(q) for q in self.quantiles]

    @property
    def backtest_days(self) -> int:
        return backtest_length(
            horizon=self.horizon, windows=self.windows, min_train_days=self.min_train_days
        )

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
            "switch_margin": self.switch_margin,
            "outlier_k": self.outlier_k,
            "outlier_min_sales": self.outlier_min_sales,
            "moving_average_days": self.moving_average_days,
            "season_length": self.season_length,
            "fit_window": self.fit_window,
            "refit": self.refit,
        }


def quantile_name(q: float) -> str:
    """0.9 -> "q90", 0.975 -> "q97.5"."""
    return f"q{round(q * 100, 3):g}"


@dataclass
class SeriesForecast:
    sku: str
    location: str
    model: str
    method: str
    start: date  # the first forecast day
    forecast: np.ndarray
    quantiles: dict[str, np.ndarray]
    accuracy: Accuracy | None = None  # the chosen model's backtest
    backtests: dict[str, Accuracy] = field(default_factory=dict)  # every candidate's
    demand_class: str = ""
    history_days: int = 0  # from the first sale to as_of
    last_sale: date | None = None
    open_orders: bool = False
    capped: list[CappedDay] = field(default_factory=list)
    # Until the choice is made: each candidate's backtest error quantiles, and the forecasts of
    # the rolled-forward candidates (which need no second fit).
    error_quantiles: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    rolled_forecasts: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> SeriesKey:
        return (self.sku, self.location)

    @property
    def baseline(self) -> Accuracy | None:
        return self.backtests.get(BASELINE_MODEL)

    @property
    def own_best(self) -> str | None:
        """The candidate with the lowest backtest RMSSE (the plain per-series winner)."""
        if not self.backtests:
            return None
        return min(self.backtests, key=lambda name: self.backtests[name].rmsse)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(len(self.forecast))]


@dataclass(frozen=True)
class ModelSummary:
    model: str
    series: int  # series it was backtested on
    accuracy: Accuracy | None
    wins: int  # series it was chosen for

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "series": self.series,
            "wins": self.wins,
            **(self.accuracy.as_dict() if self.accuracy else _no_accuracy()),
        }


def _no_accuracy() -> dict[str, None]:
    return {"rmsse": None, "mase": None, "bias": None}


@dataclass
class RunSummary:
    """Backtest accuracy of a run over its backtested series, per model and for the choice.
    The choice's figure is in-sample (it was chosen on these windows): the M5 evaluation
    measures it out of sample."""

    as_of: date
    horizon: int
    models: tuple[str, ...]
    series: int = 0
    backtested: int = 0
    short_history: int = 0
    idle: int = 0
    kept_for_open_orders: int = 0
    capped_series: int = 0
    capped_days: int = 0
    per_model: list[ModelSummary] = field(default_factory=list)
    selection: Accuracy | None = None
    baseline: Accuracy | None = None
    demand_classes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def improvement(self) -> float | None:
        """How much lower the selection's mean RMSSE is than seasonal naive's, in percent."""
        if self.selection is None or self.baseline is None or self.baseline.rmsse == 0:
            return None
        return 100.0 * (1.0 - self.selection.rmsse / self.baseline.rmsse)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "horizon": self.horizon,
            "models": list(self.models),
            "series": self.series,
            "backtested": self.backtested,
            "short_history": self.short_history,
            "idle": self.idle,
            "kept_for_open_orders": self.kept_for_open_orders,
            "capped_series": self.capped_series,
            "capped_days": self.capped_days,
            "per_model": [m.as_dict() for m in self.per_model],
            "selection": self.selection.as_dict() if self.selection else _no_accuracy(),
            "baseline": self.baseline.as_dict() if self.baseline else _no_accuracy(),
            "improvement_pct": self.improvement,
            "demand_classes": dict(self.demand_classes),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ForecastResult:
    series: list[SeriesForecast]
    summary: RunSummary


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

    def report(share: float, message: str) -> None:
        if progress:
            progress(min(max(share, 0.0), 1.0), message)

    report(0.0, f"backtesting {total:,} series ({len(config.models)} models)")
    assessed: list[SeriesForecast | None] = [None] * total
    with _Workers(series, min(processes, len(bounds))) as workers:
        done = 0
        for lo, items in workers.map(
            _assess_block, [(lo, hi, flags[lo:hi], history.as_of, config) for lo, hi in bounds]
        ):
            assessed[lo : lo + len(items)] = items
            done += len(items)
            report(BACKTEST_SHARE * done / total, f"backtested {done:,} of {total:,} series")
        items_all = [item for item in assessed if item is not None]
        choices = choose_models(items_all, config.models, config.switch_margin)
        for item, choice in zip(items_all, choices, strict=True):
            if choice is not None:
                item.model = choice
                item.accuracy = item.backtests[choice]
        done = 0
        for lo, fitted in workers.map(
            _fit_block,
            [(lo, hi, items_all[lo:hi], config) for lo, hi in bounds],
        ):
            block = items_all[lo : lo + len(fitted)]
            for item, (forecast, quantiles) in zip(block, fitted, strict=True):
                if forecast is not None:
                    item.forecast, item.quantiles = forecast, quantiles
                item.error_quantiles, item.rolled_forecasts = {}, {}
                for cap in item.capped:
                    logger.info("outlier capped before fitting: %s", cap)
            collector.add(block)
            if on_block:
                on_block(block)
            done += len(block)
            report(
                BACKTEST_SHARE + (1 - BACKTEST_SHARE) * done / total,
                f"forecast {done:,} of {total:,} series",
            )
    summary = collector.summary(seconds=time.perf_counter() - started)
    if summary.capped_days:
        logger.warning(
            "capped %d outlier day(s) in %d series before fitting",
            summary.capped_days,
            summary.capped_series,
        )
    return ForecastResult(series=items_all if keep else [], summary=summary)


def choose_models(
    items: Sequence[SeriesForecast], models: Sequence[str], switch_margin: float
) -> list[str | None]:
    """The model for each backtested series (None for the others): its own backtest winner
    if that beats its demand class's best model by ``switch_margin``, else the class's best."""
    by_class: dict[str, list[SeriesForecast]] = defaultdict(list)
    for item in items:
        if item.backtests:
            by_class[item.demand_class].append(item)
    class_best = {
        name: min(
            models,
            key=lambda model: float(np.mean([m.backtests[model].rmsse for m in members])),
        )
        for name, members in by_class.items()
    }
    choices: list[str | None] = []
    for item in items:
        own = item.own_best
        if own is None:
            choices.append(None)
            continue
        pooled = class_best[item.demand_class]
        clear_gain = item.backtests[own].rmsse < (1 - switch_margin) * item.backtests[pooled].rmsse
        choices.append(own if clear_gain or own == pooled else pooled)
    return choices


# Series of the runs in progress in this process, by run token: forked workers inherit them,
# so blocks travel to the workers as index ranges instead of pickled arrays.
_SERIES: dict[int, Sequence[SeriesHistory]] = {}
_tokens = itertools.count(1)


class _Workers:
    """A fork pool (or, with one process, this process) that sees the run's series."""

    def __init__(self, series: Sequence[SeriesHistory], processes: int) -> None:
        self.series = series
        self.processes = processes
        self.token = next(_tokens)
        self.pool: Any = None

    def __enter__(self) -> _Workers:
        _SERIES[self.token] = self.series
        if self.processes > 1:
            # fork: the children inherit the loaded libraries (statsforecast is slow to
            # import) and the series; they only compute, never touching the parent's database
            # connections.
            self.pool = multiprocessing.get_context("fork").Pool(
                self.processes, initializer=_die_with_parent
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        _SERIES.pop(self.token, None)

    def map(self, function: Callable[[Any], Any], tasks: list[tuple[Any, ...]]) -> Iterator[Any]:
        tagged = [(self.token, *task) for task in tasks]
        if self.pool is None:
            return (function(task) for task in tagged)
        return self.pool.imap_unordered(function, tagged)


def _die_with_parent() -> None:
    """A pool process ends with the process that started it, even one killed by SIGKILL (a
    lost worker), instead of lingering as an orphan (Linux; elsewhere a no-op)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


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
            self.wins[item.model] += 1
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
                )
                for name in self.config.models
            ],
            selection=mean_accuracy(self.chosen),
            baseline=mean_accuracy(self.baseline),
            demand_classes=dict(sorted(self.classes.items())),
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
    return lo, assess_block(list(zip(_SERIES[token][lo:hi], flags, strict=True)), config, as_of)


def assess_block(
    block: Sequence[tuple[SeriesHistory, bool]], config: ForecastConfig, as_of: date
) -> list[SeriesForecast]:
    """Hygiene and backtest for a block of ``(series, has_open_orders)``: idle and short
    series get their final forecast here, the others every candidate's backtest."""
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
    names = list(config.models)
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
    qs = np.asarray(config.quantiles)
    for i, (item, p) in enumerate(zip(items, prepared, strict=True)):
        scale = Scale.of(p.values[: p.days - windows * h])
        item.backtests = {name: backtest_accuracy(actual[i], cv[name][i], scale) for name in names}
        item.error_quantiles = {
            name: np.quantile((actual[i] - cv[name][i]).ravel(), qs) for name in names
        }
        item.rolled_forecasts = {name: final[i] for name, final in finals.items()}
        item.model = item.own_best or names[0]
        item.accuracy = item.backtests[item.model]


def _roll(
    spec: ModelSpec, prepared: list[Prepared], config: ForecastConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Backtest a forward-capable model the cheap way: fit once at the first origin, then roll
    the fitted model forward over each later origin and on to ``as_of`` for the forecast, so
    its parameters cost one fit per series. Returns (backtest forecasts (n, windows, h),
    forecasts from ``as_of`` (n, h)), floored at zero."""
    h, windows, window = config.horizon, config.windows, config.fit_window
    model = spec.model(config.season_length)
    fallback = _fallback(True, config)
    cv = np.zeros((len(prepared), windows, h))
    final = np.zeros((len(prepared), h))
    for i, p in enumerate(prepared):
        y = p.values
        first_origin = y.size - windows * h
        train = y[:first_origin]
        train = train[-window:] if window else train
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
    task: tuple[int, int, int, list[SeriesForecast], ForecastConfig],
) -> tuple[int, list[tuple[np.ndarray | None, dict[str, np.ndarray]]]]:
    token, lo, hi, items, config = task
    return lo, fit_block(_SERIES[token][lo:hi], items, config)


def fit_block(
    series: Sequence[SeriesHistory], items: Sequence[SeriesForecast], config: ForecastConfig
) -> list[tuple[np.ndarray | None, dict[str, np.ndarray]]]:
    """Fit each backtested series' chosen model on its recent history: (forecast, quantiles)
    per series, ``(None, {})`` for series whose forecast was already final."""
    h = config.horizon
    out: list[tuple[np.ndarray | None, dict[str, np.ndarray]]] = [(None, {})] * len(items)
    by_model: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        if item.method != Method.BACKTEST:
            continue
        if item.model in item.rolled_forecasts:
            out[i] = _with_quantiles(item.rolled_forecasts[item.model], item, config)
        else:
            by_model[item.model].append(i)
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
                out[i] = _with_quantiles(forecast, items[i], config)
    return out


def _with_quantiles(
    forecast: np.ndarray, item: SeriesForecast, config: ForecastConfig
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    offsets = item.error_quantiles[item.model]
    return forecast, {
        name: np.maximum(forecast + offset, 0.0)
        for name, offset in zip(config.quantile_names, offsets, strict=True)
    }


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
            sf = _statsforecast([spec.model(config.season_length)], _fallback(spec.forward, config))
            sf.n_jobs = config.process_count()
            values = sf.forecast(df=frame, h=config.horizon)[name].to_numpy(dtype=float)
            out[name] = np.maximum(np.nan_to_num(values, nan=0.0), 0.0).reshape(-1, config.horizon)
    return out
