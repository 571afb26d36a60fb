"""Picking: the pick lists of a location, a wave of everything waiting there, scan-to-pick with
one scan box, short picks, and a pick list to print.

Warehouse and store staff pick the same way (a store picks its pickups and ship-from-store
orders). Planners see the lists and pick nothing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fulfillment.models import PickLineStatus, PickList, PickListStatus
from fulfillment.selectors import (
    pick_lines,
    pick_list_list,
    pick_list_summaries,
    pick_list_visible,
    waiting_to_pick,
)
from fulfillment.services import pick_line_short, pick_list_scan, pick_wave_create
from inventory.models import Location
from inventory.services import MAX_LINE_QUANTITY
from omni.errors import ApplicationError, InvalidInput, NotFound
from orders.models import OrderMode, OrderStatus
from staff.views.common import Notice, ScanInput, Staff, render_page, staff_page

RECENT_DONE = 10

# The models' status labels are English only; the pages show these.
PICK_LINE_STATUS_LABELS = {
    PickLineStatus.OPEN: _("To pick"),
    PickLineStatus.PICKED: _("Picked"),
    PickLineStatus.SHORT: _("Short"),
}
ORDER_MODE_LABELS = {
    OrderMode.DELIVERY: _("delivery"),
    OrderMode.PICKUP: _("pickup"),
    OrderMode.STORE_SALE: _("store sale"),
}
ORDER_STATUS_LABELS = {
    OrderStatus.RESERVED: _("reserved"),
    OrderStatus.BACKORDERED: _("backordered"),
    OrderStatus.PROCESSING: _("being picked or packed"),
    OrderStatus.READY_FOR_PICKUP: _("ready for pickup"),
    OrderStatus.PARTIALLY_SHIPPED: _("partially shipped"),
    OrderStatus.SHIPPED: _("shipped"),
    OrderStatus.COMPLETED: _("completed"),
    OrderStatus.CANCELLED: _("cancelled"),
    OrderStatus.EXPIRED: _("expired"),
}


def order_status_label(status: str) -> str:
    label = ORDER_STATUS_LABELS.get(OrderStatus(status)) if status in OrderStatus.values else None
    return str(label or status)


def work_at(staff: Staff, location: Location) -> None:
    """A page about one thing (a pick list, a pickup) works where that thing is, whatever
    ``?at=`` said, as long as the user may work there."""
    if staff.location == location:
        return
    if location not in staff.locations:
        raise Http404("not at one of your locations")
    staff.location = location


def visible_pick_list(staff: Staff, pick_list_id: int) -> PickList:
    try:
        pick_list = pick_list_visible(staff.user, pick_list_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    work_at(staff, pick_list.location)
    return pick_list


# --------------------------------------------------------------------------- the lists


def _render_lists(request: HttpRequest, staff: Staff, notice: Notice | None = None) -> HttpResponse:
    assert staff.location is not None
    lists = pick_list_list(user=staff.user, location=staff.location.code)
    open_lists = pick_list_summaries(lists.filter(status=PickListStatus.OPEN))
    done_lists = pick_list_summaries(lists.filter(status=PickListStatus.DONE)[:RECENT_DONE])
    return render(
        request,
        "staff/picking.html",
        {
            "staff": staff,
            "notice": notice,
            "open_lists": open_lists,
            "done_lists": done_lists,
            "waiting": waiting_to_pick(staff.location),
        },
    )


@staff_page("picking")
def picking(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The location's open and recent pick lists; POST starts a wave of everything waiting."""
    if request.method != "POST":
        return _render_lists(request, staff)
    location = staff.require_write()
    try:
        pick_list = pick_wave_create(location=location, actor=staff.user)
    except ApplicationError as exc:
        return _render_lists(request, staff, Notice.failure(exc))
    return redirect(reverse("staff:pick-list", args=[pick_list.pk]) + staff.at_query)


# --------------------------------------------------------------------------- scan to pick


class ScanForm(forms.Form):
    code = forms.CharField(
        label=_("Scan an item or type its SKU"), max_length=64, widget=ScanInput()
    )
    quantity = forms.IntegerField(
        label=_("Units"),
        min_value=1,
        max_value=MAX_LINE_QUANTITY,
        initial=1,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty"}),
    )


class ShortForm(forms.Form):
    found = forms.IntegerField(label=_("Found"), min_value=0, max_value=MAX_LINE_QUANTITY)


def _form_problem(form: forms.Form) -> InvalidInput:
    """A form error as the page's message: the scan form stays in place under htmx."""
    messages = [str(error) for errors in form.errors.values() for error in errors]
    return InvalidInput(" ".join(messages), detail={"fields": sorted(form.errors)})


def _render_pick(
    request: HttpRequest,
    staff: Staff,
    pick_list: PickList,
    *,
    notice: Notice | None = None,
    touched: int | None = None,
) -> HttpResponse:
    pick_list.refresh_from_db()
    lines = pick_lines(pick_list)
    rows = [
        {
            "line": line,
            "status_label": PICK_LINE_STATUS_LABELS.get(PickLineStatus(line.status), line.status),
            "order": line.allocation.line.order if line.allocation else None,
            "mode_label": (
                ORDER_MODE_LABELS.get(OrderMode(line.allocation.line.order.mode), "")
                if line.allocation
                else ""
            ),
        }
        for line in lines
    ]
    modes = {ln.allocation.line.order.mode for ln in lines if ln.allocation}
    units = sum(ln.quantity for ln in lines)
    picked = sum(ln.picked for ln in lines)
    return render_page(
        request,
        staff,
        page="staff/pick_list.html",
        panel="staff/_pick_lines.html",
        context={
            "pick_list": pick_list,
            "rows": rows,
            "units": units,
            "picked": picked,
            "open_lines": sum(1 for ln in lines if ln.status == PickLineStatus.OPEN),
            "has_deliveries": OrderMode.DELIVERY in modes,
            "has_pickups": OrderMode.PICKUP in modes,
            "form": ScanForm(),
            "notice": notice,
            "touched": touched,
        },
    )


@staff_page("picking")
def pick_list(request: HttpRequest, staff: Staff, pick_list_id: int) -> HttpResponse:
    """Scan to pick: each scan (Enter) confirms units of the next open line of that item."""
    pick_list = visible_pick_list(staff, pick_list_id)
    if request.method != "POST":
        return _render_pick(request, staff, pick_list)
    staff.require_write()
    form = ScanForm(request.POST)
    if not form.is_valid():
        return _render_pick(request, staff, pick_list, notice=Notice.failure(_form_problem(form)))
    code, quantity = form.cleaned_data["code"], form.cleaned_data["quantity"] or 1
    touched = None
    try:
        line = pick_list_scan(
            pick_list=pick_list, scanned=code, quantity=quantity, actor=staff.user
        )
        touched = line.pk
    except ApplicationError as exc:
        notice = Notice.failure(exc)
    else:
        notice = Notice.success(
            gettext("Picked %(quantity)s × %(sku)s %(name)s: %(picked)s of %(wanted)s.")
            % {
                "quantity": quantity,
                "sku": line.product.sku,
                "name": line.product.name,
                "picked": line.picked,
                "wanted": line.quantity,
            }
        )
    return _render_pick(request, staff, pick_list, notice=notice, touched=touched)


@require_POST
@staff_page("picking")
def pick_line_short_view(
    request: HttpRequest, staff: Staff, pick_list_id: int, line_id: int
) -> HttpResponse:
    """The shelf has fewer than the line wants: record what was found."""
    pick_list = visible_pick_list(staff, pick_list_id)
    staff.require_write()
    line = pick_list.lines.select_related("product").filter(pk=line_id).first()
    if line is None:
        raise Http404("no such line on this pick list")
    form = ShortForm(request.POST)
    if not form.is_valid():
        notice = Notice.failure(_form_problem(form))
        return _render_pick(request, staff, pick_list, notice=notice, touched=line.pk)
    found = form.cleaned_data["found"]
    try:
        pick_line_short(pick_line=line, found=found, actor=staff.user)
    except ApplicationError as exc:
        notice = Notice.failure(exc)
    else:
        notice = Notice.success(
            gettext(
                "Short pick recorded: %(found)s of %(wanted)s × %(sku)s found."
                " The missing units are looked for elsewhere."
            )
            % {"found": found, "wanted": line.quantity, "sku": line.product.sku}
        )
    return _render_pick(request, staff, pick_list, notice=notice, touched=line.pk)


@staff_page("picking")
def pick_list_print(request: HttpRequest, staff: Staff, pick_list_id: int) -> HttpResponse:
    pick_list = visible_pick_list(staff, pick_list_id)
    lines = pick_lines(pick_list)
    context: dict[str, Any] = {
        "staff": staff,
        "pick_list": pick_list,
        "rows": [
            {"line": ln, "order": ln.allocation.line.order if ln.allocation else None}
            for ln in lines
        ],
        "units": sum(ln.quantity for ln in lines),
    }
    return render(request, "staff/pick_list_print.html", context)
