"""What the moving-average cost row costs the sales of one SKU across stores, on PostgreSQL.

Every move out of the company's stock updates its SKU's cost row (``ProductCost``: units, value
and average, company-wide), so two stores selling the same SKU at the same moment wait for each
other on that row even though their stock levels are different rows. This bench measures how
much that costs. Not a test: it prints figures and the ratio of the two shapes, measured in the
same run on the same database.

Each sale is one transaction, as at the counter: ``stock_reserve`` then ``reservation_consume``
(the ledger row, the stock level and the cost row). ``THREADS`` client threads, one connection
and one store each, released together:

* one SKU - every store sells the same SKU (its own stock level; one shared cost row);
* spread  - every store sells its own SKU (nothing shared).

The two shapes alternate over ``ROUNDS`` rounds so background load falls on both alike.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench python bench/cost_lock.py

The database is created (and migrated) if it does not exist; the bench's stores and SKUs are
made on first use and topped up with stock (at a unit cost) before each run.
"""

from __future__ import annotations

import argparse
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")

from bench.postgres import ensure_database, setup_django  # noqa: E402
from bench.reserve import THREADS, run_threads  # noqa: E402

if TYPE_CHECKING:
    from inventory.models import Location, Product

ROUNDS = 4
WARMUP = 40  # sales per thread before timing


def prepare(per_store: int) -> tuple[list[Location], Product, list[Product]]:
    """The bench's stores, its shared SKU and one SKU per store, each store holding at least
    ``per_store`` units of both."""
    from inventory import services
    from inventory.models import Location, LocationKind, Product, StockLevel
    from omni.models import City

    city, _ = City.objects.get_or_create(
        code="bench-cost", defaults={"name": "Bench cost", "latitude": 0, "longitude": 0}
    )
    stores = [
        Location.objects.get_or_create(
            code=f"BENCH-S{n:02d}",
            defaults={"name": f"Bench store {n}", "kind": LocationKind.STORE, "city": city},
        )[0]
        for n in range(THREADS)
    ]
    skus = ["BENCH-COST-SHARED"] + [f"BENCH-COST-{n:02d}" for n in range(THREADS)]
    existing = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [Product(sku=s, name=f"Bench {s}", price=Decimal("10")) for s in skus if s not in existing]
    )
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    shared, own = products[skus[0]], [products[s] for s in skus[1:]]
    for store, mine in zip(stores, own, strict=True):
        on_hand = dict(
            StockLevel.objects.filter(location=store).values_list("product_id", "on_hand")
        )
        top_up = [(p, per_store - on_hand.get(p.pk, 0)) for p in (shared, mine)]
        top_up = [(p, n) for p, n in top_up if n > 0]
        if top_up:
            services.stock_receive(
                location=store,
                lines=top_up,
                supplier="bench",
                unit_costs={p.pk: Decimal("4") for p, _ in top_up},
            )
    return stores, shared, own


def sell(store: Location, product: Product, sales: int, tag: str) -> int:
    """``sales`` counter sales of 1 unit, each its own transaction."""
    from django.db import transaction

    from inventory import services
    from inventory.models import MoveReason

    for _ in range(sales):
        with transaction.atomic():
            hold = services.stock_reserve(
                product=product, location=store, quantity=1, owner_type="bench", owner_id=tag
            )
            services.reservation_consume(
                reservation=hold, reason=MoveReason.SALE, revenue=Decimal("10")
            )
    return sales


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sales", type=int, default=4000, help="sales per shape (default 4000)")
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    from inventory.invariants import assert_invariants

    per_thread = args.sales // THREADS // ROUNDS
    stores, shared, own = prepare(2 * (WARMUP + per_thread * ROUNDS))
    shapes = {
        "one SKU": lambda i: sell(stores[i], shared, per_thread, f"one-{i}"),
        "spread": lambda i: sell(stores[i], own[i], per_thread, f"spread-{i}"),
    }
    run_threads(lambda i: sell(stores[i], shared, WARMUP, "warm"))
    run_threads(lambda i: sell(stores[i], own[i], WARMUP, "warm"))
    totals = {name: [0, 0.0] for name in shapes}
    for _ in range(ROUNDS):
        for name, work in shapes.items():
            n, seconds = run_threads(work)
            totals[name][0] += n
            totals[name][1] += seconds
    rates = {name: n / seconds for name, (n, seconds) in totals.items()}
    sales = per_thread * ROUNDS * THREADS
    print(f"{THREADS} stores selling at once, one connection each, {sales:,} sales per shape")
    print(f"  one SKU in every store (shared cost row)  {rates['one SKU']:8,.0f} sales/s")
    print(f"  a SKU of its own per store (spread)       {rates['spread']:8,.0f} sales/s")
    print(f"  ratio one SKU / spread                    {rates['one SKU'] / rates['spread']:8.3f}")
    assert_invariants()
    print("  ledger invariants hold after the run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
