"""``manage.py forecast [--city X] [--horizon 28]``: a forecast run with a progress bar.

Without REDIS_URL the run happens in this process, chunk after chunk; with it, Celery workers
share its chunks and the bar follows the run's progress in the database (``--no-wait`` only
queues it)."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from forecasting import services
from forecasting.models import ForecastRun, RunStatus
from omni.errors import ApplicationError
from omni.selectors import city_by_code


class Command(BaseCommand):
    help = "Forecast every SKU at every store and DC of a city (or of all cities)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--city", help="a city code (default: every city)")
        parser.add_argument("--horizon", type=int, default=28, help="days ahead (default 28)")
        parser.add_argument("--models", help="comma-separated candidate models")
        parser.add_argument("--as-of", type=date.fromisoformat, help="last day of history")
        parser.add_argument("--no-wait", action="store_true", help="queue the run and return")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=self.stdout, highlight=False)  # type: ignore[arg-type]
        eager = bool(settings.CELERY_TASK_ALWAYS_EAGER)
        try:
            city = city_by_code(options["city"]) if options["city"] else None
            run = services.forecast_run_start(
                city=city,
                horizon=options["horizon"],
                models=options["models"].split(",") if options["models"] else None,
                as_of=options["as_of"],
                enqueue=not eager,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        console.print(f"forecast run {run.pk} ({run.scope}) queued")
        if options["no_wait"]:
            return
        run = _execute_here(run, console) if eager else _follow(run, console)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"forecast run {run.pk} {run.status}: {run.error or run.message}")
        _print_summary(run, console)


def _bar(console: Console) -> Progress:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
    )
    return Progress(*columns, TimeElapsedColumn(), console=console)


def _execute_here(run: ForecastRun, console: Console) -> ForecastRun:
    """No broker: the run happens in this process, the bar follows its reports."""
    with _bar(console) as bar:
        task = bar.add_task("reading demand history", total=100)

        def show(percent: float, message: str) -> None:
            bar.update(task, completed=percent, description=message[:60])

        done = services.forecast_run_execute(
            run_id=run.pk, worker="manage.py forecast", on_progress=show
        )
        bar.update(task, completed=done.progress, description=done.message[:60])
    return done


def _follow(run: ForecastRun, console: Console) -> ForecastRun:
    """Celery workers do the run: the bar follows the run's row."""
    with _bar(console) as bar:
        task = bar.add_task(run.message or "queued", total=100)
        while True:
            run.refresh_from_db()
            bar.update(task, completed=run.progress, description=run.message[:60])
            if not run.is_active:
                return run
            time.sleep(0.5)


def _print_summary(run: ForecastRun, console: Console) -> None:
    summary = run.summary
    table = Table(title=f"Run {run.pk}: backtest accuracy, {summary['backtested']:,} series")
    for column in ("model", "RMSSE", "MASE", "bias", "chosen for"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in summary["per_model"]:
        cells = [f"{row[k]:.3f}" if row[k] is not None else "" for k in ("rmsse", "mase", "bias")]
        table.add_row(row["model"], *cells, f"{row['wins']:,}")
    selection = summary["selection"]
    if selection["rmsse"] is not None:
        table.add_row(
            "[b]selection[/b]", *(f"{selection[k]:.3f}" for k in ("rmsse", "mase", "bias")), ""
        )
    console.print(table)
    improvement = summary.get("improvement_pct")
    console.print(
        f"{summary['series']:,} series to {run.as_of}; "
        + (f"selection {improvement:+.1f}% RMSSE vs seasonal naive; " if improvement else "")
        + f"{summary['short_history']:,} short, {summary['idle']:,} idle, "
        f"{summary['capped_days']:,} outlier day(s) capped"
    )
