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
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Status

from omni.access import current_user, reads_everything
from omni.errors import RoleNotAllowed
from omni.models import Role, User
from omni.schemas import QuerySchema
from omni.selectors import city_by_code, city_today

from . import selectors
from .schemas import (
    CapacityOut,
    RetryIn,
    RetryOut,
    RoutingExplainOut,
    Slug,
    WaitingOut,
)
from .tasks import orders_route_waiting_task

router = Router(tags=["routing"])

MAX_ROWS = 500


def _planner(request: HttpRequest) -> User:
    user = current_user(request)
    if not reads_everything(user):
        raise RoleNotAllowed(user, _("routing settings are for planners and administrators"))
    return user


# --------------------------------------------------------------------------- capacity and hours


class CapacityQuery(QuerySchema):
    city: Slug
    day: date | None = None  # default: today in the city


@router.get("/routing/capacity", response=CapacityOut)
def routing_capacity(request: HttpRequest, query: Query[CapacityQuery]) -> dict[str, Any]:
    """Orders a day each live location takes per service, used and left, and pickup hours.
    Staff see their own locations only."""
    user = current_user(request)
    if user.role == Role.CHANNEL:
        raise RoleNotAllowed(user, _("capacity is for staff"))
    city = city_by_code(query.city)
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


# --------------------------------------------------------------------------- the waiting queue


class WaitingQuery(QuerySchema):
    city: Slug | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_ROWS)] = 200


@router.get("/orders/waiting", response=WaitingOut)
def orders_waiting(request: HttpRequest, query: Query[WaitingQuery]) -> dict[str, Any]:
    """Orders waiting for stock in the order they are served, with what each still misses
    and its value; totals over the whole queue the caller may see."""
    user = current_user(request)
    city = city_by_code(query.city) if query.city else None
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


@router.get("/orders/{order_id}/routing", response=RoutingExplainOut)
def order_routing(request: HttpRequest, order_id: int) -> dict[str, Any]:
    """Every routing decision of the order: the profile version, the rules, each candidate
    node and why it was used or skipped."""
    return selectors.routing_explain(selectors.order_visible(current_user(request), order_id))


@router.post("/routing/retry", response={202: RetryOut})
def routing_retry(request: HttpRequest, payload: RetryIn | None = None) -> Status:
    """Route the waiting orders again now (the city's, or every city's) rather than at the
    next stock arrival. With a broker the run is queued; without one it ran in this request
    and its counts come back."""
    _planner(request)
    city = city_by_code(payload.city) if payload and payload.city else None
    result = orders_route_waiting_task.delay(city_id=city.pk if city else None)
    report = result.get() if isinstance(result, EagerResult) else None
    return Status(202, {"queued": True, "city": city.code if city else None, "report": report})
