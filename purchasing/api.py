"""The purchasing router (mounted under ``/api/v1`` by ``omni.api``): suppliers and the items
they sell, purchase orders (create, edit, send, cancel, close a line short), receiving against
a PO, and supplier performance.

Planners and admins manage suppliers and purchase orders. Warehouse and store staff read the
purchase orders shipping to their locations and receive them; any other PO is a 404 to them.

No ``from __future__ import annotations``: ninja reads the annotations.
"""

import datetime
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from inventory.selectors import location_by_code, product_by_sku, products_by_sku
from omni.access import current_user, reads_everything, require_stock_write
from omni.errors import InvalidInput, RoleNotAllowed
from omni.idempotency import idempotent
from omni.models import User
from omni.pagination import CursorPagination

from . import selectors, services
from .models import (
    ExchangeRate,
    PurchaseOrder,
    PurchaseOrderStatus,
    Supplier,
    SupplierItem,
    SupplierReceipt,
)
from .schemas import (
    CloseLineIn,
    ExchangeRateFilter,
    ExchangeRateIn,
    ExchangeRateOut,
    PerformanceFilter,
    PurchaseOrderCancelIn,
    PurchaseOrderFilter,
    PurchaseOrderIn,
    PurchaseOrderLineIn,
    PurchaseOrderLinesIn,
    PurchaseOrderOut,
    PurchaseOrderSummaryOut,
    ReceiveIn,
    ReceiveOut,
    SendIn,
    SupplierFilter,
    SupplierIn,
    SupplierItemIn,
    SupplierItemOut,
    SupplierOut,
    SupplierPerformanceOut,
)

router = Router(tags=["purchasing"])
PERFORMANCE_DAYS = 90


def _planner(request: HttpRequest) -> User:
    user = current_user(request)
    if not reads_everything(user):
        raise RoleNotAllowed(user, _("purchasing is for planners and administrators"))
    return user


# --------------------------------------------------------------------------- suppliers


@router.get("/purchasing/suppliers", response=list[SupplierOut])
@paginate(CursorPagination, ordering=("id",))
def supplier_list(request: HttpRequest, filters: Query[SupplierFilter]) -> object:
    _planner(request)
    suppliers = Supplier.objects.all()
    return suppliers if filters.active is None else suppliers.filter(active=filters.active)


@router.post("/purchasing/suppliers", response={201: SupplierOut})
@decorate_view(idempotent)
def supplier_create(request: HttpRequest, body: SupplierIn) -> Status:
    _planner(request)
    return Status(201, services.supplier_save(**body.dict()))


@router.get("/purchasing/suppliers/{code}", response=SupplierOut)
def supplier_detail(request: HttpRequest, code: str) -> Supplier:
    _planner(request)
    return selectors.supplier_by_code(code)


@router.put("/purchasing/suppliers/{code}", response=SupplierOut)
def supplier_update(request: HttpRequest, code: str, body: SupplierIn) -> Supplier:
    _planner(request)
    supplier = selectors.supplier_by_code(code)
    return services.supplier_save(supplier=supplier, **body.dict())


@router.get("/purchasing/suppliers/{code}/items", response=list[SupplierItemOut])
@paginate(CursorPagination, ordering=("id",))
def supplier_item_list(request: HttpRequest, code: str) -> object:
    _planner(request)
    supplier = selectors.supplier_by_code(code)
    return SupplierItem.objects.filter(supplier=supplier).select_related("supplier", "product")


@router.put("/purchasing/suppliers/{code}/items/{sku}", response=SupplierItemOut)
def supplier_item_save(
    request: HttpRequest, code: str, sku: str, body: SupplierItemIn
) -> SupplierItem:
    """Create or update what the supplier sells of a SKU."""
    _planner(request)
    supplier = selectors.supplier_by_code(code)
    return services.supplier_item_save(
        supplier=supplier, product=product_by_sku(sku), **body.dict()
    )


@router.get("/purchasing/suppliers/{code}/performance", response=SupplierPerformanceOut)
def supplier_performance(
    request: HttpRequest, code: str, filters: Query[PerformanceFilter]
) -> dict[str, Any]:
    """On-time rate and lead times of the deliveries that arrived in ``since`` … ``until``
    (the last 90 days by default); fill rate of the PO lines closed then."""
    _planner(request)
    supplier = selectors.supplier_by_code(code)
    return _performance(filters, [supplier])[0]


@router.get("/purchasing/performance", response=list[SupplierPerformanceOut])
def suppliers_performance(
    request: HttpRequest, filters: Query[PerformanceFilter]
) -> list[dict[str, Any]]:
    _planner(request)
    return _performance(filters, None)


def _performance(
    filters: PerformanceFilter, suppliers: list[Supplier] | None
) -> list[dict[str, Any]]:
    until = filters.until or timezone.localdate()
    since = filters.since or until - datetime.timedelta(days=PERFORMANCE_DAYS)
    if since > until:
        raise InvalidInput.saying(_("since must not be after until"), detail={"field": "since"})
    rows = selectors.supplier_performance(since=since, until=until, suppliers=suppliers)
    return [{**vars(row), "supplier": row.supplier.code} for row in rows]


# --------------------------------------------------------------------------- exchange rates


@router.get("/purchasing/exchange-rates", response=list[ExchangeRateOut])
@paginate(CursorPagination, ordering=("id",))
def exchange_rate_list(request: HttpRequest, filters: Query[ExchangeRateFilter]) -> object:
    """Every rate set, oldest first; ``currency`` for one currency's."""
    _planner(request)
    rates = ExchangeRate.objects.all()
    return rates if filters.currency is None else rates.filter(currency=filters.currency)


@router.post("/purchasing/exchange-rates", response={201: ExchangeRateOut})
@decorate_view(idempotent)
def exchange_rate_set(request: HttpRequest, body: ExchangeRateIn) -> Status:
    """The rate of a currency from ``valid_from`` on (replacing that day's, if set)."""
    user = _planner(request)
    return Status(201, services.exchange_rate_set(**body.dict(), actor=user))


# --------------------------------------------------------------------------- purchase orders


def _order_out(order: PurchaseOrder) -> dict[str, Any]:
    lines = order.lines.select_related("product").order_by("id")
    return {
        "number": order.number,
        "supplier": order.supplier.code,
        "ship_to": order.ship_to.code,
        "status": order.status,
        "currency": order.currency,
        "exchange_rate": order.exchange_rate,
        "expected_arrival": order.expected_arrival,
        "reference": order.reference,
        "note": order.note,
        "created_at": order.created_at,
        "sent_at": order.sent_at,
        "closed_at": order.closed_at,
        "lines": [
            {
                "sku": line.product.sku,
                "name": line.product.name,
                "quantity_ordered": line.quantity_ordered,
                "quantity_received": line.quantity_received,
                "quantity_cancelled": line.quantity_cancelled,
                "open_quantity": line.open_quantity,
                "unit_cost": line.unit_cost,
                "close_reason": line.close_reason,
            }
            for line in lines
        ],
    }


def _order_lines(lines: list[PurchaseOrderLineIn]) -> list[services.OrderLine]:
    products = products_by_sku(line.sku for line in lines)
    return [
        services.OrderLine(
            product=products[line.sku], quantity=line.quantity, unit_cost=line.unit_cost
        )
        for line in lines
    ]


@router.get("/purchasing/orders", response=list[PurchaseOrderSummaryOut])
@paginate(CursorPagination, ordering=("-id",))
def purchase_order_list(request: HttpRequest, filters: Query[PurchaseOrderFilter]) -> object:
    """Purchase orders the caller may see, newest first."""
    orders = selectors.purchase_orders_for(current_user(request))
    if filters.status:
        if filters.status not in PurchaseOrderStatus.values:
            raise InvalidInput.saying(
                _("no such status %(status)s"), detail={"field": "status"}, status=filters.status
            )
        orders = orders.filter(status=filters.status)
    if filters.supplier:
        orders = orders.filter(supplier__code=filters.supplier)
    if filters.ship_to:
        orders = orders.filter(ship_to__code=filters.ship_to)
    return orders


@router.post("/purchasing/orders", response={201: PurchaseOrderOut})
@decorate_view(idempotent)
def purchase_order_create(request: HttpRequest, body: PurchaseOrderIn) -> Status:
    """A draft purchase order; quantities rounded up to each item's MOQ and case pack unless
    ``rounding`` is false (then such a quantity is refused)."""
    user = _planner(request)
    order = services.purchase_order_create(
        supplier=selectors.supplier_by_code(body.supplier),
        ship_to=location_by_code(body.ship_to),
        lines=_order_lines(body.lines),
        expected_arrival=body.expected_arrival,
        reference=body.reference,
        note=body.note,
        rounding=body.rounding,
        actor=user,
    )
    return Status(201, _order_out(order))


@router.get("/purchasing/orders/{number}", response=PurchaseOrderOut)
def purchase_order_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return _order_out(selectors.purchase_order_by_number(current_user(request), number))


@router.put("/purchasing/orders/{number}/lines", response=PurchaseOrderOut)
def purchase_order_lines(
    request: HttpRequest, number: str, body: PurchaseOrderLinesIn
) -> dict[str, Any]:
    user = _planner(request)
    order = selectors.purchase_order_by_number(user, number)
    order = services.purchase_order_lines_set(
        purchase_order=order, lines=_order_lines(body.lines), rounding=body.rounding, actor=user
    )
    return _order_out(order)


@router.post("/purchasing/orders/{number}/send", response=PurchaseOrderOut)
def purchase_order_send(request: HttpRequest, number: str, body: SendIn) -> dict[str, Any]:
    user = _planner(request)
    order = selectors.purchase_order_by_number(user, number)
    order = services.purchase_order_send(
        purchase_order=order, expected_arrival=body.expected_arrival, actor=user
    )
    return _order_out(order)


@router.post("/purchasing/orders/{number}/cancel", response=PurchaseOrderOut)
def purchase_order_cancel(
    request: HttpRequest, number: str, body: PurchaseOrderCancelIn
) -> dict[str, Any]:
    user = _planner(request)
    order = selectors.purchase_order_by_number(user, number)
    return _order_out(
        services.purchase_order_cancel(purchase_order=order, reason=body.reason, actor=user)
    )


@router.post("/purchasing/orders/{number}/lines/{sku}/close", response=PurchaseOrderOut)
def purchase_order_line_close(
    request: HttpRequest, number: str, sku: str, body: CloseLineIn
) -> dict[str, Any]:
    """Close a line short: its rest is not expected any more (no longer a backorder)."""
    user = _planner(request)
    order = selectors.purchase_order_by_number(user, number)
    order = services.purchase_order_line_close(
        purchase_order=order, product=product_by_sku(sku), reason=body.reason, actor=user
    )
    return _order_out(order)


def _receipt_out(receipt: SupplierReceipt | None) -> dict[str, Any] | None:
    if receipt is None:
        return None
    return {
        "key": receipt.key,
        "arrival_date": receipt.arrival_date,
        "promised_date": receipt.promised_date,
        "lead_time_days": receipt.lead_time_days,
        "on_time": receipt.on_time,
        "units": receipt.units,
    }


@router.post("/purchasing/orders/{number}/receipts", response={200: ReceiveOut, 201: ReceiveOut})
@decorate_view(idempotent)
def purchase_order_receive(request: HttpRequest, number: str, body: ReceiveIn) -> Status:
    """Book a delivery against the PO at its ship-to location, once per ``key`` (the same key
    again answers 200 with the first booking and books nothing). Staff at the ship-to location
    and admins."""
    user = current_user(request)
    order = selectors.purchase_order_by_number(user, number)
    require_stock_write(user, order.ship_to_id, what="purchase order")
    products = products_by_sku(line.sku for line in body.lines)
    result = services.purchase_order_receive(
        purchase_order=order,
        lines=[
            services.ReceiveLine(
                product=products[line.sku],
                quantity=line.quantity,
                close_short=line.close_short,
                reason=line.reason,
            )
            for line in body.lines
        ],
        key=body.key,
        arrived_on=body.arrived_on,
        actor=user,
    )
    out = {
        "purchase_order": _order_out(result.purchase_order),
        "receipt": _receipt_out(result.supplier_receipt),
        "repeated": result.repeated,
    }
    return Status(200 if result.repeated else 201, out)
