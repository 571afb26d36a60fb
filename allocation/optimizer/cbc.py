"""CBC through PuLP (``solver: "cbc"``): the same formulation, modelled per variable."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from .plan import Plan, _no_plan, _plan_from_packs, evaluate
from .problem import Problem

# ---------------------------------------------------------------------------------------------
# PuLP: CBC, and the naive per-variable build the bench compares against


def build_pulp(problem: Problem) -> tuple[Any, dict[tuple[int, int, int], Any]]:
    """The formulation in PuLP, one Python object per variable (the naive baseline)."""
    import pulp

    p = problem
    n_i, n_d, n_s = p.shape
    prob = pulp.LpProblem("allocation", pulp.LpMinimize)
    k: dict[tuple[int, int, int], Any] = {}
    u: dict[tuple[int, int], Any] = {}
    f: dict[int, Any] = {}
    for i in range(n_i):
        f[i] = pulp.LpVariable(f"f_{i}", lowBound=0)
        for s in range(n_s):
            u[i, s] = pulp.LpVariable(f"u_{i}_{s}", lowBound=0)
            for d in range(n_d):
                if not math.isnan(p.cost[d, s]):
                    k[i, d, s] = pulp.LpVariable(f"k_{i}_{d}_{s}", lowBound=0, cat="Integer")
    m = [int(x) for x in p.pack]
    prob += (
        pulp.lpSum(float(p.penalty[i]) * u[i, s] for i in range(n_i) for s in range(n_s))
        + pulp.lpSum(float(p.cost[d, s]) * m[i] * var for (i, d, s), var in k.items())
        + pulp.lpSum(p.fairness * float(p.penalty[i]) * f[i] for i in range(n_i))
    )
    for i in range(n_i):
        for d in range(n_d):
            prob += pulp.lpSum(m[i] * k[i, d, s] for s in range(n_s) if (i, d, s) in k) <= int(
                p.available[i, d]
            )
        for s in range(n_s):
            ship = pulp.lpSum(m[i] * k[i, d, s] for d in range(n_d) if (i, d, s) in k)
            prob += ship + u[i, s] >= int(p.need[i, s])
            prob += ship <= int(p.need[i, s]) + m[i] - 1
            prob += u[i, s] <= int(p.need[i, s]) * f[i]
    for s in range(n_s):
        if math.isfinite(p.capacity[s]):
            prob += pulp.lpSum(
                float(p.volume[i]) * m[i] * k[i, d, s]
                for i in range(n_i)
                for d in range(n_d)
                if (i, d, s) in k
            ) <= float(p.capacity[s])
    return prob, k


def _solve_cbc(problem: Problem) -> Plan:
    """CBC through PuLP (selectable; it stalls on this MIP at size, see DESIGN.md)."""
    import pulp

    t0 = time.perf_counter()
    prob, k = build_pulp(problem)
    t1 = time.perf_counter()
    options: dict[str, Any] = {"msg": False, "gapRel": problem.gap or None}
    if problem.time_limit is not None:
        options["timeLimit"] = problem.time_limit
    code = prob.solve(pulp.PULP_CBC_CMD(**options))
    t2 = time.perf_counter()
    sol_status = prob.sol_status
    if code == pulp.LpStatusInfeasible:
        return _no_plan(problem, "infeasible", t1 - t0, t2 - t1, "exact", "infeasible (CBC)")
    if sol_status not in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        return _no_plan(
            problem, "timeout", t1 - t0, t2 - t1, "exact", "no plan within the time limit (CBC)"
        )
    packs = np.zeros(problem.shape, dtype=np.int64)
    for (i, d, s), var in k.items():
        packs[i, d, s] = round(var.value() or 0)
    optimal = sol_status == pulp.LpSolutionOptimal
    terms = evaluate(problem, packs)
    objective = sum(terms.values())
    plan = _plan_from_packs(
        problem,
        packs,
        status="optimal" if optimal else "feasible",
        bound=objective if optimal else None,
        build_seconds=t1 - t0,
        solve_seconds=t2 - t1,
        method="exact",
        message="" if optimal else "CBC stopped by the time limit; bound unknown",
    )
    return plan
