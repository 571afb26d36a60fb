"""The file interface of the reorder-policy core (a public contract, see
docs/purchasing-policy.md)::

    python -m purchasing.policy history.csv --lead-time-days 7 --review-days 7 \\
        --service-level 0.95 --out policy.csv

``history.csv``: ``sku,location,date,quantity`` (optionally ``price`` and ``promo``, as the
forecasting file interface reads them; ``price`` values the ABC class of ``--details``), daily;
missing days are zero. ``policy.csv``: ``sku,location,reorder_point,order_up_to,safety_stock,
method``, one row per series, sorted by SKU and location; ``--details`` adds
``demand_class,daily_mean,expected_fill,abc,xyz,suggested``.

The target is a **fill rate** (units served / units demanded) over all the file's series, met
by marginal allocation; ``--per-series`` holds every series to it instead. No Django, no
database.

Exit status: 0 done; 1 the history file is invalid (every bad line is named on stderr and
nothing is written); 2 bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import IO

import numpy as np

from forecasting.engine import HistoryError, history_from_rows, read_history_rows

from .classes import abc_classes, suggest, xyz_class
from .policies import Policy, PolicyConfig, SeriesInput, service_level_policies

POLICY_COLUMNS = ("sku", "location", "reorder_point", "order_up_to", "safety_stock", "method")
DETAIL_COLUMNS = ("demand_class", "daily_mean", "expected_fill", "abc", "xyz", "suggested")


def write_policies(
    policies: Sequence[Policy],
    out: IO[str],
    *,
    classes: dict[tuple[str, str], tuple[str, str]] | None = None,
) -> int:
    """Write ``policy.csv`` (with the detail columns when ``classes`` is given)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*POLICY_COLUMNS, *(DETAIL_COLUMNS if classes is not None else ())])
    for policy in sorted(policies, key=lambda p: (p.sku, p.location)):
        row: list[object] = [
            policy.sku,
            policy.location,
            policy.reorder_point,
            policy.order_up_to,
            f"{policy.safety_stock:.2f}",
            policy.method,
        ]
        if classes is not None:
            abc, xyz = classes[(policy.sku, policy.location)]
            hint = suggest(abc, xyz)
            row += [
                policy.demand_class,
                f"{policy.daily_mean:.4f}",
                "" if policy.expected_fill is None else f"{policy.expected_fill:.4f}",
                abc,
                xyz,
                f"{hint.method}:{hint.service_level}" if hint.service_level else hint.method,
            ]
        writer.writerow(row)
    return len(policies)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"a fill rate between 0 and 1 (e.g. 0.95), not {text}")
    return value


def _days(minimum: int) -> object:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m purchasing.policy",
        description="Reorder point and order-up-to level per SKU and location from a history.",
    )
    parser.add_argument("history", type=Path, help="sku,location,date,quantity (.csv or .csv.gz)")
    parser.add_argument("--lead-time-days", type=_days(0), required=True, help="L, days")
    parser.add_argument("--review-days", type=_days(1), required=True, help="R, days")
    parser.add_argument(
        "--service-level", type=_fraction, required=True, help="fill-rate target, e.g. 0.95"
    )
    parser.add_argument("--out", default="-", help="policy CSV to write (default: stdout)")
    parser.add_argument("--per-series", action="store_true", help="hold every series to the target")
    parser.add_argument(
        "--floor", type=float, default=0.0, help="pooled: no series below this fill (default 0)"
    )
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="last day of history"
    )
    parser.add_argument("--details", action="store_true", help="add the detail columns")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        config = PolicyConfig(
            lead_days=args.lead_time_days,
            review_days=args.review_days,
            service_level=args.service_level,
            pooled=not args.per_series,
            floor=args.floor,
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        rows = read_history_rows(args.history, name=args.history.name)
    except HistoryError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        if exc.more:
            print(f"... and {exc.more} more problem(s)", file=sys.stderr)
        print(f"{args.history}: nothing written", file=sys.stderr)
        return 1
    history = history_from_rows(rows, as_of=args.as_of)
    series = [SeriesInput(s.sku, s.location, s.values) for s in history.series]
    policies = _run(series, config, quiet=args.quiet)
    classes = _classes(history.series, rows) if args.details else None
    if args.out == "-":
        write_policies(policies, sys.stdout, classes=classes)
    else:
        _write_atomically(Path(args.out), policies, classes)
    if not args.quiet:
        _print_summary(policies, config)
    return 0


def _write_atomically(
    path: Path, policies: Sequence[Policy], classes: dict[tuple[str, str], tuple[str, str]] | None
) -> None:
    """All or nothing: a failed write leaves no half file behind."""
    handle, name = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            write_policies(policies, out, classes=classes)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _classes(series: Sequence[object], rows: object) -> dict[tuple[str, str], tuple[str, str]]:
    """ABC by value (quantity × the mean price the file gives, else quantity) over the last
    year, XYZ by the weekly CV; per SKU and location."""
    from forecasting.engine import HistoryRows, SeriesHistory

    assert isinstance(rows, HistoryRows)
    prices: dict[tuple[str, str], float] = {}
    if rows.price is not None:
        known = ~np.isnan(rows.price)
        for sku, location, price in zip(
            rows.sku[known], rows.location[known], rows.price[known], strict=True
        ):
            prices.setdefault((sku, location), float(price))
    values: dict[tuple[str, str], float] = {}
    xyz: dict[tuple[str, str], str] = {}
    for item in series:
        assert isinstance(item, SeriesHistory)
        recent = item.values[-364:]
        values[item.key] = float(recent.sum()) * prices.get(item.key, 1.0)
        xyz[item.key] = xyz_class(item.values)
    abc = abc_classes(values)
    return {key: (str(abc[key]), xyz[key]) for key in values}


def _run(series: list[SeriesInput], config: PolicyConfig, *, quiet: bool) -> list[Policy]:
    if quiet:
        return service_level_policies(series, config)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("demand distributions", total=len(series))

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done)

        return service_level_policies(series, config, progress=progress)


def _print_summary(policies: Sequence[Policy], config: PolicyConfig) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title=f"{len(policies):,} series, L={config.lead_days} R={config.review_days}")
    for column in ("method", "series", "Σ order-up-to", "Σ safety stock"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method in sorted({p.method for p in policies}):
        chosen = [p for p in policies if p.method == method]
        table.add_row(
            method,
            f"{len(chosen):,}",
            f"{sum(p.order_up_to for p in chosen):,}",
            f"{sum(p.safety_stock for p in chosen):,.0f}",
        )
    console.print(table)
    mode = "per series" if not config.pooled else "over all series (marginal allocation)"
    console.print(f"fill-rate target {config.service_level:.1%} {mode}")


if __name__ == "__main__":
    raise SystemExit(main())
