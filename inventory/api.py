"""The inventory router: products, locations, stock levels, the ledger, receipts, counts,
reservations and transfers. Thin: validate, check access, call one service, map the result.

No ``from __future__ import annotations`` here: ninja resolves the parameter annotations
(``Query[...]``) at import time.
"""

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from omni.access import current_user, require_admin, require_stock_write
from omni.errors import PermissionDenied
from omni.idempotency import idempotent
from omni.models import Role
from omni.pagination import CursorPagination
from omni.schemas import Instant, QuerySchema

from . import selectors, services
from .errors import DuplicateLine
from .models import Product, Reservation, Transfer
from .schemas import (
    BinIn,
    BinOut,
    CountIn,
    CountOut,
    HomeBinIn,
    HomeBinOut,
    LocationOut,
    MoveOut,
    ProductIn,
    ProductOut,
    ReceiptIn,
    ReceiptOut,
    ReleaseIn,
    ReservationOut,
    ReserveIn,
    StockLevelOut,
    TransferIn,
    TransferOut,
    TransferReceiveIn,
)

router = Router(tags=["inventory"])


# --------------------------------------------------------------------------- master data


class ProductFilter(QuerySchema):
    q: str | None = None
    active: bool | None = None


@router.get("/products", response=list[ProductOut])
@paginate(CursorPagination, ordering=("id",))
def product_list(request: HttpRequest, filters: Query[ProductFilter]) -> object:
    return selectors.product_list(q=filters.q, active=filters.active)


@router.get("/products/{sku}", response=ProductOut)
def product_detail(request: HttpRequest, sku: str) -> Product:
    return selectors.product_by_sku(sku)


@router.post("/products", response={201: ProductOut})
def product_create(request: HttpRequest, payload: ProductIn) -> Status:
    require_admin(current_user(request))
    return Status(201, services.product_create(**payload.dict()))


class LocationFilter(QuerySchema):
    kind: str | None = None
    city: str | None = None


@router.get("/locations", response=list[LocationOut])
@paginate(CursorPagination, ordering=("id",))
def location_list(request: HttpRequest, filters: Query[LocationFilter]) -> object:
    return selectors.location_list(user=current_user(request), kind=filters.kind, city=filters.city)


@router.get("/locations/{code}", response=LocationOut)
def location_detail(request: HttpRequest, code: str) -> object:
    return selectors.location_visible(current_user(request), code)


# --------------------------------------------------------------------------- bins


class BinFilter(QuerySchema):
    active: bool | None = None


@router.get("/locations/{code}/bins", response=list[BinOut])
@paginate(CursorPagination, ordering=("sequence",))
def bin_list(request: HttpRequest, code: str, filters: Query[BinFilter]) -> object:
    """The location's bins in walking order."""
    location = selectors.location_visible(current_user(request), code)
    bins = selectors.location_bins(location)
    return bins if filters.active is None else bins.filter(active=filters.active)


@router.post("/locations/{code}/bins", response=BinOut)
@decorate_view(idempotent)
def bin_save(request: HttpRequest, code: str, payload: BinIn) -> object:
    """Create a bin, or move it in the walk (its code names it)."""
    user = current_user(request)
    location = selectors.location_visible(user, code)
    require_stock_write(user, location.pk)
    return services.bin_save(location=location, **payload.dict())


class HomeBinFilter(QuerySchema):
    sku: str | None = None


@router.get("/locations/{code}/home-bins", response=list[HomeBinOut])
@paginate(CursorPagination, ordering=("id",))
def home_bin_list(request: HttpRequest, code: str, filters: Query[HomeBinFilter]) -> object:
    """Where each SKU lives at the location (receiving proposes it for put-away)."""
    location = selectors.location_visible(current_user(request), code)
    homes = selectors.home_bins(location)
    return homes if not filters.sku else homes.filter(product__sku=filters.sku)


@router.post("/locations/{code}/home-bins", response=HomeBinOut)
@decorate_view(idempotent)
def home_bin_set(request: HttpRequest, code: str, payload: HomeBinIn) -> object:
    """Move a SKU's home to another bin of the location; the next wave walks there."""
    user = current_user(request)
    location = selectors.location_visible(user, code)
    require_stock_write(user, location.pk)
    home = services.home_bin_set(
        location=location,
        product=selectors.product_by_sku(payload.sku),
        bin=selectors.bin_by_code(location, payload.bin),
        actor=user,
    )
    return selectors.home_bins(location).get(pk=home.pk)


# --------------------------------------------------------------------------- stock and ledger


class StockLevelFilter(QuerySchema):
    sku: str | None = None
    location: str | None = None
    city: str | None = None
    in_stock: bool | None = None


@router.get("/stock-levels", response=list[StockLevelOut])
@paginate(CursorPagination, ordering=("id",))
def stock_level_list(request: HttpRequest, filters: Query[StockLevelFilter]) -> object:
    return selectors.stock_level_list(user=current_user(request), **filters.dict())


class MoveFilter(QuerySchema):
    sku: str | None = None
    location: str | None = None
    reason: str | None = None
    reference: str | None = None
    since: Instant | None = None
    until: Instant | None = None


@router.get("/moves", response=list[MoveOut])
@paginate(CursorPagination, ordering=("-id",))
def stock_move_list(request: HttpRequest, filters: Query[MoveFilter]) -> object:
    """The ledger, newest first."""
    return selectors.stock_move_list(user=current_user(request), **filters.dict())


# --------------------------------------------------------------------------- receipts and counts


@router.post("/receipts", response={201: ReceiptOut})
@decorate_view(idempotent)
def receipt_create(request: HttpRequest, payload: ReceiptIn) -> Status:
    user = current_user(request)
    location = selectors.location_visible(user, payload.location)
    require_stock_write(user, location.pk)
    products = selectors.products_by_sku(line.sku for line in payload.lines)
    receipt = services.stock_receive(
        location=location,
        lines=[(products[line.sku], line.quantity) for line in payload.lines],
        supplier=payload.supplier,
        supplier_reference=payload.supplier_reference,
        actor=user,
        unit_costs={
            products[line.sku].pk: line.unit_cost
            for line in payload.lines
            if line.unit_cost is not None
        },
    )
    return Status(201, receipt)


@router.post("/counts", response={201: CountOut})
@decorate_view(idempotent)
def count_create(request: HttpRequest, payload: CountIn) -> Status:
    user = current_user(request)
    location = selectors.location_visible(user, payload.location)
    require_stock_write(user, location.pk)
    products = selectors.products_by_sku(line.sku for line in payload.lines)
    count = services.stock_count(
        location=location,
        lines=[(products[line.sku], line.counted) for line in payload.lines],
        release_holds=payload.release_holds,
        note=payload.note,
        actor=user,
    )
    return Status(201, selectors.stock_count_detail(count.pk))


# --------------------------------------------------------------------------- reservations


class ReservationFilter(QuerySchema):
    status: str | None = None
    location: str | None = None
    sku: str | None = None
    owner_type: str | None = None
    owner_id: str | None = None


@router.get("/reservations", response=list[ReservationOut])
@paginate(CursorPagination, ordering=("-id",))
def reservation_list(request: HttpRequest, filters: Query[ReservationFilter]) -> object:
    return selectors.reservation_list(user=current_user(request), **filters.dict())


@router.get("/reservations/{reservation_id}", response=ReservationOut)
def reservation_detail(request: HttpRequest, reservation_id: int) -> Reservation:
    return selectors.reservation_visible(current_user(request), reservation_id)


@router.post("/reservations", response={201: list[ReservationOut]})
@decorate_view(idempotent)
def reservation_create(request: HttpRequest, payload: ReserveIn) -> Status:
    """Hold stock at one location, all lines or none."""
    user = current_user(request)
    location = selectors.location_visible(user, payload.location)
    require_stock_write(user, location.pk)
    skus = [line.sku for line in payload.lines]
    if len(set(skus)) < len(skus):
        # One owner, one hold per SKU; the service would accept it, a client means a mistake.
        raise DuplicateLine("reservation", skus=skus)
    products = selectors.products_by_sku(skus)
    expires_at = (
        timezone.now() + timedelta(seconds=payload.expires_in_seconds)
        if payload.expires_in_seconds
        else None
    )
    reservations = services.stock_reserve_many(
        lines=[
            services.ReserveLine(product=products[ln.sku], location=location, quantity=ln.quantity)
            for ln in payload.lines
        ],
        owner_type=payload.owner_type,
        owner_id=payload.owner_id or f"user:{user.pk}",
        expires_at=expires_at,
        actor=user,
    )
    return Status(201, reservations)


@router.post("/reservations/{reservation_id}/release", response=ReservationOut)
@decorate_view(idempotent)
def reservation_release(
    request: HttpRequest, reservation_id: int, payload: ReleaseIn | None = None
) -> Reservation:
    user = current_user(request)
    reservation = selectors.reservation_visible(user, reservation_id)
    require_stock_write(user, reservation.location_id)
    return services.reservation_release(
        reservation=reservation, reason=payload.reason if payload else "released", actor=user
    )


# --------------------------------------------------------------------------- transfers


class TransferFilter(QuerySchema):
    status: str | None = None
    location: str | None = None


@router.get("/transfers", response=list[TransferOut])
@paginate(CursorPagination, ordering=("-id",))
def transfer_list(request: HttpRequest, filters: Query[TransferFilter]) -> object:
    return selectors.transfer_list(user=current_user(request), **filters.dict())


@router.get("/transfers/{transfer_id}", response=TransferOut)
def transfer_detail(request: HttpRequest, transfer_id: int) -> Transfer:
    return selectors.transfer_visible(current_user(request), transfer_id)


@router.post("/transfers", response={201: TransferOut})
@decorate_view(idempotent)
def transfer_create(request: HttpRequest, payload: TransferIn) -> Status:
    """A draft transfer. Staff may draft one into or out of their own location."""
    user = current_user(request)
    source = selectors.location_by_code(payload.source)
    destination = selectors.location_by_code(payload.destination)
    plans_anywhere = user.is_admin_role or user.role == Role.PLANNER
    if not plans_anywhere and not (user.works_at(source.pk) or user.works_at(destination.pk)):
        selectors.location_visible(user, payload.source)  # raises the same 404 as unknown
    products = selectors.products_by_sku(line.sku for line in payload.lines)
    transfer = services.transfer_create(
        source=source,
        destination=destination,
        lines=[(products[ln.sku], ln.quantity) for ln in payload.lines],
        reference=payload.reference,
        note=payload.note,
        actor=user,
    )
    return Status(201, selectors.transfer_visible(user, transfer.pk))


TRANSFER_END_ONLY = {
    "source": _("only staff at the transfer's source can do this"),
    "destination": _("only staff at the transfer's destination can do this"),
}


def _transfer_action(
    request: HttpRequest, transfer_id: int, *, allowed: set[str], at: str
) -> Transfer:
    """Find a visible transfer and check the user may act on it: admins always, planners when
    ``"planner"`` is allowed, staff when they work at the ``at`` end (source or destination)."""
    user = current_user(request)
    transfer = selectors.transfer_visible(user, transfer_id)
    if user.is_admin_role:
        return transfer
    if user.role == Role.PLANNER and "planner" in allowed:
        return transfer
    end = transfer.source_id if at == "source" else transfer.destination_id
    if user.role in (Role.WAREHOUSE, Role.STORE) and user.works_at(end):
        return transfer
    raise PermissionDenied.saying(TRANSFER_END_ONLY[at], detail={"transfer": transfer_id})


@router.post("/transfers/{transfer_id}/approve", response=TransferOut)
@decorate_view(idempotent)
def transfer_approve(request: HttpRequest, transfer_id: int) -> Transfer:
    """Reserve the lines at the source."""
    transfer = _transfer_action(request, transfer_id, allowed={"planner"}, at="source")
    services.transfer_approve(transfer=transfer, actor=current_user(request))
    return selectors.transfer_visible(current_user(request), transfer_id)


@router.post("/transfers/{transfer_id}/dispatch", response=TransferOut)
@decorate_view(idempotent)
def transfer_dispatch(request: HttpRequest, transfer_id: int) -> Transfer:
    transfer = _transfer_action(request, transfer_id, allowed=set(), at="source")
    services.transfer_dispatch(transfer=transfer, actor=current_user(request))
    return selectors.transfer_visible(current_user(request), transfer_id)


@router.post("/transfers/{transfer_id}/receive", response=TransferOut)
@decorate_view(idempotent)
def transfer_receive(
    request: HttpRequest, transfer_id: int, payload: TransferReceiveIn | None = None
) -> Transfer:
    """Book the goods in at the destination. Lines left out arrived in full."""
    transfer = _transfer_action(request, transfer_id, allowed=set(), at="destination")
    lines = payload.lines if payload else []
    products = selectors.products_by_sku(ln.sku for ln in lines)
    services.transfer_receive(
        transfer=transfer,
        lines=[
            services.ReceivedLine(
                product=products[ln.sku], received=ln.received, reason=ln.reason, cause=ln.cause
            )
            for ln in lines
        ],
        actor=current_user(request),
    )
    return selectors.transfer_visible(current_user(request), transfer_id)


@router.post("/transfers/{transfer_id}/cancel", response=TransferOut)
@decorate_view(idempotent)
def transfer_cancel(request: HttpRequest, transfer_id: int) -> Transfer:
    transfer = _transfer_action(request, transfer_id, allowed={"planner"}, at="source")
    services.transfer_cancel(transfer=transfer, actor=current_user(request))
    return selectors.transfer_visible(current_user(request), transfer_id)
