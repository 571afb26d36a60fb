"""What a run reports of itself: validation accuracy per model and for the blend, hygiene counts,
the blends and the window calibration (``RunSummary.as_dict()`` is stored with a run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .metrics import Accuracy


@dataclass(frozen=True)
class ModelSummary:
    model: str
    series: int  # series it was validated on
    accuracy: Accuracy | None
    wins: int  # series it is the single best candidate for
    weight: float = 0.0  # its weight in the run's global blend

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "series": self.series,
            "wins": self.wins,
            "weight": round(self.weight, 4),
            **(self.accuracy.as_dict() if self.accuracy else _no_accuracy()),
        }


def _no_accuracy() -> dict[str, None]:
    return {"rmsse": None, "mase": None, "bias": None}


@dataclass
class RunSummary:
    """Validation accuracy of a run over its validated series, per model and for the blend.
    The blend's figure is on the windows its weights were chosen on (optimistic; the held-out
    scores per segment are not): ``python -m forecasting.evaluate_m5`` measures it out of
    sample."""

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
    origins: list[date] = field(default_factory=list)
    blends: list[dict[str, Any]] = field(default_factory=list)
    window_calibration: dict[int, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def improvement(self) -> float | None:
        """How much lower the blend's mean RMSSE is than seasonal naive's, in percent."""
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
            "origins": [d.isoformat() for d in self.origins],
            "blends": self.blends,
            "window_calibration": {str(k): v for k, v in self.window_calibration.items()},
            "seconds": round(self.seconds, 3),
        }
