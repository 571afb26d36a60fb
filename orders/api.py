"""The orders router: place, read, pay, cancel and change orders; availability to promise and
nearby stores. How orders are routed (settings, the waiting queue, explanations) is in
``routing_api``. Thin: validate, check access, call one service, map the result.

A channel's integration calls with its own token and speaks for its channel only; staff name
the channel. No ``from __future__ import annotations``: ninja reads the annotations.
"""

from decimal import Decimal
from typing import Annotated

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Status
from ninja.decorators import decorate_view
from ninja.pagination import paginate

from inventory import selectors as stock_selectors
from network.errors import UnknownChannel
from network.models import Channel
from network.selectors import channel_by_code
from omni.access import current_user
from omni.errors import PermissionDenied
from omni.idempotency import idempotent
from omni.models import Role, User
from omni.pagination import CursorPagination
from omni.schemas import Instant, QuerySchema
from omni.selectors import city_by_code

from . import selectors, services
from .models import Order, OrderMode
from .schemas import (
    AvailabilityOut,
    CancelIn,
    LineQuantityIn,
    NearbyStoreOut,
    OrderIn,
    OrderOut,
)

router = Router(tags=["orders"])

MAX_SKUS_PER_QUERY = 100


def _channel_for(user: User, code: str | None) -> Channel:
    """The channel a request speaks for: a channel's token implies its own; staff name one."""
    own = selectors.caller_channel(user)
    if own is not None:
        if code is not None and code != own.code:
            raise UnknownChannel()  # another channel is as unknown as a missing one
        return own
    if code is None:
        raise UnknownChannel(named=False)
    return channel_by_code(code)


def _require_order_write(user: User, order: Order) -> None:
    """Change an order: its channel, admins, and store staff for orders at their store."""
    if user.is_admin_role:
        return
    if user.role == Role.CHANNEL and order.channel.user_id == user.pk:
        return
    if user.role == Role.STORE and order.pickup_store_id and user.works_at(order.pickup_store_id):
        return
    raise PermissionDenied.saying(_("the %(role)s role cannot change this order"), role=user.role)


@router.post("/orders", response={200: OrderOut, 201: OrderOut})
@decorate_view(idempotent)
def order_create(request: HttpRequest, payload: OrderIn) -> Status:
    """Place an order. The same channel and ``external_id`` again answers 200 with the first
    order; 201 means this call created it."""
    user = current_user(request)
    if user.role in (Role.PLANNER, Role.WAREHOUSE):
        raise PermissionDenied.saying(_("the %(role)s role does not place orders"), role=user.role)
    store = None
    if payload.store is not None:
        # Store staff sell at their own stores: another is as unknown as a missing one. A
        # channel's customer may pick up at any store of the city.
        store = (
            stock_selectors.location_visible(user, payload.store)
            if user.role == Role.STORE
            else stock_selectors.location_by_code(payload.store)
        )
    elif user.role == Role.STORE:
        raise PermissionDenied(_("store staff place orders for their own store"))
    channel = _channel_for(user, payload.channel)
    products = stock_selectors.products_by_sku(line.sku for line in payload.lines)
    order, created = services.order_place(
        channel=channel,
        external_id=payload.external_id,
        mode=payload.mode,
        lines=[
            services.LineIn(
                product=products[ln.sku],
                quantity=ln.quantity,
                unit_price=Decimal(str(ln.unit_price)).quantize(Decimal("0.01")),
            )
            for ln in payload.lines
        ],
        city=city_by_code(payload.city) if payload.city else None,
        store=store,
        delivery=services.DeliveryPoint(
            latitude=payload.delivery.latitude,
            longitude=payload.delivery.longitude,
            address=payload.delivery.address,
        )
        if payload.delivery
        else None,
        customer_name=payload.customer.name,
        customer_phone=payload.customer.phone,
        member_id=payload.customer.member_id,
        promised_at=payload.promised_at,
        coupon_codes=payload.coupon_codes,
        actor=user,
    )
    return Status(201 if created else 200, selectors.order_visible(user, order.pk))


class OrderFilter(QuerySchema):
    status: str | None = None
    mode: str | None = None
    channel: str | None = None
    payment_status: str | None = None
    external_id: str | None = None
    location: str | None = None
    since: Instant | None = None
    until: Instant | None = None


@router.get("/orders", response=list[OrderOut])
@paginate(CursorPagination, ordering=("-id",))
def order_list(request: HttpRequest, filters: Query[OrderFilter]) -> object:
    orders = selectors.order_list(user=current_user(request), **filters.dict())
    return orders.select_related("routing_profile")


@router.get("/orders/{order_id}", response=OrderOut)
def order_detail(request: HttpRequest, order_id: int) -> Order:
    return selectors.order_visible(current_user(request), order_id)


@router.post("/orders/{order_id}/pay", response=OrderOut)
@decorate_view(idempotent)
def order_pay(request: HttpRequest, order_id: int) -> Order:
    user = current_user(request)
    order = selectors.order_visible(user, order_id)
    _require_order_write(user, order)
    services.order_pay(order=order, actor=user)
    return selectors.order_visible(user, order_id)


@router.post("/orders/{order_id}/cancel", response=OrderOut)
@decorate_view(idempotent)
def order_cancel(request: HttpRequest, order_id: int, payload: CancelIn) -> Order:
    user = current_user(request)
    order = selectors.order_visible(user, order_id)
    _require_order_write(user, order)
    services.order_cancel(order=order, reason=payload.reason, actor=user)
    return selectors.order_visible(user, order_id)


@router.post("/orders/{order_id}/lines/{sku}", response=OrderOut)
@decorate_view(idempotent)
def order_line_quantity(
    request: HttpRequest, order_id: int, sku: str, payload: LineQuantityIn
) -> Order:
    """Set how many of ``sku`` the order wants."""
    user = current_user(request)
    order = selectors.order_visible(user, order_id)
    _require_order_write(user, order)
    services.order_line_set_quantity(
        order=order,
        product=stock_selectors.product_by_sku(sku),
        quantity=payload.quantity,
        actor=user,
    )
    return selectors.order_visible(user, order_id)


# --------------------------------------------------------------------------- availability

Skus = Annotated[list[str], Field(min_length=1, max_length=MAX_SKUS_PER_QUERY)]


class AvailabilityQuery(QuerySchema):
    sku: Skus
    city: Annotated[str, Field(min_length=1, max_length=32)]
    channel: str | None = None
    mode: OrderMode = OrderMode.DELIVERY


@router.get("/availability", response=AvailabilityOut)
def availability(request: HttpRequest, query: Query[AvailabilityQuery]) -> dict[str, object]:
    """Available to promise per SKU for a channel in a city."""
    user = current_user(request)
    channel = _channel_for(user, query.channel)
    city = city_by_code(query.city)
    products = stock_selectors.products_by_sku(query.sku)
    atp = selectors.available_to_promise(
        channel=channel,
        city=city,
        product_ids=[p.pk for p in products.values()],
        service=services.SERVICE_FOR_MODE[query.mode],
    )
    return {
        "channel": channel.code,
        "city": city.code,
        "mode": query.mode,
        "skus": [{"sku": sku, **atp[p.pk]} for sku, p in products.items()],
    }


class NearbyQuery(QuerySchema):
    sku: Skus
    latitude: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    longitude: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
    radius_km: Annotated[float, Field(gt=0, le=500, allow_inf_nan=False)] = 10
    channel: str | None = None


@router.get("/availability/nearby", response=list[NearbyStoreOut])
def nearby_stores(request: HttpRequest, query: Query[NearbyQuery]) -> list[dict[str, object]]:
    """Stores live for pickup within ``radius_km`` of a point that have any of the SKUs,
    nearest first."""
    user = current_user(request)
    channel = selectors.caller_channel(user)
    if channel is None and query.channel is not None:
        channel = channel_by_code(query.channel)
    products = stock_selectors.products_by_sku(query.sku)
    sku_of = {p.pk: sku for sku, p in products.items()}
    rows = selectors.stores_with_stock(
        city=None,
        channel=channel,
        product_ids=list(sku_of),
        latitude=query.latitude,
        longitude=query.longitude,
        radius_km=query.radius_km,
    )
    return [
        {
            "store": row["code"],
            "name": row["name"],
            "city": row["city"],
            "latitude": row["latitude"],
            "longitude": row["longitude"],
            "distance_km": row["distance_km"],
            "available": {sku_of[p]: q for p, q in row["available"].items()},
        }
        for row in rows
    ]
