"""Reserve for a walk-in customer: hold units at the counter for a few hours, list this
store's holds, release one.

A walk-in hold is a ``walk_in`` reservation. The reservation has no customer fields, so its
``owner_id`` carries the ticket, the phone and the name: ``W-20250101-3|13800000000|Li``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from inventory.models import Location, Reservation, ReservationStatus
from inventory.selectors import reservation_visible
from inventory.services import (
    MAX_LINE_QUANTITY,
    ReserveLine,
    reservation_release,
    stock_reserve_many,
)
from omni.errors import ApplicationError, NotFound
from staff.views.common import (
    COUNTER_ROLES,
    Notice,
    ScanInput,
    Staff,
    focus_field,
    product_by_code,
    render_page,
    staff_page,
)

WALK_IN = "walk_in"
OWNER_ID_LENGTH = 64  # Reservation.owner_id


class ReserveForm(forms.Form):
    code = forms.CharField(label=_("SKU or barcode"), max_length=64, widget=ScanInput())
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_LINE_QUANTITY, initial=1
    )
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


def walk_in_owner_id(*, ticket: str, name: str, phone: str) -> str:
    parts = [ticket, phone.replace("|", "/").strip(), name.replace("|", "/").strip()]
    return "|".join(parts)[:OWNER_ID_LENGTH]


def walk_in_customer(owner_id: str) -> dict[str, str]:
    ticket, phone, name = ([*owner_id.split("|", 2), "", ""])[:3]
    return {"ticket": ticket, "phone": phone, "name": name}


def next_ticket(location: Location) -> str:
    """``W-<local date>-<n>``: the n-th walk-in hold of the day at this store. Only a label for
    the customer and the clerk; two clerks at the same second may share a number, the name and
    phone still tell the holds apart."""
    prefix = f"W-{timezone.localdate():%Y%m%d}-"
    taken = Reservation.objects.filter(
        location=location, owner_type=WALK_IN, owner_id__startswith=prefix
    ).count()
    return f"{prefix}{taken + 1}"


def active_holds(location: Location) -> list[dict[str, Any]]:
    now = timezone.now()
    holds = Reservation.objects.filter(
        location=location, owner_type=WALK_IN, status=ReservationStatus.ACTIVE
    ).select_related("product")
    return [
        {
            "reservation": hold,
            "overdue": hold.expires_at is not None and hold.expires_at <= now,
            **walk_in_customer(hold.owner_id),
        }
        for hold in holds.order_by("expires_at", "id")
    ]


def _render(request: HttpRequest, staff: Staff, form: ReserveForm, **context: Any) -> HttpResponse:
    assert staff.location is not None
    return render_page(
        request,
        staff,
        page="staff/reserve.html",
        panel="staff/_reserve_panel.html",
        context={
            "form": form,
            "holds": active_holds(staff.location),
            **context,
        },
    )


@staff_page("reserve", roles=COUNTER_ROLES)
def reserve(request: HttpRequest, staff: Staff) -> HttpResponse:
    if request.method != "POST":
        return _render(request, staff, ReserveForm())
    location = staff.require_write()
    form = ReserveForm(request.POST)
    if not form.is_valid():
        focus_field(form)
        return _render(request, staff, form)
    data = form.cleaned_data
    try:
        product = product_by_code(data["code"])
        ticket = next_ticket(location)
        expires_at = timezone.now() + timedelta(hours=data["hours"])
        (hold,) = stock_reserve_many(
            lines=[ReserveLine(product=product, location=location, quantity=data["quantity"])],
            owner_type=WALK_IN,
            owner_id=walk_in_owner_id(
                ticket=ticket, name=data["customer_name"], phone=data["customer_phone"]
            ),
            expires_at=expires_at,
            actor=staff.user,
        )
    except ApplicationError as exc:
        return _render(request, staff, form, notice=Notice.failure(exc))
    notice = Notice.success(
        gettext("Held %(quantity)s × %(sku)s until %(time)s: ticket %(ticket)s.")
        % {
            "quantity": hold.quantity,
            "sku": product.sku,
            "time": timezone.localtime(expires_at).strftime("%H:%M"),
            "ticket": ticket,
        }
    )
    ticket_card = {"reservation": hold, "product": product, **walk_in_customer(hold.owner_id)}
    return _render(request, staff, ReserveForm(), notice=notice, ticket=ticket_card)


@require_POST
@staff_page("reserve", roles=COUNTER_ROLES)
def reserve_release(request: HttpRequest, staff: Staff, reservation_id: int) -> HttpResponse:
    location = staff.require_write()
    try:
        hold = reservation_visible(staff.user, reservation_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if hold.location_id != location.pk or hold.owner_type != WALK_IN:
        raise Http404("no such hold here")
    try:
        reservation_release(reservation=hold, reason="released at the counter", actor=staff.user)
    except ApplicationError as exc:
        notice = Notice.failure(exc)
    else:
        customer = walk_in_customer(hold.owner_id)
        notice = Notice.success(
            gettext("Released ticket %(ticket)s: %(quantity)s × %(sku)s back to stock.")
            % {"ticket": customer["ticket"], "quantity": hold.quantity, "sku": hold.product.sku}
        )
    return _render(request, staff, ReserveForm(), notice=notice)
