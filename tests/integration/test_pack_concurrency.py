"""Packing by scanning under real contention on PostgreSQL: packers scanning the last unit of
one order at the same moment pack it once; one scan id sent from many threads at once counts
once; units sorted to order at several stations at once go one to each wanting order, never
over-packed. The shipments that follow leave the ledger exact (the folder's conftest checks
its invariants after each test)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from fulfillment import packing, services
from fulfillment.errors import NothingToSort, OverPack
from fulfillment.models import PackageStatus, PackScan, PickLine
from fulfillment.tests.fixtures import pick_all
from inventory.models import Location, Product, StockMove
from network.models import Channel
from orders.models import Order, OrderStatus
from tests.factories import NEAR_DC, OrderFactory, ProductFactory, ReceiptFactory
from tests.helpers import level

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

PACKERS = 8


@pytest.fixture
def a(db: Any) -> Product:
    return ProductFactory.create(sku="A", barcode="6900000000017")


def _picked_order(web: Channel, dc: Location, product: Product, units: int, ext: str) -> Order:
    order = OrderFactory.create(
        channel=web, external_id=ext, lines={product: units}, delivery=NEAR_DC, paid=True
    )
    return order


def _ship(order: Order, dc: Location) -> None:
    package = order.packages.get(status=PackageStatus.OPEN)
    packing.package_close(package=package, carrier="SF Express")
    packing.order_packages_ship(order=order, location=dc)


def test_packers_scanning_the_last_unit_of_an_order_at_once_pack_it_once(
    web: Channel, dc: Location, a: Product
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 10})
    order = _picked_order(web, dc, a, 3, "w1")
    pick_all(services.pick_wave_create(location=dc))
    for n in range(2):
        packing.package_scan(order=order, location=dc, scanned="A", scan_id=f"first-{n}")

    def scan(i: int) -> str:
        try:
            packing.package_scan(order=order, location=dc, scanned="A", scan_id=f"last-{i}")
        except OverPack:
            return "refused"
        return "packed"

    outcome = Counter(run_together(scan, threads=PACKERS))
    assert outcome == {"packed": 1, "refused": PACKERS - 1}
    line = PickLine.objects.get(allocation__line__order=order)
    assert (line.picked, line.packed) == (3, 3)
    assert PackScan.objects.count() == 3
    assert sum(order.packages.get().lines.values_list("quantity", flat=True)) == 3
    _ship(order, dc)
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert StockMove.objects.get(reference=order.reference, reason="ship").quantity == 3
    assert level(dc, a) == (7, 0)


def test_one_scan_id_sent_from_many_threads_at_once_counts_once(
    web: Channel, dc: Location, a: Product
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 10})
    order = _picked_order(web, dc, a, 3, "w1")
    pick_all(services.pick_wave_create(location=dc))

    def scan(_: int) -> tuple[int, bool]:
        result = packing.package_scan(
            order=order, location=dc, scanned="6900000000017", scan_id="device-7-42"
        )
        return result.scan.pk, result.repeated

    results = run_together(scan, threads=PACKERS)
    assert len({pk for pk, _ in results}) == 1
    assert sorted(repeated for _, repeated in results) == [False] + [True] * (PACKERS - 1)
    assert PickLine.objects.get(allocation__line__order=order).packed == 1
    assert PackScan.objects.count() == 1


def test_units_sorted_to_order_at_several_stations_at_once_fill_each_order_exactly(
    web: Channel, dc: Location, a: Product
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 20})
    orders = [_picked_order(web, dc, a, 2, f"w{n}") for n in range(3)]
    pick_all(services.pick_wave_create(location=dc))

    def scan(i: int) -> int | str:
        try:
            result = packing.pack_station_scan(location=dc, product=a, scan_id=f"station-{i}")
        except NothingToSort:
            return "nothing"
        assert result is not None
        return result.order.pk

    outcome = Counter(run_together(scan, threads=PACKERS))
    assert outcome == {orders[0].pk: 2, orders[1].pk: 2, orders[2].pk: 2, "nothing": 2}
    for order in orders:
        line = PickLine.objects.get(allocation__line__order=order)
        assert (line.picked, line.packed) == (2, 2)
        _ship(order, dc)
    assert level(dc, a) == (14, 0)
