"""Replenishment policies replayed on real store demand: Omni's ``service_level`` policy against
the textbook normal-approximation (s, S), on the M5 (Walmart) subset in
``../shared/data/m5_subset/``.

The last 28 days of the data are held out. Policies are computed from the days before them and
replayed over the 28 held-out days, day by day (``purchasing.policy.replay``): lead time 7,
review every 7 days (day 0 included), starting with on hand = order-up-to and nothing on order,
lost sales, an order placed on day t arriving on day t + 7. Reported per policy and target:
realised fill rate (units served / units demanded, over all series) and average on-hand units
per series (mean of end-of-day stock).

- (a) ``service_level`` at 90 % and 95 % (the fill-rate target over all series, by marginal
  allocation; the per-series variant is shown too);
- (b) the textbook (s, S): ``s = μ(L+R) + z σ √(L+R)``, ``S = s + μR``, ``μ``/``σ`` daily from the
  whole history, ``z`` the normal quantile of the same targets.

The two policies do not realise their nominal targets alike (the textbook overshoots), so the
comparison that matters is **stock at equal realised fill**: both policies' targets are swept
and Omni's stock is read off its fill-vs-stock curve at the textbook's realised fill rates.

Nothing is tuned on the held-out days: the demand model's parameters are chosen on four
validation windows inside the history (the 4 × 28 days before the hold-out, each replayed with
policies computed from the days before it), by the stock ratio at equal fill there; the
held-out replay runs once, with that choice (about a minute; ``--no-search`` takes the default
model without the search)::

    python bench/replenishment.py

``--ets-level`` also tries a forecast in the level: an ETS forecast per series (the forecasting
engine's ``ets``), fitted on the history with its stock-out runs imputed, blended into the
model's own level; its weight is chosen on the same validation windows (0.4: 0.825 against
0.858) and the held-out days are replayed with it (0.87 / 0.90 of the textbook's stock at equal
fill, against 0.88 / 0.91; docs/purchasing-policy.md). ``--level-headroom`` prints what a more
accurate level would buy (a diagnostic that reads the held-out days).

Beside the held-out ratio the bench prints how much of it is chance: its 5th–95th percentile
over 400 resamples of the series (a series bootstrap; the lost units at these fills come from a
few series whose demand surged), and the same ratio on each validation window.

Pure: no Django, no database. Not a test: it prints figures and ratios.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from forecasting.engine import History, history_from_rows, read_history_rows  # noqa: E402
from forecasting.evaluate_m5 import M5_ATTRIBUTES, M5_COLUMNS, M5_FILE  # noqa: E402
from purchasing.policy.distribution import (  # noqa: E402
    DEFAULT_MODEL,
    DemandModel,
    WindowDemand,
    impute_stockouts,
    window_demand,
)
from purchasing.policy.levels import fill_rate_levels  # noqa: E402
from purchasing.policy.policies import textbook_policy  # noqa: E402
from purchasing.policy.replay import ReplayResult, replay  # noqa: E402

LEAD, REVIEW, HOLDOUT = 7, 7, 28
TARGETS = (0.90, 0.95)
VALIDATION_CUTS = (56, 84, 112, 140)  # days before the end: each validation window's start
SWEEP_OURS = (0.80, 0.85, 0.90, 0.93, 0.95, 0.97, 0.98, 0.985, 0.99, 0.995, 0.998, 0.999)
SWEEP_TEXTBOOK = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)
ALL_CLASSES = ("smooth", "erratic", "intermittent", "lumpy")
DRAWS = 400  # series resamples for the ratio's interval
ETS_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # of the ETS level against the model's own


@dataclass
class Split:
    """Histories up to an origin and the 28 days after it (zeros before a series started)."""

    train: list[np.ndarray]
    test: np.ndarray
    keys: list[tuple[str, str]]


def load() -> History:
    rows = read_history_rows(M5_FILE, columns=M5_COLUMNS, ignore=M5_ATTRIBUTES)
    return history_from_rows(rows)


def split(history: History, cut: int) -> Split:
    train, test = [], []
    for item in history.series:
        values = item.values
        end = max(values.size - cut, 0)
        after = values[end : end + HOLDOUT]
        train.append(values[:end])
        test.append(np.concatenate((np.zeros(HOLDOUT - after.size), after)))
    return Split(train, np.array(test), [s.key for s in history.series])


def demands(
    part: Split, model: DemandModel, levels: np.ndarray | None = None
) -> list[WindowDemand]:
    """Each series' window distributions (what ``service_level_policies`` computes first; they
    do not depend on the target, so a sweep computes them once). ``levels``: each series' daily
    level (NaN: the model's own), as a caller with a forecast passes it."""
    if levels is None:
        return [window_demand(values, LEAD, REVIEW, model) for values in part.train]
    return [
        window_demand(values, LEAD, REVIEW, model, level=None if np.isnan(lv) else float(lv))
        for values, lv in zip(part.train, levels, strict=True)
    ]


def ets_levels(part: Split, model: DemandModel) -> np.ndarray:
    """Each series' mean ETS forecast over the next ``HOLDOUT`` days (the forecasting engine's
    ``ets``: statsforecast's AutoETS, no trend, weekly season), fitted on its last 364 days from
    the first sale with the stock-out runs imputed (``impute_stockouts``): the zeros of an empty
    shelf would drag the forecast toward zero. NaN where there is too little to fit."""
    import warnings

    from statsforecast.models import WindowAverage

    from forecasting.engine.local_models import long_frame, statsforecast
    from forecasting.engine.model_catalogue import MODELS

    out = np.full(len(part.train), np.nan)
    fitted, arrays = [], []
    for i, values in enumerate(part.train):
        sold = np.flatnonzero(values > 0)
        if sold.size == 0 or values.size - sold[0] < 2 * 7:
            continue
        fitted.append(i)
        arrays.append(impute_stockouts(values[sold[0] :], model)[-364:])
    if not arrays:
        return out
    spec = MODELS["ets"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine = statsforecast([spec.model(7)], WindowAverage(window_size=28))
        forecasts = engine.forecast(df=long_frame(arrays), h=HOLDOUT)
    mean = forecasts[spec.name].to_numpy(dtype=float).reshape(-1, HOLDOUT).mean(axis=1)
    out[fitted] = np.maximum(np.nan_to_num(mean, nan=0.0), 0.0)
    return out


def blended(part: Split, model: DemandModel, ets: np.ndarray, weight: float) -> np.ndarray:
    """``weight`` × the ETS level + (1 − ``weight``) × the model's own level (NaN: the own)."""
    own = np.array([demands_level(values, model) for values in part.train])
    return np.where(np.isnan(ets), np.nan, weight * ets + (1.0 - weight) * own)


def demands_level(values: np.ndarray, model: DemandModel) -> float:
    """The model's own daily level for a series (``WindowDemand.daily_mean``)."""
    return window_demand(values, 0, 1, model).daily_mean


def ours(
    part: Split, target: float, model: DemandModel | list[WindowDemand], *, pooled: bool = True
) -> ReplayResult:
    """Omni's ``service_level`` policy (s = S, from ``fill_rate_levels`` exactly as
    ``service_level_policies`` does) replayed over the part's 28 days."""
    found = demands(part, model) if isinstance(model, DemandModel) else model
    levels = fill_rate_levels(found, target, pooled=pooled).order_up_to
    return replay(part.test, levels, levels, lead_days=LEAD, review_days=REVIEW)


def textbook(part: Split, target: float) -> ReplayResult:
    policies = [
        textbook_policy(key[0], key[1], values, LEAD, REVIEW, target)
        for key, values in zip(part.keys, part.train, strict=True)
    ]
    s = np.array([p.reorder_point for p in policies])
    big_s = np.array([p.order_up_to for p in policies])
    return replay(part.test, s, big_s, lead_days=LEAD, review_days=REVIEW)


def pooled_point(results: list[ReplayResult]) -> tuple[float, float]:
    """(fill, on hand) over several windows: units pooled, stock averaged."""
    demanded = sum(float(r.demanded.sum()) for r in results)
    served = sum(float(r.served.sum()) for r in results)
    return served / demanded, float(np.mean([r.mean_on_hand for r in results]))


def stock_at(curve: list[tuple[float, float]], fill: float) -> float | None:
    """Average on hand at ``fill`` on a fill-vs-stock curve (linear between swept points);
    ``None`` beyond the curve's highest fill."""
    points = sorted(curve)
    fills = [p[0] for p in points]
    if fill > fills[-1]:
        return None
    return float(np.interp(fill, fills, [p[1] for p in points]))


def equal_fill_ratio(
    part: Split, found: list[WindowDemand], tb: ReplayResult, rows: np.ndarray | None = None
) -> float | None:
    """Omni's stock over the textbook's at the textbook's realised fill on ``part``'s days
    (over the series ``rows``, with repeats; all by default); ``None`` beyond Omni's curve."""
    sweep = [ours(part, t, found) for t in SWEEP_OURS]
    return _ratio_over(sweep, tb, np.arange(len(found)) if rows is None else rows)


def _ratio_over(sweep: list[ReplayResult], tb: ReplayResult, rows: np.ndarray) -> float | None:
    fill = tb.served[rows].sum() / tb.demanded[rows].sum()
    curve = [
        (r.served[rows].sum() / r.demanded[rows].sum(), r.average_on_hand[rows].mean())
        for r in sweep
    ]
    mine = stock_at(curve, fill)
    return None if mine is None else mine / float(tb.average_on_hand[rows].mean())


def series_interval(
    part: Split, found: list[WindowDemand], tb: ReplayResult, rng: np.random.Generator
) -> tuple[str, str, float]:
    """The 5th and 95th percentiles of the ratio at equal fill over ``DRAWS`` resamples of the
    series (a series bootstrap: how much the figure owes to which series happened to surge),
    and the share of draws at or below 0.80. A draw beyond Omni's curve counts as above."""
    sweep = [ours(part, t, found) for t in SWEEP_OURS]
    size = len(found)
    draws = [_ratio_over(sweep, tb, rng.integers(0, size, size)) for _ in range(DRAWS)]
    values = np.array([np.inf if d is None else d for d in draws])
    # Nearest draws, not interpolated: a draw beyond the curve is infinite.
    low, high = np.percentile(values, 5, method="lower"), np.percentile(values, 95, method="higher")
    return _ratio_text(low), _ratio_text(high), float(np.mean(values <= 0.80))


def _ratio_text(ratio: float | None) -> str:
    return "beyond" if ratio is None or not np.isfinite(ratio) else f"{ratio:.2f}"


def target_for(curve: list[tuple[float, float, float]], fill: float) -> float:
    """The nominal target whose realised fill reaches ``fill`` on a (fill, stock, target) sweep
    (linear between swept targets)."""
    points = sorted(curve)
    fills = [p[0] for p in points]
    return float(np.interp(fill, fills, [p[2] for p in points]))


def candidates() -> dict[str, DemandModel]:
    grid = {}
    for days, weight, classes in itertools.product(
        (182, 365), (0.25, 0.5, 0.75), (ALL_CLASSES, ("intermittent", "lumpy"))
    ):
        name = (
            f"{days}d, level {weight:.2f}, "
            f"{'compound all' if classes == ALL_CLASSES else 'windows for smooth'}"
        )
        grid[name] = replace(
            DEFAULT_MODEL, history_days=days, level_weight=weight, compound_classes=classes
        )
    return grid


def level_headroom(
    part: Split,
    model: DemandModel,
    tb_held: dict[float, ReplayResult],
    found: list[WindowDemand],
) -> None:
    """What the demand level is worth: the same distributions rescaled to the held-out days'
    own mean demand (an oracle no policy can have), then to that mean times log-normal errors
    of 10, 20 and 30 %. Diagnostic only: it reads the days it is judged on."""
    print("\n  Level headroom (diagnostic; the level is read off the held-out days):")
    truth = part.test.mean(axis=1)
    used = np.array([d.daily_mean for d in found])
    error = np.abs(used - truth).sum() / truth.sum()
    print(f"    the policy's level: {error:.1%} weighted absolute error of the 28-day totals")
    rng = np.random.default_rng(0)
    for noise in (0.0, 0.1, 0.2, 0.3):
        levels = truth * np.exp(rng.normal(0.0, noise, truth.size)) if noise else truth
        rescaled = [
            window_demand(values, LEAD, REVIEW, model, level=float(level))
            for values, level in zip(part.train, levels, strict=True)
        ]
        replays = (ours(part, t, rescaled) for t in SWEEP_OURS)
        curve = [(r.fill_rate, r.mean_on_hand) for r in replays]
        ratios = []
        for t in TARGETS:
            mine = stock_at(curve, tb_held[t].fill_rate)
            ratios.append("beyond" if mine is None else f"{mine / tb_held[t].mean_on_hand:.2f}")
        label = "held-out mean as the level" + (f", × log-normal {noise:.0%}" if noise else "")
        off = np.abs(levels - truth).sum() / truth.sum()
        print(
            f"    {label:<48} (error {off:5.1%}) stock / textbook at equal fill: "
            + " / ".join(ratios)
        )


def validation_score(
    validation: list[Split],
    found: list[list[WindowDemand]],
    tb_val: dict[float, tuple[float, float]],
) -> tuple[float, list[tuple[float, float, float]]]:
    """Omni's stock over the textbook's at the textbook's realised fills (the mean over the
    targets; inf where Omni's swept curve does not reach one), and Omni's (fill, stock, target)
    sweep, over the validation windows pooled."""
    curve = []
    for t in SWEEP_OURS:
        pairs = zip(validation, found, strict=True)
        fill, stock = pooled_point([ours(p, t, d) for p, d in pairs])
        curve.append((fill, stock, t))
    ratios = [stock_at([c[:2] for c in curve], f) for f, _ in tb_val.values()]
    if not all(ratios):
        return float("inf"), curve
    score = float(np.mean([r / s for r, (_, s) in zip(ratios, tb_val.values(), strict=True) if r]))
    return score, curve


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-search", action="store_true", help="skip the validation search")
    parser.add_argument(
        "--level-headroom",
        action="store_true",
        help="also print what a better level forecast would buy (an oracle; diagnostic only)",
    )
    parser.add_argument(
        "--ets-level",
        action="store_true",
        help="also try the ETS forecast (stock-outs imputed) blended into the level, its weight "
        "chosen on validation",
    )
    args = parser.parse_args()
    started = time.time()
    history = load()
    print(f"M5 subset: {len(history)} series to {history.as_of}; hold-out: the last {HOLDOUT}")
    print(f"days; L = {LEAD}, R = {REVIEW}, lost sales, start at order-up-to.\n")

    validation = [split(history, cut) for cut in VALIDATION_CUTS]
    held = split(history, HOLDOUT)

    # 1. Validation: the textbook's realised fills, and the demand model that needs the least
    #    stock to match them.
    tb_val = {t: pooled_point([textbook(p, t) for p in validation]) for t in TARGETS}
    print("Validation (4 × 28 days inside the history):")
    for t, (fill, stock) in tb_val.items():
        print(f"  textbook {t:.0%}: fill {fill:.2%}, on hand {stock:.1f}")
    grid = {"default": DEFAULT_MODEL} if args.no_search else candidates()
    best_name, best_score, best_curve, best_found = "", float("inf"), [], []
    for name, model in grid.items():
        found = [demands(p, model) for p in validation]
        score, curve = validation_score(validation, found, tb_val)
        print(f"  {name:<40} stock / textbook at equal fill: {score:.3f}")
        if score < best_score:
            best_name, best_score, best_curve, best_found = name, score, curve, found
    model = grid[best_name]
    print(f"  chosen: {best_name} ({best_score:.3f})")
    held_levels = None
    if args.ets_level:
        # The weight of the ETS level against the model's own, chosen on the same windows.
        ets_started = time.process_time()
        ets_val = [ets_levels(p, model) for p in validation]
        best_weight = 0.0
        print(f"  ETS level weight 0.00 (the model's own level): {best_score:.3f}")
        for weight in ETS_WEIGHTS[1:]:
            found = [
                demands(p, model, blended(p, model, e, weight))
                for p, e in zip(validation, ets_val, strict=True)
            ]
            score, curve = validation_score(validation, found, tb_val)
            print(f"  ETS level weight {weight:.2f}: {score:.3f}")
            if score < best_score:
                best_weight, best_score, best_curve, best_found = weight, score, curve, found
        if best_weight > 0:
            held_levels = blended(held, model, ets_levels(held, model), best_weight)
        print(
            f"  chosen: ETS level weight {best_weight:.2f} ({best_score:.3f}; ETS fits "
            f"{time.process_time() - ets_started:.0f} CPU s)"
        )
    held_demands = demands(held, model, held_levels)
    matched = {t: target_for(best_curve, fill) for t, (fill, _) in tb_val.items()}
    for t, m in matched.items():
        print(f"  target matching the textbook's {t:.0%} fill on validation: {m:.4f}")

    # 2. The held-out 28 days, once.
    print(f"\nHeld-out replay (last {HOLDOUT} days, never used above):")
    tb_held = {t: textbook(held, t) for t in TARGETS}
    rows_out: list[tuple[str, str, float, float, str]] = []
    for t in TARGETS:
        r = tb_held[t]
        rows_out.append(("textbook (s, S)", f"{t:.0%}", r.fill_rate, r.mean_on_hand, "1.00"))
    for t in TARGETS:
        for pooled in (True, False):
            r = ours(held, t, held_demands, pooled=pooled)
            label = "service_level" + ("" if pooled else " per series")
            ratio = r.mean_on_hand / tb_held[t].mean_on_hand
            rows_out.append((label, f"{t:.0%}", r.fill_rate, r.mean_on_hand, f"{ratio:.2f}"))
    for t in TARGETS:
        r = ours(held, matched[t], held_demands)
        ratio = r.mean_on_hand / tb_held[t].mean_on_hand
        rows_out.append(
            (
                f"service_level, target matched on validation to textbook {t:.0%}",
                f"{matched[t]:.2%}",
                r.fill_rate,
                r.mean_on_hand,
                f"{ratio:.2f}",
            )
        )
    curve_ours = [
        (r.fill_rate, r.mean_on_hand) for r in (ours(held, t, held_demands) for t in SWEEP_OURS)
    ]
    curve_tb = [(r.fill_rate, r.mean_on_hand) for r in (textbook(held, t) for t in SWEEP_TEXTBOOK)]
    width = max(len(r[0]) for r in rows_out)
    print(f"  {'policy':<{width}}  target  fill     on hand  vs textbook (same target)")
    for label, nominal, realised, held_stock, versus in rows_out:
        print(f"  {label:<{width}}  {nominal:>6}  {realised:.2%}  {held_stock:7.2f}  {versus}")

    print("\n  Fill-vs-stock curves on the held-out days (targets swept):")
    print("    textbook:      " + "  ".join(f"{f:.2%}/{s:.1f}" for f, s in sorted(curve_tb)))
    print("    service_level: " + "  ".join(f"{f:.2%}/{s:.1f}" for f, s in sorted(curve_ours)))
    print("\n  At equal realised fill (Omni's curve read at the textbook's fill):")
    for t in TARGETS:
        fill, stock = tb_held[t].fill_rate, tb_held[t].mean_on_hand
        mine = stock_at(curve_ours, fill)
        if mine is None:
            print(f"    textbook {t:.0%}: fill {fill:.2%} is beyond Omni's swept curve")
            continue
        print(
            f"    textbook {t:.0%}: fill {fill:.2%}, on hand {stock:.2f}; service_level "
            f"{mine:.2f} → ratio {mine / stock:.2f} ({1 - mine / stock:.0%} less stock)"
        )
    print(
        f"\n  How much of that is chance: the {len(held.keys)} series resampled with replacement "
        f"({DRAWS} draws),\n  the ratio at equal fill read again each time (5th–95th percentile):"
    )
    rng = np.random.default_rng(0)
    for t in TARGETS:
        low, high, below = series_interval(held, held_demands, tb_held[t], rng)
        print(f"    textbook {t:.0%}: {low} – {high}; at most 0.80 in {below:.0%} of the draws")
    print(
        "\n  Every window the same way (the chosen model; validation windows, then the hold-out):"
    )
    windows = [
        *zip(VALIDATION_CUTS, validation, best_found, strict=True),
        (HOLDOUT, held, held_demands),
    ]
    for cut, part, part_found in sorted(windows, key=lambda w: -w[0]):
        first = history.as_of - timedelta(days=cut - 1)
        ratios = " / ".join(
            _ratio_text(equal_fill_ratio(part, part_found, textbook(part, t))) for t in TARGETS
        )
        print(f"    28 days from {first}: {ratios}")
    if args.level_headroom:
        level_headroom(held, model, tb_held, held_demands)
    print(f"\n{time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
