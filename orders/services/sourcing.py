"""Sourcing an order: the candidates a routing profile allows, the pure router's plan, the holds
it makes and the decision recorded with its reasons; pickup alternatives when a store is short."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory import locks as stock_locks
from inventory import services as stock
from inventory.errors import (
    Shortage,
)
from inventory.geo import haversine_km
from inventory.models import (
    Location,
)
from network.models import LocationService, RoutingProfile, Service
from network.routing_rules import Rule, parse_rules
from network.selectors import active_routing_profile, held_back, live_locations
from omni.models import City
from omni.selectors import city_today

from ..capacity import Capacity, capacity_of, capacity_take, pickup_ready_at
from ..errors import (
    ChannelNotLive,
    OrderShort,
    PickupCapacityFull,
)
from ..models import (
    Allocation,
    Order,
    OrderLine,
    OrderMode,
)
from ..routing import (
    DEFAULT_RULES,
    Candidate,
    Plan,
    Why,
    plan_single_node,
    route,
)
from .common import OWNER_TYPE, PICKUP_ALTERNATIVES, SERVICE_FOR_MODE

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
    from ..selectors import stores_with_stock

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
