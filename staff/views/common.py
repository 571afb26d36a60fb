"""What every staff page shares: who is asking, at which location, and how a page answers.

A staff page needs a login and a staff role (the ``channel`` role has none: 403). It works at
one of the user's locations, picked with ``?at=CODE`` (default: the first); a location outside
the user's reach answers 404, exactly as the API does. Errors of the services are shown in the
page as a sentence for people (``staff.messages``; the code only as a data attribute for
support), never turned into a 500.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import wraps
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget
from django_htmx.middleware import HtmxDetails

from inventory.errors import UnknownProduct
from inventory.models import PHYSICAL_KINDS, Location, Product
from omni.access import reads_everything, require_stock_write
from omni.errors import ApplicationError, InvalidInput, NotFound, PermissionDenied
from omni.models import Role, User
from staff.messages import staff_message

STAFF_ROLES = frozenset({Role.WAREHOUSE, Role.STORE, Role.PLANNER, Role.MARKETING, Role.ADMIN})
STOCK_ROLES = frozenset({Role.WAREHOUSE, Role.STORE, Role.ADMIN})  # move stock
COUNTER_ROLES = frozenset({Role.STORE, Role.ADMIN})  # serve customers at a store counter
MARKETING_ROLES = frozenset({Role.MARKETING, Role.PLANNER, Role.ADMIN})  # campaigns, members

ROLE_LABELS = {
    Role.WAREHOUSE: _("Warehouse staff"),
    Role.STORE: _("Store staff"),
    Role.PLANNER: _("Planner"),
    Role.MARKETING: _("Marketing"),
    Role.ADMIN: _("Administrator"),
}


class HtmxHttpRequest(HttpRequest):
    """A request that went through ``HtmxMiddleware`` (for the type checker)."""

    htmx: HtmxDetails


@dataclass
class Staff:
    """The user of a staff page, their effective role and where they are working."""

    user: User
    role: str
    page: str = "home"  # the page's URL name: the nav marks it, the pickers come back to it
    locations: list[Location] = field(default_factory=list)  # the location picker's choices
    location: Location | None = None
    url: str = ""  # a page outside the ``staff:`` namespace (planners' pages): its own path

    @property
    def page_url(self) -> str:
        """Where the layout's location picker and language switch come back to."""
        return self.url or reverse(f"staff:{self.page}")

    @property
    def role_label(self) -> str:
        label = ROLE_LABELS.get(Role(self.role)) if self.role in Role.values else None
        return str(label or self.role)

    @property
    def home_locations(self) -> list[Location]:
        """The locations the user works at (admins and planners may have none)."""
        return [loc for loc in self.locations if self.user.works_at(loc.pk)]

    @property
    def at_query(self) -> str:
        """``?at=CODE`` for links and forms, so the picked location follows the user."""
        return f"?at={quote(self.location.code)}" if self.location else ""

    @property
    def moves_stock(self) -> bool:
        return self.role in STOCK_ROLES

    @property
    def serves_counter(self) -> bool:
        return self.role in COUNTER_ROLES

    @property
    def reads_everything(self) -> bool:
        return reads_everything(self.user)

    @property
    def reads_campaigns(self) -> bool:
        """Campaigns, their effect and the members lookup: marketing, planners, admins."""
        return self.role in MARKETING_ROLES

    def require_write(self) -> Location:
        """The location, once ``require_stock_write`` allows moving stock there: call it before
        every write. A planner gets 403; a location outside the user's reach 404."""
        if self.location is None:
            raise DjangoPermissionDenied("no location")
        try:
            require_stock_write(self.user, self.location.pk)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc
        return self.location


@dataclass(frozen=True)
class Notice:
    """The result of one scan or submission, shown in the page's message area: ``message`` is
    what the person reads; ``code`` (a failure's error code) goes only into ``data-code``."""

    ok: bool
    message: str
    code: str = ""
    extra: str = ""

    @classmethod
    def success(cls, message: str, extra: str = "") -> Notice:
        return cls(ok=True, message=message, extra=extra)

    @classmethod
    def failure(cls, exc: ApplicationError, extra: str = "") -> Notice:
        return cls(ok=False, message=staff_message(exc), code=str(exc.code), extra=extra)


class ScanInput(forms.TextInput):
    """The one input of a page a keyboard-wedge scanner types into (it ends with Enter)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {
                "data-scan": "",
                "autofocus": "",
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "enterkeyhint": "go",
                "class": "scan",
                **(attrs or {}),
            }
        )


def focus_field(form: forms.Form, name: str | None = None) -> None:
    """Put the cursor on ``name`` (default: the first field with an error) instead of the scan
    input: the script in base.html focuses ``[data-focus]`` before ``[data-scan]``."""
    if name is None:
        name = next((n for n in form.fields if n in form.errors), None)
    if name is None:
        return
    for each in form.fields.values():
        each.widget.attrs.pop("autofocus", None)
        each.widget.attrs.pop("data-focus", None)
    form.fields[name].widget.attrs.update({"autofocus": "", "data-focus": ""})


def product_by_code(code: str) -> Product:
    """The product a scanned or typed code names: its barcode first, then its SKU."""
    code = code.strip()
    if not code:
        raise InvalidInput(_("scan or type a SKU or barcode"), detail={"field": "code"})
    product = (
        Product.objects.filter(barcode=code).first()
        or Product.objects.filter(sku=code).first()
        or Product.objects.filter(sku__iexact=code).first()
    )
    if product is None:
        raise UnknownProduct(scanned=code)
    return product


# --------------------------------------------------------------------------- access


def location_choices(user: User) -> list[Location]:
    """Where the user may work on a page: their own locations; for admins and planners every
    active stock-holding location, their own first."""
    own = list(
        user.locations.filter(kind__in=PHYSICAL_KINDS, active=True)
        .select_related("city")
        .order_by("code")
    )
    if not reads_everything(user):
        return own
    others = (
        Location.objects.filter(kind__in=PHYSICAL_KINDS, active=True)
        .exclude(pk__in=[loc.pk for loc in own])
        .select_related("city")
        .order_by("code")
    )
    return own + list(others)


def pick_location(choices: list[Location], code: str | None) -> Location | None:
    if not code:
        return choices[0] if choices else None
    for location in choices:
        if location.code == code:
            return location
    raise Http404("no such location")


def problem_page(
    request: HttpRequest, staff: Staff | None, status: int, message: str
) -> HttpResponse:
    """A 403 or 404 in the staff layout; to an htmx request only the message, swapped in place
    of the page's content (base.html lets htmx swap 4xx answers)."""
    context = {"staff": staff, "status": status, "message": message}
    if getattr(request, "htmx", False):
        response = render(request, "staff/_problem.html", context, status=status)
        return reswap(retarget(response, "#content"), "innerHTML")
    return render(request, "staff/problem.html", context, status=status)


def render_page(
    request: HttpRequest,
    staff: Staff,
    *,
    page: str,
    panel: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only the panel an htmx request swaps."""
    template = panel if getattr(request, "htmx", False) else page
    return render(request, template, {"staff": staff, **context}, status=status)


StaffView = Callable[..., HttpResponse]


def staff_page(
    page: str, *, roles: frozenset[str] = STAFF_ROLES, needs_location: bool = True
) -> Callable[[StaffView], Callable[..., HttpResponse]]:
    """Login, role and location for a staff view of the nav entry ``page`` (a URL name), which
    is called as ``view(request, staff, *args, **kwargs)``."""

    def decorate(view: StaffView) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if getattr(request, "htmx", False):
                    # A session that ran out mid-scan: reload the whole page at the login.
                    login = redirect_to_login(request.get_full_path())
                    return HttpResponseClientRedirect(login["Location"])
                return redirect_to_login(request.get_full_path())
            user = request.user
            assert isinstance(user, User)
            role = Role.ADMIN if user.is_admin_role else user.role
            if role not in STAFF_ROLES:
                return problem_page(request, None, 403, str(_("These pages are for staff.")))
            choices = location_choices(user)
            try:
                location = pick_location(choices, request.GET.get("at"))
            except Http404:
                return problem_page(request, None, 404, str(_("No such location.")))
            staff = Staff(user=user, role=role, page=page, locations=choices, location=location)
            if role not in roles:
                message = str(_("Your role cannot use this page."))
                return problem_page(request, staff, 403, message)
            if needs_location and location is None:
                message = str(_("You work at no location yet: ask an administrator."))
                return problem_page(request, staff, 403, message)
            zone = (
                zoneinfo.ZoneInfo(location.city.timezone)
                if location is not None and location.city is not None
                else timezone.get_current_timezone()
            )
            try:
                with timezone.override(zone):
                    return view(request, staff, *args, **kwargs)
            except Http404:
                return problem_page(request, staff, 404, str(_("Not found here.")))
            except DjangoPermissionDenied:
                return problem_page(request, staff, 403, str(_("Your role cannot do this.")))

        return wrapper

    return decorate


PLANNER_ROLES = frozenset({Role.PLANNER, Role.ADMIN})


def planner_page(nav: str) -> Callable[[StaffView], Callable[..., HttpResponse]]:
    """``staff_page`` for the planners' pages (planners and admins, no location needed), whose
    nav entry is ``nav``; the view is called as ``view(request, staff, ...)``."""

    def decorate(view: StaffView) -> Callable[..., HttpResponse]:
        # The guard's own 403/404 pages render the layout with its Staff, whose page must be a
        # ``staff:`` URL name: "home" there, ``nav`` once inside.
        @staff_page("home", roles=PLANNER_ROLES, needs_location=False)
        @wraps(view)
        def wrapper(request: HttpRequest, staff: Staff, *args: Any, **kwargs: Any) -> HttpResponse:
            staff = replace(staff, page=nav, url=request.path)
            return view(request, staff, *args, **kwargs)

        return wrapper

    return decorate


def marketing_page(nav: str) -> Callable[[StaffView], Callable[..., HttpResponse]]:
    """``staff_page`` for the campaign and member pages (marketing, planners and admins, no
    location needed), whose nav entry is ``nav``, as ``planner_page`` does for planners."""

    def decorate(view: StaffView) -> Callable[..., HttpResponse]:
        @staff_page("home", roles=MARKETING_ROLES, needs_location=False)
        @wraps(view)
        def wrapper(request: HttpRequest, staff: Staff, *args: Any, **kwargs: Any) -> HttpResponse:
            staff = replace(staff, page=nav, url=request.path)
            return view(request, staff, *args, **kwargs)

        return wrapper

    return decorate
