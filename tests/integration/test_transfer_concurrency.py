"""Two people press "approve" on the same draft transfer at the same moment."""

from __future__ import annotations

from collections import Counter

import pytest

from inventory import services
from inventory.errors import TransferInvalidState
from inventory.models import (
    Location,
    Reservation,
    ReservationStatus,
    StockLevel,
    Transfer,
    TransferStatus,
)
from tests.factories import ProductFactory

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 10


def test_approve_raced_by_two_threads_reserves_once(dc: Location, store: Location) -> None:
    shirt, socks = ProductFactory.create(sku="SHIRT"), ProductFactory.create(sku="SOCKS")
    services.stock_receive(location=dc, lines=[(shirt, 1000), (socks, 1000)])
    transfers = [
        services.transfer_create(source=dc, destination=store, lines=[(shirt, 10), (socks, 3)])
        for _ in range(ROUNDS)
    ]

    outcomes: Counter[str] = Counter()
    for transfer in transfers:

        def work(_: int, transfer_id: int = transfer.pk) -> str:
            try:
                services.transfer_approve(transfer=Transfer.objects.get(pk=transfer_id))
            except TransferInvalidState as exc:
                return str(exc.code)
            return "approved"

        round_outcomes = Counter(run_together(work, threads=2))
        assert round_outcomes == {"approved": 1, "transfer_invalid_state": 1}
        outcomes += round_outcomes

    assert Transfer.objects.filter(status=TransferStatus.APPROVED).count() == ROUNDS
    assert StockLevel.objects.get(product=shirt, location=dc).reserved == 10 * ROUNDS
    assert StockLevel.objects.get(product=socks, location=dc).reserved == 3 * ROUNDS
    assert Reservation.objects.filter(status=ReservationStatus.ACTIVE).count() == 2 * ROUNDS
    for transfer in transfers:
        assert all(line.reservation_id for line in transfer.lines.all())


def test_approve_raced_by_cancel_leaves_nothing_held(dc: Location, store: Location) -> None:
    shirt = ProductFactory.create(sku="SHIRT")
    services.stock_receive(location=dc, lines=[(shirt, 1000)])
    transfers = [
        services.transfer_create(source=dc, destination=store, lines=[(shirt, 7)])
        for _ in range(ROUNDS)
    ]

    for transfer in transfers:

        def work(thread: int, transfer_id: int = transfer.pk) -> str:
            action = services.transfer_approve if thread == 0 else services.transfer_cancel
            try:
                action(transfer=Transfer.objects.get(pk=transfer_id))
            except TransferInvalidState as exc:
                return str(exc.code)
            return "done"

        run_together(work, threads=2)
        # Whichever came first, the transfer ends cancelled (cancel wins after approve) or
        # cancelled with approve refused; either way its hold is gone.
        transfer.refresh_from_db()
        assert transfer.status == TransferStatus.CANCELLED

    assert StockLevel.objects.get(product=shirt, location=dc).reserved == 0
    assert not Reservation.objects.filter(status=ReservationStatus.ACTIVE).exists()
