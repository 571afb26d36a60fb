"""Back office of fulfillment: pick lists with their tasks, and the scans pickers sent. Read
only: picking changes stock holds, so it goes through the services."""

from __future__ import annotations

from django.contrib import admin

from omni.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import PickList, PickScan, PickTask


class PickTaskInline(ReadOnlyInline):
    model = PickTask
    fields = ["sequence", "bin_code", "product", "quantity", "picked", "status"]
    ordering = ["sequence"]


@admin.register(PickList)
class PickListAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "location",
        "status",
        "orders_count",
        "lines_count",
        "units_picked",
        "units_total",
        "tasks_done",
        "tasks_total",
        "created_at",
    ]
    list_filter = ["status", "location"]
    inlines = [PickTaskInline]


@admin.register(PickScan)
class PickScanAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "pick_list", "scanned", "quantity", "result", "credited", "actor"]
    list_filter = ["result"]
    search_fields = ["scan_id", "scanned"]
