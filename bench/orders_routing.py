"""The routing overhead section of ``bench/orders.py``: what a retailer's routing profile costs
per order against the default rules (that module's docstring says how it is measured)."""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.order_placing import (
    CHANNEL,
    STOCK_PER_SKU,
    Result,
    ServicePlacer,
    ensure_levels,
    lay_out_city,
    new_order,
    print_failures,
    serve,
    top_up,
)

if TYPE_CHECKING:
    from network.models import Channel, RoutingProfile


# The routing overhead section.
ROUTING_ORDERS = 400  # per way
ROUTING_WARMUP = 40  # per way, untimed
ROUTING_SEED = "routing"
DEFAULT_CITY = "bench-a"  # the default rules
PROFILE_CITY = "bench-b"  # a retailer's profile
STORE_STOCK = 500  # available units of each SKU topped up at each store of those two cities
PROFILE_RULES: list[object] = [
    "stay_in_city",
    "keep_together",
    "nearest_first",
    {"rule": "max_splits", "value": 1},
    {"rule": "distance_band", "max_km": 30},
]
PROFILE_WHEN_SHORT = "park"
BUFFER_UNITS = 2
SHIP_HEADROOM = {1: 40, 2: 60}  # store number -> ship orders it takes beyond today's use


@dataclass
class RoutingWay:
    """One way of routing the same orders: the city they are placed in, their latencies, the
    time spent planning in each, and what they became (first decision's outcome and nodes)."""

    key: str
    city: str
    result: Result
    route_seconds: list[float] = field(default_factory=list)  # route() per placed order
    by_order: dict[int, float] = field(default_factory=dict)  # order number -> seconds
    outcomes: Counter[str] = field(default_factory=Counter)
    nodes: Counter[str] = field(default_factory=Counter)


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def prepare_routing(channel: Channel, skus: list[str]) -> RoutingProfile:
    """The two routing cities, laid out and stocked alike; bench-b's profile, channel buffers
    and ship capacity. Returns bench-b's active profile."""
    from inventory.models import Product
    from network.models import Service
    from network.routing_rules import parse_rules, rules_as_data
    from network.selectors import active_routing_profile
    from network.services import (
        channel_buffer_set,
        location_capacity_set,
        routing_profile_activate,
        routing_profile_create,
    )
    from omni.selectors import city_today
    from orders.capacity import capacity_of

    products = list(Product.objects.filter(sku__in=skus))
    laid_out = {}
    for code in (DEFAULT_CITY, PROFILE_CITY):
        city, nodes = lay_out_city(code, f"Bench City {code[-1].upper()}", code.upper())
        serve(channel, city, nodes)
        ensure_levels(nodes, products)
        top_up(nodes[0], products, STOCK_PER_SKU)
        for store in nodes[1:]:
            top_up(store, products, STORE_STOCK)
        laid_out[code] = (city, nodes)

    city_a, _ = laid_out[DEFAULT_CITY]
    if active_routing_profile(channel=channel, city=city_a) is not None:
        raise SystemExit(
            f"{DEFAULT_CITY} must route {CHANNEL} by the default rules: retire its profile"
        )
    city_b, nodes_b = laid_out[PROFILE_CITY]
    for node in nodes_b:
        channel_buffer_set(channel=channel, location=node, units=BUFFER_UNITS, source="bench")
    used = capacity_of(
        location_ids=[node.pk for node in nodes_b], service=Service.SHIP, day=city_today(city_b)
    )
    for n, headroom in SHIP_HEADROOM.items():
        store = nodes_b[n]
        today = used[store.pk].used if store.pk in used else 0
        location_capacity_set(
            location=store, service=Service.SHIP, daily_capacity=today + headroom, source="bench"
        )
    profile = active_routing_profile(channel=channel, city=city_b)
    if (
        profile is None
        or profile.city_id != city_b.pk
        or profile.rules != rules_as_data(parse_rules(PROFILE_RULES))
        or profile.when_short != PROFILE_WHEN_SHORT
    ):
        draft = routing_profile_create(
            channel=channel,
            city=city_b,
            rules=PROFILE_RULES,
            when_short=PROFILE_WHEN_SHORT,
            note="bench/orders.py: a retailer's web profile",
            source="bench",
        )
        profile = routing_profile_activate(profile=draft, source="bench")
    return profile


def measure_routing(channel: Channel, skus: list[str], *, orders: int) -> list[RoutingWay]:
    """Place the same orders (one seed) in the default-rules city and the profile's city, one
    client thread, alternating which goes first; time each order and the route() calls in it."""
    from unittest import mock

    from orders import routing, services
    from orders.models import Order

    ways = [
        RoutingWay("a", DEFAULT_CITY, Result(f"a: default rules, {DEFAULT_CITY}")),
        RoutingWay("b", PROFILE_CITY, Result(f"b: profile, {PROFILE_CITY}")),
    ]
    placers = {way.key: ServicePlacer(channel.pk, way.city) for way in ways}
    tag = f"r{time.time_ns():x}"
    planning = [0.0]

    def timed_route(*args: Any, **kwargs: Any) -> routing.Plan:
        started = time.perf_counter()
        try:
            return routing.route(*args, **kwargs)
        finally:
            planning[0] += time.perf_counter() - started

    try:
        with mock.patch.object(services, "route", timed_route):
            for phase, count in (("warm", ROUTING_WARMUP), ("timed", orders)):
                rngs = {way.key: random.Random(f"{ROUTING_SEED}-{phase}") for way in ways}
                for n in range(count):
                    for way in ways if n % 2 == 0 else ways[::-1]:
                        spec = new_order(rngs[way.key], f"{tag}-{way.key}-{phase}-{n}", skus)
                        planning[0] = 0.0
                        started = time.perf_counter()
                        failure = placers[way.key].place(spec)
                        elapsed = time.perf_counter() - started
                        if phase == "warm":
                            continue
                        if failure is None:
                            way.result.latencies.append(elapsed)
                            way.route_seconds.append(planning[0])
                            way.by_order[n] = elapsed
                            continue
                        way.result.failures[failure.kind] += 1
                        if failure.kind not in {f.kind for f in way.result.samples}:
                            way.result.samples.append(failure)
    finally:
        for placer in placers.values():
            placer.close()

    for way in ways:
        decisions = Order.objects.filter(external_id__startswith=f"{tag}-{way.key}-timed-")
        for sourcing in decisions.values_list("sourcing", flat=True):
            first = sourcing["decisions"][0]
            way.outcomes[first["outcome"]] += 1
            way.nodes.update({pick["location"].rsplit("-", 1)[-1] for pick in first["picks"]})
    return ways


def report_routing(ways: list[RoutingWay], profile: RoutingProfile, orders: int) -> None:
    from network.routing_rules import parse_rules

    a, b = ways
    b.result.label = f"b: profile {CHANNEL}@{PROFILE_CITY} v{profile.version}"
    print(
        f"routing overhead: in-process, 1 client thread, {orders:,} orders each way, a and b"
        " alternating (same seed and mix)"
    )
    for way in ways:
        result = way.result
        print(
            f"  {result.label:<34}{len(result.latencies):6,} orders"
            f"   p50 {result.percentile_ms(50):7.2f} ms   p99 {result.percentile_ms(99):7.2f} ms"
            f"   route() p50 {1e6 * percentile(way.route_seconds, 50):6.0f} µs"
            f"   p99 {1e6 * percentile(way.route_seconds, 99):6.0f} µs"
        )
        print_failures(result)
    p50 = (a.result.percentile_ms(50), b.result.percentile_ms(50))
    p99 = (a.result.percentile_ms(99), b.result.percentile_ms(99))
    nan = float("nan")
    # The same order placed both ways, one right after the other: the difference per pair is
    # the steadiest measure of the overhead on a machine whose load changes during the run.
    paired = [1000 * (b.by_order[n] - a.by_order[n]) for n in a.by_order if n in b.by_order]
    print(
        f"  {'overhead b - a':<46}   p50 {p50[1] - p50[0]:+7.2f} ms"
        f"   p99 {p99[1] - p99[0]:+7.2f} ms"
    )
    print(
        f"  {'overhead per pair of the same order (b - a)':<46}"
        f"   p50 {percentile(paired, 50):+7.2f} ms   p99 {percentile(paired, 99):+7.2f} ms"
    )
    print(
        f"  {'ratio b/a':<46}   p50 {p50[1] / p50[0] if p50[0] else nan:7.3f}   "
        f"   p99 {p99[1] / p99[0] if p99[0] else nan:7.3f}"
    )
    shares = []
    for way in ways:
        order_p50 = way.result.percentile_ms(50) / 1000
        if order_p50:
            shares.append(f"{way.key} {100 * percentile(way.route_seconds, 50) / order_p50:.1f} %")
    print(f"  route() p50 as a share of the order's p50: {', '.join(shares)}")
    rules = ", ".join(
        " ".join([rule.name, *(f"{k}={v}" for k, v in rule.params.items())])
        for rule in parse_rules(profile.rules)
    )
    print(f"  b's rules: {rules}; when short: {profile.when_short}")
    headroom = ", ".join(f"S{n} {extra} more" for n, extra in SHIP_HEADROOM.items())
    print(
        f"  b's settings: {CHANNEL} keeps {BUFFER_UNITS} units of each SKU back at each node;"
        f" ship orders today: {headroom} (the warm-up's included)"
    )
    for way in ways:
        outcomes = ", ".join(f"{k} {n:,}" for k, n in way.outcomes.most_common())
        nodes = ", ".join(f"{k} {n:,}" for k, n in sorted(way.nodes.items()))
        print(f"  {way.key}: {outcomes}; orders served by node: {nodes}")
