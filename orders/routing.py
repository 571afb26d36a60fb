"""Where an order's units come from (routing, or sourcing): the pure part. Plain data in, a plan
out; the service (``orders.services``) feeds it locked stock levels, capacity and the channel's
routing profile, and reserves what it decides.

``route`` applies a profile's rules (``network.routing_rules``) in their order: filters take nodes
out, each with the reason; nodes at their day's capacity are skipped; ranking rules order the
rest; ``keep_together`` prefers one node for the whole order, else the fewest nodes; ``max_splits``
caps the nodes. An order the rules cannot fill parks, is refused or is backordered, as the
profile's ``when_short`` says. Without a profile a channel routes by ``DEFAULT_RULES``: one node
if any can, by distance × rate + per-order cost, then the channel's priority, else the fewest
nodes. Every plan says why, in words a planner can read, and which node was skipped and why.

A reason is a ``Why``: a code and its values. ``str(why)`` words it in English from
``REASONS`` (what is stored on the order, logged and answered by the API); the staff pages word
the same code in the staff's language from their own table (``staff.views.routing``), so
this core stays free of Django and of any language but its own.
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

# Every reason a plan, a skipped node or a capacity note can give, in English
# (``str.format`` fields; a list of node codes is joined with ", ").
REASONS: dict[str, str] = {
    # how the order was routed
    "whole_order": "one node serves the whole order: {node} ({km} km)",
    "whole_order_of_several": (
        "one node serves the whole order: {node} ({km} km; {others} other node(s) could too,"
        " ranked lower)"
    ),
    "best_ranked": "each line from the best-ranked node that has it: {nodes}",
    "max_splits_one_node": (
        "the nearer split would use more nodes than max_splits allows; one node serves the"
        " whole order: {node}"
    ),
    "fewest_nodes": (
        "no single node has every line; split over {count} nodes, the fewest that can: {nodes}"
    ),
    # why it could not be filled, and what happened then
    "no_node_left": "no node is left after the rules and capacity",
    "not_enough_stock": "not enough stock at the nodes the rules allow",
    "split_limit": "no {limit} node(s) together have every line (max_splits {max_splits})",
    "took_and_backordered": "{why}; took what {nodes} had and backordered the rest",
    "took_nothing_backordered": "{why}; took what no node had and backordered the rest",
    "parked": "{why}; parked until stock arrives",
    # a pickup at the customer's store
    "store_has_all": "{node} is the customer's choice and has every line",
    "store_backordered": "{node} is the customer's choice; the rest is backordered there",
    "store_short_parked": "{node} does not have every line; parked until stock arrives there",
    "store_short": "{node} does not have every line",
    "store_excluded": "{node} is short; the rest waits there",
    # set by the service
    "nothing_to_source": "nothing to source",
    "line_lowered": "line {sku} lowered to {quantity}",
    # why a node was not used
    "filtered": "{rule}: {why}",
    "other_city": "in {city}, not the customer's city {customer_city}",
    "excluded_kind": "a {kind}; this channel excludes {kinds}",
    "outside_band": "{km} km away, outside {low}–{high} km",
    "at_capacity": "capacity: {note}",
    "full_today": "full today",
    "capacity_used": "{used} of {limit} {service} orders today",
    "taken_just_now": "{note} (taken just now)",
    "none_to_give": "has none of the order's units to give",
    "whole_order_needed": "has part of the order; the rules need the whole order served",
    "kept_together": "has only part of the order; keep_together chose {nodes}",
    "not_needed": "not needed: better-ranked nodes serve the order",
}


@dataclass(frozen=True)
class Why:
    """A reason as a code of ``REASONS`` and its values (numbers already shown as text, node
    codes as lists, other reasons nested)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return REASONS[self.code].format_map({k: _shown(v) for k, v in self.params.items()})

    def as_dict(self) -> dict[str, Any]:
        """JSON for the order's stored decisions."""
        out: dict[str, Any] = {"code": self.code}
        if self.params:
            out["params"] = {
                k: v.as_dict() if isinstance(v, Why) else v for k, v in self.params.items()
            }
        return out


def _shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


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
    capacity_why: Why | None = None  # the note as a reason (its words in any language)

    @property
    def rank(self) -> tuple[float, int, str]:
        return (self.cost, self.priority, self.code)

    def covers(self, wanted: Mapping[int, int]) -> bool:
        return all(self.sellable.get(p, 0) >= q for p, q in wanted.items())


@dataclass
class Plan:
    picks: list[tuple[int, int, int]] = field(default_factory=list)  # (location, product, units)
    short: dict[int, int] = field(default_factory=dict)  # product id -> units not found
    reason: str = ""  # ``why`` in English
    nodes: list[str] = field(default_factory=list)
    outcome: str = "routed"  # routed, split, parked, refused, backordered
    skipped: dict[str, str] = field(default_factory=dict)  # location code -> why not used
    rules: list[dict[str, Any]] = field(default_factory=list)  # each rule and what it did
    why: Why | None = None
    skipped_why: dict[str, Why] = field(default_factory=dict)  # ``skipped`` as reasons

    def __post_init__(self) -> None:
        if self.why is not None and not self.reason:
            self.reason = str(self.why)

    @property
    def complete(self) -> bool:
        return not self.short

    def say(self, why: Why) -> None:
        self.why, self.reason = why, str(why)

    def skip(self, code: str, why: Why) -> None:
        self.skipped_why[code], self.skipped[code] = why, str(why)


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


def _filter_out(rule: Rule, node: Candidate, city: str) -> Why | None:
    """Why ``rule`` takes ``node`` out of the running, or None if it stays."""
    if rule.name == "stay_in_city" and node.city and city and node.city != city:
        return Why("other_city", {"city": node.city, "customer_city": city})
    if rule.name == "exclude_kinds" and node.kind in rule.params["kinds"]:
        return Why("excluded_kind", {"kind": node.kind, "kinds": list(rule.params["kinds"])})
    if rule.name == "distance_band":
        low, high = rule.params.get("min_km", 0.0), rule.params["max_km"]
        if not low <= node.distance_km <= high:
            return Why(
                "outside_band",
                {"km": f"{node.distance_km:.1f}", "low": f"{low:g}", "high": f"{high:g}"},
            )
    return None


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
    skipped: dict[str, Why] = {}
    log: list[dict[str, Any]] = []
    pool = list(candidates)
    for rule in rules:
        if rule.name not in FILTERS:
            continue
        out = []
        for node in pool:
            why = _filter_out(rule, node, city)
            if why is not None:
                skipped[node.code] = Why("filtered", {"rule": rule.name, "why": why})
                out.append(node.code)
        pool = [n for n in pool if n.code not in out]
        log.append({**rule.as_dict(), "skipped": out})
    full = [n for n in pool if n.capacity_left is not None and n.capacity_left <= 0]
    for node in full:
        note = node.capacity_why or (node.capacity_note or Why("full_today"))
        skipped[node.code] = Why("at_capacity", {"note": note})
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
        short = _why_short(wanted, ranked, limit)
        plan = _short_plan(wanted, ranked, when_short, limit, short)
    for code, skip in skipped.items():
        plan.skip(code, skip)
    for node in ranked:
        if node.code in plan.nodes:
            continue
        if not any(node.sellable.get(p, 0) for p in wanted):
            why = Why("none_to_give")
        elif not plan.picks:
            why = Why("whole_order_needed")
        elif "keep_together" in names and not node.covers(wanted):
            why = Why("kept_together", {"nodes": list(plan.nodes)})
        else:
            why = Why("not_needed")
        plan.skip(node.code, why)
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
            params: dict[str, Any] = {"node": whole[0].code, "km": f"{whole[0].distance_km:.1f}"}
            if others:
                plan.say(Why("whole_order_of_several", {**params, "others": others}))
            else:
                plan.say(Why("whole_order", params))
            return plan
    else:
        plan = _fill(wanted, ranked)
        if plan.complete and (limit is None or len(plan.nodes) <= limit):
            plan.outcome = "split" if len(plan.nodes) > 1 else "routed"
            plan.say(Why("best_ranked", {"nodes": list(plan.nodes)}))
            return plan
        if not plan.complete:
            return None
    if limit == 1:
        whole = [n for n in ranked if n.covers(wanted)]
        if not whole:
            return None
        plan = _fill(wanted, whole[:1])
        plan.say(Why("max_splits_one_node", {"node": whole[0].code}))
        return plan
    nodes = _fewest_nodes(wanted, ranked, weight, limit)
    if not nodes:
        return None
    plan = _fill(wanted, nodes)
    plan.outcome = "split"
    plan.say(Why("fewest_nodes", {"count": len(plan.nodes), "nodes": list(plan.nodes)}))
    return plan


def _why_short(wanted: Mapping[int, int], ranked: Sequence[Candidate], limit: int | None) -> Why:
    if not ranked:
        return Why("no_node_left")
    if not _coverable(wanted, ranked):
        return Why("not_enough_stock")
    return Why("split_limit", {"limit": limit, "max_splits": limit - 1 if limit else 0})


def _short_plan(
    wanted: Mapping[int, int],
    ranked: Sequence[Candidate],
    when_short: str,
    limit: int | None,
    why: Why,
) -> Plan:
    if when_short == "backorder":
        plan = _fill(wanted, _greedy_cover(wanted, ranked, limit))
        plan.outcome = "backordered"
        if plan.nodes:
            plan.say(Why("took_and_backordered", {"why": why, "nodes": list(plan.nodes)}))
        else:
            plan.say(Why("took_nothing_backordered", {"why": why}))
        return plan
    # Nothing is taken; ``short`` says what the allowed nodes lack (all of it if they lack
    # nothing and only the split limit stands in the way).
    plan = Plan(short=_fill(wanted, ranked).short or dict(wanted))
    plan.outcome = "parked" if when_short == "park" else "refused"
    plan.say(Why("parked", {"why": why}) if when_short == "park" else why)
    return plan


def plan_single_node(wanted: Mapping[int, int], node: Candidate, *, when_short: str) -> Plan:
    """Source everything at one node (pickup at the customer's chosen store)."""
    plan = _fill(wanted, [node])
    where = {"node": node.code}
    if not plan.short:
        plan.say(Why("store_has_all", where))
        return plan
    if when_short == "backorder":
        plan.outcome = "backordered"
        plan.say(Why("store_backordered", where))
        return plan
    plan = Plan(short=plan.short)
    if when_short == "park":
        plan.outcome = "parked"
        plan.say(Why("store_short_parked", where))
    else:
        plan.outcome = "refused"
        plan.say(Why("store_short", where))
    return plan
