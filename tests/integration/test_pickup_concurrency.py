"""Store pickup under real contention on PostgreSQL: one code scanned at twenty counters at
the same moment is handed over once, and two no-show runs at once put each expired pickup back
on the shelf once. Every thread has its own connection (``threads.run_together``); the ledger
invariants are checked after each test by the folder's conftest."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError

from fulfillment import services
from fulfillment.errors import PickupCodeUsed
from fulfillment.models import Notification, PickupAttempt, PickupCode
from fulfillment.tests.fixtures import pickup_ready
from inventory import services as stock_services
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
from orders.models import Order, OrderStatus
from tests.factories import (
    ChannelFactory,
    LocationServiceFactory,
    PickupOrderFactory,
    ProductFactory,
    ReceiptFactory,
)
from tests.helpers import level

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

COUNTERS = 20
ON_SHELF = 5
PICKUP_UNITS = 2
NO_SHOWS = 10


@pytest.fixture
def web(city: City, store: Location) -> Channel:
    """A web channel offering pickup at S01, no units kept back on the shelf."""
    LocationServiceFactory.go_live(store, Service.PICKUP, Service.SHIP)
    ShelfProtection.objects.create(location=store, product=None, quantity=0)
    return ChannelFactory.create(code="web", kind=ChannelKind.WEB, city=city, serves=[store])


@pytest.fixture
def a(db: Any) -> Product:
    return ProductFactory.create(sku="A")


def ready_pickup(web: Channel, store: Location, product: Product, ext: str) -> PickupCode:
    """A pickup of PICKUP_UNITS at ``store``: placed, prepared, picked, marked ready."""
    return pickup_ready(
        PickupOrderFactory.create(
            channel=web, external_id=ext, store=store, lines={product: PICKUP_UNITS}
        )
    )


def test_one_code_scanned_at_twenty_counters_at_once_is_handed_over_once(
    web: Channel, store: Location, a: Product
) -> None:
    ReceiptFactory.create(location=store, lines={"A": ON_SHELF})
    code = ready_pickup(web, store, a, "p1")
    token = services.pickup_token(code)
    assert level(store, a) == (ON_SHELF, PICKUP_UNITS)

    def scan(_: int) -> str:
        try:
            order = services.pickup_redeem(token=token, store=store)
        except PickupCodeUsed:
            return "used"
        except DatabaseError as exc:  # a deadlock or serialisation failure: shown, not hidden
            return f"database error: {exc!r}"
        return f"handed over: order {order.pk} {order.status}"

    outcomes = Counter(run_together(scan, threads=COUNTERS))

    assert outcomes == {
        f"handed over: order {code.order_id} {OrderStatus.COMPLETED}": 1,
        "used": COUNTERS - 1,
    }
    order = Order.objects.get(pk=code.order_id)
    assert (order.status, order.payment_status) == (OrderStatus.COMPLETED, "paid")
    (handed,) = StockMove.objects.filter(reason="pickup")
    assert (handed.quantity, handed.from_location_id, handed.reference) == (
        PICKUP_UNITS,
        store.pk,
        order.reference,
    )
    assert level(store, a) == (ON_SHELF - PICKUP_UNITS, 0)
    assert not Reservation.objects.filter(status=ReservationStatus.ACTIVE).exists()
    code.refresh_from_db()
    assert code.redeemed_at is not None
    attempts = Counter(PickupAttempt.objects.values_list("result", flat=True))
    assert attempts == {"redeemed": 1, "pickup_code_used": COUNTERS - 1}
    assert set(PickupAttempt.objects.values_list("code_id", flat=True)) == {code.pk}


def test_two_no_show_runs_at_once_put_each_pickup_back_once(
    web: Channel, store: Location, a: Product, monkeypatch: pytest.MonkeyPatch
) -> None:
    ReceiptFactory.create(location=store, lines={"A": NO_SHOWS * PICKUP_UNITS + 1})
    codes = [ready_pickup(web, store, a, f"no-show-{n}") for n in range(NO_SHOWS)]
    holds = set(
        Reservation.objects.filter(status=ReservationStatus.ACTIVE).values_list("pk", flat=True)
    )
    assert len(holds) == NO_SHOWS
    assert level(store, a) == (NO_SHOWS * PICKUP_UNITS + 1, NO_SHOWS * PICKUP_UNITS)
    later = max(c.expires_at for c in codes) + timedelta(seconds=1)
    assert services.pickups_expire_no_shows(now=later - timedelta(minutes=1)) == 0  # none due

    releases: list[int] = []
    release = stock_services.reservation_release

    def counting_release(*, reservation: Reservation, **kwargs: Any) -> Reservation:
        releases.append(reservation.pk)
        return release(reservation=reservation, **kwargs)

    monkeypatch.setattr(stock_services, "reservation_release", counting_release)

    expired = run_together(lambda _: services.pickups_expire_no_shows(now=later), threads=2)

    assert sum(expired) == NO_SHOWS
    assert Order.objects.filter(status=OrderStatus.EXPIRED).count() == NO_SHOWS
    # Each hold was released once: one attempt, one close, by the no-show run.
    assert Counter(releases) == dict.fromkeys(holds, 1)
    closes = Counter(Reservation.objects.values_list("status", "close_reason"))
    assert closes == {(ReservationStatus.RELEASED, "pickup not collected"): NO_SHOWS}
    assert not StockLevel.objects.exclude(reserved=0).exists()
    assert level(store, a) == (NO_SHOWS * PICKUP_UNITS + 1, 0)  # all back on the shelf
    assert not StockMove.objects.exclude(reason="receipt").exists()
    # One message per no-show: the loser of each race told nobody.
    assert Notification.objects.filter(kind="pickup_expired").count() == NO_SHOWS
    assert services.pickups_expire_no_shows(now=later) == 0
