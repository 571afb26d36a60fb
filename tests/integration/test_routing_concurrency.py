"""Routing under real contention on PostgreSQL: two receipts racing to fill one parked order,
two retry runs sharing out too little stock (and stock arriving in the middle of a run), a
store's daily capacity taken and given back by concurrent orders (and a split order losing a
node's last slot while it is routed), a channel buffer changed while orders are placed, and an
order placed while its city's waiting queue is routed. Every thread has its own connection
(``threads.run_together``); where an interleaving must be exact, a thread waits at a named point
for another. The ledger invariants are checked after each test by the folder's conftest."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError
from django.db.models import Sum
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, Reservation, ReservationStatus, StockLevel
from inventory.services import stock_receive
from network.models import Channel, ChannelKind, Service, ShelfProtection
from network.services import (
    channel_buffer_set,
    location_capacity_set,
)
from omni.models import City
from omni.selectors import city_today
from orders import services as order_services
from orders import tasks as order_tasks
from orders.models import Allocation, CapacitySlot, CapacityUse, Order, OrderStatus
from orders.services import (
    WaitingReport,
    order_cancel,
    orders_route_waiting,
)
from tests.factories import (
    ChannelFactory,
    LocationServiceFactory,
    OrderFactory,
    ProductFactory,
    RoutingProfileFactory,
)
from tests.helpers import held_at

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

# Orders are delivered next door to store 1 (OrderFactory's NEAR_S01); store 2 is about 5 km
# away, the DC about 14 km.
NEAREST = ["keep_together", "nearest_first"]
RETRIED = "retried: stock arrived"
WAIT = 60.0
# Loggers whose warnings mean something went wrong here (not the broker client's chatter).
WATCHED_LOGGERS = {"orders", "inventory", "omni", "django", "celery"}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def live(city: City, dc: Location, store: Location, store2: Location) -> list[Location]:
    """The DC and two stores, all live for shipping, no units kept back on any store's shelf.
    Returns the nodes, DC first."""
    LocationServiceFactory.go_live(dc, Service.SHIP)
    for s in (store, store2):
        LocationServiceFactory.go_live(s, Service.SHIP, Service.PICKUP)
        ShelfProtection.objects.create(location=s, product=None, quantity=0)
    return [dc, store, store2]


@pytest.fixture
def web(city: City, live: list[Location]) -> Channel:
    return ChannelFactory.create(code="web", kind=ChannelKind.WEB, city=city, serves=live)


@pytest.fixture
def problems(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Warnings and errors logged by any thread: a waiting order that could not be routed, or
    an exception swallowed by a robust on-commit callback (the eager routing task)."""
    caplog.set_level(logging.WARNING)
    return caplog


# --------------------------------------------------------------------------- helpers


def allocations(order: Order) -> list[Allocation]:
    return list(
        Allocation.objects.filter(line__order=order)
        .select_related("reservation", "location")
        .order_by("id")
    )


def active_held(product: Product) -> tuple[int, int]:
    """(units, reservations) of a SKU held by active reservations, over every location."""
    holds = Reservation.objects.filter(product=product, status=ReservationStatus.ACTIVE)
    return int(holds.aggregate(q=Sum("quantity"))["q"] or 0), holds.count()


def levels_of(product: Product) -> tuple[int, int]:
    """(on_hand, reserved) of a SKU summed over its stock levels."""
    sums = StockLevel.objects.filter(product=product).aggregate(o=Sum("on_hand"), r=Sum("reserved"))
    return int(sums["o"] or 0), int(sums["r"] or 0)


def retries_that_routed(order: Order) -> int:
    """How many retries of the waiting queue routed units to the order (each is recorded)."""
    return sum(1 for d in order.sourcing.get("decisions", []) if d["what"] == RETRIED)


def assert_no_problems(caplog: pytest.LogCaptureFixture) -> None:
    logged = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.split(".")[0] in WATCHED_LOGGERS
    ]
    assert not logged, logged


@dataclass
class Queued:
    """Stands in for the routing task that stock coming free queues: records the product ids
    it was queued with and, if ``runs``, routes them at once in the thread that queued it, as
    Celery does without a broker (eager). Either way no test here depends on a broker or
    leaves messages on one."""

    runs: bool = False
    calls: list[list[int]] = field(default_factory=list)

    def delay(self, product_ids: Sequence[int]) -> None:
        self.calls.append(list(product_ids))
        if self.runs:
            orders_route_waiting(product_ids=product_ids)


# --------------------------------------------------------------------------- 1: two receipts

ROUNDS = 10
PARKED_UNITS = 4


def test_a_parked_order_is_filled_exactly_once_when_two_receipts_arrive_together(
    web: Channel,
    live: list[Location],
    monkeypatch: pytest.MonkeyPatch,
    problems: pytest.LogCaptureFixture,
) -> None:
    """Each of two receipts brings enough for the whole parked order; each receiving thread
    then retries the queue itself, as the task does after its receipt committed. The order is
    filled once, from one node, every round. Rounds vary where the goods arrive (both at the
    DC, one stock row; or the DC and store 1) and whether the task queued on commit also runs
    at once, as eager Celery does (it then fills the order before the threads' own runs; when
    it only queues, the two threads' runs race each other for the order)."""
    dc, store, _ = live
    RoutingProfileFactory.create(channel=web, rules=NEAREST, when_short="park")
    for n in range(ROUNDS):
        eager = n % 4 >= 2
        where = [dc, dc] if n % 2 == 0 else [dc, store]
        product = ProductFactory.create(sku=f"P{n}")
        order = OrderFactory.create(
            channel=web, external_id=f"parked-{n}", lines={product: PARKED_UNITS}
        )
        assert (order.status, held_at(order)) == (OrderStatus.PARKED, {})
        assert order.waiting_since is not None
        queued = Queued(runs=eager)
        monkeypatch.setattr(order_tasks, "orders_route_waiting_task", queued)

        def receive_and_retry(i: int, where: list[Location] = where, p: Product = product) -> Any:
            stock_receive(location=where[i], lines=[(p, PARKED_UNITS)], supplier=f"supplier-{i}")
            return orders_route_waiting(product_ids=[p.pk])

        reports: list[WaitingReport] = run_together(receive_and_retry, threads=2)
        monkeypatch.undo()

        why = (n, eager, reports, held_at(order))
        order.refresh_from_db()
        assert (order.status, order.waiting_since) == (OrderStatus.RESERVED, None), why
        found = allocations(order)
        assert [a.reservation.status for a in found] == [ReservationStatus.ACTIVE] * len(found)
        assert sum(a.quantity for a in found) == PARKED_UNITS, why
        assert len({a.location_id for a in found}) == 1, why  # keep_together
        assert active_held(product) == (PARKED_UNITS, len(found))
        assert levels_of(product) == (2 * PARKED_UNITS, PARKED_UNITS)
        assert retries_that_routed(order) == 1, order.sourcing["decisions"]
        assert sum(r.failed for r in reports) == 0, why
        # A receipt queues a run when, as it commits, the order still waits: the first always;
        # the second too, unless the order was filled before it committed (then nothing waits
        # for it). Unless the runs ran at once, one of the threads' runs filled the order.
        assert queued.calls in ([[product.pk]], [[product.pk], [product.pk]]), why
        assert sum(r.filled for r in reports) == (0 if eager else 1), why
        assert_no_problems(problems)
        assert_invariants()


# --------------------------------------------------------------------------- 2: two retry runs

QUEUE_ROUNDS = 5
UNITS_EACH = 2


def test_two_retry_runs_share_out_too_little_stock_in_queue_order(
    web: Channel,
    live: list[Location],
    monkeypatch: pytest.MonkeyPatch,
    problems: pytest.LogCaptureFixture,
) -> None:
    """Six parked orders of two units; six units arrive (four at the DC, two at store 1) and two
    retry runs start at once. The two promised orders, placed last, and the oldest other order
    are filled, each once; the other three still wait, holding nothing."""
    dc, store, _ = live
    RoutingProfileFactory.create(channel=web, rules=NEAREST, when_short="park")
    # The goods arrive first, queueing a run that does not run; then two runs race for them.
    queued = Queued()
    monkeypatch.setattr(order_tasks, "orders_route_waiting_task", queued)
    for n in range(QUEUE_ROUNDS):
        product = ProductFactory.create(sku=f"Q{n}")
        now = timezone.now()
        older = [
            OrderFactory.create(
                channel=web, external_id=f"old-{n}-{k}", lines={product: UNITS_EACH}
            )
            for k in range(4)
        ]
        promised = [
            OrderFactory.create(
                channel=web,
                external_id=f"promised-{n}-{k}",
                lines={product: UNITS_EACH},
                promised_at=now - timedelta(days=3 - k),
            )
            for k in range(2)
        ]
        assert {o.status for o in older + promised} == {OrderStatus.PARKED}
        stock_receive(location=dc, lines=[(product, 4)])
        stock_receive(location=store, lines=[(product, 2)])
        assert queued.calls[-2:] == [[product.pk], [product.pk]]

        def retry(_: int, p: Product = product) -> WaitingReport:
            return orders_route_waiting(product_ids=[p.pk])

        reports = run_together(retry, threads=2)

        first = [*promised, older[0]]
        for order in first:
            order.refresh_from_db()
            assert (order.status, order.waiting_since) == (OrderStatus.RESERVED, None), (
                n,
                order.external_id,
            )
            assert sum(held_at(order).values()) == UNITS_EACH
            assert len(held_at(order)) == 1
            assert retries_that_routed(order) == 1
        for order in older[1:]:
            order.refresh_from_db()
            assert (order.status, held_at(order)) == (OrderStatus.PARKED, {}), (
                n,
                order.external_id,
            )
            assert order.waiting_since is not None
            assert retries_that_routed(order) == 0
        assert active_held(product)[0] == 3 * UNITS_EACH
        assert levels_of(product) == (6, 6)
        assert sum(r.filled for r in reports) == 3, reports
        assert sum(r.failed for r in reports) == 0, reports
        assert [r.tried for r in reports] == [6, 6], reports
    assert_no_problems(problems)


def test_stock_arriving_during_a_retry_pass_goes_to_the_older_order(
    web: Channel,
    live: list[Location],
    monkeypatch: pytest.MonkeyPatch,
    problems: pytest.LogCaptureFixture,
) -> None:
    """Two parked orders of two units, the older first in the queue, and one unit at the DC. A
    retry pass tries the older order (one unit is not enough); before it reaches the newer one,
    a receipt of one more unit commits, and the run that receipt queued starts a moment later,
    as a task picked up from the broker does. The two units are the older order's: the newer
    one may not jump the queue with units the older one was waiting for."""
    dc, _, _ = live
    RoutingProfileFactory.create(channel=web, rules=NEAREST, when_short="park")
    product = ProductFactory.create(sku="Q")
    older = OrderFactory.create(channel=web, external_id="older", lines={product: UNITS_EACH})
    newer = OrderFactory.create(channel=web, external_id="newer", lines={product: UNITS_EACH})
    queued = Queued()
    monkeypatch.setattr(order_tasks, "orders_route_waiting_task", queued)
    stock_receive(location=dc, lines=[(product, 1)])

    # The first pass stops between the two orders (as it counts the second one tried) until
    # the receipt has committed.
    pausing = threading.local()
    between = threading.Event()
    received = threading.Event()
    first_pass_done = threading.Event()

    class PausingReport(WaitingReport):
        def __setattr__(self, name: str, value: Any) -> None:
            if name == "tried" and value == 2 and getattr(pausing, "on", False):
                between.set()
                assert received.wait(WAIT)
            super().__setattr__(name, value)

    monkeypatch.setattr(order_services.waiting, "WaitingReport", PausingReport)

    def first_pass() -> WaitingReport:
        pausing.on = True
        try:
            return orders_route_waiting(product_ids=[product.pk])
        finally:
            first_pass_done.set()

    def receipt_then_its_run() -> WaitingReport:
        assert between.wait(WAIT)
        stock_receive(location=dc, lines=[(product, 1)])
        received.set()
        assert first_pass_done.wait(WAIT)
        return orders_route_waiting(product_ids=[product.pk])

    reports = run_together(lambda i: receipt_then_its_run() if i else first_pass(), threads=2)

    assert queued.calls == [[product.pk], [product.pk]]
    older.refresh_from_db()
    newer.refresh_from_db()
    assert levels_of(product) == (2, 2)
    assert (older.status, held_at(older)) == (OrderStatus.RESERVED, {"DC1": UNITS_EACH}), (
        f"the newer order took the units: {newer.status} {held_at(newer)}; passes {reports}"
    )
    assert (newer.status, held_at(newer)) == (OrderStatus.PARKED, {})
    assert_no_problems(problems)


# --------------------------------------------------------------------------- 3: daily capacity

CAPACITY = 5
RUSH = 20
CANCELS = 2
LATE = 4


def capacity_today(store: Location, city: City) -> tuple[int, int]:
    """(used, open slots) of the store's ship capacity today."""
    day = city_today(city)
    used = CapacityUse.objects.filter(location=store, service=Service.SHIP, day=day).values_list(
        "used", flat=True
    )
    slots = CapacitySlot.objects.filter(
        location=store, service=Service.SHIP, day=day, released_at__isnull=True
    ).count()
    return (used[0] if used else 0), slots


def orders_holding_at(location: Location) -> set[int]:
    return set(
        Allocation.objects.filter(
            location=location, reservation__status=ReservationStatus.ACTIVE
        ).values_list("line__order_id", flat=True)
    )


def test_a_stores_daily_capacity_holds_under_concurrent_orders_and_cancellations(
    web: Channel, live: list[Location], city: City, problems: pytest.LogCaptureFixture
) -> None:
    """Store 1 takes 5 ship orders a day; 20 orders next door arrive at once, each for its own
    SKU, so they meet only at the day's capacity row. Five go to store 1, fifteen to store 2.
    Then two of store 1's orders are cancelled while four new orders arrive: store 1 never
    takes more than five, and its count ends equal to its open slots and to the orders that
    hold stock there."""
    dc, store, store2 = live
    products = [ProductFactory.create(sku=f"C{n:02d}") for n in range(RUSH)]
    for node in (dc, store, store2):
        stock_receive(location=node, lines=[(p, 10) for p in products])
    location_capacity_set(location=store, service=Service.SHIP, daily_capacity=CAPACITY)
    RoutingProfileFactory.create(channel=web, rules=NEAREST)

    def rush(i: int) -> tuple[int, dict[str, int]]:
        order = OrderFactory.create(channel=web, external_id=f"rush-{i}", lines={products[i]: 1})
        return order.pk, held_at(order)

    placed = run_together(rush, threads=RUSH)

    assert Counter(code for _, held in placed for code in held) == {"S01": CAPACITY, "S02": 15}
    assert all(sum(held.values()) == 1 for _, held in placed)
    assert capacity_today(store, city) == (CAPACITY, CAPACITY)
    at_store = [pk for pk, held in placed if "S01" in held]
    assert orders_holding_at(store) == set(at_store)
    for pk, held in placed:
        if "S02" in held:
            decision = Order.objects.get(pk=pk).sourcing["decisions"][0]
            s01 = next(c for c in decision["candidates"] if c["location"] == "S01")
            assert s01["skipped"].startswith("capacity: "), s01
    assert_invariants()

    # Two cancellations race four new orders; a sampler watches the committed count.
    cancelled = at_store[:CANCELS]
    done = threading.Event()
    remaining = [CANCELS + LATE]
    lock = threading.Lock()
    seen: list[int] = []

    def race(i: int) -> Any:
        if i == CANCELS + LATE:
            while not done.is_set():
                seen.append(capacity_today(store, city)[0])
                time.sleep(0.002)
            seen.append(capacity_today(store, city)[0])
            return "sampled"
        try:
            if i < CANCELS:
                return order_cancel(order=Order(pk=cancelled[i])).status
            order = OrderFactory.create(
                channel=web, external_id=f"late-{i}", lines={products[i]: 1}
            )
            return held_at(order)
        finally:
            with lock:
                remaining[0] -= 1
                if not remaining[0]:
                    done.set()

    results = run_together(race, threads=CANCELS + LATE + 1)

    assert results[:CANCELS] == [OrderStatus.CANCELLED] * CANCELS
    late = results[CANCELS : CANCELS + LATE]
    assert all(sum(held.values()) == 1 and set(held) <= {"S01", "S02"} for held in late), late
    assert max(seen) <= CAPACITY, seen
    used, slots = capacity_today(store, city)
    late_at_store = sum(1 for held in late if "S01" in held)
    assert used == slots == CAPACITY - CANCELS + late_at_store, (used, slots, late)
    assert len(orders_holding_at(store)) == used
    assert used <= CAPACITY
    assert_no_problems(problems)


def test_an_order_that_loses_a_nodes_last_slot_keeps_no_slot_where_it_holds_nothing(
    web: Channel,
    live: list[Location],
    city: City,
    monkeypatch: pytest.MonkeyPatch,
    problems: pytest.LogCaptureFixture,
) -> None:
    """Stores 1 and 2 each take one ship order a day. An order wants A, found only at one
    store, and B, found only at the other, so it is split over both. While it is being routed
    (after it read the day's capacity, before it takes its slots) another order takes the B
    store's only slot. The split order cannot be filled and parks, holding nothing: it must not
    keep the A store's slot either, or that store turns away the next order for A while it has
    no work at all."""
    _, store, store2 = live
    a, b, c = (
        ProductFactory.create(sku="A"),
        ProductFactory.create(sku="B"),
        ProductFactory.create(sku="C"),
    )
    # The service takes a plan's slots in location id order: the store that turns out full is
    # the later one, so the other store's slot has been taken when it is found full.
    first, second = sorted((store, store2), key=lambda loc: loc.pk)
    stock_receive(location=first, lines=[(a, 2)])
    stock_receive(location=second, lines=[(b, 2), (c, 2)])
    for node in (first, second):
        location_capacity_set(location=node, service=Service.SHIP, daily_capacity=1)
    RoutingProfileFactory.create(channel=web, rules=["nearest_first"], when_short="park")

    pausing = threading.local()
    capacity_read = threading.Event()
    slot_taken = threading.Event()
    read_capacity = order_services.sourcing.capacity_of

    def capacity_of_then_wait(**kwargs: Any) -> Any:
        found = read_capacity(**kwargs)
        if getattr(pausing, "on", False):
            capacity_read.set()
            assert slot_taken.wait(WAIT)
        return found

    monkeypatch.setattr(order_services.sourcing, "capacity_of", capacity_of_then_wait)

    def split_order() -> Order:
        pausing.on = True
        return OrderFactory.create(channel=web, external_id="split", lines={a: 1, b: 1})

    def takes_the_last_slot() -> Order:
        assert capacity_read.wait(WAIT)
        try:
            return OrderFactory.create(channel=web, external_id="c-only", lines={c: 1})
        finally:
            slot_taken.set()

    split, c_only = run_together(lambda i: takes_the_last_slot() if i else split_order(), threads=2)

    assert held_at(c_only) == {second.code: 1}
    assert capacity_today(second, city) == (1, 1)
    assert (split.status, held_at(split)) == (OrderStatus.PARKED, {})
    open_slots = list(
        CapacitySlot.objects.filter(order=split, released_at__isnull=True).values_list(
            "location__code", flat=True
        )
    )
    assert open_slots == [], f"the parked order holds nothing but keeps a slot at {open_slots}"
    assert capacity_today(first, city) == (0, 0)
    assert held_at(OrderFactory.create(channel=web, external_id="a-only", lines={a: 1})) == {
        first.code: 1
    }
    assert_no_problems(problems)


# --------------------------------------------------------------------------- 4: buffer change

SHELF = 20
BUYERS = 6
ORDERS_EACH = 4
# Each buyer's first orders race the change (made once three orders are placed); its last ones
# wait until the change has committed, so some orders surely start after it.
RACING = 2
BEFORE_CHANGE = 3


@dataclass
class Timed:
    external_id: str
    started: float
    ended: float


@pytest.mark.parametrize(("old", "new"), [(2, 6), (6, 2)], ids=["raised", "lowered"])
def test_a_buffer_change_racing_orders_is_seen_whole_and_in_lock_order(
    web: Channel,
    live: list[Location],
    old: int,
    new: int,
    problems: pytest.LogCaptureFixture,
) -> None:
    """Store 1 has the only 20 units of A, and web may not take the last ``old`` of them.
    Six threads place one-unit orders one after another; once three are placed, another thread
    changes the buffer to ``new`` (each thread's last two orders wait for the change to have
    committed). Every order saw one buffer or the other, whole; once one order saw the new
    buffer, every later one did; an order that started after the change committed never took
    units inside the new buffer, and one that ended before it began never took units inside
    the old one."""
    _, store, _ = live
    a = ProductFactory.create(sku="A")
    stock_receive(location=store, lines=[(a, SHELF)])
    channel_buffer_set(channel=web, location=store, units=old)
    committed = threading.Condition()
    placed_so_far = [0]
    change: dict[str, float] = {}
    timed: list[Timed] = []
    changed = threading.Event()

    def change_buffer() -> str:
        with committed:
            assert committed.wait_for(lambda: placed_so_far[0] >= BEFORE_CHANGE, WAIT)
        change["started"] = time.monotonic()
        channel_buffer_set(channel=web, location=store, units=new)
        change["committed"] = time.monotonic()
        changed.set()
        return "changed"

    def buy(i: int) -> list[str]:
        outcomes = []
        for k in range(ORDERS_EACH):
            external_id = f"buy-{i}-{k}"
            if k == RACING:
                assert changed.wait(WAIT)
            started = time.monotonic()
            try:
                OrderFactory.create(channel=web, external_id=external_id, lines={a: 1})
            except InsufficientStock:
                outcomes.append("refused")
                continue
            except DatabaseError as exc:  # a deadlock or a serialisation failure: shown
                outcomes.append(f"database error: {exc!r}")
                continue
            timed.append(Timed(external_id, started, time.monotonic()))
            with committed:
                placed_so_far[0] += 1
                committed.notify_all()
            outcomes.append("placed")
        return outcomes

    results = run_together(lambda i: change_buffer() if i == BUYERS else buy(i), threads=BUYERS + 1)

    assert results[BUYERS] == "changed"
    outcomes = Counter(o for r in results[:BUYERS] for o in r)
    assert set(outcomes) <= {"placed", "refused"}, outcomes
    held = StockLevel.objects.get(location=store, product=a).reserved
    assert held == outcomes["placed"] == len(timed)
    assert held <= SHELF - min(old, new)

    # Each order's recorded decision says what store 1 could give it: available less the
    # buffer it read. Holds at store 1 are created under its stock-level lock, so their ids
    # are in lock order and the units before each are the holds with smaller ids.
    when = {t.external_id: t for t in timed}
    holds = Reservation.objects.filter(location=store, product=a).order_by("id")
    read = []
    for before, hold in enumerate(holds):
        order = Order.objects.get(lines__allocations__reservation=hold)
        candidates = order.sourcing["decisions"][0]["candidates"]
        sellable = next(c for c in candidates if c["location"] == "S01")["sellable"]["A"]
        buffer = SHELF - before - sellable
        assert buffer in (old, new), (order.external_id, before, sellable)
        assert before + 1 <= SHELF - buffer
        t = when[order.external_id]
        if t.started > change["committed"]:
            assert buffer == new, (order.external_id, before, sellable)
        if t.ended < change["started"]:
            assert buffer == old, (order.external_id, before, sellable)
        read.append(buffer)
    after = [t for t in timed if t.started > change["committed"]]
    assert after, "no order placed after the change: the check above proved nothing"
    switch = read.index(new) if new in read else len(read)
    assert read == [old] * switch + [new] * (len(read) - switch), read

    # An order placed now sees the new buffer.
    if held < SHELF - new:
        assert held_at(OrderFactory.create(channel=web, external_id="after", lines={a: 1})) == {
            "S01": 1
        }
    else:
        with pytest.raises(InsufficientStock):
            OrderFactory.create(channel=web, external_id="after", lines={a: 1})
    assert_no_problems(problems)


# --------------------------------------------------------------------------- 5: the city mutex


def test_an_order_placed_while_its_citys_queue_is_routed_does_not_deadlock(
    web: Channel,
    live: list[Location],
    monkeypatch: pytest.MonkeyPatch,
    problems: pytest.LogCaptureFixture,
) -> None:
    """A run of the waiting queue holds its city's mutex (the City row) while it routes a
    parked order; at that moment an order placed in the same city holds the stock levels the
    run needs next, and on commit PostgreSQL checks the new order's reference to the City row
    (FOR KEY SHARE). The mutex must let that check through, or each waits for the other. The
    interleaving is made exact: the new order, its stock levels locked, waits until the run
    holds the mutex; the run starts once the new order holds its levels."""
    dc, _, _ = live
    RoutingProfileFactory.create(channel=web, rules=NEAREST, when_short="park")
    a = ProductFactory.create(sku="A")
    stock_receive(location=dc, lines=[(a, 5)])
    parked = OrderFactory.create(channel=web, external_id="parked", lines={a: 10})
    assert parked.status == OrderStatus.PARKED
    monkeypatch.setattr(order_tasks, "orders_route_waiting_task", Queued())

    placing_holds_levels, run_holds_mutex = threading.Event(), threading.Event()
    role = threading.local()
    real_route, real_lock_order = order_services.sourcing.route, order_services.waiting.lock_order

    def route(*args: Any, **kwargs: Any) -> Any:
        if getattr(role, "name", "") == "placing":
            placing_holds_levels.set()
            assert run_holds_mutex.wait(WAIT)
        return real_route(*args, **kwargs)

    def lock_order(order_id: int) -> Order:
        if getattr(role, "name", "") == "run":
            run_holds_mutex.set()
        return real_lock_order(order_id)

    monkeypatch.setattr(order_services.sourcing, "route", route)
    monkeypatch.setattr(order_services.waiting, "lock_order", lock_order)

    def work(thread: int) -> str:
        role.name = "placing" if thread == 0 else "run"
        try:
            if thread == 0:
                OrderFactory.create(channel=web, external_id="new", lines={a: 1})
            else:
                assert placing_holds_levels.wait(WAIT)
                orders_route_waiting()
        except DatabaseError as exc:  # a deadlock: what this test is about
            return f"database error: {exc!r}"
        return "done"

    assert run_together(work, threads=2) == ["done", "done"]
    assert held_at(Order.objects.get(external_id="new")) == {"DC1": 1}
    parked.refresh_from_db()
    assert parked.status == OrderStatus.PARKED  # 4 left: still not enough for all 10
    assert_no_problems(problems)
