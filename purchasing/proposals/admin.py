"""Replenishment runs and their lines in the admin, read-only: runs are made, edited and
decided through the planner's workflow (pages and API)."""

from __future__ import annotations

from django.contrib import admin

from omni.admin import ReadOnlyAdmin
from purchasing.proposal_models import ProposalLine, ReplenishmentRun


@admin.register(ReplenishmentRun)
class ReplenishmentRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "city",
        "run_date",
        "scheduled",
        "status",
        "decision",
        "solver_status",
        "spend",
        "created_at",
    )
    list_filter = ("status", "decision", "scheduled")


@admin.register(ProposalLine)
class ProposalLineAdmin(ReadOnlyAdmin):
    list_display = (
        "run",
        "product",
        "location",
        "supplier",
        "position",
        "reorder_point",
        "order_up_to",
        "quantity",
        "edited_quantity",
    )
    list_filter = ("run__city",)
    search_fields = ("product__sku",)
