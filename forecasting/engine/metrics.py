"""Accuracy measures, scaled so that series of any volume can be averaged (as in the M5
competition):

- **RMSSE** — root mean squared error over the horizon, divided by the root mean squared
  one-day change of the series' own history (the in-sample error of the naive forecast).
- **MASE** — mean absolute error over the horizon, divided by the mean absolute one-day change.
- **bias** — mean error (forecast − actual) over the horizon on the MASE scale: above zero
  over-forecasts, below zero under-forecasts.

Below 1 a forecast beats what "tomorrow is like today" did in-sample. Model selection compares
RMSSE (the M5 measure); weekly seasonal naive is the baseline every table is read against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scale:
    """The denominators of one series, from its history before the forecast origin."""

    squared: float  # mean squared one-day change
    absolute: float  # mean absolute one-day change

    @classmethod
    def of(cls, history: np.ndarray) -> Scale:
        changes = np.diff(np.asarray(history, dtype=float))
        if changes.size == 0:
            return cls(1.0, 1.0)
        squared = float(np.mean(changes**2))
        absolute = float(np.mean(np.abs(changes)))
        # A constant history has no scale; fall back to plain errors rather than divide by 0.
        return cls(squared if squared > 0 else 1.0, absolute if absolute > 0 else 1.0)


@dataclass(frozen=True)
class Accuracy:
    rmsse: float
    mase: float
    bias: float

    def as_dict(self) -> dict[str, float]:
        return {"rmsse": self.rmsse, "mase": self.mase, "bias": self.bias}


def accuracy(actual: np.ndarray, forecast: np.ndarray, scale: Scale) -> Accuracy:
    """Accuracy of one forecast (any shape; every cell one day) against the actuals."""
    error = np.asarray(forecast, dtype=float) - np.asarray(actual, dtype=float)
    return Accuracy(
        rmsse=float(np.sqrt(np.mean(error**2) / scale.squared)),
        mase=float(np.mean(np.abs(error)) / scale.absolute),
        bias=float(np.mean(error) / scale.absolute),
    )


def window_rmsse(actual: np.ndarray, forecast: np.ndarray, scale: Scale) -> np.ndarray:
    """RMSSE of each backtest window: ``actual`` and ``forecast`` are (windows, horizon)."""
    error = np.asarray(forecast, dtype=float) - np.asarray(actual, dtype=float)
    return np.sqrt(np.mean(error**2, axis=-1) / scale.squared)


def backtest_accuracy(actual: np.ndarray, forecast: np.ndarray, scale: Scale) -> Accuracy:
    """Accuracy over rolling-origin windows (windows, horizon): each measure averaged over the
    windows, so every origin counts the same."""
    error = np.asarray(forecast, dtype=float) - np.asarray(actual, dtype=float)
    return Accuracy(
        rmsse=float(np.mean(np.sqrt(np.mean(error**2, axis=-1) / scale.squared))),
        mase=float(np.mean(np.mean(np.abs(error), axis=-1) / scale.absolute)),
        bias=float(np.mean(np.mean(error, axis=-1) / scale.absolute)),
    )


def mean_accuracy(items: list[Accuracy]) -> Accuracy | None:
    """The plain mean over series (each series weighs the same, as in M5's unweighted RMSSE)."""
    if not items:
        return None
    return Accuracy(
        rmsse=float(np.mean([a.rmsse for a in items])),
        mase=float(np.mean([a.mase for a in items])),
        bias=float(np.mean([a.bias for a in items])),
    )
