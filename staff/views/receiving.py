"""Receiving: transfers arriving here (expected against received, with a reason for every
difference) and supplier receipts built scan by scan.

The receipt being built lives in the session, per location, until it is posted: a clerk can
scan for a while, reload the page, and lose nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib.sessions.backends.base import SessionBase
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from inventory.models import Location, Product, Transfer, TransferLine, TransferStatus
from inventory.selectors import transfer_list, transfer_visible
from inventory.services import MAX_LINE_QUANTITY, ReceivedLine, stock_receive, transfer_receive
from omni.errors import ApplicationError, InvalidInput, NotFound
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

# --------------------------------------------------------------------------- transfers


class TransferReceiveForm(forms.Form):
    """One received quantity per line (default: what was sent) and a reason when it differs."""

    def __init__(self, transfer: Transfer, data: Any = None) -> None:
        super().__init__(data, prefix=f"t{transfer.pk}")
        self.transfer = transfer
        self.lines: list[TransferLine] = list(transfer.lines.all())
        for line in self.lines:
            self.fields[f"received_{line.pk}"] = forms.IntegerField(
                label=_("Received"),
                min_value=0,
                max_value=MAX_LINE_QUANTITY,
                initial=line.quantity,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty"}),
            )
            self.fields[f"reason_{line.pk}"] = forms.CharField(
                label=_("Reason if different"), max_length=255, required=False
            )

    @property
    def rows(self) -> Iterator[tuple[TransferLine, forms.BoundField, forms.BoundField]]:
        for line in self.lines:
            yield line, self[f"received_{line.pk}"], self[f"reason_{line.pk}"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for line in self.lines:
            received = data.get(f"received_{line.pk}")
            reason = (data.get(f"reason_{line.pk}") or "").strip()
            if received is not None and received != line.quantity and not reason:
                self.add_error(
                    f"reason_{line.pk}",
                    _("%(sent)s were sent: say why %(received)s arrived.")
                    % {"sent": line.quantity, "received": received},
                )
        return data

    def received_lines(self) -> list[ReceivedLine]:
        return [
            ReceivedLine(
                product=line.product,
                received=self.cleaned_data[f"received_{line.pk}"],
                reason=self.cleaned_data[f"reason_{line.pk}"],
            )
            for line in self.lines
        ]


def arriving_transfers(staff: Staff, location: Location) -> list[Transfer]:
    return list(
        transfer_list(user=staff.user, status=TransferStatus.DISPATCHED)
        .filter(destination=location)
        .order_by("dispatched_at", "id")
    )


# --------------------------------------------------------------------------- supplier receipts


@dataclass
class ReceiptDraft:
    supplier: str = ""
    reference: str = ""
    lines: dict[int, int] = field(default_factory=dict)  # product id → quantity, scan order

    @staticmethod
    def key(location: Location) -> str:
        return f"staff-receipt-{location.pk}"

    @classmethod
    def load(cls, session: SessionBase, location: Location) -> ReceiptDraft:
        raw = session.get(cls.key(location)) or {}
        return cls(
            supplier=raw.get("supplier", ""),
            reference=raw.get("reference", ""),
            lines={int(pid): int(qty) for pid, qty in raw.get("lines", [])},
        )

    def save(self, session: SessionBase, location: Location) -> None:
        session[self.key(location)] = {
            "supplier": self.supplier,
            "reference": self.reference,
            "lines": [[pid, qty] for pid, qty in self.lines.items()],
        }

    def rows(self) -> list[tuple[Product, int]]:
        products = Product.objects.in_bulk(list(self.lines))
        return [(products[pid], qty) for pid, qty in self.lines.items() if pid in products]


class ReceiptForm(forms.Form):
    supplier = forms.CharField(label=_("Supplier"), max_length=100, required=False)
    reference = forms.CharField(label=_("Delivery note / reference"), max_length=64, required=False)
    code = forms.CharField(
        label=_("SKU or barcode"), max_length=64, required=False, widget=ScanInput()
    )
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=MAX_LINE_QUANTITY,
        initial=1,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty"}),
    )


def fresh_receipt_form(draft: ReceiptDraft) -> ReceiptForm:
    return ReceiptForm(initial={"supplier": draft.supplier, "reference": draft.reference})


# --------------------------------------------------------------------------- the page


def _context(
    staff: Staff,
    location: Location,
    draft: ReceiptDraft,
    *,
    receipt_form: ReceiptForm | None = None,
    receipt_notice: Notice | None = None,
    transfer_forms: dict[int, TransferReceiveForm] | None = None,
) -> dict[str, Any]:
    transfer_forms = transfer_forms or {}
    transfers = [
        {"transfer": t, "form": transfer_forms.get(t.pk) or TransferReceiveForm(t)}
        for t in arriving_transfers(staff, location)
    ]
    return {
        "transfers": transfers,
        "receipt_form": receipt_form or fresh_receipt_form(draft),
        "receipt_notice": receipt_notice,
        "draft_rows": draft.rows(),
        "draft_units": sum(draft.lines.values()),
    }


@staff_page("receiving", roles=STOCK_ROLES)
def receiving(request: HttpRequest, staff: Staff) -> HttpResponse:
    assert staff.location is not None
    draft = ReceiptDraft.load(request.session, staff.location)
    return render(
        request, "staff/receiving.html", {"staff": staff, **_context(staff, staff.location, draft)}
    )


@require_POST
@staff_page("receiving", roles=STOCK_ROLES)
def transfer_receive_view(request: HttpRequest, staff: Staff, transfer_id: int) -> HttpResponse:
    location = staff.require_write()
    try:
        transfer = transfer_visible(staff.user, transfer_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if transfer.destination_id != location.pk:
        raise Http404("no such transfer arriving here")
    form = TransferReceiveForm(transfer, request.POST)
    notice = None
    received = False
    if form.is_valid():
        try:
            transfer_receive(transfer=transfer, lines=form.received_lines(), actor=staff.user)
        except ApplicationError as exc:
            notice = Notice.failure(exc)
        else:
            received = True
            units = sum(line.received for line in form.received_lines())
            notice = Notice.success(
                gettext("Transfer %(id)s from %(source)s received. Units: %(units)s.")
                % {"id": transfer.pk, "source": transfer.source.code, "units": units}
            )
    if getattr(request, "htmx", False):
        return render(
            request,
            "staff/_transfer.html",
            {
                "staff": staff,
                "item": {"transfer": transfer, "form": form},
                "notice": notice,
                "received": received,
            },
        )
    draft = ReceiptDraft.load(request.session, location)
    context = _context(
        staff, location, draft, transfer_forms={} if received else {transfer.pk: form}
    )
    return render(
        request,
        "staff/receiving.html",
        {"staff": staff, "transfer_notice": notice, **context},
    )


@require_POST
@staff_page("receiving", roles=STOCK_ROLES)
def receipt(request: HttpRequest, staff: Staff) -> HttpResponse:
    """One form, several buttons: Enter (after a scan) adds the line; ``post`` posts the
    receipt, ``clear`` empties it, ``remove:<product id>`` drops a line."""
    location = staff.require_write()
    draft = ReceiptDraft.load(request.session, location)
    form = ReceiptForm(request.POST)
    action = request.POST.get("action", "add")
    notice: Notice | None = None
    keep_form = False
    if form.is_valid():
        data = form.cleaned_data
        draft.supplier, draft.reference = data["supplier"], data["reference"]
        if action == "post" and not draft.supplier:
            form.add_error("supplier", _("Enter the supplier."))
        else:
            try:
                if action.startswith("remove:"):
                    line_id = _line_id(action)
                    if line_id is not None:
                        draft.lines.pop(line_id, None)
                elif action == "clear":
                    draft.lines = {}
                elif data["code"]:
                    # Enter after a scan adds it; a scan left in the box when "Post" is
                    # pressed is part of the receipt. Enter in another field only keeps the
                    # supplier and reference.
                    try:
                        product = product_by_code(data["code"])
                    except ApplicationError:
                        keep_form = True  # the bad scan stays in the box, selected
                        raise
                    quantity = data["quantity"] or 1
                    draft.lines[product.pk] = draft.lines.get(product.pk, 0) + quantity
                    notice = Notice.success(
                        gettext("Added %(quantity)s × %(sku)s %(name)s.")
                        % {"quantity": quantity, "sku": product.sku, "name": product.name}
                    )
                if action == "post":
                    notice = _post_receipt(staff, location, draft)
            except ApplicationError as exc:
                notice = Notice.failure(exc)
        draft.save(request.session, location)
    if form.errors:
        keep_form = True
        focus_field(form)
    context = _context(
        staff,
        location,
        draft,
        receipt_form=form if keep_form else fresh_receipt_form(draft),
        receipt_notice=notice,
    )
    return render_page(
        request, staff, page="staff/receiving.html", panel="staff/_receipt.html", context=context
    )


def _line_id(action: str) -> int | None:
    value = action.removeprefix("remove:")
    return int(value) if value.isdigit() else None


def _post_receipt(staff: Staff, location: Location, draft: ReceiptDraft) -> Notice:
    rows = draft.rows()
    if not rows:
        raise InvalidInput(_("scan at least one line before posting the receipt"))
    posted = stock_receive(
        location=location,
        lines=rows,
        supplier=draft.supplier,
        supplier_reference=draft.reference,
        actor=staff.user,
    )
    units = sum(quantity for _product, quantity in rows)
    draft.supplier, draft.reference, draft.lines = "", "", {}
    return Notice.success(
        gettext("Receipt %(id)s posted. Lines: %(lines)s · units: %(units)s.")
        % {"id": posted.pk, "lines": len(rows), "units": units}
    )
