"""Where an order's units come from: the pure part of sourcing. Plain data in, a plan out; the
service (``orders.services``) feeds it locked stock levels and reserves what it decides.

Delivery: one node for the whole order if any can serve it (the cheapest by distance and
per-order cost, then the channel's priority); otherwise the fewest nodes that together can,
cheapest first; otherwise, if the channel takes backorders, as much as the nodes have with
the rest backordered. Every plan says why, in words a planner can read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

EARTH_RADIUS_KM = 6371.0088
# Above this many candidates the exact search for the fewest nodes gives way to greedy cover.
EXACT_SPLIT_MAX_CANDIDATES = 12


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Candidate:
    """A location that may serve the order, with what it can give of each product."""

    location_id: int
    code: str
    distance_km: float
    cost: float  # distance cost + the location's per-order cost: lower is better
    priority: int  # the channel's order of preference: lower is better
    sellable: Mapping[int, int]  # product id -> units this order may take here

    @property
    def rank(self) -> tuple[float, int, str]:
        return (self.cost, self.priority, self.code)

    def covers(self, wanted: Mapping[int, int]) -> bool:
        return all(self.sellable.get(p, 0) >= q for p, q in wanted.items())


@dataclass
class Plan:
    picks: list[tuple[int, int, int]] = field(default_factory=list)  # (location, product, units)
    short: dict[int, int] = field(default_factory=dict)  # product id -> units not found
    reason: str = ""
    nodes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.short


def _fill(wanted: Mapping[int, int], nodes: Sequence[Candidate]) -> Plan:
    """Take each product from ``nodes`` in the given order until the line is full."""
    plan = Plan()
    used: list[str] = []
    for product_id, quantity in wanted.items():
        left = quantity
        for node in nodes:
            take = min(left, node.sellable.get(product_id, 0))
            if take > 0:
                plan.picks.append((node.location_id, product_id, take))
                left -= take
                if node.code not in used:
                    used.append(node.code)
            if not left:
                break
        if left:
            plan.short[product_id] = left
    plan.nodes = [n.code for n in nodes if n.code in used]
    return plan


def _coverable(wanted: Mapping[int, int], nodes: Sequence[Candidate]) -> bool:
    return all(sum(n.sellable.get(p, 0) for n in nodes) >= q for p, q in wanted.items())


def _fewest_nodes(wanted: Mapping[int, int], ranked: Sequence[Candidate]) -> list[Candidate]:
    """The smallest set of nodes that covers ``wanted``, cheapest among equals; empty if none."""
    if len(ranked) <= EXACT_SPLIT_MAX_CANDIDATES:
        for size in range(2, len(ranked) + 1):
            best: tuple[float, list[Candidate]] | None = None
            for combo in combinations(ranked, size):
                if _coverable(wanted, combo):
                    total = sum(n.cost for n in combo)
                    if best is None or total < best[0]:
                        best = (total, list(combo))
            if best is not None:
                return sorted(best[1], key=lambda n: n.rank)
        return []
    chosen = _greedy_cover(wanted, ranked)
    return chosen if _coverable(wanted, chosen) else []


def _units_served(node: Candidate, wanted: Mapping[int, int]) -> int:
    return sum(min(node.sellable.get(p, 0), q) for p, q in wanted.items())


def _greedy_cover(wanted: Mapping[int, int], ranked: Sequence[Candidate]) -> list[Candidate]:
    """Repeatedly take the node that serves the most of what is still missing."""
    left = dict(wanted)
    chosen: list[Candidate] = []
    pool = list(ranked)
    while any(left.values()) and pool:
        best = max(pool, key=lambda n: (_units_served(n, left), -n.cost, -n.priority))
        gain = {p: min(best.sellable.get(p, 0), q) for p, q in left.items()}
        if not any(gain.values()):
            break
        chosen.append(best)
        pool.remove(best)
        left = {p: q - gain[p] for p, q in left.items()}
    return sorted(chosen, key=lambda n: n.rank)


def plan_delivery(
    wanted: Mapping[int, int], candidates: Sequence[Candidate], *, allow_backorder: bool
) -> Plan:
    """Source a delivery order. ``wanted`` maps product id -> units."""
    ranked = sorted(candidates, key=lambda n: n.rank)
    whole = [n for n in ranked if n.covers(wanted)]
    if whole:
        plan = _fill(wanted, whole[:1])
        best = whole[0]
        others = len(whole) - 1
        plan.reason = f"one node serves the whole order: {best.code} ({best.distance_km:.1f} km" + (
            f"; {others} other node(s) could too, farther or costlier)" if others else ")"
        )
        return plan
    nodes = _fewest_nodes(wanted, ranked)
    if nodes:
        plan = _fill(wanted, nodes)
        plan.reason = (
            f"no single node has every line; split over {len(plan.nodes)} nodes, the fewest "
            f"that can: {', '.join(plan.nodes)}"
        )
        return plan
    if not allow_backorder:
        plan = _fill(wanted, ranked)
        plan.picks = []
        plan.nodes = []
        plan.reason = "not enough stock at the nodes that serve this channel"
        return plan
    plan = _fill(wanted, _greedy_cover(wanted, ranked))
    plan.reason = (
        "not enough stock anywhere; took what "
        + (", ".join(plan.nodes) if plan.nodes else "no node")
        + " had and backordered the rest"
    )
    return plan


def plan_single_node(wanted: Mapping[int, int], node: Candidate, *, allow_backorder: bool) -> Plan:
    """Source everything at one node (pickup at a chosen store)."""
    plan = _fill(wanted, [node])
    if plan.short and not allow_backorder:
        plan.picks, plan.nodes = [], []
        plan.reason = f"{node.code} does not have every line"
    elif plan.short:
        plan.reason = f"{node.code} is the customer's choice; the rest is backordered there"
    else:
        plan.reason = f"{node.code} is the customer's choice and has every line"
    return plan
