"""Transfers between locations: draft, approved (held at the source), dispatched (in transit),
received (with discrepancies), cancelled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from omni.errors import InvalidInput
from omni.models import User

from ..errors import (
    NoLines,
    NotOnDocument,
    TransferInvalidState,
)
from ..locks import (
    lock_stock_levels,
    lock_transfer,
)
from ..models import (
    OVER_CAUSES,
    SHORT_CAUSES,
    DiscrepancyCause,
    Location,
    LocationKind,
    MoveReason,
    Product,
    ReceivingCause,
    ReceivingDraft,
    ReceivingDraftStatus,
    ReservationStatus,
    StockDiscrepancy,
    StockLevel,
    StockMove,
    Transfer,
    TransferLine,
    TransferStatus,
)
from .ledger import (
    _check_distinct,
    _check_stock_location,
    _record_move,
    check_quantity,
    virtual_location,
)
from .reservations import (
    ReserveLine,
    _close_reservation,
    reservation_consume,
    reservation_shrink,
    stock_reserve_many,
)

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
    """What arrived of one transfer line. A difference from what was sent needs a ``cause``
    (a ``ReceivingCause``) or a ``reason`` in words, or both; ``other`` needs the words."""

    product: Product
    received: int
    reason: str = ""
    cause: str = ""


def _check_received_line(report: ReceivedLine, expected: int) -> None:
    check_quantity(report.received, field="received", allow_zero=True)
    if report.received == expected:
        return
    words = report.reason.strip()
    if report.cause:
        allowed = SHORT_CAUSES if report.received < expected else OVER_CAUSES
        if report.cause not in allowed:
            raise InvalidInput.saying(
                gettext_lazy(
                    "%(cause)s is not a reason for %(sku)s arriving as %(received)s"
                    " instead of %(expected)s"
                ),
                detail={"sku": report.product.sku, "field": "cause"},
                cause=report.cause,
                sku=report.product.sku,
                received=report.received,
                expected=expected,
            )
    if (not report.cause or report.cause == ReceivingCause.OTHER) and not words:
        raise InvalidInput.saying(
            gettext_lazy("say why %(sku)s arrived as %(received)s instead of %(expected)s"),
            detail={"sku": report.product.sku, "field": "reason"},
            sku=report.product.sku,
            received=report.received,
            expected=expected,
        )


@transaction.atomic
def transfer_receive(
    *,
    transfer: Transfer,
    lines: Sequence[ReceivedLine] | None = None,
    actor: User | None = None,
) -> Transfer:
    """Goods arrive: ``transit`` → destination. Lines not given arrived in full.

    A difference is booked, never refused: what is on the floor is what the stock says.
    A shortfall goes from ``transit`` to ``adjustment`` (to ``scrap`` when the units came
    damaged), a surplus from ``adjustment`` to the destination, each with its stated reason;
    every difference but damage opens a count task at the source, whose shelf is where the
    missing (or extra) units came from."""
    transfer = lock_transfer(transfer.pk)
    if transfer.status != TransferStatus.DISPATCHED:
        raise TransferInvalidState(transfer, action="receive")
    # A count open on the receiving page is done with, whoever booked the transfer (the
    # transfer before its draft in the lock order).
    ReceivingDraft.objects.filter(transfer=transfer, status=ReceivingDraftStatus.OPEN).update(
        status=ReceivingDraftStatus.FINISHED, finished_at=timezone.now()
    )
    transfer_lines = {ln.product_id: ln for ln in transfer.lines.select_related("product")}
    reported = {ln.product.pk: ln for ln in lines or []}
    _check_distinct(((0, ln.product.pk) for ln in lines or []), "receipt of a transfer")
    for product_id, report in reported.items():
        if product_id not in transfer_lines:
            raise NotOnDocument(report.product, transfer)
        _check_received_line(report, transfer_lines[product_id].quantity)

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
        cause = stated.cause if stated and received != line.quantity else ""
        why = f"{cause}: {reason}" if cause and reason else cause or reason
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
        difference = None
        if received < line.quantity:
            damaged = cause == ReceivingCause.DAMAGED
            difference = _record_move(
                product=line.product,
                from_location=transit,
                to_location=virtual_location(LocationKind.SCRAP) if damaged else adjustment,
                quantity=line.quantity - received,
                reason=MoveReason.SCRAP if damaged else MoveReason.ADJUSTMENT,
                reference=reference,
                note=f"shortfall: {why}"[:255],
                actor=actor,
            )
            if not damaged:
                _count_task_at_source(transfer, line, received, why, difference, actor)
        elif received > line.quantity:
            difference = _record_move(
                product=line.product,
                from_location=adjustment,
                to_location=destination,
                quantity=received - line.quantity,
                reason=MoveReason.ADJUSTMENT,
                reference=reference,
                note=f"surplus: {why}"[:255],
                actor=actor,
            )
            _count_task_at_source(transfer, line, received, why, difference, actor)
        TransferLine.objects.filter(pk=line.pk).update(
            received_quantity=received, discrepancy_cause=cause, discrepancy_reason=reason[:255]
        )
    _set_transfer_status(transfer, expected=TransferStatus.DISPATCHED, to=TransferStatus.RECEIVED)
    return transfer


def _count_task_at_source(
    transfer: Transfer,
    line: TransferLine,
    received: int,
    why: str,
    move: StockMove,
    actor: User | None,
) -> StockDiscrepancy:
    """Ask the source to count the SKU: its shelf may still hold the missing units (or held
    fewer than it showed, when more arrived). The source's stock is not touched here, so its
    level is read, not locked: the figure is what the system showed when the task was made."""
    on_hand = (
        StockLevel.objects.filter(location=transfer.source_id, product=line.product_id)
        .values_list("on_hand", flat=True)
        .first()
    ) or 0
    short = received < line.quantity
    return StockDiscrepancy.objects.create(
        product=line.product,
        location=transfer.source,
        system_quantity=on_hand,
        observed_quantity=on_hand,
        cause=DiscrepancyCause.TRANSFER_SHORT if short else DiscrepancyCause.TRANSFER_OVER,
        reason=(
            f"transfer {transfer.pk} to {transfer.destination.code}: {received} of"
            f" {line.quantity} arrived ({why})"
        )[:255],
        reference=transfer.ledger_reference,
        move=move,
        actor=actor,
    )


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
