from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import DemandImport, ForecastChunk, ForecastRun


class ReadOnlyAdmin(admin.ModelAdmin):
    """Runs and imports are made by their services (API, commands, staff pages); here they are
    read."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ForecastChunkInline(admin.TabularInline):
    """A run's chunks: which worker has or had each, how far it got, how often it was taken."""

    model = ForecastChunk
    fields = readonly_fields = (
        "number",
        "status",
        "progress",
        "series_total",
        "series_done",
        "attempts",
        "worker",
        "sent_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    )
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ForecastRun)
class ForecastRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "scope",
        "status",
        "progress",
        "message",
        "as_of",
        "horizon",
        "series_total",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "scope"]
    readonly_fields = [f.name for f in ForecastRun._meta.fields]
    inlines = [ForecastChunkInline]


@admin.register(DemandImport)
class DemandImportAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "file_name",
        "rows",
        "series",
        "first_day",
        "last_day",
        "actor",
        "created_at",
    ]
    readonly_fields = [f.name for f in DemandImport._meta.fields]
