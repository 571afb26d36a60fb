"""The per-member outcomes of a campaign, read from real orders placed through the services:
what counts (paid or handed over, inside the window, after the line's discount) and what does
not (unpaid, cancelled, outside the window, not a member of the draw)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone

from inventory.models import Location, Product
from loyalty.effect_selectors import (
    CSV_COLUMNS,
    campaign_effect_report,
    campaign_figures,
    campaign_member_outcomes,
    effect_csv,
)
from loyalty.models import (
    AssignmentGroup,
    Coupon,
    CouponSource,
    CouponStatus,
    DiscountEntry,
    EntryKind,
)
from loyalty.tests.effect_data import assign, make_campaign, make_member
from network.models import Channel
from orders.models import Order, OrderLine, OrderMode
from orders.services import order_cancel
from tests.factories import OrderFactory, ReceiptFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(
    store: Location, store2: Location, skus: tuple[Product, Product, Product]
) -> tuple[Product, Product]:
    a, b, _ = skus
    ReceiptFactory.create(location=store, lines={a: 50, b: 50})
    ReceiptFactory.create(location=store2, lines={a: 50, b: 50})
    return a, b


def test_outcomes_count_paid_orders_of_the_window_after_discount(
    web: Channel, pos: Channel, store: Location, store2: Location, stocked: tuple[Product, Product]
):
    a, b = stocked
    campaign = make_campaign()
    m1 = make_member("M0000001", store)
    m2 = make_member("M0000002", store2)
    m3 = make_member("M0000003", store)
    m4 = make_member("M0000004", None)
    outsider = make_member("M0000005", store)
    for member, group in ((m1, "treated"), (m2, "treated"), (m3, "holdout"), (m4, "holdout")):
        assign(campaign, member, group)

    online = OrderFactory.create(channel=web, lines={a: 2}, paid=True, member_id=m1.number)
    OrderLine.objects.filter(order=online).update(discount=Decimal("2.00"))
    OrderFactory.create(
        channel=pos, mode=OrderMode.STORE_SALE, store=store, lines={b: 1}, member_id=m1.number
    )
    OrderFactory.create(channel=web, lines={a: 5}, member_id=m2.number)  # never paid
    cancelled = OrderFactory.create(channel=web, lines={a: 1}, paid=True, member_id=m3.number)
    order_cancel(order=cancelled)
    OrderFactory.create(
        channel=pos, mode=OrderMode.STORE_SALE, store=store2, lines={b: 3}, member_id=m3.number
    )
    before = OrderFactory.create(channel=web, lines={b: 4}, paid=True, member_id=m4.number)
    Order.objects.filter(pk=before.pk).update(created_at=campaign.starts_at - timedelta(hours=1))
    OrderFactory.create(channel=web, lines={a: 9}, paid=True, member_id=outsider.number)
    OrderFactory.create(channel=web, lines={a: 9}, paid=True)  # no member at all

    coupon = Coupon.objects.create(
        campaign=campaign,
        member=m1,
        source=CouponSource.ISSUED,
        status=CouponStatus.REDEEMED,
        expires_at=campaign.ends_at,
        order=online,
        redeemed_at=timezone.now(),
    )
    DiscountEntry.objects.create(
        campaign=campaign,
        coupon=coupon,
        member=m1,
        kind=EntryKind.CONSUME,
        amount=Decimal("2.00"),
        order=online,
        channel=web,
    )

    outcomes = campaign_member_outcomes(campaign)

    # Members in id order: m1, m2 treated; m3, m4 held out.
    assert outcomes.treated.tolist() == [True, True, False, False]
    assert outcomes.revenue.tolist() == [22.0, 0.0, 12.0, 0.0]  # 2×10−2 + 4; 3×4
    assert outcomes.units.tolist() == [3.0, 0.0, 3.0, 0.0]
    assert outcomes.redeemed.tolist() == [True, False, False, False]
    assert list(outcomes.home_store) == [store.code, store2.code, store.code, ""]
    assert sorted(outcomes.channel_revenue) == ["pos", "web"]
    assert outcomes.channel_revenue["web"].tolist() == [18.0, 0.0, 0.0, 0.0]
    assert outcomes.channel_revenue["pos"].tolist() == [4.0, 0.0, 12.0, 0.0]
    assert outcomes.channel_redeemed["web"].tolist() == [True, False, False, False]
    assert not outcomes.channel_redeemed["pos"].any()

    report = campaign_effect_report(campaign)
    assert report.overall.treated.revenue == 22.0
    assert report.overall.holdout.revenue == 12.0
    assert report.overall.revenue_uplift.estimate == pytest.approx(11.0 - 6.0)
    assert report.overall.treated.redemption_rate == 0.5
    assert [e.label for e in report.by_store] == ["", store.code, store2.code]
    assert [e.label for e in report.by_channel] == ["pos", "web"]

    figures = campaign_figures(campaign)
    assert (figures.issued, figures.redeemed, figures.treated, figures.holdout) == (1, 1, 2, 2)
    assert figures.consumed == Decimal("2.00")

    lines = effect_csv(report).splitlines()
    assert lines[0].split(",") == CSV_COLUMNS
    assert lines[1].startswith("campaign,,2,2,0.5000,0.0000,11.0000,6.0000,5.0000,")
    assert len(lines) == 1 + 1 + 3 + 2


def test_the_outcomes_take_a_fixed_number_of_queries(
    web: Channel, store: Location, stocked: tuple[Product, Product], django_assert_num_queries
):
    a, _ = stocked
    campaign = make_campaign()
    for i in range(30):
        member = make_member(f"M{i:07d}", store)
        assign(campaign, member, AssignmentGroup.TREATED if i % 3 else AssignmentGroup.HOLDOUT)
        if i % 4 == 0:
            OrderFactory.create(channel=web, lines={a: 1}, paid=True, member_id=member.number)
    with django_assert_num_queries(3):
        outcomes = campaign_member_outcomes(campaign)
    assert outcomes.revenue.sum() == 8 * 10.0
    assert np.count_nonzero(outcomes.revenue) == 8


def test_a_campaign_with_no_members_has_an_empty_report(db: object):
    report = campaign_effect_report(make_campaign())
    assert report.overall.treated.members == report.overall.holdout.members == 0
    assert not report.overall.revenue_uplift.known
    assert report.by_store == [] and report.by_channel == []
