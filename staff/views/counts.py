"""Counting: scan a SKU, enter what the shelf holds, post. The count is blind (the system's
figure is shown only after posting), then expected, counted and the difference."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.errors import CountBelowReserved
from inventory.models import Location, StockCountLine
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
            **context,
        },
    )


@staff_page("count", roles=STOCK_ROLES)
def count(request: HttpRequest, staff: Staff) -> HttpResponse:
    if request.method != "POST":
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
    notice = Notice.success(
        gettext("Count %(id)s posted: %(sku)s counted %(counted)s (difference %(difference)+d).")
        % {
            "id": posted.pk,
            "sku": product.sku,
            "counted": line.counted,
            "difference": line.difference,
        }
    )
    return _render(request, staff, CountForm(), notice=notice, result=line)
