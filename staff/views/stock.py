"""Stock lookup: scan a SKU or barcode, see on hand / reserved / available here and the
nearby stores that have it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from inventory.models import Location, Product
from inventory.selectors import product_list, stock_level_list
from omni.errors import ApplicationError
from orders.selectors import hold_ticket_draft_find, stores_with_stock
from staff.views.common import Notice, ScanInput, Staff, product_by_code, render_page, staff_page

NEARBY_RADIUS_KM = 20
SUGGESTIONS = 8


class LookupForm(forms.Form):
    code = forms.CharField(label=_("SKU or barcode"), max_length=64, widget=ScanInput())


def nearby_stores(location: Location, product: Product) -> list[dict[str, Any]]:
    """Stores live for pickup within ``NEARBY_RADIUS_KM`` that have the product, nearest first;
    without a geo point here, every such store, unsorted by distance."""
    has_point = location.latitude is not None and location.longitude is not None
    rows = stores_with_stock(
        city=None,
        channel=None,
        product_ids=[product.pk],
        latitude=float(location.latitude) if location.latitude is not None else None,
        longitude=float(location.longitude) if location.longitude is not None else None,
        radius_km=NEARBY_RADIUS_KM if has_point else None,
    )
    return [
        {**row, "units": row["available"][product.pk]}
        for row in rows
        if row["location_id"] != location.pk
    ]


@staff_page("stock")
def stock_lookup(request: HttpRequest, staff: Staff) -> HttpResponse:
    form = LookupForm(request.GET if "code" in request.GET else None)
    if not (form.is_bound and form.is_valid()):
        return render_lookup(request, staff, form=form)
    code = form.cleaned_data["code"]
    try:
        product = product_by_code(code)
    except ApplicationError as exc:
        suggestions = list(product_list(q=code.strip(), active=None)[:SUGGESTIONS])
        return render_lookup(
            request, staff, form=form, notice=Notice.failure(exc), suggestions=suggestions
        )
    return render_lookup(request, staff, product=product)


def render_lookup(
    request: HttpRequest,
    staff: Staff,
    *,
    form: LookupForm | None = None,
    product: Product | None = None,
    notice: Notice | None = None,
    suggestions: list[Product] | None = None,
) -> HttpResponse:
    """The lookup page: a product's figures here and nearby, and for counter staff the
    “hold for a customer” action with the ticket being written (``staff.views.reserve``)."""
    assert staff.location is not None
    context: dict[str, Any] = {
        "radius_km": NEARBY_RADIUS_KM,
        "form": form or LookupForm(),
        "notice": notice,
        "suggestions": suggestions,
    }
    if product is not None:
        level = stock_level_list(
            user=staff.user, sku=product.sku, location=staff.location.code
        ).first()
        on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
        context.update(
            product=product,
            on_hand=on_hand,
            reserved=reserved,
            available=on_hand - reserved,
            nearby=nearby_stores(staff.location, product),
        )
    if staff.serves_counter and staff.moves_stock:
        draft = hold_ticket_draft_find(store=staff.location, user=staff.user)
        context["draft_lines"] = (
            list(draft.lines.select_related("product").order_by("id")) if draft else []
        )
    return render_page(
        request, staff, page="staff/stock.html", panel="staff/_stock_panel.html", context=context
    )
