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

Everything heavy is a task in one process pool (one process per core), taken in order of
``Priority``: the global model's fits first, its forecasts at the validation origins in blocks
once their fit is in, the blocks of series the local models validate, the final fits of the
local models once the blend is chosen, and last the global model's forecasts from ``as_of``,
which go on in the pool while this process chooses the blend and calibrates the windows (they
see all the series of the run at once). The local models live in ``local_models.py``, what
each model reads of a series in ``inputs.py``, the run's settings in ``config.py``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum
from typing import Any

import numpy as np

from .blend import GLOBAL, BlendChoice, BlendConfig, choose_blends
from .config import DEFAULT_QUANTILES, ForecastConfig, Method, quantile_name
from .global_model import (
    GLOBAL_MODEL,
    GlobalFit,
    GlobalModelUnavailable,
    fit_cuts,
    global_fit,
    global_predict,
)
from .history import History, SeriesKey
from .hygiene import CappedDay, Prepared, demand_class, is_idle, moving_average
from .inputs import fit_days, global_series
from .local_models import fit_block, local_validation, model_forecasts, statsforecast
from .metrics import Accuracy, Scale, backtest_accuracy, mean_accuracy
from .model_catalogue import BASELINE_MODEL, FALLBACK_MOVING_AVERAGE, IDLE, MODELS
from .pool import RUN_SERIES, Timeline, Workers, run_prepared
from .summary import ModelSummary, RunSummary
from .windows import calibrate, window_table

__all__ = [
    "BLEND",
    "DEFAULT_QUANTILES",
    "ForecastConfig",
    "ForecastResult",
    "Method",
    "SeriesForecast",
    "assess_block",
    "model_forecasts",
    "quantile_name",
    "run_forecast",
]

logger = logging.getLogger(__name__)

BLEND = "blend"  # the model name of a series forecast by a blend of several models

# Shares of a run's work: local validation, the global model, the final forecasts.
LOCAL_SHARE, GLOBAL_SHARE = 0.7, 0.15


class Priority(IntEnum):
    """The order the pool takes a run's tasks in (``Workers.submit``), lowest first.

    The global model's two fits are long tasks on one thread each: first, so that neither is
    left running alone at the end. Its forecasts at the validation origins go before the local
    models' validation blocks as soon as their fit is in: the blend waits for both, and the
    small validation blocks even out the two processes' ends better than big forecast blocks.
    Its forecasts from ``as_of`` are needed by nothing before the blend's final forecasts: they
    keep both processes busy while the run's own process chooses the blend. The final fits of
    the local models (small blocks, submitted once the blend is chosen) go before what is left
    of those, so that this process finishes each block (the blend, its quantiles, its windows)
    as the global model's forecasts of its series come in, not all of them at the end."""

    FIT = 0
    GLOBAL_VALIDATION = 1
    VALIDATION = 2
    FORECAST = 3
    GLOBAL_FINAL = 4


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
    # Every task of the run, where and when it ran (``pool.Timeline``): what the cores did.
    timeline: Timeline | None = None


class _CpuClock:
    """CPU seconds per phase of a run: this process's clock and what the pool's processes
    report."""

    def __init__(self) -> None:
        self.workers: Workers | None = None
        self.phases: dict[str, float] = {}
        self.last = self._now()

    def _now(self) -> float:
        return time.process_time() + (self.workers.cpu_seconds if self.workers else 0.0)

    def lap(self, phase: str, *, parts: dict[str, float] | None = None) -> None:
        """The CPU since the last lap: ``parts`` of it by name (tasks that ran side by side),
        the rest to ``phase``."""
        now = self._now()
        rest = now - self.last
        for name, seconds in (parts or {}).items():
            self.phases[name] = self.phases.get(name, 0.0) + seconds
            rest -= seconds
        self.phases[phase] = self.phases.get(phase, 0.0) + rest
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
    run_started, cpu_started = time.monotonic(), time.process_time()
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
        statsforecast([], None)
    # The global model's fits go first, so its forecasts are ready when the local models'
    # validation ends; every task shares the pool, no core waits for another's phase.
    with Workers(series, max(1, min(processes, len(bounds)))) as workers:
        clock.workers = workers
        timeline = workers.timeline
        timeline.marks.append(("start", run_started, cpu_started))
        timeline.mark("validation")
        global_run = _GlobalRun(workers, config, flags, history.as_of, processes)
        if GLOBAL_MODEL in config.models and total:
            global_run.start()
        for lo, hi in bounds:
            workers.submit(
                "validation",
                lo,
                _assess_block,
                (lo, hi, flags[lo:hi], history.as_of, config),
                priority=Priority.VALIDATION,
                label=f"series {lo}-{hi}",
                series=hi - lo,
            )
        done = 0
        # Until the blend can be chosen: the global model's forecasts from as_of go on in the
        # pool meanwhile.
        for kind, key, result in workers.completed():
            if kind == "validation":
                assessed[key : key + len(result)] = result
                done += len(result)
            else:
                global_run.received(key, result)
            report(
                LOCAL_SHARE * done / total + GLOBAL_SHARE * global_run.share_done(),
                f"validated {done:,} of {total:,} series; global model: {global_run.state()}",
            )
            if done == total and global_run.validation_ready():
                break
        items_all = [item for item in assessed if item is not None]
        validated = [i for i, item in enumerate(items_all) if item.method == Method.BACKTEST]
        global_run.finish_validation(items_all, validated)
        clock.lap("coordination", parts=dict(workers.task_seconds))
        workers.task_seconds.clear()
        report(LOCAL_SHARE + GLOBAL_SHARE, "choosing the blend")
        timeline.mark("blend")
        choice = _blend(items_all, validated, config)
        collector.choice(choice, config.origins(history.as_of))
        clock.lap("blend")
        timeline.mark("window calibration")
        calibration = _window_calibration(items_all, validated, config)
        clock.lap("window calibration")
        timeline.mark("forecast")
        collector.window_calibration = {
            days: dict(zip(config.quantile_names, [round(float(z), 4) for z in zs], strict=True))
            for days, zs in calibration.items()
        }
        for lo, hi in bounds:
            workers.submit(
                "forecast",
                lo,
                _fit_block,
                (lo, hi, _needs(items_all[lo:hi]), config),
                priority=Priority.FORECAST,
                label=f"series {lo}-{hi}",
                series=hi - lo,
            )
        done = 0
        # A block is finished once its own fits and the global model's forecasts of its series
        # from as_of are in, whichever comes last.
        fitted_blocks: dict[int, list[dict[str, np.ndarray]]] = {}
        for kind, key, result in workers.completed():
            if kind == "forecast":
                fitted_blocks[key] = result
            else:
                global_run.received(key, result)
            for lo in [lo for lo, f in fitted_blocks.items() if global_run.finals_in(lo, len(f))]:
                fitted = fitted_blocks.pop(lo)
                block = items_all[lo : lo + len(fitted)]
                global_run.give_finals(items_all, lo, len(fitted))
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
        assert not fitted_blocks, "final forecasts of the global model went missing"
        global_cpu = {k: v for k, v in workers.task_seconds.items() if k != "forecast"}
        clock.lap("forecast", parts=global_cpu)
        timeline.mark("end")
    summary = collector.summary(seconds=time.perf_counter() - started)
    if summary.capped_days:
        logger.warning(
            "capped %d outlier day(s) in %d series before fitting",
            summary.capped_days,
            summary.capped_series,
        )
    return ForecastResult(
        series=items_all if keep else [],
        summary=summary,
        cpu_seconds=clock.phases,
        timeline=timeline,
    )


# --------------------------------------------------------------------------- the global model


class _GlobalRun:
    """The global model's part of a run, done in the pool beside the local models' validation:
    a fit at the first validation origin and one at ``as_of`` (a task each, first in the
    queue), then, as each fit arrives, its forecasts for the validated series in blocks — those
    at the validation origins before the local validation, those from ``as_of`` after it (see
    ``Priority``)."""

    def __init__(
        self,
        workers: Workers,
        config: ForecastConfig,
        flags: list[bool],
        as_of: date,
        processes: int,
    ) -> None:
        self.workers, self.config, self.flags, self.as_of = workers, config, flags, as_of
        self.processes = processes
        h = config.horizon
        # {fit cut: [cuts it forecasts from]}: the validation origins' and as_of's.
        self.plan = fit_cuts([k * h for k in range(config.windows, -1, -1)])
        self.active = False
        self.rows: list[int] = []  # the validated series, which the model fits and forecasts
        self.row_array = np.zeros(0, dtype=np.int64)
        self.out: dict[int, np.ndarray] = {}
        self.unavailable: str | None = None
        self.fits_done = 0
        self.blocks = self.blocks_done = 0
        self.out_for: dict[int, int] = dict.fromkeys(self.plan, 0)  # blocks out, by fit
        self.finals = np.zeros(0, dtype=bool)  # validated series whose as_of forecast is in

    def start(self) -> None:
        self.active = True
        for cut in self.plan:
            self.workers.submit(
                "global model",
                ("fit", cut),
                _global_fit_task,
                (self.flags, self.as_of, cut, self.config),
                priority=Priority.FIT,
                step="global fit",
                label=f"cut {cut}",
                series=len(self.flags),
            )

    def received(self, key: tuple[str, Any], result: Any) -> None:
        what, position = key
        if what == "fit":
            self.fits_done += 1
            rows, fitted, reason = result
            self.rows, self.row_array = rows, np.asarray(rows, dtype=np.int64)
            if fitted is None:
                self.unavailable = self.unavailable or reason
                return
            if self.unavailable is not None:
                return
            cuts = self.plan[position]
            for cut in cuts:
                self.out.setdefault(cut, np.zeros((len(rows), self.config.horizon)))
            if 0 in cuts:
                self.finals = np.zeros(len(rows), dtype=bool)
            priority = Priority.GLOBAL_FINAL if cuts == [0] else Priority.GLOBAL_VALIDATION
            # Blocks small enough to even out the pool's last minutes.
            size = max(200, math.ceil(len(rows) / (4 * self.processes)))
            for lo in range(0, len(rows), size):
                self.blocks += 1
                self.out_for[position] += 1
                block = rows[lo : lo + size]
                self.workers.submit(
                    "global model",
                    ("forecast", (position, lo)),
                    _global_predict_task,
                    (block, fitted, cuts, self.config),
                    priority=priority,
                    step="global forecast",
                    label=f"cuts {','.join(map(str, cuts))} rows {lo}-{lo + len(block)}",
                    series=len(block),
                )
            return
        fit, lo = position
        self.blocks_done += 1
        self.out_for[fit] -= 1
        for cut, values in result.items():
            self.out[cut][lo : lo + len(values)] = values
            if cut == 0:
                self.finals[lo : lo + len(values)] = True

    def validation_ready(self) -> bool:
        """Whether the blend can be chosen as far as the global model goes: both fits are in
        (so it is known whether the model takes part) and so are its forecasts at every
        validation origin. Its forecasts from ``as_of`` may still be on their way."""
        if not self.active:
            return True
        if self.fits_done < len(self.plan):
            return False
        return self.unavailable is not None or all(
            self.out_for[fit] == 0 for fit, cuts in self.plan.items() if cuts != [0]
        )

    def share_done(self) -> float:
        fits = len(self.plan)
        return (self.fits_done + self.blocks_done) / (fits + max(self.blocks, fits * 4))

    def state(self) -> str:
        if self.fits_done < len(self.plan):
            return f"fitting ({self.fits_done} of {len(self.plan)} fits)"
        return f"{self.blocks_done} of {self.blocks} blocks forecast"

    def _taking_part(self) -> bool:
        return self.active and self.unavailable is None and bool(self.out)

    def finish_validation(self, items: list[SeriesForecast], validated: list[int]) -> None:
        """Every validated series gets the global model's validation forecasts and backtest;
        or, if a fit found nothing to learn, the run goes on without it."""
        if self.unavailable is not None:
            logger.warning("the global model sits this run out: %s", self.unavailable)
            return
        if not self._taking_part() or not validated:
            return
        # The fits chose the validated series from the same hygiene as the validation.
        assert self.rows == validated, "the global model saw other series than the validation"
        h, windows = self.config.horizon, self.config.windows
        for k, i in enumerate(validated):
            item = items[i]
            assert item.actual is not None and item.scale is not None
            item.validation[GLOBAL_MODEL] = np.stack(
                [self.out[w * h][k] for w in range(windows, 0, -1)]
            )
            item.backtests[GLOBAL_MODEL] = backtest_accuracy(
                item.actual, item.validation[GLOBAL_MODEL], item.scale
            )

    def _positions(self, lo: int, size: int) -> range:
        """Where the validated series of ``lo`` … ``lo + size`` stand in ``rows``."""
        first, last = np.searchsorted(self.row_array, [lo, lo + size])
        return range(int(first), int(last))

    def finals_in(self, lo: int, size: int) -> bool:
        """Whether the forecasts from ``as_of`` of the series ``lo`` … ``lo + size`` are in."""
        if not self._taking_part():
            return True
        positions = self._positions(lo, size)
        return bool(self.finals[positions.start : positions.stop].all())

    def give_finals(self, items: list[SeriesForecast], lo: int, size: int) -> None:
        """The series ``lo`` … ``lo + size`` get the global model's forecasts from ``as_of``."""
        if not self._taking_part():
            return
        for k in self._positions(lo, size):
            items[self.rows[k]].finals[GLOBAL_MODEL] = self.out[0][k]


def _global_fit_task(
    task: tuple[int, list[bool], date, int, ForecastConfig],
) -> tuple[list[int], GlobalFit | None, str]:
    """In a pool process: the series to validate (as ``assess_block`` chooses them) and the
    global model fitted on them ``cut`` days before their ends (one thread: the pool's other
    process has work), or why it could not be."""
    token, flags, as_of, cut, config = task
    rows: list[int] = []
    inputs = []
    for i, open_orders in enumerate(flags):
        prepared = run_prepared(token, i, config)
        if _method(prepared, open_orders, as_of, config) == Method.BACKTEST:
            rows.append(i)
            inputs.append(global_series(prepared.source, config, prepared))
    if not rows:
        return rows, None, "no series to validate"
    try:
        return rows, global_fit(inputs, cut=cut, threads=1), ""
    except GlobalModelUnavailable as exc:
        return rows, None, str(exc)


def _global_predict_task(
    task: tuple[int, list[int], GlobalFit, list[int], ForecastConfig],
) -> dict[int, np.ndarray]:
    token, rows, fitted, cuts, config = task
    inputs = [
        global_series(RUN_SERIES[token][i], config, run_prepared(token, i, config)) for i in rows
    ]
    return {cut: global_predict(fitted, inputs, cut=cut, horizon=config.horizon) for cut in cuts}


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
    """Per series, the weighted local models whose forecast from as_of is still to be made (the
    global model's comes from its own tasks)."""
    return [
        [name for name in item.weights if name not in item.finals and not MODELS[name].is_global]
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


def _assess_block(
    task: tuple[int, int, int, list[bool], date, ForecastConfig],
) -> list[SeriesForecast]:
    token, lo, hi, flags, as_of, config = task
    prepared = [run_prepared(token, i, config) for i in range(lo, hi)]
    return assess_block(list(zip(prepared, flags, strict=True)), config, as_of)


def _method(prepared: Prepared, open_orders: bool, as_of: date, config: ForecastConfig) -> str:
    """How a series will be forecast: idle (no sale for ``idle_days`` and no open order), too
    short to validate, or validated."""
    if not open_orders and is_idle(prepared, as_of=as_of, idle_days=config.idle_days):
        return Method.IDLE
    if prepared.days < config.backtest_days:
        return Method.SHORT_HISTORY
    return Method.BACKTEST


def assess_block(
    block: Sequence[tuple[Prepared, bool]], config: ForecastConfig, as_of: date
) -> list[SeriesForecast]:
    """Validation for a block of ``(prepared series, has_open_orders)``: idle and short series
    get their final forecast here, the others every local candidate's validation."""
    start = as_of + timedelta(days=1)
    h, windows = config.horizon, config.windows
    out: list[SeriesForecast] = []
    to_backtest: list[tuple[SeriesForecast, Prepared]] = []
    for prepared, open_orders in block:
        series = prepared.source
        item = SeriesForecast(
            sku=series.sku,
            location=series.location,
            model=IDLE,
            method=Method.IDLE,
            start=start,
            forecast=np.zeros(h),
            quantiles={name: np.zeros(h) for name in config.quantile_names},
            demand_class=demand_class(fit_days(prepared.values, config)),
            history_days=prepared.days,
            last_sale=prepared.last_sale,
            open_orders=open_orders,
            capped=prepared.capped,
        )
        out.append(item)
        item.method = _method(prepared, open_orders, as_of, config)
        if item.method == Method.SHORT_HISTORY:
            recent = prepared.values[-config.moving_average_days :]
            item.model = FALLBACK_MOVING_AVERAGE
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
        elif item.method == Method.BACKTEST:
            to_backtest.append((item, prepared))
    if not to_backtest:
        return out
    cv, finals = local_validation([p for _, p in to_backtest], config)
    names = config.local_models
    for i, (item, p) in enumerate(to_backtest):
        item.scale = Scale.of(p.values[: p.days - windows * h])
        item.actual = p.values[-windows * h :].reshape(windows, h)
        item.backtests = {
            name: backtest_accuracy(item.actual, cv[name][i], item.scale) for name in names
        }
        item.validation = {name: cv[name][i] for name in names}
        item.finals = {name: final[i] for name, final in finals.items()}
        item.model = item.own_best or names[0]
    return out


def _fit_block(
    task: tuple[int, int, int, list[list[str]], ForecastConfig],
) -> list[dict[str, np.ndarray]]:
    token, lo, hi, needs, config = task
    return fit_block([run_prepared(token, i, config) for i in range(lo, hi)], needs, config)
