"""The words of the routing pages: rules, reasons, outcomes and labels in the staff's language,
worded from the codes the router and the services record."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from inventory.models import LocationKind
from network.routing_rules import Rule, RuleError, parse_rules
from orders.models import Order, OrderStatus
from staff.views.picking import ORDER_MODE_LABELS, order_status_label

RULE_TEXT: dict[str, Any] = {
    "stay_in_city": _("only nodes in the customer's city"),
    "exclude_kinds": _("never nodes of these kinds: %(kinds)s"),
    "distance_band": _("only nodes %(low)s–%(high)s km from the customer"),
    "nearest_first": _("try the nearest node first"),
    "location_rank": _("try nodes in the channel's order of preference"),
    "lowest_cost": _("try the cheapest node first (distance × rate + per-order cost)"),
    "keep_together": _("the fewest nodes win over rank: one node for the whole order if any can"),
    "max_splits": _("never split an order over more than %(nodes)s nodes"),
    "capacity": _("nodes at their day's capacity are left out"),
}
KIND_LABELS: dict[str, Any] = {
    LocationKind.WAREHOUSE: _("warehouse"),
    LocationKind.STORE: _("store"),
}
WHEN_SHORT_LABELS: dict[str, Any] = {
    "park": _("park: the order waits for stock, holding nothing"),
    "refuse": _("refuse the order"),
    "backorder": _("take what there is, backorder the rest"),
}
OUTCOME_LABELS: dict[str, Any] = {
    "routed": _("Routed"),
    "split": _("Split over several nodes"),
    "parked": _("Parked until stock arrives"),
    "refused": _("Refused"),
    "backordered": _("Backordered"),
}
WHAT_LABELS: dict[str, Any] = {
    "placed": _("Order placed"),
    "retried: stock arrived": _("Retried: stock came free"),
    "counter sale": _("Sold at the counter"),
}
SERVICE_LABELS: dict[str, Any] = {
    "pickup": _("Pickups"),
    "ship": _("Ship"),
}
STORE_SERVICE_LABELS: dict[str, Any] = {
    "pickup": _("Pickups today"),
    "ship": _("Ship from store"),
}
SOURCE_LABELS: dict[str, Any] = {
    "api": _("API"),
    "admin": _("admin site"),
    "page": _("staff page"),
    "rollout": _("rollout file"),
}
CHANGE_LABELS: dict[str, Any] = {
    "channel_buffer": _("Channel buffer"),
    "capacity": _("Capacity"),
    "routing_profile": _("Routing profile"),
}


# The router's reasons (``orders.routing.REASONS``), by code, in the staff's words.
REASON_TEXT: dict[str, Any] = {
    "whole_order": _("one node serves the whole order: %(node)s (%(km)s km)"),
    "whole_order_of_several": _(
        "one node serves the whole order: %(node)s (%(km)s km; %(others)s other node(s) could"
        " too, ranked lower)"
    ),
    "best_ranked": _("each line from the best-ranked node that has it: %(nodes)s"),
    "max_splits_one_node": _(
        "the nearer split would use more nodes than max_splits allows; one node serves the"
        " whole order: %(node)s"
    ),
    "fewest_nodes": _(
        "no single node has every line; split over %(count)s nodes, the fewest that can: %(nodes)s"
    ),
    "no_node_left": _("no node is left after the rules and capacity"),
    "not_enough_stock": _("not enough stock at the nodes the rules allow"),
    "split_limit": _("no %(limit)s node(s) together have every line (max_splits %(max_splits)s)"),
    "took_and_backordered": _("%(why)s; took what %(nodes)s had and backordered the rest"),
    "took_nothing_backordered": _("%(why)s; took what no node had and backordered the rest"),
    "parked": _("%(why)s; parked until stock arrives"),
    "store_has_all": _("%(node)s is the customer's choice and has every line"),
    "store_backordered": _("%(node)s is the customer's choice; the rest is backordered there"),
    "store_short_parked": _("%(node)s does not have every line; parked until stock arrives there"),
    "store_short": _("%(node)s does not have every line"),
    "store_excluded": _("%(node)s is short; the rest waits there"),
    "nothing_to_source": _("nothing to source"),
    "line_lowered": _("line %(sku)s lowered to %(quantity)s"),
    "filtered": _("%(rule)s: %(why)s"),
    "other_city": _("in %(city)s, not the customer's city %(customer_city)s"),
    "excluded_kind": _("a %(kind)s; this channel excludes %(kinds)s"),
    "outside_band": _("%(km)s km away, outside %(low)s–%(high)s km"),
    "at_capacity": _("capacity: %(note)s"),
    "full_today": _("full today"),
    "capacity_used": _("%(used)s of %(limit)s %(service)s orders today"),
    "taken_just_now": _("%(note)s (taken just now)"),
    "none_to_give": _("has none of the order's units to give"),
    "whole_order_needed": _("has part of the order; the rules need the whole order served"),
    "kept_together": _("has only part of the order; keep_together chose %(nodes)s"),
    "not_needed": _("not needed: better-ranked nodes serve the order"),
}
SERVICE_WORDS: dict[str, Any] = {"pickup": _("pickup"), "ship": _("ship")}
RESOURCED = re.compile(r"re-sourced: (?P<why>.*)", re.DOTALL)
SHORT_PICK = re.compile(r"short pick at (?P<location>\S+)")
LINE_RAISED = re.compile(r"line (?P<sku>\S+) raised to (?P<quantity>\d+)")


def _reason_param(key: str, value: Any) -> str | None:
    if isinstance(value, dict):
        return _reason(value)
    if key == "kinds" and isinstance(value, list):
        return ", ".join(_label(KIND_LABELS, v) for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if key == "kind":
        return _label(KIND_LABELS, value)
    if key == "service":
        return _label(SERVICE_WORDS, value)
    return str(value)


def _reason(entry: Mapping[str, Any]) -> str | None:
    text = REASON_TEXT.get(str(entry.get("code")))
    params = entry.get("params") or {}
    if text is None or not isinstance(params, dict):
        return None
    shown = {key: _reason_param(key, value) for key, value in params.items()}
    if any(value is None for value in shown.values()):
        return None
    try:
        return str(text) % shown
    except (KeyError, TypeError, ValueError):
        return None


def reason_text(entry: Any, english: str = "") -> str:
    """A reason the router recorded (``orders.routing.Why.as_dict()``) in the staff's words;
    the recorded English when there is no code (a decision older than the codes) or the page
    does not know it."""
    shown = _reason(entry) if isinstance(entry, dict) else None
    return english if shown is None else shown


def what_text(what: str) -> str:
    """What started a routing decision, in the staff's words."""
    known = WHAT_LABELS.get(what)
    if known is not None:
        return str(known)
    raised = LINE_RAISED.fullmatch(what)
    if raised:
        return gettext("Line %(sku)s raised to %(quantity)s") % raised.groupdict()
    resourced = RESOURCED.fullmatch(what)
    if resourced:
        why = resourced["why"]
        short = SHORT_PICK.fullmatch(why)
        if short:
            why = gettext("short pick at %(location)s") % short.groupdict()
        return gettext("Re-sourced: %(why)s") % {"why": why}
    return what


def latest_reason(order: Order) -> str:
    """The order's latest routing reason, in the staff's words."""
    decisions = (order.sourcing or {}).get("decisions") or []
    last = decisions[-1] if decisions and isinstance(decisions[-1], dict) else {}
    if last.get("reason") and last.get("reason", "")[:255] == order.sourcing_reason:
        return reason_text(last.get("why"), order.sourcing_reason)
    return order.sourcing_reason


def rule_text(rule: Rule) -> str:
    """A rule in the staff's words, with its parameters."""
    text = RULE_TEXT.get(rule.name)
    if text is None:
        return rule.describe()
    if rule.name == "exclude_kinds":
        kinds = ", ".join(str(KIND_LABELS.get(k, k)) for k in rule.params["kinds"])
        return str(text) % {"kinds": kinds}
    if rule.name == "distance_band":
        low, high = rule.params.get("min_km", 0), rule.params["max_km"]
        return str(text) % {"low": f"{low:g}", "high": f"{high:g}"}
    if rule.name == "max_splits":
        return str(text) % {"nodes": rule.params["value"] + 1}
    return str(text)


def _rule_of(entry: dict[str, Any]) -> Rule | None:
    """A rule as recorded in a decision or stored on a profile, parsed; None if unknown."""
    params = {k: v for k, v in entry.items() if k not in ("skipped", "order")}
    try:
        return parse_rules([params])[0]
    except RuleError:
        return None


def profile_rules(rules: Any) -> list[str]:
    """A profile's stored rules in words, in their order."""
    try:
        return [rule_text(rule) for rule in parse_rules(rules)]
    except RuleError:
        return [json.dumps(rules, ensure_ascii=False)]


def _label(labels: Mapping[Any, Any], key: Any) -> str:
    found = labels.get(str(key)) if key is not None else None
    return str(found) if found is not None else str(key or "")


def status_label(status: str) -> str:
    if status == OrderStatus.PARKED:
        return gettext("parked")
    return order_status_label(status)


def mode_label(mode: str) -> str:
    return _label(ORDER_MODE_LABELS, mode)
