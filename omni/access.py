"""Roles and location scoping. Every read and write of stock goes through these helpers, so a
user outside a location gets the same 404 as for a location that does not exist."""

from __future__ import annotations

from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .errors import NotFound, RoleNotAllowed
from .models import Role, User

M = TypeVar("M", bound=Model)


def current_user(request: HttpRequest) -> User:
    user = getattr(request, "auth", None) or request.user
    assert isinstance(user, User)
    return user


def reads_everything(user: User) -> bool:
    return user.is_admin_role or user.role == Role.PLANNER


def scope_to_locations(user: User, queryset: QuerySet[M], *fields: str) -> QuerySet[M]:
    """Keep only the rows whose ``fields`` (location foreign keys) include one of the user's
    locations. Admins and planners see everything."""
    if reads_everything(user):
        return queryset
    ids = user.location_ids()
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__in": ids})
    return queryset.filter(condition)


def require_read(user: User, location_id: int, *, what: str = "location") -> None:
    if not reads_everything(user) and not user.works_at(location_id):
        if what == "location":
            raise NotFound(_("no such location"))
        raise NotFound.saying(_("no such %(what)s"), what=what)


def require_stock_write(user: User, location_id: int, *, what: str = "location") -> None:
    """Moving or holding stock at a location: admins anywhere, staff at their own locations.
    Planners plan; they move no stock directly."""
    if user.is_admin_role:
        return
    if user.role in (Role.WAREHOUSE, Role.STORE) and user.works_at(location_id):
        return
    require_read(user, location_id, what=what)
    raise RoleNotAllowed(user, _("the %(role)s role cannot move stock"))


def require_admin(user: User) -> None:
    if not user.is_admin_role:
        raise RoleNotAllowed(user, _("administrators only"))
