"""The store counter under real contention on PostgreSQL: a pickup handed over by its QR code
and by its short code at the same moment goes out once; a walk-in ticket's hold racing other
holds and orders for the last unit never oversells; a ticket sold and released at once is one
or the other. Every thread has its own connection (``threads.run_together``); the folder's
conftest checks the ledger invariants after each test."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError
from django.utils import timezone

from fulfillment import services
from fulfillment.errors import PickupCodeUsed
from fulfillment.models import PickupAttempt, PickupCode
from fulfillment.tests.fixtures import pickup_ready
from inventory.errors import InsufficientStock
from inventory.models import Location, Reservation, ReservationStatus, StockMove
from network.models import Channel, ChannelKind, Service, ShelfProtection
from omni.models import City, User
from orders.errors import HoldTicketClosed
from orders.models import HoldTicket, HoldTicketStatus, Order, OrderStatus
from orders.services import (
    LineIn,
    hold_ticket_draft,
    hold_ticket_hold,
    hold_ticket_line_add,
    hold_ticket_release,
    hold_ticket_sell,
    order_place,
)
from tests.factories import (
    ChannelFactory,
    LocationServiceFactory,
    PickupOrderFactory,
    ProductFactory,
    ReceiptFactory,
    StoreUserFactory,
)
from tests.helpers import level

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

COUNTERS = 12
ROUNDS = 5


@pytest.fixture
def channels(city: City, store: Location) -> tuple[Channel, Channel]:
    """A web shop offering pickup at S01 and the S01 counter, no units kept on the shelf."""
    LocationServiceFactory.go_live(store, Service.PICKUP, Service.SHIP, Service.STORE_SALE)
    ShelfProtection.objects.create(location=store, product=None, quantity=0)
    web = ChannelFactory.create(code="web", kind=ChannelKind.WEB, city=city, serves=[store])
    pos = ChannelFactory.create(code="pos", kind=ChannelKind.STORE_POS, city=city, serves=[store])
    return web, pos


@pytest.fixture
def clerks(store: Location) -> list[User]:
    return [StoreUserFactory.create(username=f"c{n}", locations=[store]) for n in range(3)]


def outcome(fn: Any) -> str:
    try:
        return fn()
    except DatabaseError as exc:  # a deadlock or serialisation failure: shown, not hidden
        return f"database error: {exc!r}"


def test_qr_and_short_code_of_one_pickup_at_once_hand_over_once(
    channels: tuple[Channel, Channel], store: Location
) -> None:
    web, _ = channels
    a = ProductFactory.create(sku="A")
    ReceiptFactory.create(location=store, lines={"A": 5})
    code = pickup_ready(
        PickupOrderFactory.create(channel=web, external_id="p1", store=store, lines={a: 2})
    )
    token = services.pickup_token(code)
    digits = services.pickup_short_code(code)

    def hand_over(i: int) -> str:
        def run() -> str:
            try:
                if i % 2:
                    services.pickup_redeem(token=token, store=store)
                    return "handed over by qr"
                services.pickup_redeem_short_code(
                    short_code=digits, store=store, order=str(code.order_id)
                )
                return "handed over by short code"
            except PickupCodeUsed:
                return "used"

        return outcome(run)

    outcomes = Counter(run_together(hand_over, threads=COUNTERS))

    assert outcomes["used"] == COUNTERS - 1, outcomes
    assert outcomes["handed over by qr"] + outcomes["handed over by short code"] == 1, outcomes
    assert Order.objects.get(pk=code.order_id).status == OrderStatus.COMPLETED
    (handed,) = StockMove.objects.filter(reason="pickup")
    assert handed.quantity == 2
    assert level(store, a) == (3, 0)
    attempts = Counter(PickupAttempt.objects.values_list("result", flat=True))
    assert attempts == {"redeemed": 1, "pickup_code_used": COUNTERS - 1}
    assert PickupCode.objects.get(pk=code.pk).redeemed_at is not None


def test_a_tickets_hold_racing_other_holds_of_the_last_unit_never_oversells(
    channels: tuple[Channel, Channel], store: Location, clerks: list[User]
) -> None:
    """Each round: one unit of LAST left; two clerks hold tickets with it (each with another,
    plentiful SKU) while a web pickup order asks for it. Exactly one gets it; the others hold
    nothing at all (a ticket is all or nothing)."""
    web, _ = channels
    last = ProductFactory.create(sku="LAST")
    plenty = ProductFactory.create(sku="PLENTY")
    ReceiptFactory.create(location=store, lines={"PLENTY": 1000})
    wins: Counter[str] = Counter()
    for round_no in range(ROUNDS):
        ReceiptFactory.create(location=store, lines={"LAST": 1})
        drafts = []
        for clerk in clerks[:2]:
            draft = hold_ticket_draft(store=store, actor=clerk)
            hold_ticket_line_add(ticket=draft, product=plenty, quantity=3)
            hold_ticket_line_add(ticket=draft, product=last, quantity=1)
            drafts.append(draft)

        def race(i: int, drafts: list[HoldTicket] = drafts, round_no: int = round_no) -> str:
            def run() -> str:
                try:
                    if i < 2:
                        hold_ticket_hold(
                            ticket=drafts[i],
                            customer_name=f"walk-in {i}",
                            customer_phone="",
                            hold_until=timezone.now() + timedelta(hours=2),
                        )
                        return "ticket"
                    order_place(
                        channel=web,
                        external_id=f"web-{round_no}",
                        mode="pickup",
                        store=store,
                        lines=[LineIn(product=last, quantity=1)],
                    )
                    return "web"
                except InsufficientStock:
                    return "short"

            return outcome(run)

        results = Counter(run_together(race, threads=3))
        assert results["short"] == 2 and results["ticket"] + results["web"] == 1, results
        wins.update(k for k in results if k != "short")
        on_hand, reserved = level(store, last)
        assert (on_hand, reserved) == (round_no + 1, round_no + 1)  # never more held than there
        held = HoldTicket.objects.filter(status=HoldTicketStatus.HELD).count()
        # A ticket that lost holds nothing, not even its plentiful line.
        assert level(store, plenty)[1] == 3 * held
    assert sum(wins.values()) == ROUNDS


def test_one_ticket_sold_and_released_at_once_is_one_or_the_other(
    channels: tuple[Channel, Channel], store: Location, clerks: list[User]
) -> None:
    a, b = ProductFactory.create(sku="A"), ProductFactory.create(sku="B")
    ReceiptFactory.create(location=store, lines={"A": 5, "B": 5})
    draft = hold_ticket_draft(store=store, actor=clerks[0])
    hold_ticket_line_add(ticket=draft, product=a, quantity=2)
    hold_ticket_line_add(ticket=draft, product=b, quantity=1)
    ticket = hold_ticket_hold(
        ticket=draft,
        customer_name="Li",
        customer_phone="",
        hold_until=timezone.now() + timedelta(hours=2),
    )
    quantities = {ln.pk: ln.quantity for ln in ticket.lines.all()}

    def act(i: int) -> str:
        def run() -> str:
            try:
                if i % 3 == 2:
                    hold_ticket_release(ticket=ticket)
                    return "released"
                hold_ticket_sell(ticket=ticket, quantities=quantities)
                return "sold"
            except HoldTicketClosed:
                return "closed"

        return outcome(run)

    outcomes = Counter(run_together(act, threads=6))

    assert outcomes["closed"] == 5 and outcomes["sold"] + outcomes["released"] == 1, outcomes
    ticket.refresh_from_db()
    sales = StockMove.objects.filter(reason="sale")
    if outcomes["sold"]:
        assert ticket.status == HoldTicketStatus.SOLD
        assert sorted(sales.values_list("product__sku", "quantity")) == [("A", 2), ("B", 1)]
        assert (level(store, a), level(store, b)) == ((3, 0), (4, 0))
    else:
        assert ticket.status == HoldTicketStatus.RELEASED and not sales.exists()
        assert (level(store, a), level(store, b)) == ((5, 0), (5, 0))
    assert not Reservation.objects.filter(status=ReservationStatus.ACTIVE).exists()
