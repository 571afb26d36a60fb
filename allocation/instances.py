"""Random allocation problems like DESIGN.md's measurements (for tests and the bench).

Packs 1-12, half the stores capacity-bound, λ = 0.01, one DC unless asked.
"""

from __future__ import annotations

import numpy as np

from allocation.optimizer import Problem


def random_problem(
    skus: int,
    stores: int,
    *,
    sources: int = 1,
    seed: int = 0,
    fairness: float = 0.01,
    scarcity: float = 0.7,
    time_limit: float | None = 60.0,
) -> Problem:
    """A random instance: stock covers about ``scarcity`` of the total need."""
    rng = np.random.default_rng(seed)
    pack = rng.integers(1, 13, size=skus)
    volume = rng.uniform(0.05, 2.0, size=skus).round(3)
    penalty = rng.uniform(1.0, 20.0, size=skus).round(2)
    need = rng.poisson(rng.uniform(2.0, 40.0, size=(skus, 1)), size=(skus, stores))
    need[rng.random((skus, stores)) < 0.2] = 0
    total = need.sum(axis=1)
    split = rng.dirichlet(np.ones(sources), size=skus)
    available = np.floor(total[:, None] * split * scarcity * rng.uniform(0.5, 1.5, (skus, 1)))
    capacity = np.full(stores, np.inf)
    bound = rng.random(stores) < 0.5
    demand_volume = (need * volume[:, None]).sum(axis=0)
    capacity[bound] = (demand_volume[bound] * rng.uniform(0.3, 0.8, bound.sum())).round(1)
    cost = rng.uniform(0.05, 1.0, size=(sources, stores)).round(3)
    return Problem(
        sku_ids=[f"SKU-{i + 1}" for i in range(skus)],
        source_ids=[f"DC-{d + 1}" for d in range(sources)],
        store_ids=[f"S-{s + 1:02d}" for s in range(stores)],
        pack=pack.astype(np.int64),
        volume=volume,
        penalty=penalty,
        available=available.astype(np.int64),
        need=need.astype(np.int64),
        capacity=capacity,
        cost=cost,
        fairness=fairness,
        time_limit=time_limit,
    )
