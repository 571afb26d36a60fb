"""Replenishment proposals: one run per city and day proposes what to buy for its DC (and the
stores that buy directly), one line per SKU × location with the parts of its position, the
demand it buys for, the rounding and the planner's edit. Approving a run turns its lines into
draft purchase orders, one per supplier × ship-to location (docs/replenishment.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ProposalStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    READY = "ready", "Ready for review"
    FAILED = "failed", "Failed"


class ProposalDecision(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved (purchase orders created)"
    REJECTED = "rejected", "Rejected"


class ReplenishmentRun(models.Model):
    """One proposal of what a city buys. The daily run (``scheduled``) exists once per city and
    day; a planner may start more. ``solver_status`` says how the budget and capacity were met:
    ``unconstrained`` (no limit bound), ``optimal`` / ``feasible`` (the optimisation chose),
    ``timeout``."""

    city = models.ForeignKey("omni.City", on_delete=models.PROTECT, related_name="+")
    run_date = models.DateField()
    scheduled = models.BooleanField(default=False, help_text="Started by the daily job.")
    status = models.CharField(
        max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.QUEUED
    )
    decision = models.CharField(
        max_length=16, choices=ProposalDecision.choices, default=ProposalDecision.PENDING
    )
    budget = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="Money; empty: none."
    )
    capacity = models.FloatField(null=True, blank=True, help_text="DC room; empty: none.")
    capacity_unit = models.CharField(max_length=8, default="units", help_text="units or m3.")
    service_level = models.FloatField(default=0.95)
    review_days = models.PositiveIntegerField(default=7)
    solver_status = models.CharField(max_length=16, blank=True)
    demand_source = models.CharField(
        max_length=64, blank=True, help_text="forecast run ids, or history."
    )
    spend = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    unconstrained_spend = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    expected_sold = models.FloatField(default=0.0)
    unconstrained_expected_sold = models.FloatField(default=0.0)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "run_date"],
                condition=Q(scheduled=True),
                name="replenishmentrun_one_daily_per_city",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0),
                name="replenishmentrun_budget_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | Q(capacity__gte=0),
                name="replenishmentrun_capacity_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return f"proposal {self.pk} {self.run_date} ({self.status}, {self.decision})"

    @property
    def reference(self) -> str:
        """What its purchase orders carry in ``PurchaseOrder.reference``."""
        return f"proposal-{self.pk}"


class ProposalLine(models.Model):
    """What a location should buy of a SKU, and why. ``position = on_hand + on_order + inbound
    − held − allocated_out``; ``need = order_up_to − position`` when the position is at or below
    the reorder point; ``unconstrained_quantity`` is the need rounded to the supplier's MOQ and
    multiple; ``quantity`` what the budget left of it; ``edited_quantity`` the planner's."""

    run = models.ForeignKey(ReplenishmentRun, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(
        "purchasing.Supplier", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    exchange_rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        default=1,
        help_text="Company currency per unit of the supplier's, on the run's day.",
    )
    moq = models.PositiveIntegerField(default=1)
    multiple = models.PositiveIntegerField(default=1)
    lead_time_days = models.PositiveIntegerField(default=0)
    on_hand = models.IntegerField(default=0)
    on_order = models.IntegerField(default=0)
    inbound = models.IntegerField(default=0)
    held = models.IntegerField(default=0)
    allocated_out = models.IntegerField(default=0)
    position = models.IntegerField(default=0)
    method = models.CharField(max_length=32, blank=True, help_text="Where the demand came from.")
    forecast = models.FloatField(default=0.0, help_text="Expected demand over L + R.")
    reorder_point = models.IntegerField(default=0)
    order_up_to = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    need = models.IntegerField(default=0, help_text="Order-up-to − position, before rounding.")
    unconstrained_quantity = models.PositiveIntegerField(default=0)
    quantity = models.PositiveIntegerField(default=0, help_text="After the budget.")
    edited_quantity = models.PositiveIntegerField(null=True, blank=True)
    demand = models.JSONField(default=list, blank=True, help_text="Window scenarios (units).")
    why = models.TextField(blank=True)

    class Meta:
        ordering = ["run_id", "location_id", "product_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "product", "location"], name="proposalline_unique_sku_location"
            ),
        ]
        indexes = [models.Index(fields=["run", "supplier"], name="proposalline_run_supplier")]

    def __str__(self) -> str:
        return f"{self.final_quantity}× {self.product_id} @{self.location_id}"

    @property
    def final_quantity(self) -> int:
        """What approval orders: the planner's quantity when edited, else the proposal's."""
        return self.quantity if self.edited_quantity is None else self.edited_quantity
