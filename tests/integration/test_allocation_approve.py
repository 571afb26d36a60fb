"""Approving one allocation run from two places at the same moment makes one set of
transfers (PostgreSQL: the run row is locked first, the second approval waits and finds the
transfers the first made)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from allocation import services
from allocation.models import RunStatus
from inventory import services as stock
from inventory.models import LocationKind, Product, Reservation, Transfer, TransferStatus
from network.models import LocationService, Service
from omni.models import City

from .threads import run_together


def test_two_approvals_at_once_make_one_set_of_transfers(
    city: City, dc: Any, store: Any, store2: Any, product: Product
) -> None:
    for s in (store, store2):
        LocationService.objects.create(
            location=s, service=Service.STORE_SALE, starts_on=date(2020, 1, 1)
        )
    Product.objects.filter(pk=product.pk).update(price=Decimal("10"), cost=Decimal("6"))
    stock.stock_receive(location=dc, lines=[(product, 120)])
    for s, sold in ((store, 28), (store2, 14)):
        stock.stock_receive(location=s, lines=[(product, sold)])
        hold = stock.stock_reserve(
            product=product, location=s, quantity=sold, owner_type="test", owner_id="sale"
        )
        stock.reservation_consume(
            reservation=hold, to_location=stock.virtual_location(LocationKind.CUSTOMER)
        )
    run = services.allocation_run_execute(
        run=services.allocation_run_create(city=city, parameters={"time_limit": 10})
    )
    assert run.status in (RunStatus.OPTIMAL, RunStatus.FEASIBLE)

    results = run_together(
        lambda i: sorted(t.pk for t in services.allocation_run_approve(run=run)), threads=2
    )

    transfers = Transfer.objects.filter(reference=f"allocation-run-{run.pk}")
    assert results[0] == results[1] == sorted(transfers.values_list("pk", flat=True))
    assert transfers.count() >= 1
    assert set(transfers.values_list("status", flat=True)) == {TransferStatus.APPROVED}
    held = sum(
        Reservation.objects.filter(owner_type="transfer_line", status="active").values_list(
            "quantity", flat=True
        )
    )
    shipped = sum(line.quantity for t in transfers for line in t.lines.all())
    assert held == shipped > 0
