"""The global model: one LightGBM fitted across many series at once (through mlforecast), where
the statsforecast models fit each series alone.

A single series of a slow mover says little; thousands of them together say how demand moves
after a quiet week, on a payday, in a store of that region. The model learns that from:

- the series' own **lags** (7, 14, 21 and 28 days: a forecast of 28 days is made recursively, a
  week at a time) and **windows** of them (mean of the last 7 and 28 days, their spread, the
  mean of the last quarter),
- the **calendar** (weekday, day of month, month),
- the **ids and hierarchy**: SKU and location, and whatever the history carries above them
  (department, category, region), as categories;
- **price and promotion**, where the history carries them: the day's price relative to the
  series' median price, and whether the item was on promotion. Their future is not known (Omni
  has no promotion calendar yet): a forecast assumes the last price holds and no promotion
  runs — validation forecasts assume the same, so what is weighed is what is served. What they
  buy is a model that sees a promotion's spike for what it was instead of reading it as demand.

The target is each series divided by its mean over the last year before the origin, so a
series selling 200 a day and one selling 2 a week share what they have in common; the loss is
Tweedie (a point mass at zero and a long right tail: store demand). Forecasts are multiplied
back and floored at zero.

A run fits twice — at the first validation origin (its forecasts at every validation origin
are what the blend weighs) and at ``as_of`` (what is served). Each fit sees at most
``max_train_rows`` rows: beyond that a seeded sample of series is fitted, and the model still
forecasts every series (a global model applies to series it did not see). So the fits cost
the same for any large run, and the forecasts — every tree walked for every series and day —
grow with it: on 30,000 series they are most of the model's cost.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

# LightGBM's OpenMP threads wait for each other at every split; by default they wait spinning.
# On a machine whose cores are busy with anything else — the run's own pool, another worker,
# another process — a spinning thread burns the core its partner needs: a 200-series fit on
# two threads took 28 CPU seconds and 135 s instead of 1.3 s and 4 s. Passive waiting (read
# once, when the OpenMP runtime loads: before LightGBM is first imported) costs nothing when
# the cores are free.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

GLOBAL_MODEL = "lightgbm"
LAGS = (7, 14, 21, 28)
# Days of history a forecast reads: the longest lag plus the longest window over it.
LOOKBACK = 28 + 91
ID_FEATURES = ("sku", "location")


class GlobalModelUnavailable(Exception):
    """Nothing to learn from (every series too short, or no sale at all): the run goes on with
    its other candidates."""


@dataclass(frozen=True)
class GlobalModelConfig:
    rounds: int = 300
    learning_rate: float = 0.05
    # Every tree is walked for every series and day forecast — 3.4 million rows a 30,000-series
    # run (three validation origins and as_of), most of the model's cost. Trees of 15 leaves
    # walk in about half the time of 63, and forecast M5 no worse alone.
    leaves: int = 15
    min_child_samples: int = 50
    tweedie_power: float = 1.1
    train_days: int = 364  # of each series, before the origin: a year of every weekday pattern
    max_train_rows: int = 500_000
    seed: int = 7


@dataclass
class GlobalSeries:
    """One series as the global model sees it: prepared values from ``start`` (one per day),
    and its ids and hierarchy (``{"sku": ..., "location": ..., "category": ...}``)."""

    start: date
    values: np.ndarray
    attributes: dict[str, str] = field(default_factory=dict)
    price: np.ndarray | None = None  # per day like ``values``; NaN where unknown
    promo: np.ndarray | None = None  # 1.0 on promotion, 0.0 not, NaN unknown


@dataclass
class GlobalFit:
    """A fitted global model and what its forecasts need to read new series as it was taught:
    the attribute names, every attribute's categories, the exogenous columns. Picklable: a run
    fits in one process and forecasts its blocks of series in others."""

    forecaster: Any
    names: list[str]
    categories: dict[str, list[str]]
    exog: list[str]


def global_forecasts(
    series: Sequence[GlobalSeries],
    *,
    horizon: int,
    cuts: Sequence[int],
    threads: int = 1,
    config: GlobalModelConfig | None = None,
) -> dict[int, np.ndarray]:
    """Forecasts of ``horizon`` days for every series from each origin in ``cuts`` (days cut
    from the end of every series: 0 is the last day, ``horizon`` the origin one horizon
    earlier). The model is fitted at the largest cut, forecasts from every cut above 0 with
    that fit (rolled forward: later days feed its lags, its trees stay), and is fitted again at
    cut 0 when 0 is asked for. Returns ``{cut: (series, horizon)}``."""
    if not series:
        return {cut: np.zeros((0, horizon)) for cut in cuts}
    out: dict[int, np.ndarray] = {}
    fitted: GlobalFit | None = None
    for cut in sorted(set(cuts), reverse=True):
        if fitted is None or cut == 0:
            fitted = global_fit(series, cut=cut, threads=threads, config=config)
        out[cut] = global_predict(fitted, series, cut=cut, horizon=horizon)
    return out


def fit_cuts(cuts: Sequence[int]) -> dict[int, list[int]]:
    """Which fit forecasts from which cut, as ``global_forecasts`` does it: ``{fit cut: [cuts
    it forecasts from]}`` — the largest cut's fit serves every cut above 0, a fit at 0 serves
    0."""
    ordered = sorted(set(cuts), reverse=True)
    plan: dict[int, list[int]] = {}
    for cut in ordered:
        fit = cut if not plan or cut == 0 else ordered[0]
        plan.setdefault(fit, []).append(cut)
    return plan


def global_fit(
    series: Sequence[GlobalSeries],
    *,
    cut: int,
    threads: int = 1,
    config: GlobalModelConfig | None = None,
) -> GlobalFit:
    """The global model fitted on ``series`` cut ``cut`` days before their ends (at most
    ``max_train_rows`` rows: a seeded sample of series beyond that). Its categories are those of
    every series given, so it reads any of them later."""
    config = config or GlobalModelConfig()
    names = _attribute_names(series)
    exog = _exogenous_names(series)
    categories = {name: sorted({s.attributes.get(name, "") for s in series}) for name in names}
    forecaster = _fit(
        series,
        cut=cut,
        names=names,
        categories=categories,
        exog=exog,
        config=config,
        threads=threads,
    )
    return GlobalFit(forecaster=forecaster, names=names, categories=categories, exog=exog)


def global_predict(
    fitted: GlobalFit, series: Sequence[GlobalSeries], *, cut: int, horizon: int
) -> np.ndarray:
    """Forecasts of ``horizon`` days from ``cut`` days before the end of each of ``series`` (any
    of those the fit knew the categories of): ``(series, horizon)``."""
    if not series:
        return np.zeros((0, horizon))
    return _predict(
        fitted.forecaster,
        series,
        cut=cut,
        horizon=horizon,
        names=fitted.names,
        categories=fitted.categories,
        exog=fitted.exog,
    )


def _attribute_names(series: Sequence[GlobalSeries]) -> list[str]:
    seen: dict[str, None] = dict.fromkeys(ID_FEATURES)
    for s in series:
        seen.update(dict.fromkeys(s.attributes))
    return list(seen)


def _exogenous_names(series: Sequence[GlobalSeries]) -> list[str]:
    names = []
    if any(s.price is not None for s in series):
        names.append("price_ratio")
    if any(s.promo is not None for s in series):
        names.append("promo")
    return names


def _price_ratio(price: np.ndarray | None, size: int) -> np.ndarray:
    """The day's price over the series' median price, carried forward over unknown days (1.0
    where nothing is known)."""
    if price is None or size == 0:
        return np.ones(size)
    seen = price[:size]
    known = seen[np.isfinite(seen)]
    median = float(np.median(known)) if known.size else 0.0
    if median <= 0:
        return np.ones(size)
    ratio = pd.Series(seen / median).ffill().fillna(1.0)
    return ratio.to_numpy(dtype=float)


def _promo(promo: np.ndarray | None, size: int) -> np.ndarray:
    if promo is None:
        return np.zeros(size)
    return np.nan_to_num(promo[:size], nan=0.0)


def _scale(values: np.ndarray) -> float:
    recent = values[-364:]
    return max(float(recent.mean()) if recent.size else 0.0, 0.05)


def _frame(
    series: Sequence[GlobalSeries],
    rows: Sequence[int],
    *,
    cut: int,
    days: int,
    names: list[str],
    categories: dict[str, list[str]],
    exog: list[str],
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """mlforecast's long frame of the chosen series, each cut ``cut`` days before its end and
    kept to its last ``days`` days, scaled; the scales; and each series' last price ratio."""
    ids, stamps, values, scales = [], [], [], np.zeros(len(rows))
    ratios, promos, last_ratio = [], [], np.ones(len(rows))
    for k, i in enumerate(rows):
        s = series[i]
        size = s.values.size - cut
        seen = s.values[:size]
        scales[k] = _scale(seen)
        kept = seen[-days:]
        first = s.start + timedelta(days=seen.size - kept.size)
        ids.append(np.full(kept.size, k, dtype=np.int64))
        stamps.append(np.datetime64(first, "D") + np.arange(kept.size))
        values.append(kept / scales[k])
        if "price_ratio" in exog:
            ratio = _price_ratio(s.price, size)
            ratios.append(ratio[-days:])
            last_ratio[k] = ratio[-1] if ratio.size else 1.0
        if "promo" in exog:
            promos.append(_promo(s.promo, size)[-days:])
    frame = pd.DataFrame(
        {
            "unique_id": np.concatenate(ids),
            "ds": pd.to_datetime(np.concatenate(stamps)),
            "y": np.concatenate(values).astype(np.float32),
        }
    )
    if ratios:
        frame["price_ratio"] = np.concatenate(ratios).astype(np.float32)
    if promos:
        frame["promo"] = np.concatenate(promos).astype(np.float32)
    positions = frame["unique_id"].to_numpy()
    for name in names:
        labels = np.array([series[i].attributes.get(name, "") for i in rows], dtype=object)
        frame[name] = pd.Categorical(labels[positions], categories=categories[name])
    return frame, scales, last_ratio


def _forecaster(config: GlobalModelConfig, threads: int) -> Any:
    try:
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean, RollingStd
    except (ImportError, OSError) as exc:  # e.g. no OpenMP runtime (libgomp1) on the machine
        raise GlobalModelUnavailable(f"LightGBM cannot be loaded: {exc}") from exc

    model = lgb.LGBMRegressor(
        objective="tweedie",
        tweedie_variance_power=config.tweedie_power,
        n_estimators=config.rounds,
        learning_rate=config.learning_rate,
        num_leaves=config.leaves,
        min_child_samples=config.min_child_samples,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=config.seed,
        n_jobs=threads,
        verbose=-1,
    )
    return MLForecast(
        models={GLOBAL_MODEL: model},
        freq="D",
        lags=list(LAGS),
        lag_transforms={
            7: [RollingMean(7), RollingMean(28), RollingStd(28)],
            28: [RollingMean(28), RollingMean(91)],
        },
        date_features=["dayofweek", "day", "month"],
        num_threads=threads,
    )


def _fit(
    series: Sequence[GlobalSeries],
    *,
    cut: int,
    names: list[str],
    categories: dict[str, list[str]],
    exog: list[str],
    config: GlobalModelConfig,
    threads: int,
) -> Any:
    # Series long enough to learn from (past their longest lag and a week; the features a
    # short history lacks are missing values, which LightGBM splits on).
    usable = [i for i, s in enumerate(series) if s.values.size - cut > LAGS[-1] + 7]
    if not usable:
        raise GlobalModelUnavailable("no series is long enough to learn from")
    days = config.train_days
    rows_each = np.array([min(series[i].values.size - cut, days) for i in usable])
    if rows_each.sum() > config.max_train_rows:
        rng = np.random.default_rng(config.seed)
        order = rng.permutation(len(usable))
        keep = order[: int(np.searchsorted(np.cumsum(rows_each[order]), config.max_train_rows))]
        usable = [usable[k] for k in sorted(keep)]
    frame, _, _ = _frame(
        series, usable, cut=cut, days=days, names=names, categories=categories, exog=exog
    )
    if not frame["y"].sum() > 0:
        raise GlobalModelUnavailable("no sale to learn from")
    forecaster = _forecaster(config, threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            forecaster.fit(frame, static_features=names, dropna=False)
        except Exception as exc:  # LightGBM refuses degenerate data (e.g. no sale left)
            raise GlobalModelUnavailable(f"LightGBM could not fit: {exc}") from exc
    return forecaster


def _predict(
    forecaster: Any,
    series: Sequence[GlobalSeries],
    *,
    cut: int,
    horizon: int,
    names: list[str],
    categories: dict[str, list[str]],
    exog: list[str],
) -> np.ndarray:
    n = len(series)
    frame, scales, last_ratio = _frame(
        series, range(n), cut=cut, days=LOOKBACK, names=names, categories=categories, exog=exog
    )
    future = None
    if exog:
        # The future as a forecast assumes it: the last price holds, no promotion runs.
        last_day = frame.groupby("unique_id", sort=True)["ds"].max().to_numpy()
        future = pd.DataFrame(
            {
                "unique_id": np.repeat(np.arange(n), horizon),
                "ds": np.repeat(last_day, horizon)
                + np.tile(pd.to_timedelta(np.arange(1, horizon + 1), unit="D"), n),
            }
        )
        if "price_ratio" in exog:
            future["price_ratio"] = np.repeat(last_ratio, horizon).astype(np.float32)
        if "promo" in exog:
            future["promo"] = np.float32(0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predicted = forecaster.predict(h=horizon, new_df=frame, X_df=future)
    predicted = predicted.sort_values(["unique_id", "ds"], kind="stable")
    values = predicted[GLOBAL_MODEL].to_numpy(dtype=float).reshape(n, horizon)
    return np.maximum(np.nan_to_num(values, nan=0.0), 0.0) * scales[:, None]
