"""Writes of forecasting: demand history imported from files (``manage.py demand_import``).

A file is ``sku,location,date,quantity`` (optionally ``price``, ``promo``), or any layout
through a mapping (docs/forecasting.md). All or nothing: any bad line, unknown SKU or unknown
location refuses the whole file, every problem named by its line.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction

from inventory.models import PHYSICAL_KINDS, Location, Product
from omni.models import User

from .engine import HistoryError, read_history_rows
from .errors import DemandFileInvalid
from .models import DemandImport, DemandRecord


@dataclass(frozen=True)
class DemandMapping:
    """How a foreign history file maps onto Omni: its column names, its item ids to SKUs and
    its store ids to location codes (see docs/forecasting.md)."""

    columns: dict[str, str] = field(default_factory=dict)  # Omni's name -> the file's
    ignore: tuple[str, ...] = ()
    sku_prefix: str = ""
    skus: dict[str, str] = field(default_factory=dict)  # the file's item -> SKU
    locations: dict[str, str] = field(default_factory=dict)  # the file's store -> code
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "columns": self.columns,
            "ignore": list(self.ignore),
            "sku_prefix": self.sku_prefix,
            "skus": len(self.skus),
            "locations": self.locations,
        }


def demand_mapping_load(path: str | Path) -> DemandMapping:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DemandFileInvalid.unreadable_mapping(path.name, exc) from exc
    errors: list[str] = []
    columns = data.get("columns", {})
    skus = data.get("skus", {})
    locations = data.get("locations", {})
    for section, value in (("columns", columns), ("skus", skus), ("locations", locations)):
        if not isinstance(value, dict):
            errors.append(f"{path.name}: [{section}] must be a table")
    unknown = set(data) - {"columns", "skus", "locations"}
    errors += [f"{path.name}: unknown section [{name}]" for name in sorted(unknown)]
    if errors:
        raise DemandFileInvalid(errors)
    ignore = columns.pop("ignore", [])
    bad_columns = set(columns) - {"sku", "location", "date", "quantity", "price", "promo"}
    if bad_columns:
        errors.append(f"{path.name}: [columns] has unknown key(s) {sorted(bad_columns)}")
    prefix = skus.pop("prefix", "")
    table = skus.pop("map", {})
    if skus:
        errors.append(f"{path.name}: [skus] takes 'prefix' and a [skus.map] table only")
    if errors:
        raise DemandFileInvalid(errors)
    return DemandMapping(
        columns={str(k): str(v) for k, v in columns.items()},
        ignore=tuple(str(c) for c in ignore),
        sku_prefix=str(prefix),
        skus={str(k): str(v) for k, v in table.items()},
        locations={str(k): str(v) for k, v in locations.items()},
        source=path.name,
    )


@dataclass(frozen=True)
class DemandImportReport:
    batch: DemandImport | None  # None for a dry run
    rows: int
    series: int
    first_day: date | None
    last_day: date | None
    created_products: int


def demand_import(
    *,
    path: str | Path,
    mapping: DemandMapping | None = None,
    create_products: bool = False,
    actor: User | None = None,
    dry_run: bool = False,
) -> DemandImportReport:
    """Import a demand history file (``sku,location,date,quantity``, or any layout through a
    ``mapping``). All or nothing: any bad line, unknown SKU or unknown location refuses the
    whole file with ``DemandFileInvalid`` naming every problem by line. A day imported again
    replaces the earlier value."""
    path = Path(path)
    mapping = mapping or DemandMapping()
    label = path.name
    try:
        rows = read_history_rows(path, name=label, columns=mapping.columns, ignore=mapping.ignore)
    except HistoryError as exc:
        raise DemandFileInvalid(exc.errors, file=label, error_count=exc.error_count) from exc

    import pandas as pd

    items = pd.Series(rows.sku)
    stores = pd.Series(rows.location)
    skus = items.map(lambda item: mapping.skus.get(item, mapping.sku_prefix + item))
    problems: list[tuple[int, str]] = []
    if mapping.locations:
        codes = stores.map(mapping.locations)
        for store, first in _first_lines(stores[codes.isna()], rows.line).items():
            problems.append(
                (first[0], f"store {store!r} has no location in the mapping ({first[1]} lines)")
            )
    else:
        codes = stores
    known_locations = {
        loc.code: loc for loc in Location.objects.filter(code__in=set(codes.dropna()))
    }
    for code, first in _first_lines(codes.dropna(), rows.line).items():
        location = known_locations.get(code)
        if location is None:
            problems.append((first[0], f"location {code!r} does not exist ({first[1]} lines)"))
        elif location.kind not in PHYSICAL_KINDS:
            problems.append((first[0], f"location {code!r} is {location.kind}, not a store or DC"))
    existing = dict(Product.objects.filter(sku__in=set(skus)).values_list("sku", "pk"))
    missing = {}
    for sku, first in _first_lines(skus, rows.line).items():
        if sku in existing:
            continue
        if len(sku) > 64:
            problems.append((first[0], f"SKU {sku!r} is longer than 64 characters"))
        elif create_products:
            missing[sku] = first
        else:
            problems.append(
                (
                    first[0],
                    f"SKU {sku!r} is not a product ({first[1]} lines; --create-products adds it)",
                )
            )
    if problems:
        problems.sort()
        errors = [f"{label}:{line}: {message}" for line, message in problems]
        raise DemandFileInvalid(errors, file=label)
    days = pd.to_datetime(rows.day)
    report = DemandImportReport(
        batch=None,
        rows=len(rows),
        series=int(pd.DataFrame({"s": skus, "l": codes}).drop_duplicates().shape[0]),
        first_day=days.min().date() if len(rows) else None,
        last_day=days.max().date() if len(rows) else None,
        created_products=len(missing),
    )
    if dry_run:
        return report
    with transaction.atomic():
        if missing:
            Product.objects.bulk_create(
                [Product(sku=sku, name=sku[:200], barcode=None) for sku in missing],
                batch_size=1000,
            )
            existing.update(Product.objects.filter(sku__in=list(missing)).values_list("sku", "pk"))
        batch = DemandImport.objects.create(
            file_name=label[:255],
            rows=report.rows,
            series=report.series,
            first_day=report.first_day,
            last_day=report.last_day,
            mapping=mapping.as_dict(),
            created_products=report.created_products,
            actor=actor,
        )
        product_ids = skus.map(existing).to_numpy()
        location_ids = codes.map({c: loc.pk for c, loc in known_locations.items()}).to_numpy()
        day_values = [d.date() for d in days]
        quantities = rows.quantity
        prices = rows.price if rows.price is not None else np.full(len(rows), np.nan)
        promos = rows.promo if rows.promo is not None else np.full(len(rows), np.nan)
        step = 5000
        for lo in range(0, len(rows), step):
            DemandRecord.objects.bulk_create(
                [
                    DemandRecord(
                        product_id=int(product_ids[i]),
                        location_id=int(location_ids[i]),
                        day=day_values[i],
                        quantity=float(quantities[i]),
                        price=None if np.isnan(prices[i]) else float(prices[i]),
                        promo=None if np.isnan(promos[i]) else bool(promos[i]),
                        source=batch,
                    )
                    for i in range(lo, min(lo + step, len(rows)))
                ],
                update_conflicts=True,
                unique_fields=["product", "location", "day"],
                update_fields=["quantity", "price", "promo", "source"],
            )
    return DemandImportReport(
        batch=batch,
        rows=report.rows,
        series=report.series,
        first_day=report.first_day,
        last_day=report.last_day,
        created_products=report.created_products,
    )


def _first_lines(values: Any, lines: np.ndarray) -> dict[str, tuple[int, int]]:
    """Each distinct value: (the first file line it is on, how many lines have it)."""
    out: dict[str, tuple[int, int]] = {}
    for index, value in values.items():
        line = int(lines[index])
        first = out.get(value)
        out[value] = (line, 1) if first is None else (first[0], first[1] + 1)
    return out
