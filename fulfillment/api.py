"""The fulfillment router: waves and picking, packing and shipping, store pickup codes and
returns. Thin: validate, check access, call one service, map the result.

No ``from __future__ import annotations``: ninja reads the annotations.
"""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from inventory import selectors as stock_selectors
from omni.access import current_user, require_stock_write, visible_one
from omni.errors import NotFound
from omni.idempotency import idempotent
from omni.limits import attempt_refused, attempts_check
from omni.models import Role, User
from omni.pagination import CursorPagination
from omni.schemas import ErrorOut, QuerySchema
from orders import selectors as order_selectors
from orders.errors import UnknownOrder
from orders.models import Order

from . import documents, packing, pickup_codes, selectors, services
from .errors import PickupCodeRefused
from .models import Package, PickLine, PickList, PickupCode, Return
from .qr import qr_png, qr_svg
from .schemas import (
    PackageCloseIn,
    PackageIn,
    PackageOut,
    PackScanIn,
    PackScanOut,
    PickIn,
    PickListOut,
    PickProgressOut,
    PickScanIn,
    PickScanResultOut,
    PickTaskOut,
    PickupCodeOut,
    PickWaveIn,
    PickWavePlanIn,
    PublicKeyOut,
    RedeemIn,
    RedeemOut,
    ReturnIn,
    ReturnOut,
    ShipIn,
    ShortCodeRedeemIn,
    ShortIn,
    WavePlanOut,
)

router = Router(tags=["fulfillment"])


# --------------------------------------------------------------------------- pick lists


class PickListFilter(QuerySchema):
    location: str | None = None
    status: str | None = None


@router.get("/pick-lists", response=list[PickListOut])
@paginate(CursorPagination, ordering=("-id",))
def pick_list_list(request: HttpRequest, filters: Query[PickListFilter]) -> object:
    return selectors.pick_list_list(user=current_user(request), **filters.dict())


def _wave_args(user: User, payload: PickWavePlanIn) -> dict[str, Any]:
    """What a plan and a wave take from the request: the location (checked), the orders (the
    caller's, or none of them), the limits and filters."""
    location = stock_selectors.location_visible(user, payload.location)
    require_stock_write(user, location.pk)
    orders = None
    if payload.orders is not None:
        # Orders the caller may see, or none of them: another store's order is not "nothing
        # to pick here" (which would tell it exists), it is no such order.
        orders = order_selectors.orders_visible(user, payload.orders)
    limits = None
    given = (payload.max_orders, payload.max_lines, payload.max_units)
    if any(v is not None for v in given) or orders is None:
        default = services.DEFAULT_WAVE_LIMITS
        limits = services.WaveLimits(
            orders=payload.max_orders or default.orders,
            lines=payload.max_lines or default.lines,
            units=payload.max_units or default.units,
        )
    return {
        "location": location,
        "orders": orders,
        "limits": limits,
        "modes": payload.modes,
        "promised_by": payload.promised_by,
    }


@router.post("/pick-lists/plan", response=WavePlanOut)
def pick_wave_plan(request: HttpRequest, payload: PickWavePlanIn) -> dict[str, Any]:
    """The next wave, planned and not made: which orders and transfers it would take, whole,
    by promise then age within the limits, and what would wait for the next one."""
    plan = services.pick_wave_plan(**_wave_args(current_user(request), payload))
    return {
        "location": plan.location.code,
        "max_orders": plan.limits.orders,
        "max_lines": plan.limits.lines,
        "max_units": plan.limits.units,
        "lines": plan.lines,
        "units": plan.units,
        "taken": plan.taken,
        "waiting_count": len(plan.waiting),
        "waiting_lines": plan.waiting_lines,
        "waiting_units": plan.waiting_units,
    }


# Before the detail route: /pick-lists/plan is not a pick list id.
@router.get("/pick-lists/{pick_list_id}", response=PickListOut)
def pick_list_detail(request: HttpRequest, pick_list_id: int) -> PickList:
    return selectors.pick_list_visible(current_user(request), pick_list_id)


@router.post("/pick-lists", response={201: PickListOut})
@decorate_view(idempotent)
def pick_wave_create(request: HttpRequest, payload: PickWaveIn) -> Status:
    """A wave: one pick list of the next orders and transfers waiting at a location, whole,
    within the limits (defaults: 40 orders, 120 lines, 400 units), grouped into pick tasks."""
    user = current_user(request)
    args = _wave_args(user, payload)
    location = args["location"]
    assignee = None
    if payload.assign_to:
        # A colleague at this location; anyone else is as unknown as no one.
        assignee = visible_one(
            User.objects.filter(locations=location),
            lambda: NotFound(_("no such user works here")),
            username=payload.assign_to,
        )
    pick_list = services.pick_wave_create(actor=user, assign_to=assignee, **args)
    return Status(201, selectors.pick_list_visible(user, pick_list.pk))


def _progress(pick_list: PickList) -> selectors.PickProgress:
    return selectors.pick_progress(pick_list)


@router.get("/pick-lists/{pick_list_id}/progress", response=PickProgressOut)
def pick_list_progress(request: HttpRequest, pick_list_id: int) -> selectors.PickProgress:
    """The handheld's view: the current stop (bin, SKU, quantity, totes), the next one and the
    list's counters. Its cost does not grow with the wave."""
    return _progress(selectors.pick_list_head(current_user(request), pick_list_id))


@router.get("/pick-lists/{pick_list_id}/tasks", response=list[PickTaskOut])
@paginate(CursorPagination, ordering=("sequence",))
def pick_task_list(request: HttpRequest, pick_list_id: int) -> object:
    """Every stop of the list in walking order."""
    pick_list = selectors.pick_list_head(current_user(request), pick_list_id)
    return pick_list.tasks.select_related("product")


@router.post("/pick-lists/{pick_list_id}/scans", response=PickScanResultOut)
def pick_list_scan_once(
    request: HttpRequest, pick_list_id: int, payload: PickScanIn
) -> dict[str, Any]:
    """A scan at the current stop, counted once per ``scan_id``: the same id again answers the
    same (the units it counted, or the same error) and changes nothing."""
    user = current_user(request)
    pick_list = selectors.pick_list_head(user, pick_list_id)
    require_stock_write(user, pick_list.location_id)
    task = None
    if payload.task is not None:
        task = selectors.pick_task_visible(user, pick_list_id, payload.task)
    outcome = services.pick_task_scan(
        pick_list=pick_list,
        scan_id=payload.scan_id,
        scanned=payload.scan,
        quantity=payload.quantity,
        actor=user,
        task=task,
    )
    return {
        "scan": outcome.scan,
        "replayed": outcome.replayed,
        "progress": _progress(selectors.pick_list_head(user, pick_list_id)),
    }


@router.post("/pick-lists/{pick_list_id}/tasks/{task_id}/short", response=PickProgressOut)
@decorate_view(idempotent)
def pick_task_short(
    request: HttpRequest, pick_list_id: int, task_id: int, payload: ShortIn
) -> selectors.PickProgress:
    """The bin had fewer: ``found`` units in all for this stop. They go to the first totes;
    the rest of the orders are re-sourced or backordered, transfers ship less."""
    user = current_user(request)
    task = selectors.pick_task_visible(user, pick_list_id, task_id)
    require_stock_write(user, task.pick_list.location_id)
    services.pick_task_short(task=task, found=payload.found, actor=user)
    return _progress(selectors.pick_list_head(user, pick_list_id))


def _writable_pick_line(user: User, pick_list_id: int, line_id: int) -> PickLine:
    line = selectors.pick_line_visible(user, pick_list_id, line_id)
    require_stock_write(user, line.pick_list.location_id)
    return line


@router.post("/pick-lists/{pick_list_id}/lines/{line_id}/pick", response={200: PickListOut})
@decorate_view(idempotent)
def pick_line_pick(
    request: HttpRequest, pick_list_id: int, line_id: int, payload: PickIn
) -> PickList:
    """Confirm a pick by scanning the item's barcode or SKU; a wrong item changes nothing."""
    user = current_user(request)
    line = _writable_pick_line(user, pick_list_id, line_id)
    services.pick_line_confirm(
        pick_line=line,
        scanned=payload.scan,
        quantity=payload.quantity,
        actor=user,
    )
    return selectors.pick_list_visible(user, pick_list_id)


@router.post("/pick-lists/{pick_list_id}/lines/{line_id}/short", response={200: PickListOut})
@decorate_view(idempotent)
def pick_line_short(
    request: HttpRequest, pick_list_id: int, line_id: int, payload: ShortIn
) -> PickList:
    """The shelf had fewer: ``found`` units in all. The rest is re-sourced or backordered."""
    user = current_user(request)
    line = _writable_pick_line(user, pick_list_id, line_id)
    services.pick_line_short(pick_line=line, found=payload.found, actor=user)
    return selectors.pick_list_visible(user, pick_list_id)


# --------------------------------------------------------------------------- pack and ship


@router.post("/orders/{order_id}/packages", response={201: PackageOut})
@decorate_view(idempotent)
def package_create(request: HttpRequest, order_id: int, payload: PackageIn) -> Status:
    """Pack picked units of a delivery (all picked units when ``lines`` is left out)."""
    user = current_user(request)
    order = order_selectors.order_visible(user, order_id)
    location = stock_selectors.location_visible(user, payload.location)
    require_stock_write(user, location.pk)
    lines = None
    if payload.lines is not None:
        products = stock_selectors.products_by_sku(ln.sku for ln in payload.lines)
        lines = [services.PackLine(products[ln.sku], ln.quantity) for ln in payload.lines]
    package = services.package_create(
        order=order,
        location=location,
        lines=lines,
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
        partial=payload.partial,
        actor=user,
    )
    return Status(201, selectors.package_visible(user, package.pk))


@router.post("/orders/{order_id}/pack-scans", response=PackScanOut)
@decorate_view(idempotent)
def pack_scan(request: HttpRequest, order_id: int, payload: PackScanIn) -> dict[str, object]:
    """Scan a unit into the order's open package at a location (opened by the first scan).
    ``scan_id`` is the device's id of the scan: the same id again changes nothing and answers
    the first scan (``repeated``)."""
    user = current_user(request)
    order = order_selectors.order_visible(user, order_id)
    location = stock_selectors.location_visible(user, payload.location)
    require_stock_write(user, location.pk)
    result = packing.package_scan(
        order=order,
        location=location,
        scanned=payload.scan,
        scan_id=payload.scan_id,
        quantity=payload.quantity,
        partial=payload.partial,
        actor=user,
    )
    return {
        "scan_id": result.scan.scan_id,
        "repeated": result.repeated,
        "order_id": result.order.pk,
        "package_id": result.scan.package_id,
        "sku": result.scan.product.sku,
        "quantity": result.scan.quantity,
        "packed": result.packed,
        "wanted": result.wanted,
        "tote": result.tote,
    }


@router.post("/packages/{package_id}/close", response=PackageOut)
@decorate_view(idempotent)
def package_close(request: HttpRequest, package_id: int, payload: PackageCloseIn) -> Package:
    """Close the open package: carrier, service, weight, tracking number (none: Omni's parcel
    number). It can then be printed and shipped."""
    user = current_user(request)
    package = selectors.package_visible(user, package_id)
    require_stock_write(user, package.location_id)
    packing.package_close(
        package=package,
        carrier=payload.carrier,
        service=payload.service,
        weight_grams=payload.weight_grams,
        tracking_number=payload.tracking_number,
        actor=user,
    )
    return selectors.package_visible(user, package_id)


PDF_RESPONSE = {
    "responses": {
        200: {
            "description": "The PDF",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@router.get("/packages/{package_id}/slip.pdf", response={200: None}, openapi_extra=PDF_RESPONSE)
def package_slip(request: HttpRequest, package_id: int) -> HttpResponse:
    """The packing slip (A4): order, customer and address, items, "package n of m", packer."""
    package = selectors.package_visible(current_user(request), package_id)
    return _pdf(documents.packing_slip_pdf(package), f"packing-slip-{package.pk}.pdf")


@router.get("/packages/{package_id}/label.pdf", response={200: None}, openapi_extra=PDF_RESPONSE)
def package_label(request: HttpRequest, package_id: int) -> HttpResponse:
    """The shipping label (100 × 150 mm): carrier, tracking number as a Code128 barcode, ship
    from and to, order number, "package n of m"."""
    package = selectors.package_visible(current_user(request), package_id)
    return _pdf(documents.shipping_label_pdf(package), f"label-{package.pk}.pdf")


@router.get("/packages/{package_id}", response=PackageOut)
def package_detail(request: HttpRequest, package_id: int) -> Package:
    return selectors.package_visible(current_user(request), package_id)


@router.post("/packages/{package_id}/ship", response=PackageOut)
@decorate_view(idempotent)
def package_ship(request: HttpRequest, package_id: int, payload: ShipIn) -> Package:
    """The parcel leaves: its holds are consumed (location → customer)."""
    user = current_user(request)
    package = selectors.package_visible(user, package_id)
    require_stock_write(user, package.location_id)
    services.package_ship(
        package=package,
        carrier=payload.carrier,
        tracking_number=payload.tracking_number,
        actor=user,
    )
    return selectors.package_visible(user, package_id)


# --------------------------------------------------------------------------- store pickup


def _pickup_order(user: User, order_id: int) -> Order:
    order = order_selectors.order_visible(user, order_id)
    if order.pickup_store_id is None:
        raise UnknownOrder.saying(_("order %(order)s is not collected at a store"), order=order_id)
    return order


@router.post("/orders/{order_id}/pickup/prepare", response={201: PickListOut})
@decorate_view(idempotent)
def pickup_prepare(request: HttpRequest, order_id: int) -> Status:
    user = current_user(request)
    order = _pickup_order(user, order_id)
    assert order.pickup_store_id is not None
    require_stock_write(user, order.pickup_store_id)
    pick_list = services.pickup_prepare(order=order, actor=user)
    return Status(201, selectors.pick_list_visible(user, pick_list.pk))


def _code_out(request: HttpRequest, code: PickupCode) -> dict[str, object]:
    token = services.pickup_token(code)
    base = f"/api/v1/orders/{code.order_id}/pickup-code"
    return {
        "order_id": code.order_id,
        "store": code.store.code,
        "code": token,
        "short_code": services.pickup_short_code(code),
        "expires_at": code.expires_at,
        "redeemed_at": code.redeemed_at,
        "qr_svg": f"{base}.svg",
        "qr_png": f"{base}.png",
    }


@router.post("/orders/{order_id}/pickup/ready", response=PickupCodeOut)
@decorate_view(idempotent)
def pickup_ready(request: HttpRequest, order_id: int) -> dict[str, object]:
    """Everything is on the pickup shelf: the signed code is issued and the customer told."""
    user = current_user(request)
    order = _pickup_order(user, order_id)
    assert order.pickup_store_id is not None
    require_stock_write(user, order.pickup_store_id)
    return _code_out(request, services.pickup_mark_ready(order=order, actor=user))


def _code_for(user: User, order_id: int) -> PickupCode:
    """The customer's code: for the order's channel, admins and staff of its store only."""
    order = _pickup_order(user, order_id)
    allowed = (
        user.is_admin_role
        or (user.role == Role.CHANNEL and order.channel.user_id == user.pk)
        or (user.role == Role.STORE and user.works_at(order.pickup_store_id or 0))
    )
    code = PickupCode.objects.select_related("store").filter(order=order).first()
    if not allowed or code is None:
        raise UnknownOrder.saying(_("order %(order)s has no pickup code for you"), order=order_id)
    return code


@router.get("/orders/{order_id}/pickup-code", response=PickupCodeOut)
def pickup_code(request: HttpRequest, order_id: int) -> dict[str, object]:
    return _code_out(request, _code_for(current_user(request), order_id))


@router.get("/orders/{order_id}/pickup-code.svg", response={200: None})
def pickup_code_svg(request: HttpRequest, order_id: int) -> HttpResponse:
    code = _code_for(current_user(request), order_id)
    return HttpResponse(qr_svg(services.pickup_token(code)), content_type="image/svg+xml")


@router.get("/orders/{order_id}/pickup-code.png", response={200: None})
def pickup_code_png(request: HttpRequest, order_id: int) -> HttpResponse:
    code = _code_for(current_user(request), order_id)
    return HttpResponse(qr_png(services.pickup_token(code)), content_type="image/png")


# Refused redemptions per caller are limited (omni.limits): codes are not for guessing.
REDEEM_LIMIT_GROUP = "pickup-redeem"


@router.post("/pickup/redeem", response={200: dict, 429: ErrorOut})
@decorate_view(idempotent)
def pickup_redeem(request: HttpRequest, payload: RedeemIn) -> dict[str, object]:
    """Hand over a pickup against its code: genuine, for this store, in time, once."""
    user = current_user(request)
    store = stock_selectors.location_visible(user, payload.store)
    require_stock_write(user, store.pk)
    rate = settings.OMNI_PICKUP_REDEEM_FAILURES_RATE
    attempts_check(request, group=REDEEM_LIMIT_GROUP, rate=rate)
    try:
        order = services.pickup_redeem(token=payload.code, store=store, actor=user)
    except PickupCodeRefused:
        attempt_refused(request, group=REDEEM_LIMIT_GROUP, rate=rate)
        raise
    return {"order_id": order.pk, "status": order.status, "store": store.code}


@router.post("/pickup/redeem-short-code", response={200: RedeemOut, 429: ErrorOut})
@decorate_view(idempotent)
def pickup_redeem_short_code(request: HttpRequest, payload: ShortCodeRedeemIn) -> dict[str, object]:
    """Hand over a pickup whose QR code cannot be scanned: its six-digit short code with the
    order number or the last four digits of the customer's phone. Wrong codes are limited per
    store (``pickup_short_codes_paused``, 429) and per user (``rate_limited``, 429)."""
    user = current_user(request)
    store = stock_selectors.location_visible(user, payload.store)
    require_stock_write(user, store.pk)
    rate = settings.OMNI_PICKUP_REDEEM_FAILURES_RATE
    attempts_check(request, group=REDEEM_LIMIT_GROUP, rate=rate)
    try:
        order = services.pickup_redeem_short_code(
            short_code=payload.short_code,
            store=store,
            order=payload.order,
            phone_last4=payload.phone_last4,
            actor=user,
        )
    except PickupCodeRefused:
        attempt_refused(request, group=REDEEM_LIMIT_GROUP, rate=rate)
        raise
    return {"order_id": order.pk, "status": order.status, "store": store.code}


@router.get("/pickup/public-key", response=PublicKeyOut)
def pickup_public_key(request: HttpRequest) -> dict[str, str]:
    """What a store device needs to tell a genuine code offline."""
    return {
        "algorithm": "Ed25519",
        "public_key_pem": pickup_codes.public_key_pem(services.public_key()),
        "token_format": "OMNI1.<base64url JSON {o, s, e, n}>.<base64url signature>",
    }


# --------------------------------------------------------------------------- returns


@router.post("/returns", response={201: ReturnOut})
@decorate_view(idempotent)
def return_create(request: HttpRequest, payload: ReturnIn) -> Status:
    """Goods back from a customer, restocked or scrapped at a store or the DC."""
    user = current_user(request)
    location = stock_selectors.location_visible(user, payload.location)
    require_stock_write(user, location.pk)
    # The order too must be one the caller may see: a store takes back what it can look up,
    # and nothing about another's order (its lines, what was delivered) shows in a refusal.
    order = order_selectors.order_visible(user, payload.order)
    products = stock_selectors.products_by_sku(ln.sku for ln in payload.lines)
    record = services.return_receive(
        order=order,
        location=location,
        lines=[
            services.ReturnedLine(products[ln.sku], ln.quantity, ln.disposition)
            for ln in payload.lines
        ],
        reason=payload.reason,
        actor=user,
    )
    return Status(201, Return.objects.select_related("location").get(pk=record.pk))
