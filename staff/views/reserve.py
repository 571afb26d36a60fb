"""Walk-in hold tickets at the counter: write a ticket of several items for a customer (from the
stock lookup, or by scanning here), hold it all at once, then sell it at the counter or release
it. Where this store is short of an item, the nearby stores that have it are offered: ask one
to send it here (a transfer draft) or hold it there for the customer.

The services are ``orders.services.hold_ticket_*``; this module only reads forms, checks that
the ticket and the stores are this clerk's to use, and says what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from inventory.models import Location
from inventory.selectors import location_by_code
from inventory.services import MAX_LINE_QUANTITY
from omni.errors import ApplicationError
from orders.models import HoldTicket, HoldTicketLine, HoldTicketStatus
from orders.selectors import (
    free_units,
    hold_ticket_at,
    hold_ticket_draft_find,
    hold_tickets_held,
)
from orders.services import (
    hold_ticket_draft,
    hold_ticket_hold,
    hold_ticket_hold_elsewhere,
    hold_ticket_line_add,
    hold_ticket_line_set,
    hold_ticket_release,
    hold_ticket_sell,
    hold_ticket_transfer_request,
)
from staff.views.common import (
    COUNTER_ROLES,
    Notice,
    ScanInput,
    Staff,
    product_by_code,
    render_page,
    staff_page,
)
from staff.views.stock import nearby_stores, render_lookup


class AddForm(forms.Form):
    code = forms.CharField(
        label=_("Scan or type an item to add"), max_length=64, widget=ScanInput()
    )
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_LINE_QUANTITY, initial=1
    )


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=MAX_LINE_QUANTITY)


class CustomerForm(forms.Form):
    customer_name = forms.CharField(label=_("Customer name"), max_length=40, required=False)
    customer_phone = forms.CharField(
        label=_("Customer phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    hours = forms.IntegerField(label=_("Hold for (hours)"), min_value=1, max_value=168, initial=4)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("customer_name") and not data.get("customer_phone"):
            self.add_error("customer_name", _("Enter the customer's name or phone."))
        return data


@dataclass
class DraftLine:
    line: HoldTicketLine
    available: int  # free at this store now
    nearby: list[dict[str, Any]] = field(default_factory=list)  # when short here

    @property
    def short(self) -> bool:
        return self.available < self.line.quantity


def _draft_lines(staff: Staff, ticket: HoldTicket) -> list[DraftLine]:
    assert staff.location is not None
    lines = list(ticket.lines.select_related("product").order_by("id"))
    free = free_units(store=staff.location, product_ids=[ln.product_id for ln in lines])
    drafts = [DraftLine(line=ln, available=free.get(ln.product_id, 0)) for ln in lines]
    for draft in drafts:
        if draft.short:
            draft.nearby = nearby_stores(staff.location, draft.line.product)
    return drafts


def held_tickets(location: Location) -> list[dict[str, Any]]:
    now = timezone.now()
    return [
        {"ticket": t, "overdue": t.hold_until is not None and t.hold_until <= now}
        for t in hold_tickets_held(store=location)
    ]


def _render(
    request: HttpRequest,
    staff: Staff,
    *,
    notice: Notice | None = None,
    add_form: AddForm | None = None,
    customer_form: CustomerForm | None = None,
    status: int = 200,
) -> HttpResponse:
    assert staff.location is not None
    ticket = hold_ticket_draft_find(store=staff.location, user=staff.user)
    return render_page(
        request,
        staff,
        page="staff/reserve.html",
        panel="staff/_reserve_panel.html",
        context={
            "ticket": ticket,
            "lines": _draft_lines(staff, ticket) if ticket is not None else [],
            "add_form": add_form or AddForm(),
            "customer_form": customer_form or CustomerForm(),
            "held": held_tickets(staff.location),
            "notice": notice,
        },
        status=status,
    )


def _failure(request: HttpRequest, staff: Staff, exc: ApplicationError, **kw: Any) -> HttpResponse:
    return _render(request, staff, notice=Notice.failure(exc), **kw)


def _own_ticket(staff: Staff, ticket_id: int) -> HoldTicket:
    """A ticket of the store this page works at; anything else is a 404."""
    assert staff.location is not None
    ticket = hold_ticket_at(store=staff.location, ticket_id=ticket_id)
    if ticket is None:
        raise Http404("no such ticket here")
    return ticket


def _nearby_store(staff: Staff, line: HoldTicketLine, code: str) -> Location:
    """One of the nearby stores offered for this line (live, within reach, with units)."""
    assert staff.location is not None
    for row in nearby_stores(staff.location, line.product):
        if row["code"] == code:
            return location_by_code(row["code"])
    raise Http404("no such store nearby")


def _draft_line(staff: Staff, line_id: int) -> tuple[HoldTicket, HoldTicketLine]:
    assert staff.location is not None
    ticket = hold_ticket_draft_find(store=staff.location, user=staff.user)
    line = (
        ticket.lines.select_related("product").filter(pk=line_id).first()
        if ticket is not None
        else None
    )
    if ticket is None or line is None:
        raise Http404("no such line on your ticket")
    return ticket, line


def _items(lines: list[tuple[int, str]]) -> str:
    return ", ".join(f"{q} × {sku}" for q, sku in lines)


# --------------------------------------------------------------------------- the draft


@staff_page("reserve", roles=COUNTER_ROLES)
def reserve(request: HttpRequest, staff: Staff) -> HttpResponse:
    """The ticket being written and the tickets held here; a scan adds an item."""
    if request.method != "POST":
        return _render(request, staff)
    location = staff.require_write()
    form = AddForm(request.POST)
    if not form.is_valid():
        return _render(request, staff, add_form=form)
    try:
        product = product_by_code(form.cleaned_data["code"])
        ticket = hold_ticket_draft(store=location, actor=staff.user)
        line = hold_ticket_line_add(
            ticket=ticket, product=product, quantity=form.cleaned_data["quantity"]
        )
    except ApplicationError as exc:
        return _failure(request, staff, exc)
    return _render(request, staff, notice=_added(line))


def _added(line: HoldTicketLine) -> Notice:
    return Notice.success(
        gettext(
            "%(sku)s is on the ticket: %(quantity)s in all. Add the next item, or fill in the"
            " customer and hold the ticket."
        )
        % {"sku": line.product.sku, "quantity": line.quantity}
    )


@require_POST
@staff_page("reserve", roles=COUNTER_ROLES)
def reserve_add(request: HttpRequest, staff: Staff) -> HttpResponse:
    """“Hold for a customer” on the stock lookup: the item goes on this clerk's ticket, and the
    clerk stays on the lookup for the next item."""
    location = staff.require_write()
    form = AddForm(request.POST)
    back = reverse("staff:stock") + staff.at_query
    if not form.is_valid():
        return redirect(back)
    try:
        product = product_by_code(form.cleaned_data["code"])
        line = hold_ticket_line_add(
            ticket=hold_ticket_draft(store=location, actor=staff.user),
            product=product,
            quantity=form.cleaned_data["quantity"],
        )
    except ApplicationError as exc:
        return render_lookup(request, staff, notice=Notice.failure(exc))
    return render_lookup(request, staff, notice=_added(line), product=line.product)


@require_POST
@staff_page("reserve", roles=COUNTER_ROLES)
def reserve_line(request: HttpRequest, staff: Staff, line_id: int) -> HttpResponse:
    """Change a draft line's quantity; 0 (or the remove button) takes it off."""
    staff.require_write()
    ticket, line = _draft_line(staff, line_id)
    form = QuantityForm(request.POST)
    quantity = form.cleaned_data["quantity"] if form.is_valid() else None
    if "remove" in request.POST:
        quantity = 0
    if quantity is None:
        problem = gettext("Type a whole number of units, or remove the item.")
        return _render(
            request, staff, notice=Notice(ok=False, message=problem, code="hold_ticket_invalid")
        )
    try:
        hold_ticket_line_set(ticket=ticket, line_id=line.pk, quantity=quantity)
    except ApplicationError as exc:
        return _failure(request, staff, exc)
    if quantity == 0:
        message = gettext("%(sku)s is off the ticket.") % {"sku": line.product.sku}
    else:
        message = gettext("%(sku)s: %(quantity)s on the ticket now.") % {
            "sku": line.product.sku,
            "quantity": quantity,
        }
    return _render(request, staff, notice=Notice.success(message))


@require_POST
@staff_page("reserve", roles=COUNTER_ROLES)
def reserve_hold(request: HttpRequest, staff: Staff) -> HttpResponse:
    """Hold the whole ticket for the customer, all or nothing."""
    location = staff.require_write()
    form = CustomerForm(request.POST)
    if not form.is_valid():
        return _render(request, staff, customer_form=form)
    data = form.cleaned_data
    try:
        ticket = hold_ticket_hold(
            ticket=hold_ticket_draft(store=location, actor=staff.user),
            customer_name=data["customer_name"],
            customer_phone=data["customer_phone"],
            hold_until=timezone.now() + timedelta(hours=data["hours"]),
            actor=staff.user,
        )
    except ApplicationError as exc:
        return _failure(request, staff, exc, customer_form=form)
    lines = list(ticket.lines.values_list("quantity", "product__sku"))
    assert ticket.hold_until is not None
    notice = Notice.success(
        gettext(
            "Ticket %(ticket)s is held until %(time)s: %(items)s. Give the customer the ticket"
            " number; they show it when they come back."
        )
        % {
            "ticket": ticket.number,
            "time": timezone.localtime(ticket.hold_until).strftime("%m-%d %H:%M"),
            "items": _items(lines),
        }
    )
    return _render(request, staff, notice=notice)


# --------------------------------------------------------------------------- nearby stores


@require_POST
@staff_page("reserve", roles=COUNTER_ROLES)
def reserve_transfer(request: HttpRequest, staff: Staff, line_id: int) -> HttpResponse:
    """Ask a nearby store to send a short item here: a transfer draft it approves."""
    staff.require_write()
    ticket, line = _draft_line(staff, line_id)
    source = _nearby_store(staff, line, request.POST.get("store", ""))
    try:
        transfer = hold_ticket_transfer_request(
            ticket=ticket, line_id=line.pk, source=source, actor=staff.user
        )
    except ApplicationError as exc:
        return _failure(request, staff, exc)
    notice = Notice.success(
        gettext(
            "Asked %(store)s to send %(quantity)s × %(sku)s here (transfer %(transfer)s, waiting"
            " for %(store)s to approve it). Take the customer's phone and call them when it"
            " arrives."
        )
        % {
            "store": source.code,
            "quantity": line.quantity,
            "sku": line.product.sku,
            "transfer": transfer.pk,
        }
    )
    return _render(request, staff, notice=notice)


@require_POST
@staff_page("reserve", roles=COUNTER_ROLES)
def reserve_hold_there(request: HttpRequest, staff: Staff, line_id: int) -> HttpResponse:
    """Hold a short item at a nearby store for the same customer, on a ticket there."""
    staff.require_write()
    ticket, line = _draft_line(staff, line_id)
    there = _nearby_store(staff, line, request.POST.get("store", ""))
    form = CustomerForm(request.POST)
    if not form.is_valid():
        return _render(request, staff, customer_form=form)
    data = form.cleaned_data
    try:
        held = hold_ticket_hold_elsewhere(
            ticket=ticket,
            line_id=line.pk,
            store=there,
            customer_name=data["customer_name"],
            customer_phone=data["customer_phone"],
            hold_until=timezone.now() + timedelta(hours=data["hours"]),
            actor=staff.user,
        )
    except ApplicationError as exc:
        return _failure(request, staff, exc, customer_form=form)
    assert held.hold_until is not None
    notice = Notice.success(
        gettext(
            "Held %(quantity)s × %(sku)s at %(store)s %(name)s on ticket %(ticket)s until"
            " %(time)s: the customer collects it there with that number."
        )
        % {
            "quantity": line.quantity,
            "sku": line.product.sku,
            "store": there.code,
            "name": there.name,
            "ticket": held.number,
            "time": timezone.localtime(held.hold_until).strftime("%m-%d %H:%M"),
        }
    )
    return _render(request, staff, notice=notice, customer_form=form)


# --------------------------------------------------------------------------- held tickets


@staff_page("reserve", roles=COUNTER_ROLES)
def reserve_sell(request: HttpRequest, staff: Staff, ticket_id: int) -> HttpResponse:
    """Sell a held ticket at the counter: how many of each line the customer takes (all, by
    default); the rest goes back to stock."""
    ticket = _own_ticket(staff, ticket_id)
    lines = list(ticket.lines.select_related("product").order_by("id"))
    context: dict[str, Any] = {"ticket": ticket, "lines": lines}
    if request.method == "POST" and ticket.status == HoldTicketStatus.HELD:
        staff.require_write()
        quantities: dict[int, int] = {}
        for line in lines:
            raw = request.POST.get(f"line-{line.pk}", "0").strip() or "0"
            if not raw.isdigit() or int(raw) > line.quantity:
                context["notice"] = Notice(
                    ok=False,
                    code="hold_ticket_invalid",
                    message=gettext(
                        "%(sku)s: type a number from 0 to %(most)s, the units held for it."
                    )
                    % {"sku": line.product.sku, "most": line.quantity},
                )
                return _sell_page(request, staff, context, status=400)
            quantities[line.pk] = int(raw)
        try:
            order = hold_ticket_sell(ticket=ticket, quantities=quantities, actor=staff.user)
        except ApplicationError as exc:
            context["notice"] = Notice.failure(exc)
            return _sell_page(request, staff, context, status=exc.http_status)
        sold = [(q, ln.product.sku) for ln in lines if (q := quantities[ln.pk])]
        kept = sum(ln.quantity - quantities[ln.pk] for ln in lines)
        message = gettext("Sold ticket %(ticket)s as order %(order)s: %(items)s.") % {
            "ticket": ticket.number,
            "order": order.pk,
            "items": _items(sold),
        }
        if kept:
            message += " " + ngettext(
                "The %(units)s unit not taken went back to stock.",
                "The %(units)s units not taken went back to stock.",
                kept,
            ) % {"units": kept}
        return _render(request, staff, notice=Notice.success(message))
    if ticket.status != HoldTicketStatus.HELD:
        context["closed"] = True
    return _sell_page(request, staff, context)


def _sell_page(
    request: HttpRequest, staff: Staff, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render_page(
        request,
        staff,
        page="staff/reserve_sell.html",
        panel="staff/_reserve_sell_panel.html",
        context=context,
        status=status,
    )


@require_POST
@staff_page("reserve", roles=COUNTER_ROLES)
def reserve_release(request: HttpRequest, staff: Staff, ticket_id: int) -> HttpResponse:
    staff.require_write()
    ticket = _own_ticket(staff, ticket_id)
    try:
        hold_ticket_release(ticket=ticket, actor=staff.user)
    except ApplicationError as exc:
        return _failure(request, staff, exc)
    notice = Notice.success(
        gettext("Released ticket %(ticket)s: its items are back in stock.")
        % {"ticket": ticket.number}
    )
    return _render(request, staff, notice=notice)
