"""Flows from orders into forecasting: the open orders that keep an item from being idled are
the order lines holding stock at a location."""

from __future__ import annotations

from forecasting.selectors import open_hold_series
from inventory.services import stock_receive
from orders.services import LineIn, order_place


def test_open_orders_are_lines_holding_stock_at_a_location(web, store, products):
    stock_receive(location=store, lines=[(products[0], 5)])
    order_place(
        channel=web,
        external_id="o1",
        mode="pickup",
        store=store,
        lines=[LineIn(product=products[0], quantity=2)],
    )
    assert open_hold_series(store.city) == {(products[0].pk, store.pk)}
