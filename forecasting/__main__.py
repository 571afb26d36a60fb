"""The file interface of the forecasting core (a public contract, see docs/forecasting.md)::

    python -m forecasting history.csv --horizon 28 --out forecast.csv

``history.csv``: ``sku,location,date,quantity`` (and optionally ``price``, ``promo``), daily;
missing days are zero from a series' first row. ``forecast.csv``:
``sku,location,date,forecast,model`` and one column per quantile (``q50,q80,q90,q95`` by
default). With ``--window-days N`` every row also carries its series'
total over the first N days and that total's quantiles: ``window_days,window_total,
window_q50,…,window_q95`` (the same on each day of a series). The blend is the one a forecast
run chooses. No Django, no database: runs anywhere the package is installed.

Exit status: 0 done; 1 the history file is invalid (every bad line is named on stderr and
nothing is written); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO

from .engine import (
    MODELS,
    ForecastConfig,
    ForecastResult,
    HistoryError,
    UnknownModel,
    read_history,
    run_forecast,
)

FORECAST_COLUMNS = ("sku", "location", "date", "forecast", "model")


def write_forecast(result: ForecastResult, out: IO[str], *, config: ForecastConfig) -> int:
    """``sku,location,date,forecast,model,q50,…``, sorted by SKU, location and date."""
    writer = csv.writer(out, lineterminator="\n")
    names = config.quantile_names
    window = config.window_days[0] if config.window_days else None
    extra = ["window_days", "window_total", *(f"window_{name}" for name in names)]
    writer.writerow([*FORECAST_COLUMNS, *names, *(extra if window else [])])
    rows = 0
    for item in sorted(result.series, key=lambda s: s.key):
        quantiles = [item.quantiles[name] for name in names]
        cells: list[str] = []
        if window:
            totals = item.window[window]
            cells = [str(window), *(f"{totals[k]:.4f}" for k in ("total", *names))]
        for i, day in enumerate(item.days()):
            writer.writerow(
                [
                    item.sku,
                    item.location,
                    day.isoformat(),
                    f"{item.forecast[i]:.4f}",
                    item.model,
                    *(f"{q[i]:.4f}" for q in quantiles),
                    *cells,
                ]
            )
            rows += 1
    return rows


def write_accuracy(result: ForecastResult, out: IO[str]) -> None:
    """Per series: the model or blend (its weights, whose they are), how it was made, and its
    accuracy on the validation windows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["sku", "location", "model", "weights", "segment", "method", "demand_class", "rmsse",
         "mase", "bias", "seasonal_naive_rmsse", "history_days", "capped_days"]
    )  # fmt: skip
    for item in sorted(result.series, key=lambda s: s.key):
        acc, base = item.accuracy, item.baseline
        writer.writerow(
            [
                item.sku,
                item.location,
                item.model,
                " ".join(f"{name}:{w:.2f}" for name, w in item.weights.items()),
                item.segment,
                item.method,
                item.demand_class,
                *(f"{v:.4f}" if v is not None else "" for v in _accuracy_cells(acc)),
                f"{base.rmsse:.4f}" if base else "",
                item.history_days,
                len(item.capped),
            ]
        )


def _accuracy_cells(acc: object) -> tuple[float | None, float | None, float | None]:
    if acc is None:
        return (None, None, None)
    return (acc.rmsse, acc.mase, acc.bias)  # type: ignore[attr-defined]


def _parse_quantiles(text: str) -> tuple[float, ...]:
    try:
        return tuple(sorted({float(part) for part in text.split(",") if part.strip()}))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from exc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m forecasting",
        description="Forecast daily demand per SKU and location from a history CSV.",
        epilog="models: "
        + ", ".join(f"{n}{' (heavy)' if s.heavy else ''}" for n, s in MODELS.items()),
    )
    parser.add_argument("history", type=Path, help="sku,location,date,quantity (.csv or .csv.gz)")
    parser.add_argument("--horizon", type=int, default=28, help="days to forecast (default 28)")
    parser.add_argument("--out", default="-", help="forecast CSV to write (default: stdout)")
    parser.add_argument("--models", default=None, help="comma-separated candidates")
    parser.add_argument(
        "--quantiles",
        type=_parse_quantiles,
        default=None,
        help="e.g. 0.5,0.9 (default 0.5,0.8,0.9,0.95)",
    )
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="last day of history"
    )
    parser.add_argument(
        "--idle-days", type=int, default=180, help="zero after this many days without a sale"
    )
    parser.add_argument(
        "--window-days",
        type=int,
        default=None,
        help="add each series' total over its first N days and that total's quantiles",
    )
    parser.add_argument("--windows", type=int, default=3, help="validation origins (default 3)")
    parser.add_argument("--jobs", type=int, default=0, help="processes (default: one per core)")
    parser.add_argument(
        "--accuracy", type=Path, default=None, help="also write per-series accuracy CSV"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = ForecastConfig(
            horizon=args.horizon,
            models=tuple(args.models.split(",")) if args.models else ForecastConfig().models,
            quantiles=args.quantiles or ForecastConfig().quantiles,
            idle_days=args.idle_days,
            windows=args.windows,
            window_days=(args.window_days,) if args.window_days is not None else (),
            jobs=args.jobs,
        )
    except (ValueError, UnknownModel) as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        history = read_history(args.history, name=args.history.name, as_of=args.as_of)
    except HistoryError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        if exc.more:
            print(f"... and {exc.more} more problem(s)", file=sys.stderr)
        print(f"{args.history}: nothing forecast", file=sys.stderr)
        return 1

    result = _run(history, config, quiet=args.quiet)
    if args.out == "-":
        write_forecast(result, sys.stdout, config=config)
    else:
        with open(args.out, "w", newline="", encoding="utf-8") as out:
            write_forecast(result, out, config=config)
    if args.accuracy:
        with args.accuracy.open("w", newline="", encoding="utf-8") as out:
            write_accuracy(result, out)
    if not args.quiet:
        _print_summary(result)
    return 0


def _run(history: object, config: ForecastConfig, *, quiet: bool) -> ForecastResult:
    from .engine import History

    assert isinstance(history, History)
    if quiet:
        return run_forecast(history, config)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
    )
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("forecasting", total=1.0)

        def progress(share: float, message: str) -> None:
            bar.update(task, completed=share, description=message)

        return run_forecast(history, config, progress=progress)


def _print_summary(result: ForecastResult) -> None:
    from rich.console import Console
    from rich.table import Table

    summary = result.summary
    console = Console(stderr=True)
    origins = ", ".join(d.isoformat() for d in summary.origins)
    table = Table(title=f"Validation accuracy, {summary.backtested:,} series (origins {origins})")
    for column in ("model", "RMSSE", "MASE", "bias", "weight", "best for"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for model in summary.per_model:
        acc = model.accuracy
        table.add_row(
            model.model,
            *(f"{v:.3f}" for v in (acc.rmsse, acc.mase, acc.bias)) if acc else ("", "", ""),
            f"{model.weight:.2f}",
            f"{model.wins:,}",
        )
    if summary.selection:
        sel = summary.selection
        table.add_row(
            "[b]blend[/b]", f"{sel.rmsse:.3f}", f"{sel.mase:.3f}", f"{sel.bias:.3f}", "1.00", ""
        )
    if summary.backtested:
        console.print(table)
    notes = [f"{summary.series:,} series"]
    if summary.improvement is not None:
        notes.append(f"blend {summary.improvement:+.1f}% RMSSE vs seasonal naive")
    notes += [
        f"{summary.short_history:,} short (moving average)",
        f"{summary.idle:,} idle (zero)",
        f"{summary.capped_days:,} outlier day(s) capped",
        f"{summary.seconds:.1f} s",
    ]
    console.print("; ".join(notes))
    for blend in summary.blends:
        if blend["segment"] != "*" and not blend["own"]:
            continue
        weights = ", ".join(f"{name} {w:.2f}" for name, w in blend["weights"].items())
        who = "all series" if blend["segment"] == "*" else f"{blend['segment']} series"
        console.print(f"blend for {who} ({blend['series']:,}): {weights}")


if __name__ == "__main__":
    raise SystemExit(main())
