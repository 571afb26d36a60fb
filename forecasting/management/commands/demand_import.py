"""``manage.py demand_import FILE [--mapping M.toml] [--create-products] [--dry-run]``: import
daily demand history (format: docs/forecasting.md). All or nothing: every bad line is named."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from forecasting.demand_imports import DemandMapping, demand_import, demand_mapping_load
from forecasting.errors import DemandFileInvalid


class Command(BaseCommand):
    help = (
        "Import daily demand history from a CSV (sku,location,date,quantity; .gz too), or from "
        "any layout through a mapping file. A file with any bad line imports nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--mapping", help="TOML: columns, item → SKU, store → location")
        parser.add_argument(
            "--create-products", action="store_true", help="create SKUs the file names"
        )
        parser.add_argument("--dry-run", action="store_true", help="check the file, write nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            mapping = (
                demand_mapping_load(options["mapping"]) if options["mapping"] else DemandMapping()
            )
            report = demand_import(
                path=options["file"],
                mapping=mapping,
                create_products=options["create_products"],
                dry_run=options["dry_run"],
            )
        except DemandFileInvalid as exc:
            for error in exc.detail.get("errors", [exc.message]):
                self.stderr.write(error)
            count = exc.detail.get("error_count", 0)
            listed = len(exc.detail.get("errors", []))
            if count > listed:
                self.stderr.write(f"... and {count - listed} more problem(s)")
            raise CommandError(f"{options['file']}: nothing imported", returncode=1) from exc
        except FileNotFoundError as exc:
            raise CommandError(str(exc), returncode=1) from exc
        verb = "would import" if options["dry_run"] else "imported"
        span = f" from {report.first_day} to {report.last_day}" if report.first_day else ""
        created = f"; {report.created_products} new SKU(s)" if report.created_products else ""
        self.stdout.write(f"{verb} {report.rows:,} rows, {report.series:,} series{span}{created}")
