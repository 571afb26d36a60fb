"""The forecasting models a run may blend, by stable name: statsforecast's, fitted per series,
and one global model (``lightgbm``, see ``global_model.py``), fitted across all series.

``DEFAULT_MODELS`` is what a run uses unless told otherwise: weekly seasonal naive (the
baseline), ETS, Theta, TSB for intermittent demand and the global LightGBM — the models that
carried weight in the blends chosen on M5's validation origins (Croston SBA, ADIDA and IMAPA
never did, and each more candidate costs time). It is sized so 30,000 daily series of two
years forecast within 5 minutes on a 2-core machine (see ``bench/forecast.py``). The
``heavy`` models search far larger model spaces (ETS with trends, Theta variants, ARIMA) for
several times the cost; name them to use them.

Models with ``forward`` support are backtested without re-estimating their parameters at every
origin: they are fitted at the first origin and rolled forward over the later ones, which keeps
a three-window backtest of ETS and Theta at about the cost of one fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

SEASON_LENGTH = 7  # daily data, weekly pattern


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    build: Callable[[int], Any]  # season length -> a statsforecast model aliased ``name``
    heavy: bool = False
    is_global: bool = False  # fitted across all series at once (global_model.py), not per series

    def model(self, season_length: int = SEASON_LENGTH) -> Any:
        return self.build(season_length)

    @property
    def forward(self) -> bool:
        return not self.is_global and hasattr(self.model(), "forward")


def _spec(
    name: str, description: str, build: Callable[[int], Any], heavy: bool = False
) -> ModelSpec:
    return ModelSpec(name=name, description=description, build=build, heavy=heavy)


def _global_only(season_length: int) -> Any:
    raise TypeError("the global model is fitted by forecasting.engine.global_model")


class _Lazy:
    """``statsforecast.models``, imported on first use: it takes over a second to import, and a
    web process that only reads stored forecasts never needs it."""

    def __getattr__(self, name: str) -> Any:
        from statsforecast import models

        return getattr(models, name)


sf = _Lazy()


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _spec(
            "seasonal_naive",
            "Weekly seasonal naive: each day repeats the same weekday of the last week.",
            lambda m: sf.SeasonalNaive(season_length=m, alias="seasonal_naive"),
        ),
        _spec(
            "ets",
            "Exponential smoothing (ETS) without trend, weekly season; error and season type "
            "chosen by AICc.",
            lambda m: sf.AutoETS(season_length=m, model="ZNZ", alias="ets"),
        ),
        _spec(
            "theta",
            "The Theta method on the weekly-deseasonalised series.",
            lambda m: sf.Theta(season_length=m, alias="theta"),
        ),
        _spec(
            "croston_sba",
            "Croston's method with the Syntetos-Boylan bias correction (intermittent demand).",
            lambda m: sf.CrostonSBA(alias="croston_sba"),
        ),
        _spec(
            "tsb",
            "Teunter-Syntetos-Babai: demand size and demand probability smoothed apart "
            "(alpha 0.1 each); follows an item whose sales die out.",
            lambda m: sf.TSB(alpha_d=0.1, alpha_p=0.1, alias="tsb"),
        ),
        _spec(
            "adida",
            "ADIDA: aggregate to the mean interval between sales, smooth, disaggregate.",
            lambda m: sf.ADIDA(alias="adida"),
        ),
        _spec(
            "imapa",
            "IMAPA: ADIDA over several aggregation levels, averaged.",
            lambda m: sf.IMAPA(alias="imapa"),
        ),
        ModelSpec(
            name="lightgbm",
            description="One LightGBM across all series (mlforecast): lags, rolling means and "
            "spread, calendar, ids and hierarchy; Tweedie loss on per-series scaled demand.",
            build=_global_only,
            is_global=True,
        ),
        # Cheap extras, opt-in because each more candidate adds selection noise.
        _spec(
            "croston",
            "Croston's classic method (smoothing 0.1).",
            lambda m: sf.CrostonClassic(alias="croston"),
        ),
        _spec(
            "croston_optimized",
            "Croston's method with optimised smoothing.",
            lambda m: sf.CrostonOptimized(alias="croston_optimized"),
        ),
        _spec(
            "moving_average",
            "Mean of the last 28 days.",
            lambda m: sf.WindowAverage(window_size=28, alias="moving_average"),
        ),
        _spec(
            "ses",
            "Simple exponential smoothing with optimised smoothing.",
            lambda m: sf.SimpleExponentialSmoothingOptimized(alias="ses"),
        ),
        _spec(
            "seasonal_ses",
            "Simple exponential smoothing per weekday.",
            lambda m: sf.SeasonalExponentialSmoothingOptimized(
                season_length=m, alias="seasonal_ses"
            ),
        ),
        # Heavy: a much larger search per series.
        _spec(
            "auto_ets",
            "ETS over every error, trend and season type (about 8x the cost of 'ets').",
            lambda m: sf.AutoETS(season_length=m, alias="auto_ets"),
            heavy=True,
        ),
        _spec(
            "auto_theta",
            "Theta over its standard, optimised and dynamic variants (about 5x 'theta').",
            lambda m: sf.AutoTheta(season_length=m, alias="auto_theta"),
            heavy=True,
        ),
        _spec(
            "optimized_theta",
            "Theta with an optimised theta coefficient.",
            lambda m: sf.OptimizedTheta(season_length=m, alias="optimized_theta"),
            heavy=True,
        ),
        _spec(
            "auto_arima",
            "Seasonal ARIMA chosen by a stepwise search (slowest).",
            lambda m: sf.AutoARIMA(season_length=m, alias="auto_arima"),
            heavy=True,
        ),
    )
}

DEFAULT_MODELS: tuple[str, ...] = (
    "seasonal_naive",
    "ets",
    "theta",
    "tsb",
    "lightgbm",
)
BASELINE_MODEL = "seasonal_naive"

# What a series gets when it cannot be modelled (too short, no recent sale).
FALLBACK_MOVING_AVERAGE = "moving_average"
IDLE = "idle"


class UnknownModel(ValueError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        known = ", ".join(MODELS)
        super().__init__(f"unknown model(s) {', '.join(map(repr, names))}; known: {known}")


def resolve_models(names: Iterable[str] | None) -> tuple[str, ...]:
    """Validated model names in a stable order, duplicates dropped (default: DEFAULT_MODELS)."""
    if names is None:
        return DEFAULT_MODELS
    wanted = [n.strip() for n in names if n.strip()]
    unknown = [n for n in wanted if n not in MODELS]
    if unknown:
        raise UnknownModel(unknown)
    if not wanted:
        raise UnknownModel([""])
    return tuple(dict.fromkeys(wanted))
