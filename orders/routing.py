"""Where an order's units come from (routing, or sourcing): the pure part. Plain data in, a plan
out; the service (``orders.services``) feeds it locked stock levels, capacity and the channel's
routing profile, and reserves what it decides.

``route`` applies a profile's rules (``omni.routing_rules``) in their order: filters take nodes
out, each with the reason; nodes at their day's capacity are skipped; ranking rules order the
rest; ``keep_together`` prefers one node for the whole order, else the fewest nodes; ``max_splits``
caps the nodes. An order the rules cannot fill parks, is refused or is backordered, as the
profile's ``when_short`` says. Without a profile a channel routes by ``DEFAULT_RULES``: one node
if any can, by distance × rate + per-order cost, then the channel's priority, else the fewest
nodes. Every plan says why, in words a planner can read, and which node was skipped and why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from network.routing_rules import FILTERS, Rule, parse_rules

# Above this many candidates the exact search for the fewest nodes gives way to greedy cover.
EXACT_SPLIT_MAX_CANDIDATES = 12
DEFAULT_RULES = parse_rules(["keep_together", "lowest_cost", "location_rank"])


@dataclass(frozen=True)
class Candidate:
    """A location that may serve the order, with what it can give of each product."""

    location_id: int
    code: str
    distance_km: float
    cost: float  # distance cost + the location's per-order cost: lower is better
    priority: int  # the channel's order of preference: lower is better
    sellable: Mapping[int, int]  # product id -> units this order may take here
    kind: str = "warehouse"
    city: str = ""
    capacity_left: int | None = None  # orders it can still take today; None: no limit
    capacity_note: str = ""

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
    outcome: str = "routed"  # routed, split, parked, refused, backordered
    skipped: dict[str, str] = field(default_factory=dict)  # location code -> why not used
    rules: list[dict[str, Any]] = field(default_factory=list)  # each rule and what it did

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


Weight = Callable[[Candidate], tuple[float, ...]]


def _fewest_nodes(
    wanted: Mapping[int, int], ranked: Sequence[Candidate], weight: Weight, limit: int | None
) -> list[Candidate]:
    """The smallest set of nodes (at most ``limit``) that covers ``wanted``, lightest among
    equals, in ``ranked`` order; empty if none."""
    most = len(ranked) if limit is None else min(limit, len(ranked))
    if len(ranked) <= EXACT_SPLIT_MAX_CANDIDATES:
        for size in range(2, most + 1):
            best: tuple[tuple[float, ...], list[Candidate]] | None = None
            for combo in combinations(ranked, size):
                if _coverable(wanted, combo):
                    total = tuple(
                        sum(parts) for parts in zip(*(weight(n) for n in combo), strict=True)
                    )
                    if best is None or total < best[0]:
                        best = (total, list(combo))
            if best is not None:
                return [n for n in ranked if n in best[1]]
        return []
    chosen = _greedy_cover(wanted, ranked)
    return chosen if _coverable(wanted, chosen) and len(chosen) <= most else []


def _units_served(node: Candidate, wanted: Mapping[int, int]) -> int:
    return sum(min(node.sellable.get(p, 0), q) for p, q in wanted.items())


def _greedy_cover(
    wanted: Mapping[int, int], ranked: Sequence[Candidate], limit: int | None = None
) -> list[Candidate]:
    """Repeatedly take the node that serves the most of what is still missing (the better
    ranked among equals), at most ``limit`` nodes; returned in ``ranked`` order."""
    left = dict(wanted)
    chosen: list[Candidate] = []
    pool = list(ranked)
    while any(left.values()) and pool and (limit is None or len(chosen) < limit):
        best = max(pool, key=lambda n: (_units_served(n, left), -pool.index(n)))
        gain = {p: min(best.sellable.get(p, 0), q) for p, q in left.items()}
        if not any(gain.values()):
            break
        chosen.append(best)
        pool.remove(best)
        left = {p: q - gain[p] for p, q in left.items()}
    return [n for n in ranked if n in chosen]


# --------------------------------------------------------------------------- rules


def _filter_out(rule: Rule, node: Candidate, city: str) -> str:
    """Why ``rule`` takes ``node`` out of the running, or "" if it stays."""
    if rule.name == "stay_in_city" and node.city and city and node.city != city:
        return f"in {node.city}, not the customer's city {city}"
    if rule.name == "exclude_kinds" and node.kind in rule.params["kinds"]:
        return f"a {node.kind}; this channel excludes {', '.join(rule.params['kinds'])}"
    if rule.name == "distance_band":
        low, high = rule.params.get("min_km", 0.0), rule.params["max_km"]
        if not low <= node.distance_km <= high:
            return f"{node.distance_km:.1f} km away, outside {low:g}–{high:g} km"
    return ""


_MEASURES: dict[str, Callable[[Candidate], float]] = {
    "nearest_first": lambda n: n.distance_km,
    "location_rank": lambda n: float(n.priority),
    "lowest_cost": lambda n: n.cost,
}


def _ranking(rules: Sequence[Rule]) -> Weight:
    """The profile's ranking rules in their order, then cost, rank and distance to break ties."""
    names = [r.name for r in rules if r.name in _MEASURES]
    for tail in ("lowest_cost", "location_rank", "nearest_first"):
        if tail not in names:
            names.append(tail)
    measures = [_MEASURES[name] for name in names]
    return lambda n: tuple(m(n) for m in measures)


def route(
    wanted: Mapping[int, int],
    candidates: Sequence[Candidate],
    *,
    rules: Sequence[Rule] = DEFAULT_RULES,
    when_short: str = "refuse",
    city: str = "",
) -> Plan:
    """Route a delivery order. ``wanted`` maps product id -> units; ``city`` is the customer's."""
    skipped: dict[str, str] = {}
    log: list[dict[str, Any]] = []
    pool = list(candidates)
    for rule in rules:
        if rule.name not in FILTERS:
            continue
        out = []
        for node in pool:
            why = _filter_out(rule, node, city)
            if why:
                skipped[node.code] = f"{rule.name}: {why}"
                out.append(node.code)
        pool = [n for n in pool if n.code not in out]
        log.append({**rule.as_dict(), "skipped": out})
    full = [n for n in pool if n.capacity_left is not None and n.capacity_left <= 0]
    for node in full:
        skipped[node.code] = f"capacity: {node.capacity_note or 'full today'}"
    if full:
        log.append({"rule": "capacity", "skipped": [n.code for n in full]})
    pool = [n for n in pool if n not in full]
    weight = _ranking(rules)
    ranked = sorted(pool, key=lambda n: (*weight(n), n.code))
    names = {r.name for r in rules}
    limit = next((r.params["value"] + 1 for r in rules if r.name == "max_splits"), None)
    for rule in rules:
        if rule.name not in FILTERS:
            log.append({**rule.as_dict(), "order": [n.code for n in ranked]})

    plan = _plan(wanted, ranked, weight, keep_together="keep_together" in names, limit=limit)
    if plan is None:
        why = _why_short(wanted, ranked, limit)
        plan = _short_plan(wanted, ranked, when_short, limit, why)
    plan.skipped = skipped
    for node in ranked:
        if node.code in plan.nodes:
            continue
        if not any(node.sellable.get(p, 0) for p in wanted):
            why = "has none of the order's units to give"
        elif not plan.picks:
            why = "has part of the order; the rules need the whole order served"
        elif "keep_together" in names and not node.covers(wanted):
            why = f"has only part of the order; keep_together chose {', '.join(plan.nodes)}"
        else:
            why = "not needed: better-ranked nodes serve the order"
        plan.skipped[node.code] = why
    plan.rules = log
    return plan


def _plan(
    wanted: Mapping[int, int],
    ranked: Sequence[Candidate],
    weight: Weight,
    *,
    keep_together: bool,
    limit: int | None,
) -> Plan | None:
    """A complete plan within the rules, or None."""
    if keep_together:
        whole = [n for n in ranked if n.covers(wanted)]
        if whole:
            plan = _fill(wanted, whole[:1])
            others = len(whole) - 1
            plan.reason = f"one node serves the whole order: {whole[0].code}" + (
                f" ({whole[0].distance_km:.1f} km; {others} other node(s) could too, ranked lower)"
                if others
                else f" ({whole[0].distance_km:.1f} km)"
            )
            return plan
    else:
        plan = _fill(wanted, ranked)
        if plan.complete and (limit is None or len(plan.nodes) <= limit):
            plan.outcome = "split" if len(plan.nodes) > 1 else "routed"
            plan.reason = (
                f"each line from the best-ranked node that has it: {', '.join(plan.nodes)}"
            )
            return plan
        if not plan.complete:
            return None
    if limit == 1:
        whole = [n for n in ranked if n.covers(wanted)]
        if not whole:
            return None
        plan = _fill(wanted, whole[:1])
        plan.reason = (
            f"the nearer split would use more nodes than max_splits allows; one node serves "
            f"the whole order: {whole[0].code}"
        )
        return plan
    nodes = _fewest_nodes(wanted, ranked, weight, limit)
    if not nodes:
        return None
    plan = _fill(wanted, nodes)
    plan.outcome = "split"
    plan.reason = (
        f"no single node has every line; split over {len(plan.nodes)} nodes, the fewest "
        f"that can: {', '.join(plan.nodes)}"
    )
    return plan


def _why_short(wanted: Mapping[int, int], ranked: Sequence[Candidate], limit: int | None) -> str:
    if not ranked:
        return "no node is left after the rules and capacity"
    if not _coverable(wanted, ranked):
        return "not enough stock at the nodes the rules allow"
    return f"no {limit} node(s) together have every line (max_splits {limit - 1 if limit else 0})"


def _short_plan(
    wanted: Mapping[int, int],
    ranked: Sequence[Candidate],
    when_short: str,
    limit: int | None,
    why: str,
) -> Plan:
    if when_short == "backorder":
        plan = _fill(wanted, _greedy_cover(wanted, ranked, limit))
        plan.outcome = "backordered"
        plan.reason = (
            f"{why}; took what "
            + (", ".join(plan.nodes) if plan.nodes else "no node")
            + " had and backordered the rest"
        )
        return plan
    # Nothing is taken; ``short`` says what the allowed nodes lack (all of it if they lack
    # nothing and only the split limit stands in the way).
    plan = Plan(short=_fill(wanted, ranked).short or dict(wanted))
    plan.outcome = "parked" if when_short == "park" else "refused"
    plan.reason = f"{why}; parked until stock arrives" if when_short == "park" else why
    return plan


def plan_single_node(wanted: Mapping[int, int], node: Candidate, *, when_short: str) -> Plan:
    """Source everything at one node (pickup at the customer's chosen store)."""
    plan = _fill(wanted, [node])
    if not plan.short:
        plan.reason = f"{node.code} is the customer's choice and has every line"
        return plan
    if when_short == "backorder":
        plan.outcome = "backordered"
        plan.reason = f"{node.code} is the customer's choice; the rest is backordered there"
        return plan
    plan = Plan(short=plan.short)
    if when_short == "park":
        plan.outcome = "parked"
        plan.reason = f"{node.code} does not have every line; parked until stock arrives there"
    else:
        plan.outcome = "refused"
        plan.reason = f"{node.code} does not have every line"
    return plan
