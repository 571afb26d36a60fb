"""Purchase orders: created as drafts with lines the supplier sells (rounded up to its minimum
order quantity and case pack), edited while draft, sent with an expected arrival date,
cancelled, and lines closed short.

Lock order (docs/locking.md): the PurchaseOrder row before any receiving draft or stock level.
Every write to a PO or its lines holds the PO's lock (``locks.lock_purchase_order``).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.models import Location, LocationKind, Product
from inventory.services import MAX_LINE_QUANTITY
from omni.models import User

from ..errors import (
    NotOnPurchaseOrder,
    PurchaseOrderInvalidState,
    PurchaseOrderLineInvalid,
    SupplierDoesNotDeliver,
    SupplierInactive,
    SupplierInvalid,
)
from ..locks import lock_purchase_order
from ..models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    Supplier,
    SupplierItem,
)
from ..policy.rounding import round_to_pack
from .currency import exchange_rate_on

MAX_UNIT_COST = Decimal("99999999")


@dataclass(frozen=True)
class OrderLine:
    """A line as a planner or the proposals give it: ``unit_cost`` None takes the supplier
    item's cost."""

    product: Product
    quantity: int
    unit_cost: Decimal | None = None


def _check_ship_to(supplier: Supplier, ship_to: Location) -> None:
    if ship_to.kind not in (LocationKind.WAREHOUSE, LocationKind.STORE) or not ship_to.active:
        raise SupplierInvalid(
            "ship_to", ship_to.code, _("ship_to must be an active DC or store, not %(value)s")
        )
    if ship_to.kind == LocationKind.WAREHOUSE and not supplier.delivers_to_dc:
        raise SupplierDoesNotDeliver(supplier, ship_to)
    if ship_to.kind == LocationKind.STORE and not supplier.delivers_to_stores:
        raise SupplierDoesNotDeliver(supplier, ship_to)


def _checked_lines(
    supplier: Supplier, lines: Sequence[OrderLine], *, rounding: bool
) -> list[PurchaseOrderLine]:
    """Every line checked (the first bad one named by its position, from 1) and rounded to
    the supplier item's MOQ and multiple; nothing is saved here."""
    if not lines:
        raise PurchaseOrderLineInvalid(
            line=0, sku="", field="lines", value=0, message=_("a purchase order needs a line")
        )
    items = {
        item.product_id: item
        for item in SupplierItem.objects.filter(
            supplier=supplier, product__in=[ln.product.pk for ln in lines]
        )
    }
    seen: set[int] = set()
    built = []
    for number, line in enumerate(lines, start=1):
        product = line.product
        if product.pk in seen:
            raise PurchaseOrderLineInvalid(
                line=number,
                sku=product.sku,
                field="sku",
                value=product.sku,
                message=_("line %(line)s: %(sku)s is on the order twice"),
            )
        seen.add(product.pk)
        if not product.active:
            raise PurchaseOrderLineInvalid(
                line=number,
                sku=product.sku,
                field="sku",
                value=product.sku,
                message=_("line %(line)s: %(sku)s is not active and cannot be ordered"),
            )
        item = items.get(product.pk)
        if item is None or not item.active:
            raise PurchaseOrderLineInvalid(
                line=number,
                sku=product.sku,
                field="sku",
                value=product.sku,
                message=_("line %(line)s: the supplier does not sell %(sku)s"),
            )
        quantity = line.quantity
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not 1 <= quantity <= MAX_LINE_QUANTITY
        ):
            raise PurchaseOrderLineInvalid(
                line=number,
                sku=product.sku,
                field="quantity",
                value=quantity,
                message=_("line %(line)s: order a whole number of %(sku)s above 0, not %(value)s"),
            )
        if rounding:
            quantity = round_to_pack(quantity, item.moq, item.order_multiple)
        elif quantity < item.moq or quantity % item.order_multiple:
            raise PurchaseOrderLineInvalid(
                line=number,
                sku=product.sku,
                field="quantity",
                value=quantity,
                message=_(
                    "line %(line)s: %(value)s× %(sku)s is below the minimum order or not whole"
                    " case packs"
                ),
            )
        cost = item.cost if line.unit_cost is None else line.unit_cost
        if not isinstance(cost, Decimal) or not cost.is_finite() or not 0 <= cost <= MAX_UNIT_COST:
            raise PurchaseOrderLineInvalid(
                line=number,
                sku=product.sku,
                field="unit_cost",
                value=str(cost),
                message=_("line %(line)s: the unit cost of %(sku)s must be 0 or more"),
            )
        built.append(
            PurchaseOrderLine(
                product=product,
                quantity_ordered=quantity,
                unit_cost=cost.quantize(Decimal("0.0001")),
            )
        )
    return built


@transaction.atomic
def purchase_order_create(
    *,
    supplier: Supplier,
    ship_to: Location,
    lines: Sequence[OrderLine],
    expected_arrival: datetime.date | None = None,
    reference: str = "",
    note: str = "",
    rounding: bool = True,
    actor: User | None = None,
) -> PurchaseOrder:
    """A draft purchase order. Each line must be an active SKU the supplier sells (its
    position and field named otherwise, nothing written); with ``rounding`` its quantity goes
    up to the supplier item's MOQ and whole multiples, else such a quantity is refused."""
    if not supplier.active:
        raise SupplierInactive(supplier)
    _check_ship_to(supplier, ship_to)
    built = _checked_lines(supplier, lines, rounding=rounding)
    order = PurchaseOrder.objects.create(
        number=f"new-{uuid.uuid4().hex[:24]}",
        supplier=supplier,
        ship_to=ship_to,
        currency=supplier.currency,
        expected_arrival=expected_arrival,
        reference=(reference or "")[:64],
        note=(note or "")[:255],
        created_by=actor,
    )
    order.number = f"PO{order.pk:06d}"
    order.save(update_fields=["number"])
    for line in built:
        line.purchase_order = order
    PurchaseOrderLine.objects.bulk_create(built)
    return order


def _require(order: PurchaseOrder, action: str, *statuses: str) -> None:
    if order.status not in statuses:
        raise PurchaseOrderInvalidState(order, action=action, expected=list(statuses))


@transaction.atomic
def purchase_order_lines_set(
    *,
    purchase_order: PurchaseOrder,
    lines: Sequence[OrderLine],
    rounding: bool = True,
    actor: User | None = None,
) -> PurchaseOrder:
    """Replace the lines of a draft PO (checked and rounded as on creation)."""
    order = lock_purchase_order(purchase_order.pk)
    _require(order, "edit", PurchaseOrderStatus.DRAFT)
    built = _checked_lines(order.supplier, lines, rounding=rounding)
    order.lines.all().delete()
    for line in built:
        line.purchase_order = order
    PurchaseOrderLine.objects.bulk_create(built)
    return order


def default_arrival(order: PurchaseOrder, sent_on: datetime.date) -> datetime.date:
    """The day the supplier promised: sent date + the longest promised lead time of the lines'
    supplier items."""
    days = max(
        SupplierItem.objects.filter(
            supplier_id=order.supplier_id, product__in=order.lines.values("product")
        ).values_list("lead_time_days", flat=True),
        default=0,
    )
    return sent_on + datetime.timedelta(days=days)


@transaction.atomic
def purchase_order_send(
    *,
    purchase_order: PurchaseOrder,
    expected_arrival: datetime.date | None = None,
    actor: User | None = None,
) -> PurchaseOrder:
    """Send a draft PO: its open quantities are on order from now. ``expected_arrival`` not
    given is the promised lead time from today; it may not be in the past."""
    order = lock_purchase_order(purchase_order.pk)
    _require(order, "send", PurchaseOrderStatus.DRAFT)
    if not order.supplier.active:
        raise SupplierInactive(order.supplier)
    lines = list(order.lines.select_related("product"))
    if not lines:
        raise PurchaseOrderLineInvalid(
            line=0, sku="", field="lines", value=0, message=_("a purchase order needs a line")
        )
    for number, line in enumerate(lines, start=1):
        if not line.product.active:
            raise PurchaseOrderLineInvalid(
                line=number,
                sku=line.product.sku,
                field="sku",
                value=line.product.sku,
                message=_("line %(line)s: %(sku)s is not active and cannot be ordered"),
            )
    now = timezone.now()
    today = timezone.localdate(now)
    arrival = expected_arrival or order.expected_arrival or default_arrival(order, today)
    if arrival < today:
        raise SupplierInvalid(
            "expected_arrival",
            arrival.isoformat(),
            _("expected_arrival %(value)s is in the past"),
        )
    order.exchange_rate = exchange_rate_on(order.currency, today)
    order.status = PurchaseOrderStatus.SENT
    order.sent_at = now
    order.expected_arrival = arrival
    order.save(update_fields=["status", "sent_at", "expected_arrival", "exchange_rate"])
    return order


@transaction.atomic
def purchase_order_cancel(
    *, purchase_order: PurchaseOrder, reason: str = "", actor: User | None = None
) -> PurchaseOrder:
    """Cancel a PO that is not closed yet. What was received stays received; every open
    quantity is cancelled (no longer on order)."""
    order = lock_purchase_order(purchase_order.pk)
    _require(
        order,
        "cancel",
        PurchaseOrderStatus.DRAFT,
        PurchaseOrderStatus.SENT,
        PurchaseOrderStatus.PARTIALLY_RECEIVED,
    )
    for line in order.lines.all():
        if line.open_quantity:
            line.quantity_cancelled = line.quantity_ordered - min(
                line.quantity_received, line.quantity_ordered
            )
            line.close_reason = (reason or "")[:255]
            line.save(update_fields=["quantity_cancelled", "close_reason"])
    order.status = PurchaseOrderStatus.CANCELLED
    order.closed_at = timezone.now()
    if reason:
        order.note = reason[:255]
    order.save(update_fields=["status", "closed_at", "note"])
    return order


def close_line_short(line: PurchaseOrderLine, reason: str) -> None:
    """Cancel what is still open on ``line`` (the supplier will not send it). Expects the
    caller to hold the PO's lock."""
    if line.open_quantity:
        line.quantity_cancelled = line.quantity_ordered - line.quantity_received
        line.close_reason = (reason or "")[:255]
        line.save(update_fields=["quantity_cancelled", "close_reason"])


def settle_status(order: PurchaseOrder) -> None:
    """After a receipt or a line closed: received when nothing is open any more (cancelled if
    nothing ever came), partially received when some came. Expects the PO's lock."""
    lines = list(order.lines.all())
    received = sum(line.quantity_received for line in lines)
    if all(line.open_quantity == 0 for line in lines):
        order.status = PurchaseOrderStatus.RECEIVED if received else PurchaseOrderStatus.CANCELLED
        order.closed_at = timezone.now()
    elif received:
        order.status = PurchaseOrderStatus.PARTIALLY_RECEIVED
    order.save(update_fields=["status", "closed_at"])


@transaction.atomic
def purchase_order_line_close(
    *, purchase_order: PurchaseOrder, product: Product, reason: str, actor: User | None = None
) -> PurchaseOrder:
    """Close a line short: the rest of it is not expected any more (no longer a backorder)."""
    order = lock_purchase_order(purchase_order.pk)
    _require(
        order, "close a line of", PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED
    )
    line = order.lines.filter(product=product).first()
    if line is None:
        raise NotOnPurchaseOrder(product, order)
    close_line_short(line, reason)
    settle_status(order)
    return order
