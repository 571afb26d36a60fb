"""A forecast run's summary from its chunks' summaries: plain dicts in, a plain dict out (no
Django), so the engine's summary can grow without the service layer losing what it adds.

Each chunk of a run reports the engine's ``RunSummary.as_dict()`` for its series; the run's
summary is what one engine run over all of them would have reported for the counts and the
accuracy means. Keys the merge does not know are kept per chunk, never dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

# What the merge knows of the engine's summary (``RunSummary.as_dict()``); any other key of a
# chunk's summary is kept, per chunk, under "chunks" (see ``merge_summaries``).
_SAME_IN_EVERY_CHUNK = ("as_of", "horizon", "models", "origins")
_COUNTS = (
    "series",
    "backtested",
    "short_history",
    "idle",
    "kept_for_open_orders",
    "capped_series",
    "capped_days",
)
# Accuracy averages over series, and the count of series each is the mean of.
_MEANS = {"selection": "backtested", "baseline": "backtested"}
_MODEL_KEYS = ("model", "series", "wins", "weight", "rmsse", "mase", "bias")
_MERGED = {
    *_SAME_IN_EVERY_CHUNK,
    *_COUNTS,
    *_MEANS,
    "per_model",
    "demand_classes",
    "improvement_pct",
    "seconds",
    "blends",
    "window_calibration",
}


def merge_summaries(summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One run's summary from its chunks' (in chunk order): counts summed (``demand_classes``
    per class), accuracies averaged weighted by the series they are the mean of (a model's by
    its ``series``, ``selection`` and ``baseline`` by ``backtested``: the mean over every series
    of the run, as one engine run reports it), ``improvement_pct`` recomputed, ``seconds``
    summed (worker time). A key it does not know is not guessed at: each chunk's unknown keys
    (and unknown per-model keys) are kept under ``chunks``, one entry per chunk, in order.
    One chunk's summary is the run's as it is."""
    if len(summaries) == 1:
        return dict(summaries[0])
    merged: dict[str, Any] = {}
    for key in _SAME_IN_EVERY_CHUNK:
        if key in summaries[0]:
            merged[key] = summaries[0][key]
    for key in _COUNTS:
        merged[key] = sum(int(s.get(key) or 0) for s in summaries)
    merged["per_model"] = _merge_per_model([s.get("per_model") or [] for s in summaries])
    for key, weight in _MEANS.items():
        merged[key] = _weighted_mean(
            [(s.get(key) or {}, float(s.get(weight) or 0)) for s in summaries]
        )
    selection, baseline = merged["selection"].get("rmsse"), merged["baseline"].get("rmsse")
    merged["improvement_pct"] = (
        100.0 * (1.0 - selection / baseline) if selection is not None and baseline else None
    )
    classes: Counter[str] = Counter()
    for s in summaries:
        classes.update({name: int(n) for name, n in (s.get("demand_classes") or {}).items()})
    merged["demand_classes"] = dict(sorted(classes.items()))
    merged["seconds"] = round(sum(float(s.get("seconds") or 0) for s in summaries), 3)
    merged["blends"] = _merge_blends([s.get("blends") or [] for s in summaries])
    merged["window_calibration"] = _merge_calibration(
        [(s.get("window_calibration") or {}, float(s.get("backtested") or 0)) for s in summaries]
    )
    details = []
    for s in summaries:
        extra = {key: value for key, value in s.items() if key not in _MERGED}
        model_extra = [
            {"model": m.get("model"), **{k: v for k, v in m.items() if k not in _MODEL_KEYS}}
            for m in s.get("per_model") or []
            if set(m) - set(_MODEL_KEYS)
        ]
        if model_extra:
            extra["per_model"] = model_extra
        details.append(extra)
    if any(details):
        merged["chunks"] = details
    return merged


def _merge_per_model(chunks: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Per model (in the order first seen): series and wins summed, accuracy weighted by
    series."""
    rows: dict[str, list[Mapping[str, Any]]] = {}
    for per_model in chunks:
        for row in per_model:
            rows.setdefault(str(row["model"]), []).append(row)
    merged = []
    for model, seen in rows.items():
        accuracy = _weighted_mean(
            [
                ({k: row.get(k) for k in ("rmsse", "mase", "bias")}, float(row.get("series") or 0))
                for row in seen
            ]
        )
        merged.append(
            {
                "model": model,
                "series": sum(int(row.get("series") or 0) for row in seen),
                "wins": sum(int(row.get("wins") or 0) for row in seen),
                "weight": _weighted_mean(
                    [({"w": row.get("weight")}, float(row.get("series") or 0)) for row in seen]
                )["w"]
                or 0.0,
                **accuracy,
            }
        )
    return merged


def _merge_blends(chunks: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Each segment's blend over the chunks (each chunk chose its own, on its own series):
    weights and scores averaged weighted by the segment's series in each chunk; ``own`` where
    most of the segment's series had their class's own weights."""
    by_segment: dict[str, list[Mapping[str, Any]]] = {}
    for blends in chunks:
        for blend in blends:
            by_segment.setdefault(str(blend["segment"]), []).append(blend)
    merged = []
    for segment, seen in by_segment.items():
        series = sum(int(b.get("series") or 0) for b in seen)
        weighted = [(b, float(b.get("series") or 0)) for b in seen]
        weights = _weighted_mean([(b.get("weights") or {}, w) for b, w in weighted])
        # A model missing from a chunk's weights weighs nothing there.
        shares = {
            name: sum(float((b.get("weights") or {}).get(name, 0.0)) * w for b, w in weighted)
            / (series or 1)
            for name in weights
        }
        scores = _weighted_mean(
            [
                (
                    {
                        k: b.get(k)
                        for k in ("validation_rmsse", "held_out_rmsse", "global_held_out_rmsse")
                    },
                    w,
                )
                for b, w in weighted
            ]
        )
        own = sum(w for b, w in weighted if b.get("own")) * 2 > series
        merged.append(
            {"segment": segment, "weights": shares, "series": series, **scores, "own": own}
        )
    return merged


def _merge_calibration(
    parts: Sequence[tuple[Mapping[str, Mapping[str, float]], float]],
) -> dict[str, dict[str, float | None]]:
    """Window calibrations averaged weighted by each chunk's validated series (the chunks are
    samples of one run's series; each chunk's own series keep their chunk's)."""
    days = list(dict.fromkeys(d for calibration, _ in parts for d in calibration))
    return {d: _weighted_mean([(c.get(d) or {}, w) for c, w in parts]) for d in days}


def _weighted_mean(parts: Sequence[tuple[Mapping[str, Any], float]]) -> dict[str, float | None]:
    """Each measure of accuracy dicts (``{"rmsse": …, "mase": …, "bias": …}``) averaged with
    the weights given; None where no part with a weight has it."""
    names = list(dict.fromkeys(name for values, _ in parts for name in values))
    out: dict[str, float | None] = {}
    for name in names:
        pairs = [
            (float(values[name]), weight)
            for values, weight in parts
            if weight > 0 and values.get(name) is not None
        ]
        total = sum(weight for _, weight in pairs)
        out[name] = sum(value * weight for value, weight in pairs) / total if total else None
    return out
