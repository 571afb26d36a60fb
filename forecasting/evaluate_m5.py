"""Out-of-sample accuracy on real store demand: the M5 (Walmart) subset in
``../shared/data/m5_subset/``, judged on rolling origins.

At each evaluation origin (the last ``horizon`` days of the data, the ``horizon`` days before
those, and so on: ``--origins``, default 3) a forecast run sees only the days up to the origin —
it chooses its blend on validation origins inside those days — and forecasts the ``horizon``
days after it, which it never saw. Every usual model alone forecasts them too (candidate or not,
fitted on the same days), and so does the plain mean of them. Per origin the table gives each
one's mean RMSSE, and the share of days and of 14- and 28-day totals at or below the run's
quantiles::

    python -m forecasting.evaluate_m5                 # all 204 series, 3 origins
    python -m forecasting.evaluate_m5 --sample 24     # every 8th series, quickly

Pure: no Django, no database.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .engine import (
    BASELINE_MODEL,
    Accuracy,
    ForecastConfig,
    History,
    Scale,
    SeriesHistory,
    accuracy,
    history_from_rows,
    read_history_rows,
    run_forecast,
)
from .engine.hygiene import trim_to_first_sale
from .engine.model_catalogue import MODELS
from .engine.run import model_forecasts

M5_FILE = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "m5_subset"
) / "sales_train.csv.gz"
M5_COLUMNS = {"sku": "item_id", "location": "store_id", "quantity": "sales"}
# The hierarchy above an item and a store, for the global model.
M5_ATTRIBUTES = {"dept_id": "department", "cat_id": "category", "state_id": "region"}
# Every model the run is judged against, candidate or not: the statsforecast models a run used to
# choose from and the global model.
SINGLE_MODELS = (
    "seasonal_naive",
    "ets",
    "theta",
    "croston_sba",
    "tsb",
    "adida",
    "imapa",
    "lightgbm",
)
SELECTION = "run (blend)"
MEAN_ALL = "mean of models"
MEAN_LOCAL = "mean of statsforecast"
WINDOW_DAYS = (14, 28)


@dataclass
class Row:
    name: str
    accuracy: Accuracy
    total_bias_pct: float  # Σ(forecast − actual) / Σ actual


@dataclass
class OriginResult:
    origin: date  # the last day the run saw
    series: int
    rows: list[Row]
    weights: dict[str, float]  # the run's global blend
    coverage: dict[str, float] = field(default_factory=dict)  # daily quantile -> share below
    window_coverage: dict[int, dict[str, float]] = field(default_factory=dict)
    # The same totals against summed daily quantiles (what window quantiles replace).
    summed_daily_coverage: dict[int, dict[str, float]] = field(default_factory=dict)

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)

    @property
    def singles(self) -> list[Row]:
        return [r for r in self.rows if r.name in MODELS]

    @property
    def beaten(self) -> list[str]:
        """The rows the run's choice did not beat (empty: it beat every model and mean)."""
        mine = self.row(SELECTION).accuracy.rmsse
        return [r.name for r in self.rows if r.name != SELECTION and r.accuracy.rmsse <= mine]


@dataclass
class Evaluation:
    horizon: int
    origins: list[OriginResult]
    seconds: float = 0.0

    @property
    def beats_every_model_on_every_origin(self) -> bool:
        return all(not o.beaten for o in self.origins)

    def pooled_window_coverage(self) -> dict[int, dict[str, float]]:
        """Window coverage over every origin's totals together (each origin has as many)."""
        first = self.origins[0].window_coverage
        return {
            days: {
                name: float(np.mean([o.window_coverage[days][name] for o in self.origins]))
                for name in first[days]
            }
            for days in first
        }

    def mean(self, name: str) -> float:
        return float(np.mean([o.row(name).accuracy.rmsse for o in self.origins]))

    def table(self) -> str:
        names = [r.name for r in self.origins[0].rows]
        width = max(len(n) for n in names) + 1
        head = f"{'mean RMSSE':<{width}}" + "".join(
            f"{o.origin.isoformat():>12}" for o in self.origins
        )
        lines = [
            f"M5 subset: {self.origins[0].series} series, {len(self.origins)} origins, "
            f"{self.horizon} unseen days after each",
            head + f"{'mean':>9}{'vs SN':>8}",
        ]
        base = self.mean(BASELINE_MODEL)
        for name in sorted(names, key=self.mean):
            cells = "".join(f"{o.row(name).accuracy.rmsse:>12.4f}" for o in self.origins)
            mean = self.mean(name)
            lines.append(f"{name:<{width}}{cells}{mean:>9.4f}{100 * (1 - mean / base):>+7.1f}%")
        lines.append("")
        for o in self.origins:
            weights = ", ".join(f"{k} {v:.2f}" for k, v in o.weights.items())
            daily = ", ".join(f"{k} {v:.1%}" for k, v in o.coverage.items())
            lines.append(f"{o.origin}: blend {weights}")
            lines.append(f"  days at or below daily quantiles: {daily}")
            for days, cover in o.window_coverage.items():
                shares = ", ".join(f"{k} {v:.1%}" for k, v in cover.items())
                lines.append(f"  {days}-day totals at or below window quantiles: {shares}")
                summed = ", ".join(f"{k} {v:.1%}" for k, v in o.summed_daily_coverage[days].items())
                lines.append(f"  {days}-day totals at or below summed daily quantiles: {summed}")
            if o.beaten:
                lines.append(f"  the run did not beat: {', '.join(o.beaten)}")
        for days, cover in self.pooled_window_coverage().items():
            shares = ", ".join(f"{k} {v:.1%}" for k, v in cover.items())
            lines.append(f"all origins, {days}-day totals at or below: {shares}")
        verdict = "yes" if self.beats_every_model_on_every_origin else "no"
        lines.append(
            f"run beats every single model and their mean on every origin: {verdict} "
            f"({self.seconds:.1f} s)"
        )
        return "\n".join(lines)


def load_m5(path: Path = M5_FILE) -> History:
    rows = read_history_rows(path, name=path.name, columns=M5_COLUMNS, ignore=tuple(M5_ATTRIBUTES))
    history = history_from_rows(rows)
    frame = pd.read_csv(path, usecols=["item_id", "store_id", *M5_ATTRIBUTES])
    frame = frame.drop_duplicates(["item_id", "store_id"]).set_index(["item_id", "store_id"])
    for series in history.series:
        if series.key in frame.index:
            found = frame.loc[series.key]
            series.attributes = {name: str(found[col]) for col, name in M5_ATTRIBUTES.items()}
    return history


def split(history: History, horizon: int, back: int = 0) -> tuple[History, np.ndarray]:
    """The history up to ``back + horizon`` days before its end, and the ``horizon`` days after
    that (unseen by the run). Series that start later are left out."""
    cut = back + horizon
    train_until = history.as_of - timedelta(days=cut)
    train: list[SeriesHistory] = []
    actual = []
    for series in history.series:
        keep = len(series.values) - cut
        if keep < 1:
            continue
        actual.append(series.values[keep : keep + horizon])
        train.append(
            SeriesHistory(
                sku=series.sku,
                location=series.location,
                start=series.start,
                values=series.values[:keep],
                attributes=series.attributes,
            )
        )
    return History(series=train, as_of=train_until), np.array(actual)


def evaluate_origin(history: History, config: ForecastConfig, back: int) -> OriginResult:
    train, actual = split(history, config.horizon, back)
    # M5's scale: the one-day changes of the recorded history from the first sale.
    scales = [Scale.of(trim_to_first_sale(s)[1]) for s in train.series]
    total = float(actual.sum())

    def row(name: str, forecasts: np.ndarray) -> Row:
        accs = [accuracy(actual[i], forecasts[i], scales[i]) for i in range(len(scales))]
        return Row(
            name=name,
            accuracy=Accuracy(
                rmsse=float(np.mean([a.rmsse for a in accs])),
                mase=float(np.mean([a.mase for a in accs])),
                bias=float(np.mean([a.bias for a in accs])),
            ),
            total_bias_pct=100.0 * float((forecasts - actual).sum()) / total if total else 0.0,
        )

    singles = list(dict.fromkeys([*SINGLE_MODELS, *config.models]))
    per_model = model_forecasts(train, config, singles)
    run = run_forecast(train, replace(config, window_days=WINDOW_DAYS))
    chosen = {s.key: s for s in run.series}
    served = [chosen[s.key] for s in train.series]
    rows = [row(name, per_model[name]) for name in singles]
    rows.append(row(MEAN_ALL, np.mean([per_model[n] for n in singles], axis=0)))
    local = [n for n in singles if not MODELS[n].is_global]
    if len(local) < len(singles):
        rows.append(row(MEAN_LOCAL, np.mean([per_model[n] for n in local], axis=0)))
    rows.append(row(SELECTION, np.vstack([s.forecast for s in served])))
    coverage = {
        name: float(np.mean(actual <= np.vstack([s.quantiles[name] for s in served])))
        for name in config.quantile_names
    }
    window_coverage = {
        days: {
            name: float(
                np.mean(
                    actual[:, :days].sum(axis=1) <= np.array([s.window[days][name] for s in served])
                )
            )
            for name in config.quantile_names
        }
        for days in WINDOW_DAYS
    }
    summed_daily_coverage = {
        days: {
            name: float(
                np.mean(
                    actual[:, :days].sum(axis=1)
                    <= np.array([s.quantiles[name][:days].sum() for s in served])
                )
            )
            for name in config.quantile_names
        }
        for days in WINDOW_DAYS
    }
    weights: dict[str, float] = next(
        (b["weights"] for b in run.summary.blends if b["segment"] == "*"), {}
    )
    return OriginResult(
        origin=train.as_of,
        series=len(train.series),
        rows=rows,
        weights=weights,
        coverage=coverage,
        window_coverage=window_coverage,
        summed_daily_coverage=summed_daily_coverage,
    )


def evaluate(
    history: History,
    *,
    config: ForecastConfig | None = None,
    origins: int = 3,
    sample: int | None = None,
) -> Evaluation:
    config = config or ForecastConfig()
    started = time.perf_counter()
    if sample:
        step = max(1, len(history.series) // sample)
        history = History(series=history.series[::step][:sample], as_of=history.as_of)
    results = [evaluate_origin(history, config, back=k * config.horizon) for k in range(origins)]
    return Evaluation(
        horizon=config.horizon,
        origins=sorted(results, key=lambda o: o.origin),
        seconds=time.perf_counter() - started,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m forecasting.evaluate_m5", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", type=Path, default=M5_FILE, help="sales_train.csv.gz")
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--origins", type=int, default=3, help="evaluation origins (>= 1)")
    parser.add_argument("--sample", type=int, default=None, help="evaluate N series only")
    parser.add_argument("--models", default=None, help="comma-separated model names")
    parser.add_argument("--jobs", type=int, default=0, help="processes (0: one per core)")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"no M5 data at {args.data}", file=sys.stderr)
        return 2
    if args.origins < 1:
        parser.error("--origins must be at least 1")
    config = ForecastConfig(
        horizon=args.horizon,
        models=tuple(args.models.split(",")) if args.models else ForecastConfig().models,
        jobs=args.jobs,
    )
    result = evaluate(load_m5(args.data), config=config, origins=args.origins, sample=args.sample)
    print(result.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
