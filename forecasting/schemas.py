"""API schemas of forecasting, in ``XIn`` / ``XOut`` pairs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Schema

from omni.schemas import InputSchema

ModelName = Annotated[str, Field(min_length=1, max_length=32)]
Quantile = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]


class ForecastRunIn(InputSchema):
    city: Annotated[str | None, Field(max_length=32)] = None  # None: every city
    horizon: Annotated[int, Field(strict=True, ge=1, le=366)] = 28
    models: Annotated[list[ModelName] | None, Field(min_length=1, max_length=20)] = None
    quantiles: Annotated[list[Quantile] | None, Field(min_length=1, max_length=10)] = None
    as_of: date | None = None  # the last day of history (default: the latest complete day)


class AccuracyOut(Schema):
    rmsse: float | None
    mase: float | None
    bias: float | None


class ForecastRunOut(Schema):
    id: int
    city: str | None = Field(None, alias="city.code")
    status: str
    progress: float
    message: str
    horizon: int
    as_of: date | None
    first_day: date | None
    models: list[str] = Field(alias="candidates")
    quantiles: list[str]
    series_total: int
    series_done: int
    worker: str
    error: str
    rerun_of: int | None = Field(None, alias="rerun_of_id")
    created_by: str | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    accuracy: AccuracyOut | None = None  # the selection's backtest, once succeeded
    improvement_pct: float | None = None  # vs seasonal naive, once succeeded

    @staticmethod
    def resolve_message(obj: Any) -> str:
        from .selectors import run_status_message

        return run_status_message(obj)

    @staticmethod
    def resolve_quantiles(obj: Any) -> list[str]:
        from .engine import quantile_name

        return [quantile_name(q) for q in obj.quantiles]

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id else None

    @staticmethod
    def resolve_accuracy(obj: Any) -> dict[str, Any] | None:
        return (obj.summary or {}).get("selection") if obj.status == "succeeded" else None

    @staticmethod
    def resolve_improvement_pct(obj: Any) -> float | None:
        return (obj.summary or {}).get("improvement_pct") if obj.status == "succeeded" else None


class ModelAccuracyOut(Schema):
    model: str
    series: int  # validated on
    wins: int  # series it is the single best candidate for
    weight: float = 0.0  # in the run's global blend
    rmsse: float | None
    mase: float | None
    bias: float | None


class RunAccuracyOut(Schema):
    run: int
    as_of: date | None
    horizon: int
    series: int
    backtested: int
    short_history: int
    idle: int
    kept_for_open_orders: int
    capped_series: int
    capped_days: int
    selection: AccuracyOut
    baseline: AccuracyOut
    improvement_pct: float | None
    per_model: list[ModelAccuracyOut]
    demand_classes: dict[str, int]
    origins: list[date] = []  # the validation origins the blend was chosen on
    blends: list[BlendOut] = []  # the global blend ("*") and each demand class's
    window_calibration: dict[str, dict[str, float]] = {}  # days -> quantile -> z


class BlendOut(Schema):
    segment: str  # a demand class, or "*" for the run's global blend
    weights: dict[str, float]
    series: int
    validation_rmsse: float  # on the validation windows it was chosen on
    held_out_rmsse: float | None  # mean over origins, weights chosen on the others
    global_held_out_rmsse: float | None  # the global weights', the same way
    own: bool  # the segment's own weights (else the global ones serve it)


class SeriesAccuracyOut(Schema):
    sku: str = Field(alias="product.sku")
    location: str = Field(alias="location.code")
    model: str
    weights: dict[str, float]
    segment: str
    method: str
    demand_class: str
    rmsse: float | None
    mase: float | None
    bias: float | None
    baseline_rmsse: float | None
    scores: dict[str, float]
    history_days: int
    last_sale: date | None
    open_orders: bool
    capped: list[dict[str, Any]]


class ForecastDayOut(Schema):
    date: date
    forecast: float
    quantiles: dict[str, float]


class WindowTotalOut(Schema):
    days: int  # the window: the first N forecast days
    total: float  # the forecast's total over it
    quantiles: dict[str, float]  # of that total (not sums of daily quantiles)


class SeriesForecastOut(Schema):
    sku: str = Field(alias="product.sku")
    location: str = Field(alias="location.code")
    run: int = Field(alias="run_id")
    as_of: date | None = Field(alias="run.as_of")
    model: str
    weights: dict[str, float]
    method: str
    days: list[ForecastDayOut]
    windows: list[WindowTotalOut]

    @staticmethod
    def resolve_windows(obj: Any) -> list[dict[str, Any]]:
        return [
            {
                "days": int(days),
                "total": values["total"],
                "quantiles": {k: v for k, v in values.items() if k != "total"},
            }
            for days, values in sorted((obj.window or {}).items(), key=lambda kv: int(kv[0]))
        ]

    @staticmethod
    def resolve_days(obj: Any) -> list[dict[str, Any]]:
        names = list(obj.quantiles)
        return [
            {
                "date": day,
                "forecast": obj.values[i],
                "quantiles": {name: obj.quantiles[name][i] for name in names},
            }
            for i, day in enumerate(obj.days())
        ]
