"""Receiving against a purchase order: a delivery booked into stock once, each line checked
against what is still open (over-receipt within the supplier's tolerance is booked as counted,
above it refused), the rest left on backorder unless the line is closed short, and the lead
time the supplier actually took recorded.

Two ways in, one booking: the API's receive (lines and a client-chosen ``key``) and the
receiving page's scan-by-scan draft (inventory's ``ReceivingDraft``, linked to the PO by a
``PurchaseOrderDraft``), whose finish is a receive with the key ``draft:<id>``.

Lock order (docs/locking.md): PurchaseOrder → ReceivingDraft → StockLevel. A receipt locks the
PO first, so two receipts of one PO line queue; the second sees the first's booking (the same
key: answered with it, nothing booked again) or what is left open (another key: checked
against the tolerance).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.errors import NoLines, ReceivingClosed
from inventory.locks import lock_receiving_draft
from inventory.models import Location, Product, Receipt, ReceivingDraft, ReceivingDraftStatus
from inventory.services import (
    ScanResult,
    check_quantity,
    counted_by_product,
    receiving_mark_booked,
    receiving_open_supplier,
    receiving_scan,
    stock_receive,
)
from omni.errors import InvalidInput
from omni.models import User

from ..errors import (
    NotOnPurchaseOrder,
    OverReceipt,
    PurchaseOrderInvalidState,
    ReceiptReasonMissing,
    UnknownPurchaseOrder,
)
from ..locks import lock_purchase_order
from ..models import (
    OPEN_STATUSES,
    PurchaseOrder,
    PurchaseOrderDraft,
    PurchaseOrderLine,
    SupplierReceipt,
    SupplierReceiptLine,
)
from .orders import close_line_short, settle_status

COST_PLACES = Decimal("0.0001")

MAX_KEY = 64


@dataclass(frozen=True)
class ReceiveLine:
    """Units of a product that came, and whether the rest of its line is closed short (not
    expected any more). ``reason`` says why it differs from what was open."""

    product: Product
    quantity: int
    close_short: bool = False
    reason: str = ""


@dataclass(frozen=True)
class ReceiveResult:
    """The booking of one receive: ``repeated`` when its key had been booked already."""

    purchase_order: PurchaseOrder
    supplier_receipt: SupplierReceipt | None
    repeated: bool


def allowed_total(line: PurchaseOrderLine, tolerance_percent: Decimal) -> int:
    """Most units the line may receive in all: what is ordered and not cancelled, plus the
    supplier's tolerance (rounded down: a 5 % tolerance on 10 units allows none over)."""
    base = line.quantity_ordered - line.quantity_cancelled
    return base + math.floor(base * tolerance_percent / 100)


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(
            _("a receipt needs a key of 1 to 64 characters"), detail={"field": "key"}
        )
    return key


def _book_receipt(
    *, order: PurchaseOrder, booked: list[tuple[PurchaseOrderLine, int]], actor: User | None
) -> Receipt:
    """The one call into inventory's receipt path for a purchase order: each line comes in at
    its PO line's unit cost in the company currency (at the rate the PO was sent at), which
    moves the SKU's moving-average cost (docs/valuation.md)."""
    rate = order.exchange_rate or Decimal(1)
    return stock_receive(
        location=order.ship_to,
        lines=[(line.product, quantity) for line, quantity in booked],
        supplier=order.supplier.name,
        supplier_reference=order.number,
        actor=actor,
        unit_costs={
            line.product_id: (line.unit_cost * rate).quantize(COST_PLACES) for line, _ in booked
        },
    )


@transaction.atomic
def purchase_order_receive(
    *,
    purchase_order: PurchaseOrder,
    lines: Sequence[ReceiveLine],
    key: str,
    arrived_on: datetime.date | None = None,
    draft: ReceivingDraft | None = None,
    actor: User | None = None,
) -> ReceiveResult:
    """Book a delivery against a sent (or partly received) PO, once per ``key``.

    Each line's quantity is added to what the line received; above the supplier's tolerance
    it is refused (``OverReceipt``), above the open quantity it needs a ``reason``. A line
    short of its open quantity stays on backorder unless ``close_short`` (which needs a
    reason too). One inventory receipt books the units; the PO becomes partially received or
    received; a ``SupplierReceipt`` records the lead time seen (sent → ``arrived_on``, today
    by default)."""
    key = _check_key(key)
    order = lock_purchase_order(purchase_order.pk)
    earlier = SupplierReceipt.objects.filter(purchase_order=order, key=key).first()
    if earlier is not None:
        return ReceiveResult(order, earlier, repeated=True)
    if order.status not in OPEN_STATUSES:
        raise PurchaseOrderInvalidState(order, action="receive", expected=list(OPEN_STATUSES))
    if draft is not None:
        draft = lock_receiving_draft(draft.pk)  # after its PO
        if draft.status != ReceivingDraftStatus.OPEN:
            raise ReceivingClosed(draft)
    by_product = {line.product_id: line for line in order.lines.select_related("product")}
    tolerance = order.supplier.over_receipt_tolerance
    seen: set[int] = set()
    booked: list[tuple[PurchaseOrderLine, int]] = []
    closing: list[tuple[PurchaseOrderLine, str]] = []
    unexplained: list[dict[str, object]] = []
    for wanted in lines:
        check_quantity(wanted.quantity, allow_zero=True)
        line = by_product.get(wanted.product.pk)
        if line is None:
            raise NotOnPurchaseOrder(wanted.product, order)
        if line.pk in seen:
            raise InvalidInput.saying(
                _("%(sku)s is twice in one receipt"),
                detail={"sku": line.product.sku},
                sku=line.product.sku,
            )
        seen.add(line.pk)
        most = allowed_total(line, tolerance) - line.quantity_received
        if wanted.quantity > most:
            raise OverReceipt(
                product=line.product,
                ordered=line.quantity_ordered - line.quantity_cancelled,
                received=line.quantity_received,
                counted=wanted.quantity,
                allowed=max(0, most),
            )
        over = wanted.quantity > line.open_quantity
        if (over or wanted.close_short) and not wanted.reason.strip():
            unexplained.append(
                {"sku": line.product.sku, "open": line.open_quantity, "counted": wanted.quantity}
            )
        if wanted.quantity:
            booked.append((line, wanted.quantity))
        if wanted.close_short:
            closing.append((line, wanted.reason))
    if unexplained:
        raise ReceiptReasonMissing(unexplained)
    if not booked and not closing:
        raise NoLines("receipt")
    receipt = None
    if booked:
        booked.sort(key=lambda row: row[0].product_id)
        receipt = _book_receipt(order=order, booked=booked, actor=actor)
        for line, quantity in booked:
            line.quantity_received += quantity
            line.save(update_fields=["quantity_received"])
    for line, reason in closing:
        close_line_short(line, reason)
    settle_status(order)
    supplier_receipt = None
    if receipt is not None:
        supplier_receipt = _record_lead_time(order, key, receipt, booked, lines, arrived_on, actor)
    if draft is not None:
        receiving_mark_booked(draft=draft, receipt_id=receipt.pk if receipt else None)
    return ReceiveResult(order, supplier_receipt, repeated=False)


def _record_lead_time(
    order: PurchaseOrder,
    key: str,
    receipt: Receipt,
    booked: list[tuple[PurchaseOrderLine, int]],
    lines: Sequence[ReceiveLine],
    arrived_on: datetime.date | None,
    actor: User | None,
) -> SupplierReceipt:
    assert order.sent_at is not None and order.expected_arrival is not None
    sent_on = timezone.localdate(order.sent_at)
    arrival = arrived_on or timezone.localdate()
    reasons = {ln.product.pk: ln.reason.strip()[:255] for ln in lines}
    try:
        with transaction.atomic():
            supplier_receipt = SupplierReceipt.objects.create(
                purchase_order=order,
                supplier_id=order.supplier_id,
                key=key,
                receipt=receipt,
                promised_date=order.expected_arrival,
                arrival_date=arrival,
                lead_time_days=max(0, (arrival - sent_on).days),
                promised_lead_time_days=max(0, (order.expected_arrival - sent_on).days),
                units=sum(quantity for _, quantity in booked),
                actor=actor,
            )
    except IntegrityError as clash:  # unreachable under the PO's lock; never book twice
        raise InvalidInput.saying(
            _("this receipt was booked already"), detail={"field": "key", "key": key}
        ) from clash
    SupplierReceiptLine.objects.bulk_create(
        [
            SupplierReceiptLine(
                supplier_receipt=supplier_receipt,
                line=line,
                quantity=quantity,
                unit_cost=line.unit_cost,
                reason=reasons.get(line.product_id, ""),
            )
            for line, quantity in booked
        ]
    )
    return supplier_receipt


# --------------------------------------------------------------------------- the scanning page


def purchase_order_of(draft: ReceivingDraft) -> PurchaseOrder | None:
    link = PurchaseOrderDraft.objects.filter(draft=draft).select_related("purchase_order").first()
    return link.purchase_order if link else None


@transaction.atomic
def purchase_order_receiving_open(
    *, purchase_order: PurchaseOrder, location: Location, actor: User | None = None
) -> ReceivingDraft:
    """The open receiving draft of a PO arriving at ``location``, made on first opening; a
    second clerk opening it joins the first (the PO's lock makes the check and the insert one
    step)."""
    if purchase_order.ship_to_id != location.pk:
        raise UnknownPurchaseOrder()
    order = lock_purchase_order(purchase_order.pk)
    if order.status not in OPEN_STATUSES:
        raise PurchaseOrderInvalidState(order, action="receive", expected=list(OPEN_STATUSES))
    link = (
        PurchaseOrderDraft.objects.filter(
            purchase_order=order, draft__status=ReceivingDraftStatus.OPEN
        )
        .select_related("draft")
        .first()
    )
    if link is not None:
        return link.draft
    draft = receiving_open_supplier(
        location=location,
        supplier=order.supplier.name,
        supplier_reference=order.number,
        actor=actor,
        booked_by="purchase_order",
    )
    PurchaseOrderDraft.objects.create(purchase_order=order, draft=draft)
    return draft


def purchase_order_receiving_scan(
    *,
    draft: ReceivingDraft,
    scan_id: str,
    product: Product,
    quantity: int = 1,
    actor: User | None = None,
) -> ScanResult:
    """A scan on a PO's draft: a product the PO does not list is refused (put aside, not
    received); the rest is inventory's scan (stored once per scan id)."""
    order = purchase_order_of(draft)
    if order is None:
        raise UnknownPurchaseOrder()
    if not order.lines.filter(product=product).exists():
        raise NotOnPurchaseOrder(product, order)
    return receiving_scan(
        draft=draft, scan_id=scan_id, product=product, quantity=quantity, actor=actor
    )


@transaction.atomic
def purchase_order_receiving_finish(
    *,
    draft: ReceivingDraft,
    close_short: Collection[int] = (),
    reasons: Mapping[int, str] | None = None,
    arrived_on: datetime.date | None = None,
    actor: User | None = None,
) -> ReceiveResult:
    """Book what was counted on a PO's draft: every PO line still open, at what was scanned
    (0 if nothing was). ``close_short`` (product ids) closes those lines' rest; ``reasons``
    (product id → words) explain lines over the open quantity or closed short. Finishing twice
    books once (the key is the draft's)."""
    reasons = reasons or {}
    order = purchase_order_of(draft)
    if order is None:
        raise UnknownPurchaseOrder()
    counted = counted_by_product(draft)
    lines = [
        ReceiveLine(
            product=line.product,
            quantity=max(0, counted.get(line.product_id, 0)),
            close_short=line.product_id in close_short,
            reason=reasons.get(line.product_id, ""),
        )
        for line in order.lines.select_related("product")
        if line.open_quantity or counted.get(line.product_id, 0) > 0
    ]
    return purchase_order_receive(
        purchase_order=order,
        lines=lines,
        key=f"draft:{draft.pk}",
        arrived_on=arrived_on,
        draft=draft,
        actor=actor,
    )
