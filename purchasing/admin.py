"""The back office of purchasing. Suppliers, supplier items and reorder policies are saved
through the services (checked field by field, a refusal shown and nothing saved); purchase
orders, their receipts and the lead times seen are read-only here: they move through the
planner's and the receiving clerk's workflow, which books the stock."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from omni.admin import ReadOnlyAdmin, ReadOnlyInline, ServiceSaves

from . import services
from .models import (
    ExchangeRate,
    PurchaseOrder,
    PurchaseOrderDraft,
    PurchaseOrderLine,
    ReorderPolicy,
    Supplier,
    SupplierItem,
    SupplierReceipt,
    SupplierReceiptLine,
)
from .proposals import admin as proposals_admin  # noqa: F401  (registers the proposal tables)


@admin.register(Supplier)
class SupplierAdmin(ServiceSaves):
    list_display = [
        "code",
        "name",
        "currency",
        "delivers_to_dc",
        "delivers_to_stores",
        "over_receipt_tolerance",
        "active",
    ]
    list_filter = ["active", "delivers_to_dc", "delivers_to_stores"]
    search_fields = ["code", "name"]

    def save_model(self, request: HttpRequest, obj: Supplier, form: Any, change: bool) -> None:
        fields = {
            name: getattr(obj, name)
            for name in (
                "code",
                "name",
                "currency",
                "delivers_to_dc",
                "delivers_to_stores",
                "over_receipt_tolerance",
                "active",
                "email",
                "note",
            )
        }
        saved = services.supplier_save(supplier=obj if change else None, **fields)
        obj.pk = saved.pk


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ServiceSaves):
    list_display = ["currency", "valid_from", "rate", "note", "created_by", "created_at"]
    list_filter = ["currency"]
    search_fields = ["currency", "note"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: ExchangeRate, form: Any, change: bool) -> None:
        saved = services.exchange_rate_set(
            currency=obj.currency,
            rate=obj.rate,
            valid_from=obj.valid_from,
            note=obj.note,
            actor=request.user,  # type: ignore[arg-type]
        )
        obj.pk = saved.pk


@admin.register(SupplierItem)
class SupplierItemAdmin(ServiceSaves):
    list_display = [
        "supplier",
        "product",
        "cost",
        "currency",
        "moq",
        "order_multiple",
        "lead_time_days",
        "preferred",
        "active",
    ]
    list_filter = ["preferred", "active", "supplier"]
    search_fields = ["supplier__code", "product__sku", "product__name", "supplier_sku"]
    autocomplete_fields = ["supplier", "product"]

    def save_model(self, request: HttpRequest, obj: SupplierItem, form: Any, change: bool) -> None:
        saved = services.supplier_item_save(
            supplier=obj.supplier,
            product=obj.product,
            cost=obj.cost,
            lead_time_days=obj.lead_time_days,
            moq=obj.moq,
            order_multiple=obj.order_multiple,
            preferred=obj.preferred,
            currency=obj.currency,
            supplier_sku=obj.supplier_sku,
            active=obj.active,
        )
        obj.pk = saved.pk


@admin.register(ReorderPolicy)
class ReorderPolicyAdmin(ServiceSaves):
    list_display = [
        "product",
        "location",
        "kind",
        "min_quantity",
        "max_quantity",
        "service_level",
        "review_days",
        "overridden",
        "set_by",
        "abc_class",
        "xyz_class",
    ]
    list_filter = ["kind", "overridden", "abc_class", "xyz_class", "location"]
    search_fields = ["product__sku", "location__code"]
    autocomplete_fields = ["product", "location"]
    # The class is the classification's to write (purchasing.services.policies).
    readonly_fields = [
        "set_by",
        "updated_at",
        "abc_class",
        "xyz_class",
        "class_value",
        "weekly_cv",
        "daily_mean",
        "classified_at",
    ]

    def save_model(self, request: HttpRequest, obj: ReorderPolicy, form: Any, change: bool) -> None:
        saved = services.reorder_policy_set(
            product=obj.product,
            location=obj.location,
            kind=obj.kind,
            min_quantity=obj.min_quantity,
            max_quantity=obj.max_quantity,
            service_level=obj.service_level,
            review_days=obj.review_days,
            actor=request.user,  # type: ignore[arg-type]
            overridden=obj.overridden,
            note=obj.note,
        )
        obj.pk = saved.pk


class PurchaseOrderLineInline(ReadOnlyInline):
    model = PurchaseOrderLine
    fields = readonly_fields = (
        "product",
        "quantity_ordered",
        "quantity_received",
        "quantity_cancelled",
        "unit_cost",
        "close_reason",
    )


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ReadOnlyAdmin):
    list_display = ["number", "supplier", "ship_to", "status", "expected_arrival", "sent_at"]
    list_filter = ["status", "supplier", "ship_to"]
    search_fields = ["number", "supplier__code", "reference"]
    date_hierarchy = "created_at"
    inlines = [PurchaseOrderLineInline]


class SupplierReceiptLineInline(ReadOnlyInline):
    model = SupplierReceiptLine
    fields = readonly_fields = ("line", "quantity", "unit_cost", "reason")


@admin.register(SupplierReceipt)
class SupplierReceiptAdmin(ReadOnlyAdmin):
    list_display = [
        "purchase_order",
        "supplier",
        "arrival_date",
        "promised_date",
        "lead_time_days",
        "units",
    ]
    list_filter = ["supplier"]
    search_fields = ["purchase_order__number", "key"]
    date_hierarchy = "arrival_date"
    inlines = [SupplierReceiptLineInline]


@admin.register(PurchaseOrderDraft)
class PurchaseOrderDraftAdmin(ReadOnlyAdmin):
    list_display = ["purchase_order", "draft"]
