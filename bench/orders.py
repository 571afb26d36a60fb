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
from typing import IO, TYPE_CHECKING, Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/omni_bench_orders")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings.base")

from bench.postgres import ensure_database, setup_django  # noqa: E402

if TYPE_CHECKING:
    from inventory.models import Location, Product
    from network.models import Channel, RoutingProfile
    from omni.models import City, User

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

# The routing overhead section.
ROUTING_ORDERS = 400  # per way
ROUTING_WARMUP = 40  # per way, untimed
ROUTING_SEED = "routing"
DEFAULT_CITY = "bench-a"  # the default rules
PROFILE_CITY = "bench-b"  # a retailer's profile
STORE_STOCK = 500  # available units of each SKU topped up at each store of those two cities
PROFILE_RULES: list[object] = [
    "stay_in_city",
    "keep_together",
    "nearest_first",
    {"rule": "max_splits", "value": 1},
    {"rule": "distance_band", "max_km": 30},
]
PROFILE_WHEN_SHORT = "park"
BUFFER_UNITS = 2
SHIP_HEADROOM = {1: 40, 2: 60}  # store number -> ship orders it takes beyond today's use


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


LONG_AGO = (2020, 1, 1)  # when the bench nodes and channel went live


def lay_out_city(code: str, name: str, prefix: str) -> tuple[City, list[Location]]:
    """A city at the bench centre with a DC and STORES stores (codes ``{prefix}-DC``,
    ``{prefix}-S1``...), always at the same points, live for ship, no shelf protection.
    Returns the city and its nodes, DC first."""
    from datetime import date

    from inventory.models import Location, LocationKind
    from network.models import LocationService, Service, ShelfProtection
    from omni.models import City

    lat, lon = CENTRE
    city, _ = City.objects.get_or_create(
        code=code, defaults={"name": name, "latitude": lat, "longitude": lon}
    )
    dc, _ = Location.objects.get_or_create(
        code=f"{prefix}-DC",
        defaults={
            "name": f"{name} DC",
            "kind": LocationKind.WAREHOUSE,
            "city": city,
            "latitude": round(lat - 0.09, 6),
            "longitude": round(lon + 0.11, 6),
        },
    )
    stores = [
        Location.objects.get_or_create(
            code=f"{prefix}-S{n}",
            defaults={
                "name": f"{name} Store {n}",
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
            location=node, service=Service.SHIP, defaults={"starts_on": date(*LONG_AGO)}
        )
    for store in stores:
        ShelfProtection.objects.update_or_create(
            location=store, product=None, defaults={"quantity": 0}
        )
    return city, nodes


def serve(channel: Channel, city: City, nodes: list[Location]) -> None:
    """The channel live in the city, served by its nodes in the given order of preference."""
    from datetime import date

    from network.models import ChannelCity, ChannelLocation

    ChannelCity.objects.get_or_create(
        channel=channel, city=city, defaults={"starts_on": date(*LONG_AGO)}
    )
    for priority, node in enumerate(nodes, start=1):
        ChannelLocation.objects.get_or_create(
            channel=channel, location=node, defaults={"priority": priority}
        )


def ensure_levels(nodes: list[Location], products: list[Product]) -> None:
    """Every stock level an order locks exists before the clock starts."""
    from django.db import transaction

    from inventory.locks import lock_stock_levels

    with transaction.atomic():
        lock_stock_levels((node.pk, p.pk) for node in nodes for p in products)


def top_up(node: Location, products: list[Product], units: int) -> None:
    """``units`` available of each product at ``node``: one receipt of what is missing."""
    from inventory import services as stock
    from inventory.models import StockLevel

    available = {
        product_id: on_hand - reserved
        for product_id, on_hand, reserved in StockLevel.objects.filter(location=node).values_list(
            "product_id", "on_hand", "reserved"
        )
    }
    short = [
        (p, units - available.get(p.pk, 0)) for p in products if available.get(p.pk, 0) < units
    ]
    if short:
        stock.stock_receive(location=node, lines=short, supplier="bench")


def prepare() -> tuple[Channel, list[str]]:
    """The bench city, its live nodes, the ``web`` channel and the SKUs, with stock to sell."""
    from inventory.models import Product
    from network.models import Channel, ChannelKind
    from omni.models import Role, User

    city, nodes = lay_out_city(CITY, "Bench City", "BENCH")
    user, _ = User.objects.get_or_create(username="bench-web", defaults={"role": Role.CHANNEL})
    channel, _ = Channel.objects.get_or_create(
        code=CHANNEL, defaults={"name": "Web", "kind": ChannelKind.WEB, "user": user}
    )
    serve(channel, city, nodes)

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
    ensure_levels(nodes, products)
    top_up(nodes[0], products, STOCK_PER_SKU)  # only the DC holds stock in the bench city
    return channel, skus


def analyse_tables() -> None:
    """Start each run from analysed tables."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE inventory_stocklevel, inventory_reservation, inventory_stockmove,"
            " orders_order, orders_orderline, orders_allocation"
        )


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

    def __init__(self, channel_id: int, city: str = CITY) -> None:
        from inventory.models import Product
        from network.models import Channel
        from omni.models import City

        self.channel: Channel = Channel.objects.select_related("user").get(pk=channel_id)
        self.actor: User | None = self.channel.user
        self.city: City = City.objects.get(code=city)
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


# --------------------------------------------------------------------------- routing overhead


@dataclass
class RoutingWay:
    """One way of routing the same orders: the city they are placed in, their latencies, the
    time spent planning in each, and what they became (first decision's outcome and nodes)."""

    key: str
    city: str
    result: Result
    route_seconds: list[float] = field(default_factory=list)  # route() per placed order
    by_order: dict[int, float] = field(default_factory=dict)  # order number -> seconds
    outcomes: Counter[str] = field(default_factory=Counter)
    nodes: Counter[str] = field(default_factory=Counter)


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def prepare_routing(channel: Channel, skus: list[str]) -> RoutingProfile:
    """The two routing cities, laid out and stocked alike; bench-b's profile, channel buffers
    and ship capacity. Returns bench-b's active profile."""
    from inventory.models import Product
    from network.models import Service
    from network.routing_rules import parse_rules, rules_as_data
    from network.selectors import active_routing_profile
    from network.services import (
        channel_buffer_set,
        location_capacity_set,
        routing_profile_activate,
        routing_profile_create,
    )
    from omni.selectors import city_today
    from orders.capacity import capacity_of

    products = list(Product.objects.filter(sku__in=skus))
    laid_out = {}
    for code in (DEFAULT_CITY, PROFILE_CITY):
        city, nodes = lay_out_city(code, f"Bench City {code[-1].upper()}", code.upper())
        serve(channel, city, nodes)
        ensure_levels(nodes, products)
        top_up(nodes[0], products, STOCK_PER_SKU)
        for store in nodes[1:]:
            top_up(store, products, STORE_STOCK)
        laid_out[code] = (city, nodes)

    city_a, _ = laid_out[DEFAULT_CITY]
    if active_routing_profile(channel=channel, city=city_a) is not None:
        raise SystemExit(
            f"{DEFAULT_CITY} must route {CHANNEL} by the default rules: retire its profile"
        )
    city_b, nodes_b = laid_out[PROFILE_CITY]
    for node in nodes_b:
        channel_buffer_set(channel=channel, location=node, units=BUFFER_UNITS, source="bench")
    used = capacity_of(
        location_ids=[node.pk for node in nodes_b], service=Service.SHIP, day=city_today(city_b)
    )
    for n, headroom in SHIP_HEADROOM.items():
        store = nodes_b[n]
        today = used[store.pk].used if store.pk in used else 0
        location_capacity_set(
            location=store, service=Service.SHIP, daily_capacity=today + headroom, source="bench"
        )
    profile = active_routing_profile(channel=channel, city=city_b)
    if (
        profile is None
        or profile.city_id != city_b.pk
        or profile.rules != rules_as_data(parse_rules(PROFILE_RULES))
        or profile.when_short != PROFILE_WHEN_SHORT
    ):
        draft = routing_profile_create(
            channel=channel,
            city=city_b,
            rules=PROFILE_RULES,
            when_short=PROFILE_WHEN_SHORT,
            note="bench/orders.py: a retailer's web profile",
            source="bench",
        )
        profile = routing_profile_activate(profile=draft, source="bench")
    return profile


def measure_routing(channel: Channel, skus: list[str], *, orders: int) -> list[RoutingWay]:
    """Place the same orders (one seed) in the default-rules city and the profile's city, one
    client thread, alternating which goes first; time each order and the route() calls in it."""
    from unittest import mock

    from orders import routing, services
    from orders.models import Order

    ways = [
        RoutingWay("a", DEFAULT_CITY, Result(f"a: default rules, {DEFAULT_CITY}")),
        RoutingWay("b", PROFILE_CITY, Result(f"b: profile, {PROFILE_CITY}")),
    ]
    placers = {way.key: ServicePlacer(channel.pk, way.city) for way in ways}
    tag = f"r{time.time_ns():x}"
    planning = [0.0]

    def timed_route(*args: Any, **kwargs: Any) -> routing.Plan:
        started = time.perf_counter()
        try:
            return routing.route(*args, **kwargs)
        finally:
            planning[0] += time.perf_counter() - started

    try:
        with mock.patch.object(services, "route", timed_route):
            for phase, count in (("warm", ROUTING_WARMUP), ("timed", orders)):
                rngs = {way.key: random.Random(f"{ROUTING_SEED}-{phase}") for way in ways}
                for n in range(count):
                    for way in ways if n % 2 == 0 else ways[::-1]:
                        spec = new_order(rngs[way.key], f"{tag}-{way.key}-{phase}-{n}", skus)
                        planning[0] = 0.0
                        started = time.perf_counter()
                        failure = placers[way.key].place(spec)
                        elapsed = time.perf_counter() - started
                        if phase == "warm":
                            continue
                        if failure is None:
                            way.result.latencies.append(elapsed)
                            way.route_seconds.append(planning[0])
                            way.by_order[n] = elapsed
                            continue
                        way.result.failures[failure.kind] += 1
                        if failure.kind not in {f.kind for f in way.result.samples}:
                            way.result.samples.append(failure)
    finally:
        for placer in placers.values():
            placer.close()

    for way in ways:
        decisions = Order.objects.filter(external_id__startswith=f"{tag}-{way.key}-timed-")
        for sourcing in decisions.values_list("sourcing", flat=True):
            first = sourcing["decisions"][0]
            way.outcomes[first["outcome"]] += 1
            way.nodes.update({pick["location"].rsplit("-", 1)[-1] for pick in first["picks"]})
    return ways


def report_routing(ways: list[RoutingWay], profile: RoutingProfile, orders: int) -> None:
    from network.routing_rules import parse_rules

    a, b = ways
    b.result.label = f"b: profile {CHANNEL}@{PROFILE_CITY} v{profile.version}"
    print(
        f"routing overhead: in-process, 1 client thread, {orders:,} orders each way, a and b"
        " alternating (same seed and mix)"
    )
    for way in ways:
        result = way.result
        print(
            f"  {result.label:<34}{len(result.latencies):6,} orders"
            f"   p50 {result.percentile_ms(50):7.2f} ms   p99 {result.percentile_ms(99):7.2f} ms"
            f"   route() p50 {1e6 * percentile(way.route_seconds, 50):6.0f} µs"
            f"   p99 {1e6 * percentile(way.route_seconds, 99):6.0f} µs"
        )
        print_failures(result)
    p50 = (a.result.percentile_ms(50), b.result.percentile_ms(50))
    p99 = (a.result.percentile_ms(99), b.result.percentile_ms(99))
    nan = float("nan")
    # The same order placed both ways, one right after the other: the difference per pair is
    # the steadiest measure of the overhead on a machine whose load changes during the run.
    paired = [1000 * (b.by_order[n] - a.by_order[n]) for n in a.by_order if n in b.by_order]
    print(
        f"  {'overhead b - a':<46}   p50 {p50[1] - p50[0]:+7.2f} ms"
        f"   p99 {p99[1] - p99[0]:+7.2f} ms"
    )
    print(
        f"  {'overhead per pair of the same order (b - a)':<46}"
        f"   p50 {percentile(paired, 50):+7.2f} ms   p99 {percentile(paired, 99):+7.2f} ms"
    )
    print(
        f"  {'ratio b/a':<46}   p50 {p50[1] / p50[0] if p50[0] else nan:7.3f}   "
        f"   p99 {p99[1] / p99[0] if p99[0] else nan:7.3f}"
    )
    shares = []
    for way in ways:
        order_p50 = way.result.percentile_ms(50) / 1000
        if order_p50:
            shares.append(f"{way.key} {100 * percentile(way.route_seconds, 50) / order_p50:.1f} %")
    print(f"  route() p50 as a share of the order's p50: {', '.join(shares)}")
    rules = ", ".join(
        " ".join([rule.name, *(f"{k}={v}" for k, v in rule.params.items())])
        for rule in parse_rules(profile.rules)
    )
    print(f"  b's rules: {rules}; when short: {profile.when_short}")
    headroom = ", ".join(f"S{n} {extra} more" for n, extra in SHIP_HEADROOM.items())
    print(
        f"  b's settings: {CHANNEL} keeps {BUFFER_UNITS} units of each SKU back at each node;"
        f" ship orders today: {headroom} (the warm-up's included)"
    )
    for way in ways:
        outcomes = ", ".join(f"{k} {n:,}" for k, n in way.outcomes.most_common())
        nodes = ", ".join(f"{k} {n:,}" for k, n in sorted(way.nodes.items()))
        print(f"  {way.key}: {outcomes}; orders served by node: {nodes}")


# --------------------------------------------------------------------------- report


def report(result: Result) -> None:
    print(
        f"  {result.label:<28}{len(result.latencies):8,} orders {result.seconds:7.2f} s"
        f" {result.rate:8,.1f} orders/s   p50 {result.percentile_ms(50):7.1f} ms"
        f"   p99 {result.percentile_ms(99):7.1f} ms"
    )
    print_failures(result)


def print_failures(result: Result) -> None:
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
