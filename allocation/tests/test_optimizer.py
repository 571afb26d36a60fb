"""The pure allocation model against an independent MILP solve, hand-checked cases, bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from allocation import __main__ as cli
from allocation import optimizer as model
from allocation.instances import random_problem
from allocation.optimizer import (
    Plan,
    Problem,
    ProblemError,
    problem_from_json,
    problem_from_text,
    solve,
    solve_exact,
    solve_fast,
    violations,
)

ROOT = Path(__file__).resolve().parents[2]


def scipy_optimum(p: Problem) -> float:
    """DESIGN.md's formulation, written out densely and solved by scipy.optimize.milp.

    Independent of model.build_arrays: no variable is dropped, no row is skipped.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    n_i, n_d, n_s = p.shape
    n_k, n_u = n_i * n_d * n_s, n_i * n_s
    nv = n_k + n_u + n_i

    def k(i: int, d: int, s: int) -> int:
        return (i * n_d + d) * n_s + s

    def u(i: int, s: int) -> int:
        return n_k + i * n_s + s

    def f(i: int) -> int:
        return n_k + n_u + i

    c = np.zeros(nv)
    for i in range(n_i):
        c[f(i)] = p.fairness * p.penalty[i]
        for s in range(n_s):
            c[u(i, s)] = p.penalty[i]
            for d in range(n_d):
                c[k(i, d, s)] = p.cost[d, s] * p.pack[i]
    rows: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []

    def row(coefs: Mapping[int, float], low: float, high: float) -> None:
        r = np.zeros(nv)
        for j, v in coefs.items():
            r[j] += v
        rows.append(r)
        lo.append(low)
        hi.append(high)

    for i in range(n_i):
        m = int(p.pack[i])
        for d in range(n_d):
            row({k(i, d, s): m for s in range(n_s)}, -np.inf, p.available[i, d])
        for s in range(n_s):
            ship = {k(i, d, s): m for d in range(n_d)}
            row({**ship, u(i, s): 1}, p.need[i, s], np.inf)
            row(ship, -np.inf, p.need[i, s] + m - 1)
            row({u(i, s): 1, f(i): -float(p.need[i, s])}, -np.inf, 0)
    for s in range(n_s):
        if math.isfinite(p.capacity[s]):
            coefs = {k(i, d, s): p.volume[i] * p.pack[i] for i in range(n_i) for d in range(n_d)}
            row(coefs, -np.inf, p.capacity[s])
    integrality = np.zeros(nv)
    integrality[:n_k] = 1
    res = milp(
        c,
        constraints=LinearConstraint(np.array(rows), lo, hi),
        integrality=integrality,
        bounds=Bounds(0, np.inf),
        options={"mip_rel_gap": 1e-9, "time_limit": 30},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def small(seed: int) -> Problem:
    rng = np.random.default_rng(seed)
    p = random_problem(
        int(rng.integers(2, 7)),
        int(rng.integers(2, 5)),
        sources=int(rng.integers(1, 3)),
        seed=seed,
        fairness=[0.0, 0.01, 0.2][seed % 3],
        scarcity=float(rng.uniform(0.4, 1.3)),
        time_limit=20,
    )
    return p


@pytest.mark.parametrize("seed", range(24))
def test_exact_objective_equals_an_independent_milp(seed: int) -> None:
    p = small(seed)
    plan = solve(p)
    assert plan.status == "optimal"
    assert plan.packs is not None and violations(p, plan.packs) == []
    best = scipy_optimum(p)
    assert plan.gap is not None and plan.gap <= model.DEFAULT_MIP_GAP + 1e-9
    tolerance = model.DEFAULT_MIP_GAP * max(abs(best), 1.0) + 1e-6
    assert best - 1e-6 <= plan.objective <= best + tolerance  # type: ignore[operator]
    # the terms add up to the objective, and the bound is below it
    assert sum(plan.terms.values()) == pytest.approx(plan.objective)
    assert plan.bound is not None and plan.bound <= plan.objective + 1e-9  # type: ignore[operator]


@pytest.mark.parametrize("seed", range(8))
def test_fast_path_is_feasible_and_reports_its_gap(seed: int) -> None:
    p = random_problem(60, 6, sources=1 + seed % 2, seed=100 + seed, time_limit=1.0)
    fast = solve_fast(p)
    assert fast.has_plan and fast.packs is not None
    assert violations(p, fast.packs) == []
    exact = solve_exact(p)  # optimal or not in 1 s, a feasible plan: the bound is below it
    assert fast.objective is not None and exact.objective is not None
    assert fast.objective >= exact.objective - 1e-6
    # the fast path's bound is a true lower bound: never above what the exact path found
    assert fast.bound is not None and fast.bound <= exact.objective + 1e-6
    assert fast.gap == pytest.approx((fast.objective - fast.bound) / fast.objective)


def test_fast_path_by_blocks_keeps_a_valid_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    p = random_problem(200, 6, seed=7, time_limit=2.0)
    monkeypatch.setattr(model, "LP_BLOCK_PACK_VARIABLES", 300)  # force several SKU blocks
    fast = solve_fast(p)
    assert fast.packs is not None and violations(p, fast.packs) == []
    exact = solve_exact(p)
    assert fast.bound is not None and exact.objective is not None
    assert fast.bound <= exact.objective + 1e-6
    assert fast.objective is not None and fast.objective >= exact.objective - 1e-6


def one_sku(
    *,
    available: int,
    needs: list[int],
    pack: int = 1,
    volume: float = 1.0,
    penalty: float = 3.0,
    capacity: list[float | None] | None = None,
    fairness: float = 0.0,
    cost: float = 0.2,
) -> Problem:
    stores = [f"S-{n}" for n in range(len(needs))]
    capacity = capacity or [None] * len(needs)
    return problem_from_json(
        {
            "skus": [{"id": "A", "pack": pack, "volume": volume, "penalty": penalty}],
            "sources": [{"id": "DC", "available": {"A": available}}],
            "stores": [
                {"id": sid, "capacity": cap, "need": {"A": n}}
                for sid, n, cap in zip(stores, needs, capacity, strict=True)
            ],
            "cost": {"DC": {sid: cost for sid in stores}},
            "fairness": fairness,
        }
    )


def units_to(plan: Plan) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in plan.shipments():
        out[row["store"]] = out.get(row["store"], 0) + row["units"]
    return out


def test_scarce_stock_is_shared_fairly() -> None:
    plan = solve(one_sku(available=60, needs=[40, 40, 20], fairness=0.1))
    assert plan.status == "optimal"
    # 100 needed, 60 there: every store misses the same 40% of its need
    unmet = {row["store"]: row["units"] for row in plan.unmet()}
    assert unmet == {"S-0": 16, "S-1": 16, "S-2": 8}
    assert plan.terms["fairness"] == pytest.approx(0.1 * 3.0 * 0.4)


def test_without_fairness_only_the_total_matters() -> None:
    plan = solve(one_sku(available=60, needs=[40, 40, 20], fairness=0.0))
    assert sum(row["units"] for row in plan.unmet()) == 40
    assert plan.terms["fairness"] == 0


def test_packs_never_exceed_need_by_more_than_one_pack() -> None:
    # need 7 in packs of 6: a second pack (12 units) beats leaving 1 unmet at penalty 3
    plan = solve(one_sku(available=600, needs=[7, 13, 1], pack=6, penalty=3.0))
    assert units_to(plan) == {"S-0": 12, "S-1": 18, "S-2": 6}
    # and at a penalty that does not pay a whole pack for 1 unit, it is left unmet
    cheap = solve(one_sku(available=600, needs=[7], pack=6, penalty=1.0))
    assert units_to(cheap) == {"S-0": 6}
    for seed in range(6):
        p = random_problem(30, 5, sources=2, seed=seed, scarcity=2.0, time_limit=1.0)
        plan = solve(p)  # whatever the status, the plan keeps the row
        assert plan.packs is not None
        shipped = plan.packs.sum(axis=1) * p.pack[:, None]
        assert (shipped <= p.need + p.pack[:, None] - 1).all()


def test_capacity_binds() -> None:
    plan = solve(one_sku(available=100, needs=[30, 30], volume=0.5, capacity=[10.0, None]))
    assert units_to(plan) == {"S-0": 20, "S-1": 30}


def test_zero_need_ships_nothing() -> None:
    plan = solve(one_sku(available=100, needs=[0, 0]))
    assert plan.status == "optimal"
    assert plan.shipments() == []
    assert plan.objective == 0


def test_a_run_out_of_time_has_no_plan() -> None:
    p = replace(random_problem(30, 5, seed=3), time_limit=0.0)
    plan = solve_exact(p, warm_start=False)
    assert plan.status == "timeout"
    assert not plan.has_plan
    assert plan.to_json()["shipments"] == []


def test_cbc_can_be_chosen_and_agrees() -> None:
    p = small(5)
    highs = solve(p)
    cbc = solve(replace(p, solver="cbc"))
    assert cbc.status == "optimal"
    assert cbc.objective == pytest.approx(highs.objective, rel=2e-4)


BASE: dict[str, Any] = {
    "skus": [{"id": "SKU-1", "pack": 6, "volume": 0.5, "penalty": 3.0}],
    "sources": [{"id": "DC-1", "available": {"SKU-1": 120}}],
    "stores": [{"id": "S-01", "capacity": 900.0, "need": {"SKU-1": 30}}],
    "cost": {"DC-1": {"S-01": 0.2}},
    "fairness": 0.01,
    "time_limit": 60,
    "gap": 0.0,
    "solver": "highs",
}


def bad(path: str, value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(BASE))
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    target[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bad("sources.0.available", {"SKU-1": -5}), "must be ≥ 0"),
        (bad("skus.0.pack", 0), "pack must be ≥ 1"),
        (bad("skus.0.pack", 1.5), "whole number"),
        (bad("cost", {"DC-1": {"S-99": 0.2}}), "unknown store 'S-99'"),
        (bad("cost", {"DC-9": {"S-01": 0.2}}), "unknown source 'DC-9'"),
        (bad("stores.0.need", {"SKU-9": 3}), "unknown SKU 'SKU-9'"),
        (bad("stores.0.need", {"SKU-1": "3"}), "must be a number"),
        (bad("fairnes", 0.1), "unknown key(s) fairnes"),
        (bad("gap", 1.5), "gap must be < 1"),
        (bad("solver", "gurobi"), "solver must be one of"),
        ({"skus": []}, "missing 'sources'"),
        ([], "problem must be an object"),
    ],
)
def test_invalid_problems_are_clear_errors(data: Any, message: str) -> None:
    with pytest.raises(ProblemError) as info:
        problem_from_json(data)
    assert message in info.value.message


def test_malformed_json_says_where() -> None:
    with pytest.raises(ProblemError, match=r"malformed JSON: .* line 1 column"):
        problem_from_text('{"skus": [')


def test_json_round_trip() -> None:
    p = small(2)
    again = problem_from_json(json.loads(json.dumps(p.to_json())))
    assert (again.need == p.need).all() and (again.available == p.available).all()
    assert solve(again).objective == pytest.approx(solve(p).objective)


def test_cli_prints_the_plan(tmp_path: Path) -> None:
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(BASE))
    done = subprocess.run(
        [sys.executable, "-m", "allocation", str(problem)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["status"] == "optimal"
    assert plan["shipments"] == [
        {"sku": "SKU-1", "source": "DC-1", "store": "S-01", "packs": 5, "units": 30}
    ]
    assert plan["unmet"] == [{"sku": "SKU-1", "store": "S-01", "units": 0}]
    assert set(plan) >= {"status", "objective", "terms", "gap", "build_seconds", "solve_seconds"}
    assert set(plan["terms"]) == {"unmet", "transport", "fairness"}


def test_cli_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(bad("skus.0.pack", 0)))
    assert cli.main([str(problem)]) == 2
    assert "pack must be ≥ 1" in capsys.readouterr().err
    problem.write_text("{not json")
    assert cli.main([str(problem)]) == 2
    assert "malformed JSON" in capsys.readouterr().err
    assert cli.main([str(tmp_path / "missing.json")]) == 2


def test_cli_without_a_plan_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps(BASE))
    monkeypatch.setattr(
        cli, "solve", lambda p, method=None: solve_exact(replace(p, time_limit=0), warm_start=False)
    )
    assert cli.main([str(problem)]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["status"] == "timeout"
    assert "no plan (timeout)" in out.err
