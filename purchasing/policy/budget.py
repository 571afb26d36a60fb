"""The budget optimisation of a replenishment proposal: plain data in, quantities out (no Django).

A proposal line's unconstrained quantity tops its position up to the order-up-to level,
rounded to the supplier's minimum order quantity and case pack. When the run has a budget
(money) or a DC capacity (units or volume) and the unconstrained quantities do not fit, this
module chooses, per line, how many packs to buy so that the expected units the orders will sell
(weighted by a value per unit: 1 for units, the margin for money) is as large as possible:

    maximise   Σ_j w_j · E[min(q_j, max(D_j − p_j, 0))]  −  ε · Σ_j c_j · q_j
    subject to Σ_j c_j · q_j ≤ budget
               Σ_j v_j · q_j ≤ capacity
               q_j ∈ {0} ∪ {q0_j, q0_j + m_j, …, Q_j}

``D_j`` is the demand over the lead time plus review period (its distribution as equally likely
scenarios), ``p_j`` the position, ``q0_j`` the smallest multiple of the pack ``m_j`` that is at
least the MOQ, ``Q_j`` the unconstrained quantity. ``min(q, max(D − p, 0))`` is what the order
itself sells: the demand the position does not already cover, up to the order. It is concave in
``q``, so each further pack sells less than the one before; the MIP has one binary ``z_j`` for
the first ``q0_j`` units and one binary ``y_jt ≤ z_j`` per further pack, and concavity makes
the packs it picks a prefix. ``ε`` breaks ties towards spending less (a pack that sells nothing
is not bought).

Solved with PuLP and HiGHS (``pulp.HiGHS``, the highspy interface). The allocation optimizer
feeds HiGHS arrays because its models reach a million columns; this one has a column per pack
of a line, a few thousand for a city's DC, where PuLP's build costs milliseconds, and the layer
rule keeps purchasing from importing allocation's helpers.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

TIE_BREAK = 1e-6  # ε per unit of money: prefer the cheaper of two equally good plans
DEFAULT_TIME_LIMIT = 30.0
DEFAULT_GAP = 1e-4

Status = Literal["unconstrained", "optimal", "feasible", "timeout"]


class BudgetError(ValueError):
    """Bad input: the message names the line and the field."""


@dataclass(frozen=True)
class BudgetLine:
    """One candidate purchase: a SKU at a location from one supplier."""

    key: str
    unit_cost: float
    quantity: int  # the unconstrained proposal, in units (rounded to MOQ and pack)
    position: float
    demand: Sequence[float]  # equally likely scenarios of the window's total demand
    moq: int = 1
    multiple: int = 1
    volume: float = 1.0  # per unit: 1 counts units against the capacity
    value: float = 1.0  # per unit sold: 1 maximises units, the margin maximises money


@dataclass
class BudgetPlan:
    status: Status
    quantities: dict[str, int]
    spend: float
    volume: float
    expected_sold: float  # Σ w · E[units the orders sell]
    unconstrained_spend: float
    unconstrained_volume: float
    unconstrained_expected_sold: float
    solve_seconds: float = 0.0
    message: str = ""
    binding: list[str] = field(default_factory=list)  # "budget", "capacity"

    @property
    def has_plan(self) -> bool:
        return self.status != "timeout"


def first_quantity(moq: int, multiple: int) -> int:
    """The smallest orderable quantity: the first multiple of the pack at or above the MOQ."""
    return max(multiple, math.ceil(moq / multiple) * multiple)


def orderable(quantity: float, *, moq: int, multiple: int) -> int:
    """``quantity`` rounded up to something the supplier sells (0 stays 0)."""
    if quantity <= 0:
        return 0
    return max(first_quantity(moq, multiple), math.ceil(quantity / multiple) * multiple)


def expected_sold(line: BudgetLine, quantity: int) -> float:
    """E[min(q, max(D − p, 0))] over the line's demand scenarios: what the order sells."""
    if quantity <= 0 or not line.demand:
        return 0.0
    p = line.position
    total = sum(min(float(quantity), max(float(d) - p, 0.0)) for d in line.demand)
    return total / len(line.demand)


def scenarios_from_quantiles(quantiles: Mapping[float, float], *, n: int = 40) -> list[float]:
    """``n`` equally likely scenarios of a distribution known by some quantiles (level in (0, 1)
    → value): the quantile function at the midpoints ``(k + ½)/n``, linear between the known
    levels and flat beyond them (so the tails are not invented)."""
    if not quantiles:
        raise BudgetError("quantiles: at least one level is needed")
    points = sorted((float(level), float(value)) for level, value in quantiles.items())
    for level, value in points:
        if not 0.0 < level < 1.0:
            raise BudgetError(f"quantiles: level {level} is not between 0 and 1")
        if not math.isfinite(value):
            raise BudgetError(f"quantiles: value at level {level} is not a number")
    # a quantile function never decreases; calibrated quantiles are, but be safe
    values = [points[0][1]]
    for _, v in points[1:]:
        values.append(max(v, values[-1]))
    levels = [lv for lv, _ in points]
    out: list[float] = []
    for k in range(n):
        u = (k + 0.5) / n
        if u <= levels[0]:
            out.append(max(values[0], 0.0))
            continue
        if u >= levels[-1]:
            out.append(max(values[-1], 0.0))
            continue
        i = next(i for i in range(1, len(levels)) if levels[i] >= u)
        t = (u - levels[i - 1]) / (levels[i] - levels[i - 1])
        out.append(max(values[i - 1] + t * (values[i] - values[i - 1]), 0.0))
    return out


def validate(lines: Sequence[BudgetLine]) -> None:
    seen: set[str] = set()
    for n, line in enumerate(lines, start=1):
        where = f"line {n} ({line.key})"
        if line.key in seen:
            raise BudgetError(f"{where}: key appears twice")
        seen.add(line.key)
        if line.moq < 1:
            raise BudgetError(f"{where}: moq must be at least 1, got {line.moq}")
        if line.multiple < 1:
            raise BudgetError(f"{where}: multiple must be at least 1, got {line.multiple}")
        if line.quantity < 0:
            raise BudgetError(f"{where}: quantity must not be negative, got {line.quantity}")
        if line.quantity and (
            line.quantity % line.multiple or line.quantity < first_quantity(line.moq, line.multiple)
        ):
            raise BudgetError(
                f"{where}: quantity {line.quantity} is not orderable "
                f"(moq {line.moq}, multiple {line.multiple})"
            )
        for name in ("unit_cost", "volume", "value", "position"):
            v = getattr(line, name)
            if not math.isfinite(v):
                raise BudgetError(f"{where}: {name} is not a number")
        for name in ("unit_cost", "volume", "value"):
            if getattr(line, name) < 0:
                raise BudgetError(f"{where}: {name} must not be negative")
        if any(not math.isfinite(float(d)) or float(d) < 0 for d in line.demand):
            raise BudgetError(f"{where}: demand scenarios must be finite and not negative")


def optimise(
    lines: Sequence[BudgetLine],
    *,
    budget: float | None = None,
    capacity: float | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    gap: float = DEFAULT_GAP,
) -> BudgetPlan:
    """The quantities to buy: the unconstrained ones when they fit the budget and capacity
    (``None`` = no limit), otherwise the MIP of the module docstring."""
    validate(lines)
    for name, limit in (("budget", budget), ("capacity", capacity)):
        if limit is not None and (not math.isfinite(limit) or limit < 0):
            raise BudgetError(f"{name} must be a number at least 0, got {limit}")
    full = {line.key: line.quantity for line in lines}
    unc_spend = _spend(lines, full)
    unc_volume = _volume(lines, full)
    unc_sold = _sold(lines, full)
    binding = []
    if budget is not None and unc_spend > budget + 1e-9:
        binding.append("budget")
    if capacity is not None and unc_volume > capacity + 1e-9:
        binding.append("capacity")
    if not binding:
        return BudgetPlan(
            status="unconstrained",
            quantities=full,
            spend=unc_spend,
            volume=unc_volume,
            expected_sold=unc_sold,
            unconstrained_spend=unc_spend,
            unconstrained_volume=unc_volume,
            unconstrained_expected_sold=unc_sold,
        )
    t0 = time.perf_counter()
    status, quantities, message = _solve_mip(
        lines,
        budget=budget if "budget" in binding else None,
        capacity=capacity if "capacity" in binding else None,
        time_limit=time_limit,
        gap=gap,
    )
    seconds = time.perf_counter() - t0
    return BudgetPlan(
        status=status,
        quantities=quantities,
        spend=_spend(lines, quantities),
        volume=_volume(lines, quantities),
        expected_sold=_sold(lines, quantities),
        unconstrained_spend=unc_spend,
        unconstrained_volume=unc_volume,
        unconstrained_expected_sold=unc_sold,
        solve_seconds=seconds,
        message=message,
        binding=binding,
    )


def _spend(lines: Sequence[BudgetLine], q: Mapping[str, int]) -> float:
    return sum(line.unit_cost * q.get(line.key, 0) for line in lines)


def _volume(lines: Sequence[BudgetLine], q: Mapping[str, int]) -> float:
    return sum(line.volume * q.get(line.key, 0) for line in lines)


def _sold(lines: Sequence[BudgetLine], q: Mapping[str, int]) -> float:
    return sum(line.value * expected_sold(line, q.get(line.key, 0)) for line in lines)


def _steps(line: BudgetLine) -> list[int]:
    """The orderable quantities of a line up to its unconstrained one, smallest first."""
    if line.quantity <= 0:
        return []
    q0 = first_quantity(line.moq, line.multiple)
    return list(range(q0, line.quantity + 1, line.multiple))


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner on the C stdout the first time a process builds a solver (with
    ``msg=False`` too), which would land in the middle of a command's output."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _solve_mip(
    lines: Sequence[BudgetLine],
    *,
    budget: float | None,
    capacity: float | None,
    time_limit: float,
    gap: float,
) -> tuple[Status, dict[str, int], str]:
    import pulp

    prob = pulp.LpProblem("replenishment_budget", pulp.LpMaximize)
    objective = []
    spend = []
    volume = []
    chunks: dict[str, list[tuple[Any, int]]] = {}
    for j, line in enumerate(lines):
        steps = _steps(line)
        if not steps:
            continue
        sold = [line.value * expected_sold(line, q) for q in steps]
        z = prob.add_variable(f"z_{j}", cat="Binary")
        parts: list[tuple[Any, int]] = [(z, steps[0])]
        objective.append((sold[0] - TIE_BREAK * line.unit_cost * steps[0]) * z)
        for t in range(1, len(steps)):
            y = prob.add_variable(f"y_{j}_{t}", cat="Binary")
            prob += y <= z
            gain = sold[t] - sold[t - 1]
            objective.append((gain - TIE_BREAK * line.unit_cost * line.multiple) * y)
            parts.append((y, line.multiple))
        chunks[line.key] = parts
        for var, units in parts:
            spend.append(line.unit_cost * units * var)
            volume.append(line.volume * units * var)
    if not chunks:
        return "optimal", {line.key: 0 for line in lines}, ""
    prob += pulp.lpSum(objective)
    if budget is not None:
        prob += pulp.lpSum(spend) <= budget, "budget"
    if capacity is not None:
        prob += pulp.lpSum(volume) <= capacity, "capacity"
    solver = pulp.HiGHS(msg=False, timeLimit=time_limit, gapRel=gap, threads=1)
    with _quiet_stdout():
        prob.solve(solver)
    if prob.sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return "timeout", {line.key: 0 for line in lines}, "no plan within the time limit"
    quantities = {line.key: 0 for line in lines}
    for key, parts in chunks.items():
        quantities[key] = sum(units for var, units in parts if (var.value() or 0) > 0.5)
    if prob.sol_status == pulp.LpSolutionOptimal:
        return "optimal", quantities, ""
    return "feasible", quantities, "stopped by the time limit: best plan so far"
