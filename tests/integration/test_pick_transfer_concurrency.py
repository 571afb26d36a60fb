"""A picker reports a transfer line short while, at the same moment, one clerk dispatches the
transfer and another cancels it. The short pick changes the transfer (it ships less, or leaves
it empty and cancelled) and the stock level of the line; dispatch and cancel change the same
two. All three take the Transfer before the stock level (docs/locking.md), so they queue: no
deadlock, no database error reaches anyone, and the loser of each race gets a clean refusal.
The ledger invariants are checked after every round (and by the folder's conftest)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import DatabaseError
from django.db.models import Sum

from conftest import make_product
from fulfillment import services as fulfillment
from fulfillment.models import PickLine, PickLineStatus
from inventory import services
from inventory.invariants import assert_invariants
from inventory.models import (
    Location,
    MoveReason,
    Product,
    Reservation,
    ReservationStatus,
    StockMove,
    Transfer,
    TransferStatus,
)
from omni.errors import ApplicationError

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 20
SHORT, DISPATCH, CANCEL = 0, 1, 2


def short_pick_round(
    round_no: int, dc: Location, store: Location, a: Product, b: Product
) -> dict[str, str]:
    """One round: an approved transfer on a fresh pick list, then the three at once. Even
    rounds carry one line, found empty (the short pick may cancel the whole transfer); odd
    rounds carry two lines and the picker finds part of one."""
    lines = [(a, 4)] if round_no % 2 == 0 else [(a, 4), (b, 2)]
    found = 0 if round_no % 2 == 0 else 1 + round_no % 3
    transfer = services.transfer_approve(
        transfer=services.transfer_create(source=dc, destination=store, lines=lines)
    )
    pick_list = fulfillment.pick_wave_create(location=dc)
    pick_line = pick_list.lines.get(product=a)
    assert pick_line.transfer_id == transfer.pk

    def work(thread: int) -> str:
        try:
            if thread == SHORT:
                fulfillment.pick_line_short(
                    pick_line=PickLine.objects.get(pk=pick_line.pk), found=found
                )
            elif thread == DISPATCH:
                services.transfer_dispatch(transfer=Transfer.objects.get(pk=transfer.pk))
            else:
                services.transfer_cancel(transfer=Transfer.objects.get(pk=transfer.pk))
        except ApplicationError as exc:
            return str(exc.code)
        except DatabaseError as exc:  # a deadlock, a serialisation failure: never acceptable
            return f"database error: {exc!r}"
        return "done"

    short, dispatch, cancel = run_together(work, threads=3)
    outcome = {"short": short, "dispatch": dispatch, "cancel": cancel}
    assert not [o for o in outcome.values() if o.startswith("database error")], outcome
    assert set(outcome.values()) <= {"done", "transfer_invalid_state"}, outcome

    transfer.refresh_from_db()
    pick_line.refresh_from_db()
    emptied = short == "done" and found == 0 and len(lines) == 1
    if emptied and dispatch != "done" and cancel != "done":
        # The short pick came first and took the only line: the transfer cancelled itself.
        assert transfer.status == TransferStatus.CANCELLED, outcome
    else:
        # Dispatch and cancel exclude each other: exactly one of them happened.
        assert [dispatch, cancel].count("done") == 1, outcome
        expected = TransferStatus.DISPATCHED if dispatch == "done" else TransferStatus.CANCELLED
        assert transfer.status == expected, outcome

    # A short pick either happened in full (before dispatch or cancel) or not at all.
    assert pick_line.status == (PickLineStatus.SHORT if short == "done" else PickLineStatus.OPEN)
    if short == "done":
        assert pick_line.picked == found
        on_a = transfer.lines.filter(product=a).first()
        assert (on_a.quantity if on_a else 0) == found, outcome

    # Whatever won, nothing of the transfer is still held at the source, and what left for
    # transit is exactly what the transfer's lines say it carries.
    held = Reservation.objects.filter(
        owner_type="transfer_line",
        owner_id__in=[str(pk) for pk in transfer.lines.values_list("pk", flat=True)],
        status=ReservationStatus.ACTIVE,
    )
    assert not held.exists(), outcome
    shipped = (
        StockMove.objects.filter(
            reference=transfer.ledger_reference, reason=MoveReason.TRANSFER_OUT
        ).aggregate(units=Sum("quantity"))["units"]
        or 0
    )
    carried = transfer.lines.aggregate(units=Sum("quantity"))["units"] or 0
    assert shipped == (carried if transfer.status == TransferStatus.DISPATCHED else 0), outcome

    assert_invariants()
    return outcome


def test_short_pick_on_a_transfer_line_raced_by_dispatch_and_cancel(
    dc: Location, store: Location
) -> None:
    a, b = make_product("A"), make_product("B")
    services.stock_receive(location=dc, lines=[(a, 1000), (b, 1000)])

    seen: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        outcome = short_pick_round(round_no, dc, store, a, b)
        seen.update(f"{name}: {result}" for name, result in outcome.items())

    # Every operation ran ROUNDS times and each time ended one of the clean ways.
    assert sum(n for key, n in seen.items() if key.startswith("short")) == ROUNDS
    assert not Reservation.objects.filter(status=ReservationStatus.ACTIVE).exists()
