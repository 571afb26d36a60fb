"""Allocation runs: the parameters, a snapshot of the optimizer's inputs, the outcome, and the
plan's lines. The tables keep the names they had when allocation lived in ``inventory``."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    OPTIMAL = "optimal", "Optimal"
    FEASIBLE = "feasible", "Feasible (gap to the best bound reported)"
    INFEASIBLE = "infeasible", "Infeasible"
    TIMEOUT = "timeout", "Timed out without a plan"
    FAILED = "failed", "Failed"


PLAN_STATUSES = (RunStatus.OPTIMAL, RunStatus.FEASIBLE)


class RunDecision(models.TextChoices):
    PENDING = "pending", "Pending review"
    APPROVED = "approved", "Approved (transfers created)"
    REJECTED = "rejected", "Rejected"


class AllocationRun(models.Model):
    """One optimisation of a city's DC stock across its live stores, and the planner's
    decision on it. Only a run with a plan (optimal or feasible) can be approved."""

    city = models.ForeignKey("omni.City", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    decision = models.CharField(
        max_length=16, choices=RunDecision.choices, default=RunDecision.PENDING
    )
    parameters = models.JSONField(default=dict, help_text="Service level, λ, time limit, ...")
    inputs = models.JSONField(default=dict, blank=True, help_text="The problem.json solved.")
    need_source = models.CharField(
        max_length=32, blank=True, help_text="forecast (run id) or moving_average."
    )
    method = models.CharField(max_length=16, blank=True)
    objective = models.FloatField(null=True, blank=True)
    bound = models.FloatField(null=True, blank=True)
    gap = models.FloatField(null=True, blank=True)
    terms = models.JSONField(default=dict, blank=True)
    fill_rate = models.JSONField(default=dict, blank=True, help_text="Per store code.")
    total_fill_rate = models.FloatField(null=True, blank=True)
    transport_cost = models.FloatField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per phase.")
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    progress_message = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "inventory_allocationrun"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"allocation run {self.pk} ({self.status}, {self.decision})"

    @property
    def reference(self) -> str:
        """What the run's transfers carry in ``Transfer.reference``."""
        return f"allocation-run-{self.pk}"

    @property
    def has_plan(self) -> bool:
        return self.status in PLAN_STATUSES


class AllocationLine(models.Model):
    """One (SKU, store) of a run: its need, and what one source ships (source empty: nothing
    ships, the need stays unmet)."""

    run = models.ForeignKey(AllocationRun, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("inventory.Product", on_delete=models.PROTECT, related_name="+")
    source = models.ForeignKey(
        "inventory.Location", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    store = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    need = models.IntegerField()
    packs = models.IntegerField(default=0)
    units = models.IntegerField(default=0)
    unmet = models.IntegerField(default=0)

    class Meta:
        db_table = "inventory_allocationline"
        ordering = ["run_id", "store_id", "product_id"]
        indexes = [models.Index(fields=["run", "store"], name="allocationline_run_store")]

    def __str__(self) -> str:
        return f"{self.product_id} → {self.store_id}: {self.units}"
