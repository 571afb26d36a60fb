"""``manage.py inventory_verify``: check the stock invariants; non-zero exit on drift."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from inventory.invariants import INVARIANTS, check_invariants


class Command(BaseCommand):
    help = "Check every stock-ledger invariant; exit non-zero and name each bad row on drift."

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console(file=self.stdout, highlight=False)  # type: ignore[arg-type]
        checked, violations = check_invariants()
        broken: dict[str, int] = {}
        for violation in violations:
            broken[violation.invariant] = broken.get(violation.invariant, 0) + 1
        table = Table(title="Stock invariants")
        table.add_column("invariant")
        table.add_column("rows checked", justify="right")
        table.add_column("violations", justify="right")
        for name, description in INVARIANTS.items():
            bad = broken.get(name, 0)
            table.add_row(
                description, str(checked.get(name, 0)), f"[red]{bad}[/red]" if bad else "0"
            )
        console.print(table)
        if violations:
            for violation in violations:
                console.print(f"[red]DRIFT[/red] {violation}")
            raise CommandError(f"{len(violations)} invariant violation(s)")
        console.print("[green]OK[/green]: the ledger, stock levels, reservations and costs agree.")
