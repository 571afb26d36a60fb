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
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench_orders")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")

from bench.postgres import ensure_database, setup_django  # noqa: E402

if TYPE_CHECKING:
    from inventory.models import Product
    from omni.models import Channel, City, User

THREADS = 8
SKUS = 200
STORES = 4
LINES_PER_ORDER = 3
MAX_UNITS_PER_LINE = 3
STOCK_PER_SKU = 1_000_000
WARMUP_ORDERS = 160
SAMPLES_KEPT = 3  # kinds of failure shown in full (one each)
CITY = "bench"
CHANNEL = "web"
CENTRE = (30.27, 120.15)
ORDERS_PATH = "/api/v1/orders"
SERVER_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class OrderSpec:
    external_id: str
    lines: list[tuple[str, int]]  # (sku, units)
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Failure:
    kind: str  # "HTTP 500", "deadlock detected", an error code, ...
    detail: str


@dataclass
class Result:
    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, of placed orders
    failures: Counter[str] = field(default_factory=Counter)
    samples: list[Failure] = field(default_factory=list)  # the first of each kind

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, p: int) -> float:
        if len(self.latencies) < 2:
            return 1000 * (self.latencies[0] if self.latencies else 0.0)
        return 1000 * statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]


class Placer(Protocol):
    """One client thread's way to place an order: ``place`` answers None or the failure;
    ``close`` lets go of what it holds (the runner closes the thread's DB connection)."""

    def place(self, spec: OrderSpec) -> Failure | None: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- database


def prepare() -> tuple[Channel, list[str]]:
    """The bench city, its live nodes, the ``web`` channel and the SKUs, with stock to sell."""
    from datetime import date

    from django.db import connection, transaction

    from inventory import services as stock
    from inventory.models import Location, LocationKind, Product, StockLevel
    from omni.models import (
        Channel,
        ChannelCity,
        ChannelKind,
        ChannelLocation,
        City,
        LocationService,
        Role,
        Service,
        ShelfProtection,
        User,
    )

    long_ago = date(2020, 1, 1)
    lat, lon = CENTRE
    city, _ = City.objects.get_or_create(
        code=CITY, defaults={"name": "Bench City", "latitude": lat, "longitude": lon}
    )
    dc, _ = Location.objects.get_or_create(
        code="BENCH-DC",
        defaults={
            "name": "Bench DC",
            "kind": LocationKind.WAREHOUSE,
            "city": city,
            "latitude": round(lat - 0.09, 6),
            "longitude": round(lon + 0.11, 6),
        },
    )
    stores = [
        Location.objects.get_or_create(
            code=f"BENCH-S{n}",
            defaults={
                "name": f"Bench Store {n}",
                "kind": LocationKind.STORE,
                "city": city,
                "latitude": round(lat + 0.03 * (n - 2.5), 6),
                "longitude": round(lon - 0.02 * (n - 2.5), 6),
            },
        )[0]
        for n in range(1, STORES + 1)
    ]
    nodes = [dc, *stores]
    for node in nodes:
        LocationService.objects.get_or_create(
            location=node, service=Service.SHIP, defaults={"starts_on": long_ago}
        )
    for store in stores:
        ShelfProtection.objects.update_or_create(
            location=store, product=None, defaults={"quantity": 0}
        )
    user, _ = User.objects.get_or_create(username="bench-web", defaults={"role": Role.CHANNEL})
    channel, _ = Channel.objects.get_or_create(
        code=CHANNEL, defaults={"name": "Web", "kind": ChannelKind.WEB, "user": user}
    )
    ChannelCity.objects.get_or_create(channel=channel, city=city, defaults={"starts_on": long_ago})
    for priority, node in enumerate(nodes, start=1):
        ChannelLocation.objects.get_or_create(
            channel=channel, location=node, defaults={"priority": priority}
        )

    skus = [f"ORD-{n:04d}" for n in range(SKUS)]
    existing = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [
            Product(sku=s, name=f"Bench {s}", price=Decimal("9.90"))
            for s in skus
            if s not in existing
        ]
    )
    products = list(Product.objects.filter(sku__in=skus))
    # Every stock level an order locks exists before the clock starts.
    with transaction.atomic():
        stock.lock_stock_levels((node.pk, p.pk) for node in nodes for p in products)
    available = {
        product_id: on_hand - reserved
        for product_id, on_hand, reserved in StockLevel.objects.filter(location=dc).values_list(
            "product_id", "on_hand", "reserved"
        )
    }
    top_up = [
        (p, STOCK_PER_SKU - available.get(p.pk, 0))
        for p in products
        if available.get(p.pk, 0) < STOCK_PER_SKU
    ]
    if top_up:
        stock.stock_receive(location=dc, lines=top_up, supplier="bench")
    with connection.cursor() as cursor:  # start each run from analysed tables
        cursor.execute(
            "VACUUM ANALYZE inventory_stocklevel, inventory_reservation, inventory_stockmove,"
            " orders_order, orders_orderline, orders_allocation"
        )
    return channel, skus


# --------------------------------------------------------------------------- the two ways


def new_order(rng: random.Random, external_id: str, skus: list[str]) -> OrderSpec:
    lat, lon = CENTRE
    return OrderSpec(
        external_id=external_id,
        lines=[
            (sku, rng.randint(1, MAX_UNITS_PER_LINE)) for sku in rng.sample(skus, LINES_PER_ORDER)
        ],
        latitude=round(lat + rng.uniform(-0.1, 0.1), 6),
        longitude=round(lon + rng.uniform(-0.1, 0.1), 6),
    )


class HttpPlacer:
    """Orders through the API on one keep-alive connection (reopened when the server closes
    it, as a sync worker does after each response)."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def place(self, spec: OrderSpec) -> Failure | None:
        body = json.dumps(
            {
                "external_id": spec.external_id,
                "mode": "delivery",
                "city": CITY,
                "delivery": {
                    "address": "1 Bench Road",
                    "latitude": spec.latitude,
                    "longitude": spec.longitude,
                },
                "customer": {"name": "Bench Customer", "phone": "13800000000"},
                "lines": [
                    {"sku": sku, "quantity": units, "unit_price": 9.9} for sku, units in spec.lines
                ],
            }
        )
        try:
            self.conn.request("POST", ORDERS_PATH, body=body, headers=self.headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            return Failure("connection error", repr(exc))
        if response.status == 201:
            return None
        return Failure(f"HTTP {response.status}", data.decode(errors="replace")[:2000])

    def close(self) -> None:
        self.conn.close()


class ServicePlacer:
    """The same orders through ``order_place`` on this thread's own database connection."""

    def __init__(self, channel_id: int) -> None:
        from inventory.models import Product
        from omni.models import Channel, City

        self.channel: Channel = Channel.objects.select_related("user").get(pk=channel_id)
        self.actor: User | None = self.channel.user
        self.city: City = City.objects.get(code=CITY)
        self.products: dict[str, Product] = {
            p.sku: p for p in Product.objects.filter(sku__startswith="ORD-")
        }

    def close(self) -> None:
        from django.db import connection

        connection.close()  # this thread's own connection

    def place(self, spec: OrderSpec) -> Failure | None:
        from omni.errors import ApplicationError
        from orders import services
        from orders.models import OrderMode

        try:
            _, created = services.order_place(
                channel=self.channel,
                external_id=spec.external_id,
                mode=OrderMode.DELIVERY,
                lines=[
                    services.LineIn(
                        product=self.products[sku], quantity=units, unit_price=Decimal("9.90")
                    )
                    for sku, units in spec.lines
                ],
                city=self.city,
                delivery=services.DeliveryPoint(
                    latitude=spec.latitude, longitude=spec.longitude, address="1 Bench Road"
                ),
                customer_name="Bench Customer",
                customer_phone="13800000000",
                actor=self.actor,
            )
        except ApplicationError as exc:
            return Failure(str(exc.code), json.dumps(exc.as_dict(), default=str))
        except Exception as exc:
            return Failure(
                f"{type(exc).__name__}: {str(exc).splitlines()[0]}", traceback.format_exc()
            )
        return None if created else Failure("replayed", spec.external_id)


def run(
    label: str,
    make_placer: Callable[[], Placer],
    skus: list[str],
    *,
    tag: str,
    seconds: float,
    orders: int,
) -> Result:
    """Place orders from THREADS threads released together until ``seconds`` have passed or
    ``orders`` have been tried (0: no limit); each thread times each of its orders."""
    from django.db import connection

    result = Result(label)
    lock = threading.Lock()
    tried = 0
    deadline = 0.0

    def start_clock() -> None:
        nonlocal deadline
        deadline = time.perf_counter() + seconds

    def ticket() -> int | None:
        nonlocal tried
        with lock:
            if (orders and tried >= orders) or time.perf_counter() >= deadline:
                return None
            tried += 1
            return tried

    barrier = threading.Barrier(THREADS + 1, action=start_clock)
    errors: list[BaseException] = []

    def target(thread: int) -> None:
        placer: Placer | None = None
        latencies: list[float] = []
        failures: list[Failure] = []
        try:
            placer = make_placer()  # connections and lookups: before the clock starts
            barrier.wait()
            rng = random.Random(f"{tag}-{thread}")
            while (n := ticket()) is not None:
                spec = new_order(rng, f"{tag}-{n}", skus)
                started = time.perf_counter()
                failure = placer.place(spec)
                elapsed = time.perf_counter() - started
                if failure is None:
                    latencies.append(elapsed)
                else:
                    failures.append(failure)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            if placer is not None:
                placer.close()
            connection.close()
            with lock:
                result.latencies.extend(latencies)
                for failure in failures:
                    result.failures[failure.kind] += 1
                    sampled = {sample.kind for sample in result.samples}
                    if failure.kind not in sampled and len(sampled) < SAMPLES_KEPT:
                        result.samples.append(failure)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return result


# --------------------------------------------------------------------------- gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_gunicorn(
    port: int, workers: int, threads: int, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "DJANGO_SETTINGS_MODULE": "omni.settings.base",
        "DEBUG": "0",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "omni.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--chdir",
        str(ROOT),
        "--timeout",
        "120",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_until_answering(server: subprocess.Popen[bytes], port: int) -> None:
    """Until the server answers HTTP at all (any status: an unauthenticated GET is a 401)."""
    give_up = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", ORDERS_PATH)
            conn.getresponse().read()
            return
        except OSError:
            if time.monotonic() > give_up:
                raise RuntimeError(
                    f"gunicorn did not answer within {SERVER_START_TIMEOUT:.0f} s"
                ) from None
            time.sleep(0.2)
        finally:
            conn.close()


def stop_gunicorn(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # graceful: workers finish their request
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def log_tail(log: IO[bytes], limit: int = 4000) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-limit:]


# --------------------------------------------------------------------------- report


def report(result: Result) -> None:
    print(
        f"  {result.label:<28}{len(result.latencies):8,} orders {result.seconds:7.2f} s"
        f" {result.rate:8,.1f} orders/s   p50 {result.percentile_ms(50):7.1f} ms"
        f"   p99 {result.percentile_ms(99):7.1f} ms"
    )
    if result.failures:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in result.failures.most_common())
        print(f"    FAILED {sum(result.failures.values()):,} ({kinds})")
        for sample in result.samples:
            print(f"    --- {sample.kind}\n    " + sample.detail.strip().replace("\n", "\n    "))


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
        wait_until_answering(server, port)
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
    args = parser.parse_args()

    ensure_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.db import connection

    from inventory.invariants import check_invariants

    channel, skus = prepare()
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

    _, violations = check_invariants()
    print(f"invariants after the run: {'ok' if not violations else 'failed'}")
    for violation in violations[:5]:
        print(f"  {violation}")
    if violations or failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
