"""The API of how a city is served: channel buffers, routing profiles (versioned; a draft routes
nothing until activated), a location's capacity and pickup hours, and the audit of every change.
Settings are for planners and administrators; every change is made by ``network.services``
with its audit row."""

from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from inventory import selectors as stock_selectors
from network.models import (
    Channel,
    ConfigChange,
    LocationService,
    RoutingProfile,
    RoutingProfileStatus,
)
from omni.access import current_user, reads_everything, visible_one
from omni.errors import RoleNotAllowed
from omni.idempotency import idempotent
from omni.models import User
from omni.pagination import CursorPagination
from omni.schemas import ErrorOut, QuerySchema
from omni.selectors import city_by_code

from . import services
from .errors import UnknownRoutingProfile
from .schemas import (
    ChannelBufferIn,
    ChannelBuffersOut,
    ConfigChangeOut,
    LocationCapacityIn,
    LocationCapacityOut,
    RoutingProfileIn,
    RoutingProfileOut,
    Slug,
)
from .selectors import channel_by_code

router = Router(tags=["routing"])

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MAX_ROWS = 500


def _planner(request: HttpRequest) -> User:
    user = current_user(request)
    if not reads_everything(user):
        raise RoleNotAllowed(user, _("routing settings are for planners and administrators"))
    return user


# --------------------------------------------------------------------------- channel buffers


def _buffers(channel: Channel) -> dict[str, Any]:
    rows = list(channel.buffers.select_related("location"))
    return {
        "channel": channel.code,
        "default": next((r.units for r in rows if r.location_id is None), None),
        "locations": sorted(
            ({"location": r.location.code, "units": r.units} for r in rows if r.location),
            key=lambda row: row["location"],
        ),
    }


@router.get("/channels/{code}/buffers", response={200: ChannelBuffersOut, **ERRORS})
def channel_buffers(request: HttpRequest, code: str) -> dict[str, Any]:
    """Units of every SKU the channel may not take: its default and each location's own."""
    _planner(request)
    return _buffers(channel_by_code(code))


@router.put("/channels/{code}/buffers", response={200: ChannelBuffersOut, **ERRORS})
def channel_buffer_set(request: HttpRequest, code: str, payload: ChannelBufferIn) -> dict[str, Any]:
    """Set one buffer (``location`` null: the channel's default); ``units`` null removes it.
    The next order sees it."""
    user = _planner(request)
    channel = channel_by_code(code)
    location = (
        stock_selectors.location_by_code(payload.location) if payload.location is not None else None
    )
    services.channel_buffer_set(
        channel=channel, location=location, units=payload.units, actor=user, source="api"
    )
    return _buffers(channel)


# --------------------------------------------------------------------------- routing profiles


class ProfileFilter(QuerySchema):
    channel: Slug | None = None
    city: Slug | None = None
    status: RoutingProfileStatus | None = None


def _profiles() -> QuerySet[RoutingProfile]:
    return RoutingProfile.objects.select_related("channel", "city", "created_by", "activated_by")


def _profile(profile_id: int) -> RoutingProfile:
    """Any version: only planners and admins get here (``_planner`` first)."""
    return visible_one(_profiles(), UnknownRoutingProfile, pk=profile_id)


@router.get("/routing/profiles", response=list[RoutingProfileOut])
@paginate(CursorPagination, ordering=("-id",))
def routing_profile_list(request: HttpRequest, filters: Query[ProfileFilter]) -> object:
    """Every version, newest first."""
    _planner(request)
    profiles = _profiles()
    if filters.channel:
        profiles = profiles.filter(channel__code=filters.channel)
    if filters.city:
        profiles = profiles.filter(city__code=filters.city)
    if filters.status:
        profiles = profiles.filter(status=filters.status)
    return profiles


@router.get("/routing/profiles/{profile_id}", response={200: RoutingProfileOut, **ERRORS})
def routing_profile_detail(request: HttpRequest, profile_id: int) -> RoutingProfile:
    _planner(request)
    return _profile(profile_id)


@router.post("/routing/profiles", response={201: RoutingProfileOut, **ERRORS})
@decorate_view(idempotent)
def routing_profile_create(request: HttpRequest, payload: RoutingProfileIn) -> Status:
    """A new draft version of the channel's rules. A draft routes nothing until activated."""
    user = _planner(request)
    profile = services.routing_profile_create(
        channel=channel_by_code(payload.channel),
        city=city_by_code(payload.city) if payload.city else None,
        rules=payload.rules,
        when_short=payload.when_short,
        note=payload.note,
        actor=user,
        source="api",
    )
    return Status(201, _profile(profile.pk))


@router.post("/routing/profiles/{profile_id}/activate", response={200: RoutingProfileOut, **ERRORS})
@decorate_view(idempotent)
def routing_profile_activate(request: HttpRequest, profile_id: int) -> RoutingProfile:
    """Route the channel's next orders (in the profile's city, or by default) with this
    version; the version it replaces is retired."""
    user = _planner(request)
    services.routing_profile_activate(profile=_profile(profile_id), actor=user, source="api")
    return _profile(profile_id)


@router.post(
    "/routing/profiles/{profile_id}/deactivate", response={200: RoutingProfileOut, **ERRORS}
)
@decorate_view(idempotent)
def routing_profile_deactivate(request: HttpRequest, profile_id: int) -> RoutingProfile:
    """Retire the active version: the channel routes by the default rules again."""
    user = _planner(request)
    services.routing_profile_deactivate(profile=_profile(profile_id), actor=user, source="api")
    return _profile(profile_id)


# --------------------------------------------------------------------------- capacity and hours


@router.put("/locations/{code}/capacity", response={200: LocationCapacityOut, **ERRORS})
def location_capacity_set(
    request: HttpRequest, code: str, payload: LocationCapacityIn
) -> LocationService:
    """Set a location's daily capacity for a service and, for pickups, its opening hours."""
    user = _planner(request)
    return services.location_capacity_set(
        location=stock_selectors.location_by_code(code),
        service=payload.service,
        daily_capacity=payload.daily_capacity,
        opens_at=payload.opens_at,
        closes_at=payload.closes_at,
        actor=user,
        source="api",
    )


# --------------------------------------------------------------------------- the audit


class ChangeQuery(QuerySchema):
    kind: Annotated[str, Field(max_length=32)] | None = None
    target: Annotated[str, Field(max_length=128)] | None = None  # the target starts with it
    limit: Annotated[int, Field(ge=1, le=MAX_ROWS)] = 100


@router.get("/routing/changes", response={200: list[ConfigChangeOut], **ERRORS})
def routing_changes(request: HttpRequest, query: Query[ChangeQuery]) -> list[ConfigChange]:
    """Who changed which routing setting, when, from what to what; newest first."""
    _planner(request)
    changes = ConfigChange.objects.select_related("actor")
    if query.kind:
        changes = changes.filter(kind=query.kind)
    if query.target:
        changes = changes.filter(target__startswith=query.target)
    return list(changes[: query.limit])
