"""``manage.py demo``: load the pilot city, run a scripted day, verify the ledger, summarise."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.table import Table

from demo import steps as demo
from demo.valuation import valuation_rows


class Command(BaseCommand):
    help = "Load the demo pilot city, run a scripted batch of stock work, verify and summarise."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=None, help="seed of the scripted batch")
        parser.add_argument(
            "--busy-volume",
            type=int,
            default=10,
            help="the busy hour's orders as a multiple of the demo hour's (0: no busy hour)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo counts what these warnings say (holds taken by counter sales, orders that
        # could not be routed) in its tables; one line each would bury the tables.
        quiet = logging.getLogger("orders.services")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            self._run(options)
        finally:
            quiet.setLevel(level)

    def _run(self, options: dict[str, Any]) -> None:
        console = Console(file=self.stdout, highlight=False)  # type: ignore[arg-type]
        started = time.perf_counter()
        loaded = demo.load_pilot_city()
        for step in loaded.steps:
            console.print(f"• {step}")
        day = demo.run_stock_day(seed=options["seed"])
        for step in day.steps:
            console.print(f"• {step}")
        hour = demo.run_order_hour(seed=options["seed"])
        orders = Table(title="An hour of orders from every channel")
        orders.add_column("")
        orders.add_column("")
        for name, value in demo.order_hour_rows(hour):
            orders.add_row(name, value)
        console.print(orders)
        for step in demo.run_fulfillment(hour):
            console.print(f"• {step}")
        if options["busy_volume"]:
            volume = options["busy_volume"]
            busy = demo.run_busy_hour(seed=options["seed"], volume=volume)
            table = Table(title=f"The busy hour ({volume}× the orders), routed by the profiles")
            table.add_column("")
            table.add_column("")
            for name, value in demo.busy_hour_rows(busy):
                table.add_row(name, value)
            console.print(table)
        for step in demo.run_planning():
            console.print(f"• {step}" if not step.startswith(" ") else step)
        value = Table(title="Stock value and turnover today (moving-average cost)")
        for column in ("location", "stock value", "cost of goods", "turnover", "days of supply"):
            value.add_column(column, justify="left" if column == "location" else "right")
        for row in valuation_rows():
            value.add_row(*row)
        console.print(value)
        call_command("inventory_verify", stdout=self.stdout)

        table = Table(title="Omni demo — pilot city")
        table.add_column("")
        table.add_column("")
        for name, value in demo.summary():
            table.add_row(name, value)
        console.print(table)

        who = Table(title=f"Demo logins (password: {demo.DEMO_PASSWORD})")
        for column in ("user", "role", "works at"):
            who.add_column(column)
        for row in demo.logins():
            who.add_row(*row)
        console.print(who)
        console.print(
            "Staff pages: http://127.0.0.1:8000/staff/ (warehouse: pick lists, packing,"
            " receiving; store1…store8: pickups, stock lookup, reserve, receive, count)\n"
            "Admin: http://127.0.0.1:8000/admin/   API docs: http://127.0.0.1:8000/api/docs\n"
            f"Demo finished in {time.perf_counter() - started:.1f} s."
        )
