"""Walk-in hold tickets: written as a draft, held all or nothing, sold at the counter (some or
all lines, the rest released) or released; a short line asked of a nearby store. Every test
ends with the ledger invariants: holding moves nothing, selling moves each unit once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from inventory.errors import ReservationNotActive
from inventory.invariants import assert_invariants
from inventory.models import (
    Location,
    Product,
    Reservation,
    ReservationStatus,
    StockMove,
    Transfer,
    TransferStatus,
)
from inventory.services import reservation_release, reservations_expire, stock_receive
from network.models import Channel
from omni.models import User
from orders.errors import (
    CounterNotLive,
    HoldTicketClosed,
    HoldTicketEmpty,
    HoldTicketInvalid,
    HoldTicketShort,
)
from orders.models import HoldTicket, HoldTicketStatus, OrderMode, OrderStatus
from orders.services import (
    hold_ticket_draft,
    hold_ticket_hold,
    hold_ticket_hold_elsewhere,
    hold_ticket_line_add,
    hold_ticket_line_set,
    hold_ticket_release,
    hold_ticket_sell,
    hold_ticket_transfer_request,
)
from tests.factories import ProductFactory
from tests.helpers import level


@pytest.fixture
def skus(db: None) -> list[Product]:
    return [ProductFactory.create(sku=f"H-{n}", price="12.50") for n in range(3)]


def later(hours: int = 4) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def written(store: Location, clerk: User, lines: dict[Product, int]) -> HoldTicket:
    ticket = hold_ticket_draft(store=store, actor=clerk)
    for product, quantity in lines.items():
        hold_ticket_line_add(ticket=ticket, product=product, quantity=quantity)
    return ticket


def held(store: Location, clerk: User, lines: dict[Product, int]) -> HoldTicket:
    return hold_ticket_hold(
        ticket=written(store, clerk, lines),
        customer_name="Li Lei",
        customer_phone="13800001234",
        hold_until=later(),
        actor=clerk,
    )


def test_a_draft_collects_lines_and_is_the_clerks_own(
    store: Location, store_user: User, admin_user: User, skus: list[Product]
) -> None:
    ticket = written(store, store_user, {skus[0]: 1, skus[1]: 2})
    hold_ticket_line_add(ticket=ticket, product=skus[0], quantity=2)  # adds up
    assert hold_ticket_draft(store=store, actor=store_user) == ticket
    assert hold_ticket_draft(store=store, actor=admin_user) != ticket
    assert dict(ticket.lines.values_list("product__sku", "quantity")) == {"H-0": 3, "H-1": 2}
    line = ticket.lines.get(product=skus[1])
    hold_ticket_line_set(ticket=ticket, line_id=line.pk, quantity=0)
    assert list(ticket.lines.values_list("product__sku", flat=True)) == ["H-0"]
    with pytest.raises(HoldTicketInvalid):
        hold_ticket_line_set(ticket=ticket, line_id=line.pk, quantity=1)
    assert not Reservation.objects.exists()  # a draft holds nothing


def test_holding_a_ticket_holds_every_line_or_none(
    store: Location, store_user: User, skus: list[Product]
) -> None:
    stock_receive(location=store, lines=[(skus[0], 5), (skus[1], 5), (skus[2], 1)])
    ticket = written(store, store_user, {skus[0]: 2, skus[1]: 1, skus[2]: 3})
    with pytest.raises(HoldTicketShort) as short:
        hold_ticket_hold(ticket=ticket, customer_name="Li", customer_phone="", hold_until=later())
    assert "only 1 × H-2 is free at S01" in short.value.message
    assert short.value.detail["ticket"] == ticket.number
    assert not Reservation.objects.exists()  # nothing held, all or nothing
    assert HoldTicket.objects.get(pk=ticket.pk).status == HoldTicketStatus.DRAFT
    line = ticket.lines.get(product=skus[2])
    hold_ticket_line_set(ticket=ticket, line_id=line.pk, quantity=1)
    done = hold_ticket_hold(
        ticket=ticket, customer_name="Li", customer_phone="", hold_until=later(), actor=store_user
    )
    assert done.status == HoldTicketStatus.HELD and done.number == f"W-{done.pk}"
    assert [level(store, p) for p in skus] == [(5, 2), (5, 1), (1, 1)]
    assert not StockMove.objects.exclude(reason="receipt").exists()
    with pytest.raises(HoldTicketClosed):
        hold_ticket_line_add(ticket=done, product=skus[0])
    # The next draft is a new ticket.
    assert hold_ticket_draft(store=store, actor=store_user) != done
    assert_invariants()


@pytest.mark.parametrize(
    ("name", "phone", "hours", "error"),
    [("", "", 4, "customer"), ("Li", "", 24 * 8, "hold_until"), ("Li", "", -1, "hold_until")],
)
def test_a_hold_needs_a_customer_and_a_sensible_time(
    store: Location,
    store_user: User,
    skus: list[Product],
    name: str,
    phone: str,
    hours: int,
    error: str,
) -> None:
    stock_receive(location=store, lines=[(skus[0], 5)])
    ticket = written(store, store_user, {skus[0]: 1})
    with pytest.raises(HoldTicketInvalid) as refused:
        hold_ticket_hold(
            ticket=ticket, customer_name=name, customer_phone=phone, hold_until=later(hours)
        )
    assert refused.value.detail == {"field": error}
    assert not Reservation.objects.exists()


def test_an_empty_ticket_is_not_held(store: Location, store_user: User) -> None:
    with pytest.raises(HoldTicketEmpty):
        hold_ticket_hold(
            ticket=hold_ticket_draft(store=store, actor=store_user),
            customer_name="Li",
            customer_phone="",
            hold_until=later(),
        )


def test_selling_part_of_a_ticket_moves_the_sold_units_once_and_releases_the_rest(
    store: Location, store_user: User, pos: Channel, skus: list[Product]
) -> None:
    stock_receive(location=store, lines=[(p, 5) for p in skus])
    ticket = held(store, store_user, {skus[0]: 2, skus[1]: 2, skus[2]: 1})
    lines = {ln.product_id: ln for ln in ticket.lines.all()}
    order = hold_ticket_sell(
        ticket=ticket,
        quantities={lines[skus[0].pk].pk: 2, lines[skus[1].pk].pk: 1, lines[skus[2].pk].pk: 0},
        actor=store_user,
    )
    assert (order.mode, order.status, order.payment_status) == (
        OrderMode.STORE_SALE,
        OrderStatus.COMPLETED,
        "paid",
    )
    assert order.channel == pos and order.customer_phone == "13800001234"
    assert {ln.product.sku: ln.quantity for ln in order.lines.all()} == {"H-0": 2, "H-1": 1}
    assert [level(store, p) for p in skus] == [(3, 0), (4, 0), (5, 0)]
    sales = StockMove.objects.filter(reason="sale")
    assert sorted(sales.values_list("product__sku", "quantity")) == [("H-0", 2), ("H-1", 1)]
    assert StockMove.objects.exclude(reason__in=["receipt", "sale"]).count() == 0
    ticket.refresh_from_db()
    assert (ticket.status, ticket.order) == (HoldTicketStatus.SOLD, order)
    assert dict(ticket.lines.values_list("product__sku", "sold")) == {"H-0": 2, "H-1": 1, "H-2": 0}
    assert not Reservation.objects.filter(status=ReservationStatus.ACTIVE).exists()
    with pytest.raises(HoldTicketClosed):
        hold_ticket_sell(ticket=ticket, quantities={lines[skus[0].pk].pk: 1})
    with pytest.raises(HoldTicketClosed):
        hold_ticket_release(ticket=ticket)
    assert_invariants()


def test_a_refused_sale_changes_nothing(
    store: Location, store_user: User, pos: Channel, skus: list[Product]
) -> None:
    stock_receive(location=store, lines=[(skus[0], 5)])
    ticket = held(store, store_user, {skus[0]: 2})
    line = ticket.lines.get()
    for quantities, error in [
        ({line.pk: 3}, HoldTicketInvalid),
        ({line.pk: -1}, HoldTicketInvalid),
        ({line.pk + 999: 1}, HoldTicketInvalid),
        ({line.pk: 0}, HoldTicketEmpty),
        ({}, HoldTicketEmpty),
    ]:
        with pytest.raises(error):
            hold_ticket_sell(ticket=ticket, quantities=quantities)
    assert level(store, skus[0]) == (5, 2)
    assert HoldTicket.objects.get(pk=ticket.pk).status == HoldTicketStatus.HELD
    assert Reservation.objects.get().status == ReservationStatus.ACTIVE
    assert_invariants()


def test_without_a_counter_channel_the_ticket_stays_held(
    store: Location, store_user: User, skus: list[Product]
) -> None:
    stock_receive(location=store, lines=[(skus[0], 5)])
    ticket = held(store, store_user, {skus[0]: 2})
    with pytest.raises(CounterNotLive) as refused:
        hold_ticket_sell(ticket=ticket, quantities={ticket.lines.get().pk: 2})
    assert "S01 cannot record counter sales today" in refused.value.message
    assert level(store, skus[0]) == (5, 2)
    assert HoldTicket.objects.get(pk=ticket.pk).status == HoldTicketStatus.HELD


def test_a_ticket_whose_hold_ran_out_still_sells_what_the_customer_holds(
    store: Location, store_user: User, pos: Channel, skus: list[Product]
) -> None:
    stock_receive(location=store, lines=[(skus[0], 5)])
    ticket = held(store, store_user, {skus[0]: 2})
    assert reservations_expire(now=later(5)) == 1
    assert level(store, skus[0]) == (5, 0)
    hold_ticket_sell(ticket=ticket, quantities={ticket.lines.get().pk: 2})
    assert level(store, skus[0]) == (3, 0)
    assert StockMove.objects.get(reason="sale").quantity == 2
    assert_invariants()


def test_release_gives_every_line_back(
    store: Location, store_user: User, skus: list[Product]
) -> None:
    stock_receive(location=store, lines=[(skus[0], 5), (skus[1], 5)])
    ticket = held(store, store_user, {skus[0]: 2, skus[1]: 3})
    hold_ticket_release(ticket=ticket, actor=store_user)
    assert [level(store, p) for p in skus[:2]] == [(5, 0), (5, 0)]
    assert HoldTicket.objects.get(pk=ticket.pk).status == HoldTicketStatus.RELEASED
    hold = Reservation.objects.first()
    assert hold is not None
    with pytest.raises(ReservationNotActive):  # the holds are closed, not lying around
        reservation_release(reservation=hold)
    assert_invariants()


def test_a_short_line_is_asked_of_a_nearby_store(
    store: Location, store2: Location, store_user: User, skus: list[Product]
) -> None:
    stock_receive(location=store, lines=[(skus[0], 5)])
    stock_receive(location=store2, lines=[(skus[1], 4), (skus[2], 4)])
    ticket = written(store, store_user, {skus[0]: 1, skus[1]: 2, skus[2]: 3})
    lines = {ln.product_id: ln for ln in ticket.lines.all()}
    transfer = hold_ticket_transfer_request(
        ticket=ticket, line_id=lines[skus[1].pk].pk, source=store2, actor=store_user
    )
    assert (transfer.source, transfer.destination, transfer.status) == (
        store2,
        store,
        TransferStatus.DRAFT,
    )
    assert list(transfer.lines.values_list("product__sku", "quantity")) == [("H-1", 2)]
    there = hold_ticket_hold_elsewhere(
        ticket=ticket,
        line_id=lines[skus[2].pk].pk,
        store=store2,
        customer_name="Li",
        customer_phone="",
        hold_until=later(),
        actor=store_user,
    )
    assert (there.store, there.status, there.customer_name) == (store2, "held", "Li")
    assert level(store2, skus[2]) == (4, 3) and level(store2, skus[1]) == (4, 0)
    # What is left here is held here.
    assert list(ticket.lines.values_list("product__sku", flat=True)) == ["H-0"]
    with pytest.raises(HoldTicketInvalid):
        hold_ticket_transfer_request(
            ticket=ticket, line_id=lines[skus[0].pk].pk, source=store, actor=store_user
        )
    assert Transfer.objects.count() == 1
    assert_invariants()
