"""Receiving: the deliveries expected here (transfers on their way, and goods from suppliers),
each received by scanning against what is expected.

The clerk opens one delivery; its page has the only scan box, so a scan always counts on the
delivery in front of them. What has been counted lives in the database (a receiving draft per
location and delivery), so it survives a reload, a new login, or another clerk taking over.
Scans are sent by ``staff/receiving.js``: the box empties as each scan leaves, each carries a
scan id the server stores once, and the answer replaces the lines, never the box.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from inventory.errors import (
    NoLines,
    NotOnDocument,
    ReceivingClosed,
    ReceivingReasonMissing,
    TransferInvalidState,
    UnknownProduct,
)
from inventory.models import (
    OVER_CAUSES,
    SHORT_CAUSES,
    Location,
    ReceivingCause,
    ReceivingDraft,
    Transfer,
    TransferStatus,
)
from inventory.selectors import (
    ReceivingLine,
    receiving_draft_at,
    receiving_drafts_open,
    receiving_lines,
    transfer_list,
    transfer_visible,
)
from inventory.services import (
    MAX_LINE_QUANTITY,
    LineReason,
    receiving_discard,
    receiving_finish,
    receiving_line_set,
    receiving_open_supplier,
    receiving_open_transfer,
    receiving_scan,
)
from omni.errors import ApplicationError, NotFound
from purchasing.errors import NotOnPurchaseOrder
from staff.views import receiving_po
from staff.views.common import (
    STOCK_ROLES,
    Notice,
    Staff,
    product_by_code,
    staff_page,
)

CAUSE_LABELS = {
    ReceivingCause.SHORT_IN_TRANSIT: _("Missing: fewer came than were sent"),
    ReceivingCause.DAMAGED: _("Damaged: the units came but cannot be sold"),
    ReceivingCause.WRONG_ITEM: _("Wrong item: something else came instead"),
    ReceivingCause.OVER_SHIPPED: _("Over-shipped: more came than were sent"),
    ReceivingCause.OTHER: _("Other: say why in the note"),
}


def _document(draft: ReceivingDraft) -> str:
    purchase_order = receiving_po.document(draft)
    if purchase_order is not None:
        return purchase_order
    if draft.transfer is not None:
        return gettext("transfer %(id)s from %(source)s") % {
            "id": draft.transfer.pk,
            "source": draft.transfer.source.code,
        }
    return gettext("the delivery from %(supplier)s") % {"supplier": draft.supplier}


def _draft_url(staff: Staff, draft: ReceivingDraft, name: str = "receiving-draft") -> str:
    return reverse(f"staff:{name}", args=[draft.pk]) + staff.at_query


def _lines(draft: ReceivingDraft) -> list[ReceivingLine]:
    """The draft's lines: a purchase order's (expected: what is still open) or inventory's."""
    po_lines = receiving_po.lines(draft)
    return po_lines if po_lines is not None else receiving_lines(draft)


def _draft_or_404(location: Location, draft_id: int) -> ReceivingDraft:
    try:
        return receiving_draft_at(location, draft_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


# --------------------------------------------------------------------------- the list


class SupplierDeliveryForm(forms.Form):
    supplier = forms.CharField(label=_("Supplier"), max_length=100)
    reference = forms.CharField(label=_("Delivery note / reference"), max_length=64, required=False)


def arriving_transfers(staff: Staff, location: Location) -> list[Transfer]:
    return list(
        transfer_list(user=staff.user, status=TransferStatus.DISPATCHED)
        .filter(destination=location)
        .order_by("dispatched_at", "id")
    )


def _list_context(staff: Staff, location: Location) -> dict[str, Any]:
    drafts = list(receiving_drafts_open(location))
    by_transfer = {d.transfer_id: d for d in drafts if d.transfer_id is not None}
    transfers = [
        {
            "transfer": t,
            "draft": by_transfer.get(t.pk),
            "units": sum(ln.quantity for ln in t.lines.all()),
        }
        for t in arriving_transfers(staff, location)
    ]
    po_drafts = receiving_po.po_draft_ids(location)
    return {
        "transfers": transfers,
        "purchase_orders": receiving_po.expected_here(location),
        "supplier_drafts": [d for d in drafts if d.transfer_id is None and d.pk not in po_drafts],
    }


@staff_page("receiving", roles=STOCK_ROLES)
def receiving(request: HttpRequest, staff: Staff) -> HttpResponse:
    assert staff.location is not None
    form = SupplierDeliveryForm()
    if request.method == "POST":
        location = staff.require_write()
        form = SupplierDeliveryForm(request.POST)
        if form.is_valid():
            draft = receiving_open_supplier(
                location=location,
                supplier=form.cleaned_data["supplier"],
                supplier_reference=form.cleaned_data["reference"],
                actor=staff.user,
            )
            return redirect(_draft_url(staff, draft))
    return render(
        request,
        "staff/receiving.html",
        {"staff": staff, "supplier_form": form, **_list_context(staff, staff.location)},
        status=200 if form.is_bound is False or form.is_valid() else 422,
    )


@require_POST
@staff_page("receiving", roles=STOCK_ROLES)
def transfer_open(request: HttpRequest, staff: Staff, transfer_id: int) -> HttpResponse:
    location = staff.require_write()
    try:
        transfer = transfer_visible(staff.user, transfer_id)
        draft = receiving_open_transfer(
            transfer=transfer,
            location=location,
            blind=bool(request.POST.get("blind")),
            actor=staff.user,
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except TransferInvalidState:
        messages.error(
            request,
            gettext(
                "Transfer %(id)s is no longer on its way here: someone has already received it."
                " Check the list below."
            )
            % {"id": transfer_id},
        )
        return redirect(reverse("staff:receiving") + staff.at_query)
    return redirect(_draft_url(staff, draft))


# --------------------------------------------------------------------------- one delivery


def _lines_context(
    staff: Staff, draft: ReceivingDraft, notice: Notice | None = None, touched: int | None = None
) -> dict[str, Any]:
    lines = _lines(draft)
    expected = sum(ln.expected or 0 for ln in lines)
    counted = sum(ln.counted for ln in lines)
    return {
        "staff": staff,
        "draft": draft,
        "document": _document(draft),
        "lines": lines,
        "show_expected": any(ln.expected is not None for ln in lines) and not draft.blind,
        "differing_lines": sum(1 for ln in lines if ln.expected is not None and ln.difference),
        "expected_units": expected,
        "counted_units": counted,
        "notice": notice,
        "touched": touched,
        "token": uuid.uuid4().hex[:16],  # per render: the reset buttons' scan ids
    }


@staff_page("receiving", roles=STOCK_ROLES)
def receiving_draft(request: HttpRequest, staff: Staff, draft_id: int) -> HttpResponse:
    assert staff.location is not None
    draft = _draft_or_404(staff.location, draft_id)
    if draft.status != "open":
        messages.info(request, _closed_message(draft))
        return redirect(reverse("staff:receiving") + staff.at_query)
    return render(request, "staff/receiving_draft.html", _lines_context(staff, draft))


def _closed_message(draft: ReceivingDraft) -> str:
    return gettext(
        "Receiving of %(document)s is already closed (booked or discarded), so it takes no more"
        " scans. Open the next delivery from the list."
    ) % {"document": _document(draft)}


def _answer(
    request: HttpRequest, staff: Staff, draft: ReceivingDraft, notice: Notice, **kwargs: Any
) -> HttpResponse:
    context = _lines_context(staff, draft, notice, **kwargs)
    if getattr(request, "htmx", False):
        status = 200 if notice.ok else 422
        return render(request, "staff/_receiving_lines.html", context, status=status)
    return render(request, "staff/receiving_draft.html", context)


def _parse_quantity(raw: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LINE_QUANTITY:
        return None
    return int(raw)


@require_POST
@staff_page("receiving", roles=STOCK_ROLES)
def receiving_scan_view(request: HttpRequest, staff: Staff, draft_id: int) -> HttpResponse:
    """One scan: ``code``, optional ``quantity`` (default 1) and ``scan_id`` (from the page's
    script; a form posted without it gets a fresh one)."""
    location = staff.require_write()
    draft = _draft_or_404(location, draft_id)
    code = request.POST.get("code", "").strip()[:64]
    scan_id = request.POST.get("scan_id", "").strip()[:64] or uuid.uuid4().hex
    quantity = _parse_quantity(request.POST.get("quantity", ""))
    if not code:
        return _answer(
            request,
            staff,
            draft,
            _failure(gettext("Nothing was scanned. Scan the item's barcode.")),
        )
    if quantity is None:
        return _answer(
            request,
            staff,
            draft,
            _failure(
                gettext(
                    "The quantity must be a whole number from 1 to %(max)s. Type it again, then"
                    " scan the item."
                )
                % {"max": MAX_LINE_QUANTITY}
            ),
        )
    try:
        product = product_by_code(code)
    except UnknownProduct:
        return _answer(
            request,
            staff,
            draft,
            _failure(
                gettext(
                    "No item has the code “%(code)s”. Check the label or type the SKU, then scan"
                    " the next item."
                )
                % {"code": code}
            ),
        )
    try:
        result = receiving_po.scan(
            draft=draft, scan_id=scan_id, product=product, quantity=quantity, actor=staff.user
        ) or receiving_scan(
            draft=draft, scan_id=scan_id, product=product, quantity=quantity, actor=staff.user
        )
    except (NotOnDocument, NotOnPurchaseOrder):
        return _answer(
            request,
            staff,
            draft,
            _failure(
                gettext(
                    "%(sku)s %(name)s is not on %(document)s. Put it aside and call a supervisor,"
                    " or scan the next item."
                )
                % {"sku": product.sku, "name": product.name, "document": _document(draft)}
            ),
        )
    except ReceivingClosed:
        return _answer(request, staff, draft, _failure(_closed_message(draft)))
    except ApplicationError as exc:
        return _answer(request, staff, draft, Notice.failure(exc))
    if result.repeated:
        message = gettext("That scan was already counted: %(sku)s stays at %(counted)s.")
    else:
        message = gettext("Counted %(quantity)s × %(sku)s %(name)s: %(counted)s so far.")
    expected = _expected(draft, product.pk)
    over = ""
    if expected is not None and not draft.blind and result.counted > expected:
        over = gettext(
            "That is more than the %(expected)s sent. Check the label; if they really came,"
            " say why when you finish."
        ) % {"expected": expected}
    notice = Notice.success(
        message
        % {
            "quantity": result.scan.quantity,
            "sku": product.sku,
            "name": product.name,
            "counted": result.counted,
        },
        extra=over,
    )
    return _answer(request, staff, draft, notice, touched=product.pk)


def _expected(draft: ReceivingDraft, product_id: int) -> int | None:
    if draft.transfer is None:
        return receiving_po.expected_of(draft, product_id)
    line = draft.transfer.lines.filter(product_id=product_id).first()
    return line.quantity if line else None


def _failure(message: str) -> Notice:
    return Notice(ok=False, message=message)


@require_POST
@staff_page("receiving", roles=STOCK_ROLES)
def receiving_line_reset(
    request: HttpRequest, staff: Staff, draft_id: int, product_id: int
) -> HttpResponse:
    """Count a line again from 0 (a miscount): a correction scan, idempotent by its id."""
    location = staff.require_write()
    draft = _draft_or_404(location, draft_id)
    line = next((ln for ln in _lines(draft) if ln.product.pk == product_id), None)
    if line is None:
        raise Http404("no such line")
    try:
        receiving_line_set(
            draft=draft,
            scan_id=request.POST.get("scan_id", "").strip()[:64] or uuid.uuid4().hex,
            product=line.product,
            counted=0,
            actor=staff.user,
        )
    except ReceivingClosed:
        return _answer(request, staff, draft, _failure(_closed_message(draft)))
    except ApplicationError as exc:
        return _answer(request, staff, draft, Notice.failure(exc))
    notice = Notice.success(
        gettext("%(sku)s is back at 0: scan its units again.") % {"sku": line.product.sku}
    )
    return _answer(request, staff, draft, notice, touched=product_id)


# --------------------------------------------------------------------------- finishing


class FinishForm(forms.Form):
    """A reason for every line counted differently from what was expected."""

    def __init__(self, lines: list[ReceivingLine], data: Any = None) -> None:
        super().__init__(data)
        self.differing = [ln for ln in lines if ln.expected is not None and ln.difference]
        for line in self.differing:
            causes = SHORT_CAUSES if line.difference < 0 else OVER_CAUSES
            self.fields[f"cause_{line.product.pk}"] = forms.ChoiceField(
                label=_("Why?"),
                choices=[("", _("Choose a reason"))] + [(c, CAUSE_LABELS[c]) for c in causes],
                error_messages={"required": _("Choose why this line differs.")},
            )
            self.fields[f"note_{line.product.pk}"] = forms.CharField(
                label=_("Note"), max_length=200, required=False
            )

    def rows(self) -> list[tuple[ReceivingLine, forms.BoundField, forms.BoundField]]:
        return [
            (ln, self[f"cause_{ln.product.pk}"], self[f"note_{ln.product.pk}"])
            for ln in self.differing
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for line in self.differing:
            pid = line.product.pk
            if data.get(f"cause_{pid}") == ReceivingCause.OTHER and not data.get(f"note_{pid}"):
                self.add_error(f"note_{pid}", _("Say in a few words what happened."))
        return data

    def reasons(self) -> dict[int, LineReason]:
        return {
            ln.product.pk: LineReason(
                cause=self.cleaned_data[f"cause_{ln.product.pk}"],
                note=self.cleaned_data[f"note_{ln.product.pk}"],
            )
            for ln in self.differing
        }


@staff_page("receiving", roles=STOCK_ROLES)
def receiving_finish_view(request: HttpRequest, staff: Staff, draft_id: int) -> HttpResponse:
    """GET: what was counted against what was expected (a blind count shows the expected
    quantities only here), with a reason asked for each difference. POST: book it."""
    assert staff.location is not None
    draft = _draft_or_404(staff.location, draft_id)
    if draft.status != "open":
        messages.info(request, _closed_message(draft))
        return redirect(reverse("staff:receiving") + staff.at_query)
    po_page = receiving_po.finish(request, staff, draft, _lines_context(staff, draft))
    if po_page is not None:
        return po_page
    lines = receiving_lines(draft)
    form = FinishForm(lines, request.POST if request.method == "POST" else None)
    notice = None
    if request.method == "POST":
        staff.require_write()
        if form.is_valid():
            try:
                receiving_finish(draft=draft, reasons=form.reasons(), actor=staff.user)
            except ApplicationError as exc:
                notice = _finish_failure(draft, exc)
                if isinstance(exc, ReceivingReasonMissing):
                    form = FinishForm(receiving_lines(draft))  # the lines as they are now
            else:
                messages.success(request, _booked_message(draft, lines))
                return redirect(reverse("staff:receiving") + staff.at_query)
    context = _lines_context(staff, draft, notice)
    context.update({"form": form, "differing": form.differing})
    return render(
        request,
        "staff/receiving_finish.html",
        context,
        status=422 if request.method == "POST" else 200,
    )


def _finish_failure(draft: ReceivingDraft, exc: ApplicationError) -> Notice:
    if isinstance(exc, ReceivingClosed | TransferInvalidState):
        return _failure(_closed_message(draft))
    if isinstance(exc, ReceivingReasonMissing):
        return _failure(
            gettext(
                "The count changed while you were finishing (another scan came in). Check the"
                " lines again and give a reason for each difference."
            )
        )
    if isinstance(exc, NoLines):
        return _failure(
            gettext("Nothing has been counted yet. Go back, scan the delivered items, then finish.")
        )
    return Notice.failure(exc)


def _booked_message(draft: ReceivingDraft, lines: list[ReceivingLine]) -> str:
    counted = sum(ln.counted for ln in lines if ln.counted > 0)
    differing = sum(1 for ln in lines if ln.expected is not None and ln.difference)
    if draft.transfer is not None and differing:
        return ngettext(
            "Received %(document)s: %(units)s units booked, %(differing)s line with a difference"
            " recorded. The sending location has been asked to count it.",
            "Received %(document)s: %(units)s units booked, %(differing)s lines with a difference"
            " recorded. The sending location has been asked to count them.",
            differing,
        ) % {"document": _document(draft), "units": counted, "differing": differing}
    return gettext("Received %(document)s: %(units)s units booked into stock here.") % {
        "document": _document(draft),
        "units": counted,
    }


@require_POST
@staff_page("receiving", roles=STOCK_ROLES)
def receiving_discard_view(request: HttpRequest, staff: Staff, draft_id: int) -> HttpResponse:
    location = staff.require_write()
    draft = _draft_or_404(location, draft_id)
    try:
        receiving_discard(draft=draft, actor=staff.user)
    except ReceivingClosed:
        messages.info(request, _closed_message(draft))
    else:
        messages.success(
            request,
            gettext("The count of %(document)s was thrown away; nothing was booked.")
            % {"document": _document(draft)},
        )
    return redirect(reverse("staff:receiving") + staff.at_query)
