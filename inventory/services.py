"""Writes to the stock model. Every change of stock is a ledger move plus the matching change
of the stock levels, in one transaction.

Locking rule (DESIGN.md, "Concurrency rule"; docs/locking.md): a single-line reservation is one
conditional UPDATE; anything touching several stock levels locks them first with
``locks.lock_stock_levels`` (ordered by location id, product id), then touches reservations.
A transfer's row comes before its stock levels (``locks.lock_transfer``), and a reservation's
after its level. Every row lock of this app is a helper in ``inventory.locks``; holding their
one order everywhere is what keeps concurrent writers free of deadlocks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy

from omni.errors import Conflict, InvalidInput
from omni.models import User

from .errors import (
    CountBelowReserved,
    DuplicateLine,
    InactiveProduct,
    InsufficientStock,
    NoLines,
    NotAStockLocation,
    QuantityInvalid,
    ReservationNotActive,
    Shortage,
    TransferInvalidState,
)
from .locks import (
    ensure_stock_levels,
    lock_reservation,
    lock_stock_levels,
    lock_transfer,
)
from .models import (
    Location,
    LocationKind,
    MoveReason,
    Product,
    Receipt,
    ReceiptLine,
    Reservation,
    ReservationStatus,
    StockCount,
    StockCountLine,
    StockDiscrepancy,
    StockLevel,
    StockMove,
    Transfer,
    TransferLine,
    TransferStatus,
)
from .signals import announce_available

# Largest quantity one line may carry: far above any real line, far below integer overflow.
MAX_LINE_QUANTITY = 1_000_000

VIRTUAL_LOCATION_CODES = {
    LocationKind.SUPPLIER: "VIRTUAL-SUPPLIER",
    LocationKind.CUSTOMER: "VIRTUAL-CUSTOMER",
    LocationKind.ADJUSTMENT: "VIRTUAL-ADJUSTMENT",
    LocationKind.TRANSIT: "VIRTUAL-TRANSIT",
    LocationKind.SCRAP: "VIRTUAL-SCRAP",
}


@dataclass(frozen=True)
class StockLine:
    """A quantity of a product at a location, as services take it."""

    product: Product
    location: Location
    quantity: int


# --------------------------------------------------------------------------- helpers


def virtual_location(kind: LocationKind) -> Location:
    """The single location of a virtual kind (``supplier``, ``customer``, …)."""
    location, _ = Location.objects.get_or_create(
        code=VIRTUAL_LOCATION_CODES[kind],
        defaults={"name": kind.label, "kind": kind},
    )
    return location


def check_quantity(quantity: int, *, field: str = "quantity", allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not low <= quantity <= MAX_LINE_QUANTITY
    ):
        raise QuantityInvalid(field, quantity, low=low, high=MAX_LINE_QUANTITY)


def _check_stock_location(location: Location) -> None:
    if not location.is_physical or not location.active:
        raise NotAStockLocation(location)


def _check_distinct(keys: Iterable[tuple[int, int]], what: str) -> None:
    seen: set[tuple[int, int]] = set()
    for key in keys:
        if key in seen:
            raise DuplicateLine(what, key=key)
        seen.add(key)


def _record_move(
    *,
    product: Product,
    from_location: Location,
    to_location: Location,
    quantity: int,
    reason: MoveReason,
    reference: str = "",
    note: str = "",
    reservation: Reservation | None = None,
    actor: User | None = None,
) -> StockMove:
    """Append one ledger row and apply it to the stock levels of its physical ends.

    Leaving a physical location takes only unreserved stock, unless the move consumes
    ``reservation``, in which case on hand and reserved fall together. Each stock-level change
    is a conditional UPDATE, so no caller can drive a level negative whatever it locked.
    """
    if from_location.is_physical:
        levels = StockLevel.objects.filter(product=product, location=from_location)
        if reservation is not None:
            changed = levels.filter(reserved__gte=quantity, on_hand__gte=quantity).update(
                on_hand=F("on_hand") - quantity, reserved=F("reserved") - quantity
            )
        else:
            changed = levels.filter(on_hand__gte=F("reserved") + quantity).update(
                on_hand=F("on_hand") - quantity
            )
        if not changed:
            raise _insufficient(product, from_location, quantity)
    if to_location.is_physical:
        ensure_stock_levels([(to_location.pk, product.pk)])
        StockLevel.objects.filter(product=product, location=to_location).update(
            on_hand=F("on_hand") + quantity
        )
        announce_available([(to_location.pk, product.pk)])
    return StockMove.objects.create(
        product=product,
        from_location=from_location,
        to_location=to_location,
        quantity=quantity,
        reason=reason,
        reference=reference[:64],
        note=note[:255],
        reservation=reservation,
        actor=actor,
    )


def _insufficient(product: Product, location: Location, requested: int) -> InsufficientStock:
    level = StockLevel.objects.filter(product=product, location=location).first()
    available = level.available if level else 0
    return InsufficientStock(
        product=product, location=location, requested=requested, available=available
    )


# --------------------------------------------------------------------------- master data


@transaction.atomic
def product_create(
    *,
    sku: str,
    name: str,
    barcode: str | None = None,
    unit: str = "each",
    pack_size: int = 1,
    unit_volume: float | Decimal = Decimal("0.001"),
    cost: float | Decimal = Decimal("0"),
    price: float | Decimal = Decimal("0"),
    active: bool = True,
) -> Product:
    if Product.objects.filter(sku=sku).exists():
        raise Conflict.saying(
            gettext_lazy("a product with SKU %(sku)r exists"), detail={"sku": sku}, sku=sku
        )
    if barcode and Product.objects.filter(barcode=barcode).exists():
        raise Conflict.saying(
            gettext_lazy("barcode %(barcode)r belongs to another product"),
            detail={"barcode": barcode},
            barcode=barcode,
        )
    return Product.objects.create(
        sku=sku,
        name=name,
        barcode=barcode or None,
        unit=unit,
        pack_size=pack_size,
        unit_volume=Decimal(str(unit_volume)).quantize(Decimal("0.0001")),
        cost=Decimal(str(cost)).quantize(Decimal("0.01")),
        price=Decimal(str(price)).quantize(Decimal("0.01")),
        active=active,
    )


# --------------------------------------------------------------------------- receipts


@transaction.atomic
def stock_receive(
    *,
    location: Location,
    lines: Sequence[tuple[Product, int]],
    supplier: str = "",
    supplier_reference: str = "",
    actor: User | None = None,
) -> Receipt:
    """Goods in from a supplier: one ``receipt`` move per line, supplier → location."""
    _check_stock_location(location)
    if not lines:
        raise NoLines("receipt")
    _check_distinct(((location.pk, p.pk) for p, _ in lines), "receipt")
    for _, quantity in lines:
        check_quantity(quantity)
    # Several stock levels change: lock them in the global order first, or two receipts
    # listing the same SKUs in another order deadlock.
    lock_stock_levels((location.pk, p.pk) for p, _ in lines)
    receipt = Receipt.objects.create(
        location=location, supplier=supplier, supplier_reference=supplier_reference, actor=actor
    )
    supplier_location = virtual_location(LocationKind.SUPPLIER)
    ReceiptLine.objects.bulk_create(
        [ReceiptLine(receipt=receipt, product=p, quantity=q) for p, q in lines]
    )
    for product, quantity in lines:
        _record_move(
            product=product,
            from_location=supplier_location,
            to_location=location,
            quantity=quantity,
            reason=MoveReason.RECEIPT,
            reference=f"receipt:{receipt.pk}",
            note=supplier_reference,
            actor=actor,
        )
    return receipt


@transaction.atomic
def stock_return(
    *,
    product: Product,
    location: Location,
    quantity: int,
    scrap: bool = False,
    reference: str = "",
    note: str = "",
    actor: User | None = None,
) -> list[StockMove]:
    """Goods back from a customer: ``customer`` → location (``return``), and on to ``scrap``
    when they cannot be sold again."""
    _check_stock_location(location)
    check_quantity(quantity)
    lock_stock_levels([(location.pk, product.pk)])
    moves = [
        _record_move(
            product=product,
            from_location=virtual_location(LocationKind.CUSTOMER),
            to_location=location,
            quantity=quantity,
            reason=MoveReason.RETURN,
            reference=reference,
            note=note,
            actor=actor,
        )
    ]
    if scrap:
        moves.append(
            _record_move(
                product=product,
                from_location=location,
                to_location=virtual_location(LocationKind.SCRAP),
                quantity=quantity,
                reason=MoveReason.SCRAP,
                reference=reference,
                note=note,
                actor=actor,
            )
        )
    return moves


# --------------------------------------------------------------------------- counts


@transaction.atomic
def stock_count(
    *,
    location: Location,
    lines: Sequence[tuple[Product, int]],
    release_holds: bool = False,
    actor: User | None = None,
    note: str = "",
) -> StockCount:
    """Record a physical count. Each line's difference from on hand becomes a ``count`` move
    (location ↔ ``adjustment``). Counting fewer units than are reserved is refused unless
    ``release_holds``, which releases the newest holds first until they fit."""
    _check_stock_location(location)
    if not lines:
        raise NoLines("count")
    _check_distinct(((location.pk, p.pk) for p, _ in lines), "count")
    for _, counted in lines:
        check_quantity(counted, field="counted", allow_zero=True)

    levels = lock_stock_levels((location.pk, p.pk) for p, _ in lines)
    short = [
        (p, counted, levels[(location.pk, p.pk)])
        for p, counted in lines
        if counted < levels[(location.pk, p.pk)].reserved
    ]
    if short and not release_holds:
        raise CountBelowReserved((p, c, lvl.reserved) for p, c, lvl in short)

    count = StockCount.objects.create(location=location, actor=actor, note=note)
    adjustment = virtual_location(LocationKind.ADJUSTMENT)
    for product, counted in lines:
        level = levels[(location.pk, product.pk)]
        released = 0
        if counted < level.reserved:
            released = _release_newest_holds(
                product=product, location=location, units=level.reserved - counted, actor=actor
            )
        StockCountLine.objects.create(
            count=count,
            product=product,
            expected=level.on_hand,
            counted=counted,
            released_reserved=released,
        )
        difference = counted - level.on_hand
        if difference:
            gain = difference > 0
            _record_move(
                product=product,
                from_location=adjustment if gain else location,
                to_location=location if gain else adjustment,
                quantity=abs(difference),
                reason=MoveReason.COUNT,
                reference=f"count:{count.pk}",
                note=note,
                actor=actor,
            )
    return count


def _release_newest_holds(
    *, product: Product, location: Location, units: int, actor: User | None
) -> int:
    """Release active holds, newest first, until ``units`` are freed. Expects the caller to hold
    the stock-level lock. Returns the units released."""
    released = 0
    holds = Reservation.objects.filter(
        product=product, location=location, status=ReservationStatus.ACTIVE
    ).order_by("-created_at", "-id")
    for hold in holds:
        if released >= units:
            break
        _close_reservation(hold, ReservationStatus.RELEASED, reason="count", actor=actor)
        released += hold.quantity
    return released


def stock_discrepancy_record(
    *,
    product: Product,
    location: Location,
    observed: int,
    reason: str,
    reference: str = "",
    actor: User | None = None,
) -> StockDiscrepancy:
    """The shelf holds ``observed`` units where the system shows another on hand: bring on hand
    to ``observed`` with an ``adjustment`` move and flag the SKU for a count. Expects the caller
    to hold the stock-level lock; a loss may only take unreserved units (release holds first).
    """
    _check_stock_location(location)
    check_quantity(observed, field="observed", allow_zero=True)
    level = lock_stock_levels([(location.pk, product.pk)])[(location.pk, product.pk)]
    difference = observed - level.on_hand
    move = None
    if difference:
        adjustment = virtual_location(LocationKind.ADJUSTMENT)
        move = _record_move(
            product=product,
            from_location=adjustment if difference > 0 else location,
            to_location=location if difference > 0 else adjustment,
            quantity=abs(difference),
            reason=MoveReason.ADJUSTMENT,
            reference=reference,
            note=reason,
            actor=actor,
        )
    return StockDiscrepancy.objects.create(
        product=product,
        location=location,
        system_quantity=level.on_hand,
        observed_quantity=observed,
        reason=reason[:255],
        reference=reference[:64],
        move=move,
        actor=actor,
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
def transfer_line_reduce(
    *, line: TransferLine, quantity: int, reason: str, actor: User | None = None
) -> TransferLine:
    """Send fewer units on an approved transfer line (the picker found fewer). Reduced to zero,
    the line leaves the transfer; a transfer left without lines is cancelled.

    Locks the transfer, then the line's stock level, as dispatch and cancel do: a caller that
    holds a stock-level lock already must have taken this transfer's lock before it."""
    transfer = lock_transfer(line.transfer_id)
    if transfer.status != TransferStatus.APPROVED:
        raise TransferInvalidState(transfer, action="change")
    line = TransferLine.objects.select_related("reservation").get(pk=line.pk)
    check_quantity(quantity, allow_zero=True)
    if quantity >= line.quantity:
        return line
    assert line.reservation is not None, "an approved transfer line always holds stock"
    reservation_shrink(
        reservation=line.reservation, to_quantity=quantity, reason=reason, actor=actor
    )
    if quantity:
        TransferLine.objects.filter(pk=line.pk).update(quantity=quantity)
        line.refresh_from_db()
        return line
    # Nothing found: the line leaves the transfer, and a transfer left empty is cancelled.
    TransferLine.objects.filter(pk=line.pk).delete()
    if not transfer.lines.exists():
        _set_transfer_status(
            transfer, expected=TransferStatus.APPROVED, to=TransferStatus.CANCELLED
        )
    return line


@transaction.atomic
def reservation_consume(
    *,
    reservation: Reservation,
    quantity: int | None = None,
    to_location: Location | None = None,
    reason: MoveReason = MoveReason.SALE,
    reference: str = "",
    actor: User | None = None,
) -> StockMove:
    """Turn a hold into a ledger move (to ``customer`` unless told otherwise).

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


# --------------------------------------------------------------------------- transfers


def _set_transfer_status(
    transfer: Transfer, *, expected: TransferStatus | Sequence[TransferStatus], to: TransferStatus
) -> None:
    allowed = [expected] if isinstance(expected, str) else list(expected)
    stamp = {
        TransferStatus.APPROVED: "approved_at",
        TransferStatus.DISPATCHED: "dispatched_at",
        TransferStatus.RECEIVED: "received_at",
        TransferStatus.CANCELLED: "cancelled_at",
    }[to]
    now = timezone.now()
    changed = Transfer.objects.filter(pk=transfer.pk, status__in=allowed).update(
        status=to, **{stamp: now}
    )
    if not changed:
        transfer.refresh_from_db(fields=["status"])
        raise TransferInvalidState(transfer, expected=allowed)
    transfer.status = to
    setattr(transfer, stamp, now)


@transaction.atomic
def transfer_create(
    *,
    source: Location,
    destination: Location,
    lines: Sequence[tuple[Product, int]],
    reference: str = "",
    note: str = "",
    actor: User | None = None,
) -> Transfer:
    """A draft transfer: nothing is reserved until it is approved."""
    _check_stock_location(source)
    _check_stock_location(destination)
    if source.pk == destination.pk:
        raise InvalidInput(gettext_lazy("a transfer needs two different locations"))
    if not lines:
        raise NoLines("transfer")
    _check_distinct(((source.pk, p.pk) for p, _ in lines), "transfer")
    for _, quantity in lines:
        check_quantity(quantity)
    transfer = Transfer.objects.create(
        source=source, destination=destination, reference=reference, note=note, created_by=actor
    )
    TransferLine.objects.bulk_create(
        [TransferLine(transfer=transfer, product=p, quantity=q) for p, q in lines]
    )
    return transfer


@transaction.atomic
def transfer_approve(*, transfer: Transfer, actor: User | None = None) -> Transfer:
    """Reserve every line at the source, all or nothing."""
    transfer = lock_transfer(transfer.pk)
    if transfer.status != TransferStatus.DRAFT:
        raise TransferInvalidState(transfer, action="approve")
    lines = list(transfer.lines.select_related("product"))
    reservations = stock_reserve_many(
        lines=[
            ReserveLine(
                product=ln.product,
                location=transfer.source,
                quantity=ln.quantity,
                owner_id=str(ln.pk),
            )
            for ln in lines
        ],
        owner_type="transfer_line",
        owner_id="",
        actor=actor,
    )
    for line, reservation in zip(lines, reservations, strict=True):
        TransferLine.objects.filter(pk=line.pk).update(reservation=reservation)
    _set_transfer_status(transfer, expected=TransferStatus.DRAFT, to=TransferStatus.APPROVED)
    return transfer


@transaction.atomic
def transfer_dispatch(*, transfer: Transfer, actor: User | None = None) -> Transfer:
    """Goods leave the source: each line's hold is consumed into ``transit``."""
    transfer = lock_transfer(transfer.pk)
    _set_transfer_status(transfer, expected=TransferStatus.APPROVED, to=TransferStatus.DISPATCHED)
    transit = virtual_location(LocationKind.TRANSIT)
    lines = list(transfer.lines.select_related("reservation"))
    lock_stock_levels((transfer.source_id, ln.product_id) for ln in lines)
    for line in lines:
        assert line.reservation is not None, "an approved transfer line always holds stock"
        reservation_consume(
            reservation=line.reservation,
            to_location=transit,
            reason=MoveReason.TRANSFER_OUT,
            reference=transfer.ledger_reference,
            actor=actor,
        )
    return transfer


@dataclass(frozen=True)
class ReceivedLine:
    product: Product
    received: int
    reason: str = ""


@transaction.atomic
def transfer_receive(
    *,
    transfer: Transfer,
    lines: Sequence[ReceivedLine] | None = None,
    actor: User | None = None,
) -> Transfer:
    """Goods arrive: ``transit`` → destination. Lines not given arrived in full. A shortfall
    goes from ``transit`` to ``adjustment``, a surplus from ``adjustment`` to the destination,
    each with its stated reason."""
    transfer = lock_transfer(transfer.pk)
    if transfer.status != TransferStatus.DISPATCHED:
        raise TransferInvalidState(transfer, action="receive")
    transfer_lines = {ln.product_id: ln for ln in transfer.lines.select_related("product")}
    reported = {ln.product.pk: ln for ln in lines or []}
    _check_distinct(((0, ln.product.pk) for ln in lines or []), "receipt of a transfer")
    for product_id, report in reported.items():
        if product_id not in transfer_lines:
            raise InvalidInput.saying(
                gettext_lazy("%(sku)s is not on transfer %(transfer)s"),
                detail={"sku": report.product.sku},
                sku=report.product.sku,
                transfer=transfer.pk,
            )
        check_quantity(report.received, field="received", allow_zero=True)
        if report.received != transfer_lines[product_id].quantity and not report.reason.strip():
            raise InvalidInput.saying(
                gettext_lazy("say why %(sku)s arrived as %(received)s instead of %(expected)s"),
                detail={"sku": report.product.sku, "field": "reason"},
                sku=report.product.sku,
                received=report.received,
                expected=transfer_lines[product_id].quantity,
            )

    transit = virtual_location(LocationKind.TRANSIT)
    adjustment = virtual_location(LocationKind.ADJUSTMENT)
    destination = transfer.destination
    # The destination's levels change line by line: lock them in the global order first.
    lock_stock_levels((destination.pk, product_id) for product_id in transfer_lines)
    reference = transfer.ledger_reference
    for product_id, line in transfer_lines.items():
        stated = reported.get(product_id)
        received = stated.received if stated else line.quantity
        reason = stated.reason.strip() if stated else ""
        arrived = min(received, line.quantity)
        if arrived:
            _record_move(
                product=line.product,
                from_location=transit,
                to_location=destination,
                quantity=arrived,
                reason=MoveReason.TRANSFER_IN,
                reference=reference,
                actor=actor,
            )
        if received < line.quantity:
            _record_move(
                product=line.product,
                from_location=transit,
                to_location=adjustment,
                quantity=line.quantity - received,
                reason=MoveReason.ADJUSTMENT,
                reference=reference,
                note=f"shortfall: {reason}",
                actor=actor,
            )
        elif received > line.quantity:
            _record_move(
                product=line.product,
                from_location=adjustment,
                to_location=destination,
                quantity=received - line.quantity,
                reason=MoveReason.ADJUSTMENT,
                reference=reference,
                note=f"surplus: {reason}",
                actor=actor,
            )
        TransferLine.objects.filter(pk=line.pk).update(
            received_quantity=received, discrepancy_reason=reason[:255]
        )
    _set_transfer_status(transfer, expected=TransferStatus.DISPATCHED, to=TransferStatus.RECEIVED)
    return transfer


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, actor: User | None = None) -> Transfer:
    """Cancel before dispatch; an approved transfer's holds go back to the source."""
    transfer = lock_transfer(transfer.pk)
    was_approved = transfer.status == TransferStatus.APPROVED
    _set_transfer_status(
        transfer,
        expected=(TransferStatus.DRAFT, TransferStatus.APPROVED),
        to=TransferStatus.CANCELLED,
    )
    if was_approved:
        lines = list(transfer.lines.select_related("reservation"))
        lock_stock_levels((transfer.source_id, ln.product_id) for ln in lines)
        for line in lines:
            if line.reservation is not None:
                _close_reservation(
                    line.reservation,
                    ReservationStatus.RELEASED,
                    reason="transfer cancelled",
                    actor=actor,
                )
    return transfer


@transaction.atomic
def location_save(*, code: str, **fields: Any) -> Location:
    """Create the location ``code`` or update the ``fields`` given (name, kind, city, latitude,
    longitude, capacity, active). Stock never moves here: a location's stock is the ledger's."""
    location, created = Location.objects.get_or_create(code=code, defaults=fields)
    if not created and fields:
        Location.objects.filter(pk=location.pk).update(**fields)
        location.refresh_from_db()
    return location
