"""The moving-average cost on PostgreSQL with real threads: receipts at different costs at
several locations, multi-line receipts listing the same SKUs in opposite orders, sales and
transfers of the same SKUs, all at once. No deadlock, no lost update: the cost rows equal the
opening value plus the ledger's values exactly, and value = quantity × average within
rounding (the folder's conftest checks every invariant after the test, valuation included)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import services
from inventory.invariants import assert_invariants
from inventory.models import Location, MoveReason, Product, ProductCost
from tests.factories import ProductFactory

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def test_concurrent_receipts_sales_and_transfers_keep_the_cost_exact(
    dc: Location, store: Location, store2: Location
) -> None:
    tea, cup = (ProductFactory.create(sku=s, cost=Decimal("1")) for s in ("TEA", "CUP"))
    services.stock_receive(
        location=dc, lines=[(tea, 100), (cup, 100)], unit_costs={tea.pk: "2", cup.pk: "3"}
    )

    def work(i: int) -> str:
        where = [dc, store, store2][i % 3]
        if i % 4 == 0:
            # Two SKUs, listed in opposite orders by neighbouring threads.
            lines: list[tuple[Product, int]] = [(tea, 5 + i), (cup, 3 + i)]
            services.stock_receive(
                location=where,
                lines=lines if i % 8 else lines[::-1],
                unit_costs={tea.pk: f"{2 + i / 10:.2f}", cup.pk: f"{3 + i / 7:.4f}"},
            )
            return "receipt"
        if i % 4 == 1:
            hold = services.stock_reserve(
                product=tea, location=dc, quantity=3, owner_type="t", owner_id=str(i)
            )
            services.reservation_consume(reservation=hold, reason=MoveReason.SALE)
            return "sale"
        if i % 4 == 2:
            transfer = services.transfer_create(
                source=dc, destination=store, lines=[(cup, 4), (tea, 2)]
            )
            services.transfer_approve(transfer=transfer)
            services.transfer_dispatch(transfer=transfer)
            services.transfer_receive(transfer=transfer)
            return "transfer"
        services.stock_count(location=dc, lines=[(cup, 90 - i)], release_holds=True)
        return "count"

    for _ in range(3):
        run_together(work, threads=THREADS)
        assert_invariants()
    for row in ProductCost.objects.filter(product__in=[tea, cup]):
        assert row.quantity > 0 and row.average_cost > 0
