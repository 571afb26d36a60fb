"""The local models: statsforecast's models, each fitted on one series alone — their forecasts
at the validation origins, their forecasts from ``as_of``, and every model's forecast without
a choice (for evaluations)."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .config import ForecastConfig
from .global_model import global_forecasts
from .history import History
from .hygiene import Prepared
from .inputs import fit_days, global_series, prepare_series
from .model_catalogue import MODELS, ModelSpec, resolve_models


def local_validation(
    prepared: Sequence[Prepared], config: ForecastConfig
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every local candidate's forecasts at the validation origins, ``{model: (series,
    windows, horizon)}``, and the forecasts from ``as_of`` the rolled-forward ones made on the
    way, ``{model: (series, horizon)}``; floored at zero."""
    h, windows = config.horizon, config.windows
    n = len(prepared)
    specs = [MODELS[name] for name in config.local_models]
    rolled = [s for s in specs if s.forward and not config.refit]
    refitted = [s for s in specs if s not in rolled]
    cv: dict[str, np.ndarray] = {}
    finals: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for spec in rolled:
            cv[spec.name], finals[spec.name] = _roll(spec, prepared, config)
        if refitted:
            # Cheap models, re-estimated at every origin by statsforecast's own backtest.
            keep = None if config.fit_window is None else config.fit_window + windows * h
            sf = statsforecast(
                [s.model(config.season_length) for s in refitted], _fallback(False, config)
            )
            result = sf.cross_validation(
                df=long_frame([p.values[-keep:] if keep else p.values for p in prepared]),
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
    return cv, finals


def _roll(
    spec: ModelSpec, prepared: Sequence[Prepared], config: ForecastConfig
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


def fit_block(
    prepared: Sequence[Prepared], needs: Sequence[Sequence[str]], config: ForecastConfig
) -> list[dict[str, np.ndarray]]:
    """Forecasts from ``as_of`` of the models each prepared series still needs (``needs[i]``),
    each fitted on the series' recent history: ``{model: forecast}`` per series."""
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
            sf = statsforecast(
                [spec.model(config.season_length)],
                _fallback(spec.forward and not config.refit, config),
            )
            frame = long_frame([fit_days(prepared[i].values, config) for i in members])
            forecasts = sf.forecast(df=frame, h=h)[name].to_numpy(dtype=float).reshape(-1, h)
            forecasts = np.maximum(np.nan_to_num(forecasts, nan=0.0), 0.0)
            for forecast, i in zip(forecasts, members, strict=True):
                out[i][name] = forecast
    return out


def long_frame(arrays: Sequence[np.ndarray]) -> pd.DataFrame:
    """statsforecast's long format; integer days (freq 1) skip all date handling."""
    lengths = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    return pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(len(arrays)), lengths),
            "ds": np.concatenate([np.arange(n) for n in lengths]),
            "y": np.concatenate(arrays).astype(float),
        }
    )


def statsforecast(models: list[Any], fallback: Any) -> Any:
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
    frame = long_frame([fit_days(prepare_series(s, config).values, config) for s in history.series])
    out: dict[str, np.ndarray] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            spec = MODELS[name]
            if spec.is_global:
                inputs = [global_series(s, config) for s in history.series]
                out[name] = global_forecasts(
                    inputs, horizon=config.horizon, cuts=[0], threads=config.process_count()
                )[0]
                continue
            sf = statsforecast([spec.model(config.season_length)], _fallback(spec.forward, config))
            sf.n_jobs = config.process_count()
            values = sf.forecast(df=frame, h=config.horizon)[name].to_numpy(dtype=float)
            out[name] = np.maximum(np.nan_to_num(values, nan=0.0), 0.0).reshape(-1, config.horizon)
    return out
