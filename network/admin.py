"""The back office for how a city is served: channels and the rollout rows, and the routing
settings. Routing settings (channel buffers, capacity and hours, routing profiles) are saved
through the same services as the API, with ``source="admin"``, so every edit made here is audited
too."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from network.models import (
    Channel,
    ChannelBuffer,
    ChannelCity,
    ChannelLocation,
    ConfigChange,
    LocationService,
    RoutingProfile,
    RoutingProfileStatus,
    ShelfProtection,
)
from network.routing_rules import WHEN_SHORT, RuleError, check_when_short, parse_rules
from network.services import (
    channel_buffer_set,
    location_capacity_set,
    routing_profile_activate,
    routing_profile_create,
    routing_profile_deactivate,
)
from omni.admin import ReadOnlyAdmin, ServiceSaves
from omni.errors import ApplicationError
from omni.models import User

ADMIN = "admin"  # the audit's source for edits made here


def _actor(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


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


CAPACITY_FIELDS = ("daily_capacity", "opens_at", "closes_at")


@admin.register(LocationService)
class LocationServiceAdmin(ServiceSaves):
    """The rollout file sets which services a location offers and from when; the daily
    capacity and pickup hours are saved through ``location_capacity_set`` (audited)."""

    list_display = [
        "location",
        "service",
        "starts_on",
        "cost_per_order",
        "daily_capacity",
        "opens_at",
        "closes_at",
    ]
    list_filter = ["service", "location__city"]
    search_fields = ["location__code", "location__name"]
    autocomplete_fields = ["location"]
    date_hierarchy = "starts_on"

    def save_model(
        self, request: HttpRequest, obj: LocationService, form: Any, change: bool
    ) -> None:
        wanted = {name: getattr(obj, name) for name in CAPACITY_FIELDS}
        stored = LocationService.objects.filter(pk=obj.pk).first() if change else None
        for name in CAPACITY_FIELDS:  # the row itself keeps its old settings ...
            setattr(obj, name, getattr(stored, name) if stored else None)
        super().save_model(request, obj, form, change)
        if set(CAPACITY_FIELDS) & set(form.changed_data):
            # ... and the service changes them, with the audit row.
            row = location_capacity_set(
                location=obj.location,
                service=obj.service,
                actor=_actor(request),
                source=ADMIN,
                **wanted,
            )
            for name in CAPACITY_FIELDS:
                setattr(obj, name, getattr(row, name))


@admin.register(ShelfProtection)
class ShelfProtectionAdmin(admin.ModelAdmin):
    """A row without a product is the store's default for every SKU."""

    list_display = ["location", "product", "quantity"]
    list_filter = ["location"]
    search_fields = ["location__code", "product__sku", "product__name"]
    autocomplete_fields = ["location", "product"]


# --------------------------------------------------------------------------- routing settings


@admin.register(ChannelBuffer)
class ChannelBufferAdmin(ServiceSaves):
    """Units of every SKU a channel may not take at a location (no location: its default).
    Saved and deleted through ``channel_buffer_set`` (audited)."""

    list_display = ["channel", "location", "units"]
    list_filter = ["channel"]
    search_fields = ["channel__code", "location__code", "location__name"]
    autocomplete_fields = ["channel", "location"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Moving a buffer to another channel or location is a new buffer, not an edit.
        return ["channel", "location"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: ChannelBuffer, form: Any, change: bool) -> None:
        row = channel_buffer_set(
            channel=obj.channel,
            location=obj.location,
            units=obj.units,
            actor=_actor(request),
            source=ADMIN,
        )
        if row is not None:
            obj.pk = row.pk

    def delete_model(self, request: HttpRequest, obj: ChannelBuffer) -> None:
        channel_buffer_set(
            channel=obj.channel,
            location=obj.location,
            units=None,
            actor=_actor(request),
            source=ADMIN,
        )

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ChannelBuffer]) -> None:
        for obj in queryset.select_related("channel", "location"):
            self.delete_model(request, obj)


class RoutingProfileForm(forms.ModelForm):
    """A new version. The rules are checked by the same code as the API's and the rollout
    file's, so a mistake reads the same: ``rules[1].max_km: must be above 0``."""

    when_short = forms.ChoiceField(choices=[(w, w) for w in WHEN_SHORT], initial="park")

    class Meta:
        model = RoutingProfile
        fields = ["channel", "city", "rules", "when_short", "note"]
        help_texts = {
            "rules": 'A JSON list, e.g. ["keep_together", {"rule": "distance_band", "max_km": 20}].'
        }

    def clean_rules(self) -> Any:
        rules = self.cleaned_data.get("rules")
        try:
            parse_rules(rules)
        except RuleError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return rules

    def clean_when_short(self) -> str:
        try:
            return check_when_short(self.cleaned_data.get("when_short"))
        except RuleError as exc:
            raise forms.ValidationError(exc.message) from exc


@admin.register(RoutingProfile)
class RoutingProfileAdmin(ServiceSaves):
    """Versions of a channel's routing rules. A saved version never changes (an order records
    the version that routed it): start a new version from an old one, then activate it.
    Created, activated and retired through the services (audited)."""

    form = RoutingProfileForm
    list_display = [
        "channel",
        "city",
        "version",
        "status",
        "when_short",
        "note",
        "created_by",
        "activated_at",
    ]
    list_filter = ["status", "channel", "city"]
    search_fields = ["channel__code", "note"]
    actions = ["activate", "retire"]
    saved_fields = (
        "channel",
        "city",
        "version",
        "status",
        "described_rules",
        "rules",
        "when_short",
        "note",
        "created_by",
        "created_at",
        "activated_by",
        "activated_at",
        "new_version",
    )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.saved_fields if obj is not None else tuple(RoutingProfileForm.Meta.fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.saved_fields if obj is not None else ()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a saved version is read; a change is a new version

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders name the version that routed them

    @admin.display(description="rules, in order")
    def described_rules(self, obj: RoutingProfile) -> str:
        try:
            rules = parse_rules(obj.rules)
        except RuleError as exc:
            return str(exc)
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "", "<li><code>{}</code>: {}</li>", ((r.name, r.describe()) for r in rules)
            ),
        )

    @admin.display(description="change")
    def new_version(self, obj: RoutingProfile) -> str:
        url = reverse("admin:network_routingprofile_add") + f"?from={obj.pk}"
        return format_html('<a href="{}">Start a new version from this one</a>', url)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        source = request.GET.get("from", "")
        profile = (
            RoutingProfile.objects.filter(pk=int(source)).first() if source.isdigit() else None
        )
        if profile is not None:
            initial.update(
                channel=profile.channel_id,
                city=profile.city_id,
                rules=profile.rules,
                when_short=profile.when_short,
                note=profile.note,
            )
        return initial

    def save_model(
        self, request: HttpRequest, obj: RoutingProfile, form: Any, change: bool
    ) -> None:
        profile = routing_profile_create(
            channel=obj.channel,
            city=obj.city,
            rules=obj.rules,
            when_short=obj.when_short,
            note=obj.note,
            actor=_actor(request),
            source=ADMIN,
        )
        obj.pk, obj.version, obj.status = profile.pk, profile.version, profile.status
        obj.rules, obj.created_by, obj.created_at = (
            profile.rules,
            profile.created_by,
            profile.created_at,
        )

    @admin.action(description="Activate the selected versions (retiring the ones they replace)")
    def activate(self, request: HttpRequest, queryset: QuerySet[RoutingProfile]) -> None:
        done = 0
        for profile in queryset.order_by("version"):
            try:
                routing_profile_activate(profile=profile, actor=_actor(request), source=ADMIN)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{profile}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} version(s) active.", messages.INFO)

    @admin.action(description="Retire the selected active versions (default rules route again)")
    def retire(self, request: HttpRequest, queryset: QuerySet[RoutingProfile]) -> None:
        done = 0
        for profile in queryset.filter(status=RoutingProfileStatus.ACTIVE):
            routing_profile_deactivate(profile=profile, actor=_actor(request), source=ADMIN)
            done += 1
        self.message_user(request, f"{done} version(s) retired.", messages.INFO)


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyAdmin):
    """Who changed a routing setting, where, when, from what to what. Written by the
    services; never edited."""

    list_display = ["at", "kind", "target", "old", "new", "actor", "source"]
    list_filter = ["kind", "source"]
    search_fields = ["target", "actor__username"]
    date_hierarchy = "at"
