"""The pure router: each rule alone, rules together, capacity, and what an order the rules
cannot fill becomes. No database."""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from network.routing_rules import RuleError, parse_rules
from orders.routing import Candidate, Plan, route


def node(
    code: str,
    km: float,
    stock: Mapping[int, int],
    *,
    kind: str = "store",
    city: str = "hz",
    priority: int = 100,
    extra_cost: float = 0.0,
    capacity_left: int | None = None,
) -> Candidate:
    return Candidate(
        location_id=zlib.crc32(code.encode()),
        code=code,
        distance_km=km,
        cost=km * 0.5 + extra_cost,
        priority=priority,
        sellable=dict(stock),
        kind=kind,
        city=city,
        capacity_left=capacity_left,
        capacity_note="" if capacity_left is None else f"{capacity_left} left",
    )


def held(plan: Plan) -> dict[str, int]:
    codes = {}
    for n in NODES_SEEN:
        codes[n.location_id] = n.code
    out: dict[str, int] = {}
    for loc, _, units in plan.picks:
        out[codes[loc]] = out.get(codes[loc], 0) + units
    return out


NODES_SEEN: list[Candidate] = []


def run(wanted: dict[int, int], nodes: list[Candidate], rules: list[object], **kw: str) -> Plan:
    NODES_SEEN[:] = nodes
    return route(wanted, nodes, rules=parse_rules(rules), city="hz", **kw)


# --------------------------------------------------------------------------- filters


def test_stay_in_city_skips_nodes_of_other_cities() -> None:
    near_other = node("SH-DC", 2, {1: 5}, kind="warehouse", city="sh")
    far_home = node("HZ-DC", 20, {1: 5}, kind="warehouse")
    plan = run({1: 1}, [near_other, far_home], ["stay_in_city", "nearest_first"])
    assert plan.nodes == ["HZ-DC"]
    assert plan.skipped["SH-DC"].startswith("stay_in_city: in sh")
    assert run({1: 1}, [near_other, far_home], ["nearest_first"]).nodes == ["SH-DC"]


def test_exclude_kinds_skips_stores() -> None:
    store = node("S01", 1, {1: 5})
    dc = node("DC", 15, {1: 5}, kind="warehouse")
    plan = run({1: 2}, [store, dc], [{"rule": "exclude_kinds", "kinds": ["store"]}])
    assert plan.nodes == ["DC"]
    assert "exclude_kinds" in plan.skipped["S01"]


def test_distance_band_skips_nodes_outside_it() -> None:
    nodes = [node("S01", 3, {1: 5}), node("S02", 12, {1: 5}), node("DC", 40, {1: 5})]
    plan = run({1: 1}, nodes, [{"rule": "distance_band", "min_km": 5, "max_km": 30}])
    assert plan.nodes == ["S02"]
    assert "outside 5–30 km" in plan.skipped["S01"]
    assert "40.0 km away" in plan.skipped["DC"]


# --------------------------------------------------------------------------- ranking


def test_ranking_rules_decide_in_the_order_listed() -> None:
    near_costly = node("S01", 2, {1: 5}, priority=3, extra_cost=50)
    far_cheap = node("DC", 20, {1: 5}, kind="warehouse", priority=1)
    mid = node("S02", 8, {1: 5}, priority=2)
    nodes = [near_costly, far_cheap, mid]
    assert run({1: 1}, nodes, ["nearest_first"]).nodes == ["S01"]
    assert run({1: 1}, nodes, ["lowest_cost"]).nodes == ["S02"]  # 4.0 < 10.0 < 51.0
    assert run({1: 1}, nodes, ["location_rank"]).nodes == ["DC"]
    assert run({1: 1}, nodes, ["location_rank", "nearest_first"]).nodes == ["DC"]


def test_keep_together_prefers_one_far_node_to_splitting_between_near_ones() -> None:
    s1 = node("S01", 1, {1: 5})
    s2 = node("S02", 2, {2: 5})
    dc = node("DC", 20, {1: 5, 2: 5}, kind="warehouse")
    together = run({1: 1, 2: 1}, [s1, s2, dc], ["keep_together", "nearest_first"])
    assert together.nodes == ["DC"] and together.outcome == "routed"
    apart = run({1: 1, 2: 1}, [s1, s2, dc], ["nearest_first"])
    assert sorted(apart.nodes) == ["S01", "S02"] and apart.outcome == "split"
    assert apart.skipped["DC"].startswith("not needed")


def test_keep_together_splits_over_the_fewest_nodes_when_no_node_has_all() -> None:
    nodes = [
        node("S01", 1, {1: 5}),
        node("S02", 2, {2: 5}),
        node("S03", 3, {3: 5}),
        node("DC", 20, {2: 5, 3: 5}, kind="warehouse"),
    ]
    plan = run({1: 1, 2: 1, 3: 1}, nodes, ["keep_together", "nearest_first"])
    assert sorted(plan.nodes) == ["DC", "S01"]
    assert plan.outcome == "split"


# --------------------------------------------------------------------------- splits


def test_max_splits_zero_parks_an_order_no_single_node_can_serve() -> None:
    nodes = [node("S01", 1, {1: 5}), node("S02", 2, {2: 5})]
    plan = run(
        {1: 1, 2: 1},
        nodes,
        ["keep_together", {"rule": "max_splits", "value": 0}],
        when_short="park",
    )
    assert plan.outcome == "parked" and not plan.picks
    assert "max_splits 0" in plan.reason and "parked" in plan.reason


def test_max_splits_one_allows_two_nodes_but_not_three() -> None:
    two = [node("S01", 1, {1: 5}), node("S02", 2, {2: 5})]
    rules: list[object] = ["nearest_first", {"rule": "max_splits", "value": 1}]
    plan = run({1: 1, 2: 1}, two, rules, when_short="park")
    assert plan.complete and sorted(plan.nodes) == ["S01", "S02"]
    three = [*two, node("S03", 3, {3: 5})]
    parked = run({1: 1, 2: 1, 3: 1}, three, rules, when_short="park")
    assert parked.outcome == "parked"
    # Without the cap the same order splits three ways.
    assert len(run({1: 1, 2: 1, 3: 1}, three, ["nearest_first"]).nodes) == 3


def test_max_splits_finds_fewer_nodes_when_greedy_nearest_would_use_too_many() -> None:
    nodes = [
        node("S01", 1, {1: 5}),
        node("S02", 2, {2: 5}),
        node("DC", 20, {1: 5, 2: 5}, kind="warehouse"),
    ]
    plan = run({1: 1, 2: 1}, nodes, ["nearest_first", {"rule": "max_splits", "value": 0}])
    assert plan.nodes == ["DC"]


def test_backorder_takes_what_the_allowed_nodes_have_within_the_split_cap() -> None:
    nodes = [node("S01", 1, {1: 1}), node("S02", 2, {1: 1}), node("S03", 3, {1: 1})]
    rules: list[object] = ["nearest_first", {"rule": "max_splits", "value": 1}]
    plan = run({1: 3}, nodes, rules, when_short="backorder")
    assert plan.outcome == "backordered"
    assert sum(u for _, _, u in plan.picks) == 2 and plan.short == {1: 1}
    refused = run({1: 3}, nodes, rules, when_short="refuse")
    assert refused.outcome == "refused" and not refused.picks


# --------------------------------------------------------------------------- capacity


def test_a_node_at_capacity_is_skipped_and_the_next_one_used() -> None:
    full = node("S01", 1, {1: 5}, capacity_left=0)
    nxt = node("S02", 4, {1: 5}, capacity_left=3)
    plan = run({1: 1}, [full, nxt], ["keep_together", "nearest_first"])
    assert plan.nodes == ["S02"]
    assert plan.skipped["S01"].startswith("capacity:")
    assert any(r["rule"] == "capacity" and r["skipped"] == ["S01"] for r in plan.rules)


def test_every_node_filtered_or_full_parks_with_the_reason() -> None:
    plan = run(
        {1: 1},
        [node("S01", 1, {1: 5}, capacity_left=0), node("S02", 50, {1: 5})],
        [{"rule": "distance_band", "max_km": 10}],
        when_short="park",
    )
    assert plan.outcome == "parked"
    assert plan.reason.startswith("no node is left after the rules and capacity")


def test_rules_explain_what_each_did() -> None:
    nodes = [node("S01", 1, {1: 5}), node("DC", 20, {1: 5}, kind="warehouse")]
    plan = run({1: 1}, nodes, [{"rule": "exclude_kinds", "kinds": ["store"]}, "nearest_first"])
    assert plan.rules[0] == {"rule": "exclude_kinds", "kinds": ["store"], "skipped": ["S01"]}
    assert plan.rules[1] == {"rule": "nearest_first", "order": ["DC"]}


# --------------------------------------------------------------------------- rule lists


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ("nearest_first", "rules"),
        (["nearest"], "rules[0].rule"),
        (["nearest_first", "nearest_first"], "rules[1].rule"),
        ([{"rule": "max_splits"}], "rules[0].value"),
        ([{"rule": "max_splits", "value": -1}], "rules[0].value"),
        ([{"rule": "max_splits", "value": True}], "rules[0].value"),
        ([{"rule": "distance_band", "max_km": "far"}], "rules[0].max_km"),
        ([{"rule": "distance_band", "min_km": 9, "max_km": 5}], "rules[0].min_km"),
        ([{"rule": "exclude_kinds", "kinds": ["shop"]}], "rules[0].kinds[0]"),
        ([{"rule": "exclude_kinds", "kinds": []}], "rules[0].kinds"),
        ([{"rule": "keep_together", "strict": True}], "rules[0].strict"),
        ([42], "rules[0]"),
    ],
)
def test_a_bad_rule_list_names_the_place(rules: object, field: str) -> None:
    with pytest.raises(RuleError) as error:
        parse_rules(rules)
    assert error.value.field == field


# --------------------------------------------------------------------------- properties

RULE_CHOICES: list[object] = [
    "stay_in_city",
    {"rule": "exclude_kinds", "kinds": ["store"]},
    {"rule": "distance_band", "max_km": 15},
    "nearest_first",
    "location_rank",
    "lowest_cost",
    "keep_together",
    {"rule": "max_splits", "value": 0},
    {"rule": "max_splits", "value": 1},
]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[int, int], list[Candidate], list[object], str]:
    products = draw(st.integers(1, 3))
    nodes = []
    for n in range(draw(st.integers(0, 6))):
        nodes.append(
            node(
                f"N{n}",
                draw(st.floats(0, 40)),
                {p: draw(st.integers(0, 4)) for p in range(1, products + 1)},
                kind=draw(st.sampled_from(["store", "warehouse"])),
                city=draw(st.sampled_from(["hz", "hz", "sh"])),
                priority=draw(st.integers(1, 5)),
                capacity_left=draw(st.sampled_from([None, None, 0, 1])),
            )
        )
    wanted = {p: draw(st.integers(1, 4)) for p in range(1, products + 1)}
    chosen = draw(st.lists(st.sampled_from(range(len(RULE_CHOICES))), unique=True, max_size=4))
    names: set[str] = set()
    rules = []
    for i in chosen:
        rule = RULE_CHOICES[i]
        name = rule if isinstance(rule, str) else rule["rule"]  # type: ignore[index]
        if name not in names:
            names.add(str(name))
            rules.append(rule)
    return wanted, nodes, rules, draw(st.sampled_from(["park", "refuse", "backorder"]))


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_a_plan_keeps_every_rule_and_never_takes_more_than_a_node_may_give(
    scenario: tuple[dict[int, int], list[Candidate], list[object], str],
) -> None:
    wanted, nodes, raw_rules, when_short = scenario
    rules = parse_rules(raw_rules)
    plan = route(wanted, nodes, rules=rules, when_short=when_short, city="hz")
    by_id = {n.location_id: n for n in nodes}
    taken: dict[tuple[int, int], int] = {}
    for loc, product, units in plan.picks:
        assert units > 0
        taken[(loc, product)] = taken.get((loc, product), 0) + units
    for (loc, product), units in taken.items():
        assert units <= by_id[loc].sellable.get(product, 0)
    used = [by_id[loc] for loc in {loc for loc, _, _ in plan.picks}]
    for n in used:
        assert n.capacity_left != 0
        if any(r.name == "stay_in_city" for r in rules):
            assert n.city == "hz"
        if any(r.name == "exclude_kinds" for r in rules):
            assert n.kind != "store"
        if any(r.name == "distance_band" for r in rules):
            assert n.distance_km <= 15
    cap = next((r.params["value"] + 1 for r in rules if r.name == "max_splits"), None)
    if cap is not None:
        assert len(used) <= cap
    for product, units in wanted.items():
        got = sum(u for (_, p), u in taken.items() if p == product)
        assert got + plan.short.get(product, 0) >= units if plan.picks else True
        assert got <= units
    if plan.outcome in ("parked", "refused"):
        assert not plan.picks and plan.short
    elif plan.outcome in ("routed", "split"):
        assert plan.complete
        assert all(sum(u for (_, p), u in taken.items() if p == q) == w for q, w in wanted.items())
    # Every node not used says why.
    assert {n.code for n in nodes} - {n.code for n in used} <= set(plan.skipped)


@pytest.mark.parametrize(
    "rules",
    [
        [{"rule": []}],
        [{"rule": "distance_band", "max_km": 10**400}],
        [{"rule": "distance_band", "max_km": float("nan")}],
        [{"rule": "distance_band", "max_km": float("inf")}],
        [{"rule": "max_splits", "value": 10**30}],
    ],
)
def test_values_no_one_means_are_refused_not_crashed_on(rules: object) -> None:
    with pytest.raises(RuleError):
        parse_rules(rules)
