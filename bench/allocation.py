"""Build and solve seconds of the allocation optimizer against a naive per-variable PuLP build.

Not a test: it prints figures and the ratio PuLP build / array build, measured in the same run
on the same random instances (``allocation.instances``: packs 1-12, half the stores
capacity-bound, λ = 0.01, one DC). No database.

For each size: how the plan was made (exact MIP or the fast path), the build and solve
seconds, the objective, the best bound and the gap between them; and the seconds PuLP takes
just to build the same model one Python object per variable (its solve is not run: it would
then hand the model to the solver through a file on top). On 1,000 × 10 the fast path's plan
is also set against the exact MIP's.

    nice python bench/allocation.py [--time-limit 60] [--sizes 1000x10,5000x10,...]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from allocation.instances import random_problem  # noqa: E402
from allocation.optimizer import (  # noqa: E402
    Plan,
    Problem,
    build_arrays,
    build_pulp,
    pack_variables,
    solve,
    solve_exact,
    solve_fast,
)

SIZES = [(1_000, 10), (5_000, 10), (50_000, 10), (5_000, 50)]
PULP_MAX_PACK_VARIABLES = 250_000  # above: PuLP is timed on a slice and scaled (memory)


def pulp_build_seconds(problem: Problem) -> tuple[float, str]:
    n = pack_variables(problem)
    if n <= PULP_MAX_PACK_VARIABLES:
        t = time.perf_counter()
        build_pulp(problem)
        return time.perf_counter() - t, ""
    n_i = len(problem.sku_ids)
    part = max(1, n_i * PULP_MAX_PACK_VARIABLES // (2 * n))
    sub = replace(
        problem,
        sku_ids=problem.sku_ids[:part],
        pack=problem.pack[:part],
        volume=problem.volume[:part],
        penalty=problem.penalty[:part],
        available=problem.available[:part],
        need=problem.need[:part],
    )
    t = time.perf_counter()
    build_pulp(sub)
    return (time.perf_counter() - t) * n_i / part, f" (timed on {part:,} SKUs, scaled)"


def line(label: str, plan: Plan) -> str:
    gap = "n/a" if plan.gap is None else f"{100 * plan.gap:.2f}%"
    bound = "n/a" if plan.bound is None else f"{plan.bound:,.0f}"
    objective = "n/a" if plan.objective is None else f"{plan.objective:,.0f}"
    total = plan.build_seconds + plan.solve_seconds
    return (
        f"  {label:<22} {plan.status:<9} build {plan.build_seconds:6.2f} s  "
        f"solve {plan.solve_seconds:7.2f} s  total {total:7.2f} s  "
        f"objective {objective:>12}  bound {bound:>12}  gap {gap}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--time-limit", type=float, default=60.0, help="per solve, seconds")
    parser.add_argument("--polish", type=float, default=10.0, help="fast+polish seconds")
    parser.add_argument(
        "--sizes", default=",".join(f"{i}x{s}" for i, s in SIZES), help="SKUSxSTORES,..."
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scarcity", type=float, default=0.7, help="DC stock / total need (DESIGN: unstated)"
    )
    args = parser.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    print(
        f"allocation bench: time limit {args.time_limit:g} s, λ = 0.01, one DC, "
        f"seed {args.seed}, scarcity {args.scarcity:g}"
    )
    results: dict[tuple[int, ...], Plan] = {}
    for skus, stores in sizes:
        problem = random_problem(
            skus, stores, seed=args.seed, scarcity=args.scarcity, time_limit=args.time_limit
        )
        n = pack_variables(problem)
        t = time.perf_counter()
        model = build_arrays(problem)
        array_s = time.perf_counter() - t
        print(
            f"{skus:,} SKUs × {stores} stores: {n:,} pack variables, "
            f"{model.num_col:,} columns, {model.num_row:,} rows"
        )
        plan = solve(problem)
        results[(skus, stores)] = plan
        print(line(f"auto ({plan.method})", plan))
        if (skus, stores) == (1_000, 10):
            fast = solve_fast(problem)
            print(line("fast path", fast))
            polished = solve_fast(replace(problem, polish=args.polish))
            print(line(f"fast + {args.polish:g} s polish", polished))
            exact = plan if plan.method == "exact" else solve_exact(problem)
            assert exact.objective and fast.objective and polished.objective
            for label, other in (("fast path", fast), ("fast + polish", polished)):
                assert other.objective is not None
                dist = (other.objective - exact.objective) / exact.objective
                print(
                    f"  {label} vs exact MIP plan: {100 * dist:+.2f}% "
                    f"(exact MIP {exact.status}, its gap {100 * (exact.gap or 0):.2f}%)"
                )
        pulp_s, note = pulp_build_seconds(problem)
        print(f"  array build            {array_s:6.2f} s")
        print(f"  PuLP per-variable build{pulp_s:7.2f} s{note}")
        print(f"  ratio PuLP build / array build  {pulp_s / max(array_s, 1e-9):8.1f}")
        total = plan.build_seconds + plan.solve_seconds
        if (skus, stores) == (5_000, 10):
            print(f"  target 5,000 × 10 end to end < 30 s: {'met' if total < 30 else 'NOT met'}")
        if (skus, stores) == (50_000, 10):
            print(f"  target 50,000 × 10 < 300 s: {'met' if total < 300 else 'NOT met'}")
        verdict = "met" if plan.build_seconds < plan.solve_seconds else "NOT met"
        print(f"  build < solve: {verdict}", flush=True)


if __name__ == "__main__":
    main()
