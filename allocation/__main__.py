"""``python -m allocation problem.json``: the plan on stdout (DESIGN.md's formats).

Exit 0 with a plan (status optimal or feasible); 1 when there is none (infeasible, or the
time limit ran out before any plan: the plan JSON is still printed, with its status); 2 when
the problem cannot be read (the message, on stderr, names the field).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from allocation.optimizer import METHODS, SOLVERS, ProblemError, problem_from_text, solve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m allocation",
        description="Solve an allocation problem.json; print the plan JSON on stdout.",
    )
    parser.add_argument("problem", help="problem.json ('-' reads stdin)")
    parser.add_argument("--method", choices=METHODS, help="override the file's method")
    parser.add_argument("--solver", choices=SOLVERS, help="override the file's solver")
    parser.add_argument("--time-limit", type=float, help="seconds (override the file)")
    parser.add_argument("--gap", type=float, help="relative gap (override the file)")
    parser.add_argument("--indent", type=int, default=None, help="pretty-print the plan")
    args = parser.parse_args(argv)
    try:
        if args.problem == "-":
            text = sys.stdin.read()
        else:
            with open(args.problem, encoding="utf-8") as fh:
                text = fh.read()
    except OSError as exc:
        print(f"error: cannot read {args.problem}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        problem = problem_from_text(text)
    except ProblemError as exc:
        print(f"error: invalid problem: {exc.message}", file=sys.stderr)
        return 2
    if args.solver:
        problem = replace(problem, solver=args.solver)
    if args.time_limit is not None:
        problem = replace(problem, time_limit=args.time_limit)
    if args.gap is not None:
        problem = replace(problem, gap=args.gap)
    plan = solve(problem, method=args.method)
    json.dump(plan.to_json(), sys.stdout, indent=args.indent)
    sys.stdout.write("\n")
    if not plan.has_plan:
        print(f"error: no plan ({plan.status}): {plan.message}", file=sys.stderr)
        return 1
    if plan.status == "feasible":
        print(f"note: plan within {100 * (plan.gap or 0):.2f}% of the best bound", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
