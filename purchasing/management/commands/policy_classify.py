"""``manage.py policy_classify --city X`` (or ``--location CODE``): classify the SKUs a city's
DCs and buying stores buy (ABC by value, XYZ by variability), write each class's suggested
reorder policy, keep the ones planners set, and print the SKUs per class."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inventory.selectors import location_by_code
from omni.errors import ApplicationError
from omni.selectors import city_by_code
from purchasing.services import reorder_policies_classify


class Command(BaseCommand):
    help = "Classify SKUs (ABC/XYZ) and write the suggested reorder policy per class."

    def add_arguments(self, parser: CommandParser) -> None:
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--city", help="city code: its DCs and the stores that buy")
        where.add_argument("--location", help="one DC or store, by code")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            if options["city"]:
                result = reorder_policies_classify(city=city_by_code(options["city"]))
            else:
                result = reorder_policies_classify(location=location_by_code(options["location"]))
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        seconds = time.perf_counter() - started
        self.stdout.write(f"classified at {', '.join(result.locations)} in {seconds:.2f} s")
        for row in "ABC":
            cells = "  ".join(f"{row}{x} {result.counts[row + x]:>6}" for x in "XYZ")
            self.stdout.write(cells)
        self.stdout.write(
            f"suggested policy written: {result.created} new, {result.updated} updated;"
            f" kept (set by a planner): {result.kept}"
        )
