"""The routing router: channel buffers, routing profiles, daily capacity and pickup hours, the
waiting queue, why an order went where it went, the audit of setting changes, and a retry of
the waiting orders. Thin: validate, check access, call one service or selector, map the result.

Settings are for planners and administrators; every change is made by an ``omni.services``
function with ``source="api"`` and the caller as actor, which writes the audit row. Reads of
orders are scoped like every order read (a channel its own, staff their locations').

Mounted before the orders router, so ``/orders/waiting`` is never read as an order id. No
``from __future__ import annotations``: ninja reads the annotations.
"""

from datetime import date
from typing import Annotated, Any

from celery.result import EagerResult
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from inventory import selectors as stock_selectors
from omni import services as settings_services
from omni.access import current_user, reads_everything
from omni.errors import RoleNotAllowed
from omni.idempotency import idempotent
from omni.models import (
    Channel,
    ConfigChange,
    LocationService,
    Role,
    RoutingProfile,
    RoutingProfileStatus,
    User,
)
from omni.pagination import CursorPagination
from omni.schemas import ErrorOut, QuerySchema
from omni.selectors import city_today

from . import selectors
from .errors import UnknownRoutingProfile
from .schemas import (
    CapacityOut,
    ChannelBufferIn,
    ChannelBuffersOut,
    ConfigChangeOut,
    LocationCapacityIn,
    LocationCapacityOut,
    RetryIn,
    RetryOut,
    RoutingExplainOut,
    RoutingProfileIn,
    RoutingProfileOut,
    Slug,
    WaitingOut,
)
from .tasks import orders_route_waiting_task

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
    return _buffers(selectors.channel_by_code(code))


@router.put("/channels/{code}/buffers", response={200: ChannelBuffersOut, **ERRORS})
def channel_buffer_set(request: HttpRequest, code: str, payload: ChannelBufferIn) -> dict[str, Any]:
    """Set one buffer (``location`` null: the channel's default); ``units`` null removes it.
    The next order sees it."""
    user = _planner(request)
    channel = selectors.channel_by_code(code)
    location = (
        stock_selectors.location_by_code(payload.location) if payload.location is not None else None
    )
    settings_services.channel_buffer_set(
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
    profile = _profiles().filter(pk=profile_id).first()
    if profile is None:
        raise UnknownRoutingProfile(profile_id)
    return profile


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
    profile = settings_services.routing_profile_create(
        channel=selectors.channel_by_code(payload.channel),
        city=selectors.city_by_code(payload.city) if payload.city else None,
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
    settings_services.routing_profile_activate(
        profile=_profile(profile_id), actor=user, source="api"
    )
    return _profile(profile_id)


@router.post(
    "/routing/profiles/{profile_id}/deactivate", response={200: RoutingProfileOut, **ERRORS}
)
@decorate_view(idempotent)
def routing_profile_deactivate(request: HttpRequest, profile_id: int) -> RoutingProfile:
    """Retire the active version: the channel routes by the default rules again."""
    user = _planner(request)
    settings_services.routing_profile_deactivate(
        profile=_profile(profile_id), actor=user, source="api"
    )
    return _profile(profile_id)


# --------------------------------------------------------------------------- capacity and hours


class CapacityQuery(QuerySchema):
    city: Slug
    day: date | None = None  # default: today in the city


@router.get("/routing/capacity", response={200: CapacityOut, **ERRORS})
def routing_capacity(request: HttpRequest, query: Query[CapacityQuery]) -> dict[str, Any]:
    """Orders a day each live location takes per service, used and left, and pickup hours.
    Staff see their own locations only."""
    user = current_user(request)
    if user.role == Role.CHANNEL:
        raise RoleNotAllowed(user, _("capacity is for staff"))
    city = selectors.city_by_code(query.city)
    day = query.day or city_today(city)
    rows = selectors.capacity_overview(
        city=city,
        day=day,
        location_ids=None if reads_everything(user) else sorted(user.location_ids()),
    )
    return {
        "city": city.code,
        "day": day,
        "rows": [
            {
                "location": row.location.code,
                "service": row.service,
                "limit": row.limit,
                "used": row.used,
                "left": row.left,
                "opens_at": row.opens_at,
                "closes_at": row.closes_at,
            }
            for row in rows
        ],
    }


@router.put("/locations/{code}/capacity", response={200: LocationCapacityOut, **ERRORS})
def location_capacity_set(
    request: HttpRequest, code: str, payload: LocationCapacityIn
) -> LocationService:
    """Set a location's daily capacity for a service and, for pickups, its opening hours."""
    user = _planner(request)
    return settings_services.location_capacity_set(
        location=stock_selectors.location_by_code(code),
        service=payload.service,
        daily_capacity=payload.daily_capacity,
        opens_at=payload.opens_at,
        closes_at=payload.closes_at,
        actor=user,
        source="api",
    )


# --------------------------------------------------------------------------- the waiting queue


class WaitingQuery(QuerySchema):
    city: Slug | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_ROWS)] = 200


@router.get("/orders/waiting", response={200: WaitingOut, **ERRORS})
def orders_waiting(request: HttpRequest, query: Query[WaitingQuery]) -> dict[str, Any]:
    """Orders waiting for stock in the order they are served, with what each still misses
    and its value; totals over the whole queue the caller may see."""
    user = current_user(request)
    city = selectors.city_by_code(query.city) if query.city else None
    summary = selectors.waiting_summary(user=user, city=city, limit=query.limit)
    return {
        "count": summary.count,
        "parked": summary.parked,
        "backordered": summary.backordered,
        "units": summary.units,
        "value": summary.value,
        "orders": [
            {
                "position": row.position,
                "order": row.order.pk,
                "external_id": row.order.external_id,
                "channel": row.order.channel.code,
                "city": row.order.city.code,
                "mode": row.order.mode,
                "status": row.order.status,
                "reason": row.order.sourcing_reason,
                "waiting_since": row.order.waiting_since,
                "promised_at": row.order.promised_at,
                "missing_units": row.missing_units,
                "missing_value": row.missing_value,
            }
            for row in summary.orders
        ],
    }


@router.get("/orders/{order_id}/routing", response={200: RoutingExplainOut, **ERRORS})
def order_routing(request: HttpRequest, order_id: int) -> dict[str, Any]:
    """Every routing decision of the order: the profile version, the rules, each candidate
    node and why it was used or skipped."""
    return selectors.routing_explain(selectors.order_visible(current_user(request), order_id))


@router.post("/routing/retry", response={202: RetryOut, **ERRORS})
def routing_retry(request: HttpRequest, payload: RetryIn | None = None) -> Status:
    """Route the waiting orders again now (the city's, or every city's) rather than at the
    next stock arrival. With a broker the run is queued; without one it ran in this request
    and its counts come back."""
    _planner(request)
    city = selectors.city_by_code(payload.city) if payload and payload.city else None
    result = orders_route_waiting_task.delay(city_id=city.pk if city else None)
    report = result.get() if isinstance(result, EagerResult) else None
    return Status(202, {"queued": True, "city": city.code if city else None, "report": report})


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
