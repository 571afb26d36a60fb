"""Pick lists against transfers under real contention on PostgreSQL.

A picker reports a transfer line short while, at the same moment, one clerk dispatches the
transfer and another cancels it. The short pick changes the transfer (it ships less, or leaves
it empty and cancelled) and the stock level of the line; dispatch and cancel change the same
two. All three take the Transfer before the stock level (docs/locking.md), so they queue: no
deadlock, no database error reaches anyone, and the loser of each race gets a clean refusal.

Two waves start at one location while the transfer waiting there is cancelled: the waves lock
the orders and transfers they take before writing a pick list, so one wave takes everything,
the other finds nothing left, and no line of a cancelled transfer goes on a list.

The ledger invariants are checked after every round (and by the folder's conftest)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import DatabaseError
from django.db.models import Sum

from fulfillment import services as fulfillment
from fulfillment.models import PickLine, PickLineStatus, PickList
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
from network.models import Channel, ChannelKind, Service
from omni.errors import ApplicationError
from omni.models import City
from orders.models import Order, OrderStatus
from orders.services import DeliveryPoint, LineIn, order_pay, order_place
from tests.factories import ChannelFactory, LocationServiceFactory, ProductFactory

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
    a, b = ProductFactory.create(sku="A"), ProductFactory.create(sku="B")
    services.stock_receive(location=dc, lines=[(a, 1000), (b, 1000)])

    seen: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        outcome = short_pick_round(round_no, dc, store, a, b)
        seen.update(f"{name}: {result}" for name, result in outcome.items())

    # Every operation ran ROUNDS times and each time ended one of the clean ways.
    assert sum(n for key, n in seen.items() if key.startswith("short")) == ROUNDS
    assert not Reservation.objects.filter(status=ReservationStatus.ACTIVE).exists()


# --------------------------------------------------------------------------- two waves, a cancel

WAVE_ROUNDS = 10
WAVE, OTHER_WAVE = 0, 1
NEAR_DC = DeliveryPoint(latitude=30.1850, longitude=120.2600, address="near the DC")


def test_two_waves_racing_a_transfer_cancel_list_each_line_once(
    city: City, dc: Location, store: Location
) -> None:
    LocationServiceFactory.go_live(dc, Service.SHIP)
    web: Channel = ChannelFactory.create(code="web", kind=ChannelKind.WEB, city=city, serves=[dc])
    a, b = ProductFactory.create(sku="A"), ProductFactory.create(sku="B")
    services.stock_receive(location=dc, lines=[(a, 1000), (b, 1000)])

    for round_no in range(WAVE_ROUNDS):
        order, _ = order_place(
            channel=web,
            external_id=f"web-{round_no}",
            mode="delivery",
            delivery=NEAR_DC,
            lines=[LineIn(product=a, quantity=1)],
        )
        order_pay(order=order)
        transfer = services.transfer_approve(
            transfer=services.transfer_create(source=dc, destination=store, lines=[(b, 2)])
        )

        def work(thread: int, transfer_id: int = transfer.pk) -> str:
            try:
                if thread in (WAVE, OTHER_WAVE):
                    fulfillment.pick_wave_create(location=dc)
                else:
                    services.transfer_cancel(transfer=Transfer.objects.get(pk=transfer_id))
            except ApplicationError as exc:
                return str(exc.code)
            except DatabaseError as exc:  # a deadlock, a duplicate pick line: never acceptable
                return f"database error: {exc!r}"
            return "done"

        wave, other_wave, cancel = run_together(work, threads=3)
        outcome = {"wave": wave, "other wave": other_wave, "cancel": cancel}
        # One wave takes what waits; the other, having waited for it, finds nothing left.
        assert sorted([wave, other_wave]) == ["done", "nothing_to_pick"], outcome
        assert cancel == "done", outcome

        order.refresh_from_db()
        transfer.refresh_from_db()
        assert order.status == OrderStatus.PROCESSING
        assert transfer.status == TransferStatus.CANCELLED
        on_lists = PickLine.objects.filter(allocation__line__order=order)
        assert on_lists.count() == 1, outcome
        # A transfer line went on the list only if the wave came before the cancel.
        for line in PickLine.objects.filter(transfer=transfer):
            pick_list = PickList.objects.get(pk=line.pick_list_id)
            assert transfer.cancelled_at is not None
            assert pick_list.created_at < transfer.cancelled_at, outcome
        assert PickLine.objects.filter(transfer=transfer).count() <= 1
        assert_invariants()

    assert Order.objects.filter(status=OrderStatus.PROCESSING).count() == WAVE_ROUNDS
