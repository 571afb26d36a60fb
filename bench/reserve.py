"""Reservations per second through ``services.stock_reserve`` against raw SQL, on PostgreSQL.

Not a test: it prints figures and the ratio service/raw, measured in the same run on the same
database. Two shapes of load, each with 8 client threads (one connection each):

* hot    - every reservation takes 1 unit of ONE SKU at one location (one contended row);
* spread - each takes 1 unit of a SKU picked at random from 1,000.

The raw baseline is what the service must do at least, written by hand with psycopg2: per
reservation one transaction of the conditional
``UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s
AND on_hand - reserved >= 1`` and the ``INSERT`` of the reservation row, then COMMIT.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench python bench/reserve.py

The database is created (and migrated) if it does not exist. Each run first clears the holds
the previous run left, so the stock model's invariants hold before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")

import psycopg2  # noqa: E402

from bench.postgres import ensure_database, setup_django  # noqa: E402

if TYPE_CHECKING:
    from inventory.models import Location, Product

Pick = Callable[[random.Random], "Product"]
Work = Callable[[int], int]

THREADS = 8
ROUNDS = 4
SPREAD_SKUS = 1000
WARMUP = 200
OWNER_TYPE = "bench"


def prepare(needed_per_sku: int) -> tuple[Location, Product, list[Product]]:
    """The bench location and products, with no holds and enough stock for one run."""
    from django.db import connection, transaction

    from inventory import services
    from inventory.models import Location, LocationKind, Product, Reservation, StockLevel
    from omni.models import City

    city, _ = City.objects.get_or_create(
        code="bench", defaults={"name": "Bench", "latitude": 0, "longitude": 0}
    )
    dc, _ = Location.objects.get_or_create(
        code="BENCH-DC",
        defaults={"name": "Bench DC", "kind": LocationKind.WAREHOUSE, "city": city},
    )
    skus = ["BENCH-HOT"] + [f"BENCH-{n:04d}" for n in range(SPREAD_SKUS)]
    existing = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [Product(sku=s, name=f"Bench {s}") for s in skus if s not in existing]
    )
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
    hot, spread = products["BENCH-HOT"], [products[s] for s in skus[1:]]

    # Holds are not the ledger: the previous run's can go, with the reserved they account for.
    with transaction.atomic():
        Reservation.objects.filter(location=dc, owner_type=OWNER_TYPE).delete()
        StockLevel.objects.filter(location=dc).update(reserved=0)
    with connection.cursor() as cursor:  # start each run from tables without dead rows
        cursor.execute("VACUUM ANALYZE inventory_stocklevel, inventory_reservation")
    on_hand = dict(StockLevel.objects.filter(location=dc).values_list("product_id", "on_hand"))
    top_up = [
        (p, needed_per_sku - on_hand.get(p.pk, 0))
        for p in [hot, *spread]
        if on_hand.get(p.pk, 0) < needed_per_sku
    ]
    if top_up:
        services.stock_receive(location=dc, lines=top_up, supplier="bench")
    return dc, hot, spread


def run_threads(work: Work) -> tuple[int, float]:
    """Run ``work(thread)`` in THREADS threads released together; (reservations, seconds)."""
    from django.db import connection

    barrier = threading.Barrier(THREADS + 1)
    done: list[int] = [0] * THREADS
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            done[i] = work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return sum(done), elapsed


def service_work(dc: Location, pick: Pick, per_thread: int) -> Work:
    from inventory import services

    def work(thread: int) -> int:
        rng = random.Random(thread)
        for n in range(per_thread):
            services.stock_reserve(
                product=pick(rng),
                location=dc,
                quantity=1,
                owner_type=OWNER_TYPE,
                owner_id=f"svc-{thread}-{n}",
            )
        return per_thread

    return work


RAW_RESERVE = (
    "UPDATE inventory_stocklevel SET reserved = reserved + 1 "
    "WHERE id = %s AND on_hand - reserved >= 1"
)
RAW_INSERT = (
    "INSERT INTO inventory_reservation (product_id, location_id, quantity, status, owner_type,"
    " owner_id, expires_at, created_at, closed_at, close_reason, actor_id)"
    " VALUES (%s, %s, 1, 'active', %s, %s, NULL, now(), NULL, '', NULL) RETURNING id"
)


def raw_work(conninfo: dict[str, Any], dc_id: int, pick: Pick, per_thread: int) -> Work:
    """The same reservations by hand: one transaction of UPDATE + INSERT each."""
    from inventory.models import StockLevel

    level_ids = dict(StockLevel.objects.filter(location_id=dc_id).values_list("product_id", "id"))

    def work(thread: int) -> int:
        rng = random.Random(thread)
        conn = psycopg2.connect(**conninfo)
        try:
            with conn.cursor() as cur:
                for n in range(per_thread):
                    product_id = pick(rng).pk
                    cur.execute(RAW_RESERVE, (level_ids[product_id],))
                    if cur.rowcount != 1:
                        conn.rollback()
                        raise RuntimeError("raw baseline ran out of stock")
                    cur.execute(RAW_INSERT, (product_id, dc_id, OWNER_TYPE, f"raw-{thread}-{n}"))
                    cur.fetchone()
                    conn.commit()
        finally:
            conn.close()
        return per_thread

    return work


def measure(label: str, conninfo: dict[str, Any], dc: Location, pick: Pick, total: int) -> float:
    """Both ways, interleaved in ROUNDS rounds so a change in background load (autovacuum,
    checkpoints, other work on the machine) falls on both alike; rates over the totals."""
    per_thread = total // THREADS // ROUNDS
    dc_id = dc.pk
    # Warm both paths (connections, caches, query compilation) before timing either.
    run_threads(raw_work(conninfo, dc_id, pick, WARMUP // THREADS))
    run_threads(service_work(dc, pick, WARMUP // THREADS))
    raw_n = svc_n = 0
    raw_s = svc_s = 0.0
    for _ in range(ROUNDS):
        n, secs = run_threads(raw_work(conninfo, dc_id, pick, per_thread))
        raw_n, raw_s = raw_n + n, raw_s + secs
        n, secs = run_threads(service_work(dc, pick, per_thread))
        svc_n, svc_s = svc_n + n, svc_s + secs
    raw_rate, svc_rate = raw_n / raw_s, svc_n / svc_s
    print(f"{label}: {THREADS} threads, {svc_n:,} reservations each way")
    print(f"  raw SQL (UPDATE + INSERT)    {raw_rate:8,.0f} reservations/s  ({raw_s:.2f} s)")
    print(f"  services.stock_reserve       {svc_rate:8,.0f} reservations/s  ({svc_s:.2f} s)")
    print(f"  ratio service/raw            {svc_rate / raw_rate:8.3f}")
    return svc_rate / raw_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reservations", type=int, default=4000, help="per run, each way")
    args = parser.parse_args()
    total = args.reservations - args.reservations % (THREADS * ROUNDS)

    conninfo = ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.db import connection

    from inventory.invariants import check_invariants

    # Each SKU must cover warm-up and both timed runs in the worst case (all on one SKU).
    dc, hot, spread = prepare(needed_per_sku=2 * (total + WARMUP))
    server = connection.cursor()
    server.execute("SHOW server_version")
    version = server.fetchone()[0]
    server.execute("SHOW synchronous_commit")
    sync = server.fetchone()[0]
    print(f"PostgreSQL {version} (synchronous_commit={sync}) at {connection.settings_dict['NAME']}")

    hot_ratio = measure("hot: one SKU", conninfo, dc, lambda rng: hot, total)
    spread_ratio = measure(
        f"spread: {SPREAD_SKUS:,} SKUs", conninfo, dc, lambda rng: rng.choice(spread), total
    )

    _, violations = check_invariants()
    print(f"invariants after the run: {'ok' if not violations else violations[:5]}")
    target = min(hot_ratio, spread_ratio) >= 0.5
    print(f"target service >= 50% of raw: {'met' if target else 'NOT met'}")


if __name__ == "__main__":
    main()
