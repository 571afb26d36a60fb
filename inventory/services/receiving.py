"""Receiving by scanning: a delivery arriving at a location (a dispatched transfer, or goods
from a supplier) is counted scan by scan into a draft kept in the database, then finished into
the transfer's receipt or a supplier receipt.

Each scan carries an id chosen by the client; a scan id the draft already holds changes
nothing, so a retried or doubled request is counted once. The draft belongs to the location and
the document, not to a session: another login, or another clerk, continues it.

Lock order (docs/locking.md): Transfer → ReceivingDraft → StockLevel. A scan locks only its
draft; finishing a transfer's draft locks the transfer first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from omni.errors import InvalidInput
from omni.models import User

from ..errors import (
    NoLines,
    NotOnDocument,
    ReceivingBookedElsewhere,
    ReceivingClosed,
    ReceivingReasonMissing,
    TransferInvalidState,
    UnknownTransfer,
)
from ..locks import lock_receiving_draft, lock_transfer
from ..models import (
    Location,
    Product,
    ReceivingDraft,
    ReceivingDraftStatus,
    ReceivingScan,
    Transfer,
    TransferStatus,
)
from .ledger import _check_stock_location, check_quantity
from .receipts import stock_receive
from .transfers import ReceivedLine, transfer_receive

MAX_SCAN_ID = 64


@dataclass(frozen=True)
class ScanResult:
    """A scan as stored: ``counted`` is the product's total on the draft after it;
    ``repeated`` says the scan id was already there and nothing changed."""

    scan: ReceivingScan
    counted: int
    repeated: bool


@dataclass(frozen=True)
class LineReason:
    """Why a line was counted differently from what was expected: a ``ReceivingCause`` and,
    for ``other`` (or to add detail), words."""

    cause: str
    note: str = ""


def counted_by_product(draft: ReceivingDraft) -> dict[int, int]:
    """Product id → units counted on the draft so far (scans and corrections summed)."""
    return dict(
        ReceivingScan.objects.filter(draft=draft)
        .values_list("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )


@transaction.atomic
def receiving_open_transfer(
    *, transfer: Transfer, location: Location, blind: bool = False, actor: User | None = None
) -> ReceivingDraft:
    """The open receiving draft of a transfer arriving at ``location``, made on first opening.
    A second opening (another clerk, another login) gets the same draft."""
    if transfer.destination_id != location.pk:
        raise UnknownTransfer()
    if transfer.status != TransferStatus.DISPATCHED:
        raise TransferInvalidState(transfer, action="receive")
    draft = _open_draft_of(transfer)
    if draft is not None:
        return draft
    try:
        with transaction.atomic():
            return ReceivingDraft.objects.create(
                location=location, transfer=transfer, blind=blind, created_by=actor
            )
    except IntegrityError:
        # Another clerk opened it a moment ago (the one-open-draft constraint): join theirs.
        draft = _open_draft_of(transfer)
        assert draft is not None
        return draft


def _open_draft_of(transfer: Transfer) -> ReceivingDraft | None:
    return ReceivingDraft.objects.filter(
        transfer=transfer, status=ReceivingDraftStatus.OPEN
    ).first()


@transaction.atomic
def receiving_open_supplier(
    *,
    location: Location,
    supplier: str,
    supplier_reference: str = "",
    actor: User | None = None,
    booked_by: str = "",
) -> ReceivingDraft:
    """A new draft for goods from a supplier: a free receipt of whatever is scanned, or, with
    ``booked_by`` (e.g. ``purchase_order``), a count that document books itself
    (``receiving_finish`` then refuses it)."""
    _check_stock_location(location)
    supplier = supplier.strip()
    if not supplier:
        raise InvalidInput(gettext_lazy("name the supplier"), detail={"field": "supplier"})
    return ReceivingDraft.objects.create(
        location=location,
        supplier=supplier[:100],
        supplier_reference=supplier_reference.strip()[:64],
        booked_by=booked_by,
        created_by=actor,
    )


def _check_scan_id(scan_id: str) -> str:
    scan_id = scan_id.strip()
    if not scan_id or len(scan_id) > MAX_SCAN_ID:
        raise InvalidInput(
            gettext_lazy("a scan needs an id of 1 to 64 characters"), detail={"field": "scan_id"}
        )
    return scan_id


def _locked_open(draft: ReceivingDraft) -> ReceivingDraft:
    draft = lock_receiving_draft(draft.pk)
    if draft.status != ReceivingDraftStatus.OPEN:
        raise ReceivingClosed(draft)
    return draft


def _record_scan(
    draft: ReceivingDraft, scan_id: str, product: Product, quantity: int, actor: User | None
) -> ScanResult:
    """Expects the caller to hold the draft's lock: the lookup and the insert of one scan id
    cannot interleave with another request's."""
    existing = ReceivingScan.objects.filter(draft=draft, scan_id=scan_id).first()
    if existing is not None:
        return ScanResult(existing, _counted(draft, existing.product_id), repeated=True)
    if draft.transfer is not None and not draft.transfer.lines.filter(product=product).exists():
        raise NotOnDocument(product, draft.transfer)
    counted = _counted(draft, product.pk)
    check_quantity(counted + quantity, field="counted", allow_zero=True)
    scan = ReceivingScan.objects.create(
        draft=draft, scan_id=scan_id, product=product, quantity=quantity, actor=actor
    )
    return ScanResult(scan, counted + quantity, repeated=False)


def _counted(draft: ReceivingDraft, product_id: int) -> int:
    total = ReceivingScan.objects.filter(draft=draft, product_id=product_id).aggregate(
        units=Sum("quantity")
    )["units"]
    return int(total or 0)


@transaction.atomic
def receiving_scan(
    *,
    draft: ReceivingDraft,
    scan_id: str,
    product: Product,
    quantity: int = 1,
    actor: User | None = None,
) -> ScanResult:
    """Count ``quantity`` units of ``product`` (one scan) on an open draft. A scan id seen
    before changes nothing and answers as the first time did. On a transfer's draft, a product
    the transfer does not list is refused (``NotOnDocument``): it is put aside, not received."""
    scan_id = _check_scan_id(scan_id)
    check_quantity(quantity)
    draft = _locked_open(draft)
    return _record_scan(draft, scan_id, product, quantity, actor)


@transaction.atomic
def receiving_line_set(
    *,
    draft: ReceivingDraft,
    scan_id: str,
    product: Product,
    counted: int,
    actor: User | None = None,
) -> ScanResult:
    """Correct a line to ``counted`` units (a miscount, "start this line again"): stored as a
    correction scan of the difference, so the draft's history stays whole."""
    scan_id = _check_scan_id(scan_id)
    check_quantity(counted, field="counted", allow_zero=True)
    draft = _locked_open(draft)
    existing = ReceivingScan.objects.filter(draft=draft, scan_id=scan_id).first()
    if existing is not None:
        return ScanResult(existing, _counted(draft, existing.product_id), repeated=True)
    delta = counted - _counted(draft, product.pk)
    if delta == 0:
        last = ReceivingScan.objects.filter(draft=draft, product=product).last()
        if last is None:
            raise InvalidInput(
                gettext_lazy("%(sku)s has not been counted here"), detail={"sku": product.sku}
            )
        return ScanResult(last, counted, repeated=True)
    return _record_scan(draft, scan_id, product, delta, actor)


@transaction.atomic
def receiving_finish(
    *,
    draft: ReceivingDraft,
    reasons: Mapping[int, LineReason] | None = None,
    actor: User | None = None,
    unit_costs: Mapping[int, Decimal | str | int] | None = None,
) -> ReceivingDraft:
    """Book what was counted. A transfer: every line as counted (0 where nothing was scanned),
    each difference with its reason from ``reasons`` (product id → ``LineReason``), through
    ``transfer_receive``; lines that differ without a reason refuse the whole finish
    (``ReceivingReasonMissing``, naming all of them). A supplier delivery: a receipt of the
    counted lines, valued at ``unit_costs`` (product id → unit cost; products not counted are
    ignored) as ``stock_receive`` does; a transfer ignores ``unit_costs`` (it moves stock at
    the average)."""
    reasons = reasons or {}
    if draft.transfer_id is not None:
        transfer = lock_transfer(draft.transfer_id)  # the transfer before its draft
        draft = _locked_open(draft)
        counted = counted_by_product(draft)
        lines = list(transfer.lines.select_related("product"))
        missing = [
            (ln.product, ln.quantity, counted.get(ln.product_id, 0))
            for ln in lines
            if counted.get(ln.product_id, 0) != ln.quantity and ln.product_id not in reasons
        ]
        if missing:
            raise ReceivingReasonMissing(missing)
        transfer_receive(
            transfer=transfer,
            lines=[
                ReceivedLine(
                    product=ln.product,
                    received=counted.get(ln.product_id, 0),
                    cause=reasons[ln.product_id].cause if ln.product_id in reasons else "",
                    reason=reasons[ln.product_id].note if ln.product_id in reasons else "",
                )
                for ln in lines
            ],
            actor=actor,
        )
        draft.refresh_from_db()
        return draft
    draft = _locked_open(draft)
    if draft.booked_by:
        raise ReceivingBookedElsewhere(draft)
    counted = counted_by_product(draft)
    products = Product.objects.in_bulk([pid for pid, units in counted.items() if units > 0])
    rows = [(products[pid], units) for pid, units in counted.items() if pid in products]
    if not rows:
        raise NoLines("receipt")
    rows.sort(key=lambda row: row[0].pk)
    receipt = stock_receive(
        location=draft.location,
        lines=rows,
        supplier=draft.supplier,
        supplier_reference=draft.supplier_reference,
        actor=actor,
        unit_costs={pid: c for pid, c in (unit_costs or {}).items() if pid in products},
    )
    _close(draft, ReceivingDraftStatus.FINISHED, receipt_id=receipt.pk)
    return draft


def receiving_mark_booked(*, draft: ReceivingDraft, receipt_id: int | None) -> None:
    """Close an open draft whose count another document booked (a purchase order's receipt,
    which books through ``stock_receive`` itself). Expects the caller to hold the draft's lock
    (``lock_receiving_draft``) inside its transaction."""
    if draft.status != ReceivingDraftStatus.OPEN:
        raise ReceivingClosed(draft)
    _close(draft, ReceivingDraftStatus.FINISHED, receipt_id=receipt_id)


@transaction.atomic
def receiving_discard(*, draft: ReceivingDraft, actor: User | None = None) -> ReceivingDraft:
    """Throw a draft's count away (nothing was booked); a transfer can be opened afresh."""
    draft = _locked_open(draft)
    _close(draft, ReceivingDraftStatus.DISCARDED)
    return draft


def _close(draft: ReceivingDraft, status: str, receipt_id: int | None = None) -> None:
    draft.status = status
    draft.finished_at = timezone.now()
    draft.receipt_id = receipt_id
    draft.save(update_fields=["status", "finished_at", "receipt"])
