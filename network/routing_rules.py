"""The rules a routing profile may list, and their validation. Pure: no Django.

A profile is an ordered list of rules. Filters take nodes out of the running (each skip is
explained on the order); ranking rules set the order nodes are tried in, the first listed
deciding first; ``keep_together`` makes the fewest nodes win over rank; ``max_splits`` caps how
many nodes an order may be split over. The profile's ``when_short`` says what happens to an
order the rules cannot fill: it parks (waits for stock, holding nothing), is refused, or takes
what there is and backorders the rest.

The same validation serves the API, the admin and the rollout file, so a mistake reads the
same everywhere: ``rules[2].max_km: must be a number above 0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FILTERS = ("stay_in_city", "exclude_kinds", "distance_band")
RANKINGS = ("nearest_first", "location_rank", "lowest_cost")
SHAPES = ("keep_together", "max_splits")
RULE_NAMES = FILTERS + RANKINGS + SHAPES
NODE_KINDS = ("warehouse", "store")
WHEN_SHORT = ("park", "refuse", "backorder")

# What each rule takes besides its name: parameter -> (kind, required).
PARAMETERS: dict[str, dict[str, tuple[str, bool]]] = {
    "stay_in_city": {},
    "exclude_kinds": {"kinds": ("kinds", True)},
    "distance_band": {"min_km": ("km", False), "max_km": ("km", True)},
    "nearest_first": {},
    "location_rank": {},
    "lowest_cost": {},
    "keep_together": {},
    "max_splits": {"value": ("count", True)},
}

DESCRIPTIONS = {
    "stay_in_city": "only nodes in the customer's city",
    "exclude_kinds": "never nodes of these kinds",
    "distance_band": "only nodes within this distance of the customer",
    "nearest_first": "try the nearest node first",
    "location_rank": "try nodes in the channel's order of preference",
    "lowest_cost": "try the cheapest node first (distance × rate + per-order cost)",
    "keep_together": "the fewest nodes win over rank: one node for the whole order if any can",
    "max_splits": "never split an order over more than value + 1 nodes",
}


class RuleError(ValueError):
    """A rule list that cannot be used. ``field`` names the place, e.g. ``rules[1].max_km``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Rule:
    name: str
    params: Mapping[str, Any]

    def describe(self) -> str:
        text = DESCRIPTIONS[self.name]
        if self.name == "exclude_kinds":
            return f"{text}: {', '.join(self.params['kinds'])}"
        if self.name == "distance_band":
            low = self.params.get("min_km", 0)
            return f"{text}: {low:g}–{self.params['max_km']:g} km"
        if self.name == "max_splits":
            return f"{text} (value {self.params['value']})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.name, **self.params}


# Farther than anything on Earth: a bigger distance is a mistake, not a wide band.
MAX_KM = 20_100.0
MAX_SPLITS = 1_000


def _number(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RuleError(field, "must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise RuleError(field, "must be a finite number")
    if value < 0:
        raise RuleError(field, "cannot be negative")
    if value > MAX_KM:
        raise RuleError(field, f"must be at most {MAX_KM:,.0f} km")
    return float(value)


def _param(kind: str, value: Any, field: str) -> Any:
    if kind == "km":
        return _number(value, field)
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SPLITS:
            raise RuleError(field, f"must be a whole number from 0 to {MAX_SPLITS}")
        return value
    # kinds
    if not isinstance(value, list) or not value:
        raise RuleError(field, f"must be a non-empty list of {' / '.join(NODE_KINDS)}")
    for n, item in enumerate(value):
        if item not in NODE_KINDS:
            raise RuleError(f"{field}[{n}]", f"unknown kind {item!r}; one of {NODE_KINDS}")
    return sorted(set(value))


def parse_rules(raw: Any, *, field: str = "rules") -> list[Rule]:
    """Check a rule list (as stored, sent or written in the rollout file) and return it parsed.
    Raises ``RuleError`` at the first mistake."""
    if not isinstance(raw, list):
        raise RuleError(field, "must be a list of rules")
    rules: list[Rule] = []
    seen: set[str] = set()
    for n, item in enumerate(raw):
        where = f"{field}[{n}]"
        if isinstance(item, str):
            item = {"rule": item}
        if not isinstance(item, Mapping) or "rule" not in item:
            raise RuleError(where, 'must be a rule name or a table with "rule"')
        name = item["rule"]
        if not isinstance(name, str) or name not in PARAMETERS:
            raise RuleError(f"{where}.rule", f"unknown rule {name!r}; one of {RULE_NAMES}")
        if name in seen:
            raise RuleError(f"{where}.rule", f"{name} is listed twice")
        seen.add(name)
        spec = PARAMETERS[name]
        extra = sorted(set(item) - {"rule"} - set(spec))
        if extra:
            raise RuleError(f"{where}.{extra[0]}", f"{name} takes no {extra[0]!r}")
        params: dict[str, Any] = {}
        for key, (kind, required) in spec.items():
            if key not in item:
                if required:
                    raise RuleError(f"{where}.{key}", f"{name} needs {key}")
                continue
            params[key] = _param(kind, item[key], f"{where}.{key}")
        if name == "distance_band":
            if params["max_km"] <= 0:
                raise RuleError(f"{where}.max_km", "must be above 0")
            if params.get("min_km", 0) >= params["max_km"]:
                raise RuleError(f"{where}.min_km", "must be below max_km")
        rules.append(Rule(name=name, params=params))
    return rules


def check_when_short(value: Any, *, field: str = "when_short") -> str:
    if value not in WHEN_SHORT:
        raise RuleError(field, f"must be one of {', '.join(WHEN_SHORT)}")
    return str(value)


def rules_as_data(rules: Sequence[Rule]) -> list[dict[str, Any]]:
    return [rule.as_dict() for rule in rules]
