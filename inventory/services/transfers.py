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
    TransferInvalidState,
)
from ..locks import (
    lock_stock_levels,
    lock_transfer,
)
from ..models import (
    Location,
    LocationKind,
    MoveReason,
    Product,
    ReservationStatus,
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
