"""Writes of orders: place (source + reserve in one transaction), pay, cancel, change a line,
expire unpaid holds, and re-source lines whose stock a counter sale took.

Locking (docs/locking.md): a service that changes an existing order locks the order row first
(``orders.locks``), then stock levels (``inventory.locks.lock_stock_levels``, in the global
order). Nothing locks an order while holding stock-level locks, so the two kinds of lock never
wait on each other in a cycle; work on several orders is one transaction per order
(``durable``: the batch must be the outermost transaction, or the second order's lock would
come after the first order's stock levels). The waiting queue runs under its city's mutex
(``locks.lock_city_queue``), the coarsest lock of all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from inventory import locks as stock_locks
from inventory import services as stock
from inventory.errors import (
    DuplicateLine,
    InactiveProduct,
    NoLines,
    ReservationNotActive,
    Shortage,
)
from inventory.geo import haversine_km
from inventory.models import (
    PHYSICAL_KINDS,
    Location,
    MoveReason,
    Product,
    Reservation,
    ReservationStatus,
    StockMove,
)
from network.models import Channel, ChannelKind, LocationService, RoutingProfile, Service
from network.routing_rules import Rule, parse_rules
from network.selectors import active_routing_profile, held_back, live_locations
from omni.errors import ApplicationError, InvalidInput, UnknownCity
from omni.models import City, User
from omni.selectors import city_today

from .capacity import Capacity, capacity_of, capacity_release, capacity_take, pickup_ready_at
from .errors import (
    ChannelNotLive,
    ExternalIdReused,
    ModeNotAllowed,
    OrderInvalidState,
    OrderShort,
    PickupCapacityFull,
    StoreNotLive,
)
from .locks import lock_city_queue, lock_order
from .models import (
    HELD_STATUSES,
    OPEN_STATUSES,
    ORDER_TRANSITIONS,
    Allocation,
    Order,
    OrderLine,
    OrderMode,
    OrderStatus,
    PaymentStatus,
)
from .routing import (
    DEFAULT_RULES,
    Candidate,
    Plan,
    Why,
    plan_single_node,
    route,
)

logger = logging.getLogger(__name__)

OWNER_TYPE = "order_line"
SERVICE_FOR_MODE = {
    OrderMode.DELIVERY: Service.SHIP,
    OrderMode.PICKUP: Service.PICKUP,
    OrderMode.STORE_SALE: Service.STORE_SALE,
}
# How many other stores a refused pickup suggests.
PICKUP_ALTERNATIVES = 5
STORE_NEEDED = {
    OrderMode.PICKUP: gettext_lazy("a pickup order needs a store"),
    OrderMode.STORE_SALE: gettext_lazy("a store_sale order needs a store"),
}


@dataclass(frozen=True)
class LineIn:
    product: Product
    quantity: int
    unit_price: Decimal = Decimal("0")


@dataclass(frozen=True)
class DeliveryPoint:
    latitude: float
    longitude: float
    address: str = ""


# --------------------------------------------------------------------------- status


def _set_status(order: Order, to: OrderStatus) -> None:
    """Move ``order`` (locked by the caller) along the transition table."""
    if order.status == to:
        return
    if to not in ORDER_TRANSITIONS[order.status]:
        raise OrderInvalidState(order, to=to)
    order.status = to


def _status_after_sourcing(order: Order) -> OrderStatus:
    """Reserved when every line is held in full, else backordered (one query)."""
    held = dict(
        Allocation.objects.filter(
            line__order=order,
            reservation__status__in=HELD_STATUSES,
        )
        .values_list("line_id")
        .annotate(units=Sum("quantity"))
    )
    wanted = order.lines.values_list("id", "quantity")
    missing = any(held.get(line_id, 0) < quantity for line_id, quantity in wanted)
    return OrderStatus.BACKORDERED if missing else OrderStatus.RESERVED


def _settle(order: Order, plan: Plan, *, placing: bool = False) -> None:
    """Set an order's status and place in the waiting queue after routing (the caller holds
    the order). An open order that holds nothing and was parked is parked; one holding part
    is backordered; one holding all is reserved. An order past picking that still misses
    units is backordered where the transition table allows, and waits either way."""
    after = _status_after_sourcing(order)
    missing = after == OrderStatus.BACKORDERED
    if placing or order.status in OPEN_STATUSES:
        target = after
        parked = plan.outcome == "parked" or order.status == OrderStatus.PARKED
        if missing and parked and not _holds_any(order):
            target = OrderStatus.PARKED
        if placing:
            order.status = target
        else:
            _set_status(order, target)
    elif missing and OrderStatus.BACKORDERED in ORDER_TRANSITIONS[order.status]:
        _set_status(order, OrderStatus.BACKORDERED)
    if missing:
        order.waiting_since = order.waiting_since or timezone.now()
    else:
        order.waiting_since = None


def _holds_any(order: Order) -> bool:
    return Allocation.objects.filter(
        line__order=order,
        reservation__status__in=HELD_STATUSES,
    ).exists()


# --------------------------------------------------------------------------- routing

# Decisions kept on an order: the first (how it was placed) and the latest ones.
DECISIONS_KEPT = 20


def _record_decision(
    order: Order,
    plan: Plan,
    candidates: Sequence[Candidate],
    what: str,
    skus: Mapping[int, str],
    profile: RoutingProfile | None,
) -> None:
    codes = {c.location_id: c.code for c in candidates}
    decision = {
        "at": timezone.now().isoformat(),
        "what": what,
        "profile": (
            {
                "id": profile.pk,
                "version": profile.version,
                "city": order.city.code if profile.city_id else None,
                "when_short": profile.when_short,
            }
            if profile is not None
            else None
        ),
        "rules": plan.rules,
        "outcome": plan.outcome,
        "reason": plan.reason,
        # The reasons as codes and values too, for the staff pages to word in any language.
        **({"why": plan.why.as_dict()} if plan.why is not None else {}),
        "candidates": [
            {
                "location": c.code,
                "kind": c.kind,
                "city": c.city,
                "distance_km": round(c.distance_km, 2),
                "cost": round(c.cost, 2),
                "priority": c.priority,
                "sellable": {skus.get(p, str(p)): q for p, q in c.sellable.items()},
                "capacity": c.capacity_note,
                "used": c.code in plan.nodes,
                "skipped": plan.skipped.get(c.code, ""),
                **(
                    {"skipped_why": plan.skipped_why[c.code].as_dict()}
                    if c.code in plan.skipped_why
                    else {}
                ),
                **({"capacity_why": c.capacity_why.as_dict()} if c.capacity_why else {}),
            }
            for c in sorted(candidates, key=lambda c: c.rank)
        ],
        "picks": [
            {"location": codes.get(loc, str(loc)), "sku": skus.get(p, str(p)), "units": q}
            for loc, p, q in plan.picks
        ],
        "short": {skus.get(p, str(p)): q for p, q in plan.short.items()},
    }
    history = list(order.sourcing.get("decisions", [])) if order.sourcing else []
    history.append(decision)
    if len(history) > DECISIONS_KEPT:
        history = history[:1] + history[-(DECISIONS_KEPT - 1) :]
    order.sourcing = {**(order.sourcing or {}), "decisions": history}
    order.sourcing_reason = plan.reason[:255]


def _used(day: Capacity, service: str) -> Why:
    return Why("capacity_used", {"used": day.used, "limit": day.limit, "service": str(service)})


def _candidates(
    *,
    order: Order,
    locations: Sequence[Location],
    product_ids: Sequence[int],
    capacity: Mapping[int, Capacity] | None = None,
) -> list[Candidate]:
    """Lock the stock levels of ``locations`` × products and say what each may give the order:
    available less what the channel's buffer and the store's shelf protection keep back."""
    levels = stock_locks.lock_stock_levels((loc.pk, p) for loc in locations for p in product_ids)
    service = SERVICE_FOR_MODE[OrderMode(order.mode)]
    kept = held_back(
        channel=order.channel,
        location_ids=[loc.pk for loc in locations],
        product_ids=product_ids,
        service=service,
    )
    costs = dict(
        LocationService.objects.filter(location__in=locations, service=service).values_list(
            "location_id", "cost_per_order"
        )
    )
    city_codes = {order.city_id: order.city.code}
    if any(loc.city_id not in city_codes for loc in locations):
        city_codes = dict(City.objects.values_list("id", "code"))
    per_km = settings.OMNI_SHIP_COST_PER_KM
    point = _order_point(order)
    candidates = []
    for loc in locations:
        distance = 0.0
        if point is not None and loc.latitude is not None and loc.longitude is not None:
            distance = haversine_km(point[0], point[1], float(loc.latitude), float(loc.longitude))
        sellable = {
            p: max(0, levels[(loc.pk, p)].available - kept.get((loc.pk, p), 0)) for p in product_ids
        }
        day = (capacity or {}).get(loc.pk)
        candidates.append(
            Candidate(
                location_id=loc.pk,
                code=loc.code,
                distance_km=distance,
                cost=distance * per_km + float(costs.get(loc.pk, 0)),
                priority=getattr(loc, "channel_priority", 100),
                sellable=sellable,
                kind=loc.kind,
                city=city_codes.get(loc.city_id or 0, ""),
                capacity_left=day.left if day else None,
                capacity_note=str(_used(day, service)) if day else "",
                capacity_why=_used(day, service) if day else None,
            )
        )
    return candidates


def _order_point(order: Order) -> tuple[float, float] | None:
    if order.delivery_latitude is not None and order.delivery_longitude is not None:
        return float(order.delivery_latitude), float(order.delivery_longitude)
    store = order.pickup_store
    if store is not None and store.latitude is not None and store.longitude is not None:
        return float(store.latitude), float(store.longitude)
    return None


def _routing_for(order: Order) -> tuple[RoutingProfile | None, list[Rule]]:
    """The channel's active profile in the order's city and its rules, or the default rules."""
    profile = active_routing_profile(channel=order.channel, city=order.city)
    if profile is None:
        return None, list(DEFAULT_RULES)
    return profile, parse_rules(profile.rules)


def _delivery_locations(
    order: Order, profile: RoutingProfile | None, rules: Sequence[Rule], exclude: Sequence[int]
) -> list[Location]:
    """Live ship locations serving the channel: the order's city, and, when a profile routes
    without ``stay_in_city``, every city the channel is live in."""
    cities = [order.city]
    if profile is not None and not any(r.name == "stay_in_city" for r in rules):
        cities += list(
            City.objects.filter(channels__channel=order.channel).exclude(pk=order.city_id)
        )
    found: list[Location] = []
    for city in cities:
        found += [
            loc
            for loc in live_locations(city=city, service=Service.SHIP, channel=order.channel)
            if loc.pk not in exclude
        ]
    return found


def _source(
    order: Order,
    missing: Mapping[OrderLine, int],
    *,
    what: str,
    when_short: str | None = None,
    exclude: Sequence[int] = (),
    record_idle: bool = True,
) -> Plan:
    """Route and reserve ``missing`` units of each line (the caller holds the order).

    ``when_short`` (park / refuse / backorder) defaults to the profile's, or without a profile
    to the channel's ``allow_backorder``. Refused raises ``InsufficientStock``; parked reserves
    nothing. With ``record_idle`` False a plan that takes nothing is not written on the order
    (a retry that found nothing new)."""
    wanted = {line.product_id: q for line, q in missing.items() if q > 0}
    if not wanted:
        return Plan(why=Why("nothing_to_source"))
    profile, rules = _routing_for(order)
    order.routing_profile = profile
    if when_short is None:
        when_short = (
            profile.when_short
            if profile is not None
            else ("backorder" if order.channel.allow_backorder else "refuse")
        )
    if order.mode == OrderMode.PICKUP:
        plan, candidates, locations = _route_pickup(order, wanted, when_short, exclude)
    else:
        locations = _delivery_locations(order, profile, rules, exclude)
        if not locations and not exclude:
            raise ChannelNotLive(order.channel, order=order)
        plan, candidates = _route_delivery(order, wanted, locations, rules, when_short)
    if plan.picks or record_idle:
        _record_decision(order, plan, candidates, what, _skus(missing), profile)
    if plan.outcome == "refused":
        raise _refusal(order, plan, candidates, missing)
    if plan.picks:
        lines_by_product = {line.product_id: line for line in missing}
        locations_by_id = {loc.pk: loc for loc in locations}
        reservations = stock.stock_reserve_many(
            lines=[
                stock.ReserveLine(
                    product=lines_by_product[p].product,
                    location=locations_by_id[loc],
                    quantity=q,
                    owner_id=lines_by_product[p].owner_id,
                )
                for loc, p, q in plan.picks
            ],
            owner_type=OWNER_TYPE,
            owner_id="",
            actor=order.placed_by,
        )
        Allocation.objects.bulk_create(
            [
                Allocation(
                    line=lines_by_product[r.product_id],
                    location_id=r.location_id,
                    quantity=r.quantity,
                    reservation=r,
                )
                for r in reservations
            ]
        )
    return plan


class _NodeFull(Exception):
    def __init__(self, location_id: int) -> None:
        super().__init__(location_id)
        self.location_id = location_id


def _route_delivery(
    order: Order,
    wanted: Mapping[int, int],
    locations: Sequence[Location],
    rules: Sequence[Rule],
    when_short: str,
) -> tuple[Plan, list[Candidate]]:
    """Route, then take a day's slot at each node used that has a capacity; a node whose last
    slot went to another order a moment ago counts as full and the order is routed again."""
    day = city_today(order.city)
    capacity = capacity_of(
        location_ids=[loc.pk for loc in locations], service=Service.SHIP, day=day
    )
    candidates = _candidates(
        order=order, locations=locations, product_ids=list(wanted), capacity=capacity
    )
    while True:
        plan = route(wanted, candidates, rules=rules, when_short=when_short, city=order.city.code)
        if not any(loc in capacity for loc, _, _ in plan.picks):
            return plan, candidates  # no node of the plan has a daily limit
        try:
            # One savepoint for the plan's slots: a node found full gives back the others.
            with transaction.atomic():
                for loc_id in sorted({loc for loc, _, _ in plan.picks}):
                    limit = capacity[loc_id].limit if loc_id in capacity else None
                    if not capacity_take(
                        order=order, location_id=loc_id, service=Service.SHIP, day=day, limit=limit
                    ):
                        raise _NodeFull(loc_id)
        except _NodeFull as exc:
            full = exc.location_id
        else:
            return plan, candidates
        candidates = [
            replace(
                c,
                capacity_left=0,
                capacity_note=f"{c.capacity_note} (taken just now)",
                capacity_why=Why("taken_just_now", {"note": c.capacity_why or c.capacity_note}),
            )
            if c.location_id == full
            else c
            for c in candidates
        ]


def _route_pickup(
    order: Order, wanted: Mapping[int, int], when_short: str, exclude: Sequence[int]
) -> tuple[Plan, list[Candidate], list[Location]]:
    """A pickup comes from the customer's store. Its day's pickup slot decides when it can be
    ready (``promised_at``): today within opening hours if there is room, else the next day
    with room."""
    store = order.pickup_store
    assert store is not None
    if store.pk in exclude:
        plan = Plan(
            short=dict(wanted),
            outcome="backordered",
            why=Why("store_excluded", {"node": store.code}),
        )
        return plan, [], [store]
    today = capacity_of(location_ids=[store.pk], service=Service.PICKUP, day=city_today(order.city))
    (node,) = _candidates(order=order, locations=[store], product_ids=list(wanted), capacity=today)
    plan = plan_single_node(wanted, node, when_short=when_short)
    if plan.picks:
        _take_pickup_slot(order, store)
    return plan, [node], [store]


def _take_pickup_slot(order: Order, store: Location) -> None:
    service = LocationService.objects.filter(location=store, service=Service.PICKUP).first()
    limit = service.daily_capacity if service else None
    for offset in range(settings.OMNI_PICKUP_DAYS_AHEAD):
        ready = pickup_ready_at(service=service, city=order.city, day_offset=offset)
        if capacity_take(
            order=order,
            location_id=store.pk,
            service=Service.PICKUP,
            day=ready.date(),
            limit=limit,
        ):
            if order.promised_at is None or offset:
                order.promised_at = ready
            return
    raise PickupCapacityFull(
        store,
        days=settings.OMNI_PICKUP_DAYS_AHEAD,
        alternatives=pickup_alternatives(
            order=order, wanted={line.product_id: line.quantity for line in order.lines.all()}
        ),
    )


def _skus(lines: Mapping[OrderLine, int]) -> dict[int, str]:
    return {line.product_id: line.product.sku for line in lines}


def _refusal(
    order: Order, plan: Plan, candidates: Sequence[Candidate], missing: Mapping[OrderLine, int]
) -> OrderShort:
    lines_by_product = {line.product_id: line for line in missing}
    short = [
        Shortage(
            sku=lines_by_product[p].product.sku,
            requested=missing[lines_by_product[p]],
            available=missing[lines_by_product[p]] - q,
        )
        for p, q in plan.short.items()
    ]
    alternatives = None
    if order.mode == OrderMode.PICKUP:
        alternatives = pickup_alternatives(
            order=order, wanted={p: missing[lines_by_product[p]] for p in lines_by_product}
        )
    return OrderShort(
        short, store=order.pickup_store, reason=plan.reason, alternatives=alternatives
    )


def pickup_alternatives(*, order: Order, wanted: Mapping[int, int]) -> list[dict[str, Any]]:
    """The nearest other live pickup stores of the order's channel that have every line."""
    from .selectors import stores_with_stock

    point = _order_point(order)
    rows = stores_with_stock(
        city=order.city,
        channel=order.channel,
        product_ids=list(wanted),
        latitude=point[0] if point else None,
        longitude=point[1] if point else None,
    )
    found = []
    for row in rows:
        if row["location_id"] == order.pickup_store_id:
            continue
        if all(row["available"].get(p, 0) >= q for p, q in wanted.items()):
            found.append(
                {
                    "store": row["code"],
                    "name": row["name"],
                    "distance_km": row["distance_km"],
                }
            )
        if len(found) == PICKUP_ALTERNATIVES:
            break
    return found


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
    if mode == OrderMode.STORE_SALE:
        _sell_at_counter(order, created, actor=actor)
    else:
        plan = _source(order, {line: line.quantity for line in created}, what="placed")
        _settle(order, plan, placing=True)
        order.hold_expires_at = timezone.now() + timedelta(minutes=channel.hold_minutes)
    order.save()
    return order, True


def _geo(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.000001"))


def _check_store_live(order: Order, store: Location) -> None:
    """A chosen store must be live for the order's mode and channel today."""
    service = SERVICE_FOR_MODE[OrderMode(order.mode)]
    live = live_locations(city=order.city, service=service, channel=order.channel)
    if not live.filter(pk=store.pk).exists():
        raise StoreNotLive(store, service=service, channel=order.channel)


# --------------------------------------------------------------------------- counter sales


def _sell_at_counter(order: Order, lines: Sequence[OrderLine], *, actor: User | None) -> None:
    """The customer holds the goods: the sale is recorded whatever the system shows.

    If the store shows fewer on hand than sold, the shelf was right and the system wrong: an
    adjustment brings on hand up and a discrepancy is flagged for a count. If the sale takes
    units other orders hold, their holds are released (newest first) and their lines queued
    for re-sourcing after commit.
    """
    store = order.pickup_store
    assert store is not None
    levels = stock_locks.lock_stock_levels((store.pk, line.product_id) for line in lines)
    broken: set[int] = set()
    for line in lines:
        level = levels[(store.pk, line.product_id)]
        observed = max(level.on_hand, line.quantity)
        must_free = level.reserved - (observed - line.quantity)
        holds = _order_holds(store, line.product_id) if must_free > 0 else []
        breakable = sum(h.quantity for h in holds)
        if must_free > breakable:
            # Holds of transfers stay: the shelf must have had those units too.
            observed += must_free - breakable
            must_free = breakable
        if observed != level.on_hand:
            stock.stock_discrepancy_record(
                product=line.product,
                location=store,
                observed=observed,
                reason=f"counter sale of {line.quantity} with {level.on_hand} on hand",
                reference=order.reference,
                actor=actor,
            )
        freed = 0
        for hold in holds:
            if freed >= must_free:
                break
            stock.reservation_release(
                reservation=hold, reason=f"taken by counter sale {order.reference}", actor=actor
            )
            freed += hold.quantity
            broken.add(int(hold.owner_id))
        reservation = stock.stock_reserve(
            product=line.product,
            location=store,
            quantity=line.quantity,
            owner_type=OWNER_TYPE,
            owner_id=line.owner_id,
            actor=actor,
        )
        Allocation.objects.create(
            line=line, location=store, quantity=line.quantity, reservation=reservation
        )
        stock.reservation_consume(
            reservation=reservation, reason=MoveReason.SALE, reference=order.reference, actor=actor
        )
    order.status = OrderStatus.COMPLETED
    order.payment_status = PaymentStatus.PAID
    order.sourcing = {"decisions": [{"what": "counter sale", "store": store.code}]}
    order.sourcing_reason = f"sold at the counter of {store.code}"
    if broken:
        from .tasks import order_lines_resource_task

        ids = sorted(broken)
        transaction.on_commit(lambda: order_lines_resource_task.delay(ids))
        logger.warning("counter sale %s took stock held by order lines %s", order.pk, ids)


def _order_holds(store: Location, product_id: int) -> list[Reservation]:
    """Active order-line holds of a SKU at a store, newest first."""
    return list(
        Reservation.objects.filter(
            location=store,
            product_id=product_id,
            status=ReservationStatus.ACTIVE,
            owner_type=OWNER_TYPE,
        ).order_by("-created_at", "-id")
    )


def order_lines_resource(
    *,
    line_ids: Sequence[int],
    why: str = "stock taken by a counter sale",
    exclude: Sequence[int] = (),
) -> list[Order]:
    """Source again what lines lost (a counter sale took their hold, a picker found the shelf
    short), away from the ``exclude`` locations. What cannot be found is backordered and the
    order flagged with ``why``.

    Each order is its own transaction, ``durable``: in one transaction the second order's lock
    and stock levels would come after the first order's stock levels, out of the global order
    (docs/locking.md). Call it outside any transaction (its task runs after the commit that
    queued it)."""
    orders = []
    order_ids = sorted(
        set(OrderLine.objects.filter(pk__in=line_ids).values_list("order_id", flat=True))
    )
    for order_id in order_ids:
        with transaction.atomic(durable=True):
            order = lock_order(order_id)
            if order.status not in OPEN_STATUSES | {
                OrderStatus.PROCESSING,
                OrderStatus.PARTIALLY_SHIPPED,
            }:
                continue
            lines = list(order.lines.select_related("product"))
            missing = {line: line.units_missing for line in lines}
            if not any(missing.values()):
                continue
            plan = _source(
                order, missing, what=f"re-sourced: {why}", when_short="backorder", exclude=exclude
            )
            if plan.short:
                order.flagged = f"{why}; waiting for stock"[:255]
            _settle(order, plan)
            order.save()
        orders.append(order)
    return orders


@transaction.atomic
def order_set_status(*, order: Order, to: OrderStatus) -> Order:
    """Move an order along the transition table (fulfillment calls this as work proceeds)."""
    order = lock_order(order.pk)
    _set_status(order, to)
    if not ORDER_TRANSITIONS[to] or to == OrderStatus.SHIPPED:
        order.waiting_since = None  # nothing more will be routed for it
    order.save(update_fields=["status", "waiting_since", "updated_at"])
    return order


# --------------------------------------------------------------------------- pay, cancel, change


@transaction.atomic
def order_pay(*, order: Order, actor: User | None = None) -> Order:
    """Payment arrived: the hold no longer expires. Paying a paid order changes nothing."""
    order = lock_order(order.pk)
    if order.payment_status == PaymentStatus.PAID:
        return order
    if order.status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED):
        raise OrderInvalidState(order, action="pay")
    order.payment_status = PaymentStatus.PAID
    order.hold_expires_at = None
    order.save(update_fields=["payment_status", "hold_expires_at", "updated_at"])
    return order


def _release_holds(order: Order, *, reason: str, actor: User | None) -> int:
    """Give back every active hold of the order (the caller holds the order)."""
    holds = list(
        Reservation.objects.filter(
            allocation__line__order=order, status=ReservationStatus.ACTIVE
        ).order_by("location_id", "product_id")
    )
    stock_locks.lock_stock_levels((h.location_id, h.product_id) for h in holds)
    released = 0
    for hold in holds:
        try:
            stock.reservation_release(reservation=hold, reason=reason, actor=actor)
        except ReservationNotActive:
            continue  # a counter sale took it a moment ago
        released += hold.quantity
    return released


@transaction.atomic
def order_cancel(*, order: Order, reason: str = "cancelled", actor: User | None = None) -> Order:
    order = lock_order(order.pk)
    if order.status == OrderStatus.CANCELLED:
        return order  # a retried cancel
    _set_status(order, OrderStatus.CANCELLED)
    _release_holds(order, reason=reason, actor=actor)
    capacity_release(order=order)
    order.hold_expires_at = None
    order.waiting_since = None
    order.save(update_fields=["status", "hold_expires_at", "waiting_since", "updated_at"])
    return order


@transaction.atomic
def order_line_set_quantity(
    *, order: Order, product: Product, quantity: int, actor: User | None = None
) -> Order:
    """Change how many of a SKU the order wants: more is sourced and reserved (or refused, or
    backordered where the channel allows); fewer releases the newest holds first."""
    order = lock_order(order.pk)
    if order.status not in OPEN_STATUSES:
        raise OrderInvalidState(order, action="change")
    stock.check_quantity(quantity)
    line = order.lines.select_related("product").filter(product=product).first()
    if line is None:
        raise InvalidInput.saying(
            gettext_lazy("%(sku)s is not on order %(order)s"),
            detail={"sku": product.sku},
            sku=product.sku,
            order=order.pk,
        )
    held = line.units_held
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    if quantity > held:
        plan = _source(
            order, {line: quantity - held}, what=f"line {product.sku} raised to {quantity}"
        )
    else:
        plan = Plan(why=Why("line_lowered", {"sku": product.sku, "quantity": quantity}))
        if quantity < held:
            _shrink_line(line, keep=quantity, actor=actor)
    _settle(order, plan)
    order.save()
    return order


def _shrink_line(line: OrderLine, *, keep: int, actor: User | None) -> None:
    """Release the newest holds of a line until it holds ``keep``; a hold cut in the middle
    is released and the part still wanted reserved again at the same place."""
    allocations = list(
        line.allocations.select_related("reservation", "location")
        .filter(reservation__status=ReservationStatus.ACTIVE)
        .order_by("-id")
    )
    stock_locks.lock_stock_levels((a.location_id, line.product_id) for a in allocations)
    excess = line.units_held - keep
    for allocation in allocations:
        if excess <= 0:
            break
        stock.reservation_release(
            reservation=allocation.reservation, reason="line reduced", actor=actor
        )
        if allocation.quantity > excess:
            again = allocation.quantity - excess
            reservation = stock.stock_reserve(
                product=line.product,
                location=allocation.location,
                quantity=again,
                owner_type=OWNER_TYPE,
                owner_id=line.owner_id,
                actor=actor,
            )
            Allocation.objects.create(
                line=line, location=allocation.location, quantity=again, reservation=reservation
            )
        excess -= allocation.quantity


# --------------------------------------------------------------------------- expiry


def orders_expire_unpaid(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Expire unpaid orders whose hold ran out and give their stock back, batch after batch
    until none is due. Safe to run twice at once: an order changes status in one conditional
    UPDATE, and only the run whose UPDATE changed it releases its holds.

    Each order is its own transaction, ``durable`` for the reason ``order_lines_resource``
    gives: the batch must be the outermost transaction."""
    now = now or timezone.now()
    due = Q(
        payment_status=PaymentStatus.UNPAID,
        status__in=OPEN_STATUSES,
        hold_expires_at__lte=now,
    )
    expired = 0
    while True:
        ids = list(
            Order.objects.filter(due)
            .order_by("hold_expires_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        won_this_batch = 0
        for order_id in ids:
            with transaction.atomic(durable=True):
                won = Order.objects.filter(due, pk=order_id).update(
                    status=OrderStatus.EXPIRED, waiting_since=None, updated_at=now
                )
                if not won:
                    continue
                _release_holds(Order(pk=order_id), reason="unpaid hold expired", actor=None)
                capacity_release(order=Order(pk=order_id))
                won_this_batch += 1
        expired += won_this_batch
        if len(ids) < batch_size or not won_this_batch:
            return expired


# --------------------------------------------------------------------------- the waiting queue


# How often one routing run walks the queue again from its head because stock came in.
WAITING_RESTARTS = 5


@dataclass(frozen=True)
class _Mark:
    move_id: int
    at: datetime


def _walk_start(queue: QuerySet[Order]) -> tuple[list[tuple[int, int]], list[int], _Mark]:
    """The queue as it stands, its products, and a mark to tell later arrivals by."""
    mark = _Mark(
        move_id=StockMove.objects.aggregate(last=Max("id"))["last"] or 0, at=timezone.now()
    )
    rows = list(queue.values_list("id", "city_id"))
    products = sorted(
        set(
            OrderLine.objects.filter(order_id__in=[r[0] for r in rows]).values_list(
                "product_id", flat=True
            )
        )
    )
    return rows, products, mark


def _arrived_since(mark: _Mark, products: Sequence[int]) -> bool:
    """Did stock of ``products`` come in (goods in, a hold given back) after ``mark``?"""
    if not products:
        return False
    came_in = StockMove.objects.filter(
        pk__gt=mark.move_id,
        product_id__in=products,
        to_location__kind__in=PHYSICAL_KINDS,
    ).exists()
    return (
        came_in
        or Reservation.objects.filter(
            product_id__in=products,
            status__in=(ReservationStatus.RELEASED, ReservationStatus.EXPIRED),
            closed_at__gte=mark.at,
        ).exists()
    )


@dataclass
class WaitingReport:
    tried: int = 0
    filled: int = 0  # every unit now held
    partly: int = 0  # got some units, still waits for the rest
    still_waiting: int = 0
    failed: int = 0  # an error left the order as it was (logged)


def waiting_queue(
    *, product_ids: Sequence[int] | None = None, city: City | None = None
) -> QuerySet[Order]:
    """Orders with units waiting for stock, first served first: by promised date, else by when
    they were placed."""
    queue = Order.objects.filter(waiting_since__isnull=False)
    if product_ids is not None:
        queue = queue.filter(
            pk__in=OrderLine.objects.filter(product_id__in=list(product_ids)).values("order_id")
        )
    if city is not None:
        queue = queue.filter(city=city)
    return queue.annotate(served_by=Coalesce("promised_at", "created_at")).order_by(
        "served_by", "id"
    )


def orders_route_waiting(
    *, product_ids: Sequence[int] | None = None, city: City | None = None
) -> WaitingReport:
    """Route again the orders waiting for stock (of ``product_ids``, or any), in queue order.

    Each order is one transaction taken under its city's queue mutex
    (``locks.lock_city_queue``), so concurrent runs (two receipts at once) take turns order by
    order; each order is locked and its missing units counted afresh, so a unit is never routed
    twice. A parked order is routed whole or stays parked; a backordered one takes what there
    is. The transactions are ``durable``: the run must be the outermost transaction, or its
    next city and order locks would come after the previous order's stock levels.

    The queue is served in order: if stock of the queue's products came in since this run
    started its walk, it walks again from the head before routing the next order, so a newer
    order never takes units an older one passed over a moment before they arrived (at most
    ``WAITING_RESTARTS`` times; the run the arrival queued serves it after that)."""
    report = WaitingReport()
    queue = waiting_queue(product_ids=product_ids, city=city)
    rows, products, mark = _walk_start(queue)
    restarts = 0
    position = 0
    while position < len(rows):
        order_id, city_id = rows[position]
        position += 1
        report.tried += 1
        try:
            with transaction.atomic(durable=True):
                lock_city_queue(city_id)
                if restarts < WAITING_RESTARTS and position > 1 and _arrived_since(mark, products):
                    restarts += 1
                    report.tried -= 1
                    rows, products, mark = _walk_start(queue)
                    position = 0
                    continue
                order = lock_order(order_id)
                if order.waiting_since is None:
                    continue
                lines = list(order.lines.select_related("product"))
                missing = {line: line.units_missing for line in lines}
                parked = order.status == OrderStatus.PARKED
                plan = _source(
                    order,
                    missing,
                    what="retried: stock arrived",
                    when_short="park" if parked else "backorder",
                    record_idle=False,
                )
                _settle(order, plan)
                order.save()
        except ApplicationError as exc:
            report.failed += 1
            logger.warning("waiting order %s could not be routed: %s", order_id, exc)
            continue
        if order.waiting_since is None:
            report.filled += 1
        elif plan.picks:
            report.partly += 1
        else:
            report.still_waiting += 1
    return report
