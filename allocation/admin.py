"""Allocation runs and their lines, read-only: runs are made and decided through the planner's
workflow."""

from __future__ import annotations

from django.contrib import admin

from omni.admin import ReadOnlyAdmin

from .models import AllocationLine, AllocationRun


@admin.register(AllocationRun)
class AllocationRunAdmin(ReadOnlyAdmin):
    """Read-only: runs are made and decided through the planner's workflow."""

    list_display = ("id", "city", "status", "decision", "objective", "gap", "created_at")
    list_filter = ("status", "decision")


@admin.register(AllocationLine)
class AllocationLineAdmin(ReadOnlyAdmin):
    list_display = ("run", "product", "source", "store", "need", "units", "unmet")
