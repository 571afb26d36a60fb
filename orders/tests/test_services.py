"""Placing, sourcing, paying, cancelling, changing and expiring orders through the services,
with the ledger invariants checked after each story."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.invariants import assert_invariants
from inventory.models import (
    Location,
    Product,
    ReservationStatus,
    StockDiscrepancy,
    StockMove,
)
from network.models import Channel, ShelfProtection
from orders.errors import (
    ChannelNotLive,
    ExternalIdReused,
    ModeNotAllowed,
    OrderInvalidState,
    StoreNotLive,
)
from orders.models import Order, OrderStatus, PaymentStatus
from orders.services import (
    DeliveryPoint,
    LineIn,
    order_cancel,
    order_line_set_quantity,
    order_pay,
    order_place,
    orders_expire_unpaid,
)
from tests.factories import NEAR_DC, NEAR_S01, OrderFactory, ReceiptFactory
from tests.helpers import stock_level


def held_at(order: Order) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for line in order.lines.all():
        for a in line.allocations.filter(reservation__status=ReservationStatus.ACTIVE):
            out[(a.location.code, line.product.sku)] = (
                out.get((a.location.code, line.product.sku), 0) + a.quantity
            )
    return out


def test_one_node_serves_the_whole_order_even_when_a_nearer_node_has_part(
    web: Channel, dc: Location, store: Location, skus: tuple[Product, ...]
) -> None:
    a, b, _ = skus
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 10})
    ReceiptFactory.create(location=store, lines={"A": 10})  # nearest, but has only A
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 2, b: 1})
    assert held_at(order) == {("DC1", "A"): 2, ("DC1", "B"): 1}
    assert order.status == OrderStatus.RESERVED
    assert "one node serves the whole order: DC1" in order.sourcing_reason
    decision = order.sourcing["decisions"][0]
    assert {c["location"] for c in decision["candidates"]} == {"DC1", "S01", "S02"}
    assert_invariants()


def test_nearest_node_wins_among_nodes_that_can_serve_it_all(
    web: Channel, dc: Location, store: Location, store2: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    for loc in (dc, store, store2):
        ReceiptFactory.create(location=loc, lines={"A": 5})
    near_store = OrderFactory.create(channel=web, external_id="w1", lines={a: 1}, delivery=NEAR_S01)
    near_dc = OrderFactory.create(channel=web, external_id="w2", lines={a: 1}, delivery=NEAR_DC)
    assert held_at(near_store) == {("S01", "A"): 1}
    assert held_at(near_dc) == {("DC1", "A"): 1}


def test_delivery_never_takes_protected_shelf_stock(
    web: Channel, dc: Location, store: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ShelfProtection.objects.filter(location=store, product=None).update(quantity=2)
    ShelfProtection.objects.create(location=store, product=a, quantity=3)  # per SKU wins
    ReceiptFactory.create(location=store, lines={"A": 4})
    ReceiptFactory.create(location=dc, lines={"A": 1})
    # S01 may give only 4 - 3 = 1, the DC 1: two units need both nodes.
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 2})
    assert held_at(order) == {("S01", "A"): 1, ("DC1", "A"): 1}
    with pytest.raises(InsufficientStock) as refused:
        OrderFactory.create(channel=web, external_id="w2", lines={a: 1})
    assert refused.value.detail["lines"] == [{"sku": "A", "requested": 1, "available": 0}]
    assert stock_level(store, a).reserved == 1  # the refused order held nothing
    assert_invariants()


def test_split_uses_the_fewest_nodes(
    web: Channel, dc: Location, store: Location, store2: Location, skus: tuple[Product, ...]
) -> None:
    a, b, c = skus
    ReceiptFactory.create(location=store, lines={"A": 2})  # nearest, but only A
    ReceiptFactory.create(location=store2, lines={"B": 2})
    # B and C: with S01 that is two nodes, not three
    ReceiptFactory.create(location=dc, lines={"B": 2, "C": 2})
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 1, b: 1, c: 1})
    assert set(held_at(order)) == {("S01", "A"), ("DC1", "B"), ("DC1", "C")}
    assert "split over 2 nodes" in order.sourcing_reason


def test_refused_without_backorders_and_backordered_with_them(
    web: Channel, dc: Location, skus: tuple[Product, ...]
) -> None:
    a, b, _ = skus
    ReceiptFactory.create(location=dc, lines={"A": 3})
    with pytest.raises(InsufficientStock):
        OrderFactory.create(channel=web, external_id="w1", lines={a: 5})
    assert not Order.objects.exists()
    Channel.objects.filter(pk=web.pk).update(allow_backorder=True)
    web.refresh_from_db()
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 5, b: 1})
    assert order.status == OrderStatus.BACKORDERED
    assert held_at(order) == {("DC1", "A"): 3}
    assert order.sourcing["decisions"][0]["short"] == {"A": 2, "B": 1}
    assert_invariants()


def test_pickup_refusal_lists_the_nearest_live_stores_that_have_it(
    web: Channel, store: Location, store2: Location, store3: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=store2, lines={"A": 5})
    # not live for pickup yet: never suggested
    ReceiptFactory.create(location=store3, lines={"A": 5})
    with pytest.raises(InsufficientStock) as refused:
        OrderFactory.create(channel=web, external_id="p1", lines={a: 2}, mode="pickup", store=store)
    alternatives = refused.value.detail["alternatives"]
    assert [alt["store"] for alt in alternatives] == ["S02"]
    order = OrderFactory.create(
        channel=web, external_id="p2", lines={a: 2}, mode="pickup", store=store2
    )
    assert held_at(order) == {("S02", "A"): 2}


def test_a_store_not_live_is_never_chosen(
    web: Channel, dc: Location, store3: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    from network.models import ChannelLocation

    ChannelLocation.objects.create(channel=web, location=store3, priority=0)
    ReceiptFactory.create(location=store3, lines={"A": 5})
    ReceiptFactory.create(location=dc, lines={"A": 5})
    order = OrderFactory.create(
        channel=web,
        external_id="w1",
        lines={a: 1},
        delivery=DeliveryPoint(latitude=30.2701, longitude=120.1601),
    )
    assert held_at(order) == {("DC1", "A"): 1}
    assert "S03" not in {c["location"] for c in order.sourcing["decisions"][0]["candidates"]}
    with pytest.raises(StoreNotLive):
        OrderFactory.create(
            channel=web, external_id="p1", lines={a: 1}, mode="pickup", store=store3
        )


def test_retry_with_the_same_external_id_returns_the_first_order(
    web: Channel, dc: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=dc, lines={"A": 5})
    first = OrderFactory.create(channel=web, external_id="w1", lines={a: 2})
    again, created = order_place(
        channel=web,
        external_id="w1",
        mode="delivery",
        delivery=NEAR_S01,
        lines=[LineIn(product=a, quantity=2)],
    )
    assert (again.pk, created) == (first.pk, False)
    assert stock_level(dc, a).reserved == 2
    with pytest.raises(ExternalIdReused):
        order_place(
            channel=web,
            external_id="w1",
            mode="delivery",
            delivery=NEAR_S01,
            lines=[LineIn(product=a, quantity=3)],
        )


def test_pay_cancel_and_change_a_line(
    web: Channel, dc: Location, store: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=dc, lines={"A": 10})
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 2}, delivery=NEAR_DC)
    assert order.hold_expires_at is not None
    order = order_line_set_quantity(order=order, product=a, quantity=5)
    assert stock_level(dc, a).reserved == 5
    order = order_line_set_quantity(order=order, product=a, quantity=3)
    assert stock_level(dc, a).reserved == 3 and held_at(order) == {("DC1", "A"): 3}
    with pytest.raises(InsufficientStock):
        order_line_set_quantity(order=order, product=a, quantity=11)
    assert order.lines.get().quantity == 3 and stock_level(dc, a).reserved == 3
    order = order_pay(order=order)
    assert order.payment_status == PaymentStatus.PAID and order.hold_expires_at is None
    order = order_cancel(order=order)
    assert order.status == OrderStatus.CANCELLED
    assert stock_level(dc, a).reserved == 0
    assert order_cancel(order=order).status == OrderStatus.CANCELLED  # a retry changes nothing
    assert_invariants()


def test_unpaid_holds_expire_once(web: Channel, dc: Location, skus: tuple[Product, ...]) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=dc, lines={"A": 10})
    unpaid = OrderFactory.create(channel=web, external_id="w1", lines={a: 2}, delivery=NEAR_DC)
    OrderFactory.create(channel=web, external_id="w0", lines={a: 1}, delivery=NEAR_DC)
    paid = order_pay(
        order=OrderFactory.create(channel=web, external_id="w2", lines={a: 3}, delivery=NEAR_DC)
    )
    later = timezone.now() + timedelta(minutes=web.hold_minutes + 1)
    assert orders_expire_unpaid(now=timezone.now()) == 0
    assert orders_expire_unpaid(now=later, batch_size=1) == 2  # batch after batch
    assert orders_expire_unpaid(now=later) == 0
    unpaid.refresh_from_db()
    paid.refresh_from_db()
    assert (unpaid.status, paid.status) == (OrderStatus.EXPIRED, OrderStatus.RESERVED)
    assert stock_level(dc, a).reserved == 3
    with pytest.raises(OrderInvalidState):
        order_pay(order=unpaid)
    with pytest.raises(OrderInvalidState):
        order_cancel(order=unpaid)
    assert_invariants()


def test_counter_sale_of_more_than_the_system_shows(
    web: Channel,
    pos: Channel,
    dc: Location,
    store: Location,
    skus: tuple[Product, ...],
    django_capture_on_commit_callbacks: object,
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=store, lines={"A": 2})
    ReceiptFactory.create(location=dc, lines={"A": 5})
    # holds both of S01's units
    held = OrderFactory.create(channel=web, external_id="w1", lines={a: 2}, delivery=NEAR_S01)
    assert held_at(held) == {("S01", "A"): 2}
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        sale = OrderFactory.create(
            channel=pos, external_id="till-1", lines={a: 3}, mode="store_sale", store=store
        )
    assert (sale.status, sale.payment_status) == (OrderStatus.COMPLETED, PaymentStatus.PAID)
    # The customer held 3 where the system showed 2: +1 adjustment, flagged for a count.
    flag = StockDiscrepancy.objects.get()
    assert (flag.system_quantity, flag.observed_quantity) == (2, 3)
    assert StockMove.objects.filter(reference=sale.reference, reason="sale").get().quantity == 3
    assert stock_level(store, a).on_hand == 0
    # The web order's holds were taken; it was re-sourced to the DC.
    held.refresh_from_db()
    assert held_at(held) == {("DC1", "A"): 2}
    assert held.status == OrderStatus.RESERVED
    assert_invariants()


def test_counter_sale_only_from_the_pos_channel(
    web: Channel, store: Location, skus: tuple[Product, ...]
) -> None:
    with pytest.raises(ModeNotAllowed):
        OrderFactory.create(
            channel=web, external_id="x", lines={skus[0]: 1}, mode="store_sale", store=store
        )


def test_a_channel_not_live_in_the_city_takes_no_orders(
    web: Channel, dc: Location, skus: tuple[Product, ...]
) -> None:
    from datetime import date

    from network.models import ChannelCity

    ReceiptFactory.create(location=dc, lines={"A": 5})
    ChannelCity.objects.filter(channel=web).update(starts_on=date.today() + timedelta(days=3))
    with pytest.raises(ChannelNotLive):
        OrderFactory.create(channel=web, external_id="w1", lines={skus[0]: 1})
    assert not Order.objects.exists()
