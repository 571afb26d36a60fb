"""Routing through the services: channel buffers, profiles (draft, active, versions), daily
capacity and pickup hours, parked orders and the waiting queue. Ledger invariants are checked
after each story that moves stock."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, StockDiscrepancy
from inventory.services import (
    stock_receive,
    stock_return,
    transfer_approve,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from network.models import Channel, ConfigChange, LocationService, Service
from network.services import (
    channel_buffer_set,
    location_capacity_set,
    routing_profile_activate,
    routing_profile_create,
    routing_profile_deactivate,
)
from omni.selectors import city_today
from orders.capacity import capacity_of
from orders.errors import PickupCapacityFull
from orders.models import Order, OrderStatus
from orders.selectors import available_to_promise, waiting_summary
from orders.services import (
    DeliveryPoint,
    order_cancel,
    orders_route_waiting,
)
from tests.factories import (
    OrderFactory,
    ReceiptFactory,
    RoutingProfileFactory,
)
from tests.helpers import held_at

# --------------------------------------------------------------------------- buffers


def test_a_buffer_blocks_the_channel_but_not_the_stores_counter(
    web: Channel, pos: Channel, store: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=store, lines={"A": 3})
    channel_buffer_set(channel=web, location=store, units=3)
    with pytest.raises(InsufficientStock):
        OrderFactory.create(channel=web, external_id="w1", lines={a: 1}, mode="pickup", store=store)
    sale = OrderFactory.create(
        channel=pos, external_id="till-1", lines={a: 3}, mode="store_sale", store=store
    )
    assert sale.status == OrderStatus.COMPLETED
    assert not StockDiscrepancy.objects.exists()  # the counter sold what the system had
    assert_invariants()


def test_a_buffer_and_shelf_protection_keep_back_the_larger_not_the_sum(
    web: Channel, store: Location, skus: tuple[Product, ...], live_city: Any
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=store, lines={"A": 10})
    store.shelf_protections.filter(product=None).update(quantity=4)
    channel_buffer_set(channel=web, location=None, units=3)
    atp = available_to_promise(channel=web, city=live_city, product_ids=[a.pk])
    assert atp[a.pk]["available"] == 6  # 10 - max(3, 4)
    pickup_atp = available_to_promise(
        channel=web, city=live_city, product_ids=[a.pk], service=Service.PICKUP
    )
    assert pickup_atp[a.pk]["available"] == 7  # pickups: only the buffer
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 6})
    assert held_at(order) == {"S01": 6}
    with pytest.raises(InsufficientStock):
        OrderFactory.create(channel=web, external_id="w2", lines={a: 1})


def test_a_buffer_change_applies_to_the_next_order_and_is_audited(
    web: Channel, store: Location, skus: tuple[Product, ...], admin_user: Any
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=store, lines={"A": 2})
    channel_buffer_set(channel=web, location=store, units=2, actor=admin_user)
    with pytest.raises(InsufficientStock):
        OrderFactory.create(channel=web, external_id="w1", lines={a: 1}, mode="pickup", store=store)
    channel_buffer_set(channel=web, location=store, units=1, actor=admin_user)
    assert held_at(
        OrderFactory.create(channel=web, external_id="w2", lines={a: 1}, mode="pickup", store=store)
    ) == {"S01": 1}
    changes = list(ConfigChange.objects.filter(kind="channel_buffer").order_by("id"))
    assert [(c.old, c.new, c.actor, c.target) for c in changes] == [
        (None, 2, admin_user, "web@S01"),
        (2, 1, admin_user, "web@S01"),
    ]
    channel_buffer_set(channel=web, location=store, units=1, actor=admin_user)
    assert ConfigChange.objects.filter(kind="channel_buffer").count() == 2  # same value


# --------------------------------------------------------------------------- profiles


def test_a_draft_profile_never_routes(
    web: Channel, dc: Location, store: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=dc, lines={"A": 5})
    ReceiptFactory.create(location=store, lines={"A": 5})
    draft = routing_profile_create(
        channel=web, city=None, rules=[{"rule": "exclude_kinds", "kinds": ["warehouse"]}]
    )
    order = OrderFactory.create(
        channel=web,
        external_id="w1",
        lines={a: 1},
        delivery=DeliveryPoint(latitude=30.18, longitude=120.26),
    )
    assert held_at(order) == {"DC1": 1}  # default rules: the DC next door
    assert order.routing_profile is None
    assert order.sourcing["decisions"][0]["profile"] is None
    routing_profile_activate(profile=draft)
    routed = OrderFactory.create(
        channel=web,
        external_id="w2",
        lines={a: 1},
        delivery=DeliveryPoint(latitude=30.18, longitude=120.26),
    )
    assert "DC1" not in held_at(routed)
    assert routed.routing_profile == draft
    assert routed.sourcing["decisions"][0]["profile"]["version"] == draft.version


def test_activating_a_version_retires_the_last_and_orders_record_theirs(
    web: Channel, dc: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=dc, lines={"A": 5})
    v1 = RoutingProfileFactory.create(channel=web, rules=["keep_together"])
    first = OrderFactory.create(channel=web, external_id="w1", lines={a: 1})
    v2 = RoutingProfileFactory.create(channel=web, rules=["keep_together", "nearest_first"])
    v1.refresh_from_db()
    assert (v1.status, v2.status, v2.version) == ("retired", "active", 2)
    second = OrderFactory.create(channel=web, external_id="w2", lines={a: 1})
    assert (first.routing_profile, second.routing_profile) == (v1, v2)
    routing_profile_deactivate(profile=v2)
    assert OrderFactory.create(channel=web, external_id="w3", lines={a: 1}).routing_profile is None


def test_max_splits_is_respected_or_the_order_parks(
    web: Channel, dc: Location, store: Location, store2: Location, skus: tuple[Product, ...]
) -> None:
    a, b, c = skus
    ReceiptFactory.create(location=store, lines={"A": 5})
    ReceiptFactory.create(location=store2, lines={"B": 5})
    ReceiptFactory.create(location=dc, lines={"C": 5})
    RoutingProfileFactory.create(
        channel=web, rules=["nearest_first", {"rule": "max_splits", "value": 1}]
    )
    two = OrderFactory.create(channel=web, external_id="w1", lines={a: 1, b: 1})
    assert held_at(two) == {"S01": 1, "S02": 1}
    three = OrderFactory.create(channel=web, external_id="w2", lines={a: 1, b: 1, c: 1})
    assert three.status == OrderStatus.PARKED
    assert held_at(three) == {}
    assert "max_splits 1" in three.sourcing_reason
    assert three.waiting_since is not None
    assert_invariants()


def test_when_short_refuse_and_backorder(
    web: Channel, dc: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=dc, lines={"A": 2})
    RoutingProfileFactory.create(channel=web, rules=["keep_together"], when_short="refuse")
    with pytest.raises(InsufficientStock):
        OrderFactory.create(channel=web, external_id="w1", lines={a: 3})
    RoutingProfileFactory.create(channel=web, rules=["keep_together"], when_short="backorder")
    order = OrderFactory.create(channel=web, external_id="w2", lines={a: 3})
    assert order.status == OrderStatus.BACKORDERED
    assert held_at(order) == {"DC1": 2}


# --------------------------------------------------------------------------- capacity


def test_a_store_at_its_daily_capacity_is_skipped_for_the_next_node(
    web: Channel,
    dc: Location,
    store: Location,
    store2: Location,
    skus: tuple[Product, ...],
    live_city: Any,
) -> None:
    a, _, _ = skus
    for loc in (store, store2, dc):
        ReceiptFactory.create(location=loc, lines={"A": 10})
    location_capacity_set(location=store, service=Service.SHIP, daily_capacity=2)
    RoutingProfileFactory.create(channel=web, rules=["keep_together", "nearest_first"])
    routed = [
        held_at(OrderFactory.create(channel=web, external_id=f"w{n}", lines={a: 1}))
        for n in range(3)
    ]
    assert routed == [{"S01": 1}, {"S01": 1}, {"S02": 1}]
    third = Order.objects.get(external_id="w2")
    candidates = {c["location"]: c for c in third.sourcing["decisions"][0]["candidates"]}
    assert candidates["S01"]["skipped"] == "capacity: 2 of 2 ship orders today"
    assert candidates["S01"]["used"] is False
    # A cancelled order gives its slot back: S01 serves again.
    order_cancel(order=Order.objects.get(external_id="w0"))
    assert held_at(OrderFactory.create(channel=web, external_id="w3", lines={a: 1})) == {"S01": 1}
    day = capacity_of(location_ids=[store.pk], service=Service.SHIP, day=city_today(live_city))
    assert (day[store.pk].used, day[store.pk].left) == (2, 0)


def test_capacity_applies_without_a_profile_too(
    web: Channel, store: Location, store2: Location, skus: tuple[Product, ...]
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=store, lines={"A": 10})
    ReceiptFactory.create(location=store2, lines={"A": 10})
    location_capacity_set(location=store, service=Service.SHIP, daily_capacity=1)
    assert held_at(OrderFactory.create(channel=web, external_id="w1", lines={a: 1})) == {"S01": 1}
    assert held_at(OrderFactory.create(channel=web, external_id="w2", lines={a: 1})) == {"S02": 1}


def test_a_full_pickup_day_promises_the_next_day_and_hours_set_the_time(
    web: Channel, store: Location, skus: tuple[Product, ...], live_city: Any
) -> None:
    a, _, _ = skus
    ReceiptFactory.create(location=store, lines={"A": 10})
    location_capacity_set(
        location=store,
        service=Service.PICKUP,
        daily_capacity=1,
        opens_at=time(0, 0),
        closes_at=time(23, 59),
    )
    first = OrderFactory.create(
        channel=web, external_id="p1", lines={a: 1}, mode="pickup", store=store
    )
    second = OrderFactory.create(
        channel=web, external_id="p2", lines={a: 1}, mode="pickup", store=store
    )
    assert first.promised_at is not None and second.promised_at is not None
    assert second.promised_at.date() > first.promised_at.date()
    LocationService.objects.filter(location=store, service=Service.PICKUP).update(daily_capacity=0)
    with pytest.raises(PickupCapacityFull) as full:
        OrderFactory.create(channel=web, external_id="p3", lines={a: 1}, mode="pickup", store=store)
    assert full.value.detail["store"] == "S01"
    assert_invariants()


# --------------------------------------------------------------------------- the waiting queue


def test_a_parked_order_is_filled_when_goods_arrive_and_only_once(
    web: Channel,
    dc: Location,
    skus: tuple[Product, ...],
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, _, _ = skus
    RoutingProfileFactory.create(channel=web, rules=["keep_together"])
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 3})
    assert order.status == OrderStatus.PARKED
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(location=dc, lines=[(a, 2)])  # not enough: stays parked, holds nothing
    order.refresh_from_db()
    assert (order.status, held_at(order)) == (OrderStatus.PARKED, {})
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(location=dc, lines=[(a, 2)])
    order.refresh_from_db()
    assert (order.status, held_at(order)) == (OrderStatus.RESERVED, {"DC1": 3})
    assert order.waiting_since is None
    assert order.sourcing["decisions"][-1]["what"] == "retried: stock arrived"
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(location=dc, lines=[(a, 5)])
    assert held_at(order) == {"DC1": 3}  # never routed twice
    assert orders_route_waiting().tried == 0
    assert_invariants()


def test_the_queue_serves_promised_orders_then_the_oldest(
    web: Channel, dc: Location, skus: tuple[Product, ...], django_capture_on_commit_callbacks: Any
) -> None:
    a, _, _ = skus
    RoutingProfileFactory.create(channel=web, rules=["keep_together"])
    old = OrderFactory.create(channel=web, external_id="old", lines={a: 1})
    new = OrderFactory.create(channel=web, external_id="new", lines={a: 1})
    promised = OrderFactory.create(
        channel=web,
        external_id="promised",
        lines={a: 1},
        promised_at=timezone.now() - timedelta(days=3),
    )
    summary = waiting_summary()
    assert [w.order.external_id for w in summary.orders] == ["promised", "old", "new"]
    assert (summary.count, summary.parked, summary.units, summary.value) == (3, 3, 3, 30)
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(location=dc, lines=[(a, 2)])
    for order in (old, new, promised):
        order.refresh_from_db()
    assert (promised.status, old.status, new.status) == ("reserved", "reserved", "parked")


@pytest.mark.parametrize("arrival", ["return", "transfer", "cancellation"])
def test_stock_coming_free_any_way_fills_waiting_orders(
    arrival: str,
    web: Channel,
    dc: Location,
    store: Location,
    skus: tuple[Product, ...],
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, _, _ = skus
    RoutingProfileFactory.create(
        channel=web, rules=[{"rule": "exclude_kinds", "kinds": ["store"]}, "keep_together"]
    )
    if arrival == "cancellation":
        ReceiptFactory.create(location=dc, lines={"A": 1})
        holder = OrderFactory.create(channel=web, external_id="holder", lines={a: 1})
    if arrival == "transfer":
        ReceiptFactory.create(location=store, lines={"A": 1})
        transfer = transfer_create(source=store, destination=dc, lines=[(a, 1)])
        transfer_approve(transfer=transfer)
        transfer_dispatch(transfer=transfer)
    waiting = OrderFactory.create(channel=web, external_id="waiting", lines={a: 1})
    assert waiting.status == OrderStatus.PARKED
    with django_capture_on_commit_callbacks(execute=True):
        if arrival == "return":
            stock_return(product=a, location=dc, quantity=1)
        elif arrival == "transfer":
            transfer_receive(transfer=transfer)
        else:
            order_cancel(order=holder)
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.RESERVED
    assert held_at(waiting) == {"DC1": 1}
    assert_invariants()


def test_an_unpaid_parked_order_expires_and_leaves_the_queue(
    web: Channel, skus: tuple[Product, ...]
) -> None:
    from orders.services import orders_expire_unpaid

    a, _, _ = skus
    RoutingProfileFactory.create(channel=web, rules=["keep_together"])
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 1})
    assert order.status == OrderStatus.PARKED
    assert orders_expire_unpaid(now=timezone.now() + timedelta(hours=2)) == 1
    order.refresh_from_db()
    assert (order.status, order.waiting_since) == (OrderStatus.EXPIRED, None)
    assert waiting_summary().count == 0


def test_the_sweep_routes_what_no_stock_event_announced(
    web: Channel, dc: Location, skus: tuple[Product, ...]
) -> None:
    from io import StringIO

    from django.core.management import call_command

    a, _, _ = skus
    RoutingProfileFactory.create(channel=web, rules=["keep_together"])
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 2})
    stock_receive(location=dc, lines=[(a, 2)])  # its commit callbacks never run in this test
    order.refresh_from_db()
    assert order.status == OrderStatus.PARKED
    out = StringIO()
    call_command("route_waiting", "--city", "testcity", stdout=out)
    order.refresh_from_db()
    assert order.status == OrderStatus.RESERVED
    assert out.getvalue().startswith("tried 1: filled 1")
    assert "queue now 0 orders" in out.getvalue()
