"""Holds of stock: reserving (one conditional UPDATE per line, or locked rows for several),
releasing, shrinking, consuming and expiring them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from omni.errors import InvalidInput
from omni.models import User

from ..errors import (
    InactiveProduct,
    InsufficientStock,
    NoLines,
    ReservationNotActive,
    Shortage,
)
from ..locks import (
    lock_reservation,
    lock_stock_levels,
)
from ..models import (
    Location,
    LocationKind,
    MoveReason,
    Product,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMove,
)
from ..signals import announce_available
from .ledger import (
    _check_stock_location,
    _insufficient,
    _record_move,
    check_quantity,
    virtual_location,
)

# --------------------------------------------------------------------------- reservations


# The one conditional UPDATE of a single-line reservation (DESIGN.md, "Concurrency rule"), as
# SQL: building and compiling the equivalent ``filter(...).update(...)`` costs about 0.4 ms of
# CPU per call, several times what PostgreSQL spends running it, and this is the hottest write
# path there is (bench/reserve.py measures it against hand-written SQL).
_HOLD_SQL = (
    f"UPDATE {StockLevel._meta.db_table} SET reserved = reserved + %s"
    " WHERE product_id = %s AND location_id = %s AND on_hand - reserved >= %s"
)


def _hold(*, product_id: int, location_id: int, quantity: int) -> bool:
    """Add ``quantity`` to a level's reserved if that many are available; False if not."""
    with connection.cursor() as cursor:
        cursor.execute(_HOLD_SQL, [quantity, product_id, location_id, quantity])
        return cursor.rowcount == 1


@transaction.atomic
def stock_reserve(
    *,
    product: Product,
    location: Location,
    quantity: int,
    owner_type: str,
    owner_id: str,
    expires_at: datetime | None = None,
    actor: User | None = None,
) -> Reservation:
    """Hold ``quantity`` units for an owner: one conditional UPDATE, no read-check-write."""
    _check_stock_location(location)
    check_quantity(quantity)
    if not product.active:
        raise InactiveProduct(product)
    if not _hold(product_id=product.pk, location_id=location.pk, quantity=quantity):
        raise _insufficient(product, location, quantity)
    return Reservation.objects.create(
        product=product,
        location=location,
        quantity=quantity,
        owner_type=owner_type,
        owner_id=owner_id,
        expires_at=expires_at,
        actor=actor,
    )


@dataclass(frozen=True)
class ReserveLine:
    product: Product
    location: Location
    quantity: int
    owner_id: str | None = None  # defaults to the call's owner_id


@transaction.atomic
def stock_reserve_many(
    *,
    lines: Sequence[ReserveLine],
    owner_type: str,
    owner_id: str,
    expires_at: datetime | None = None,
    actor: User | None = None,
) -> list[Reservation]:
    """Hold several lines at once, all or nothing. Locks the stock levels in the global order,
    so concurrent multi-line reservations never deadlock."""
    if not lines:
        raise NoLines("reservation")
    wanted: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        _check_stock_location(line.location)
        check_quantity(line.quantity)
        if not line.product.active:
            raise InactiveProduct(line.product)
        wanted[(line.location.pk, line.product.pk)] += line.quantity

    levels = lock_stock_levels(wanted)
    by_key = {(ln.location.pk, ln.product.pk): ln for ln in lines}
    short = [
        Shortage.at(
            by_key[key].location,
            by_key[key].product,
            requested=quantity,
            available=levels[key].available,
        )
        for key, quantity in sorted(wanted.items())
        if levels[key].available < quantity
    ]
    if short:
        raise InsufficientStock(short)
    for key, quantity in sorted(wanted.items()):
        StockLevel.objects.filter(pk=levels[key].pk).update(reserved=F("reserved") + quantity)
    return Reservation.objects.bulk_create(
        [
            Reservation(
                product=line.product,
                location=line.location,
                quantity=line.quantity,
                owner_type=owner_type,
                owner_id=line.owner_id or owner_id,
                expires_at=expires_at,
                actor=actor,
            )
            for line in lines
        ]
    )


def _close_reservation(
    reservation: Reservation, status: ReservationStatus, *, reason: str, actor: User | None
) -> bool:
    """Move an active reservation to ``status`` and give its units back to ``available``.
    Returns False if it was no longer active (someone else closed it first)."""
    now = timezone.now()
    closed = Reservation.objects.filter(pk=reservation.pk, status=ReservationStatus.ACTIVE).update(
        status=status, closed_at=now, close_reason=reason[:64]
    )
    if not closed:
        return False
    changed = StockLevel.objects.filter(
        product_id=reservation.product_id,
        location_id=reservation.location_id,
        reserved__gte=reservation.quantity,
    ).update(reserved=F("reserved") - reservation.quantity)
    if not changed:  # pragma: no cover - the CHECK constraints make this unreachable
        raise RuntimeError(f"stock level out of step with reservation {reservation.pk}")
    announce_available([(reservation.location_id, reservation.product_id)])
    reservation.status = status
    reservation.closed_at = now
    reservation.close_reason = reason[:64]
    return True


@transaction.atomic
def reservation_release(
    *, reservation: Reservation, reason: str = "released", actor: User | None = None
) -> Reservation:
    """Give a hold back. Releasing a reservation that is no longer active is a conflict."""
    lock_stock_levels([(reservation.location_id, reservation.product_id)])
    if not _close_reservation(reservation, ReservationStatus.RELEASED, reason=reason, actor=actor):
        reservation.refresh_from_db()
        raise ReservationNotActive(reservation)
    return reservation


@transaction.atomic
def reservation_shrink(
    *, reservation: Reservation, to_quantity: int, reason: str, actor: User | None = None
) -> Reservation:
    """Hold fewer units (a short pick, a smaller transfer line): the difference goes back to
    ``available``. Shrinking to zero releases the hold."""
    check_quantity(to_quantity, field="to_quantity", allow_zero=True)
    lock_stock_levels([(reservation.location_id, reservation.product_id)])
    current = lock_reservation(reservation.pk)
    if current.status != ReservationStatus.ACTIVE:
        raise ReservationNotActive(current)
    if to_quantity > current.quantity:
        raise InvalidInput.saying(
            gettext_lazy("a hold of %(held)s cannot grow to %(wanted)s this way"),
            detail={"reservation": current.pk, "held": current.quantity},
            held=current.quantity,
            wanted=to_quantity,
        )
    if to_quantity == 0:
        _close_reservation(current, ReservationStatus.RELEASED, reason=reason, actor=actor)
    elif to_quantity < current.quantity:
        freed = current.quantity - to_quantity
        Reservation.objects.filter(pk=current.pk).update(quantity=to_quantity)
        StockLevel.objects.filter(
            product_id=current.product_id, location_id=current.location_id, reserved__gte=freed
        ).update(reserved=F("reserved") - freed)
    reservation.refresh_from_db()
    return reservation


@transaction.atomic
def reservation_consume(
    *,
    reservation: Reservation,
    quantity: int | None = None,
    to_location: Location | None = None,
    reason: MoveReason = MoveReason.SALE,
    reference: str = "",
    actor: User | None = None,
    revenue: Decimal | None = None,
) -> StockMove:
    """Turn a hold into a ledger move (to ``customer`` unless told otherwise); ``revenue`` is
    what the customer paid for the units consumed (a sale's, net of discounts).

    Consuming part of a hold splits it: the consumed part becomes its own consumed reservation
    with exactly one move, and the rest stays active."""
    level_key = (reservation.location_id, reservation.product_id)
    lock_stock_levels([level_key])
    current = lock_reservation(reservation.pk)
    if current.status != ReservationStatus.ACTIVE:
        raise ReservationNotActive(current)
    quantity = current.quantity if quantity is None else quantity
    check_quantity(quantity)
    if quantity > current.quantity:
        raise InvalidInput.saying(
            gettext_lazy("cannot consume %(wanted)s from a hold of %(held)s"),
            detail={"reservation": current.pk, "held": current.quantity},
            held=current.quantity,
            wanted=quantity,
        )
    now = timezone.now()
    consumed = current
    if quantity < current.quantity:
        Reservation.objects.filter(pk=current.pk).update(quantity=F("quantity") - quantity)
        consumed = Reservation.objects.create(
            product_id=current.product_id,
            location_id=current.location_id,
            quantity=quantity,
            status=ReservationStatus.ACTIVE,
            owner_type=current.owner_type,
            owner_id=current.owner_id,
            expires_at=current.expires_at,
            actor=actor,
        )
    Reservation.objects.filter(pk=consumed.pk).update(
        status=ReservationStatus.CONSUMED, closed_at=now, close_reason=reason
    )
    move = _record_move(
        product=current.product,
        from_location=current.location,
        to_location=to_location or virtual_location(LocationKind.CUSTOMER),
        quantity=quantity,
        reason=reason,
        reference=reference or f"{current.owner_type}:{current.owner_id}",
        reservation=consumed,
        actor=actor,
        revenue=revenue,
    )
    reservation.refresh_from_db()
    return move


def reservations_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Expire every active hold whose ``expires_at`` has passed. Safe to run twice at once:
    each hold changes status in a conditional UPDATE, so only one run gives its units back.

    Each hold is its own transaction when the sweep runs outermost, as its task does. It is not
    ``durable``: the stock state machine runs it inside a transaction it rolls back after each
    example, where the holds close one stock level at a time in (location id, product id) order
    within each batch, so even then no lock is taken out of the global order inside a batch."""
    now = now or timezone.now()
    expired = 0
    while True:
        due = list(
            Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=now)
            .order_by("location_id", "product_id", "id")
            .values_list("id", "location_id", "product_id")[:batch_size]
        )
        if not due:
            return expired
        done_this_batch = 0
        for reservation_id, location_id, product_id in due:
            with transaction.atomic():
                lock_stock_levels([(location_id, product_id)])
                reservation = Reservation.objects.get(pk=reservation_id)
                if _close_reservation(
                    reservation, ReservationStatus.EXPIRED, reason="expired", actor=None
                ):
                    expired += 1
                    done_this_batch += 1
        if len(due) < batch_size or not done_this_batch:
            return expired
