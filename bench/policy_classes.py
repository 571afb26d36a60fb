"""Classifying a DC's SKUs (ABC/XYZ) and writing their suggested reorder policies, on PostgreSQL,
at a city's size: does ``reorder_policies_classify`` stay a bulk job?

Lays out (once per database) a city with a DC and two stores, ``--skus`` SKUs (2,000) sold at
the stores for 120 days (imported history: steady, variable, intermittent and dead SKUs) and
bought from one supplier, then times:

* the history read alone (``proposals.build.buying_history`` for the DC's keys): the baseline,
  the part the proposal run pays anyway;
* the first classification (every policy created), a second one (every policy updated), and a
  third after planners overrode 10 % of the SKUs (those kept);
* the queries each took.

Not a test: it prints figures and each time's ratio to the history read.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench_policies \\
        python bench/policy_classes.py
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench_policies")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")

from bench.postgres import ensure_database, setup_django  # noqa: E402

CITY = "bench-cls"
T = TypeVar("T")


def prepare(skus: int) -> None:
    """The city, its SKUs, supplier items and history; kept between runs."""
    from forecasting.models import DemandImport, DemandRecord
    from forecasting.selectors import local_today
    from inventory.models import Location, LocationKind, Product
    from omni.models import City
    from purchasing.models import Supplier, SupplierItem

    city, _ = City.objects.get_or_create(
        code=CITY, defaults={"name": "Bench City", "latitude": 30.0, "longitude": 120.0}
    )
    Location.objects.get_or_create(
        code="BC-DC", defaults={"name": "Bench DC", "kind": LocationKind.WAREHOUSE, "city": city}
    )
    stores = [
        Location.objects.get_or_create(
            code=f"BC-S{n}",
            defaults={"name": f"Bench store {n}", "kind": LocationKind.STORE, "city": city},
        )[0]
        for n in (1, 2)
    ]
    if Product.objects.filter(sku__startswith="BC-").count() >= skus:
        return
    r = random.Random(11)
    supplier, _ = Supplier.objects.get_or_create(code="BC-SUP", defaults={"name": "Bench supply"})
    products = Product.objects.bulk_create(
        Product(sku=f"BC-{n:05d}", name=f"Bench item {n}") for n in range(skus)
    )
    SupplierItem.objects.bulk_create(
        SupplierItem(
            supplier=supplier,
            product=p,
            cost=Decimal(r.choice(["1.20", "3.50", "8.00", "25.00", "90.00"])),
            lead_time_days=r.choice([3, 7, 14]),
        )
        for p in products
    )
    source = DemandImport.objects.create(file_name="bench.csv", rows=0)
    today = local_today(city)
    rows = []
    for n, product in enumerate(products):
        shape = n % 10
        for store in stores:
            for d in range(120, 0, -1):
                if shape == 9:  # dead
                    continue
                if shape >= 7:  # intermittent
                    q = r.choice([0] * 12 + [1, 2, 5])
                elif shape >= 4:  # variable
                    q = max(0, int(r.gauss(3, 3)))
                else:  # steady
                    q = max(0, int(r.gauss(6, 1)))
                if q:
                    rows.append(
                        DemandRecord(
                            product=product,
                            location=store,
                            day=today - timedelta(days=d),
                            quantity=float(q),
                            source=source,
                        )
                    )
    DemandRecord.objects.bulk_create(rows, batch_size=10_000)
    print(f"laid out {skus} SKUs, {len(rows)} demand records")


def timed(label: str, fn: Callable[[], T], baseline: float | None = None) -> tuple[T, float]:
    from django.db import connection, reset_queries

    reset_queries()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    queries = len(connection.queries)
    ratio = f"{seconds / baseline:5.1f}× the history read" if baseline else "baseline"
    print(f"{label:<44} {seconds:7.2f} s  {queries:5d} queries  {ratio}")
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skus", type=int, default=2000)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.conf import settings

    settings.DEBUG = True  # count the queries
    from inventory.models import Location, Product
    from omni.models import City
    from purchasing.models import ReorderPolicy
    from purchasing.proposals import build
    from purchasing.services import reorder_policies_classify

    prepare(args.skus)
    city = City.objects.get(code=CITY)
    dc = Location.objects.get(code="BC-DC")
    ReorderPolicy.objects.filter(location=dc).delete()
    products = Product.objects.filter(sku__startswith="BC-").values_list("pk", flat=True)
    keys = [(pk, dc.pk) for pk in products]
    _, base = timed(
        f"history read ({len(keys)} SKUs at the DC)", lambda: build.buying_history(city, [dc], keys)
    )
    first, _ = timed(
        "classify: every policy created", lambda: reorder_policies_classify(location=dc), base
    )
    timed(
        "classify again: every policy updated", lambda: reorder_policies_classify(location=dc), base
    )
    ReorderPolicy.objects.filter(location=dc, product_id__in=[k[0] for k in keys[::10]]).update(
        overridden=True
    )
    third, _ = timed(
        "classify with 10 % set by planners (kept)",
        lambda: reorder_policies_classify(location=dc),
        base,
    )
    print(
        "SKUs per class:",
        " ".join(f"{cell} {n}" for cell, n in first.counts.items()),
        f"| created {first.created}; last run updated {third.updated}, kept {third.kept}",
    )


if __name__ == "__main__":
    main()
