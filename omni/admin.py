from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import (
    ApiToken,
    Channel,
    ChannelCity,
    ChannelLocation,
    City,
    LocationService,
    ShelfProtection,
    User,
)
from .services import api_token_create


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "timezone", "latitude", "longitude"]
    search_fields = ["code", "name"]


@admin.register(User)
class StaffAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active", "is_staff"]
    list_filter = ["role", "is_active", "is_staff", "locations"]
    filter_horizontal = ["locations", "groups", "user_permissions"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Omni role and locations", {"fields": ("role", "locations")}),
    )
    add_fieldsets = (
        *UserAdmin.add_fieldsets,
        ("Omni role and locations", {"fields": ("role", "locations")}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Creating a token here shows its secret once; only its hash is kept."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = api_token_create(user=obj.user, name=obj.name)
        obj.pk = token.pk
        obj.prefix = token.prefix
        obj.key_hash = token.key_hash
        messages.warning(
            request, f"New token for {obj.user}: {raw} — copy it now, it is not shown again."
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        n = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.info(request, f"{n} token(s) revoked.")


class ChannelCityInline(admin.TabularInline):
    model = ChannelCity
    extra = 0


class ChannelLocationInline(admin.TabularInline):
    model = ChannelLocation
    extra = 0
    autocomplete_fields = ["location"]
    ordering = ["priority"]


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    """Channels, where they are live and which locations serve them: normally set by the
    city's rollout file (``manage.py rollout apply``), which overwrites edits made here."""

    list_display = ["code", "name", "kind", "user", "allow_backorder", "hold_minutes", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name"]
    raw_id_fields = ["user"]
    inlines = [ChannelCityInline, ChannelLocationInline]


@admin.register(LocationService)
class LocationServiceAdmin(admin.ModelAdmin):
    list_display = ["location", "service", "starts_on"]
    list_filter = ["service", "location__city"]
    search_fields = ["location__code", "location__name"]
    autocomplete_fields = ["location"]
    date_hierarchy = "starts_on"


@admin.register(ShelfProtection)
class ShelfProtectionAdmin(admin.ModelAdmin):
    """A row without a product is the store's default for every SKU."""

    list_display = ["location", "product", "quantity"]
    list_filter = ["location"]
    search_fields = ["location__code", "product__sku", "product__name"]
    autocomplete_fields = ["location", "product"]
