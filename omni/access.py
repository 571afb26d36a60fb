"""Roles and scope. Every object an endpoint touches, named in its path, its query or its body,
is resolved within what the caller may see (``visible_one``/``visible_all`` over a queryset the
owning app's selector has scoped), so "not yours" and "does not exist" are one answer: the same
404, whose body names the kind of object and nothing else (not the id, not whether it exists).
Only then may a role check refuse (403: the caller can read it, so that tells nothing new) or a
validation of the object's contents answer (409/422)."""

from __future__ import annotations

from collections.abc import Callable, Collection
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


def visible_one(objects: QuerySet[M], not_found: Callable[[], NotFound], **lookup: object) -> M:
    """The one object of ``objects`` matching ``lookup``, else ``not_found()``. ``objects`` is
    already scoped to the caller, so an object outside it is answered exactly like a missing
    one; ``not_found`` builds an error whose body does not depend on the lookup."""
    found = objects.filter(**lookup).first()
    if found is None:
        raise not_found()
    return found


def visible_all(
    objects: QuerySet[M], ids: Collection[object], not_found: Callable[[], NotFound]
) -> list[M]:
    """Every object of ``objects`` (scoped to the caller) whose primary key is in ``ids``, or
    ``not_found()`` if any is missing or not the caller's: one unseen id refuses the lot, with
    no hint which."""
    wanted = set(ids)
    found = list(objects.filter(pk__in=wanted))
    if len({obj.pk for obj in found}) != len(wanted):
        raise not_found()
    return found


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


def runs_campaigns(user: User) -> bool:
    """Marketing runs campaigns and sees members; planners and admins may too."""
    return user.is_admin_role or user.role in (Role.MARKETING, Role.PLANNER)


def require_marketing(user: User) -> None:
    if not runs_campaigns(user):
        raise RoleNotAllowed(user, _("the %(role)s role cannot manage campaigns or members"))


def require_counter(user: User, location_id: int) -> None:
    """Redeeming coupons and signing up members at a store's counter: its own store staff,
    and admins anywhere."""
    if user.is_admin_role:
        return
    if user.role == Role.STORE and user.works_at(location_id):
        return
    require_read(user, location_id, what="store")
    raise RoleNotAllowed(user, _("the %(role)s role does not work this store's counter"))
