"""Turnover, days of supply and GMROI against a brute-force integration of the ledger."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory import services
from inventory.models import MoveReason, ProductCost, StockMove
from inventory.valuation_selectors import Period, stock_value_by_location, turnover_metrics

pytestmark = pytest.mark.django_db


def _sell(product, location, quantity):
    hold = services.stock_reserve(
        product=product, location=location, quantity=quantity, owner_type="t", owner_id="1"
    )
    services.reservation_consume(reservation=hold, reason=MoveReason.SALE)


def _brute_average(period, location_ids):
    """∫ Σ units × average dt / T over the period, move by move."""
    average = {c.product_id: float(c.average_cost) for c in ProductCost.objects.all()}
    start, end = period.starts_at, period.ends_at
    total = 0.0
    units = defaultdict(int)
    moves = list(StockMove.objects.order_by("created_at", "id"))
    for move in moves:
        if move.created_at >= start:
            break
        units[(move.to_location_id, move.product_id)] += move.quantity
        units[(move.from_location_id, move.product_id)] -= move.quantity
    clock = start
    for move in [m for m in moves if start <= m.created_at < end]:
        value = sum(u * average[p] for (loc, p), u in units.items() if loc in location_ids)
        total += value * (move.created_at - clock).total_seconds()
        clock = move.created_at
        units[(move.to_location_id, move.product_id)] += move.quantity
        units[(move.from_location_id, move.product_id)] -= move.quantity
    value = sum(u * average[p] for (loc, p), u in units.items() if loc in location_ids)
    total += value * (end - clock).total_seconds()
    return total / (end - start).total_seconds()


def test_metrics_per_location_sku_and_city(dc, store, store2, product, product2):
    product.price, product2.price = Decimal("5"), Decimal("3")
    product.save()
    product2.save()
    services.stock_receive(
        location=dc,
        lines=[(product, 100), (product2, 40)],
        unit_costs={product.pk: "2", product2.pk: "1.5"},
    )
    transfer = services.transfer_create(source=dc, destination=store, lines=[(product, 30)])
    services.transfer_approve(transfer=transfer)
    services.transfer_dispatch(transfer=transfer)
    services.transfer_receive(transfer=transfer)
    _sell(product, store, 10)
    _sell(product2, dc, 4)
    services.stock_return(product=product, location=store, quantity=2)
    period = Period.last(7)

    by_location = {m.key: m for m in turnover_metrics("location", period)}
    shop = by_location[store.pk]
    assert shop.units_sold == 8 and shop.cogs == Decimal("16.00")  # 10 sold − 2 back, at 2
    assert shop.revenue == Decimal("40.00")
    assert shop.stock_value == Decimal("44.00")  # 22 units at 2
    average = _brute_average(period, {store.pk})
    assert float(shop.average_stock_value) == pytest.approx(average, abs=0.01)
    assert shop.turnover == pytest.approx(16 / average, rel=1e-3)
    assert shop.gmroi == pytest.approx((40 - 16) / average, rel=1e-3)
    assert shop.days_of_supply == pytest.approx(44 / (16 / 7), rel=1e-3)
    warehouse = by_location[dc.pk]
    assert warehouse.cogs == Decimal("6.00") and warehouse.stock_value == Decimal("194.00")

    by_sku = {m.key: m for m in turnover_metrics("sku", period)}
    assert by_sku[product.pk].cogs == Decimal("16.00")
    assert by_sku[product2.pk].cogs == Decimal("6.00")
    assert by_sku[product.pk].stock_value == Decimal("184.00")  # 70 at the DC, 22 in store

    (city,) = turnover_metrics("city", period)
    assert city.key == dc.city_id and city.cogs == Decimal("22.00")
    assert float(city.average_stock_value) == pytest.approx(
        _brute_average(period, {dc.pk, store.pk, store2.pk}), abs=0.01
    )
    # A clerk's scope: only their store's figures.
    assert [m.key for m in turnover_metrics("location", period, location_ids=[store.pk])] == [
        store.pk
    ]
    values = {row["code"]: row["value"] for row in stock_value_by_location()}
    assert values == {dc.code: Decimal("194.00"), store.code: Decimal("44.00")}


def test_a_period_before_any_move_is_all_zero(dc, product):
    services.stock_receive(location=dc, lines=[(product, 10)], unit_costs={product.pk: "1"})
    today = timezone.localdate()
    old = Period(today.replace(year=today.year - 1), today.replace(year=today.year - 1))
    (row,) = turnover_metrics("location", old)
    assert (row.cogs, row.stock_value, row.average_stock_value) == (0, 0, 0)
    assert row.turnover is None and row.days_of_supply is None
