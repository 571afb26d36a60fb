from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from omni.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Allocation, CapacityUse, Order, OrderLine


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["product", "quantity", "unit_price"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders change through the API and staff pages (which reserve and release stock); here
    they are read, with the sourcing decision and its reason."""

    list_display = [
        "id",
        "channel",
        "external_id",
        "mode",
        "status",
        "payment_status",
        "pickup_store",
        "sourcing_reason",
        "routing_profile",
        "promised_at",
        "waiting_since",
        "flagged",
        "created_at",
    ]
    list_filter = ["status", "mode", "payment_status", "channel", "city"]
    search_fields = ["external_id", "customer_name", "customer_phone", "member_id"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]
    readonly_fields = [f.name for f in Order._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["id", "line", "location", "quantity", "reservation"]
    list_filter = ["location"]
    raw_id_fields = ["line", "reservation"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CapacityUse)
class CapacityUseAdmin(ReadOnlyAdmin):
    """Orders each location took on per service and day; counted by routing, never edited
    (a location's limit is set on its service)."""

    list_display = ["day", "location", "service", "used"]
    list_filter = ["service", "location"]
    date_hierarchy = "day"
