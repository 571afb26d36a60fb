"""Orders per second placed over HTTP (``POST /api/v1/orders`` served by gunicorn) against the
same orders placed in-process through ``orders.services.order_place``, on PostgreSQL.

Not a test: it prints figures and the ratio HTTP/in-process, measured in the same run on the
same database. Both ways place the same orders: 3-line delivery orders of the ``web`` channel
(3 SKUs picked at random from 200, 1-3 units each, a unique ``external_id``, a delivery point
near the city centre), from 8 client threads released together, for a bounded run (``--seconds``
and/or ``--orders``), after a short warm-up of each way that is not timed.

* HTTP - gunicorn runs ``omni.wsgi:application`` as a subprocess (DEBUG off, the bench
  database), bound to a free port on 127.0.0.1; each client thread keeps its own
  ``http.client`` connection and authenticates with a fresh API token of the channel's user.
  Every order must answer 201; anything else is counted and shown apart.
* in-process - each thread has its own database connection and calls ``order_place`` with
  the channel's user as the actor; the baseline, what the HTTP path costs on top of.

gunicorn runs ``--workers 2 --threads 4`` (gthread) by default: on this 2-core machine it
placed more orders per second than 4 sync workers in each of five paired 10 s runs (22-31
against 15-19 orders/s, with a lower p50); ``--workers 4 --threads 1`` measures the other.
The client threads share the machine with gunicorn and PostgreSQL, so the HTTP figure
includes the cost of the clients too.

    .venv/bin/python bench/orders.py --seconds 20
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench_orders python bench/orders.py

The database is created (and migrated) if it does not exist, and the bench city is set up
idempotently: 1 DC and 4 stores live for ship, a ``web`` channel served by all five, 200 SKUs
and shelf protection 0. Only the DC holds stock (topped up to 1,000,000 available units of each
SKU at the start of each run), so each order compares all five nodes and is sourced from the
DC. Placed orders keep their holds; the ledger invariants are checked at the end, and the exit
status is non-zero if they fail or if any order failed.

Routing overhead (same run, in-process, after gunicorn has stopped): what a retailer's routing
profile costs per order against the default rules. Two more cities, ``bench-a`` and
``bench-b``, are laid out like the bench city (a DC and 4 stores at the same points, live for
ship) and stocked alike at the start of each run: the DC topped up to 1,000,000 available units
of each SKU, each store to 500, so orders compare five nodes that all have stock and neither
city starves. ``bench-a`` routes by the default rules (no profile). ``bench-b`` has an active
profile of the ``web`` channel for the city: ``stay_in_city``, ``keep_together``,
``nearest_first``, ``max_splits`` 1, ``distance_band`` 30 km, park when short; web keeps 2
units of every SKU back at each node (channel buffers); stores 1 and 2 take 40 and 60 more ship
orders today, warm-up included (``daily_capacity`` is set to today's use plus that), so they
fill up during the run and are skipped afterwards. One client thread places the same orders
(same mix as above, one seed for both ways) in both cities, alternating a and b, after an
untimed warm-up, so neither way sees a warmer cache or a bigger table. Each order's latency is
timed, and so is the pure ``orders.routing.route`` call inside it (all calls of the order
summed; a node found full a moment ago routes again), so the reader sees planning against
database. The overhead is shown as the difference of the two ways' percentiles and as the
percentiles of the difference within each pair (the same order placed a then b, or b then a),
the steadier figure on a machine whose load changes. ``--routing-orders 0`` skips the
section.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench_orders")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")

from bench.gunicorn import (  # noqa: E402
    free_port,
    log_tail,
    start_gunicorn,
    stop_gunicorn,
    wait_until_answering,
)
from bench.order_placing import (  # noqa: E402
    CHANNEL,
    CITY,
    LINES_PER_ORDER,
    ORDERS_PATH,
    SKUS,
    STORES,
    THREADS,
    WARMUP_ORDERS,
    HttpPlacer,
    Placer,
    Result,
    ServicePlacer,
    analyse_tables,
    prepare,
    report,
    run,
)
from bench.orders_routing import (  # noqa: E402
    ROUTING_ORDERS,
    measure_routing,
    prepare_routing,
    report_routing,
)
from bench.postgres import ensure_database, setup_django  # noqa: E402

if TYPE_CHECKING:
    from network.models import Channel


def measure(
    channel: Channel,
    skus: list[str],
    *,
    workers: int,
    threads: int,
    log: IO[bytes],
    bound: str,
    seconds: float,
    orders: int,
) -> tuple[Result, Result]:
    """Start gunicorn, warm both ways, then time HTTP and in-process; gunicorn is stopped and
    the run's API token revoked whatever happens."""
    from omni.services import api_token_create, api_token_revoke

    assert channel.user is not None
    token, raw = api_token_create(user=channel.user, name="bench/orders.py")
    tag = f"b{time.time_ns():x}"  # external ids never repeat across runs
    port = free_port()
    server = start_gunicorn(port, workers, threads, log)
    try:
        wait_until_answering(server, port, ORDERS_PATH)
        kind = (
            f"{workers} sync workers"
            if threads == 1
            else f"{workers} workers x {threads} threads (gthread)"
        )
        print(f"gunicorn {kind} at 127.0.0.1:{port}; each way {bound}")

        def http_placer() -> Placer:
            return HttpPlacer(port, raw)

        def service_placer() -> Placer:
            return ServicePlacer(channel.pk)

        # Warm both ways (worker imports, connections, query compilation) before timing either.
        warm_ups = (
            ("warm-up HTTP", "wh", http_placer),
            ("warm-up in-process", "ws", service_placer),
        )
        for name, suffix, placer in warm_ups:
            warm = run(name, placer, skus, tag=f"{tag}-{suffix}", seconds=60, orders=WARMUP_ORDERS)
            if warm.failures:
                report(warm)
        over_http = run(
            "HTTP POST /api/v1/orders",
            http_placer,
            skus,
            tag=f"{tag}-http",
            seconds=seconds,
            orders=orders,
        )
        in_process = run(
            "in-process order_place",
            service_placer,
            skus,
            tag=f"{tag}-svc",
            seconds=seconds,
            orders=orders,
        )
    finally:
        stop_gunicorn(server)
        api_token_revoke(token_id=token.pk)
    return over_http, in_process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timed run, each way")
    parser.add_argument(
        "--orders", type=int, default=0, help="stop each way after this many orders (0: no limit)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per gunicorn worker (1: sync workers)"
    )
    parser.add_argument(
        "--routing-orders",
        type=int,
        default=ROUTING_ORDERS,
        help="orders each way in the routing overhead section (0: skip it)",
    )
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.db import connection

    from inventory.invariants import check_invariants

    channel, skus = prepare()
    profile = prepare_routing(channel, skus) if args.routing_orders else None
    analyse_tables()
    cursor = connection.cursor()
    cursor.execute("SHOW server_version")
    version = cursor.fetchone()[0]
    cursor.execute("SHOW synchronous_commit")
    sync = cursor.fetchone()[0]
    print(f"PostgreSQL {version} (synchronous_commit={sync}) at {connection.settings_dict['NAME']}")
    print(
        f"city {CITY}: 1 DC + {STORES} stores live for ship, channel {CHANNEL}, {SKUS} SKUs;"
        f" {THREADS} client threads, {LINES_PER_ORDER}-line delivery orders"
    )
    bound = f"{args.seconds:g} s" + (f" or {args.orders:,} orders" if args.orders else "")

    with tempfile.TemporaryFile() as log:
        try:
            over_http, in_process = measure(
                channel,
                skus,
                workers=args.workers,
                threads=args.threads,
                log=log,
                bound=bound,
                seconds=args.seconds,
                orders=args.orders,
            )
        except BaseException:
            print("gunicorn log (tail):\n" + log_tail(log))
            raise
        report(over_http)
        report(in_process)
        ratio = over_http.rate / in_process.rate if in_process.rate else float("nan")
        print(f"  ratio HTTP/in-process orders/s {ratio:8.3f}")
        if over_http.failures:
            print("gunicorn log (tail):\n" + log_tail(log))
    failed = bool(over_http.failures or in_process.failures)

    if profile is not None:
        ways = measure_routing(channel, skus, orders=args.routing_orders)
        report_routing(ways, profile, args.routing_orders)
        failed = failed or any(way.result.failures for way in ways)

    _, violations = check_invariants()
    print(f"invariants after the run: {'ok' if not violations else 'failed'}")
    for violation in violations[:5]:
        print(f"  {violation}")
    if violations or failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
