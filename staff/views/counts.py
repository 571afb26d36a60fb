"""Counting: scan a SKU, enter what the shelf holds, post. The count is blind (the system's
figure is shown only after posting), then expected, counted and the difference.

Above the scan box, the location's count tasks: SKUs flagged "count it" by a short pick, a
counter sale of more than the system showed, or a transfer from here that arrived short or
over, each with why and since when. Counting the SKU closes its tasks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from inventory.errors import CountBelowReserved
from inventory.models import (
    DiscrepancyCause,
    Location,
    StockCountLine,
    StockDiscrepancy,
    TransferLine,
)
from inventory.selectors import count_tasks
from inventory.services import MAX_LINE_QUANTITY, stock_count
from omni.errors import ApplicationError
from staff.views.common import (
    STOCK_ROLES,
    Notice,
    ScanInput,
    Staff,
    focus_field,
    product_by_code,
    render_page,
    staff_page,
)

RECENT_LINES = 10


class CountForm(forms.Form):
    code = forms.CharField(label=_("SKU or barcode"), max_length=64, widget=ScanInput())
    counted = forms.IntegerField(
        label=_("Counted quantity"),
        min_value=0,
        max_value=MAX_LINE_QUANTITY,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty"}),
    )
    release_holds = forms.BooleanField(
        label=_("Release holds if the shelf has fewer than are reserved"), required=False
    )
    note = forms.CharField(label=_("Note"), max_length=255, required=False)


def recent_count_lines(location: Location) -> list[StockCountLine]:
    return list(
        StockCountLine.objects.filter(count__location=location)
        .select_related("product", "count", "count__actor")
        .order_by("-id")[:RECENT_LINES]
    )


def _task_rows(location: Location) -> list[dict[str, Any]]:
    """Each open task with a sentence saying why, in the reader's language."""
    tasks = list(count_tasks(location))
    transfer_ids = {
        int(t.reference.removeprefix("transfer:"))
        for t in tasks
        if t.cause in (DiscrepancyCause.TRANSFER_SHORT, DiscrepancyCause.TRANSFER_OVER)
        and t.reference.removeprefix("transfer:").isdigit()
    }
    transfer_lines = {
        (ln.transfer_id, ln.product_id): ln
        for ln in TransferLine.objects.filter(transfer_id__in=transfer_ids).select_related(
            "transfer__destination"
        )
    }
    return [{"task": t, "why": _why(t, transfer_lines)} for t in tasks]


def _why(task: StockDiscrepancy, transfer_lines: dict[tuple[int, int], TransferLine]) -> str:
    figures = {
        "reference": task.reference,
        "system": task.system_quantity,
        "observed": task.observed_quantity,
    }
    if task.cause == DiscrepancyCause.SHORT_PICK:
        return (
            gettext(
                "A picker found fewer than the system showed (%(reference)s): on hand went from"
                " %(system)s to %(observed)s."
            )
            % figures
        )
    if task.cause == DiscrepancyCause.COUNTER_SALE:
        return (
            gettext(
                "The counter sold more than the system showed (%(reference)s): on hand went from"
                " %(system)s to %(observed)s."
            )
            % figures
        )
    if task.cause in (DiscrepancyCause.TRANSFER_SHORT, DiscrepancyCause.TRANSFER_OVER):
        transfer_id = task.reference.removeprefix("transfer:")
        line = (
            transfer_lines.get((int(transfer_id), task.product_id))
            if transfer_id.isdigit()
            else None
        )
        if line is not None:
            words = {
                "transfer": line.transfer_id,
                "destination": line.transfer.destination.code,
                "sent": line.quantity,
                "received": line.received_quantity,
            }
            if task.cause == DiscrepancyCause.TRANSFER_SHORT:
                return (
                    gettext(
                        "Transfer %(transfer)s to %(destination)s arrived short: %(received)s of"
                        " %(sent)s. Check whether the rest is still on the shelf here."
                    )
                    % words
                )
            return (
                gettext(
                    "Transfer %(transfer)s to %(destination)s arrived with more: %(received)s where"
                    " %(sent)s were sent. The shelf here may hold fewer than the system shows."
                )
                % words
            )
    return task.reason


def _render(request: HttpRequest, staff: Staff, form: CountForm, **context: Any) -> HttpResponse:
    assert staff.location is not None
    return render_page(
        request,
        staff,
        page="staff/count.html",
        panel="staff/_count_panel.html",
        context={
            "form": form,
            "recent": recent_count_lines(staff.location),
            "tasks": _task_rows(staff.location),
            **context,
        },
    )


@staff_page("count", roles=STOCK_ROLES)
def count(request: HttpRequest, staff: Staff) -> HttpResponse:
    if request.method != "POST":
        code = request.GET.get("code", "").strip()[:64]
        if code:
            # "Count it" on a task: the SKU is named, the cursor waits for the quantity.
            form = CountForm(initial={"code": code})
            focus_field(form, "counted")
            try:
                return _render(request, staff, form, counting=product_by_code(code))
            except ApplicationError:
                pass
        return _render(request, staff, CountForm())
    location = staff.require_write()
    form = CountForm(request.POST)
    if not form.is_valid():
        focus_field(form)
        return _render(request, staff, form)
    data = form.cleaned_data
    try:
        product = product_by_code(data["code"])
    except ApplicationError as exc:
        return _render(request, staff, form, notice=Notice.failure(exc))
    if data["counted"] is None:
        # The scan named the product: now the quantity (Enter in it posts the count).
        focus_field(form, "counted")
        return _render(request, staff, form, counting=product)
    try:
        posted = stock_count(
            location=location,
            lines=[(product, data["counted"])],
            release_holds=data["release_holds"],
            actor=staff.user,
            note=data["note"],
        )
    except CountBelowReserved as exc:
        reserved = next(
            (ln["reserved"] for ln in exc.detail.get("lines", []) if ln["sku"] == product.sku),
            None,
        )
        extra = gettext(
            "%(reserved)s of %(sku)s are reserved here, you counted %(counted)s."
            " Tick “Release holds” to release the newest holds, or count again."
        ) % {"reserved": reserved, "sku": product.sku, "counted": data["counted"]}
        focus_field(form, "release_holds")
        return _render(
            request, staff, form, counting=product, notice=Notice.failure(exc, extra=extra)
        )
    except ApplicationError as exc:
        return _render(request, staff, form, counting=product, notice=Notice.failure(exc))
    line = posted.lines.select_related("product").get()
    closed = posted.resolved_discrepancies.count()
    notice = Notice.success(
        gettext("Count %(id)s posted: %(sku)s counted %(counted)s (difference %(difference)+d).")
        % {
            "id": posted.pk,
            "sku": product.sku,
            "counted": line.counted,
            "difference": line.difference,
        },
        extra=ngettext(
            "This closed %(n)s count task for it.", "This closed %(n)s count tasks for it.", closed
        )
        % {"n": closed}
        if closed
        else "",
    )
    return _render(request, staff, CountForm(), notice=notice, result=line)
