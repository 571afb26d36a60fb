"""Classifying a location's SKUs (ABC by value, XYZ by variability) and writing each class's
suggested reorder policy: the classes found, planners' policies kept, revert, bad input (the
field named, nothing written), and the daily proposal run classifying first."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from inventory.models import Location, LocationKind, ProductCost
from omni.models import City, User
from omni.selectors import city_today
from purchasing.errors import (
    PolicyClassificationInvalid,
    ReorderPolicyInvalid,
    ReorderPolicyNotClassified,
    UnknownReorderPolicy,
)
from purchasing.models import ReorderPolicy
from purchasing.proposal_models import ProposalLine, ProposalStatus, ReplenishmentRun
from purchasing.proposals import services as proposals
from purchasing.services import (
    reorder_policies_classify,
    reorder_policy_revert,
    reorder_policy_set,
)
from purchasing.tests.fixtures import PolicySkus
from purchasing.tests.proposal_fixtures import ProposalCity
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def _policy(skus: Any, dc: Location) -> ReorderPolicy:
    return ReorderPolicy.objects.get(product=skus, location=dc)


def _state() -> list[tuple[Any, ...]]:
    return sorted(
        ReorderPolicy.objects.values_list(
            "product_id", "location_id", "kind", "service_level", "min_quantity", "abc_class"
        )
    )


def test_each_sku_gets_its_class_and_the_class_policy(
    city: City, dc: Location, policy_skus: PolicySkus
) -> None:
    result = reorder_policies_classify(city=city)
    assert result.locations == ["DC1"]
    assert (result.created, result.updated, result.kept) == (4, 0, 0)
    assert {cell: n for cell, n in result.counts.items() if n} == {"AX": 1, "BY": 1, "CZ": 2}
    high = _policy(policy_skus.high, dc)
    assert (high.abc_class, high.xyz_class, high.kind) == ("A", "X", "service_level")
    assert high.service_level == Decimal("0.97")
    assert high.class_value == Decimal("5600.00")  # 560 units × 10.00
    assert high.daily_mean == pytest.approx(8.0)
    assert not high.overridden and high.set_by is None
    mid = _policy(policy_skus.mid, dc)
    assert (mid.abc_class, mid.xyz_class, mid.service_level) == ("B", "Y", Decimal("0.93"))
    low = _policy(policy_skus.low, dc)
    # cheap and erratic: min/max covering the mean over lead 7 + review 7 days, then a review
    assert (low.abc_class, low.xyz_class, low.kind) == ("C", "Z", "min_max")
    assert (low.min_quantity, low.max_quantity) == (13, 20)  # 50/57 a day: ⌈12.3⌉, +⌈6.1⌉
    none = _policy(policy_skus.none, dc)
    assert (none.abc_class, none.xyz_class, none.min_quantity, none.max_quantity) == (
        "C",
        "Z",
        0,
        0,
    )
    assert none.weekly_cv is None


def test_the_moving_average_cost_ranks_before_the_supplier_cost(
    city: City, dc: Location, policy_skus: PolicySkus
) -> None:
    ProductCost.objects.create(
        product=policy_skus.low, quantity=1, value=Decimal("1000"), average_cost=Decimal("1000")
    )
    reorder_policies_classify(location=dc)
    assert _policy(policy_skus.low, dc).abc_class == "A"  # 50 units × 1000.00
    assert _policy(policy_skus.high, dc).abc_class == "B"


def test_a_planners_policy_is_kept_and_its_class_refreshed(
    city: City, dc: Location, policy_skus: PolicySkus, planner: User
) -> None:
    reorder_policies_classify(city=city)
    reorder_policy_set(
        product=policy_skus.high,
        location=dc,
        kind="min_max",
        min_quantity=40,
        max_quantity=90,
        actor=planner,
        note="promotion in May",
    )
    # a suggested policy edited behind the service's back is put back to its class's
    ReorderPolicy.objects.filter(product=policy_skus.mid).update(service_level=Decimal("0.6"))
    ReorderPolicy.objects.update(abc_class="", xyz_class="")
    result = reorder_policies_classify(city=city)
    assert (result.created, result.updated, result.kept) == (0, 3, 1)
    high = _policy(policy_skus.high, dc)
    assert (high.kind, high.min_quantity, high.max_quantity) == ("min_max", 40, 90)
    assert high.overridden and high.set_by == planner and high.note == "promotion in May"
    assert (high.abc_class, high.xyz_class) == ("A", "X")
    assert _policy(policy_skus.mid, dc).service_level == Decimal("0.93")


def test_revert_puts_the_class_suggestion_back(
    city: City, dc: Location, policy_skus: PolicySkus, planner: User
) -> None:
    reorder_policies_classify(city=city)
    reorder_policy_set(
        product=policy_skus.mid, location=dc, kind="service_level", service_level="0.99"
    )
    policy = reorder_policy_revert(product=policy_skus.mid, location=dc, actor=planner)
    assert (policy.kind, policy.service_level, policy.overridden) == (
        "service_level",
        Decimal("0.93"),
        False,
    )
    policy.refresh_from_db()
    assert policy.service_level == Decimal("0.93") and not policy.overridden


def test_revert_without_a_policy_or_a_class_is_refused(
    dc: Location, policy_skus: PolicySkus
) -> None:
    with pytest.raises(UnknownReorderPolicy):
        reorder_policy_revert(product=policy_skus.high, location=dc)
    reorder_policy_set(
        product=policy_skus.high, location=dc, kind="service_level", service_level=0.9
    )
    with pytest.raises(ReorderPolicyNotClassified) as refused:
        reorder_policy_revert(product=policy_skus.high, location=dc)
    assert refused.value.detail == {"sku": "CL-HIGH", "location": "DC1"}
    assert _policy(policy_skus.high, dc).service_level == Decimal("0.9")


@pytest.mark.parametrize(
    ("what", "field"),
    [("neither", "location"), ("both", "location"), ("virtual", "location"), ("no_dc", "city")],
)
def test_bad_input_names_the_field_and_writes_nothing(
    city: City, dc: Location, policy_skus: PolicySkus, what: str, field: str
) -> None:
    reorder_policies_classify(location=dc)
    ReorderPolicy.objects.update(service_level=Decimal("0.5"))
    before = _state()
    if what == "virtual":
        kwargs: dict[str, Any] = {
            "location": LocationFactory.create(kind=LocationKind.SUPPLIER, city=city)
        }
    elif what == "no_dc":
        empty = City.objects.create(code="empty", name="Empty", latitude=0, longitude=0)
        kwargs = {"city": empty}
    else:
        kwargs = {} if what == "neither" else {"city": city, "location": dc}
    with pytest.raises(PolicyClassificationInvalid) as refused:
        reorder_policies_classify(**kwargs)
    assert refused.value.detail["field"] == field
    assert _state() == before


def test_a_policy_at_a_virtual_location_is_refused(city: City, policy_skus: PolicySkus) -> None:
    supplier_place = LocationFactory.create(kind=LocationKind.SUPPLIER, city=city)
    with pytest.raises(ReorderPolicyInvalid) as refused:
        reorder_policy_set(
            product=policy_skus.high, location=supplier_place, kind="min_max", min_quantity=1
        )
    assert refused.value.detail["field"] == "location"
    assert not ReorderPolicy.objects.exists()


def test_a_store_classifies_only_what_it_buys(
    city: City, dc: Location, store: Location, policy_skus: PolicySkus
) -> None:
    policy_skus.supplier.delivers_to_stores = True
    policy_skus.supplier.save()
    reorder_policy_set(
        product=policy_skus.mid, location=store, kind="min_max", min_quantity=1, max_quantity=5
    )
    reorder_policy_set(
        product=policy_skus.low,
        location=store,
        kind="service_level",
        service_level="0.8",
        overridden=False,
    )
    result = reorder_policies_classify(location=store)
    assert (result.created, result.updated, result.kept) == (0, 1, 1)
    assert not ReorderPolicy.objects.filter(location=dc).exists()
    # at the store the two compete alone: MID's 1050 against LOW's 50
    assert _policy(policy_skus.low, store).abc_class == "C"
    assert _policy(policy_skus.mid, store).abc_class == "A"


def test_the_daily_run_classifies_before_it_proposes(proposal_city: ProposalCity) -> None:
    pc = proposal_city
    run = ReplenishmentRun.objects.create(
        city=pc.city,
        run_date=city_today(pc.city),
        scheduled=True,
        service_level=0.95,
        review_days=7,
    )
    run = proposals.replenishment_run_execute(run=run)
    assert run.status == ProposalStatus.READY, run.message
    policies = ReorderPolicy.objects.filter(location=pc.dc)
    assert policies.count() == len(pc.products)
    assert all(p.abc_class and p.xyz_class for p in policies)
    by_sku = {p.product_id: p for p in policies}
    for line in ProposalLine.objects.filter(run=run):
        policy = by_sku[line.product_id]
        assert (line.method == "min_max") == (policy.kind == "min_max")


def test_the_command_classifies_and_names_a_bad_location(
    dc: Location, policy_skus: PolicySkus
) -> None:
    out = io.StringIO()
    call_command("policy_classify", "--location", "DC1", stdout=out)
    assert "classified at DC1" in out.getvalue() and "AX      1" in out.getvalue()
    assert "4 new, 0 updated; kept (set by a planner): 0" in out.getvalue()
    with pytest.raises(CommandError, match="unknown_city"):
        call_command("policy_classify", "--city", "nowhere", stdout=io.StringIO())
