"""The MIP built from numpy arrays straight into HiGHS (no per-variable Python), with what the
constraints already force taken out."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .plan import Plan, _no_plan, _plan_from_packs
from .problem import DEFAULT_MIP_GAP, EPS, FloatArray, IntArray, Problem, Status

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
