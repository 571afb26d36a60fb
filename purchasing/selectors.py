"""Reads of purchasing: what is on order, the purchase orders a user may see, how suppliers
perform (on-time rate, lead times promised and seen, fill rate), and the reorder policies with
their ABC/XYZ classes."""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from inventory.models import Location, Product
from omni.access import reads_everything, visible_one
from omni.models import User

from .errors import UnknownPurchaseOrder, UnknownReorderPolicy, UnknownSupplier
from .models import (
    OPEN_STATUSES,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderStatus,
    ReorderPolicy,
    Supplier,
    SupplierItem,
    SupplierReceipt,
    SupplierReceiptLine,
)
from .policy.classes import SUGGESTED, SuggestedPolicy

# Fewer lead times seen than this: a policy uses the promised lead time instead.
MIN_LEAD_TIME_OBSERVATIONS = 3


# --------------------------------------------------------------------------- on order


def on_order(
    location_ids: Collection[int], product_ids: Collection[int] | None = None
) -> dict[tuple[int, int], int]:
    """(product id, location id) → units on order: ordered − received − cancelled on the
    lines of purchase orders sent and not yet fully received, shipping to the locations.
    Registered as an inbound source of ``inventory.inbound`` (see ``apps.py``)."""
    lines = PurchaseOrderLine.objects.filter(
        purchase_order__status__in=OPEN_STATUSES,
        purchase_order__ship_to_id__in=list(location_ids),
        quantity_ordered__gt=F("quantity_received") + F("quantity_cancelled"),
    )
    if product_ids is not None:
        lines = lines.filter(product_id__in=list(product_ids))
    rows = lines.values("product_id", "purchase_order__ship_to_id").annotate(
        units=Sum(F("quantity_ordered") - F("quantity_received") - F("quantity_cancelled"))
    )
    return {(r["product_id"], r["purchase_order__ship_to_id"]): int(r["units"]) for r in rows}


# --------------------------------------------------------------------------- visibility


def purchase_orders_for(user: User) -> QuerySet[PurchaseOrder]:
    """Purchase orders the user may see: planners and admins every one; warehouse and store
    staff those shipping to their locations."""
    orders = PurchaseOrder.objects.select_related("supplier", "ship_to")
    if reads_everything(user):
        return orders
    return orders.filter(ship_to_id__in=user.location_ids())


def purchase_order_visible(user: User, purchase_order_id: int) -> PurchaseOrder:
    return visible_one(purchase_orders_for(user), UnknownPurchaseOrder, pk=purchase_order_id)


def purchase_order_by_number(user: User, number: str) -> PurchaseOrder:
    return visible_one(purchase_orders_for(user), UnknownPurchaseOrder, number=number)


def purchase_orders_to_receive(location_id: int) -> QuerySet[PurchaseOrder]:
    """Sent or partly received purchase orders shipping to a location, soonest expected
    first: what its receiving page lists."""
    return (
        PurchaseOrder.objects.filter(ship_to_id=location_id, status__in=OPEN_STATUSES)
        .select_related("supplier")
        .prefetch_related("lines__product")
        .order_by("expected_arrival", "pk")
    )


def supplier_by_code(code: str) -> Supplier:
    supplier = Supplier.objects.filter(code=code).first()
    if supplier is None:
        raise UnknownSupplier(code)
    return supplier


def preferred_supplier_item(product_id: int) -> SupplierItem | None:
    return (
        SupplierItem.objects.filter(product_id=product_id, preferred=True, active=True)
        .select_related("supplier")
        .first()
    )


# --------------------------------------------------------------------------- performance


def _percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0–1) by linear interpolation between order statistics."""
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class SupplierPerformance:
    """How a supplier did over a period: of its deliveries (arrived in the period), the share
    on or before the promised date, and its lead times promised and seen (days from sending
    the PO); of its PO lines closed in the period, units received / units ordered."""

    supplier: Supplier
    deliveries: int
    on_time_rate: float | None
    promised_lead_time_mean: float | None
    lead_time_mean: float | None
    lead_time_p90: float | None
    lines_closed: int
    units_ordered: int
    units_received: int
    fill_rate: float | None


def supplier_performance(
    *,
    since: datetime.date,
    until: datetime.date,
    suppliers: Collection[Supplier] | None = None,
) -> list[SupplierPerformance]:
    """Per supplier (every one, or ``suppliers``), over ``since`` … ``until`` inclusive."""
    chosen = list(suppliers) if suppliers is not None else list(Supplier.objects.all())
    ids = [s.pk for s in chosen]
    receipts = SupplierReceipt.objects.filter(
        supplier_id__in=ids, arrival_date__gte=since, arrival_date__lte=until
    ).values_list(
        "supplier_id", "arrival_date", "promised_date", "lead_time_days", "promised_lead_time_days"
    )
    seen: dict[int, list[tuple[bool, int, int]]] = defaultdict(list)
    for supplier_id, arrival, promised, days, promised_days in receipts:
        seen[supplier_id].append((arrival <= promised, days, promised_days))
    # The period's days are the business's local days (as ``arrival_date`` is), not UTC's.
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time.min))
    end = timezone.make_aware(
        datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min)
    )
    closed = (
        PurchaseOrderLine.objects.filter(
            purchase_order__supplier_id__in=ids,
            # Lines of POs that were sent and closed in the period (received in full, or
            # the rest closed short or cancelled): nothing of them is open any more.
            purchase_order__status__in=(
                PurchaseOrderStatus.RECEIVED,
                PurchaseOrderStatus.CANCELLED,
            ),
            purchase_order__sent_at__isnull=False,
            purchase_order__closed_at__gte=start,
            purchase_order__closed_at__lt=end,
        )
        .values("purchase_order__supplier_id")
        .annotate(
            lines=Count("id"),
            ordered=Sum("quantity_ordered"),
            received=Sum("quantity_received"),
        )
    )
    fill = {row["purchase_order__supplier_id"]: row for row in closed}
    result = []
    for supplier in chosen:
        rows = seen.get(supplier.pk, [])
        stats = fill.get(supplier.pk)
        ordered = int(stats["ordered"]) if stats else 0
        # Over-receipt within tolerance is not better than full: capped at what was ordered.
        received = min(int(stats["received"]), ordered) if stats else 0
        result.append(
            SupplierPerformance(
                supplier=supplier,
                deliveries=len(rows),
                on_time_rate=_mean([1.0 if on_time else 0.0 for on_time, _, _ in rows]),
                promised_lead_time_mean=_mean([float(p) for _, _, p in rows]),
                lead_time_mean=_mean([float(d) for _, d, _ in rows]),
                lead_time_p90=_percentile([float(d) for _, d, _ in rows], 0.9),
                lines_closed=int(stats["lines"]) if stats else 0,
                units_ordered=ordered,
                units_received=received,
                fill_rate=received / ordered if ordered else None,
            )
        )
    return result


@dataclass(frozen=True)
class LeadTime:
    """The lead time a policy should plan with: ``days`` (mean) and ``p90`` of the lead times
    seen, or the promised one when fewer than ``MIN_LEAD_TIME_OBSERVATIONS`` were seen
    (``source`` says which)."""

    days: float
    p90: float
    observations: int
    promised: int
    source: str  # "seen" | "promised"


def lead_time_seen(
    item: SupplierItem, *, min_observations: int = MIN_LEAD_TIME_OBSERVATIONS, last: int = 20
) -> LeadTime:
    """The lead time of a supplier item from its ``last`` deliveries (days from sending the
    PO to the goods arriving), falling back to the promised lead time."""
    days = list(
        SupplierReceiptLine.objects.filter(
            supplier_receipt__supplier_id=item.supplier_id, line__product_id=item.product_id
        )
        .order_by("-supplier_receipt__arrival_date", "-pk")
        .values_list("supplier_receipt__lead_time_days", flat=True)[:last]
    )
    promised = item.lead_time_days
    if len(days) < min_observations:
        return LeadTime(float(promised), float(promised), len(days), promised, "promised")
    values = [float(d) for d in days]
    mean = _mean(values)
    p90 = _percentile(values, 0.9)
    assert mean is not None and p90 is not None
    return LeadTime(mean, p90, len(days), promised, "seen")


# --------------------------------------------------------------------------- reorder policies


def reorder_policies(
    *,
    location: Location | None = None,
    sku: str | None = None,
    search: str | None = None,
    abc: str | None = None,
    xyz: str | None = None,
    kind: str | None = None,
    overridden: bool | None = None,
) -> QuerySet[ReorderPolicy]:
    """Reorder policies with their SKU, location and who set them; ``sku`` is exact,
    ``search`` a part of the SKU or the product's name."""
    rows = ReorderPolicy.objects.select_related("product", "location", "set_by")
    if location is not None:
        rows = rows.filter(location=location)
    if sku:
        rows = rows.filter(product__sku=sku)
    if search:
        rows = rows.filter(Q(product__sku__icontains=search) | Q(product__name__icontains=search))
    if abc:
        rows = rows.filter(abc_class=abc)
    if xyz:
        rows = rows.filter(xyz_class=xyz)
    if kind:
        rows = rows.filter(kind=kind)
    if overridden is not None:
        rows = rows.filter(overridden=overridden)
    return rows


def reorder_policy_get(product: Product, location: Location) -> ReorderPolicy:
    policy = reorder_policies(location=location).filter(product=product).first()
    if policy is None:
        raise UnknownReorderPolicy()
    return policy


@dataclass(frozen=True)
class ClassCell:
    """One cell of the ABC × XYZ grid at a location: its SKUs, their share of the value moved
    and the policy suggested for it."""

    cell: str
    skus: int
    value: Decimal
    value_share: float
    suggested: SuggestedPolicy


def policy_class_summary(location: Location | None = None) -> list[ClassCell]:
    """The nine cells (``AX`` … ``CZ``) of the classified policies (at ``location``)."""
    rows = ReorderPolicy.objects.exclude(abc_class="").exclude(xyz_class="")
    if location is not None:
        rows = rows.filter(location=location)
    found = {
        a + x: (n, value or Decimal(0))
        for a, x, n, value in rows.values("abc_class", "xyz_class")
        .annotate(n=Count("id"), value=Sum("class_value"))
        .values_list("abc_class", "xyz_class", "n", "value")
    }
    total = sum((v for _, v in found.values()), Decimal(0))
    cells = []
    for cell, suggested in SUGGESTED.items():
        n, value = found.get(cell, (0, Decimal(0)))
        share = float(value / total) if total else 0.0
        cells.append(ClassCell(cell, n, value, share, suggested))
    return cells
