"""``manage.py route_waiting [--city X]``: route the waiting queue again now and say what
became of it (what the Celery task does when stock comes free, and the beat sweep)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from omni.errors import UnknownCity
from omni.selectors import city_by_code
from orders.selectors import waiting_summary
from orders.services import orders_route_waiting


class Command(BaseCommand):
    help = "Route the orders waiting for stock again, first served first."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--city", help="only this city's queue (its code)")

    def handle(self, *args: Any, **options: Any) -> None:
        city = None
        if options["city"]:
            try:
                city = city_by_code(options["city"])
            except UnknownCity as exc:
                raise CommandError(exc.message) from exc
        report = orders_route_waiting(city=city)
        left = waiting_summary(city=city, limit=0)
        self.stdout.write(
            f"tried {report.tried}: filled {report.filled}, partly {report.partly}, "
            f"still waiting {report.still_waiting}, failed {report.failed}; "
            f"queue now {left.count} orders, {left.units} units, value {left.value}"
        )
