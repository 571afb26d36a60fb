"""Walk-in hold tickets: a clerk writes a ticket of several SKUs for a customer at the counter
(from the stock lookup), holds every line at once, then sells it at the counter (some or all of
it, the rest released) or releases it. Where this store is short, a line can be asked of a
nearby store instead: a transfer here (a draft for that store to approve), or a ticket held
there for the same customer.

Locking (docs/locking.md): the ticket first (``locks.lock_hold_ticket``, at the Order's step),
then the stock levels of its lines in the global order, then their reservations. Selling goes
through the counter sale (``order_place`` with ``store_sale``) inside the same transaction,
under the stock-level locks already held: the ticket's holds are released and the sale takes
the same units at once, so nothing else can come between, and the units leave once, with the
sale.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory import locks as stock_locks
from inventory import services as stock
from inventory.errors import InactiveProduct, InsufficientStock
from inventory.models import Location, Product, Reservation, ReservationStatus, Transfer
from network.models import Channel, ChannelKind, Service
from network.selectors import live_locations
from omni.models import User

from ..errors import (
    CounterNotLive,
    HoldTicketClosed,
    HoldTicketEmpty,
    HoldTicketInvalid,
    HoldTicketShort,
)
from ..locks import lock_hold_ticket
from ..models import (
    HOLD_TICKET_OWNER,
    HoldTicket,
    HoldTicketLine,
    HoldTicketStatus,
    Order,
    OrderMode,
)
from .common import LineIn
from .placing import order_place

MAX_HOLD = timedelta(days=7)
MIN_HOLD = timedelta(minutes=30)  # the page offers whole hours from one


# --------------------------------------------------------------------------- the draft


@transaction.atomic
def hold_ticket_draft(*, store: Location, actor: User) -> HoldTicket:
    """The clerk's ticket being written at this store, made when there is none."""
    ticket = (
        HoldTicket.objects.filter(store=store, created_by=actor, status=HoldTicketStatus.DRAFT)
        .order_by("id")
        .first()
    )
    if ticket is None:
        ticket = HoldTicket.objects.create(store=store, created_by=actor)
    return ticket


@transaction.atomic
def hold_ticket_line_add(
    *, ticket: HoldTicket, product: Product, quantity: int = 1
) -> HoldTicketLine:
    """Put ``quantity`` more of a SKU on a draft ticket (a second add of the same SKU adds up)."""
    ticket = lock_hold_ticket(ticket.pk)
    if ticket.status != HoldTicketStatus.DRAFT:
        raise HoldTicketClosed(ticket)
    stock.check_quantity(quantity)
    if not product.active:
        raise InactiveProduct(product)
    line, created = HoldTicketLine.objects.get_or_create(
        ticket=ticket, product=product, defaults={"quantity": quantity}
    )
    if not created:
        if line.quantity + quantity > stock.MAX_LINE_QUANTITY:
            raise HoldTicketInvalid("quantity")
        HoldTicketLine.objects.filter(pk=line.pk).update(quantity=F("quantity") + quantity)
        line.refresh_from_db()
    return line


@transaction.atomic
def hold_ticket_line_set(*, ticket: HoldTicket, line_id: int, quantity: int) -> None:
    """Change a draft line's quantity; 0 takes it off the ticket."""
    ticket = lock_hold_ticket(ticket.pk)
    if ticket.status != HoldTicketStatus.DRAFT:
        raise HoldTicketClosed(ticket)
    stock.check_quantity(quantity, allow_zero=True)
    lines = HoldTicketLine.objects.filter(ticket=ticket, pk=line_id)
    if not lines.exists():
        raise HoldTicketInvalid("line")
    if quantity == 0:
        lines.delete()
    else:
        lines.update(quantity=quantity)


def _check_customer(name: str, phone: str, hold_until: datetime) -> tuple[str, str]:
    name, phone = name.strip()[:100], phone.strip()[:32]
    if not name and not phone:
        raise HoldTicketInvalid("customer")
    now = timezone.now()
    if not now + MIN_HOLD <= hold_until <= now + MAX_HOLD:
        raise HoldTicketInvalid("hold_until")
    return name, phone


# --------------------------------------------------------------------------- hold


@transaction.atomic
def hold_ticket_hold(
    *,
    ticket: HoldTicket,
    customer_name: str,
    customer_phone: str,
    hold_until: datetime,
    actor: User | None = None,
) -> HoldTicket:
    """Hold every line of a draft ticket at its store until ``hold_until``, all or nothing
    (``stock_reserve_many``: the stock levels locked in the global order). Short anywhere:
    ``HoldTicketShort``, and nothing is held."""
    ticket = lock_hold_ticket(ticket.pk)
    if ticket.status != HoldTicketStatus.DRAFT:
        raise HoldTicketClosed(ticket)
    name, phone = _check_customer(customer_name, customer_phone, hold_until)
    lines = list(ticket.lines.select_related("product").order_by("id"))
    if not lines:
        raise HoldTicketEmpty()
    _reserve(ticket, lines, hold_until=hold_until, actor=actor)
    HoldTicket.objects.filter(pk=ticket.pk).update(
        status=HoldTicketStatus.HELD,
        customer_name=name,
        customer_phone=phone,
        hold_until=hold_until,
        held_at=timezone.now(),
    )
    ticket.refresh_from_db()
    return ticket


def _reserve(
    ticket: HoldTicket, lines: list[HoldTicketLine], *, hold_until: datetime, actor: User | None
) -> None:
    try:
        holds = stock.stock_reserve_many(
            lines=[
                stock.ReserveLine(
                    product=ln.product,
                    location=ticket.store,
                    quantity=ln.quantity,
                    owner_id=str(ln.pk),
                )
                for ln in lines
            ],
            owner_type=HOLD_TICKET_OWNER,
            owner_id="",
            expires_at=hold_until,
            actor=actor,
        )
    except InsufficientStock as short:
        raise HoldTicketShort(ticket, short.shortages) from short
    for line, hold in zip(lines, holds, strict=True):
        HoldTicketLine.objects.filter(pk=line.pk).update(reservation=hold)


# --------------------------------------------------------------------------- nearby stores


@transaction.atomic
def hold_ticket_hold_elsewhere(
    *,
    ticket: HoldTicket,
    line_id: int,
    store: Location,
    customer_name: str,
    customer_phone: str,
    hold_until: datetime,
    actor: User | None = None,
) -> HoldTicket:
    """This store is short of a line: hold it at ``store`` (a nearby one) for the same
    customer, on a ticket of its own there, and take it off the draft here. The caller decides
    which stores a clerk may hold at (the nearby ones)."""
    ticket = lock_hold_ticket(ticket.pk)
    if ticket.status != HoldTicketStatus.DRAFT:
        raise HoldTicketClosed(ticket)
    if store.pk == ticket.store_id:
        raise HoldTicketInvalid("store")
    name, phone = _check_customer(customer_name, customer_phone, hold_until)
    line = (
        HoldTicketLine.objects.select_related("product").filter(ticket=ticket, pk=line_id).first()
    )
    if line is None:
        raise HoldTicketInvalid("line")
    there = HoldTicket.objects.create(
        store=store,
        created_by=actor,
        note=f"for a customer at {ticket.store.code}"[:200],
    )
    moved = HoldTicketLine.objects.create(
        ticket=there, product=line.product, quantity=line.quantity
    )
    _reserve(there, [moved], hold_until=hold_until, actor=actor)
    HoldTicket.objects.filter(pk=there.pk).update(
        status=HoldTicketStatus.HELD,
        customer_name=name,
        customer_phone=phone,
        hold_until=hold_until,
        held_at=timezone.now(),
    )
    line.delete()
    there.refresh_from_db()
    return there


@transaction.atomic
def hold_ticket_transfer_request(
    *, ticket: HoldTicket, line_id: int, source: Location, actor: User | None = None
) -> Transfer:
    """This store is short of a line: ask ``source`` to send it here, a draft transfer for that
    store to approve (nothing is reserved until it does), and take it off the draft ticket."""
    ticket = lock_hold_ticket(ticket.pk)
    if ticket.status != HoldTicketStatus.DRAFT:
        raise HoldTicketClosed(ticket)
    if source.pk == ticket.store_id:
        raise HoldTicketInvalid("store")
    line = (
        HoldTicketLine.objects.select_related("product").filter(ticket=ticket, pk=line_id).first()
    )
    if line is None:
        raise HoldTicketInvalid("line")
    transfer = stock.transfer_create(
        source=source,
        destination=ticket.store,
        lines=[(line.product, line.quantity)],
        reference=f"walk-in {ticket.number}",
        note=f"asked by {ticket.store.code} for a walk-in customer",
        actor=actor,
    )
    line.delete()
    return transfer


# --------------------------------------------------------------------------- release and sell


def _release_holds(
    ticket: HoldTicket, lines: list[HoldTicketLine], *, reason: str, actor: User | None
) -> None:
    """Give back every still-active hold of the lines; expects the stock levels locked. A hold
    the expiry sweep closed already has nothing to give back."""
    ids = [ln.reservation_id for ln in lines if ln.reservation_id is not None]
    for hold in Reservation.objects.filter(pk__in=ids, status=ReservationStatus.ACTIVE).order_by(
        "location_id", "product_id", "id"
    ):
        stock.reservation_release(reservation=hold, reason=reason, actor=actor)


@transaction.atomic
def hold_ticket_release(*, ticket: HoldTicket, actor: User | None = None) -> HoldTicket:
    """The customer is not coming: every line back to stock."""
    ticket = lock_hold_ticket(ticket.pk)
    if ticket.status != HoldTicketStatus.HELD:
        raise HoldTicketClosed(ticket)
    lines = list(ticket.lines.all())
    stock_locks.lock_stock_levels((ticket.store_id, ln.product_id) for ln in lines)
    _release_holds(ticket, lines, reason=f"{ticket.number} released at the counter", actor=actor)
    HoldTicket.objects.filter(pk=ticket.pk).update(
        status=HoldTicketStatus.RELEASED, closed_at=timezone.now()
    )
    ticket.refresh_from_db()
    return ticket


def counter_channel(store: Location) -> Channel | None:
    """The counter-sales channel live at the store today (its counter sales are on in the
    rollout), if any."""
    if store.city is None:
        return None
    channels = Channel.objects.filter(
        kind=ChannelKind.STORE_POS, active=True, locations__location=store
    ).order_by("locations__priority", "code")
    for channel in channels:
        live = live_locations(city=store.city, service=Service.STORE_SALE, channel=channel)
        if live.filter(pk=store.pk).exists():
            return channel
    return None


@transaction.atomic
def hold_ticket_sell(
    *, ticket: HoldTicket, quantities: Mapping[int, int], actor: User | None = None
) -> Order:
    """The customer takes the held goods: a counter sale of ``quantities`` (line id → units,
    0 to ``line.quantity``; lines left out sell none), the rest of the ticket released.

    All in one transaction under the ticket's lock and its stock levels': the ticket's holds are
    released and the counter sale (``order_place``, ``store_sale``) takes the same units at
    once, so stock leaves once, with the sale. A line whose hold ran out is sold all the same,
    as any counter sale is: the customer holds the goods. Any refusal leaves everything as it
    was."""
    ticket = lock_hold_ticket(ticket.pk)
    if ticket.status != HoldTicketStatus.HELD:
        raise HoldTicketClosed(ticket)
    lines = list(ticket.lines.select_related("product").order_by("id"))
    by_id = {ln.pk: ln for ln in lines}
    for line_id, quantity in quantities.items():
        line = by_id.get(line_id)
        if line is None:
            raise HoldTicketInvalid("line")
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise HoldTicketInvalid("quantity")
        if not 0 <= quantity <= line.quantity:
            raise HoldTicketInvalid("quantity")
    sold = {line_id: q for line_id, q in quantities.items() if q > 0}
    if not sold:
        raise HoldTicketEmpty(selling=True)
    channel = counter_channel(ticket.store)
    if channel is None:
        raise CounterNotLive(ticket.store)
    stock_locks.lock_stock_levels((ticket.store_id, ln.product_id) for ln in lines)
    _release_holds(ticket, lines, reason=f"{ticket.number} sold at the counter", actor=actor)
    order, _created = order_place(
        channel=channel,
        external_id=f"hold-{ticket.number}",
        mode=OrderMode.STORE_SALE,
        store=ticket.store,
        customer_name=ticket.customer_name,
        customer_phone=ticket.customer_phone,
        lines=[
            LineIn(product=by_id[i].product, quantity=q, unit_price=by_id[i].product.price)
            for i, q in sorted(sold.items())
        ],
        actor=actor,
    )
    for line_id, quantity in sold.items():
        HoldTicketLine.objects.filter(pk=line_id).update(sold=quantity)
    HoldTicket.objects.filter(pk=ticket.pk).update(
        status=HoldTicketStatus.SOLD, order=order, closed_at=timezone.now()
    )
    return order
