"""The allocation optimizer: plain data in, plan out (no Django).

The formulation is DESIGN.md's "Allocation (the optimizer)", exactly:

    minimise   Σ p[i]·u[i,s]  +  Σ c[d,s]·m[i]·k[i,d,s]  +  λ · Σ_i p[i]·f[i]
    subject to Σ_s m[i]·k[i,d,s]            ≤ a[i,d]              (source stock)
               Σ_d m[i]·k[i,d,s] + u[i,s]   ≥ n[i,s]              (need)
               Σ_d m[i]·k[i,d,s]            ≤ n[i,s] + m[i] − 1   (at most one pack over need)
               Σ_i v[i]·Σ_d m[i]·k[i,d,s]   ≤ cap[s]              (store capacity)
               u[i,s]                       ≤ f[i]·n[i,s]         (fair share)

The model is built from numpy arrays straight into HiGHS (no per-variable Python). Before it
is built, what the constraints already force is taken out, which changes no optimum:
``k[i,d,s]`` exists only where the store needs the SKU and the source has a full pack (zero
need forces ``k = 0`` through the one-pack-over row), its upper bound is
``min(a // m, ceil(n / m))``; with one source the one-pack-over rows are those bounds; a
source or capacity row that cannot bind is dropped; with ``λ = 0`` the fair-share rows and
``f`` are dropped (``f`` is then free and costless).

Two ways to a plan:

* **exact** - the MIP, solved by HiGHS (or CBC through PuLP, ``solver: "cbc"``) with the time
  limit and relative gap of the problem. ``optimal`` when the solver proved it within the
  gap; ``feasible`` when the time limit stopped it with a plan; ``timeout`` when it stopped
  with none; the gap is ``(objective − best bound) / objective``.
* **fast** - for large problems: the LP relaxation (one HiGHS LP, or per block of SKUs when
  the problem is huge, the blocks tied only through capacity prices), rounding down, and a
  greedy repair that fills the remaining need in order of value net of transport and
  capacity price. Its plan is always feasible; its gap is against the LP bound (a valid lower
  bound of the MIP). ``polish`` seconds optionally hand that plan to the HiGHS MIP as a start.

``auto`` (the default) takes the exact path up to ``EXACT_MAX_PACK_VARIABLES`` integer
variables and the fast path above.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Status = Literal["optimal", "feasible", "infeasible", "timeout"]
Method = Literal["auto", "exact", "fast"]
SOLVERS = ("highs", "cbc")
METHODS = ("auto", "exact", "fast")

EXACT_MAX_PACK_VARIABLES = 20_000
"""Above this many integer pack variables ``auto`` takes the fast path (measured: 1,000 SKUs ×
10 stores is proved optimal in seconds; at 5,000 × 10 the MIP is still 5-8% from its bound
after a minute while the fast path is ~6.6% from the LP bound in two seconds)."""

LP_BLOCK_PACK_VARIABLES = 150_000
"""Above this many pack variables the fast path solves the LP relaxation per SKU block."""

DEFAULT_TIME_LIMIT = 60.0
DEFAULT_MIP_GAP = 1e-4
"""``gap: 0`` asks for HiGHS's own optimality tolerance (a relative gap of 1e-4): closing
the last 0.01% on this MIP can take minutes and changes no decision a planner would see."""
EPS = 1e-9

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


class ProblemError(ValueError):
    """The problem is malformed: the message says what and where."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


# ---------------------------------------------------------------------------------------------
# The problem


@dataclass
class Problem:
    """One allocation problem, as arrays indexed by SKU i, source d, store s."""

    sku_ids: list[str]
    source_ids: list[str]
    store_ids: list[str]
    pack: IntArray  # (I,) m[i] ≥ 1
    volume: FloatArray  # (I,) v[i] ≥ 0
    penalty: FloatArray  # (I,) p[i] ≥ 0
    available: IntArray  # (I, D) a[i,d] ≥ 0
    need: IntArray  # (I, S) n[i,s] ≥ 0
    capacity: FloatArray  # (S,) cap[s] ≥ 0, inf = unbounded
    cost: FloatArray  # (D, S) c[d,s] ≥ 0, nan = no lane
    fairness: float = 0.0  # λ
    time_limit: float | None = DEFAULT_TIME_LIMIT
    gap: float = 0.0
    solver: str = "highs"
    method: str = "auto"
    polish: float = 0.0  # seconds of HiGHS MIP after the fast path (0 = none)

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.sku_ids), len(self.source_ids), len(self.store_ids)

    def to_json(self) -> dict[str, Any]:
        """The DESIGN.md problem.json shape (zeros left out, as the contract allows)."""
        n_i, n_d, n_s = self.shape
        return {
            "skus": [
                {
                    "id": self.sku_ids[i],
                    "pack": int(self.pack[i]),
                    "volume": float(self.volume[i]),
                    "penalty": float(self.penalty[i]),
                }
                for i in range(n_i)
            ],
            "sources": [
                {
                    "id": self.source_ids[d],
                    "available": {
                        self.sku_ids[i]: int(self.available[i, d])
                        for i in np.flatnonzero(self.available[:, d])
                    },
                }
                for d in range(n_d)
            ],
            "stores": [
                {
                    "id": self.store_ids[s],
                    "capacity": None if math.isinf(self.capacity[s]) else float(self.capacity[s]),
                    "need": {
                        self.sku_ids[i]: int(self.need[i, s])
                        for i in np.flatnonzero(self.need[:, s])
                    },
                }
                for s in range(n_s)
            ],
            "cost": {
                self.source_ids[d]: {
                    self.store_ids[s]: float(self.cost[d, s])
                    for s in range(n_s)
                    if not math.isnan(self.cost[d, s])
                }
                for d in range(n_d)
            },
            "fairness": self.fairness,
            "time_limit": self.time_limit,
            "gap": self.gap,
            "solver": self.solver,
            "method": self.method,
            "polish": self.polish,
        }


_TOP_KEYS = {"skus", "sources", "stores", "cost", "fairness", "time_limit", "gap", "solver"}
_TOP_KEYS |= {"method", "polish"}


def _number(value: Any, where: str, *, minimum: float | None = 0.0, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProblemError(f"{where} must be a number, got {value!r}", field=where)
    if not math.isfinite(value):
        raise ProblemError(f"{where} must be finite, got {value!r}", field=where)
    if integer:
        if value != int(value):
            raise ProblemError(f"{where} must be a whole number, got {value!r}", field=where)
        value = int(value)
    if minimum is not None and value < minimum:
        raise ProblemError(f"{where} must be ≥ {minimum:g}, got {value!r}", field=where)
    return value


def _object(value: Any, where: str, allowed: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProblemError(f"{where} must be an object, got {type(value).__name__}", field=where)
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ProblemError(
                f"{where} has unknown key(s) {', '.join(unknown)}", field=where, keys=unknown
            )
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ProblemError(f"{where} must be a list, got {type(value).__name__}", field=where)
    return value


def _ids(items: list[Any], where: str, allowed: set[str]) -> list[str]:
    ids: list[str] = []
    for n, item in enumerate(items):
        obj = _object(item, f"{where}[{n}]", allowed)
        ident = obj.get("id")
        if not isinstance(ident, str) or not ident:
            raise ProblemError(f"{where}[{n}].id must be a non-empty string", field=where)
        ids.append(ident)
    seen: set[str] = set()
    for ident in ids:
        if ident in seen:
            raise ProblemError(f"{where}: id {ident!r} appears twice", field=where, id=ident)
        seen.add(ident)
    return ids


def problem_from_json(data: Any) -> Problem:
    """Validate DESIGN.md's problem.json (already parsed) into a Problem.

    Raises ProblemError with a message naming the field (negative stock, a pack of 0, an
    unknown SKU or store, a missing key, ...).
    """
    top = _object(data, "problem", _TOP_KEYS)
    for key in ("skus", "sources", "stores"):
        if key not in top:
            raise ProblemError(f"problem: missing {key!r}", field=key)
    skus = _list(top["skus"], "skus")
    sources = _list(top["sources"], "sources")
    stores = _list(top["stores"], "stores")
    sku_ids = _ids(skus, "skus", {"id", "pack", "volume", "penalty"})
    source_ids = _ids(sources, "sources", {"id", "available"})
    store_ids = _ids(stores, "stores", {"id", "capacity", "need"})
    sku_index = {s: i for i, s in enumerate(sku_ids)}
    n_i, n_d, n_s = len(sku_ids), len(source_ids), len(store_ids)

    pack = np.ones(n_i, dtype=np.int64)
    volume = np.zeros(n_i)
    penalty = np.ones(n_i)
    for i, sku in enumerate(skus):
        where = f"skus[{sku_ids[i]}]"
        if "pack" not in sku:
            raise ProblemError(f"{where}.pack is missing", field=f"{where}.pack")
        pack[i] = _number(sku["pack"], f"{where}.pack", minimum=1, integer=True)
        volume[i] = _number(sku.get("volume", 0.0), f"{where}.volume")
        penalty[i] = _number(sku.get("penalty", 1.0), f"{where}.penalty")

    def quantities(obj: Any, where: str) -> dict[int, int]:
        out: dict[int, int] = {}
        for sku, qty in _object(obj, where).items():
            if sku not in sku_index:
                raise ProblemError(f"{where}: unknown SKU {sku!r}", field=where, sku=sku)
            out[sku_index[sku]] = _number(qty, f"{where}.{sku}", integer=True)
        return out

    available = np.zeros((n_i, n_d), dtype=np.int64)
    for d, src in enumerate(sources):
        for i, qty in quantities(src.get("available", {}), f"sources[{source_ids[d]}]").items():
            available[i, d] = qty
    need = np.zeros((n_i, n_s), dtype=np.int64)
    capacity = np.full(n_s, np.inf)
    for s, store in enumerate(stores):
        where = f"stores[{store_ids[s]}]"
        for i, qty in quantities(store.get("need", {}), f"{where}.need").items():
            need[i, s] = qty
        if store.get("capacity") is not None:
            capacity[s] = _number(store["capacity"], f"{where}.capacity")

    cost = np.full((n_d, n_s), np.nan)
    source_index = {s: d for d, s in enumerate(source_ids)}
    store_index = {s: i for i, s in enumerate(store_ids)}
    for src, row in _object(top.get("cost", {}), "cost").items():
        if src not in source_index:
            raise ProblemError(f"cost: unknown source {src!r}", field="cost", source=src)
        for store, c in _object(row, f"cost.{src}").items():
            if store not in store_index:
                raise ProblemError(
                    f"cost.{src}: unknown store {store!r}", field="cost", store=store
                )
            cost[source_index[src], store_index[store]] = _number(c, f"cost.{src}.{store}")

    time_limit = top.get("time_limit", DEFAULT_TIME_LIMIT)
    if time_limit is not None:
        time_limit = float(_number(time_limit, "time_limit"))
    gap = float(_number(top.get("gap", 0.0), "gap"))
    if gap >= 1:
        raise ProblemError(f"gap must be < 1 (a fraction), got {gap!r}", field="gap")
    solver = top.get("solver", "highs")
    if solver not in SOLVERS:
        raise ProblemError(f"solver must be one of {', '.join(SOLVERS)}, got {solver!r}")
    method = top.get("method", "auto")
    if method not in METHODS:
        raise ProblemError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    return Problem(
        sku_ids=sku_ids,
        source_ids=source_ids,
        store_ids=store_ids,
        pack=pack,
        volume=volume,
        penalty=penalty,
        available=available,
        need=need,
        capacity=capacity,
        cost=cost,
        fairness=float(_number(top.get("fairness", 0.0), "fairness")),
        time_limit=time_limit,
        gap=gap,
        solver=solver,
        method=method,
        polish=float(_number(top.get("polish", 0.0), "polish")),
    )


def problem_from_text(text: str) -> Problem:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProblemError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    return problem_from_json(data)


def problem_from_file(path: str | Path) -> Problem:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProblemError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc
    return problem_from_text(text)


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


# ---------------------------------------------------------------------------------------------
# The model as arrays


@dataclass
class ArrayModel:
    """The MIP as HiGHS takes it: columns k (packs), u (unmet), f (fair share), row-wise A."""

    k_i: IntArray
    k_d: IntArray
    k_s: IntArray
    n_u: int
    n_f: int
    col_cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    row_lower: FloatArray
    row_upper: FloatArray
    row_start: IntArray
    row_index: IntArray
    row_value: FloatArray
    capacity_rows: IntArray  # row number per store, -1 where the store has no capacity row
    shape: tuple[int, int, int]

    @property
    def n_k(self) -> int:
        return len(self.k_i)

    @property
    def num_col(self) -> int:
        return self.n_k + self.n_u + self.n_f

    @property
    def num_row(self) -> int:
        return len(self.row_lower)

    def packs(self, col_value: FloatArray, *, floor: bool = False) -> IntArray:
        n_i, n_d, n_s = self.shape
        k = col_value[: self.n_k]
        k = np.floor(k + 1e-6) if floor else np.round(k)
        out = np.zeros((n_i, n_d, n_s), dtype=np.int64)
        out[self.k_i, self.k_d, self.k_s] = np.maximum(k, 0).astype(np.int64)
        return out


def build_arrays(problem: Problem, *, capacity_price: FloatArray | None = None) -> ArrayModel:
    """The formulation as arrays, vectorised (cost O(nnz) in numpy, not in Python).

    ``capacity_price`` (one per store) moves the capacity rows into the objective
    (Lagrangian relaxation): the rows are dropped and each unit costs ``price · v`` more.
    """
    p = problem
    n_i, n_d, n_s = p.shape
    m = p.pack
    ceil_need = (p.need + m[:, None] - 1) // m[:, None]  # (I,S) most packs a store may take
    avail_packs = p.available // m[:, None]  # (I,D)
    lane = ~np.isnan(p.cost)  # (D,S)
    ub = np.minimum(avail_packs[:, :, None], ceil_need[:, None, :])  # (I,D,S)
    ub = np.where(lane[None, :, :], ub, 0)
    k_i, k_d, k_s = (a.astype(np.int64) for a in np.nonzero(ub > 0))
    k_ub = ub[k_i, k_d, k_s].astype(np.float64)
    n_k = len(k_i)
    units = m[k_i].astype(np.float64)  # units per pack of each k column
    cost = np.nan_to_num(p.cost, nan=0.0)
    k_cost = cost[k_d, k_s] * units
    if capacity_price is not None:
        k_cost = k_cost + capacity_price[k_s] * p.volume[k_i] * units

    # u[i,s] for every pair with need; f[i] for every SKU with need when λ > 0
    u_i, u_s = (a.astype(np.int64) for a in np.nonzero(p.need > 0))
    n_u = len(u_i)
    u_of = np.full((n_i, n_s), -1, dtype=np.int64)
    u_of[u_i, u_s] = np.arange(n_u)
    u_need = p.need[u_i, u_s].astype(np.float64)
    fair = p.fairness > 0
    f_skus = np.flatnonzero((p.need > 0).any(axis=1)) if fair else np.zeros(0, dtype=np.int64)
    n_f = len(f_skus)
    f_of = np.full(n_i, -1, dtype=np.int64)
    f_of[f_skus] = np.arange(n_f)

    col_cost = np.concatenate([k_cost, p.penalty[u_i], p.fairness * p.penalty[f_skus]])
    col_lower = np.zeros(n_k + n_u + n_f)
    col_upper = np.concatenate([k_ub, u_need, np.ones(n_f)])

    rows_r: list[IntArray] = []
    rows_c: list[IntArray] = []
    rows_v: list[FloatArray] = []
    lower: list[FloatArray] = []
    upper: list[FloatArray] = []
    n_rows = 0

    def add(row: IntArray, col: IntArray, val: FloatArray, lo: FloatArray, hi: FloatArray) -> int:
        nonlocal n_rows
        rows_r.append(row + n_rows)
        rows_c.append(col)
        rows_v.append(val)
        lower.append(lo)
        upper.append(hi)
        first = n_rows
        n_rows += len(lo)
        return first

    # source stock, only where it can bind
    id_key = k_i * n_d + k_d
    pot = np.bincount(id_key, weights=k_ub * units, minlength=n_i * n_d)
    binding = pot > p.available.reshape(-1) + EPS
    row_of = np.full(n_i * n_d, -1, dtype=np.int64)
    row_of[binding] = np.arange(int(binding.sum()))
    sel = row_of[id_key] >= 0
    add(
        row_of[id_key][sel],
        np.flatnonzero(sel),
        units[sel],
        np.full(int(binding.sum()), -np.inf),
        p.available.reshape(-1)[binding].astype(np.float64),
    )

    # need: Σ_d m·k + u ≥ n
    k_u = u_of[k_i, k_s]  # every k column has need, so this is ≥ 0
    add(
        np.concatenate([k_u, np.arange(n_u)]),
        np.concatenate([np.arange(n_k), n_k + np.arange(n_u)]),
        np.concatenate([units, np.ones(n_u)]),
        u_need,
        np.full(n_u, np.inf),
    )

    # at most one pack over need: bounds do it unless several sources serve the pair
    if n_d > 1:
        lanes = np.bincount(k_u, minlength=n_u)
        multi = lanes > 1
        mrow = np.full(n_u, -1, dtype=np.int64)
        mrow[multi] = np.arange(int(multi.sum()))
        sel = mrow[k_u] >= 0
        add(
            mrow[k_u][sel],
            np.flatnonzero(sel),
            units[sel],
            np.full(int(multi.sum()), -np.inf),
            (u_need + m[u_i] - 1)[multi],
        )

    # store capacity, only where it can bind
    capacity_rows = np.full(n_s, -1, dtype=np.int64)
    if capacity_price is None:
        vol = p.volume[k_i] * units
        pot_s = np.bincount(k_s, weights=vol * k_ub, minlength=n_s)
        cap_bind = np.isfinite(p.capacity) & (pot_s > p.capacity + EPS)
        crow = np.full(n_s, -1, dtype=np.int64)
        crow[cap_bind] = np.arange(int(cap_bind.sum()))
        sel = (crow[k_s] >= 0) & (vol > 0)
        first = add(
            crow[k_s][sel],
            np.flatnonzero(sel),
            vol[sel],
            np.full(int(cap_bind.sum()), -np.inf),
            p.capacity[cap_bind],
        )
        capacity_rows[cap_bind] = first + np.arange(int(cap_bind.sum()))

    # fair share: u − n·f ≤ 0
    if n_f:
        add(
            np.concatenate([np.arange(n_u), np.arange(n_u)]),
            np.concatenate([n_k + np.arange(n_u), n_k + n_u + f_of[u_i]]),
            np.concatenate([np.ones(n_u), -u_need]),
            np.full(n_u, -np.inf),
            np.zeros(n_u),
        )

    r = np.concatenate(rows_r) if rows_r else np.zeros(0, dtype=np.int64)
    c = np.concatenate(rows_c) if rows_c else np.zeros(0, dtype=np.int64)
    v = np.concatenate(rows_v) if rows_v else np.zeros(0)
    order = np.argsort(r, kind="stable")
    start = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=n_rows), out=start[1:])
    return ArrayModel(
        k_i=k_i,
        k_d=k_d,
        k_s=k_s,
        n_u=n_u,
        n_f=n_f,
        col_cost=col_cost,
        col_lower=col_lower,
        col_upper=col_upper,
        row_lower=np.concatenate(lower) if lower else np.zeros(0),
        row_upper=np.concatenate(upper) if upper else np.zeros(0),
        row_start=start,
        row_index=c[order].astype(np.int32),
        row_value=v[order],
        capacity_rows=capacity_rows,
        shape=p.shape,
    )


_banner_shown = False


def _new_highs() -> Any:
    """A silent Highs. Its first construction prints a banner on the C stdout, which would
    corrupt the CLI's JSON plan, so that one is sent to /dev/null."""
    global _banner_shown
    import highspy

    if _banner_shown:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class _HighsResult:
    status: Literal["optimal", "limit", "infeasible", "error"]
    col_value: FloatArray | None
    row_dual: FloatArray | None
    objective: float | None
    bound: float | None
    message: str


def _solve_highs(
    model: ArrayModel,
    *,
    integer: bool,
    time_limit: float | None,
    gap: float,
    start: IntArray | None = None,
) -> _HighsResult:
    import highspy

    h = _new_highs()
    h.setOptionValue("threads", 1)
    if time_limit is not None:
        h.setOptionValue("time_limit", max(float(time_limit), 0.0))
    if integer:
        h.setOptionValue("mip_rel_gap", gap if gap > 0 else DEFAULT_MIP_GAP)
        # HiGHS 1.16's presolve makes this MIP stall at the root node, past its time limit
        # (1,000 × 10, seed 1: 67 s for a 60 s limit, gap 2.15%); without it: optimal in 19 s
        h.setOptionValue("presolve", "off")
    lp = highspy.HighsLp()
    lp.num_col_ = model.num_col
    lp.num_row_ = model.num_row
    lp.col_cost_ = model.col_cost
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = model.num_col
    lp.a_matrix_.num_row_ = model.num_row
    lp.a_matrix_.start_ = model.row_start.astype(np.int32)
    lp.a_matrix_.index_ = model.row_index
    lp.a_matrix_.value_ = model.row_value
    if integer and model.n_k:
        integrality = [highspy.HighsVarType.kContinuous] * model.num_col
        integrality[: model.n_k] = [highspy.HighsVarType.kInteger] * model.n_k
        lp.integrality_ = integrality
    h.passModel(lp)
    if start is not None and integer:
        sol = highspy.HighsSolution()
        values = np.zeros(model.num_col)
        values[: model.n_k] = start[model.k_i, model.k_d, model.k_s]
        sol.col_value = values.tolist()
        h.setSolution(sol)
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    ms = highspy.HighsModelStatus
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return _HighsResult("infeasible", None, None, None, None, h.modelStatusToString(status))
    has_value = info.primal_solution_status == 2  # kSolutionStatusFeasible
    col_value = np.asarray(h.getSolution().col_value) if has_value else None
    if integer:
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
    else:
        bound = float(info.objective_function_value) if status == ms.kOptimal else None
    objective = float(info.objective_function_value) if has_value else None
    row_dual = None
    if not integer and status == ms.kOptimal:
        row_dual = np.asarray(h.getSolution().row_dual)
    if status == ms.kOptimal:
        kind: Literal["optimal", "limit", "infeasible", "error"] = "optimal"
    elif status in (ms.kTimeLimit, ms.kIterationLimit, ms.kSolutionLimit, ms.kInterrupt):
        kind = "limit"
    else:
        kind = "error"
    return _HighsResult(kind, col_value, row_dual, objective, bound, h.modelStatusToString(status))


# ---------------------------------------------------------------------------------------------
# Solving


def solve(problem: Problem, *, method: str | None = None) -> Plan:
    """The plan for a problem: exact MIP or the fast path (see the module docstring)."""
    method = method or problem.method
    if method not in METHODS:
        raise ProblemError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if problem.solver == "cbc":
        return _solve_cbc(problem)
    if method == "auto":
        method = "exact" if pack_variables(problem) <= EXACT_MAX_PACK_VARIABLES else "fast"
    if method == "exact":
        return solve_exact(problem)
    return solve_fast(problem)


def pack_variables(problem: Problem) -> int:
    """How many integer pack variables the model has (after the bounds that force zeros)."""
    p = problem
    lane = ~np.isnan(p.cost)
    has_pack = p.available >= p.pack[:, None]  # (I,D)
    needs = p.need > 0  # (I,S)
    # Σ over (i,d,s) of has_pack[i,d]·needs[i,s]·lane[d,s]
    return int(np.einsum("id,is,ds->", has_pack, needs, lane, dtype=np.int64))


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


def _plan_from_result(
    problem: Problem,
    model: ArrayModel,
    res: _HighsResult,
    build: float,
    solve_s: float,
    method: str,
) -> Plan:
    if res.status == "infeasible":
        return _no_plan(problem, "infeasible", build, solve_s, method, res.message)
    if res.col_value is None:
        status: Status = "timeout" if res.status == "limit" else "infeasible"
        msg = (
            f"no plan within the time limit ({res.message})"
            if status == "timeout"
            else (f"solver failed: {res.message}")
        )
        return _no_plan(problem, status, build, solve_s, method, msg, res.bound)
    packs = model.packs(res.col_value)
    status = "optimal" if res.status == "optimal" else "feasible"
    msg = "" if status == "optimal" else f"stopped by {res.message}: best plan so far"
    return _plan_from_packs(
        problem,
        packs,
        status=status,
        bound=res.bound,
        build_seconds=build,
        solve_seconds=solve_s,
        method=method,
        message=msg,
    )


def solve_fast(problem: Problem) -> Plan:
    """LP relaxation → round down → greedy repair (→ optional HiGHS polish from that start)."""
    t0 = time.perf_counter()
    n_k = pack_variables(problem)
    if n_k > LP_BLOCK_PACK_VARIABLES:
        lp_packs, bound, price, build_s = _lp_by_blocks(problem)
    else:
        model = build_arrays(problem)
        build_s = time.perf_counter() - t0
        res = _solve_highs(model, integer=False, time_limit=problem.time_limit, gap=0.0)
        if res.col_value is None:
            lp_packs = np.zeros(problem.shape, dtype=np.int64)
            bound = None
            price = np.zeros(len(problem.store_ids))
        else:
            lp_packs = model.packs(res.col_value, floor=True)
            bound = res.bound
            price = np.zeros(len(problem.store_ids))
            if res.row_dual is not None:
                rows = model.capacity_rows
                price[rows >= 0] = np.abs(res.row_dual[rows[rows >= 0]])
    # two starts for the greedy, the better plan kept: the LP rounded down, and nothing (the
    # greedy alone, guided by the LP's capacity prices); each costs a fraction of the LP
    packs = repair(problem, lp_packs, price)
    alone = repair(problem, np.zeros_like(lp_packs), price)
    if sum(evaluate(problem, alone).values()) < sum(evaluate(problem, packs).values()):
        packs = alone
    solve_s = time.perf_counter() - t0 - build_s
    plan = _plan_from_packs(
        problem,
        packs,
        status="feasible",
        bound=bound,
        build_seconds=build_s,
        solve_seconds=solve_s,
        method="fast",
    )
    if problem.polish > 0:
        t2 = time.perf_counter()
        model = build_arrays(problem)
        t3 = time.perf_counter()
        res = _solve_highs(
            model, integer=True, time_limit=problem.polish, gap=problem.gap, start=packs
        )
        t4 = time.perf_counter()
        if res.col_value is not None:
            polished = _plan_from_result(problem, model, res, t3 - t2, t4 - t3, "fast+polish")
            if (
                polished.has_plan
                and polished.objective is not None
                and (plan.objective is None or polished.objective <= plan.objective)
            ):
                if bound is not None and polished.bound is not None and polished.packs is not None:
                    best = max(bound, polished.bound)
                    polished = _plan_from_packs(
                        problem,
                        polished.packs,
                        status=polished.status,
                        bound=best,
                        build_seconds=0,
                        solve_seconds=0,
                        method="fast+polish",
                    )
                polished.build_seconds = plan.build_seconds + (t3 - t2)
                polished.solve_seconds = plan.solve_seconds + (t4 - t3)
                plan = polished
    if plan.status == "feasible" and plan.gap is not None and plan.gap <= max(problem.gap, 1e-9):
        plan.status = "optimal"
    return plan


def _lp_by_blocks(problem: Problem) -> tuple[IntArray, float | None, FloatArray, float]:
    """The LP relaxation per SKU block, the blocks tied through capacity prices.

    Only the store capacity rows tie SKUs together. Prices for them come from the LP of one
    sample block whose capacities are scaled to its share; with those prices every block is
    an independent LP. Σ blocks' LP(price) − price·cap is a lower bound of the whole problem
    for any price ≥ 0 (Lagrangian relaxation), so the bound stays valid. Where the priced
    blocks together overfill a store, repair() keeps the plan feasible.
    """
    p = problem
    n_i, _n_d, n_s = p.shape
    t0 = time.perf_counter()
    per_sku = max(1, pack_variables(p) // max(n_i, 1))
    block = max(1, LP_BLOCK_PACK_VARIABLES // (2 * per_sku))
    rng = np.random.default_rng(0)
    order = rng.permutation(n_i)
    blocks = [np.sort(order[b : b + block]) for b in range(0, n_i, block)]
    finite = np.isfinite(p.capacity)
    price = np.zeros(n_s)
    build_s = 0.0
    if finite.any():
        sample = _sub_problem(p, blocks[0])
        sample.capacity = np.where(finite, p.capacity * len(blocks[0]) / n_i, np.inf)
        tb = time.perf_counter()
        model = build_arrays(sample)
        build_s += time.perf_counter() - tb
        res = _solve_highs(model, integer=False, time_limit=p.time_limit, gap=0.0)
        if res.row_dual is not None:
            rows = model.capacity_rows
            price[rows >= 0] = np.abs(res.row_dual[rows[rows >= 0]])
    packs = np.zeros(p.shape, dtype=np.int64)
    bound: float | None = -float(np.where(finite, price * np.nan_to_num(p.capacity), 0).sum())
    for idx in blocks:
        sub = _sub_problem(p, idx)
        tb = time.perf_counter()
        model = build_arrays(sub, capacity_price=price)
        build_s += time.perf_counter() - tb
        remaining = None if p.time_limit is None else p.time_limit - (time.perf_counter() - t0)
        res = _solve_highs(model, integer=False, time_limit=remaining, gap=0.0)
        if res.col_value is None or res.bound is None or bound is None:
            bound = None
            if res.col_value is None:
                continue
        else:
            bound += res.bound
        packs[idx] = model.packs(res.col_value, floor=True)
    return packs, bound, price, build_s


def _sub_problem(p: Problem, idx: IntArray) -> Problem:
    return Problem(
        sku_ids=[p.sku_ids[i] for i in idx],
        source_ids=p.source_ids,
        store_ids=p.store_ids,
        pack=p.pack[idx],
        volume=p.volume[idx],
        penalty=p.penalty[idx],
        available=p.available[idx],
        need=p.need[idx],
        capacity=p.capacity.copy(),
        cost=p.cost,
        fairness=p.fairness,
        time_limit=p.time_limit,
        gap=p.gap,
        solver=p.solver,
        method=p.method,
    )


def repair(problem: Problem, packs: IntArray, price: FloatArray | None = None) -> IntArray:
    """Make ``packs`` feasible, then fill the remaining need greedily.

    First whatever breaks a row is taken back (only needed when the packs came from priced
    blocks: capacity); then, one pack at a time in order of value net of transport and
    capacity price (``price``, the LP's capacity duals), packs are added while the store still
    needs the SKU, the source has a full pack and the store has room, and the pack is worth
    shipping.
    """
    p = problem
    _n_i, n_d, n_s = p.shape
    k = packs.copy()
    m = p.pack
    price = np.zeros(n_s) if price is None else price
    cost = np.nan_to_num(p.cost, nan=np.inf)
    unit_vol = p.volume * m  # volume per pack

    # 1. take back packs over capacity, the least valuable per volume first
    load = (unit_vol[:, None] * k.sum(axis=1)).sum(axis=0)
    for s in np.flatnonzero(load > p.capacity + 1e-9):
        i_idx, d_idx = np.nonzero(k[:, :, s])
        worth = (p.penalty[i_idx] * m[i_idx] - cost[d_idx, s] * m[i_idx]) / np.maximum(
            unit_vol[i_idx], 1e-12
        )
        for j in np.argsort(worth):
            if load[s] <= p.capacity[s] + 1e-9:
                break
            i, d = int(i_idx[j]), int(d_idx[j])
            if unit_vol[i] <= 0:
                continue
            take = min(int(k[i, d, s]), math.ceil((load[s] - p.capacity[s] - 1e-9) / unit_vol[i]))
            k[i, d, s] -= take
            load[s] -= take * unit_vol[i]

    # 2. fill, one pack at a time: every pack still wanted is an item worth
    #    p·(useful units) − (c + price·v)·m; the full packs of a (SKU, store) come before its
    #    last, partial one, so a scarce SKU's stock goes to full packs first (adding a store's
    #    packs all at once, partial pack included, wasted stock and room: +2% on 1,000 × 10).
    shipped = k.sum(axis=1) * m[:, None]  # (I,S)
    left = p.available - (k.sum(axis=2) * m[:, None])  # (I,D)
    room = p.capacity - load
    rem = p.need - shipped
    ci, cs = np.nonzero(rem > 0)
    if len(ci) == 0:
        return k
    r = rem[ci, cs]
    mi = m[ci]
    n_full = r // mi
    part = r - n_full * mi
    item_i: list[IntArray] = []
    item_d: list[IntArray] = []
    item_s: list[IntArray] = []
    item_v: list[FloatArray] = []
    for d in range(n_d):
        c = cost[d, cs] + price[cs] * p.volume[ci]
        ok = np.isfinite(c) & (left[ci, d] >= mi)
        full_value = p.penalty[ci] * mi - c * mi
        reps = np.where(ok & (full_value > 0), np.minimum(n_full, left[ci, d] // mi), 0)
        item_i.append(np.repeat(ci, reps))
        item_s.append(np.repeat(cs, reps))
        item_d.append(np.full(int(reps.sum()), d, dtype=np.int64))
        item_v.append(np.repeat(full_value, reps))
        last = ok & (part > 0) & (p.penalty[ci] * part > c * mi)
        item_i.append(ci[last])
        item_s.append(cs[last])
        item_d.append(np.full(int(last.sum()), d, dtype=np.int64))
        item_v.append((p.penalty[ci] * part - c * mi)[last])
    all_i = np.concatenate(item_i)
    all_d = np.concatenate(item_d)
    all_s = np.concatenate(item_s)
    order = np.argsort(-np.concatenate(item_v), kind="stable")
    pen = p.penalty.tolist()
    vol = p.volume.tolist()
    mm = m.tolist()
    cost_l = cost.tolist()
    room_l = room.tolist()
    for i, d, s in zip(
        all_i[order].tolist(), all_d[order].tolist(), all_s[order].tolist(), strict=True
    ):
        rr = int(rem[i, s])
        if rr <= 0:
            continue
        mi_ = mm[i]
        if left[i, d] < mi_:
            continue
        v = vol[i] * mi_
        if v > room_l[s] + 1e-9:
            continue
        if pen[i] * min(rr, mi_) <= cost_l[d][s] * mi_:  # covered meanwhile by another source
            continue
        k[i, d, s] += 1
        left[i, d] -= mi_
        rem[i, s] -= mi_
        room_l[s] -= v
    return k


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
