"""Moving-average cost: receipts move the average, every other move takes or adds value at it,
transfers change nothing, and the ledger's values add up to the stored value."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import services
from inventory.errors import UnitCostInvalid
from inventory.invariants import assert_invariants
from inventory.models import MoveReason, ProductCost, Receipt, StockMove
from inventory.services.valuation import CostState, cost_in, cost_out
from omni.errors import InvalidInput
from tests.helpers import level

pytestmark = pytest.mark.django_db


def _cost(product) -> ProductCost:
    return ProductCost.objects.get(product=product)


def test_receipts_move_the_average(dc, store, product):
    services.stock_receive(location=dc, lines=[(product, 10)], unit_costs={product.pk: "4.00"})
    assert _cost(product).average_cost == Decimal("4.0000")
    services.stock_receive(location=store, lines=[(product, 30)], unit_costs={product.pk: "6"})
    row = _cost(product)
    # (10 × 4 + 30 × 6) / 40 = 5.5
    assert (row.quantity, row.value, row.average_cost) == (40, Decimal("220"), Decimal("5.5"))
    move = StockMove.objects.filter(reason=MoveReason.RECEIPT).last()
    assert move is not None and (move.unit_cost, move.value) == (Decimal("6"), Decimal("180"))
    assert_invariants()


def test_receipt_without_a_cost_comes_in_at_the_average(dc, product):
    services.stock_receive(location=dc, lines=[(product, 10)], unit_costs={product.pk: "3"})
    services.stock_receive(location=dc, lines=[(product, 5)])
    row = _cost(product)
    assert (row.quantity, row.average_cost, row.value) == (15, Decimal("3"), Decimal("45"))
    assert_invariants()


def test_sale_records_cost_of_goods_and_transfer_keeps_the_average(dc, store, product):
    services.stock_receive(location=dc, lines=[(product, 9)], unit_costs={product.pk: "1"})
    services.stock_receive(location=dc, lines=[(product, 1)], unit_costs={product.pk: "2"})
    assert _cost(product).average_cost == Decimal("1.1")
    transfer = services.transfer_create(source=dc, destination=store, lines=[(product, 4)])
    services.transfer_approve(transfer=transfer)
    services.transfer_dispatch(transfer=transfer)
    services.transfer_receive(transfer=transfer)
    row = _cost(product)
    assert (row.quantity, row.value, row.average_cost) == (10, Decimal("11"), Decimal("1.1"))
    hold = services.stock_reserve(
        product=product, location=store, quantity=3, owner_type="t", owner_id="1"
    )
    sale = services.reservation_consume(reservation=hold, reason=MoveReason.SALE)
    assert (sale.unit_cost, sale.value) == (Decimal("1.1"), Decimal("3.3"))
    row = _cost(product)
    assert (row.quantity, row.value) == (7, Decimal("7.7"))
    assert_invariants()


def test_last_unit_out_takes_the_remaining_value(dc, product):
    services.stock_receive(location=dc, lines=[(product, 3)], unit_costs={product.pk: "1"})
    services.stock_receive(location=dc, lines=[(product, 3)], unit_costs={product.pk: "0.0001"})
    row = _cost(product)
    assert row.value == Decimal("3.0003") and row.average_cost == Decimal(
        "0.5000"
    )  # 0.50005, half-even
    services.stock_count(location=dc, lines=[(product, 0)])
    row = _cost(product)
    assert (row.quantity, row.value) == (0, Decimal("0"))
    out = StockMove.objects.filter(reason=MoveReason.COUNT).get()
    assert out.value == Decimal("3.0003")
    assert_invariants()


def test_zero_cost_receipt_lowers_the_average(dc, product):
    services.stock_receive(location=dc, lines=[(product, 10)], unit_costs={product.pk: "8"})
    services.stock_receive(location=dc, lines=[(product, 10)], unit_costs={product.pk: 0})
    assert _cost(product).average_cost == Decimal("4")
    assert_invariants()


@pytest.mark.parametrize("bad", ["-1", "abc", "NaN", "1e12", 1.5, True])
def test_bad_unit_cost_is_refused_and_nothing_is_written(dc, product, product2, bad):
    with pytest.raises(UnitCostInvalid) as err:
        services.stock_receive(
            location=dc,
            lines=[(product, 5), (product2, 1)],
            unit_costs={product.pk: "2", product2.pk: bad},
        )
    assert err.value.detail["field"] == "unit_cost"
    assert err.value.detail["sku"] == product2.sku
    assert not Receipt.objects.exists() and not StockMove.objects.exists()
    assert level(dc, product) == (0, 0)
    assert not ProductCost.objects.filter(quantity__gt=0).exists()


def test_cost_for_a_product_not_on_the_receipt_is_refused(dc, product, product2):
    with pytest.raises(InvalidInput) as err:
        services.stock_receive(location=dc, lines=[(product, 5)], unit_costs={product2.pk: "2"})
    assert err.value.detail["field"] == f"unit_costs[{product2.pk}]"


def test_cost_math_from_the_stored_value():
    state, added = cost_in(CostState(0, Decimal("0"), Decimal("7")), 3, Decimal("1"))
    assert (state, added) == (CostState(3, Decimal("3"), Decimal("1")), Decimal("3"))
    state, _ = cost_in(state, 3, Decimal("2"))
    assert state.average == Decimal("1.5")
    state, taken = cost_out(state, 2)
    assert taken == Decimal("3.0") and state.quantity == 4 and state.value == Decimal("6.0")
    state, taken = cost_out(state, 4)
    assert (state.quantity, state.value, taken) == (0, Decimal("0"), Decimal("6.0"))
