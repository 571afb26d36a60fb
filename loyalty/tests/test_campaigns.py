"""Campaigns: the holdout draw is reproducible and near its share, issuing to a segment gives
each treated member one coupon within the cap and never twice, claims respect the holdout and
the per-member limit; the pure discount rule spreads cents exactly."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from inventory.models import Location
from loyalty import errors, rules
from loyalty.invariants import assert_invariants
from loyalty.models import AssignmentGroup, Campaign, CampaignAssignment, Coupon, Member
from loyalty.services import (
    Segment,
    campaign_claim,
    campaign_issue,
    campaign_print,
    campaign_update,
    holdout_draw,
)
from network.models import Channel

D = Decimal


def test_the_draw_is_uniform_and_reproducible() -> None:
    draws = [holdout_draw(42, m) for m in range(20_000)]
    assert draws == [holdout_draw(42, m) for m in range(20_000)]
    share = sum(d < 0.1 for d in draws) / len(draws)
    assert 0.09 < share < 0.11
    assert draws != [holdout_draw(43, m) for m in range(20_000)]


@pytest.mark.django_db
def test_issue_to_a_segment_once_within_the_cap(
    store: Location,
    store2: Location,
    make_campaign: Callable[..., Campaign],
    make_member: Callable[..., Member],
) -> None:
    members = [make_member(home_store=store) for _ in range(40)] + [
        make_member(home_store=store2) for _ in range(5)
    ]
    campaign = make_campaign(holdout_share=D("0.25"), issue_cap=25, holdout_seed=7)
    report = campaign_issue(campaign=campaign, segment=Segment(home_stores=[store.pk]))
    assert report.members == 40 and report.treated + report.holdout == 40
    expected_holdout = sum(holdout_draw(7, m.pk) < 0.25 for m in members[:40])
    assert report.holdout == expected_holdout
    assert report.issued == min(25, report.treated)
    assert report.over_cap == report.treated - report.issued
    again = campaign_issue(campaign=campaign, segment=Segment(home_stores=[store.pk]))
    assert again.issued == 0
    held_out = CampaignAssignment.objects.filter(group=AssignmentGroup.HOLDOUT)
    assert not Coupon.objects.filter(member__in=held_out.values("member")).exists()
    assert_invariants()


@pytest.mark.django_db
def test_claims_respect_holdout_and_limit(
    web: Channel, make_campaign: Callable[..., Campaign], make_member: Callable[..., Member]
) -> None:
    campaign = make_campaign(holdout_share=D("0.5"), per_member_limit=2, holdout_seed=1)
    members = [make_member() for _ in range(10)]
    outcomes = []
    for member in members:
        try:
            campaign_claim(campaign=campaign, member=member, channel=web)
            outcomes.append("claimed")
        except errors.CampaignNotOffered:
            outcomes.append("holdout")
    assert outcomes.count("holdout") == sum(holdout_draw(1, m.pk) < 0.5 for m in members)
    treated = members[outcomes.index("claimed")]
    campaign_claim(campaign=campaign, member=treated, channel=web)
    with pytest.raises(errors.MemberLimitReached):
        campaign_claim(campaign=campaign, member=treated, channel=web)
    with pytest.raises(errors.CampaignIssueCapReached):
        capped = make_campaign(issue_cap=1)
        campaign_print(campaign=capped, count=2)
    with pytest.raises(errors.CampaignInvalid) as caught:
        campaign_update(campaign=campaign, changes={"budget": D("-1")})
    assert caught.value.detail["field"] == "budget"
    assert_invariants()


def L(key: int, sku: str, qty: int, price: str) -> rules.Line:
    return rules.Line(key, sku, qty, D(price))


def test_amount_off_spreads_cents_exactly_and_the_cap_trims() -> None:
    rule = rules.Rule(kind="amount_off", amount_off=D("10"))
    lines = [L(1, "A", 1, "3.33"), L(2, "B", 1, "3.33"), L(3, "C", 1, "3.34")]
    got = rules.discount(rule, lines)
    assert sum(got.values()) == D("10.00") and all(
        got[k] <= ln.left for k, ln in zip(got, lines, strict=True)
    )
    small = rules.discount(rule, [L(1, "A", 1, "4.00")])
    assert small == {1: D("4.00")}  # never more than the line
    capped = rules.discount(rules.Rule(kind="percent_off", percent_off=D("50")), lines, cap=D("2"))
    assert sum(capped.values()) == D("2")
    with pytest.raises(rules.NotApplicable):
        rules.discount(rules.Rule(kind="percent_off", percent_off=D("5"), categories=("Z",)), lines)
    assert rules.Rule(kind="amount_off", categories=("FOODS_3",)).covers("FOODS_3_090")
