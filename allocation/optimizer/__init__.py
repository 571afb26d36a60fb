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

from .arrays import ArrayModel, build_arrays
from .cbc import _solve_cbc, build_pulp
from .exact import solve_exact
from .fast import repair, solve_fast
from .plan import Plan, evaluate, violations
from .problem import (
    DEFAULT_MIP_GAP,
    DEFAULT_TIME_LIMIT,
    EXACT_MAX_PACK_VARIABLES,
    LP_BLOCK_PACK_VARIABLES,
    METHODS,
    SOLVERS,
    Method,
    Problem,
    ProblemError,
    Status,
    pack_variables,
    problem_from_file,
    problem_from_json,
    problem_from_text,
)

__all__ = [
    "DEFAULT_MIP_GAP",
    "DEFAULT_TIME_LIMIT",
    "EXACT_MAX_PACK_VARIABLES",
    "LP_BLOCK_PACK_VARIABLES",
    "METHODS",
    "SOLVERS",
    "ArrayModel",
    "Method",
    "Plan",
    "Problem",
    "ProblemError",
    "Status",
    "build_arrays",
    "build_pulp",
    "evaluate",
    "pack_variables",
    "problem_from_file",
    "problem_from_json",
    "problem_from_text",
    "repair",
    "solve",
    "solve_exact",
    "solve_fast",
    "violations",
]


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
