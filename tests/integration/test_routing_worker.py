"""Parked orders filled by real Celery workers when stock arrives: two receipts committed at the
same moment each announce the stock, each queues a routing run on Redis, two workers run them
at once — every parked order is filled exactly once, oldest first, and the ledger holds."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import pytest
from django.db.models import Sum

from inventory.models import Reservation, ReservationStatus
from inventory.services import stock_receive
from network.models import (
    ChannelKind,
    Service,
)
from orders.models import Allocation, Order, OrderStatus
from orders.services import DeliveryPoint, LineIn, order_place
from tests.factories import (
    ChannelFactory,
    CityFactory,
    DcFactory,
    LocationServiceFactory,
    ProductFactory,
    RoutingProfileFactory,
)

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = 6
UNITS = 3  # per order


def _wait(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_two_receipts_at_once_fill_each_parked_order_once_on_real_workers(
    start_worker: Callable[[str], subprocess.Popen[bytes]],
) -> None:
    city = CityFactory.create(code="rw", name="Route City", latitude=30.27, longitude=120.15)
    dc = DcFactory.create(code="RW-DC", name="DC", city=city, latitude=30.18, longitude=120.26)
    LocationServiceFactory.go_live(dc, Service.SHIP)
    web = ChannelFactory.create(
        code="rw-web", name="Web", kind=ChannelKind.WEB, city=city, serves=[dc]
    )
    RoutingProfileFactory.create(channel=web, rules=["keep_together"], when_short="park")
    product = ProductFactory.create(sku="RW-1")
    orders = []
    for n in range(ORDERS):
        order, _ = order_place(
            channel=web,
            external_id=f"rw-{n}",
            mode="delivery",
            lines=[LineIn(product=product, quantity=UNITS)],
            delivery=DeliveryPoint(latitude=30.2, longitude=120.2),
        )
        assert order.status == OrderStatus.PARKED
        orders.append(order)

    start_worker("routing-a")
    start_worker("routing-b")
    # Two deliveries at the same moment, together enough for all but the newest order.
    units = ORDERS * UNITS - UNITS
    halves = [units // 2, units - units // 2]
    run_together(lambda i: stock_receive(location=dc, lines=[(product, halves[i])]), threads=2)

    def filled() -> int:
        return Order.objects.filter(status=OrderStatus.RESERVED).count()

    _wait(lambda: filled() == ORDERS - 1, timeout=60, what="the workers to fill the orders")
    time.sleep(1.0)  # let any second run finish: it must change nothing
    statuses = dict(Order.objects.values_list("external_id", "status"))
    assert statuses[f"rw-{ORDERS - 1}"] == OrderStatus.PARKED  # the newest waits
    for order in orders[:-1]:
        held = Allocation.objects.filter(
            line__order=order, reservation__status=ReservationStatus.ACTIVE
        ).aggregate(units=Sum("quantity"))["units"]
        assert held == UNITS, f"{order.external_id} holds {held}"
    active = Reservation.objects.filter(status=ReservationStatus.ACTIVE)
    assert active.aggregate(units=Sum("quantity"))["units"] == units
