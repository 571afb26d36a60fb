"""Packing and shipping: delivery orders whose units are picked here and not packed yet, each
packed and shipped in one step (carrier and tracking number), and parcels packed but not
shipped yet."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fulfillment.models import Package
from fulfillment.selectors import (
    PackOrder,
    pack_queue,
    package_visible,
    packed_packages,
    shipped_recently,
)
from fulfillment.services import package_create, package_ship
from omni.errors import ApplicationError, NotFound
from orders.selectors import order_visible
from staff.views.common import Notice, Staff, focus_field, render_page, staff_page
from staff.views.picking import order_status_label

OTHER_CARRIER = "other"
# The value is what the package records and the customer's message names.
CARRIERS = [
    ("SF Express", _("SF Express")),
    ("ZTO Express", _("ZTO Express")),
    ("YTO Express", _("YTO Express")),
    ("JD Logistics", _("JD Logistics")),
    ("EMS", _("EMS")),
    (OTHER_CARRIER, _("Other")),
]


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(label=_("Carrier"), choices=CARRIERS)
    tracking_number = forms.CharField(
        label=_("Tracking number"),
        max_length=64,
        required=False,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
                "enterkeyhint": "go",
                "class": "scan",
            }
        ),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        data["tracking_number"] = (data.get("tracking_number") or "").strip()
        if data.get("carrier") not in (None, OTHER_CARRIER) and not data["tracking_number"]:
            self.add_error("tracking_number", _("Scan or type the tracking number."))
        return data

    @property
    def carrier_name(self) -> str:
        carrier = str(self.cleaned_data["carrier"])
        return "" if carrier == OTHER_CARRIER else carrier


def ship_form(order_id: int, data: QueryDict | None = None) -> ShipForm:
    return ShipForm(data, prefix=f"o{order_id}")


def _render(
    request: HttpRequest,
    staff: Staff,
    *,
    notice: Notice | None = None,
    shipped: Package | None = None,
    forms_by_order: dict[int, ShipForm] | None = None,
) -> HttpResponse:
    assert staff.location is not None
    forms_by_order = forms_by_order or {}
    queue: list[tuple[PackOrder, ShipForm]] = [
        (entry, forms_by_order.get(entry.order.pk) or ship_form(entry.order.pk))
        for entry in pack_queue(staff.location)
    ]
    if queue:
        # The first order's tracking number takes the scan of the parcel's label (a field
        # with an error, marked ``data-focus``, goes before it).
        queue[0][1].fields["tracking_number"].widget.attrs["data-scan"] = ""
    return render_page(
        request,
        staff,
        page="staff/packing.html",
        panel="staff/_packing_panel.html",
        context={
            "queue": queue,
            "packed": packed_packages(staff.location),
            "recent": shipped_recently(staff.location),
            "notice": notice,
            "shipped": shipped,
            "shipped_status": order_status_label(shipped.order.status) if shipped else "",
        },
    )


@staff_page("packing")
def packing(request: HttpRequest, staff: Staff) -> HttpResponse:
    return _render(request, staff)


def _shipped_notice(package: Package) -> Notice:
    units = sum(line.quantity for line in package.lines.all())
    return Notice.success(
        gettext(
            "Package %(package)s of order %(order)s shipped: %(units)s units"
            " with %(carrier)s %(tracking)s. The order is %(status)s."
        )
        % {
            "package": package.pk,
            "order": package.order_id,
            "units": units,
            "carrier": package.carrier or gettext("our own courier"),
            "tracking": package.tracking_number,
            "status": order_status_label(package.order.status),
        }
    )


@require_POST
@staff_page("packing")
def pack_and_ship(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    """Every unit of the order picked here goes into one parcel, which leaves at once."""
    location = staff.require_write()
    try:
        order = order_visible(staff.user, order_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = ship_form(order.pk, request.POST)
    if not form.is_valid():
        focus_field(form)
        return _render(request, staff, forms_by_order={order.pk: form})
    try:
        # Both or neither: a parcel that could not leave is not left packed behind.
        with transaction.atomic():
            package = package_create(
                order=order,
                location=location,
                carrier=form.carrier_name,
                tracking_number=form.cleaned_data["tracking_number"],
                actor=staff.user,
            )
            package = package_ship(package=package, actor=staff.user)
    except ApplicationError as exc:
        return _render(request, staff, notice=Notice.failure(exc), forms_by_order={order.pk: form})
    package = Package.objects.select_related("order").get(pk=package.pk)
    return _render(request, staff, notice=_shipped_notice(package), shipped=package)


@require_POST
@staff_page("packing")
def package_ship_view(request: HttpRequest, staff: Staff, package_id: int) -> HttpResponse:
    """A parcel packed earlier (through the API) leaves."""
    location = staff.require_write()
    try:
        package = package_visible(staff.user, package_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if package.location_id != location.pk:
        raise Http404("no such package here")
    tracking = request.POST.get("tracking_number", "").strip()[:64]
    try:
        package_ship(package=package, tracking_number=tracking, actor=staff.user)
    except ApplicationError as exc:
        return _render(request, staff, notice=Notice.failure(exc))
    package = Package.objects.select_related("order").get(pk=package.pk)
    return _render(request, staff, notice=_shipped_notice(package), shipped=package)
