"""Orders under real contention on PostgreSQL: retried creations over HTTP, scarce stock spread
over several nodes, two expiry runs at once, a counter sale racing online orders, and two
orders re-sourced while the second is cancelled. Every thread has its own connection
(``threads.run_together``); the ledger invariants are checked after each test by the folder's
conftest."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError
from django.db.models import Sum
from django.test import Client

from inventory import services as stock_services
from inventory.errors import InsufficientStock
from inventory.models import (
    Location,
    Product,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMove,
)
from network.models import Channel, ChannelKind, Service, ShelfProtection
from omni.models import City
from omni.services import api_token_create
from orders import services as order_services
from orders import tasks as order_tasks
from orders.models import Order, OrderLine, OrderStatus
from orders.services import (
    OWNER_TYPE,
    DeliveryPoint,
    LineIn,
    order_cancel,
    order_lines_resource,
    order_place,
    orders_expire_unpaid,
)
from tests.factories import (
    NEAR_DC,
    NEAR_S01,
    ChannelFactory,
    LocationServiceFactory,
    ProductFactory,
    ReceiptFactory,
    StoreFactory,
)
from tests.helpers import stock_level

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = "/api/v1/orders"
NEAR_S02 = DeliveryPoint(latitude=30.2505, longitude=120.2110, address="near store 2")
NEAR_S04 = DeliveryPoint(latitude=30.3005, longitude=120.1010, address="near store 4")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def store4(city: City) -> Location:
    """A third live store, north-west of the others."""
    return StoreFactory.create(
        code="S04", name="Store 4", city=city, latitude=30.30, longitude=120.10
    )


@pytest.fixture
def live(
    city: City, dc: Location, store: Location, store2: Location, store4: Location
) -> list[Location]:
    """The DC and three stores, all live for shipping (stores for pickup and counter sales
    too), no units kept back on any store's shelf. Returns the nodes, DC first."""
    LocationServiceFactory.go_live(dc, Service.SHIP)
    for s in (store, store2, store4):
        LocationServiceFactory.go_live(s, Service.SHIP, Service.PICKUP, Service.STORE_SALE)
        ShelfProtection.objects.create(location=s, product=None, quantity=0)
    return [dc, store, store2, store4]


@pytest.fixture
def web(city: City, live: list[Location]) -> Channel:
    return ChannelFactory.create(code="web", kind=ChannelKind.WEB, city=city, serves=live)


@pytest.fixture
def pos(city: City, live: list[Location]) -> Channel:
    return ChannelFactory.create(code="pos", kind=ChannelKind.STORE_POS, city=city, serves=live[1:])


@pytest.fixture
def skus(db: object) -> dict[str, Product]:
    return {sku: ProductFactory.create(sku=sku) for sku in ("A", "B", "C")}


# --------------------------------------------------------------------------- helpers


def active_held(product: Product) -> int:
    """Units of a SKU held by active reservations, over every location."""
    total = Reservation.objects.filter(product=product, status=ReservationStatus.ACTIVE).aggregate(
        q=Sum("quantity")
    )["q"]
    return int(total or 0)


def reserved_total(product: Product) -> int:
    return int(StockLevel.objects.filter(product=product).aggregate(q=Sum("reserved"))["q"] or 0)


def assert_allocations_are_real_holds(order: Order) -> None:
    """Each line of a reserved order holds exactly its quantity, through active reservations
    that belong to that line (same SKU, place, quantity and owner)."""
    for line in order.lines.all():
        active = [
            a
            for a in line.allocations.select_related("reservation")
            if a.reservation.status == ReservationStatus.ACTIVE
        ]
        assert sum(a.quantity for a in active) == line.quantity, (order.external_id, line)
        for a in active:
            r = a.reservation
            assert (r.product_id, r.location_id, r.quantity) == (
                line.product_id,
                a.location_id,
                a.quantity,
            )
            assert (r.owner_type, r.owner_id) == (OWNER_TYPE, line.owner_id)


# --------------------------------------------------------------------------- 1, 2: HTTP retries

RETRIES = 50


def order_body() -> dict[str, Any]:
    return {
        "external_id": "web-retry-1",
        "mode": "delivery",
        "delivery": {"address": "1 Lake Rd", "latitude": 30.185, "longitude": 120.26},
        "customer": {"name": "Li Lei", "phone": "13800000000"},
        "lines": [{"sku": "A", "quantity": 2, "unit_price": 9.9}, {"sku": "B", "quantity": 1}],
    }


@pytest.fixture
def web_headers(web: Channel, dc: Location, skus: dict[str, Product]) -> dict[str, str]:
    """The web channel's own token (it implies the channel), with stock for the order at the
    DC only, so the order has exactly one place to be sourced from."""
    ReceiptFactory.create(location=dc, lines={"A": 20, "B": 20})
    assert web.user is not None
    _, raw = api_token_create(user=web.user, name="retries")
    return {"Authorization": f"Bearer {raw}"}


def post_together(headers: dict[str, str]) -> list[Any]:
    """POST the same order from RETRIES threads at once, each with its own client."""
    data = json.dumps(order_body())

    def work(_: int) -> Any:
        return Client().post(ORDERS, data=data, content_type="application/json", headers=headers)

    return run_together(work, threads=RETRIES)


def assert_one_order_held_once(dc: Location, skus: dict[str, Product]) -> Order:
    order = Order.objects.get()
    assert (order.external_id, order.status) == ("web-retry-1", OrderStatus.RESERVED)
    holds = Reservation.objects.filter(owner_type=OWNER_TYPE)
    assert holds.count() == 2
    line_of = {line.product.sku: line.owner_id for line in order.lines.select_related("product")}
    assert sorted((h.product.sku, h.owner_id, h.quantity, h.status) for h in holds) == [
        ("A", line_of["A"], 2, ReservationStatus.ACTIVE),
        ("B", line_of["B"], 1, ReservationStatus.ACTIVE),
    ]
    assert (stock_level(dc, skus["A"]).reserved, stock_level(dc, skus["B"]).reserved) == (2, 1)
    assert_allocations_are_real_holds(order)
    return order


def test_fifty_retries_of_one_order_without_a_key_make_one_order(
    web_headers: dict[str, str], dc: Location, skus: dict[str, Product]
) -> None:
    responses = post_together(web_headers)

    assert Counter(r.status_code for r in responses) == {201: 1, 200: RETRIES - 1}
    order = assert_one_order_held_once(dc, skus)
    assert {json.loads(r.content)["id"] for r in responses} == {order.pk}
    # Every retry describes the order as it was committed, the same as the creating call.
    assert len({r.content for r in responses}) == 1


def test_fifty_retries_of_one_order_with_one_key_get_one_answer(
    web_headers: dict[str, str], dc: Location, skus: dict[str, Product]
) -> None:
    responses = post_together({**web_headers, "Idempotency-Key": "web-retry-1-key"})

    # One call did the work; the others waited for it and replayed its stored answer.
    assert Counter(r.status_code for r in responses) == {201: RETRIES}
    assert Counter(r["Idempotent-Replayed"] for r in responses) == {
        "false": 1,
        "true": RETRIES - 1,
    }
    assert len({r.content for r in responses}) == 1
    order = assert_one_order_held_once(dc, skus)
    assert json.loads(responses[0].content)["id"] == order.pk


# --------------------------------------------------------------------------- 3: scarce stock

SCARCE_ORDERS = 24
SCARCE_SEED = 20240601
# Units of A and B at the DC and the three stores: 12 of A and 9 of B in all.
SCARCE_STOCK = {
    "DC1": {"A": 3, "B": 3},
    "S01": {"A": 3, "B": 2},
    "S02": {"A": 3, "B": 2},
    "S04": {"A": 3, "B": 2},
}


@dataclass
class Wanted:
    external_id: str
    lines: dict[str, int]
    point: DeliveryPoint
    outcome: str = ""
    order_id: int | None = field(default=None)
    why: str = ""  # the refusal's message and detail, for the assertion messages


def scarce_orders() -> list[Wanted]:
    """24 distinct delivery orders of 1–2 units of A and/or B, from a fixed seed."""
    rng = random.Random(SCARCE_SEED)
    points = [NEAR_DC, NEAR_S01, NEAR_S02, NEAR_S04]
    orders = []
    for n in range(SCARCE_ORDERS):
        which = rng.choice([("A",), ("B",), ("A", "B")])
        orders.append(
            Wanted(
                external_id=f"scarce-{n}",
                lines={sku: rng.randint(1, 2) for sku in which},
                point=rng.choice(points),
            )
        )
    return orders


def place_wanted(web: Channel, wanted: Wanted, products: dict[str, Product]) -> Order:
    order, created = order_place(
        channel=web,
        external_id=wanted.external_id,
        mode="delivery",
        lines=[LineIn(product=products[sku], quantity=q) for sku, q in wanted.lines.items()],
        delivery=wanted.point,
    )
    assert created
    return order


def test_scarce_skus_over_four_nodes_serve_every_unit_they_can(
    web: Channel, live: list[Location], skus: dict[str, Product]
) -> None:
    by_code = {loc.code: loc for loc in live}
    for code, units in SCARCE_STOCK.items():
        ReceiptFactory.create(location=by_code[code], lines=units)
    total = {"A": 12, "B": 9}
    orders = scarce_orders()
    demand: Counter[str] = Counter()
    for wanted in orders:
        demand.update(wanted.lines)
    # The seed asks for far more than there is, so orders must compete and some must lose.
    assert demand == {"A": 24, "B": 24}

    def work(i: int) -> tuple[str, int | None, str]:
        try:
            return "placed", place_wanted(web, orders[i], skus).pk, ""
        except InsufficientStock as exc:
            return "refused", None, f"{exc} {exc.detail}"
        except DatabaseError as exc:  # a deadlock or a serialisation failure: shown, not hidden
            return f"database error: {exc!r}", None, ""

    for wanted, (outcome, order_id, why) in zip(
        orders, run_together(work, threads=SCARCE_ORDERS), strict=True
    ):
        wanted.outcome, wanted.order_id, wanted.why = outcome, order_id, why

    outcomes = Counter(w.outcome for w in orders)
    assert set(outcomes) == {"placed", "refused"}, outcomes
    placed = [w for w in orders if w.outcome == "placed"]
    refused = [w for w in orders if w.outcome == "refused"]
    assert Order.objects.count() == len(placed)
    assert not Order.objects.filter(external_id__in=[w.external_id for w in refused]).exists()

    # What the placed orders asked for is exactly what is held, no more, never over on hand.
    held: Counter[str] = Counter()
    for wanted in placed:
        held.update(wanted.lines)
    for sku, product in skus.items():
        assert active_held(product) == held[sku]
        assert reserved_total(product) == held[sku]
        assert held[sku] <= total.get(sku, 0)
    for lvl in StockLevel.objects.select_related("location", "product"):
        assert lvl.on_hand == SCARCE_STOCK[lvl.location.code][lvl.product.sku]
        assert 0 <= lvl.reserved <= lvl.on_hand
    for wanted in placed:
        order = Order.objects.get(channel=web, external_id=wanted.external_id)
        assert (order.pk, order.status) == (wanted.order_id, OrderStatus.RESERVED)
        assert {ln.product.sku: ln.quantity for ln in order.lines.select_related("product")} == (
            wanted.lines
        )
        assert_allocations_are_real_holds(order)

    # Every refusal was right and still is: each refused order wants more of some SKU than is
    # left anywhere, and asked again now, with nothing else running, it is refused again.
    left = {sku: total[sku] - held[sku] for sku in total}
    for wanted in refused:
        assert any(left[sku] < q for sku, q in wanted.lines.items()), (wanted, left)
        with pytest.raises(InsufficientStock):
            place_wanted(web, wanted, skus)
    assert Order.objects.count() == len(placed)
    assert StockMove.objects.count() == sum(len(u) for u in SCARCE_STOCK.values())


# --------------------------------------------------------------------------- 4: expiry race

UNPAID = 30


def test_two_expiry_runs_at_once_expire_each_unpaid_order_once(
    web: Channel,
    live: list[Location],
    skus: dict[str, Product],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dc, store, store2, _ = live
    for node in (dc, store, store2):
        ReceiptFactory.create(location=node, lines={"A": 20, "B": 20, "C": 20})
    patterns: list[tuple[dict[str, int], DeliveryPoint]] = [
        ({"A": 1, "B": 1}, NEAR_DC),
        ({"C": 2}, NEAR_S01),
        ({"A": 2, "C": 1}, NEAR_S02),
    ]
    orders = []
    for n in range(UNPAID):
        lines, point = patterns[n % len(patterns)]
        order, _ = order_place(
            channel=web,
            external_id=f"unpaid-{n}",
            mode="delivery",
            lines=[LineIn(product=skus[s], quantity=q) for s, q in lines.items()],
            delivery=point,
        )
        orders.append(order)
    holds = set(Reservation.objects.values_list("pk", flat=True))
    assert len(holds) == 50  # 10 orders of two lines, 10 of one, 10 of two
    assert sum(reserved_total(p) for p in skus.values()) == 10 * 2 + 10 * 2 + 10 * 3
    later = max(o.hold_expires_at for o in orders if o.hold_expires_at) + timedelta(seconds=1)
    assert orders_expire_unpaid(now=later - timedelta(minutes=1)) == 0  # none is due yet

    releases: list[int] = []
    release = stock_services.reservation_release

    def counting_release(*, reservation: Reservation, **kwargs: Any) -> Reservation:
        releases.append(reservation.pk)
        return release(reservation=reservation, **kwargs)

    monkeypatch.setattr(stock_services, "reservation_release", counting_release)

    expired = run_together(lambda _: orders_expire_unpaid(now=later), threads=2)

    assert sum(expired) == UNPAID
    assert Order.objects.filter(status=OrderStatus.EXPIRED).count() == UNPAID
    assert not StockLevel.objects.exclude(reserved=0).exists()
    # Each hold was released once: one attempt, one close, by the expiry.
    assert Counter(releases) == dict.fromkeys(holds, 1)
    closes = Reservation.objects.values_list("status", "close_reason")
    assert Counter(closes) == {(ReservationStatus.RELEASED, "unpaid hold expired"): len(holds)}
    assert not Reservation.objects.filter(closed_at__isnull=True).exists()


# --------------------------------------------------------------------------- 5: counter sale

ONLINE = 10
ON_SHELF = 8
SOLD = 5
LEFT = ON_SHELF - SOLD
# In "after-six", the sale waits until six online orders have committed: it must then take
# the units of at least three of them (6 held, only 8 - 5 = 3 may stay held).
FIRST_ORDERS = 6
WAIT = 60.0


@dataclass
class Queued:
    """Stands in for the re-sourcing task: records the line ids instead of calling the broker."""

    line_ids: list[int] = field(default_factory=list)

    def delay(self, ids: Sequence[int]) -> None:
        self.line_ids.extend(ids)


@pytest.mark.parametrize("timing", ["together", "after-six", "sale-first"])
def test_a_counter_sale_racing_online_orders_leaves_only_real_holds(
    web: Channel,
    pos: Channel,
    live: list[Location],
    skus: dict[str, Product],
    monkeypatch: pytest.MonkeyPatch,
    timing: str,
) -> None:
    """Eight units of A on store 1's shelf and nowhere else; ten online orders of one unit
    each race a counter sale of five. The sale always goes through. Whatever the timing,
    three units are left and exactly three orders hold them; every other order was refused,
    or lost its hold to the sale and was queued for re-sourcing."""
    store = live[1]
    a = skus["A"]
    ReceiptFactory.create(location=store, lines={"A": ON_SHELF})
    queued = Queued()
    monkeypatch.setattr(order_tasks, "order_lines_resource_task", queued)
    committed = threading.Condition()
    placed_so_far = [0]
    sale_done = threading.Event()
    refusals: list[str] = []

    def sell() -> str:
        if timing == "after-six":
            with committed:
                assert committed.wait_for(lambda: placed_so_far[0] >= FIRST_ORDERS, WAIT)
        try:
            order_place(
                channel=pos,
                external_id="till-1",
                mode="store_sale",
                store=store,
                lines=[LineIn(product=a, quantity=SOLD)],
            )
        finally:
            sale_done.set()
        return "sold"

    def buy(i: int) -> str:
        if timing == "sale-first":
            assert sale_done.wait(WAIT)
        try:
            order_place(
                channel=web,
                external_id=f"online-{i}",
                mode="delivery",
                lines=[LineIn(product=a, quantity=1)],
                delivery=NEAR_S01,
            )
        except InsufficientStock as exc:
            refusals.append(f"online-{i}: {exc} {exc.detail}")
            return "refused"
        except DatabaseError as exc:
            return f"database error: {exc!r}"
        with committed:
            placed_so_far[0] += 1
            committed.notify_all()
        return "placed"

    outcomes = Counter(
        run_together(lambda i: sell() if i == ONLINE else buy(i), threads=ONLINE + 1)
    )

    assert set(outcomes) <= {"sold", "placed", "refused"}, outcomes
    assert outcomes["sold"] == 1
    assert outcomes["placed"] + outcomes["refused"] == ONLINE
    sale = Order.objects.get(external_id="till-1")
    assert sale.status == OrderStatus.COMPLETED
    assert StockMove.objects.filter(reference=sale.reference, reason="sale").get().quantity == SOLD
    lvl = stock_level(store, a)
    # The shelf had enough, so no adjustment: 8 - 5 = 3 left, and all three are held.
    assert (lvl.on_hand, lvl.reserved) == (LEFT, LEFT), refusals
    assert lvl.reserved == active_held(a) == reserved_total(a)

    online = list(Order.objects.filter(channel=web))
    assert len(online) == outcomes["placed"]
    holding = [o for o in online if o.lines.get().allocations.filter(reservation__status="active")]
    broken = [o for o in online if o not in holding]
    assert len(holding) == LEFT
    assert len(broken) == outcomes["placed"] - LEFT
    if timing == "sale-first":
        assert (outcomes["placed"], len(broken)) == (LEFT, 0)
    if timing == "after-six":
        assert len(broken) >= FIRST_ORDERS - LEFT
    for order in holding:
        assert order.status == OrderStatus.RESERVED
        assert_allocations_are_real_holds(order)
    # The orders that lost their unit lost it to the sale, once, and were queued to re-source.
    for order in broken:
        (allocation,) = order.lines.get().allocations.select_related("reservation")
        assert allocation.reservation.status == ReservationStatus.RELEASED
        assert allocation.reservation.close_reason == f"taken by counter sale {sale.reference}"
    broken_lines = OrderLine.objects.filter(order__in=broken).values_list("pk", flat=True)
    assert sorted(queued.line_ids) == sorted(broken_lines)

    # Re-sourcing finds nothing anywhere: those orders wait for stock, flagged for a person.
    resourced = order_lines_resource(line_ids=queued.line_ids)
    assert sorted(o.pk for o in resourced) == sorted(o.pk for o in broken)
    for order in broken:
        order.refresh_from_db()
        assert order.status == OrderStatus.BACKORDERED
        assert order.flagged.startswith("stock taken by a counter sale")
    assert stock_level(store, a).reserved == LEFT


# --------------------------------------------------------------------------- 6: re-sourcing


def test_re_sourcing_two_orders_racing_a_cancel_of_the_second_does_not_deadlock(
    web: Channel, live: list[Location], skus: dict[str, Product], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two orders each lost a line's hold (a counter sale took it, say) and are re-sourced in
    one call, the first order first. Re-sourcing the first locks A's stock levels at every node;
    meanwhile the second order, which still holds A at the DC, is cancelled: the cancel locks
    the second order, then A at the DC. The re-sourcing must be done with the first order's
    stock levels before it takes the second order's lock, or each waits for the other. The
    interleaving is made exact: the cancel starts once the re-sourcing reaches the second order,
    and the re-sourcing locks it once the cancel holds it."""
    dc = live[0]
    a, b = skus["A"], skus["B"]
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    first, _ = order_place(
        channel=web,
        external_id="first",
        mode="delivery",
        lines=[LineIn(product=a, quantity=1)],
        delivery=NEAR_DC,
    )
    second, _ = order_place(
        channel=web,
        external_id="second",
        mode="delivery",
        lines=[LineIn(product=a, quantity=1), LineIn(product=b, quantity=1)],
        delivery=NEAR_DC,
    )
    lost = [first.lines.get(product=a), second.lines.get(product=b)]
    for line in lost:
        stock_services.reservation_release(
            reservation=line.allocations.get().reservation, reason="taken by a counter sale"
        )
    monkeypatch.setattr(order_tasks, "orders_route_waiting_task", Queued())

    resourcing_reached_second, cancel_holds_second = threading.Event(), threading.Event()
    role = threading.local()
    real_lock_order = order_services.counter.lock_order

    def lock_order(order_id: int) -> Order:
        if getattr(role, "name", "") == "resource" and order_id == second.pk:
            resourcing_reached_second.set()
            assert cancel_holds_second.wait(WAIT)
        order = real_lock_order(order_id)
        if getattr(role, "name", "") == "cancel" and order_id == second.pk:
            cancel_holds_second.set()
        return order

    # Re-sourcing (``counter``) and the cancel (``changes``) each lock the order.
    monkeypatch.setattr(order_services.counter, "lock_order", lock_order)
    monkeypatch.setattr(order_services.changes, "lock_order", lock_order)

    def work(thread: int) -> str:
        role.name = "resource" if thread == 0 else "cancel"
        try:
            if thread == 0:
                resourced = order_lines_resource(line_ids=[line.pk for line in lost])
                return ",".join(o.external_id for o in resourced)
            assert resourcing_reached_second.wait(WAIT)
            return order_cancel(order=Order.objects.get(pk=second.pk)).status
        except DatabaseError as exc:  # a deadlock: what this test is about
            return f"database error: {exc!r}"

    # The first order was sourced again; the second was cancelled before its turn came.
    assert run_together(work, threads=2) == ["first", OrderStatus.CANCELLED]
    first.refresh_from_db()
    assert first.status == OrderStatus.RESERVED
    assert_allocations_are_real_holds(first)
    assert not Reservation.objects.filter(
        allocation__line__order=second, status=ReservationStatus.ACTIVE
    ).exists()
    assert (stock_level(dc, a).reserved, stock_level(dc, b).reserved) == (1, 0)
