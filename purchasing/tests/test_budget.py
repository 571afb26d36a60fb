"""The budget optimisation of a proposal against brute force, its limits, and bad input."""

from __future__ import annotations

import itertools
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from purchasing.policy.budget import (
    BudgetError,
    BudgetLine,
    expected_sold,
    first_quantity,
    optimise,
    orderable,
    scenarios_from_quantiles,
)

ROOT = Path(__file__).resolve().parents[2]


def _line(key: str, **kw: object) -> BudgetLine:
    base: dict[str, object] = {
        "unit_cost": 1.0,
        "quantity": 0,
        "position": 0.0,
        "demand": [10.0],
        "moq": 1,
        "multiple": 1,
    }
    base.update(kw)
    return BudgetLine(key=key, **base)  # type: ignore[arg-type]


def _random_lines(seed: int, n: int) -> list[BudgetLine]:
    r = random.Random(seed)
    lines = []
    for i in range(n):
        multiple = r.choice([1, 2, 3, 6])
        moq = r.choice([1, multiple, 2 * multiple, 5])
        steps = r.randint(0, 4)
        q = 0 if steps == 0 else first_quantity(moq, multiple) + multiple * (steps - 1)
        lines.append(
            BudgetLine(
                key=f"L{i}",
                unit_cost=round(r.uniform(0.5, 5.0), 2),
                quantity=q,
                position=r.uniform(-3, 8),
                demand=[r.gammavariate(1.5, 6) for _ in range(12)],
                moq=moq,
                multiple=multiple,
                volume=r.choice([1.0, 0.5, 2.0]),
                value=r.choice([1.0, 2.5]),
            )
        )
    return lines


def _brute_force(
    lines: list[BudgetLine], budget: float | None, capacity: float | None
) -> tuple[float, dict[str, int]]:
    options = []
    for line in lines:
        qs = [0]
        if line.quantity:
            qs += list(
                range(first_quantity(line.moq, line.multiple), line.quantity + 1, line.multiple)
            )
        options.append(qs)
    best, best_q = -1.0, {}
    for combo in itertools.product(*options):
        spend = sum(line.unit_cost * q for line, q in zip(lines, combo, strict=True))
        vol = sum(line.volume * q for line, q in zip(lines, combo, strict=True))
        if budget is not None and spend > budget + 1e-9:
            continue
        if capacity is not None and vol > capacity + 1e-9:
            continue
        value = sum(
            line.value * expected_sold(line, q) for line, q in zip(lines, combo, strict=True)
        )
        if value > best + 1e-9:
            best, best_q = value, {line.key: q for line, q in zip(lines, combo, strict=True)}
    return best, best_q


@pytest.mark.parametrize("seed", range(8))
def test_small_instances_match_brute_force(seed: int) -> None:
    lines = _random_lines(seed, 5)
    full_spend = sum(line.unit_cost * line.quantity for line in lines)
    full_vol = sum(line.volume * line.quantity for line in lines)
    budget = round(full_spend * 0.5, 2)
    capacity = full_vol * 0.7 if seed % 2 else None
    best, _ = _brute_force(lines, budget, capacity)
    plan = optimise(lines, budget=budget, capacity=capacity)
    assert plan.status in ("optimal", "unconstrained")
    assert plan.spend <= budget + 1e-9
    if capacity is not None:
        assert plan.volume <= capacity + 1e-9
    # the tie-break ε may trade a hair of value for a lower spend; never more
    assert plan.expected_sold == pytest.approx(best, abs=1e-3 * max(1.0, best))


def test_no_binding_limit_gives_the_unconstrained_quantities() -> None:
    lines = _random_lines(3, 30)
    spend = sum(line.unit_cost * line.quantity for line in lines)
    plan = optimise(lines, budget=spend + 1, capacity=None)
    assert plan.status == "unconstrained"
    assert plan.quantities == {line.key: line.quantity for line in lines}
    assert plan.binding == []


def test_a_binding_budget_goes_to_the_best_service_per_unit_cost() -> None:
    # the same demand and position; one costs a quarter of the other: a budget for 20 units of
    # the cheap one buys them all there; the dear one gets what is left
    cheap = _line("cheap", unit_cost=1.0, quantity=20, demand=[20.0])
    dear = _line("dear", unit_cost=4.0, quantity=20, demand=[20.0])
    plan = optimise([dear, cheap], budget=24.0)
    assert plan.binding == ["budget"]
    assert plan.quantities == {"cheap": 20, "dear": 1}
    # a line whose extra units would not sell gets nothing while others still sell
    sure = _line("sure", unit_cost=1.0, quantity=10, demand=[10.0])
    idle = _line("idle", unit_cost=1.0, quantity=10, position=10.0, demand=[10.0])
    plan = optimise([idle, sure], budget=10.0)
    assert plan.quantities == {"sure": 10, "idle": 0}


def test_packs_and_moq_are_kept_under_a_budget() -> None:
    a = _line("a", unit_cost=1.0, quantity=48, moq=24, multiple=12, demand=[30.0, 60.0])
    b = _line("b", unit_cost=1.0, quantity=30, moq=10, multiple=5, demand=[40.0])
    plan = optimise([a, b], budget=50.0)
    qa, qb = plan.quantities["a"], plan.quantities["b"]
    assert qa in (0, 24, 36, 48) and qb in (0, 10, 15, 20, 25, 30)
    assert plan.spend <= 50.0


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), share=st.floats(0.0, 1.2))
def test_the_budget_is_never_exceeded(seed: int, share: float) -> None:
    lines = _random_lines(seed, 25)
    budget = share * sum(line.unit_cost * line.quantity for line in lines)
    plan = optimise(lines, budget=budget)
    assert plan.spend <= budget + 1e-6
    for line in lines:
        q = plan.quantities[line.key]
        assert q == 0 or (q % line.multiple == 0 and line.moq <= q <= line.quantity)
    assert plan.expected_sold <= plan.unconstrained_expected_sold + 1e-9


def test_scenarios_follow_the_quantiles() -> None:
    s = scenarios_from_quantiles({0.5: 10.0, 0.9: 20.0, 0.1: 2.0}, n=10)
    assert len(s) == 10
    assert s == sorted(s)
    assert s[0] == 2.0 and s[-1] == 20.0
    assert 8.0 <= s[4] <= 10.0 <= s[5] <= 12.5


def test_orderable_rounds_up_to_moq_and_pack() -> None:
    assert orderable(0, moq=10, multiple=6) == 0
    assert orderable(1, moq=10, multiple=6) == 12
    assert orderable(13, moq=10, multiple=6) == 18
    assert orderable(5, moq=1, multiple=1) == 5


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"moq": 0}, "moq"),
        ({"multiple": 0}, "multiple"),
        ({"quantity": 7, "multiple": 6}, "quantity"),
        ({"unit_cost": -1.0}, "unit_cost"),
        ({"demand": [-1.0]}, "demand"),
    ],
)
def test_bad_lines_are_refused_naming_the_field(kw: dict[str, object], field: str) -> None:
    with pytest.raises(BudgetError, match=field):
        optimise([_line("ok", quantity=1), _line("bad", **kw)], budget=1.0)
    with pytest.raises(BudgetError, match="budget"):
        optimise([_line("ok")], budget=-1.0)


def test_the_pure_core_imports_no_django() -> None:
    code = "import sys, purchasing.policy.budget; print('django' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "False"
