"""What ``bench/orders.py`` measures with: the bench cities laid out in the database, the orders
placed by the two ways (over HTTP, in-process), their results and how they are reported."""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import statistics
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from inventory.models import Location, Product
    from network.models import Channel
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
