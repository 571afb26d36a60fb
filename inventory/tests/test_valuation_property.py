"""Property tests of the moving-average cost: random receipts at random costs, sales,
transfers, counts and returns keep the valuation invariants (``inventory.invariants``) and
never give a negative average or value."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from inventory import services
from inventory.errors import InsufficientStock
from inventory.invariants import AVERAGE_TOLERANCE, assert_invariants
from inventory.models import MoveReason, ProductCost, StockLevel
from inventory.services.valuation import COST_PLACES, CostState, cost_in, cost_out
from tests.factories import DcFactory, ProductFactory, StoreFactory

costs = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("9999"), places=4, allow_nan=False
).map(lambda d: d.quantize(COST_PLACES))
steps = st.lists(
    st.one_of(
        st.tuples(st.just("in"), st.integers(1, 1000), costs),
        st.tuples(st.just("out"), st.integers(1, 1000), st.just(Decimal(0))),
    ),
    max_size=60,
)


@given(steps)
@settings(max_examples=400, deadline=None)
def test_cost_math_keeps_value_and_average_together(ops: list[tuple[str, int, Decimal]]) -> None:
    state = CostState(0, Decimal("0"), Decimal("1.2345"))
    booked = Decimal("0")
    for kind, quantity, cost in ops:
        if kind == "in":
            state, value = cost_in(state, quantity, cost)
            booked += value
        else:
            quantity = min(quantity, state.quantity)
            if quantity == 0:
                continue
            state, value = cost_out(state, quantity)
            booked -= value
        assert state.quantity >= 0 and state.value >= 0 and state.average >= 0
        assert abs(state.value - state.quantity * state.average) <= (
            state.quantity * AVERAGE_TOLERANCE
        )
        assert booked == state.value
        if state.quantity == 0:
            assert state.value == 0


class ValuationMachine(RuleBasedStateMachine):
    """Two SKUs, a DC and two stores, driven through the real services."""

    def __init__(self) -> None:
        super().__init__()
        self.dc = DcFactory.create()
        self.stores = [StoreFactory.create(city=self.dc.city) for _ in range(2)]
        self.locations = [self.dc, *self.stores]
        self.products = [ProductFactory.create(cost=Decimal("2.50")) for _ in range(2)]

    def _on_hand(self, location: Any, product: Any) -> int:
        row = StockLevel.objects.filter(location=location, product=product).first()
        return row.available if row else 0

    @rule(loc=st.integers(0, 2), sku=st.integers(0, 1), qty=st.integers(1, 50), cost=costs)
    def receive(self, loc: int, sku: int, qty: int, cost: Decimal) -> None:
        product = self.products[sku]
        services.stock_receive(
            location=self.locations[loc], lines=[(product, qty)], unit_costs={product.pk: cost}
        )

    @rule(loc=st.integers(0, 2), sku=st.integers(0, 1), qty=st.integers(1, 50))
    def receive_at_average(self, loc: int, sku: int, qty: int) -> None:
        services.stock_receive(location=self.locations[loc], lines=[(self.products[sku], qty)])

    @rule(loc=st.integers(0, 2), sku=st.integers(0, 1), qty=st.integers(1, 60))
    def sell(self, loc: int, sku: int, qty: int) -> None:
        location, product = self.locations[loc], self.products[sku]
        try:
            hold = services.stock_reserve(
                product=product, location=location, quantity=qty, owner_type="t", owner_id="x"
            )
        except InsufficientStock:
            return
        services.reservation_consume(reservation=hold, reason=MoveReason.SALE)

    @rule(
        src=st.integers(0, 2), dst=st.integers(0, 2), sku=st.integers(0, 1), qty=st.integers(1, 40)
    )
    def transfer(self, src: int, dst: int, sku: int, qty: int) -> None:
        if src == dst or self._on_hand(self.locations[src], self.products[sku]) < qty:
            return
        transfer = services.transfer_create(
            source=self.locations[src],
            destination=self.locations[dst],
            lines=[(self.products[sku], qty)],
        )
        services.transfer_approve(transfer=transfer)
        services.transfer_dispatch(transfer=transfer)
        services.transfer_receive(transfer=transfer)

    @rule(loc=st.integers(0, 2), sku=st.integers(0, 1), counted=st.integers(0, 80))
    def count(self, loc: int, sku: int, counted: int) -> None:
        services.stock_count(
            location=self.locations[loc],
            lines=[(self.products[sku], counted)],
            release_holds=True,
        )

    @rule(loc=st.integers(0, 2), sku=st.integers(0, 1), qty=st.integers(1, 10), scrap=st.booleans())
    def customer_return(self, loc: int, sku: int, qty: int, scrap: bool) -> None:
        services.stock_return(
            product=self.products[sku], location=self.locations[loc], quantity=qty, scrap=scrap
        )

    @invariant()
    def valuation_holds(self) -> None:
        for row in ProductCost.objects.filter(product__in=self.products):
            assert row.average_cost >= 0 and row.value >= 0
        assert_invariants()


@pytest.mark.django_db
def test_services_keep_the_valuation_invariants() -> None:
    run_state_machine_as_test(
        ValuationMachine,
        settings=settings(max_examples=15, stateful_step_count=25, deadline=None, database=None),
    )
