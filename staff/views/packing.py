"""Packing by scanning at a packing station.

The station (``packing``) lists the delivery orders with units picked here and not packed yet,
each with its picking progress (ready to pack, or only as a partial shipment) and its totes.
Its scan box sorts to order: an item from a batch-picking cart names the order (and tote) it
belongs to and goes into that order's package; an order number opens that order.

An order (``pack_order``) is packed by scanning each item into its open package; the package
is closed with carrier, service, weight and tracking number (its slip and label print as PDFs),
another can be started, and the order's packages ship together.

Every scan is sent by the page's small scan queue (``staff/_scan_queue.html``) with an id of its
own, one at a time and in order; the server treats a repeated id as the same scan. The scan box
sits outside the panel each answer replaces, so it is never swapped out while a scanner types.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from fulfillment import documents
from fulfillment.models import Package, PackageStatus, ShippingService
from fulfillment.packing import (
    MAX_WEIGHT_GRAMS,
    PackScanResult,
    order_packages_ship,
    pack_station_scan,
    package_close,
    package_scan,
    station_target,
)
from fulfillment.selectors import (
    PackOrder,
    open_packages,
    order_in_tote,
    pack_orders,
    pack_queue,
    package_number,
    package_visible,
    packed_packages,
    shipped_recently,
)
from fulfillment.services import package_ship
from inventory.errors import UnknownProduct
from inventory.models import Product
from omni.errors import ApplicationError, InvalidInput, NotFound
from orders.models import Order, OrderMode, OrderStatus
from orders.selectors import order_visible
from staff.views.common import Notice, Staff, render_page, staff_page
from staff.views.picking import order_status_label

OTHER_CARRIER = "other"
# The value is what the package records and the customer's message names.
CARRIERS = [
    ("SF Express", _("SF Express")),
    ("ZTO Express", _("ZTO Express")),
    ("YTO Express", _("YTO Express")),
    ("JD Logistics", _("JD Logistics")),
    ("EMS", _("EMS")),
    (OTHER_CARRIER, _("Own courier")),
]
SERVICES = [
    (ShippingService.STANDARD, _("Standard")),
    (ShippingService.EXPRESS, _("Express")),
    (ShippingService.SAME_DAY, _("Same day")),
]


class CloseForm(forms.Form):
    """Closing the open package: who carries it, how fast, its weight and tracking number."""

    carrier = forms.ChoiceField(label=_("Carrier"), choices=CARRIERS)
    service = forms.ChoiceField(label=_("Service"), choices=SERVICES)
    weight_kg = forms.DecimalField(
        label=_("Weight (kg, optional)"),
        required=False,
        min_value=0.001,
        max_value=MAX_WEIGHT_GRAMS // 1000,
        decimal_places=3,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.001", "class": "qty"}),
    )
    tracking_number = forms.CharField(
        label=_("Tracking number (empty: Omni's parcel number)"),
        max_length=64,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )

    @property
    def carrier_name(self) -> str:
        carrier = str(self.cleaned_data["carrier"])
        return "" if carrier == OTHER_CARRIER else carrier

    @property
    def weight_grams(self) -> int | None:
        weight = self.cleaned_data.get("weight_kg")
        return None if weight is None else max(1, round(weight * 1000))


# --------------------------------------------------------------------------- rendering


def _scan_message(result: PackScanResult) -> str:
    item = result.scan.product
    words = {
        "sku": item.sku,
        "name": item.name,
        "order": result.order.pk,
        "tote": result.tote,
        "package": result.scan.package_id,
        "packed": result.packed,
        "wanted": result.wanted,
    }
    if result.repeated:
        return (
            gettext(
                "This scan was counted already: %(sku)s is in package %(package)s"
                " (%(packed)s of %(wanted)s packed). Scan the next item."
            )
            % words
        )
    if result.tote is not None:
        return (
            gettext(
                "%(sku)s → order %(order)s, tote %(tote)s: packed into package %(package)s"
                " (%(packed)s of %(wanted)s)."
            )
            % words
        )
    return (
        gettext(
            "%(sku)s → order %(order)s: packed into package %(package)s (%(packed)s of %(wanted)s)."
        )
        % words
    )


def _render_station(
    request: HttpRequest,
    staff: Staff,
    *,
    notice: Notice | None = None,
    sorted_to: PackOrder | None = None,
    sort_tote: int | None = None,
    status: int = 200,
) -> HttpResponse:
    assert staff.location is not None
    queue, waiting = pack_queue(staff.location)
    return render_page(
        request,
        staff,
        page="staff/packing.html",
        panel="staff/_packing_panel.html",
        context={
            "queue": queue,
            "waiting": waiting,
            "more": max(0, waiting - len(queue)),
            "open": open_packages(staff.location),
            "packed": packed_packages(staff.location),
            "recent": shipped_recently(staff.location),
            "notice": notice,
            "sorted_to": sorted_to,
            "sort_tote": sort_tote,
            "scan_url": reverse("staff:pack-station-scan") + staff.at_query,
            "scan_id": uuid.uuid4().hex,
        },
        status=status,
    )


def _order_packages(order: Order, location_id: int) -> list[dict[str, Any]]:
    packages = (
        Package.objects.filter(order=order, location_id=location_id)
        .exclude(status=PackageStatus.OPEN)
        .prefetch_related("lines__allocation__line__product")
        .order_by("id")
    )
    rows = []
    for package in packages:
        number = package_number(package)
        rows.append(
            {
                "package": package,
                "n": number.n,
                "of": number.of,
                "units": sum(line.quantity for line in package.lines.all()),
            }
        )
    return rows


def _render_order(
    request: HttpRequest,
    staff: Staff,
    order: Order,
    *,
    partial: bool = False,
    notice: Notice | None = None,
    close_form: CloseForm | None = None,
    touched: int | None = None,
) -> HttpResponse:
    assert staff.location is not None
    entries = pack_orders([order.pk], staff.location)
    entry = entries[0] if entries else None
    order.refresh_from_db()
    packages = _order_packages(order, staff.location.pk)
    query = staff.at_query + ("&partial=1" if partial and staff.at_query else "")
    if partial and not staff.at_query:
        query = "?partial=1"
    return render_page(
        request,
        staff,
        page="staff/pack_order.html",
        panel="staff/_pack_order_panel.html",
        context={
            "order": order,
            "status_label": order_status_label(order.status),
            "entry": entry,
            "partial": partial,
            "may_pack": entry is not None and (entry.ready or partial or entry.open_package),
            "packages": packages,
            "to_ship": [p for p in packages if p["package"].status == PackageStatus.PACKED],
            "close_form": close_form or CloseForm(prefix="close"),
            "notice": notice,
            "touched": touched,
            "query": query,
            "scan_url": reverse("staff:pack-order-scan", args=[order.pk]) + query,
            "scan_id": uuid.uuid4().hex,
        },
    )


def _visible_order(staff: Staff, order_id: int) -> Order:
    try:
        order = order_visible(staff.user, order_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if order.mode != OrderMode.DELIVERY:
        raise Http404("only deliveries are packed")
    return order


def _scan_fields(request: HttpRequest) -> tuple[str, str]:
    code = request.POST.get("code", "").strip()
    scan_id = request.POST.get("scan_id", "").strip()
    if not code:
        raise InvalidInput(_("Scan an item, a tote or an order number."), detail={"field": "code"})
    if len(code) > 64:
        raise InvalidInput(
            _("That code is too long to be an item or an order: scan it again."),
            detail={"field": "code"},
        )
    return code, scan_id


# --------------------------------------------------------------------------- the station


@staff_page("packing")
def packing(request: HttpRequest, staff: Staff) -> HttpResponse:
    notice = None
    shipped = request.GET.get("shipped", "")
    if shipped.isdigit() and len(shipped) < 12:
        try:
            order = order_visible(staff.user, int(shipped))
        except NotFound:
            order = None
        if order is not None and order.status in (
            OrderStatus.SHIPPED,
            OrderStatus.PARTIALLY_SHIPPED,
        ):
            count = request.GET.get("n", "")
            notice = Notice.success(
                gettext(
                    "Order %(order)s: %(count)s package(s) shipped. The order is %(status)s."
                    " Scan the next item or order."
                )
                % {
                    "order": order.pk,
                    "count": int(count) if count.isdigit() and len(count) < 4 else 1,
                    "status": order_status_label(order.status),
                }
            )
    return _render_station(request, staff, notice=notice)


def _order_by_code(staff: Staff, code: str) -> Order | None:
    """An order named by its number or its channel's order number, if the user may see it."""
    orders = Order.objects.filter(mode=OrderMode.DELIVERY)
    found = orders.filter(pk=int(code)).first() if code.isdigit() and len(code) < 12 else None
    found = found or orders.filter(external_id=code).first()
    if found is None:
        return None
    try:
        return order_visible(staff.user, found.pk)
    except NotFound:
        return None


@require_POST
@staff_page("packing")
def station_scan(request: HttpRequest, staff: Staff) -> HttpResponse:
    """A scan at the station: an item is sorted to its order (and packed there when the order
    may be packed now); an order number opens the order."""
    location = staff.require_write()
    try:
        code, scan_id = _scan_fields(request)
        product = (
            Product.objects.filter(barcode=code).first()
            or Product.objects.filter(sku__iexact=code).first()
        )
        if product is None:
            in_tote = order_in_tote(location, code)
            order = _order_by_code(staff, str(in_tote) if in_tote else code)
            if order is not None:
                url = reverse("staff:pack-order", args=[order.pk]) + staff.at_query
                return HttpResponseClientRedirect(url)
            raise UnknownProduct(scanned=code)
        result = pack_station_scan(
            location=location, product=product, scan_id=scan_id, actor=staff.user
        )
        if result is None:
            order, tote = station_target(location, product)
            entry = pack_orders([order.pk], location)
            words = {"sku": product.sku, "order": order.pk, "tote": tote}
            message = (
                gettext(
                    "%(sku)s → order %(order)s, tote %(tote)s. The order is still being picked:"
                    " put the item in its tote and pack it when the rest arrives."
                )
                if tote is not None
                else gettext(
                    "%(sku)s → order %(order)s. The order is still being picked: put the item"
                    " with it and pack it when the rest arrives."
                )
            ) % words
            return _render_station(
                request,
                staff,
                notice=Notice.success(message),
                sorted_to=entry[0] if entry else None,
                sort_tote=tote,
            )
    except ApplicationError as exc:
        return _render_station(request, staff, notice=Notice.failure(exc))
    entry = pack_orders([result.order.pk], location)
    return _render_station(
        request,
        staff,
        notice=Notice.success(_scan_message(result)),
        sorted_to=entry[0] if entry else None,
        sort_tote=result.tote,
    )


# --------------------------------------------------------------------------- one order


@staff_page("packing")
def pack_order(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    order = _visible_order(staff, order_id)
    return _render_order(request, staff, order, partial=request.GET.get("partial") == "1")


@require_POST
@staff_page("packing")
def pack_order_scan(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    """An item scanned into the order's open package."""
    location = staff.require_write()
    order = _visible_order(staff, order_id)
    partial = request.GET.get("partial") == "1"
    touched = None
    try:
        code, scan_id = _scan_fields(request)
        result = package_scan(
            order=order,
            location=location,
            scanned=code,
            scan_id=scan_id,
            partial=partial,
            actor=staff.user,
        )
    except ApplicationError as exc:
        notice = Notice.failure(exc)
    else:
        notice = Notice.success(_scan_message(result))
        touched = result.scan.product_id
    return _render_order(request, staff, order, partial=partial, notice=notice, touched=touched)


@require_POST
@staff_page("packing")
def pack_order_close(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    """The open package is closed: carrier, service, weight, tracking number."""
    location = staff.require_write()
    order = _visible_order(staff, order_id)
    partial = request.GET.get("partial") == "1"
    form = CloseForm(request.POST, prefix="close")
    package = Package.objects.filter(
        order=order, location=location, status=PackageStatus.OPEN
    ).first()
    if not form.is_valid():
        problem = InvalidInput(
            " ".join(str(e) for errors in form.errors.values() for e in errors),
            detail={"fields": sorted(form.errors)},
        )
        return _render_order(
            request, staff, order, partial=partial, notice=Notice.failure(problem), close_form=form
        )
    if package is None:
        problem = InvalidInput(
            _("No package is being packed for this order: scan an item to start one.")
        )
        return _render_order(request, staff, order, partial=partial, notice=Notice.failure(problem))
    try:
        package = package_close(
            package=package,
            carrier=form.carrier_name,
            service=form.cleaned_data["service"],
            weight_grams=form.weight_grams,
            tracking_number=form.cleaned_data["tracking_number"],
            actor=staff.user,
        )
    except ApplicationError as exc:
        return _render_order(
            request, staff, order, partial=partial, notice=Notice.failure(exc), close_form=form
        )
    number = package_number(package)
    notice = Notice.success(
        gettext(
            "Package %(package)s closed (%(n)s of %(of)s), tracking number %(tracking)s."
            " Print its label; scan more items to start another package, or ship."
        )
        % {
            "package": package.pk,
            "n": number.n,
            "of": number.of,
            "tracking": package.tracking_number,
        }
    )
    return _render_order(request, staff, order, partial=partial, notice=notice)


@require_POST
@staff_page("packing")
def pack_order_ship(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    """Every closed package of the order leaves."""
    location = staff.require_write()
    order = _visible_order(staff, order_id)
    try:
        shipped = order_packages_ship(order=order, location=location, actor=staff.user)
    except ApplicationError as exc:
        return _render_order(request, staff, order, notice=Notice.failure(exc))
    # Back to the station, which says what left (the order page's scan box is this order's).
    url = reverse("staff:packing") + staff.at_query
    url += ("&" if "?" in url else "?") + f"shipped={order.pk}&n={len(shipped)}"
    if request.headers.get("HX-Request"):
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --------------------------------------------------------------------------- packages


def _visible_package(staff: Staff, package_id: int) -> Package:
    try:
        package = package_visible(staff.user, package_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if staff.location is None or package.location_id != staff.location.pk:
        raise Http404("no such package here")
    return package


@require_POST
@staff_page("packing")
def package_ship_view(request: HttpRequest, staff: Staff, package_id: int) -> HttpResponse:
    """One closed parcel leaves."""
    staff.require_write()
    package = _visible_package(staff, package_id)
    tracking = request.POST.get("tracking_number", "").strip()[:64]
    try:
        package_ship(package=package, tracking_number=tracking, actor=staff.user)
    except ApplicationError as exc:
        return _render_station(request, staff, notice=Notice.failure(exc))
    package = Package.objects.select_related("order").get(pk=package.pk)
    notice = Notice.success(
        gettext(
            "Package %(package)s of order %(order)s shipped with %(carrier)s %(tracking)s."
            " The order is %(status)s."
        )
        % {
            "package": package.pk,
            "order": package.order_id,
            "carrier": package.carrier or gettext("our own courier"),
            "tracking": package.tracking_number,
            "status": order_status_label(package.order.status),
        }
    )
    return _render_station(request, staff, notice=notice)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@staff_page("packing")
def package_slip(request: HttpRequest, staff: Staff, package_id: int) -> HttpResponse:
    package = _visible_package(staff, package_id)
    return _pdf(documents.packing_slip_pdf(package), f"packing-slip-{package.pk}.pdf")


@staff_page("packing")
def package_label(request: HttpRequest, staff: Staff, package_id: int) -> HttpResponse:
    package = _visible_package(staff, package_id)
    return _pdf(documents.shipping_label_pdf(package), f"label-{package.pk}.pdf")
