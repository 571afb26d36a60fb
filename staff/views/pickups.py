"""Store pickups: the handover box (scan the customer's QR code, hand over once), its fallback
(the six-digit short code typed with the order number or the phone's last four digits), and
the store's queue — to prepare, being picked, ready on the pickup shelf.

The code page shows what the customer has on their phone: the QR picture and its token, for
the store's own staff and administrators only (a demo, a customer whose phone died).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fulfillment import short_codes
from fulfillment.api import REDEEM_LIMIT_GROUP
from fulfillment.errors import PickupCodeRefused
from fulfillment.models import PickupCode
from fulfillment.qr import qr_svg
from fulfillment.selectors import PickupProgress, pickup_progress, pickup_queue
from fulfillment.services import (
    pickup_mark_ready,
    pickup_prepare,
    pickup_redeem,
    pickup_redeem_short_code,
    pickup_short_code,
    pickup_token,
)
from omni.errors import ApplicationError, InvalidInput, NotFound
from omni.limits import RateLimited, attempt_refused, attempts_check
from omni.models import Role
from orders.models import Order, OrderLine, OrderStatus
from orders.selectors import order_visible
from staff.messages import staff_message
from staff.views.common import COUNTER_ROLES, Notice, ScanInput, Staff, render_page, staff_page
from staff.views.picking import work_at
from staff.views.routing import store_capacity_today

TOKEN_FIELD_LENGTH = 1024  # far above a real token; the service says what is wrong with it


class HandoverForm(forms.Form):
    code = forms.CharField(
        label=_("Scan the customer's pickup code"),
        max_length=TOKEN_FIELD_LENGTH,
        widget=ScanInput(),
    )


class ShortCodeForm(forms.Form):
    """The fallback when the customer's phone cannot be scanned."""

    short_code = forms.CharField(
        label=_("Short code (6 digits)"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "123 456"}
        ),
    )
    order = forms.CharField(
        label=_("Order number"),
        max_length=64,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone_last4 = forms.CharField(
        label=_("or the phone's last 4 digits"),
        max_length=8,
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "placeholder": "1234"}
        ),
    )


@dataclass(frozen=True)
class Handover:
    """The answer to one scanned code, shown big: hand over, or do not."""

    ok: bool
    message: str
    code: str = ""
    advice: str = ""
    order: Order | None = None
    lines: list[OrderLine] = field(default_factory=list)


@dataclass
class QueueEntry:
    order: Order
    progress: PickupProgress
    expires_at: Any = None  # when the pickup code runs out (ready orders)


def _queue(staff: Staff) -> dict[str, list[QueueEntry]]:
    assert staff.location is not None
    orders = list(
        pickup_queue(user=staff.user, store_id=staff.location.pk).select_related("pickup_code")
    )
    progress = pickup_progress(orders, staff.location)
    groups: dict[str, list[QueueEntry]] = {"prepare": [], "picking": [], "ready": []}
    for order in orders:
        entry = QueueEntry(order=order, progress=progress[order.pk])
        if order.status == OrderStatus.READY_FOR_PICKUP:
            code = getattr(order, "pickup_code", None)
            entry.expires_at = code.expires_at if code is not None else None
            groups["ready"].append(entry)
        elif order.status == OrderStatus.PROCESSING:
            groups["picking"].append(entry)
        else:
            groups["prepare"].append(entry)
    return groups


def _render(
    request: HttpRequest,
    staff: Staff,
    *,
    notice: Notice | None = None,
    handover: Handover | None = None,
    short_form: ShortCodeForm | None = None,
) -> HttpResponse:
    return render_page(
        request,
        staff,
        page="staff/pickups.html",
        panel="staff/_pickups_panel.html",
        context={
            "form": HandoverForm(),
            "short_form": short_form or ShortCodeForm(),
            "groups": _queue(staff),
            "notice": notice,
            "handover": handover,
            "now": timezone.now(),
            # The page's head line; an htmx answer swaps only the queue below it.
            "store_capacity": (
                [] if getattr(request, "htmx", False) else store_capacity_today(staff.location)
            ),
        },
    )


def _queued_order(staff: Staff, order_id: int) -> Order:
    """A pickup waiting at the store the user works at on this page; anything else is a 404."""
    assert staff.location is not None
    order = pickup_queue(user=staff.user, store_id=staff.location.pk).filter(pk=order_id).first()
    if order is None:
        raise Http404("no such pickup here")
    return order


@staff_page("pickups", roles=COUNTER_ROLES)
def pickups(request: HttpRequest, staff: Staff) -> HttpResponse:
    return _render(request, staff)


@require_POST
@staff_page("pickups", roles=COUNTER_ROLES)
def handover(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The clerk scanned (or typed) the customer's code: hand over, once, or refuse."""
    store = staff.require_write()
    form = HandoverForm(request.POST)
    if not form.is_valid():
        if not request.POST.get("code", "").strip():
            return _render(request, staff)  # Enter in an empty box: nothing to say
        problem = InvalidInput(" ".join(str(e) for e in form.errors.get("code", [])))
        return _render(
            request,
            staff,
            handover=Handover(ok=False, message=staff_message(problem), code=problem.code),
        )
    return _hand_over(
        request,
        staff,
        lambda: pickup_redeem(token=form.cleaned_data["code"], store=store, actor=staff.user),
    )


@require_POST
@staff_page("pickups", roles=COUNTER_ROLES)
def handover_short_code(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The customer's phone cannot be scanned: hand over against the short code they read out,
    with the order number or their phone's last four digits."""
    store = staff.require_write()
    form = ShortCodeForm(request.POST)
    if not form.is_valid():
        return _render(request, staff, short_form=form)
    data = form.cleaned_data
    return _hand_over(
        request,
        staff,
        lambda: pickup_redeem_short_code(
            short_code=data["short_code"],
            store=store,
            order=data["order"],
            phone_last4=data["phone_last4"],
            actor=staff.user,
        ),
        short_form=form,
    )


def _hand_over(
    request: HttpRequest,
    staff: Staff,
    redeem: Callable[[], Order],
    *,
    short_form: ShortCodeForm | None = None,
) -> HttpResponse:
    """Run one hand-over (QR or short code) under the per-user limit of refused codes and show
    the verdict; a refused short code keeps what was typed, for the clerk to correct."""
    rate = settings.OMNI_PICKUP_REDEEM_FAILURES_RATE
    try:
        attempts_check(request, group=REDEEM_LIMIT_GROUP, rate=rate)
    except RateLimited as limited:
        result = Handover(ok=False, message=staff_message(limited), code=str(limited.code))
        response = _render(request, staff, handover=result, short_form=short_form)
        response.status_code = 429
        response["Retry-After"] = str(limited.retry_after)
        return response
    try:
        order = redeem()
    except ApplicationError as exc:
        if isinstance(exc, PickupCodeRefused):
            attempt_refused(request, group=REDEEM_LIMIT_GROUP, rate=rate)
        # The sentence says what to do (``staff.messages``); the code is for support only.
        result = Handover(ok=False, message=staff_message(exc), code=str(exc.code))
        response = _render(request, staff, handover=result, short_form=short_form)
        if isinstance(exc, RateLimited):
            response.status_code = 429
            response["Retry-After"] = str(exc.retry_after)
        return response
    lines = list(order.lines.select_related("product"))
    items = ", ".join(f"{ln.quantity} × {ln.product.sku} {ln.product.name}" for ln in lines)
    result = Handover(
        ok=True,
        message=gettext("Hand over order %(order)s: %(items)s")
        % {"order": order.pk, "items": items},
        order=order,
        lines=lines,
    )
    return _render(request, staff, handover=result, short_form=ShortCodeForm())


@require_POST
@staff_page("pickups", roles=COUNTER_ROLES)
def prepare(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    """Start preparing a pickup: its pick list, then straight to picking it."""
    staff.require_write()
    order = _queued_order(staff, order_id)
    try:
        pick_list = pickup_prepare(order=order, actor=staff.user)
    except ApplicationError as exc:
        return _render(request, staff, notice=Notice.failure(exc))
    return redirect(reverse("staff:pick-list", args=[pick_list.pk]) + staff.at_query)


@require_POST
@staff_page("pickups", roles=COUNTER_ROLES)
def mark_ready(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    """Everything is on the pickup shelf: the customer gets their code."""
    staff.require_write()
    order = _queued_order(staff, order_id)
    try:
        code = pickup_mark_ready(order=order, actor=staff.user)
    except ApplicationError as exc:
        return _render(request, staff, notice=Notice.failure(exc))
    notice = Notice.success(
        gettext(
            "Order %(order)s is ready for pickup. The customer was sent their code,"
            " valid until %(until)s."
        )
        % {
            "order": order.pk,
            "until": timezone.localtime(code.expires_at).strftime("%Y-%m-%d %H:%M"),
        }
    )
    return _render(request, staff, notice=notice)


@staff_page("pickups", roles=COUNTER_ROLES)
def pickup_code(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    """The customer's QR code and its token: for the store's staff and administrators."""
    try:
        order = order_visible(staff.user, order_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    store_id = order.pickup_store_id
    allowed = store_id is not None and (
        staff.user.is_admin_role or (staff.role == Role.STORE and staff.user.works_at(store_id))
    )
    code = PickupCode.objects.select_related("store").filter(order=order).first()
    if not allowed or code is None:
        raise Http404("no pickup code for you here")
    work_at(staff, code.store)
    token = pickup_token(code)
    picture = qr_svg(token, scale=5)  # segno draws the SVG; nothing in it comes from a user
    return render(
        request,
        "staff/pickup_code.html",
        {
            "staff": staff,
            "order": order,
            "code": code,
            "token": token,
            "short_code": short_codes.spaced(digits) if (digits := pickup_short_code(code)) else "",
            "qr": mark_safe(picture),
            "expired": code.expires_at <= timezone.now(),
        },
    )
