"""The picker's handheld page: one stop of the walk at a time (bin, item, how many, into which
totes), the next stop, progress, scans at scanner speed and the short pick; and for the
supervisor the whole list, paginated, and the list to print.

The page costs the same for a wave of 50 lines as for one of 2,000: it reads the pick list's
counters and the current and next task (``pick_progress``), and at most ``TOTES_SHOWN`` totes of
the current task; it never loops over the wave's lines. Each scan is one POST of the scan queue
(``staff/static/staff/scan.js``) carrying the device's scan id; the answer is the task panel
only, so the scan box is never replaced while the scanner types the next code.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fulfillment.models import PickList, PickTaskStatus
from fulfillment.selectors import (
    PickProgress,
    ToteUnits,
    pick_list_head,
    pick_list_modes,
    pick_list_totes,
    pick_progress,
    pick_task_page,
    pick_task_visible,
    pick_tasks_with_totes,
)
from fulfillment.services import pick_task_scan, pick_task_short
from inventory.services import MAX_LINE_QUANTITY
from omni.errors import ApplicationError, InvalidInput
from orders.models import OrderMode
from staff.views.common import Notice, ScanInput, Staff, render_page, staff_page
from staff.views.pick_words import scan_notice, short_notice
from staff.views.picking import work_at

TOTES_SHOWN = 12  # a popular SKU in a big wave may go to hundreds of totes: the page shows a few
TASKS_PER_PAGE = 50

PICK_TASK_STATUS_LABELS = {
    PickTaskStatus.OPEN: _("To pick"),
    PickTaskStatus.PICKED: _("Picked"),
    PickTaskStatus.SHORT: _("Short"),
}


def visible_pick_list(staff: Staff, pick_list_id: int) -> PickList:
    try:
        pick_list = pick_list_head(staff.user, pick_list_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    work_at(staff, pick_list.location)
    return pick_list


class ScanForm(forms.Form):
    code = forms.CharField(label=_("Scan the item"), max_length=64, widget=ScanInput())
    quantity = forms.IntegerField(
        label=_("Units"),
        min_value=1,
        max_value=MAX_LINE_QUANTITY,
        initial=1,
        required=False,
        widget=forms.NumberInput(
            attrs={"inputmode": "numeric", "class": "qty", "data-scan-reset": ""}
        ),
    )
    scan_id = forms.UUIDField(required=False)


class ShortForm(forms.Form):
    found = forms.IntegerField(label=_("Found"), min_value=0, max_value=MAX_LINE_QUANTITY)


def _form_problem(form: forms.Form) -> InvalidInput:
    messages = [str(error) for errors in form.errors.values() for error in errors]
    return InvalidInput(" ".join(messages), detail={"fields": sorted(form.errors)})


def tote_units(progress: PickProgress) -> list[ToteUnits]:
    """The current task's units per tote (an order with two lines of the SKU is one tote)."""
    totes: dict[int, ToteUnits] = {}
    for share in progress.totes:
        seen = totes.get(share.tote)
        totes[share.tote] = ToteUnits(
            tote=share.tote,
            quantity=share.quantity + (seen.quantity if seen else 0),
            order_id=share.order_id,
            transfer_id=share.transfer_id,
        )
    return [totes[tote] for tote in sorted(totes)]


def _render_task(
    request: HttpRequest,
    staff: Staff,
    pick_list: PickList,
    *,
    notice: Notice | None = None,
    progress: PickProgress | None = None,
) -> HttpResponse:
    """The page, or only its task panel (``#pick-task``) for the scan queue and htmx: the
    list's counters, the current and next task and the current task's totes, whatever the
    wave's size."""
    progress = progress or pick_progress(pick_list)
    pick_list = progress.pick_list
    task = progress.current
    totes = tote_units(progress)
    shown, more = totes[:TOTES_SHOWN], max(0, len(totes) - TOTES_SHOWN)
    context: dict[str, Any] = {
        "pick_list": pick_list,
        "task": task,
        "next_task": progress.next,
        "to_take": task.quantity - task.picked if task else 0,
        "totes": shown,
        "totes_more": more,
        "tote_numbers": ", ".join(str(t.tote) for t in shown) + (", …" if more else ""),
        "percent": (
            round(100 * pick_list.tasks_done / pick_list.tasks_total)
            if pick_list.tasks_total
            else 100
        ),
        "notice": notice,
        "form": ScanForm(),
    }
    if task is None:
        modes = pick_list_modes(pick_list)
        context["has_deliveries"] = OrderMode.DELIVERY in modes
        context["has_pickups"] = OrderMode.PICKUP in modes
    return render_page(
        request, staff, page="staff/pick_list.html", panel="staff/_pick_task.html", context=context
    )


@staff_page("picking")
def pick_list(request: HttpRequest, staff: Staff, pick_list_id: int) -> HttpResponse:
    """The handheld page: the current stop of the walk and the next one."""
    pick_list = visible_pick_list(staff, pick_list_id)
    staff.url = request.path  # the language switch comes back to this list, not to the lists
    return _render_task(request, staff, pick_list)


@require_POST
@staff_page("picking")
def pick_scan(request: HttpRequest, staff: Staff, pick_list_id: int) -> HttpResponse:
    """One scan from the queue: credits the current task of the scanned item, once per scan id
    (the same id again answers what it answered the first time)."""
    pick_list = visible_pick_list(staff, pick_list_id)
    staff.require_write()
    form = ScanForm(request.POST)
    if not form.is_valid():
        return _render_task(request, staff, pick_list, notice=Notice.failure(_form_problem(form)))
    code, quantity = form.cleaned_data["code"], form.cleaned_data["quantity"] or 1
    # A browser without the queue (no script) posts no id: this scan is then its own.
    scan_id = form.cleaned_data["scan_id"] or uuid.uuid4()
    outcome, error = None, None
    try:
        outcome = pick_task_scan(
            pick_list=pick_list,
            scan_id=scan_id,
            scanned=code,
            quantity=quantity,
            actor=staff.user,
        )
    except ApplicationError as exc:
        error = exc
    pick_list = pick_list_head(staff.user, pick_list.pk)  # its counters moved
    progress = pick_progress(pick_list)
    notice = scan_notice(scanned=code, task=progress.current, outcome=outcome, error=error)
    return _render_task(request, staff, pick_list, notice=notice, progress=progress)


@require_POST
@staff_page("picking")
def pick_task_short_view(
    request: HttpRequest, staff: Staff, pick_list_id: int, task_id: int
) -> HttpResponse:
    """The bin holds fewer than the task wants: record how many were found in all."""
    pick_list = visible_pick_list(staff, pick_list_id)
    staff.require_write()
    try:
        found_task = pick_task_visible(staff.user, pick_list.pk, task_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    form = ShortForm(request.POST)
    if not form.is_valid():
        return _render_task(request, staff, pick_list, notice=Notice.failure(_form_problem(form)))
    found = form.cleaned_data["found"]
    try:
        pick_task_short(task=found_task, found=found, actor=staff.user)
    except ApplicationError as exc:
        notice = short_notice(task=found_task, found=found, error=exc)
    else:
        notice = short_notice(task=found_task, found=found)
    return _render_task(request, staff, pick_list_head(staff.user, pick_list.pk), notice=notice)


@staff_page("picking")
def pick_tasks(request: HttpRequest, staff: Staff, pick_list_id: int) -> HttpResponse:
    """Every stop of a pick list, a page at a time, with its totes: the supervisor's view."""
    pick_list = visible_pick_list(staff, pick_list_id)
    paginator = Paginator(pick_task_page(pick_list), TASKS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    rows = [
        {
            "task": task,
            "totes": totes,
            "status_label": PICK_TASK_STATUS_LABELS.get(PickTaskStatus(task.status), task.status),
        }
        for task, totes in pick_tasks_with_totes(list(page_obj.object_list))
    ]
    return render(
        request,
        "staff/pick_tasks.html",
        {"staff": staff, "pick_list": pick_list, "rows": rows, "page_obj": page_obj},
    )


@staff_page("picking")
def pick_list_print(request: HttpRequest, staff: Staff, pick_list_id: int) -> HttpResponse:
    """The list on paper, in walking order, one row per stop with its totes."""
    pick_list = visible_pick_list(staff, pick_list_id)
    rows = [
        {"task": task, "totes": totes}
        for task, totes in pick_tasks_with_totes(list(pick_task_page(pick_list)))
    ]
    return render(
        request,
        "staff/pick_list_print.html",
        {"staff": staff, "pick_list": pick_list, "rows": rows, "totes": pick_list_totes(pick_list)},
    )
