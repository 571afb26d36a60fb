"""A plan: packs shipped, unmet need, the objective's terms, and the checks of a plan against
its problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .problem import EPS, IntArray, Problem, Status

# ---------------------------------------------------------------------------------------------
# The plan


@dataclass
class Plan:
    status: Status
    objective: float | None
    terms: dict[str, float]
    gap: float | None
    bound: float | None
    build_seconds: float
    solve_seconds: float
    method: str
    packs: IntArray | None  # (I, D, S) k[i,d,s]; None when there is no plan
    message: str = ""
    problem: Problem | None = field(default=None, repr=False)

    @property
    def has_plan(self) -> bool:
        return self.packs is not None and self.status in ("optimal", "feasible")

    def shipments(self) -> list[dict[str, Any]]:
        if self.packs is None or self.problem is None:
            return []
        p = self.problem
        out = []
        for i, d, s in zip(*np.nonzero(self.packs), strict=True):
            k = int(self.packs[i, d, s])
            out.append(
                {
                    "sku": p.sku_ids[i],
                    "source": p.source_ids[d],
                    "store": p.store_ids[s],
                    "packs": k,
                    "units": k * int(p.pack[i]),
                }
            )
        return out

    def unmet_units(self) -> IntArray:
        """u[i,s] of the plan (need when there is no plan)."""
        assert self.problem is not None
        if self.packs is None:
            return self.problem.need.copy()
        shipped = self.packs.sum(axis=1) * self.problem.pack[:, None]
        return np.maximum(self.problem.need - shipped, 0)

    def unmet(self) -> list[dict[str, Any]]:
        if self.problem is None:
            return []
        p = self.problem
        u = self.unmet_units()
        return [
            {"sku": p.sku_ids[i], "store": p.store_ids[s], "units": int(u[i, s])}
            for i, s in zip(*np.nonzero(p.need), strict=True)
        ]

    def fill_rate(self) -> dict[str, float | None]:
        """Per store: units of need met / units needed (None when it needs nothing)."""
        assert self.problem is not None
        need = self.problem.need.sum(axis=0)
        met = need - self.unmet_units().sum(axis=0)
        return {
            sid: (float(met[s] / need[s]) if need[s] else None)
            for s, sid in enumerate(self.problem.store_ids)
        }

    def to_json(self) -> dict[str, Any]:
        """DESIGN.md's plan shape (plus ``bound``, ``method`` and ``message``)."""
        return {
            "status": self.status,
            "objective": _round(self.objective),
            "terms": {k: _round(v) for k, v in self.terms.items()},
            "gap": _round(self.gap),
            "bound": _round(self.bound),
            "method": self.method,
            "build_seconds": round(self.build_seconds, 3),
            "solve_seconds": round(self.solve_seconds, 3),
            "message": self.message,
            "shipments": self.shipments(),
            "unmet": self.unmet(),
        }


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 6)


def evaluate(problem: Problem, packs: IntArray) -> dict[str, float]:
    """The objective terms of a plan; u and f are the smallest the packs allow."""
    p = problem
    shipped_ds = packs * p.pack[:, None, None]  # units per (i,d,s)
    cost = np.nan_to_num(p.cost, nan=0.0)
    transport = float((shipped_ds * cost[None, :, :]).sum())
    u = np.maximum(p.need - shipped_ds.sum(axis=1), 0)
    unmet = float((p.penalty[:, None] * u).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(p.need > 0, u / np.maximum(p.need, 1), 0.0)
    f = share.max(axis=1) if share.shape[1] else np.zeros(len(p.sku_ids))
    fairness = float(p.fairness * (p.penalty * f).sum())
    return {"unmet": unmet, "transport": transport, "fairness": fairness}


def violations(problem: Problem, packs: IntArray) -> list[str]:
    """Every constraint of the formulation the packs break (empty = feasible)."""
    p = problem
    out: list[str] = []
    if (packs < 0).any():
        out.append("negative packs")
    units = packs * p.pack[:, None, None]
    over_source = units.sum(axis=2) - p.available
    for i, d in zip(*np.nonzero(over_source > 0), strict=True):
        out.append(f"source {p.source_ids[d]} ships {over_source[i, d]} too many {p.sku_ids[i]}")
    to_store = units.sum(axis=1)
    over = to_store - (p.need + p.pack[:, None] - 1)
    for i, s in zip(*np.nonzero(over > 0), strict=True):
        out.append(f"{p.sku_ids[i]} to {p.store_ids[s]} exceeds need by more than a pack")
    vol = (p.volume[:, None] * to_store).sum(axis=0)
    for s in np.flatnonzero(vol > p.capacity * (1 + 1e-9) + 1e-9):
        out.append(f"store {p.store_ids[s]} over capacity ({vol[s]:g} > {p.capacity[s]:g})")
    no_lane = np.isnan(p.cost)
    if (packs.sum(axis=0)[no_lane] > 0).any():
        out.append("shipment on a lane without a cost (no lane)")
    return out


def _plan_from_packs(
    problem: Problem,
    packs: IntArray,
    *,
    status: Status,
    bound: float | None,
    build_seconds: float,
    solve_seconds: float,
    method: str,
    message: str = "",
) -> Plan:
    terms = evaluate(problem, packs)
    objective = sum(terms.values())
    gap = None
    if bound is not None:
        bound = min(bound, objective)  # a bound above the plan is only numerical noise
        gap = 0.0 if objective <= EPS else max(0.0, objective - bound) / abs(objective)
    return Plan(
        status=status,
        objective=objective,
        terms=terms,
        gap=gap,
        bound=bound,
        build_seconds=build_seconds,
        solve_seconds=solve_seconds,
        method=method,
        packs=packs,
        message=message,
        problem=problem,
    )


def _no_plan(
    problem: Problem,
    status: Status,
    build: float,
    solve: float,
    method: str,
    message: str,
    bound: float | None = None,
) -> Plan:
    return Plan(
        status=status,
        objective=None,
        terms={},
        gap=None,
        bound=bound,
        build_seconds=build,
        solve_seconds=solve,
        method=method,
        packs=None,
        message=message,
        problem=problem,
    )
