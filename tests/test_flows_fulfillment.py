"""Flows that run from orders through fulfillment and back: what the warehouse could not find
waits in the orders' waiting queue like a parked order, and is filled when goods arrive. Ledger
invariants are checked after each story."""

from __future__ import annotations

from typing import Any

from fulfillment import services as fulfillment
from inventory.invariants import assert_invariants
from inventory.models import Location, Product
from inventory.services import stock_receive
from network.models import Channel
from orders.models import OrderStatus
from orders.selectors import waiting_summary
from orders.services import order_pay
from tests.factories import OrderFactory, ReceiptFactory, RoutingProfileFactory
from tests.helpers import held_at


def test_a_short_pick_waits_in_the_same_queue_and_is_filled_on_arrival(
    web: Channel,
    dc: Location,
    skus: tuple[Product, ...],
    django_capture_on_commit_callbacks: Any,
) -> None:
    a, _, _ = skus
    RoutingProfileFactory.create(
        channel=web, rules=[{"rule": "exclude_kinds", "kinds": ["store"]}, "keep_together"]
    )
    ReceiptFactory.create(location=dc, lines={"A": 4})
    order = OrderFactory.create(channel=web, external_id="w1", lines={a: 4})
    order_pay(order=order)
    line = fulfillment.pick_wave_create(location=dc).lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        fulfillment.pick_line_short(pick_line=line, found=1)
    order.refresh_from_db()
    assert order.status == OrderStatus.BACKORDERED
    assert order.waiting_since is not None
    assert waiting_summary().orders[0].missing_units == 3
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(location=dc, lines=[(a, 5)])
    order.refresh_from_db()
    assert order.waiting_since is None
    assert held_at(order) == {"DC1": 4}
    assert_invariants()
