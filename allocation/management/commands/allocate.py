"""``manage.py allocate --city X``: solve an allocation run for a city with a progress bar,
print the plan's summary, and approve it with ``--approve``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from allocation import services
from allocation.models import AllocationRun
from omni.errors import ApplicationError, UnknownCity
from omni.selectors import city_by_code


class Command(BaseCommand):
    help = "Allocate the city's DC stock across its live stores (and optionally approve)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--city", required=True, help="city code, e.g. hangzhou")
        parser.add_argument("--time-limit", type=float, default=None, help="solver seconds")
        parser.add_argument("--gap", type=float, default=None, help="relative MIP gap")
        parser.add_argument("--solver", choices=["highs", "cbc"], default=None)
        parser.add_argument("--approve", action="store_true", help="approve the plan")

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=self.stdout, highlight=False)  # type: ignore[arg-type]
        try:
            city = city_by_code(options["city"])
        except UnknownCity as exc:
            raise CommandError(exc.message) from exc
        parameters = {
            key: options[name]
            for key, name in (("time_limit", "time_limit"), ("gap", "gap"), ("solver", "solver"))
            if options[name] is not None
        }
        try:
            run = services.allocation_run_create(city=city, parameters=parameters)
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        with Progress(
            TextColumn("[bold]allocation run {task.fields[run]}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("queued", total=100, run=run.pk)
            try:
                run = services.allocation_run_execute(
                    run=run,
                    progress=lambda percent, message: bar.update(
                        task, completed=percent, description=message
                    ),
                )
            except ApplicationError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from exc
        self._summary(console, run)
        if options["approve"]:
            try:
                transfers = services.allocation_run_approve(run=run)
            except ApplicationError as exc:
                raise CommandError(f"{exc.code}: {exc.message}") from exc
            console.print(f"approved: {len(transfers)} transfers reserved at the DC")

    def _summary(self, console: Console, run: AllocationRun) -> None:
        run.refresh_from_db()
        console.print(f"run {run.pk}: {run.status} ({run.method}, need from {run.need_source})")
        if run.message:
            console.print(f"  {run.message}")
        if run.objective is not None:
            gap = f"{run.gap:.2%}" if run.gap is not None else "n/a"
            console.print(f"  objective {run.objective:,.2f}, gap {gap}, terms {run.terms}")
        if run.total_fill_rate is not None:
            cost = run.transport_cost or 0
            console.print(f"  fill rate {run.total_fill_rate:.1%}, transfer cost {cost:,.2f}")
        for store, rate in sorted(run.fill_rate.items()):
            console.print(
                f"    {store}: {rate:.1%}" if isinstance(rate, float) else f"    {store}: {rate}"
            )
