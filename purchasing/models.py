"""Purchasing's records: who sells what (suppliers and their items), how much to keep (reorder
policies), what was bought (purchase orders and their lines) and what came, when (supplier
receipts, the lead times actually seen)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

DEFAULT_CURRENCY = "CNY"


def company_currency() -> str:
    """The currency stock is valued and budgets are counted in (``OMNI_CURRENCY``)."""
    return str(settings.OMNI_CURRENCY)


class ExchangeRate(models.Model):
    """What one unit of a foreign currency is worth in the company currency, from a day on
    until the currency's next rate. A purchase order in that currency takes the rate in force
    on the day it is sent, and its receipts are valued at it."""

    currency = models.CharField(max_length=3)
    valid_from = models.DateField()
    rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        help_text="Company currency per one unit of this currency.",
    )
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "valid_from"], name="exchangerate_one_per_day"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchangerate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} from {self.valid_from}"


class Supplier(models.Model):
    """A company we buy from. It delivers to the DC, straight to stores, or both."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    currency = models.CharField(max_length=3, default=company_currency)
    delivers_to_dc = models.BooleanField(default=True)
    delivers_to_stores = models.BooleanField(default=False)
    over_receipt_tolerance = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Percent above the ordered quantity a receipt may book (0 = exactly).",
    )
    email = models.EmailField(blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(delivers_to_dc=True) | Q(delivers_to_stores=True),
                name="supplier_delivers_somewhere",
            ),
            models.CheckConstraint(
                condition=Q(over_receipt_tolerance__gte=0) & Q(over_receipt_tolerance__lte=100),
                name="supplier_tolerance_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class SupplierItem(models.Model):
    """A SKU a supplier sells: its cost, minimum order quantity, order multiple (case pack) and
    promised lead time. At most one supplier item per SKU is the preferred one."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "inventory.Product", on_delete=models.PROTECT, related_name="supplier_items"
    )
    supplier_sku = models.CharField(max_length=64, blank=True)
    cost = models.DecimalField(max_digits=12, decimal_places=4)
    currency = models.CharField(max_length=3, default=company_currency)
    moq = models.PositiveIntegerField("minimum order quantity", default=1)
    order_multiple = models.PositiveIntegerField(default=1, help_text="Units per case pack.")
    lead_time_days = models.PositiveIntegerField(help_text="Promised lead time, in days.")
    preferred = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["supplier_id", "product_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "product"], name="supplieritem_unique_product"
            ),
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(preferred=True),
                name="supplieritem_one_preferred_per_product",
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="supplieritem_cost_nonnegative"),
            models.CheckConstraint(condition=Q(moq__gte=1), name="supplieritem_moq_positive"),
            models.CheckConstraint(
                condition=Q(order_multiple__gte=1), name="supplieritem_multiple_positive"
            ),
            models.CheckConstraint(
                condition=Q(lead_time_days__gte=0), name="supplieritem_lead_time_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier_id}:{self.product_id} @{self.cost}"


class ReorderPolicyKind(models.TextChoices):
    MIN_MAX = "min_max", "Min/max (set by hand)"
    SERVICE_LEVEL = "service_level", "Service level (from the forecast)"


class ReorderPolicy(models.Model):
    """How much of a SKU a location keeps: reorder at ``min_quantity``, order up to
    ``max_quantity`` (``min_max``), or both computed for a ``service_level`` target from the
    demand over lead time + review period."""

    product = models.ForeignKey(
        "inventory.Product", on_delete=models.CASCADE, related_name="reorder_policies"
    )
    location = models.ForeignKey(
        "inventory.Location", on_delete=models.CASCADE, related_name="reorder_policies"
    )
    kind = models.CharField(max_length=16, choices=ReorderPolicyKind.choices)
    min_quantity = models.PositiveIntegerField(null=True, blank=True, help_text="Reorder point.")
    max_quantity = models.PositiveIntegerField(null=True, blank=True, help_text="Order-up-to.")
    service_level = models.DecimalField(
        max_digits=5, decimal_places=4, null=True, blank=True, help_text="Target, e.g. 0.95."
    )
    review_days = models.PositiveIntegerField(default=7)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    overridden = models.BooleanField(
        default=False, help_text="Set by a planner for this SKU, not suggested for its class."
    )
    note = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # The SKU's class at this location when it was last classified
    # (``purchasing.services.policies``); kept on an overridden policy too, so pages show it.
    abc_class = models.CharField(max_length=1, blank=True, help_text="A, B or C by value.")
    xyz_class = models.CharField(
        max_length=1, blank=True, help_text="X, Y or Z by weekly variability."
    )
    class_value = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Value moved over the last year (units × unit cost): what ABC ranks.",
    )
    weekly_cv = models.FloatField(
        null=True, blank=True, help_text="Coefficient of variation of weekly demand (XYZ)."
    )
    daily_mean = models.FloatField(default=0.0, help_text="Mean daily demand over the last year.")
    classified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "reorder policies"
        ordering = ["location_id", "product_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location"], name="reorderpolicy_unique_sku_location"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["min_max", "service_level"]), name="reorderpolicy_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="min_max")
                | (
                    Q(min_quantity__isnull=False)
                    & Q(max_quantity__isnull=False)
                    & Q(max_quantity__gte=F("min_quantity"))
                ),
                name="reorderpolicy_min_max_complete",
            ),
            models.CheckConstraint(
                condition=~Q(kind="service_level")
                | (Q(service_level__gt=0) & Q(service_level__lt=1)),
                name="reorderpolicy_service_level_range",
            ),
            models.CheckConstraint(
                condition=Q(review_days__gte=0), name="reorderpolicy_review_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(abc_class__in=["", "A", "B", "C"])
                & Q(xyz_class__in=["", "X", "Y", "Z"]),
                name="reorderpolicy_class_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["location", "abc_class", "xyz_class"], name="reorderpolicy_location_class"
            )
        ]

    def __str__(self) -> str:
        return f"{self.product_id}@{self.location_id} {self.kind}"

    @property
    def service_percent(self) -> str:
        """The service level as pages show it: ``97``, ``92.5`` (empty for min/max)."""
        if self.service_level is None:
            return ""
        return f"{Decimal(self.service_level) * 100:.2f}".rstrip("0").rstrip(".")


class PurchaseOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent to the supplier"
    PARTIALLY_RECEIVED = "partially_received", "Partially received (rest on backorder)"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


# Statuses whose open quantities are on order: the supplier owes them.
OPEN_STATUSES = (PurchaseOrderStatus.SENT, PurchaseOrderStatus.PARTIALLY_RECEIVED)


class PurchaseOrder(models.Model):
    """An order to one supplier for goods delivered to one location:
    draft → sent → partially received → received, or cancelled."""

    number = models.CharField(max_length=32, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="orders")
    ship_to = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, related_name="purchase_orders"
    )
    status = models.CharField(
        max_length=24, choices=PurchaseOrderStatus.choices, default=PurchaseOrderStatus.DRAFT
    )
    currency = models.CharField(max_length=3, default=company_currency)
    exchange_rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        null=True,
        blank=True,
        help_text="Company currency per unit of the order's currency, fixed when it is sent.",
    )
    expected_arrival = models.DateField(null=True, blank=True)
    reference = models.CharField(
        max_length=64, blank=True, help_text="Where it came from, e.g. a proposal."
    )
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["draft", "sent", "partially_received", "received", "cancelled"]
                ),
                name="purchaseorder_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(status="cancelled")
                | (Q(sent_at__isnull=False) & Q(expected_arrival__isnull=False)),
                name="purchaseorder_sent_has_dates",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "cancelled"]) | Q(exchange_rate__isnull=False),
                name="purchaseorder_sent_has_rate",
            ),
        ]
        indexes = [models.Index(fields=["ship_to", "status"], name="purchaseorder_shipto_status")]

    def __str__(self) -> str:
        return f"{self.number} ({self.status})"

    @property
    def ledger_reference(self) -> str:
        return f"po:{self.number}"


class PurchaseOrderLine(models.Model):
    """A SKU on a purchase order. ``open_quantity`` (ordered − received − cancelled, never
    below 0) is on order while the PO is sent or partially received: a backorder once part of
    it came."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    quantity_ordered = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(
        default=0, help_text="Closed short: not expected any more."
    )
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4)
    close_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "product"], name="purchaseorderline_unique_sku"
            ),
            models.CheckConstraint(
                condition=Q(quantity_ordered__gt=0), name="purchaseorderline_ordered_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity_received__gte=0) & Q(quantity_cancelled__gte=0),
                name="purchaseorderline_quantities_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(quantity_cancelled__lte=F("quantity_ordered")),
                name="purchaseorderline_cancel_within_order",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=0), name="purchaseorderline_cost_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered}× {self.product_id} on {self.purchase_order_id}"

    @property
    def open_quantity(self) -> int:
        return max(0, self.quantity_ordered - self.quantity_received - self.quantity_cancelled)


class PurchaseOrderDraft(models.Model):
    """A receiving draft (inventory's scan-by-scan count) opened against a purchase order.
    Inventory knows no purchase order: the link lives here."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="receiving_drafts"
    )
    draft = models.OneToOneField(
        "inventory.ReceivingDraft", on_delete=models.CASCADE, related_name="purchase_order_link"
    )

    def __str__(self) -> str:
        return f"draft {self.draft_id} of {self.purchase_order_id}"


class SupplierReceipt(models.Model):
    """One delivery booked against a purchase order, and the lead time it showed: days from
    the PO being sent to the goods arriving, against the promised arrival date. ``key`` is the
    client's id for the receipt: the same key sent twice books once."""

    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.PROTECT, related_name="receipts"
    )
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="receipts")
    key = models.CharField(max_length=64)
    receipt = models.ForeignKey(
        "inventory.Receipt", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    promised_date = models.DateField()
    arrival_date = models.DateField()
    lead_time_days = models.PositiveIntegerField(help_text="Sent → arrived, in days.")
    promised_lead_time_days = models.PositiveIntegerField(help_text="Sent → promised, in days.")
    units = models.PositiveIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "key"], name="supplierreceipt_unique_key"
            ),
            models.CheckConstraint(
                condition=Q(lead_time_days__gte=0) & Q(promised_lead_time_days__gte=0),
                name="supplierreceipt_days_nonnegative",
            ),
        ]
        indexes = [
            models.Index(fields=["supplier", "arrival_date"], name="supplierreceipt_supp_date")
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order_id} arrived {self.arrival_date} ({self.units} units)"

    @property
    def on_time(self) -> bool:
        return self.arrival_date <= self.promised_date

    @property
    def days_late(self) -> int:
        return max(0, (self.arrival_date - self.promised_date).days)


class SupplierReceiptLine(models.Model):
    """What a supplier receipt booked on one PO line; ``over`` units beyond the ordered
    quantity (within the supplier's tolerance), with the clerk's reason for any difference."""

    supplier_receipt = models.ForeignKey(
        SupplierReceipt, on_delete=models.CASCADE, related_name="lines"
    )
    line = models.ForeignKey(PurchaseOrderLine, on_delete=models.PROTECT, related_name="receipts")
    quantity = models.PositiveIntegerField()
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4)
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="supplierreceiptline_quantity_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity}× line {self.line_id}"


# The proposal tables live in their own module.
from .proposal_models import (  # noqa: E402, F401
    ProposalDecision,
    ProposalLine,
    ProposalStatus,
    ReplenishmentRun,
)
