"""Picking: the pick lists of a location, with their progress, and the wave form: the
supervisor plans the next wave with limits (orders, lines, units; a mode; a cut-off), sees what
it would take, and starts it; what does not fit waits for the next wave.

The picker's own page (one stop at a time, scans, short picks) is ``staff.views.pick_page``.
Warehouse and store staff pick the same way (a store picks its pickups and ship-from-store
orders). Planners see the lists and pick nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from fulfillment.models import PickListStatus
from fulfillment.picking import picker_minutes
from fulfillment.selectors import pick_list_headers, pick_wave_stops, waiting_to_pick
from fulfillment.services import (
    DEFAULT_WAVE_LIMITS,
    WaveLimits,
    pick_wave_create,
    pick_wave_plan,
)
from inventory.models import Location
from omni.errors import ApplicationError
from orders.models import OrderMode, OrderStatus
from staff.views.common import Notice, Staff, staff_page

RECENT_DONE = 10
WAVE_LIMIT_MAX = 100_000

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


# --------------------------------------------------------------------------- the wave form

WAVE_MODE_CHOICES = [
    ("", _("Everything waiting")),
    ("delivery", _("Deliveries")),
    ("pickup", _("Pickups")),
    ("transfer", _("Transfers")),
]


class WaveForm(forms.Form):
    mode = forms.ChoiceField(label=_("What to pick"), choices=WAVE_MODE_CHOICES, required=False)
    promised_by = forms.DateTimeField(
        label=_("Cut-off: promised by"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    max_orders = forms.IntegerField(
        label=_("At most orders"), min_value=1, max_value=WAVE_LIMIT_MAX, required=False
    )
    max_lines = forms.IntegerField(
        label=_("At most lines"), min_value=1, max_value=WAVE_LIMIT_MAX, required=False
    )
    max_units = forms.IntegerField(
        label=_("At most units"), min_value=1, max_value=WAVE_LIMIT_MAX, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("max_orders", "max_lines", "max_units"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "class": "qty"})

    def wave(self) -> dict[str, Any]:
        """The keywords of ``pick_wave_plan`` and ``pick_wave_create``: an empty limit is none."""
        data = self.cleaned_data
        mode: str = data.get("mode") or ""
        return {
            "limits": WaveLimits(
                orders=data.get("max_orders"),
                lines=data.get("max_lines"),
                units=data.get("max_units"),
            ),
            "modes": [mode] if mode else None,
            "promised_by": data.get("promised_by"),
        }


def default_wave_form() -> WaveForm:
    """The next wave as the system plans it: every mode, the default limits."""
    return WaveForm(
        data={
            "max_orders": DEFAULT_WAVE_LIMITS.orders or "",
            "max_lines": DEFAULT_WAVE_LIMITS.lines or "",
            "max_units": DEFAULT_WAVE_LIMITS.units or "",
        }
    )


@dataclass(frozen=True)
class PlanPreview:
    orders: int
    lines: int
    units: int
    stops: int
    minutes: int
    left: int


def plan_preview(location: Location, form: WaveForm) -> PlanPreview:
    plan = pick_wave_plan(location=location, **form.wave())
    stops = pick_wave_stops(
        location=location, order_ids=plan.order_ids, transfer_ids=plan.transfer_ids
    )
    return PlanPreview(
        orders=len(plan.taken),
        lines=plan.lines,
        units=plan.units,
        stops=stops,
        minutes=math.ceil(picker_minutes(stops=stops, units=plan.units, totes=len(plan.taken))),
        left=plan.waiting_lines,
    )


# --------------------------------------------------------------------------- the lists


def _render_lists(
    request: HttpRequest,
    staff: Staff,
    *,
    form: WaveForm | None = None,
    notice: Notice | None = None,
) -> HttpResponse:
    assert staff.location is not None
    lists = pick_list_headers(user=staff.user, location=staff.location)
    context: dict[str, Any] = {
        "staff": staff,
        "notice": notice,
        "open_lists": list(lists.filter(status=PickListStatus.OPEN)),
        "done_lists": list(lists.filter(status=PickListStatus.DONE)[:RECENT_DONE]),
        "waiting": waiting_to_pick(staff.location),
    }
    if staff.moves_stock:
        form = form or default_wave_form()
        context["wave_form"] = form
        if form.is_valid():
            try:
                plan = plan_preview(staff.location, form)
            except ApplicationError as exc:
                context["notice"] = notice or Notice.failure(exc)
            else:
                context["plan"] = plan if plan.lines else None
                context["plan_empty"] = not plan.lines
    return render(request, "staff/picking.html", context)


@staff_page("picking")
def picking(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The location's pick lists and the wave form: GET previews the default next wave, POST
    ``action=preview`` previews the limits typed, ``action=create`` starts that wave."""
    if request.method != "POST":
        return _render_lists(request, staff)
    location = staff.require_write()
    form = WaveForm(request.POST)
    if request.POST.get("action") != "create" or not form.is_valid():
        return _render_lists(request, staff, form=form)
    try:
        pick_list = pick_wave_create(location=location, actor=staff.user, **form.wave())
    except ApplicationError as exc:
        return _render_lists(request, staff, form=form, notice=Notice.failure(exc))
    return redirect(reverse("staff:pick-list", args=[pick_list.pk]) + staff.at_query)
