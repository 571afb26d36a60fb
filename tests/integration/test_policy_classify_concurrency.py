"""Classifying a location while a planner sets a policy there, and two classifications at once
(PostgreSQL: the classification locks the location's policies in id order; setting one policy
waits for it or goes first). The planner's policy is never lost, and no SKU gets two."""

from __future__ import annotations

from inventory.models import Location
from purchasing.models import ReorderPolicy
from purchasing.services import reorder_policies_classify, reorder_policy_set
from purchasing.tests.fixtures import PolicySkus

from .threads import run_together


def test_a_planners_policy_survives_a_classification_at_the_same_moment(
    dc: Location, policy_skus: PolicySkus
) -> None:
    reorder_policies_classify(location=dc)

    def work(i: int) -> str:
        if i == 0:
            reorder_policies_classify(location=dc)
        else:
            reorder_policy_set(
                product=policy_skus.high,
                location=dc,
                kind="min_max",
                min_quantity=40,
                max_quantity=90,
            )
        return "ok"

    for _ in range(3):
        assert run_together(work, threads=2) == ["ok", "ok"]
        high = ReorderPolicy.objects.get(product=policy_skus.high, location=dc)
        assert (high.kind, high.min_quantity, high.max_quantity) == ("min_max", 40, 90)
        assert high.overridden and (high.abc_class, high.xyz_class) == ("A", "X")
        ReorderPolicy.objects.filter(pk=high.pk).update(overridden=False)  # next round: again


def test_two_classifications_at_once_make_one_policy_per_sku(
    dc: Location, policy_skus: PolicySkus
) -> None:
    results = run_together(lambda i: reorder_policies_classify(location=dc), threads=3)
    assert all(sum(r.counts.values()) == 4 for r in results)
    policies = ReorderPolicy.objects.filter(location=dc)
    assert policies.count() == 4
    assert all(p.abc_class and p.xyz_class for p in policies)
