"""The run's choice: a weighted blend of the candidate models, its weights chosen on validation
origins inside the history, never on the days it will be judged on.

**Forward selection** (Caruana et al., 2004): start from nothing, and ``steps`` times add the
one model (again, if it is already in) that makes the blend's mean validation RMSSE lowest. A
model's weight is how many times it was added over ``steps``: weights are non-negative, sum to
one, and a model that only adds noise is never picked. Greedy on the metric itself, it needs
no solver and cannot overfit the way free least-squares weights do on a few windows.

**Segments**: series of one demand class (smooth, erratic, intermittent, lumpy) may be better
served by weights of their own than by the run's global weights, or may not: a segment gets its
own weights only where that pays on an origin it was not chosen on. For each validation origin,
both kinds of weights are chosen on the *other* origins and scored on this one; the segment's
own weights are used only if their mean held-out score is lower, and only for segments of at
least ``min_segment_series`` series. Otherwise the segment uses the global weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GLOBAL = "*"


@dataclass(frozen=True)
class BlendConfig:
    steps: int = 20
    min_segment_series: int = 50
    max_fit_series: int = 5000  # a seeded sample of the segment chooses its weights beyond this
    seed: int = 11


@dataclass
class Blend:
    """The weights a segment of series is forecast with, and why."""

    segment: str
    weights: dict[str, float]
    series: int
    validation_rmsse: float  # mean RMSSE of the blend on the validation windows (chosen on)
    held_out_rmsse: float | None = None  # mean over origins, weights chosen on the others
    global_held_out_rmsse: float | None = None  # the global weights', the same way
    own: bool = False  # the segment's own weights (else the global ones)

    def as_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "weights": {name: round(w, 4) for name, w in self.weights.items()},
            "series": self.series,
            "validation_rmsse": round(self.validation_rmsse, 4),
            "held_out_rmsse": _round(self.held_out_rmsse),
            "global_held_out_rmsse": _round(self.global_held_out_rmsse),
            "own": self.own,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass
class BlendChoice:
    blends: dict[str, Blend]  # by segment, GLOBAL included
    models: list[str] = field(default_factory=list)

    def for_segment(self, segment: str) -> Blend:
        return self.blends.get(segment) or self.blends[GLOBAL]


def mean_rmsse(forecast: np.ndarray, actual: np.ndarray, scale_sq: np.ndarray) -> float:
    """Mean over series and windows of each window's RMSSE: ``forecast`` and ``actual`` are
    (series, windows, horizon), ``scale_sq`` (series,)."""
    if actual.size == 0:
        return 0.0
    squared = np.mean((forecast - actual) ** 2, axis=-1) / scale_sq[:, None]
    return float(np.mean(np.sqrt(squared)))


def forward_select(
    forecasts: np.ndarray, actual: np.ndarray, scale_sq: np.ndarray, *, steps: int
) -> np.ndarray:
    """Weights (models,) of a forward-selected blend: ``forecasts`` is (models, series,
    windows, horizon). Ties go to the earlier model."""
    m = forecasts.shape[0]
    counts = np.zeros(m)
    blend = np.zeros_like(actual, dtype=float)
    for k in range(steps):
        scores = [
            mean_rmsse((blend * k + forecasts[j]) / (k + 1), actual, scale_sq) for j in range(m)
        ]
        best = int(np.argmin(scores))
        counts[best] += 1
        blend = (blend * k + forecasts[best]) / (k + 1)
    return counts / counts.sum()


def choose_blends(
    forecasts: np.ndarray,
    actual: np.ndarray,
    scale_sq: np.ndarray,
    segments: Sequence[str],
    models: Sequence[str],
    config: BlendConfig | None = None,
) -> BlendChoice:
    """The global blend and each segment's (its own or the global one, see the module)."""
    config = config or BlendConfig()
    segments_arr = np.asarray(segments, dtype=object)
    n = actual.shape[0]
    windows = actual.shape[1]
    rng = np.random.default_rng(config.seed)

    def sample(rows: np.ndarray) -> np.ndarray:
        if rows.size <= config.max_fit_series:
            return rows
        return np.sort(rng.choice(rows, config.max_fit_series, replace=False))

    def weights_on(rows: np.ndarray, origins: list[int]) -> np.ndarray:
        fit = sample(rows)
        return forward_select(
            forecasts[:, fit][:, :, origins],
            actual[fit][:, origins],
            scale_sq[fit],
            steps=config.steps,
        )

    def blended(weights: np.ndarray, rows: np.ndarray, origins: list[int]) -> float:
        f = np.tensordot(weights, forecasts[:, rows][:, :, origins], axes=1)
        return mean_rmsse(f, actual[rows][:, origins], scale_sq[rows])

    everyone = np.arange(n)
    every_origin = list(range(windows))
    global_weights = weights_on(everyone, every_origin)
    # Held-out weights of the global blend, one set per origin left out.
    held_out_global = (
        {w: weights_on(everyone, [o for o in every_origin if o != w]) for w in every_origin}
        if windows > 1
        else {}
    )

    def as_named(weights: np.ndarray) -> dict[str, float]:
        return {name: float(x) for name, x in zip(models, weights, strict=True) if x > 0}

    def global_for(rows: np.ndarray, segment: str) -> Blend:
        return Blend(
            segment=segment,
            weights=as_named(global_weights),
            series=int(rows.size),
            validation_rmsse=blended(global_weights, rows, every_origin),
        )

    blends = {
        GLOBAL: Blend(
            segment=GLOBAL,
            weights=as_named(global_weights),
            series=n,
            validation_rmsse=blended(global_weights, everyone, every_origin),
            held_out_rmsse=_held_out(held_out_global, everyone, blended),
            own=True,
        )
    }
    for segment in sorted(set(segments)):
        rows = np.flatnonzero(segments_arr == segment)
        global_score = _held_out(held_out_global, rows, blended)
        if rows.size < config.min_segment_series or windows < 2:
            blends[segment] = global_for(rows, segment)
            blends[segment].global_held_out_rmsse = global_score
            continue
        own_held_out = {
            w: weights_on(rows, [o for o in every_origin if o != w]) for w in every_origin
        }
        own_score = _held_out(own_held_out, rows, blended)
        if own_score is not None and global_score is not None and own_score < global_score:
            weights = weights_on(rows, every_origin)
            blends[segment] = Blend(
                segment=segment,
                weights=as_named(weights),
                series=int(rows.size),
                validation_rmsse=blended(weights, rows, every_origin),
                held_out_rmsse=own_score,
                global_held_out_rmsse=global_score,
                own=True,
            )
        else:
            blends[segment] = global_for(rows, segment)
            blends[segment].held_out_rmsse = own_score
            blends[segment].global_held_out_rmsse = global_score
    return BlendChoice(blends=blends, models=list(models))


def _held_out(
    weights_by_origin: dict[int, np.ndarray], rows: np.ndarray, blended: Any
) -> float | None:
    if not weights_by_origin or rows.size == 0:
        return None
    return float(np.mean([blended(w, rows, [o]) for o, w in weights_by_origin.items()]))
