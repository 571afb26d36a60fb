"""The exact path: the MIP solved by HiGHS within the problem's time limit and gap."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from .arrays import _plan_from_result, _solve_highs, build_arrays
from .fast import solve_fast
from .plan import Plan, _plan_from_packs
from .problem import EPS, Problem

# ---------------------------------------------------------------------------------------------
# Solving


def solve_exact(problem: Problem, *, warm_start: bool = True) -> Plan:
    """The MIP by HiGHS, started from the fast path's plan (so it always has a plan to improve
    on: without it HiGHS may spend a minute on 1,000 SKUs and end above the fast plan)."""
    t0 = time.perf_counter()
    start: Plan | None = None
    if warm_start:
        start = solve_fast(replace(problem, polish=0.0))
    t0s = time.perf_counter()
    model = build_arrays(problem)
    t1 = time.perf_counter()
    if model.n_k == 0:  # nothing can ship: the plan is to ship nothing, proved trivially
        empty = np.zeros(problem.shape, dtype=np.int64)
        plan = _plan_from_packs(
            problem,
            empty,
            status="optimal",
            bound=None,
            build_seconds=t1 - t0,
            solve_seconds=0.0,
            method="exact",
        )
        plan.bound, plan.gap = plan.objective, 0.0
        return plan
    remaining = problem.time_limit
    if remaining is not None:
        remaining = max(remaining - (t0s - t0), 0.0)
    res = _solve_highs(
        model,
        integer=True,
        time_limit=remaining,
        gap=problem.gap,
        start=start.packs if start is not None else None,
    )
    t2 = time.perf_counter()
    plan = _plan_from_result(problem, model, res, t1 - t0s, t2 - t1, "exact")
    if start is not None:
        plan.build_seconds += start.build_seconds
        plan.solve_seconds += start.solve_seconds
        if start.has_plan and (not plan.has_plan or _worse(plan, start)):
            plan = replace(
                start,
                method="exact",
                message="the MIP found no better plan in time",
                build_seconds=plan.build_seconds,
                solve_seconds=plan.solve_seconds,
            )
        if plan.has_plan and start.bound is not None and plan.objective is not None:
            best = max(start.bound, plan.bound if plan.bound is not None else -math.inf)
            plan = _rebound(plan, best)
    return plan


def _worse(a: Plan, b: Plan) -> bool:
    return a.objective is not None and b.objective is not None and a.objective > b.objective + EPS


def _rebound(plan: Plan, bound: float) -> Plan:
    assert plan.objective is not None
    bound = min(bound, plan.objective)
    gap = 0.0 if plan.objective <= EPS else (plan.objective - bound) / abs(plan.objective)
    return replace(plan, bound=bound, gap=max(gap, 0.0))
