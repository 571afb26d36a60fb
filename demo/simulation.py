"""An hour of orders in a city, from every live channel: the demo runs it, and so can anyone
who wants to see how sourcing behaves under a given mix (``volume`` scales it).

Deterministic for a seed. Orders go through ``order_place`` exactly as the API would send them;
refusals for stock are counted, not hidden. After the hour, most orders are paid and the rest
are left to expire, as unpaid web carts do.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from inventory.errors import InsufficientStock
from inventory.models import Location, Product, StockDiscrepancy, StockLevel
from network.models import Channel, ChannelKind, Service
from network.selectors import live_locations
from omni.errors import ApplicationError
from omni.models import City
from omni.selectors import city_today
from orders.models import Allocation, Order, OrderMode
from orders.selectors import stores_with_stock
from orders.services import DeliveryPoint, LineIn, order_pay, order_place, orders_expire_unpaid

# Orders per hour of each channel kind at volume 1, and the share of pickups among its orders.
HOURLY_ORDERS = {
    ChannelKind.WEB: (60, 0.3),
    ChannelKind.MINI_PROGRAM: (45, 0.5),
    ChannelKind.MARKETPLACE: (40, 0.0),
    ChannelKind.STORE_POS: (50, 0.0),
    ChannelKind.WHOLESALE: (5, 0.0),
}
PAID_SHARE = 0.85


@dataclass
class HourReport:
    placed: Counter[str] = field(default_factory=Counter)  # by channel
    refused: Counter[str] = field(default_factory=Counter)  # by channel, for stock
    other_errors: Counter[str] = field(default_factory=Counter)  # by error code
    modes: Counter[str] = field(default_factory=Counter)
    units_by_node: Counter[str] = field(default_factory=Counter)
    orders_by_node: Counter[str] = field(default_factory=Counter)  # orders served from each
    split: int = 0
    multi_line: int = 0
    backordered: int = 0
    parked_ids: list[int] = field(default_factory=list)  # parked when placed
    expired: int = 0
    discrepancies: int = 0
    order_ids: list[int] = field(default_factory=list)

    @property
    def total_placed(self) -> int:
        return sum(self.placed.values())

    @property
    def parked(self) -> int:
        return len(self.parked_ids)

    @property
    def routed_orders(self) -> int:
        """Delivery and pickup orders (counter sales are sold where they stand)."""
        return self.modes.get(OrderMode.DELIVERY, 0) + self.modes.get(OrderMode.PICKUP, 0)

    @property
    def split_rate(self) -> float:
        delivery = self.modes.get(OrderMode.DELIVERY, 0)
        return self.split / delivery if delivery else 0.0


def _point_near(rng: random.Random, city: City, radius_km: float) -> tuple[float, float]:
    """A random point within ``radius_km`` of the city centre (uniform over the disc)."""
    distance = radius_km * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    lat = float(city.latitude) + (distance / 111.0) * math.cos(bearing)
    lon = float(city.longitude) + (distance / (111.0 * math.cos(math.radians(lat)))) * math.sin(
        bearing
    )
    return round(lat, 6), round(lon, 6)


def simulate_hour(
    *,
    city: City,
    seed: int = 7,
    volume: int = 1,
    tag: str = "sim",
    promoted: Sequence[Product] = (),
    promoted_share: float = 0.0,
) -> HourReport:
    """Place an hour of orders in ``city`` from its live channels; pay most, expire the rest.

    ``promoted`` SKUs (a promotion, a flash sale) go into ``promoted_share`` of the online
    baskets: a busy hour's demand piles onto a few items, which is when stock runs out."""
    rng = random.Random(seed)
    report = HourReport()
    channels = list(
        Channel.objects.filter(
            active=True, cities__city=city, cities__starts_on__lte=city_today(city)
        ).order_by("code")
    )
    pos_stores = list(live_locations(city=city, service=Service.STORE_SALE))
    popular = list(
        Product.objects.filter(active=True)
        .annotate(units=Sum("stock_levels__on_hand"))
        .filter(units__gt=0)
        .order_by("-units", "sku")[:200]
    )
    if not channels or not popular:
        return report

    plan: list[tuple[Channel, OrderMode]] = []
    for channel in channels:
        per_hour, pickup_share = HOURLY_ORDERS[ChannelKind(channel.kind)]
        for _ in range(per_hour * volume):
            if channel.kind == ChannelKind.STORE_POS:
                mode = OrderMode.STORE_SALE
            elif rng.random() < pickup_share:
                mode = OrderMode.PICKUP
            else:
                mode = OrderMode.DELIVERY
            plan.append((channel, mode))
    rng.shuffle(plan)

    start = timezone.now()
    for n, (channel, mode) in enumerate(plan):
        wholesale = channel.kind == ChannelKind.WHOLESALE
        lines = [
            LineIn(
                product=p,
                quantity=rng.randint(6, 24) if wholesale else rng.choice([1, 1, 1, 2, 2, 3]),
                unit_price=p.price,
            )
            for p in rng.sample(popular, k=rng.choice([1, 1, 2, 2, 3, 4]))
        ]
        if promoted and channel.kind != ChannelKind.STORE_POS and rng.random() < promoted_share:
            hot = rng.choice(list(promoted))
            if all(ln.product.pk != hot.pk for ln in lines):
                lines[0] = LineIn(product=hot, quantity=lines[0].quantity, unit_price=hot.price)
        store = None
        delivery = None
        lat, lon = _point_near(rng, city, radius_km=18)
        if mode == OrderMode.PICKUP:
            # A pickup customer looks up nearby stores first and picks the nearest that has
            # the whole basket; with none, they take delivery instead.
            store = _nearest_store_with(city, channel, lines, lat, lon)
            if store is None:
                mode = OrderMode.DELIVERY
        if mode == OrderMode.STORE_SALE:
            if not pos_stores:
                continue
            store = rng.choice(pos_stores)
            lines = _counter_basket(rng, store.pk, lines)
            if not lines:
                continue
        elif mode == OrderMode.DELIVERY:
            delivery = DeliveryPoint(latitude=lat, longitude=lon, address=f"demo address {n}")
        try:
            order, _ = order_place(
                channel=channel,
                external_id=f"{tag}-{seed}-{n:05d}",
                mode=mode,
                lines=lines,
                city=city,
                store=store,
                delivery=delivery,
                customer_name=f"Customer {rng.randint(1, 5000)}",
            )
        except InsufficientStock:
            report.refused[channel.code] += 1
            continue
        except ApplicationError as exc:
            report.other_errors[str(exc.code)] += 1
            continue
        report.placed[channel.code] += 1
        report.modes[mode] += 1
        report.order_ids.append(order.pk)
        if len(lines) > 1:
            report.multi_line += 1
        if order.status == "backordered":
            report.backordered += 1
        if order.status == "parked":
            report.parked_ids.append(order.pk)
        if mode == OrderMode.DELIVERY and len(_nodes(order)) > 1:
            report.split += 1
        if order.payment_status == "unpaid" and rng.random() < PAID_SHARE:
            order_pay(order=order)

    for code, units in (
        Allocation.objects.filter(line__order_id__in=report.order_ids)
        .values_list("location__code")
        .annotate(units=Sum("quantity"))
    ):
        report.units_by_node[code] = units
    for code, orders in (
        Allocation.objects.filter(line__order_id__in=report.order_ids)
        .values_list("location__code")
        .annotate(orders=Count("line__order", distinct=True))
    ):
        report.orders_by_node[code] = orders
    later = start + timedelta(hours=1, minutes=1)
    report.expired = orders_expire_unpaid(now=later, batch_size=100_000)
    report.discrepancies = StockDiscrepancy.objects.filter(
        reference__in=[f"order:{pk}" for pk in report.order_ids]
    ).count()
    return report


def _nearest_store_with(
    city: City, channel: Channel, lines: list[LineIn], lat: float, lon: float
) -> Location | None:
    wanted = {ln.product.pk: ln.quantity for ln in lines}
    for row in stores_with_stock(
        city=city, channel=channel, product_ids=list(wanted), latitude=lat, longitude=lon
    ):
        if all(row["available"].get(p, 0) >= q for p, q in wanted.items()):
            return Location.objects.get(pk=row["location_id"])
    return None


def _nodes(order: Order) -> set[int]:
    return set(Allocation.objects.filter(line__order=order).values_list("location_id", flat=True))


def _counter_basket(rng: random.Random, store_id: int, lines: list[LineIn]) -> list[LineIn]:
    """What a walk-in customer brings to the till: goods from this store's shelf, and now and
    then one more unit than the system thinks is there."""
    shelf = {
        lvl.product_id: lvl.on_hand
        for lvl in StockLevel.objects.filter(
            location_id=store_id, product_id__in=[ln.product.pk for ln in lines]
        )
    }
    basket = []
    for line in lines:
        on_hand = shelf.get(line.product.pk, 0)
        if on_hand <= 0:
            continue
        quantity = min(line.quantity, on_hand)
        if rng.random() < 0.04:
            quantity = on_hand + 1  # the system is one short: the shelf says otherwise
        basket.append(LineIn(product=line.product, quantity=quantity, unit_price=line.unit_price))
    return basket
