"""Counts: the counted quantity becomes the stock level, the difference a move and, when a
count falls below what is held, a discrepancy for a person.

An open discrepancy is a count task of its location ("count it"): a short pick, a counter sale
of more than the system showed, a transfer from here that arrived short or over. Counting the
SKU there closes every open task for it."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from omni.models import User

from ..errors import (
    CountBelowReserved,
    NoLines,
)
from ..locks import (
    lock_stock_levels,
)
from ..models import (
    DiscrepancyCause,
    DiscrepancyStatus,
    Location,
    LocationKind,
    MoveReason,
    Product,
    Reservation,
    ReservationStatus,
    StockCount,
    StockCountLine,
    StockDiscrepancy,
)
from .ledger import (
    _check_distinct,
    _check_stock_location,
    _record_move,
    check_quantity,
    virtual_location,
)
from .reservations import _close_reservation

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
    StockDiscrepancy.objects.filter(
        location=location,
        product__in=[p for p, _ in lines],
        status=DiscrepancyStatus.OPEN,
    ).update(status=DiscrepancyStatus.RESOLVED, resolved_at=timezone.now(), resolved_by_count=count)
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
    cause: DiscrepancyCause | str = "",
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
        cause=cause,
        move=move,
        actor=actor,
    )
