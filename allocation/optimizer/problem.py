"""The allocation problem: its data, checked, read from JSON (the file contract of DESIGN.md)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
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


def pack_variables(problem: Problem) -> int:
    """How many integer pack variables the model has (after the bounds that force zeros)."""
    p = problem
    lane = ~np.isnan(p.cost)
    has_pack = p.available >= p.pack[:, None]  # (I,D)
    needs = p.need > 0  # (I,S)
    # Σ over (i,d,s) of has_pack[i,d]·needs[i,s]·lane[d,s]
    return int(np.einsum("id,is,ds->", has_pack, needs, lane, dtype=np.int64))
