"""Coupons on orders and at the counter: the discount per line, held then consumed or released
exactly once, and every refusal with its own code; the ledger invariants after each story."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from inventory.invariants import assert_invariants as assert_stock_invariants
from inventory.models import Location, Product, StockMove
from loyalty import errors
from loyalty.invariants import assert_invariants
from loyalty.models import Campaign, Coupon, CouponStatus, DiscountEntry, EntryKind, Member
from loyalty.services import (
    SaleLine,
    campaign_print,
    coupon_code,
    coupon_redeem_at_counter,
    member_attach_to_order,
    member_card_code,
)
from network.models import Channel
from orders.errors import OrderInvalidState
from orders.models import Order, OrderStatus
from orders.services import (
    LineIn,
    order_cancel,
    order_line_set_quantity,
    order_pay,
    order_place,
    orders_expire_unpaid,
)
from tests.factories import NEAR_S01, ReceiptFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def stocked(dc: Location, store: Location, skus: tuple[Product, ...]) -> tuple[Product, ...]:
    ReceiptFactory.create(location=dc, lines={"A": 100, "B": 100, "C": 100})
    ReceiptFactory.create(location=store, lines={"A": 100, "B": 100, "C": 100})
    return skus


def place(channel: Channel, codes: list[str], lines: dict[Product, int], **kw: Any) -> Order:
    kw.setdefault("mode", "delivery")
    if kw["mode"] == "delivery":
        kw.setdefault("delivery", NEAR_S01)
    order, _ = order_place(
        channel=channel,
        external_id=kw.pop("external_id", f"x{Order.objects.count()}"),
        lines=[LineIn(product=p, quantity=q, unit_price=p.price) for p, q in lines.items()],
        coupon_codes=codes,
        **kw,
    )
    return order


def one_code(campaign: Campaign) -> str:
    (coupon,) = campaign_print(campaign=campaign, count=1)
    return coupon_code(coupon)


def test_percent_off_per_line_held_then_consumed_on_payment(
    web: Channel, stocked: tuple[Product, ...], make_campaign: Callable[..., Campaign]
) -> None:
    a, b, _ = stocked
    campaign = make_campaign(percent_off=D("15"), skus=["A"])
    order = place(web, [one_code(campaign)], {a: 3, b: 2})
    lines = {ln.product.sku: ln.discount for ln in order.lines.all()}
    assert lines == {"A": D("4.50"), "B": D("0")}
    campaign.refresh_from_db()
    assert campaign.granted == D("4.50")
    assert Coupon.objects.get().status == CouponStatus.HELD
    order_pay(order=order)
    assert Coupon.objects.get().status == CouponStatus.REDEEMED
    assert list(DiscountEntry.objects.values_list("kind", flat=True)) == ["grant", "consume"]
    assert_invariants()
    assert_stock_invariants()


def test_cancel_gives_the_coupon_back_once_and_it_can_be_used_again(
    web: Channel, stocked: tuple[Product, ...], make_campaign: Callable[..., Campaign]
) -> None:
    a, _, _ = stocked
    campaign = make_campaign(kind="amount_off", percent_off=None, amount_off=D("5"))
    code = one_code(campaign)
    order = place(web, [code], {a: 1})
    order_cancel(order=order)
    order_cancel(order=order)  # a retried cancel gives nothing back twice
    campaign.refresh_from_db()
    assert campaign.granted == 0
    assert Coupon.objects.get().status == CouponStatus.ISSUED
    assert sum(ln.discount for ln in order.lines.all()) == 0
    again = place(web, [code], {a: 2})
    assert sum(ln.discount for ln in again.lines.all()) == D("5")
    assert_invariants()
    assert_stock_invariants()


def test_expired_order_releases_its_coupon(
    web: Channel, stocked: tuple[Product, ...], make_campaign: Callable[..., Campaign]
) -> None:
    a, _, _ = stocked
    campaign = make_campaign()
    order = place(web, [one_code(campaign)], {a: 1})
    assert orders_expire_unpaid(now=timezone.now() + timedelta(days=1)) == 1
    assert Coupon.objects.get().status == CouponStatus.ISSUED
    assert DiscountEntry.objects.filter(kind=EntryKind.RELEASE).count() == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.EXPIRED
    assert_invariants()


def test_a_used_coupon_refuses_the_whole_order(
    web: Channel, stocked: tuple[Product, ...], make_campaign: Callable[..., Campaign]
) -> None:
    a, _, _ = stocked
    code = one_code(make_campaign())
    place(web, [code], {a: 1})
    with pytest.raises(errors.CouponAlreadyUsed):
        place(web, [code], {a: 1}, external_id="second")
    assert not Order.objects.filter(external_id="second").exists()
    assert_invariants()
    assert_stock_invariants()


def test_budget_caps_the_discount_then_runs_out(
    web: Channel, stocked: tuple[Product, ...], make_campaign: Callable[..., Campaign]
) -> None:
    a, _, _ = stocked
    campaign = make_campaign(percent_off=D("50"), budget=D("7"))
    first = place(web, [one_code(campaign)], {a: 1})  # 5 of 7
    second = place(web, [one_code(campaign)], {a: 1})  # capped at 2
    assert [sum(ln.discount for ln in o.lines.all()) for o in (first, second)] == [D(5), D(2)]
    with pytest.raises(errors.CampaignBudgetExhausted):
        place(web, [one_code(campaign)], {a: 1})
    assert_invariants()


def test_member_coupon_needs_its_member_and_the_limit_holds(
    web: Channel,
    stocked: tuple[Product, ...],
    make_campaign: Callable[..., Campaign],
    make_member: Callable[..., Member],
) -> None:
    a, _, _ = stocked
    campaign = make_campaign(per_member_limit=1)
    member = make_member()
    printed = [coupon_code(c) for c in campaign_print(campaign=campaign, count=2)]
    with pytest.raises(errors.CouponNotYours):
        mine = Coupon.objects.create(
            campaign=campaign, member=member, source="issued", expires_at=campaign.ends_at
        )
        Campaign.objects.filter(pk=campaign.pk).update(issued=3)
        place(web, [coupon_code(mine)], {a: 1}, member_id="M000")
    place(web, [printed[0]], {a: 1}, member_id=member.number)
    with pytest.raises(errors.MemberLimitReached):
        place(web, [printed[1]], {a: 1}, member_id=member.number)
    assert_invariants()


def test_not_applicable_reasons(
    web: Channel,
    pos: Channel,
    stocked: tuple[Product, ...],
    make_campaign: Callable[..., Campaign],
) -> None:
    a, b, _ = stocked
    only_pos = make_campaign(channels=["pos"])
    with pytest.raises(errors.CouponNotApplicable) as caught:
        place(web, [one_code(only_pos)], {a: 1})
    assert caught.value.detail["why"] == "channel"
    big = make_campaign(min_spend=D("100"))
    with pytest.raises(errors.CouponNotApplicable) as caught:
        place(web, [one_code(big)], {a: 1})
    assert caught.value.detail["why"] == "min_spend"
    only_c = make_campaign(skus=["C"])
    with pytest.raises(errors.CouponNotApplicable) as caught:
        place(web, [one_code(only_c)], {a: 1, b: 1})
    assert caught.value.detail["why"] == "no_eligible_lines"
    code = one_code(make_campaign())
    with pytest.raises(errors.CouponNotApplicable) as caught:
        place(web, [code, code], {a: 1})
    assert caught.value.detail["why"] == "twice"
    assert Order.objects.count() == 0
    assert_invariants()


def test_a_discounted_line_cannot_change(
    web: Channel, stocked: tuple[Product, ...], make_campaign: Callable[..., Campaign]
) -> None:
    a, _, _ = stocked
    order = place(web, [one_code(make_campaign())], {a: 2})
    with pytest.raises(OrderInvalidState):
        order_line_set_quantity(order=order, product=a, quantity=1)


def test_counter_redemption_once_and_store_sale_order(
    pos: Channel,
    store: Location,
    store2: Location,
    stocked: tuple[Product, ...],
    make_campaign: Callable[..., Campaign],
) -> None:
    campaign = make_campaign(kind="free_item", percent_off=None, free_sku="B", stores=["S01"])
    code = one_code(campaign)
    with pytest.raises(errors.CouponWrongStore):
        coupon_redeem_at_counter(code=code, store=store2, lines=[SaleLine("B", 1, D("4"))])
    done = coupon_redeem_at_counter(
        code=code, store=store, lines=[SaleLine("A", 1, D("10")), SaleLine("B", 2, D("4"))]
    )
    assert done.amount == D("4") and done.lines == {"B": D("4")}
    with pytest.raises(errors.CouponAlreadyUsed):
        coupon_redeem_at_counter(code=code, store=store, lines=[SaleLine("B", 1, D("4"))])
    a, b, _ = stocked
    sale = place(pos, [one_code(campaign)], {a: 1, b: 1}, mode="store_sale", store=store)
    assert sale.status == OrderStatus.COMPLETED
    # The ledger books what was paid: B free, A at its price.
    paid = {m.product.sku: m.revenue for m in StockMove.objects.filter(reference=sale.reference)}
    assert paid == {"A": a.price, "B": D("0")}
    assert Coupon.objects.filter(status=CouponStatus.REDEEMED).count() == 2
    assert_invariants()
    assert_stock_invariants()


def test_member_card_attaches_to_a_pickup(
    web: Channel,
    store: Location,
    stocked: tuple[Product, ...],
    make_member: Callable[..., Member],
) -> None:
    a, _, _ = stocked
    member = make_member()
    order = place(web, [], {a: 1}, mode="pickup", store=store)
    order = member_attach_to_order(order=order, card_code=member_card_code(member))
    assert order.member_id == member.number
