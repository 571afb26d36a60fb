"""Out-of-sample accuracy on real store demand: the M5 (Walmart) subset in
``../shared/data/m5_subset/``.

The last ``horizon`` days (default 28, 2016-03-28 to 2016-04-24) are held out. A forecast run
sees only the days before, chooses a model per series by its own rolling-origin backtest, and
forecasts the held-out days; every candidate model forecasts them too. The table compares all of
them with weekly seasonal naive on the held-out days, and the run's choice ("selection", with
the default switch margin) with the two extremes it sits between: every series' own backtest
winner ("own winner", margin 0) and its demand class's best model ("class best")::

    python -m forecasting.evaluate_m5                 # all 204 series
    python -m forecasting.evaluate_m5 --sample 24     # every 8th series, quickly

Pure: no Django, no database.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from .engine import (
    BASELINE_MODEL,
    Accuracy,
    ForecastConfig,
    History,
    Scale,
    accuracy,
    history_from_rows,
    read_history_rows,
    run_forecast,
)
from .engine.hygiene import trim_to_first_sale
from .engine.run import ForecastResult, model_forecasts

M5_FILE = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "m5_subset"
) / "sales_train.csv.gz"
M5_COLUMNS = {"sku": "item_id", "location": "store_id", "quantity": "sales"}
M5_IGNORED = ("dept_id", "cat_id", "state_id")
SELECTION = "selection"
PER_SERIES = "own winner"
PER_CLASS = "class best"


@dataclass
class Row:
    name: str
    accuracy: Accuracy
    total_bias_pct: float  # Σ(forecast − actual) / Σ actual
    wins: int | None = None


@dataclass
class Evaluation:
    series: int
    horizon: int
    train_until: str
    rows: list[Row]
    coverage: dict[str, float] = field(default_factory=dict)  # quantile -> share of days below
    seconds: float = 0.0

    def row(self, name: str) -> Row:
        return next(r for r in self.rows if r.name == name)

    @property
    def improvement(self) -> float:
        """Mean RMSSE of the selection below seasonal naive's, in percent."""
        base = self.row(BASELINE_MODEL).accuracy.rmsse
        return 100.0 * (1.0 - self.row(SELECTION).accuracy.rmsse / base)

    def table(self) -> str:
        base = self.row(BASELINE_MODEL).accuracy.rmsse
        lines = [
            f"M5 subset: {self.series} series, trained until {self.train_until}, "
            f"{self.horizon} held-out days",
            f"{'model':<16} {'RMSSE':>7} {'MASE':>7} {'bias':>7} {'bias %':>7} "
            f"{'vs SN':>7} {'wins':>5}",
        ]
        for row in self.rows:
            if row.name == PER_SERIES:
                lines.append("-" * len(lines[1]))
            acc = row.accuracy
            lines.append(
                f"{row.name:<16} {acc.rmsse:>7.4f} {acc.mase:>7.4f} {acc.bias:>+7.3f} "
                f"{row.total_bias_pct:>+6.1f}% {100 * (1 - acc.rmsse / base):>+6.1f}% "
                f"{'' if row.wins is None else row.wins:>5}"
            )
        if self.coverage:
            cover = ", ".join(f"{name} {share:.1%}" for name, share in self.coverage.items())
            lines.append(f"held-out days at or below each quantile: {cover}")
        lines.append(
            f"selection vs seasonal naive: {self.improvement:+.1f}% mean RMSSE "
            f"({self.seconds:.1f} s)"
        )
        return "\n".join(lines)


def load_m5(path: Path = M5_FILE) -> History:
    rows = read_history_rows(path, name=path.name, columns=M5_COLUMNS, ignore=M5_IGNORED)
    return history_from_rows(rows)


def split(history: History, horizon: int) -> tuple[History, np.ndarray]:
    """The history up to ``horizon`` days before its end, and the held-out days."""
    train_until = history.as_of - timedelta(days=horizon)
    train = []
    actual = np.zeros((len(history.series), horizon))
    for i, series in enumerate(history.series):
        keep = len(series.values) - horizon
        actual[i] = series.values[keep:]
        train.append(
            type(series)(
                sku=series.sku,
                location=series.location,
                start=series.start,
                values=series.values[:keep],
            )
        )
    return History(series=train, as_of=train_until), actual


def evaluate(
    history: History,
    *,
    config: ForecastConfig | None = None,
    sample: int | None = None,
) -> Evaluation:
    config = config or ForecastConfig()
    started = time.perf_counter()
    if sample:
        step = max(1, len(history.series) // sample)
        history = History(series=history.series[::step][:sample], as_of=history.as_of)
    train, actual = split(history, config.horizon)
    # M5's scale: the one-day changes of the recorded history from the first sale.
    scales = [Scale.of(trim_to_first_sale(s)[1]) for s in train.series]

    def row(name: str, forecasts: np.ndarray, wins: int | None = None) -> Row:
        accs = [accuracy(actual[i], forecasts[i], scales[i]) for i in range(len(scales))]
        total = float(actual.sum())
        return Row(
            name=name,
            accuracy=Accuracy(
                rmsse=float(np.mean([a.rmsse for a in accs])),
                mase=float(np.mean([a.mase for a in accs])),
                bias=float(np.mean([a.bias for a in accs])),
            ),
            total_bias_pct=100.0 * float((forecasts - actual).sum()) / total if total else 0.0,
            wins=wins,
        )

    def served(run: ForecastResult) -> np.ndarray:
        chosen = {s.key: s for s in run.series}
        return np.vstack([chosen[s.key].forecast for s in train.series])

    # Each model alone, fitted on the training days, for every series.
    per_model = model_forecasts(train, config)
    run = run_forecast(train, config)
    wins = {m.model: m.wins for m in run.summary.per_model}
    rows = [row(name, per_model[name], wins.get(name)) for name in config.models]
    rows.sort(key=lambda r: r.accuracy.rmsse)
    # Complete forecast runs with the two extremes of the choice: every series' own backtest
    # winner (margin 0) and its demand class's best model (margin 1).
    for label, margin in ((PER_SERIES, 0.0), (PER_CLASS, 1.0)):
        rows.append(row(label, served(run_forecast(train, replace(config, switch_margin=margin)))))
    rows.append(row(SELECTION, served(run)))
    chosen = {s.key: s for s in run.series}
    coverage = {
        name: float(
            np.mean(actual <= np.vstack([chosen[s.key].quantiles[name] for s in train.series]))
        )
        for name in config.quantile_names
    }
    return Evaluation(
        series=len(train.series),
        horizon=config.horizon,
        train_until=train.as_of.isoformat(),
        rows=rows,
        coverage=coverage,
        seconds=time.perf_counter() - started,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m forecasting.evaluate_m5", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--data", type=Path, default=M5_FILE, help="sales_train.csv.gz")
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--sample", type=int, default=None, help="evaluate N series only")
    parser.add_argument("--models", default=None, help="comma-separated model names")
    parser.add_argument("--jobs", type=int, default=0, help="processes (0: one per core)")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"no M5 data at {args.data}", file=sys.stderr)
        return 2
    config = ForecastConfig(
        horizon=args.horizon,
        models=tuple(args.models.split(",")) if args.models else ForecastConfig().models,
        jobs=args.jobs,
    )
    result = evaluate(load_m5(args.data), config=config, sample=args.sample)
    print(result.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
