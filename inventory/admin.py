from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from omni.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import (
    Bin,
    HomeBin,
    Location,
    Product,
    ProductCost,
    Receipt,
    ReceiptLine,
    ReceivingDraft,
    ReceivingScan,
    Reservation,
    StockCount,
    StockCountLine,
    StockDiscrepancy,
    StockLevel,
    StockMove,
    Transfer,
    TransferLine,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "barcode", "unit", "pack_size", "cost", "price", "active"]
    list_filter = ["active", "unit"]
    search_fields = ["sku", "name", "barcode"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "city", "latitude", "longitude", "capacity", "active"]
    list_filter = ["kind", "city", "active"]
    search_fields = ["code", "name"]


@admin.register(Bin)
class BinAdmin(admin.ModelAdmin):
    list_display = ["code", "location", "zone", "aisle", "bay", "level", "sequence", "active"]
    list_filter = ["location", "zone", "active"]
    search_fields = ["code"]
    ordering = ["location", "sequence"]


@admin.register(HomeBin)
class HomeBinAdmin(ReadOnlyAdmin):
    """Home bins move through ``home_bin_set`` (the API and pages), which checks the bin is
    the location's own."""

    list_display = ["product", "location", "bin", "updated_at"]
    list_filter = ["location"]
    search_fields = ["product__sku", "bin__code"]
    list_select_related = ["product", "location", "bin"]


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin):
    list_display = ["product", "location", "on_hand", "reserved", "available", "updated_at"]
    list_filter = ["location"]
    search_fields = ["product__sku", "product__name"]
    list_select_related = ["product", "location"]


@admin.register(ProductCost)
class ProductCostAdmin(ReadOnlyAdmin):
    """The moving-average cost of each SKU (docs/valuation.md): written only by stock moves."""

    list_display = ["product", "quantity", "average_cost", "value", "opening_value", "updated_at"]
    search_fields = ["product__sku", "product__name"]
    list_select_related = ["product"]


@admin.register(StockMove)
class StockMoveAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "product",
        "from_location",
        "to_location",
        "quantity",
        "reason",
        "unit_cost",
        "value",
        "reference",
        "actor",
    ]
    list_filter = ["reason", "from_location", "to_location"]
    search_fields = ["product__sku", "reference"]
    list_select_related = ["product", "from_location", "to_location", "actor"]
    date_hierarchy = "created_at"


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "product",
        "location",
        "quantity",
        "status",
        "owner_type",
        "owner_id",
        "expires_at",
        "created_at",
    ]
    list_filter = ["status", "owner_type", "location"]
    search_fields = ["product__sku", "owner_id"]
    list_select_related = ["product", "location"]


class ReceiptLineInline(ReadOnlyInline):
    model = ReceiptLine


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdmin):
    list_display = ["id", "location", "supplier", "supplier_reference", "created_at", "actor"]
    inlines = [ReceiptLineInline]


class StockCountLineInline(ReadOnlyInline):
    model = StockCountLine


@admin.register(StockCount)
class StockCountAdmin(ReadOnlyAdmin):
    list_display = ["id", "location", "created_at", "actor", "note"]
    inlines = [StockCountLineInline]


class TransferLineInline(ReadOnlyInline):
    model = TransferLine


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["id", "source", "destination", "status", "reference", "created_at"]
    list_filter = ["status", "source", "destination"]
    inlines = [TransferLineInline]


@admin.register(StockDiscrepancy)
class StockDiscrepancyAdmin(admin.ModelAdmin):
    """Flags for staff to count a SKU. Only the status changes here; the correcting move is in
    the ledger already."""

    list_display = [
        "id",
        "location",
        "product",
        "system_quantity",
        "observed_quantity",
        "cause",
        "reason",
        "status",
        "created_at",
    ]
    list_filter = ["status", "cause", "location"]
    search_fields = ["product__sku", "reference"]
    readonly_fields = [
        "product",
        "location",
        "system_quantity",
        "observed_quantity",
        "reason",
        "reference",
        "move",
        "cause",
        "actor",
        "created_at",
        "resolved_at",
        "resolved_by_count",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReceivingScanInline(ReadOnlyInline):
    model = ReceivingScan


@admin.register(ReceivingDraft)
class ReceivingDraftAdmin(ReadOnlyAdmin):
    """Deliveries being received (or done): their scans, as the clerks sent them."""

    list_display = ["id", "location", "transfer", "supplier", "status", "blind", "created_at"]
    list_filter = ["status", "location"]
    inlines = [ReceivingScanInline]
