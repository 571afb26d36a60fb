"""How a forecast run is configured, and how a series' forecast was made."""

from __future__ import annotations

import functools
import multiprocessing
import os
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from .hygiene import backtest_length
from .model_catalogue import DEFAULT_MODELS, MODELS, SEASON_LENGTH, resolve_models

DEFAULT_QUANTILES: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)


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
    # 16 weeks: 182 days cost ETS and Theta 45 % more for 0.1 % of M5's RMSSE; 91 days lost an
    # M5 origin to ETS alone (docs/forecasting.md, *Throughput*).
    estimate_days: int | None = 112
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
