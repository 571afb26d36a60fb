"""Receiving on PostgreSQL with real threads: the same scan id sent by several requests at once
is counted once, different scans all count, two clerks opening one transfer share one draft,
and finishing raced by scans and by a second finish books the transfer once. The folder's
conftest checks the ledger invariants after each test."""

from __future__ import annotations

from collections import Counter

import pytest

from inventory import services
from inventory.errors import ReceivingClosed
from inventory.models import (
    Location,
    MoveReason,
    Product,
    ReceivingDraft,
    ReceivingScan,
    StockMove,
    Transfer,
    TransferStatus,
)
from tests.factories import ProductFactory
from tests.helpers import level

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


@pytest.fixture
def shirt(db: object) -> Product:
    return ProductFactory.create(sku="SHIRT")


@pytest.fixture
def arriving(dc: Location, store: Location, shirt: Product) -> Transfer:
    services.stock_receive(location=dc, lines=[(shirt, 100)])
    transfer = services.transfer_create(source=dc, destination=store, lines=[(shirt, 40)])
    return services.transfer_dispatch(transfer=services.transfer_approve(transfer=transfer))


def test_opening_and_scanning_together_share_one_draft_and_count_each_scan_once(
    store: Location, shirt: Product, arriving: Transfer
) -> None:
    def work(i: int) -> tuple[int, bool]:
        draft = services.receiving_open_transfer(transfer=arriving, location=store)
        # Threads 0-3 send the same scan (a doubled request); 4-7 each their own.
        scan_id = "same" if i < 4 else f"own-{i}"
        result = services.receiving_scan(draft=draft, scan_id=scan_id, product=shirt)
        return draft.pk, result.repeated

    results = run_together(work, threads=THREADS)
    assert len({draft_id for draft_id, _ in results}) == 1
    assert sum(repeated for _, repeated in results) == 3
    assert ReceivingDraft.objects.count() == 1 and ReceivingScan.objects.count() == 5


def test_finishing_raced_by_scans_and_a_second_finish_books_once(
    store: Location, shirt: Product, arriving: Transfer
) -> None:
    draft = services.receiving_open_transfer(transfer=arriving, location=store)
    services.receiving_scan(draft=draft, scan_id="case", product=shirt, quantity=30)
    reason = {shirt.pk: services.LineReason(cause="short_in_transit")}

    def work(i: int) -> str:
        fresh = ReceivingDraft.objects.get(pk=draft.pk)
        try:
            if i < 2:
                services.receiving_finish(draft=fresh, reasons=reason)
                return "finished"
            services.receiving_scan(draft=fresh, scan_id=f"late-{i}", product=shirt)
            return "scanned"
        except ReceivingClosed:
            return "closed"

    outcomes = Counter(run_together(work, threads=THREADS))
    assert outcomes["finished"] == 1 and outcomes["finished"] + outcomes["closed"] >= 2
    arriving.refresh_from_db()
    assert arriving.status == TransferStatus.RECEIVED
    # Booked is exactly what was counted before the finish took the draft's lock (30 plus the
    # late scans that came first; at most 36, always short of the 40 sent).
    line = arriving.lines.get()
    late_scans_counted = ReceivingScan.objects.filter(scan_id__startswith="late-").count()
    assert outcomes["scanned"] == late_scans_counted
    assert line.received_quantity == 30 + late_scans_counted
    booked = StockMove.objects.get(
        reference=arriving.ledger_reference, reason=MoveReason.TRANSFER_IN
    )
    assert booked.quantity == line.received_quantity
    assert level(store, shirt) == (line.received_quantity, 0)
