"""Placing an order from any channel: checked, sourced and held in one transaction, once per
external id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from inventory import services as stock
from inventory.errors import (
    DuplicateLine,
    InactiveProduct,
    InsufficientStock,
    NoLines,
)
from inventory.geo import haversine_km
from inventory.models import (
    Location,
)
from network.models import Channel, ChannelKind
from network.selectors import live_locations
from omni import metrics
from omni.errors import InvalidInput, UnknownCity
from omni.models import City, User

from .. import adjusters
from ..adjusters import OrderEvent
from ..errors import (
    ChannelNotLive,
    ExternalIdReused,
    ModeNotAllowed,
    StoreNotLive,
)
from ..models import (
    Order,
    OrderLine,
    OrderMode,
    OrderStatus,
)
from .common import SERVICE_FOR_MODE, STORE_NEEDED, DeliveryPoint, LineIn, _settle
from .counter import _sell_at_counter
from .sourcing import _source

# --------------------------------------------------------------------------- place


def _validate_lines(lines: Sequence[LineIn]) -> None:
    if not lines:
        raise NoLines("order")
    seen: set[int] = set()
    for line in lines:
        stock.check_quantity(line.quantity)
        if line.product.pk in seen:
            raise DuplicateLine(product=line.product)
        seen.add(line.product.pk)
        if not line.product.active:
            raise InactiveProduct(line.product)
        if line.unit_price < 0:
            raise InvalidInput(
                gettext_lazy("unit_price cannot be negative"), detail={"sku": line.product.sku}
            )


def _order_city(
    *, mode: OrderMode, city: City | None, store: Location | None, point: DeliveryPoint | None
) -> City:
    if mode != OrderMode.DELIVERY:
        assert store is not None and store.city is not None
        if city is not None and city.pk != store.city_id:
            raise InvalidInput.saying(
                gettext_lazy("%(store)s is not in %(city)s"),
                detail={"store": store.code},
                store=store.code,
                city=city.code,
            )
        return store.city
    if city is not None:
        return city
    assert point is not None
    cities = list(City.objects.all())
    if not cities:
        raise UnknownCity(None)
    return min(
        cities,
        key=lambda c: haversine_km(
            point.latitude, point.longitude, float(c.latitude), float(c.longitude)
        ),
    )


def _same_order(order: Order, lines: Sequence[LineIn], mode: str) -> bool:
    mine = {(ln.product_id, ln.quantity) for ln in order.lines.all()}
    return order.mode == mode and mine == {(ln.product.pk, ln.quantity) for ln in lines}


@transaction.atomic
def order_place(
    *,
    channel: Channel,
    external_id: str,
    mode: OrderMode | str,
    lines: Sequence[LineIn],
    city: City | None = None,
    store: Location | None = None,
    delivery: DeliveryPoint | None = None,
    customer_name: str = "",
    customer_phone: str = "",
    member_id: str = "",
    promised_at: datetime | None = None,
    coupon_codes: Sequence[str] = (),
    actor: User | None = None,
) -> tuple[Order, bool]:
    """Take an order from a channel: source each line, reserve, all in one transaction.

    Returns ``(order, created)``. The same channel and ``external_id`` again returns the first
    order (``created`` False) whatever the timing of the retries; with other lines it is a
    conflict. A counter sale (``store_sale``) is sold at once (see ``_sell_at_counter``).

    Routing follows the channel's active profile in the city (``omni.RoutingProfile``), else
    the default rules. An order the rules cannot fill is parked, refused or backordered as the
    profile says (without a profile: refused, or backordered where the channel allows).
    ``promised_at`` is the channel's promise to the customer; it puts the order ahead in the
    waiting queue. A pickup's is set to when the store can have it ready.

    ``coupon_codes`` go to the order adjusters (``orders.adjusters``: loyalty) before any stock
    is touched; a refused code refuses the order. Nobody to take them refuses them too.
    """
    mode = OrderMode(mode)
    if not external_id or len(external_id) > 64:
        raise InvalidInput(
            gettext_lazy("external_id must be 1 to 64 characters"), detail={"field": "external_id"}
        )
    _validate_lines(lines)
    if not channel.active:
        raise ChannelNotLive(channel)
    if (mode == OrderMode.STORE_SALE) != (channel.kind == ChannelKind.STORE_POS):
        raise ModeNotAllowed(channel, mode)
    if mode == OrderMode.DELIVERY:
        if delivery is None:
            raise InvalidInput(
                gettext_lazy("a delivery needs a delivery point"), detail={"field": "delivery"}
            )
        store = None
    elif store is None:
        raise InvalidInput(STORE_NEEDED[mode], detail={"field": "store"})
    order_city = _order_city(mode=mode, city=city, store=store, point=delivery)

    existing = Order.objects.filter(channel=channel, external_id=external_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    channel=channel,
                    external_id=external_id,
                    city=order_city,
                    mode=mode,
                    status=OrderStatus.RESERVED,
                    customer_name=customer_name,
                    customer_phone=customer_phone,
                    member_id=member_id,
                    pickup_store=store,
                    delivery_address=delivery.address if delivery else "",
                    delivery_latitude=_geo(delivery.latitude) if delivery else None,
                    delivery_longitude=_geo(delivery.longitude) if delivery else None,
                    promised_at=promised_at,
                    placed_by=actor,
                )
        except IntegrityError:
            # A retry of the same order committed first; it is the answer.
            existing = Order.objects.get(channel=channel, external_id=external_id)
    if existing is not None:
        if not _same_order(existing, lines, mode):
            raise ExternalIdReused(existing, channel=channel, external_id=external_id)
        return existing, False

    if store is not None:
        _check_store_live(order, store)
    created = OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order, product=ln.product, quantity=ln.quantity, unit_price=ln.unit_price
            )
            for ln in lines
        ]
    )
    if coupon_codes and not adjusters.registered():
        raise InvalidInput(
            gettext_lazy("coupons are not accepted here"), detail={"field": "coupon_codes"}
        )
    adjusters.order_placed(order=order, lines=created, codes=coupon_codes, actor=actor)
    if mode == OrderMode.STORE_SALE:
        _sell_at_counter(order, created, actor=actor)
    else:
        try:
            plan = _source(order, {line: line.quantity for line in created}, what="placed")
        except InsufficientStock:
            metrics.ORDERS_REFUSED.labels(channel.code, mode.value).inc()
            raise
        _settle(order, plan, placing=True)
        order.hold_expires_at = timezone.now() + timedelta(minutes=channel.hold_minutes)
    order.save()
    if order.status == OrderStatus.COMPLETED:
        adjusters.order_event(order=order, event=OrderEvent.HANDED_OVER, actor=actor)
    waits = order.waiting_since is not None
    transaction.on_commit(lambda: _count_placed(channel.code, mode.value, waits=waits))
    return order, True


def _count_placed(channel: str, mode: str, *, waits: bool) -> None:
    """Counted once the order is committed: an order rolled back with an outer transaction
    was never taken."""
    metrics.ORDERS_PLACED.labels(channel, mode).inc()
    if waits:
        metrics.ORDERS_PARKED.labels(channel, mode).inc()


def _geo(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.000001"))


def _check_store_live(order: Order, store: Location) -> None:
    """A chosen store must be live for the order's mode and channel today."""
    service = SERVICE_FOR_MODE[OrderMode(order.mode)]
    live = live_locations(city=order.city, service=service, channel=order.channel)
    if not live.filter(pk=store.pk).exists():
        raise StoreNotLive(store, service=service, channel=order.channel)
