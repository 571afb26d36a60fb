"""The planners' purchase order and supplier pages (under ``/staff/purchasing/``): purchase orders
by status with their expected arrival, one order's lines and receipts, send and cancel; the
suppliers with their performance (on-time rate, lead time promised and seen, fill rate) and one
supplier's items.

Planners and admins only (``planner_page``); the writes are purchasing's services.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django import forms
from django.core.paginator import Paginator
from django.db.models import Count, DecimalField, F, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods

from omni.errors import ApplicationError
from purchasing.errors import UnknownPurchaseOrder
from purchasing.models import PurchaseOrder, PurchaseOrderStatus, Supplier, company_currency
from purchasing.selectors import purchase_order_visible, purchase_orders_for, supplier_performance
from purchasing.services import purchase_order_cancel, purchase_order_send
from staff.views.common import Notice, Staff, planner_page

ORDERS_PER_PAGE = 50
PERFORMANCE_DAYS = 90

# Labels the purchase order model stores in English.
STORED_WORDS = (
    pgettext_lazy("purchase order status", "Draft"),
    pgettext_lazy("purchase order status", "Sent to the supplier"),
    pgettext_lazy("purchase order status", "Partially received (rest on backorder)"),
    pgettext_lazy("purchase order status", "Received"),
    pgettext_lazy("purchase order status", "Cancelled"),
)


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Open (draft, sent, partly received)")),
            ("all", _("All")),
            *[
                (value, pgettext_lazy("purchase order status", label))
                for value, label in PurchaseOrderStatus.choices
            ],
        ],
    )
    supplier = forms.CharField(label=_("Supplier"), required=False, max_length=32)


def _value() -> Sum:
    return Sum(F("lines__quantity_ordered") * F("lines__unit_cost"), output_field=DecimalField())


@require_http_methods(["GET"])
@planner_page("purchase-orders")
def order_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    filters = OrderFilterForm(request.GET or None)
    orders = purchase_orders_for(staff.user)
    status, supplier = "", ""
    if filters.is_valid():
        status = filters.cleaned_data["status"] or ""
        supplier = filters.cleaned_data["supplier"] or ""
    if status == "":
        orders = orders.filter(
            status__in=(
                PurchaseOrderStatus.DRAFT,
                PurchaseOrderStatus.SENT,
                PurchaseOrderStatus.PARTIALLY_RECEIVED,
            )
        )
    elif status != "all":
        orders = orders.filter(status=status)
    if supplier:
        orders = orders.filter(supplier__code=supplier)
    orders = orders.annotate(line_count=Count("lines"), units=Sum("lines__quantity_ordered"))
    page = Paginator(orders.order_by("-pk"), ORDERS_PER_PAGE).get_page(request.GET.get("page"))
    values = dict(
        PurchaseOrder.objects.filter(pk__in=[o.pk for o in page])
        .annotate(value=_value())
        .values_list("pk", "value")
    )
    rows = [(o, (values.get(o.pk) or Decimal("0")).quantize(Decimal("0.01"))) for o in page]
    return render(
        request,
        "purchasing/orders.html",
        {
            "staff": staff,
            "filters": filters,
            "page": page,
            "rows": rows,
            "query": f"status={status}&supplier={supplier}",
            "today": timezone.localdate(),
        },
    )


def _order_or_404(staff: Staff, order_id: int) -> PurchaseOrder:
    try:
        return purchase_order_visible(staff.user, order_id)
    except UnknownPurchaseOrder as exc:
        raise Http404("no such purchase order") from exc


def _render_order(
    request: HttpRequest,
    staff: Staff,
    order: PurchaseOrder,
    notice: Notice | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    lines = list(order.lines.select_related("product").order_by("product__sku"))
    total = sum((ln.unit_cost * ln.quantity_ordered for ln in lines), Decimal("0"))
    context = {
        "staff": staff,
        "order": order,
        "notice": notice,
        "lines": lines,
        "total": total.quantize(Decimal("0.01")),
        # A foreign currency's PO says what it is worth at home (at its rate, once sent).
        "home_currency": "" if order.currency == company_currency() else company_currency(),
        "home_total": (
            (total * order.exchange_rate).quantize(Decimal("0.01"))
            if order.exchange_rate is not None
            else None
        ),
        "receipts": list(order.receipts.order_by("-pk")),
        "can_send": order.status == PurchaseOrderStatus.DRAFT,
        "can_cancel": order.status
        in (
            PurchaseOrderStatus.DRAFT,
            PurchaseOrderStatus.SENT,
            PurchaseOrderStatus.PARTIALLY_RECEIVED,
        ),
    }
    return render(request, "purchasing/order.html", context, status=status)


@require_http_methods(["GET"])
@planner_page("purchase-orders")
def order_detail(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    return _render_order(request, staff, _order_or_404(staff, order_id))


@require_http_methods(["POST"])
@planner_page("purchase-orders")
def order_send(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    order = _order_or_404(staff, order_id)
    try:
        purchase_order_send(purchase_order=order, actor=staff.user)
    except ApplicationError as exc:
        order.refresh_from_db()
        return _render_order(request, staff, order, Notice.failure(exc), status=exc.http_status)
    return redirect("purchasing:order", order_id=order.pk)


@require_http_methods(["POST"])
@planner_page("purchase-orders")
def order_cancel(request: HttpRequest, staff: Staff, order_id: int) -> HttpResponse:
    order = _order_or_404(staff, order_id)
    reason = (request.POST.get("reason") or "").strip()[:255]
    try:
        purchase_order_cancel(purchase_order=order, reason=reason, actor=staff.user)
    except ApplicationError as exc:
        order.refresh_from_db()
        return _render_order(request, staff, order, Notice.failure(exc), status=exc.http_status)
    return redirect("purchasing:order", order_id=order.pk)


@require_http_methods(["GET"])
@planner_page("suppliers")
def supplier_list(request: HttpRequest, staff: Staff) -> HttpResponse:
    until = timezone.localdate()
    since = until - datetime.timedelta(days=PERFORMANCE_DAYS)
    suppliers = list(Supplier.objects.annotate(item_count=Count("items")).order_by("code"))
    performance = {p.supplier.pk: p for p in supplier_performance(since=since, until=until)}
    return render(
        request,
        "purchasing/suppliers.html",
        {
            "staff": staff,
            "rows": [(s, performance.get(s.pk)) for s in suppliers],
            "days": PERFORMANCE_DAYS,
        },
    )


@require_http_methods(["GET"])
@planner_page("suppliers")
def supplier_detail(request: HttpRequest, staff: Staff, code: str) -> HttpResponse:
    supplier = Supplier.objects.filter(code=code).first()
    if supplier is None:
        raise Http404("no such supplier")
    until = timezone.localdate()
    since = until - datetime.timedelta(days=PERFORMANCE_DAYS)
    (performance,) = supplier_performance(since=since, until=until, suppliers=[supplier])
    items = supplier.items.select_related("product").order_by("product__sku")
    page = Paginator(items, ORDERS_PER_PAGE * 2).get_page(request.GET.get("page"))
    return render(
        request,
        "purchasing/supplier.html",
        {
            "staff": staff,
            "supplier": supplier,
            "performance": performance,
            "page": page,
            "days": PERFORMANCE_DAYS,
            "orders": purchase_orders_for(staff.user)
            .filter(supplier=supplier)
            .order_by("-pk")[:20],
        },
    )
