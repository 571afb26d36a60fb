"""Back office of loyalty. Read only: coupons, budgets and the discount ledger move through the
services (conditional UPDATEs and ledger rows together), never by editing a row; the one thing
set here is a store's offline allowance."""

from __future__ import annotations

from django.contrib import admin

from omni.admin import ReadOnlyAdmin

from .models import (
    Campaign,
    CampaignAssignment,
    Coupon,
    DiscountEntry,
    Member,
    MemberCampaignUse,
    OfflineAllowanceUse,
    OfflineUpload,
    RedemptionDiscrepancy,
    StoreOfflineAllowance,
)


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ["number", "masked_phone", "name", "home_store", "joined_channel", "created_at"]
    search_fields = ["number", "phone_last4"]
    exclude = ["phone_hash"]


@admin.register(Campaign)
class CampaignAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "status",
        "starts_at",
        "ends_at",
        "budget",
        "granted",
        "issued",
        "issue_cap",
        "holdout_share",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["code", "name"]


@admin.register(CampaignAssignment)
class CampaignAssignmentAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "member", "group", "draw", "seed", "assigned_at"]
    list_filter = ["group", "campaign"]


@admin.register(MemberCampaignUse)
class MemberCampaignUseAdmin(ReadOnlyAdmin):
    list_display = ["campaign", "member", "uses"]


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ["id", "campaign", "member", "source", "status", "expires_at", "order"]
    list_filter = ["status", "source", "campaign"]
    search_fields = ["=id", "batch"]


@admin.register(DiscountEntry)
class DiscountEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "campaign",
        "coupon",
        "kind",
        "amount",
        "order",
        "store",
        "channel",
        "offline",
        "discrepancy",
    ]
    list_filter = ["kind", "offline", "discrepancy", "campaign"]


@admin.register(RedemptionDiscrepancy)
class RedemptionDiscrepancyAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "store", "coupon", "reason", "amount", "status", "resolved_by"]
    list_filter = ["status", "reason", "store"]


@admin.register(StoreOfflineAllowance)
class StoreOfflineAllowanceAdmin(admin.ModelAdmin):
    list_display = ["store", "max_count_per_day", "max_amount_per_day"]


@admin.register(OfflineAllowanceUse)
class OfflineAllowanceUseAdmin(ReadOnlyAdmin):
    list_display = ["store", "day", "count", "amount"]


@admin.register(OfflineUpload)
class OfflineUploadAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "store", "client_id", "result", "reason", "coupon"]
    list_filter = ["result", "store"]
    search_fields = ["client_id"]
