"""Receiving against a purchase order, on the Receive page: the POs expected at the location,
opened into a scan-by-scan draft like a transfer (``purchasing.services``), and finished with
a reason for every line over what was open and a choice for every line short of it: leave the
rest on backorder, or close the line short.

The draft page, its scans and its line resets are the receiving page's own
(``staff.views.receiving``); they ask here what a PO's draft expects and how it scans.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from inventory.models import Location, Product, ReceivingDraft, ReceivingScan
from inventory.selectors import ReceivingLine
from inventory.services import ScanResult
from omni.errors import ApplicationError, NotFound
from purchasing.errors import PurchaseOrderInvalidState
from purchasing.models import PurchaseOrder, PurchaseOrderDraft
from purchasing.selectors import purchase_order_visible, purchase_orders_to_receive
from purchasing.services import (
    purchase_order_of,
    purchase_order_receiving_finish,
    purchase_order_receiving_open,
    purchase_order_receiving_scan,
)
from staff.views.common import STOCK_ROLES, Notice, Staff, staff_page

BACKORDER, CLOSE = "backorder", "close"


def expected_here(location: Location) -> list[dict[str, Any]]:
    """The POs to receive at a location, each with its open draft (if a clerk started) and its
    open units."""
    drafts = {
        link.purchase_order_id: link.draft
        for link in PurchaseOrderDraft.objects.filter(
            purchase_order__ship_to=location, draft__status="open"
        ).select_related("draft", "draft__created_by")
    }
    for draft in drafts.values():
        draft.counted = (  # type: ignore[attr-defined]
            ReceivingScan.objects.filter(draft=draft).aggregate(u=Sum("quantity"))["u"] or 0
        )
    return [
        {
            "order": order,
            "draft": drafts.get(order.pk),
            "open_units": sum(line.open_quantity for line in order.lines.all()),
            "lines": len(order.lines.all()),
        }
        for order in purchase_orders_to_receive(location.pk)
    ]


def po_draft_ids(location: Location) -> set[int]:
    return set(
        PurchaseOrderDraft.objects.filter(purchase_order__ship_to=location).values_list(
            "draft_id", flat=True
        )
    )


def document(draft: ReceivingDraft) -> str | None:
    """ "purchase order PO000012 from Acme", or None for a draft of no PO."""
    order = purchase_order_of(draft)
    if order is None:
        return None
    return gettext("purchase order %(number)s from %(supplier)s") % {
        "number": order.number,
        "supplier": order.supplier.name,
    }


def lines(draft: ReceivingDraft) -> list[ReceivingLine] | None:
    """A PO draft's lines: every line still open (expected: its open quantity) and every
    product counted, in the PO's order; None for a draft of no PO."""
    order = purchase_order_of(draft)
    if order is None:
        return None
    counted = dict(
        ReceivingScan.objects.filter(draft=draft)
        .values_list("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )
    return [
        ReceivingLine(
            product=line.product,
            expected=line.open_quantity,
            counted=int(counted.get(line.product_id, 0)),
        )
        for line in order.lines.select_related("product").order_by("id")
        if line.open_quantity or counted.get(line.product_id, 0)
    ]


def expected_of(draft: ReceivingDraft, product_id: int) -> int | None:
    order = purchase_order_of(draft)
    if order is None:
        return None
    line = order.lines.filter(product_id=product_id).first()
    return line.open_quantity if line else None


def scan(
    *, draft: ReceivingDraft, scan_id: str, product: Product, quantity: int, actor: Any
) -> ScanResult | None:
    """A scan on a PO's draft (``NotOnPurchaseOrder`` for an item it does not list); None
    when the draft is not a PO's."""
    if purchase_order_of(draft) is None:
        return None
    return purchase_order_receiving_scan(
        draft=draft, scan_id=scan_id, product=product, quantity=quantity, actor=actor
    )


@require_POST
@staff_page("receiving", roles=STOCK_ROLES)
def purchase_order_open(request: HttpRequest, staff: Staff, purchase_order_id: int) -> HttpResponse:
    location = staff.require_write()
    try:
        order = purchase_order_visible(staff.user, purchase_order_id)
        draft = purchase_order_receiving_open(
            purchase_order=order, location=location, actor=staff.user
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except PurchaseOrderInvalidState:
        messages.error(
            request,
            gettext(
                "Purchase order %(id)s is no longer expected here: it was received or cancelled."
                " Check the list below."
            )
            % {"id": purchase_order_id},
        )
        return redirect(reverse("staff:receiving") + staff.at_query)
    return redirect(reverse("staff:receiving-draft", args=[draft.pk]) + staff.at_query)


class PurchaseOrderFinishForm(forms.Form):
    """For each line short of what is open: backorder the rest or close it short (with a
    note); for each line over it: why."""

    def __init__(self, rows: list[ReceivingLine], data: Any = None) -> None:
        super().__init__(data)
        self.differing = [ln for ln in rows if ln.difference]
        for line in self.differing:
            pid = line.product.pk
            if line.difference < 0:
                self.fields[f"rest_{pid}"] = forms.ChoiceField(
                    label=_("The rest"),
                    choices=[
                        (BACKORDER, _("Still to come: keep it on order (backorder)")),
                        (CLOSE, _("Not coming: close the line short")),
                    ],
                    initial=BACKORDER,
                )
            self.fields[f"note_{pid}"] = forms.CharField(
                label=_("Why?"), max_length=200, required=False
            )

    def rows(self) -> list[tuple[ReceivingLine, forms.BoundField | None, forms.BoundField]]:
        return [
            (
                ln,
                self[f"rest_{ln.product.pk}"] if ln.difference < 0 else None,
                self[f"note_{ln.product.pk}"],
            )
            for ln in self.differing
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for line in self.differing:
            pid = line.product.pk
            closing = data.get(f"rest_{pid}") == CLOSE
            if (line.difference > 0 or closing) and not data.get(f"note_{pid}"):
                self.add_error(f"note_{pid}", _("Say in a few words what happened."))
        return data

    def close_short(self) -> set[int]:
        return {
            ln.product.pk
            for ln in self.differing
            if self.cleaned_data.get(f"rest_{ln.product.pk}") == CLOSE
        }

    def reasons(self) -> dict[int, str]:
        return {ln.product.pk: self.cleaned_data[f"note_{ln.product.pk}"] for ln in self.differing}


def finish(
    request: HttpRequest, staff: Staff, draft: ReceivingDraft, context: dict[str, Any]
) -> HttpResponse | None:
    """The finish page of a PO's draft (None when the draft is not a PO's)."""
    order: PurchaseOrder | None = purchase_order_of(draft)
    if order is None:
        return None
    rows = context["lines"]
    form = PurchaseOrderFinishForm(rows, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        staff.require_write()
        if form.is_valid():
            try:
                result = purchase_order_receiving_finish(
                    draft=draft,
                    close_short=form.close_short(),
                    reasons=form.reasons(),
                    actor=staff.user,
                )
            except ApplicationError as exc:
                context["notice"] = Notice.failure(exc)
            else:
                booked = result.supplier_receipt.units if result.supplier_receipt else 0
                left = sum(ln.open_quantity for ln in result.purchase_order.lines.all())
                text = gettext("Received %(document)s: %(units)s units booked into stock here.") % {
                    "document": context["document"],
                    "units": booked,
                }
                if left:
                    text += " " + gettext("%(left)s units are still to come on backorder.") % {
                        "left": left
                    }
                messages.success(request, text)
                return redirect(reverse("staff:receiving") + staff.at_query)
    context.update({"form": form, "differing": form.differing, "order": order})
    return render(
        request,
        "staff/receiving_po_finish.html",
        context,
        status=422 if request.method == "POST" else 200,
    )
