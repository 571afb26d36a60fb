"""The loyalty pages: campaigns and a campaign's effect (marketing, planners, admins), the
members lookup (masked phone), and the counter's coupon endpoints (store staff): a redemption,
a refusal in words, an offline upload recorded once and a replay flagged for a person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Location
from loyalty.models import Campaign, Coupon, CouponStatus, DiscountEntry, Member
from loyalty.services import Segment, campaign_issue, coupon_code
from loyalty.tests.effect_data import seed_campaign_history
from network.models import Channel
from omni.models import Role, User
from tests.factories import ProductFactory, ReceiptFactory, UserFactory
from tests.helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(db: object) -> User:
    return UserFactory.create(username="marketer", role=Role.MARKETING)


def test_marketing_reads_the_campaigns_and_a_campaigns_effect(
    marketer: User,
    make_campaign: Callable[..., Campaign],
    web: Channel,
    pos: Channel,
    store: Location,
    store2: Location,
):
    tea = ProductFactory.create(sku="TEA-500", price=Decimal("12.50"))
    campaign = make_campaign(name="Spring tea", holdout_share=Decimal("0.1"))
    seed_campaign_history(
        campaign=campaign, stores=[store, store2], channels=[web, pos], product=tea, members=300
    )
    client = client_for(marketer)
    listing = client.get("/staff/loyalty/campaigns/").content.decode()
    assert "Spring tea" in listing and "10 % off" in listing

    page = client.get(f"/staff/loyalty/campaigns/{campaign.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-slice="campaign"' in text and text.count('data-slice="store"') == 2
    assert text.count('data-slice="channel"') == 2
    assert '<svg role="img"' in text

    chart = client.get(f"/staff/loyalty/campaigns/{campaign.pk}/chart.svg")
    assert chart["Content-Type"] == "image/svg+xml" and b"<svg" in chart.content
    csv = client.get(f"/staff/loyalty/campaigns/{campaign.pk}/effect.csv")
    assert csv["Content-Type"].startswith("text/csv")
    assert csv.content.decode().splitlines()[1].startswith("campaign,,")
    assert client.get(f"/staff/loyalty/campaigns/{campaign.pk + 99}/").status_code == 404

    with_chinese = client_for(marketer)
    with_chinese.cookies["django_language"] = "zh-hans"
    chinese = with_chinese.get(f"/staff/loyalty/campaigns/{campaign.pk}/").content.decode()
    assert "相对对照组的效果" in chinese


def test_store_staff_cannot_open_the_campaign_pages(store_user: User):
    page = client_for(store_user).get("/staff/loyalty/campaigns/")
    assert page.status_code == 403


def test_the_members_lookup_finds_by_full_phone_and_shows_only_the_last_four(
    marketer: User, make_member: Callable[..., Member], store: Location
):
    member = make_member(phone="13812345678", home_store=store)
    client = client_for(marketer)
    found = client.get("/staff/loyalty/members/", {"phone": "138 1234 5678"}).content.decode()
    assert member.number in found and "*******5678" in found
    assert "13812345678" not in found and "138 1234 5678" not in found
    unknown = client.get("/staff/loyalty/members/", {"phone": "13800000000"}).content.decode()
    assert "No member found" in unknown
    invalid = client.get("/staff/loyalty/members/", {"phone": "12ab"}).content.decode()
    assert "That is not a phone number" in invalid


def _issued(
    make_campaign: Callable[..., Campaign], make_member: Callable[..., Member], store: Location
) -> list[Coupon]:
    campaign = make_campaign()
    make_member(home_store=store)
    make_member(home_store=store)
    campaign_issue(campaign=campaign, segment=Segment())
    return list(Coupon.objects.filter(campaign=campaign).order_by("id"))


def test_the_counter_redeems_a_coupon_and_refuses_it_again_in_words(
    store_user: User,
    make_campaign: Callable[..., Campaign],
    make_member: Callable[..., Member],
    store: Location,
    pos: Channel,
):
    tea = ProductFactory.create(sku="TEA-500", price=Decimal("12.50"))
    ReceiptFactory.create(location=store, lines={tea: 5})
    coupon, _ = _issued(make_campaign, make_member, store)
    client = client_for(store_user)
    page = client.get("/staff/coupons/").content.decode()
    assert "data-public-key=" in page and 'id="coupon-campaigns"' in page

    sale = {"code": coupon_code(coupon), "items": "TEA-500 2", "sale_reference": "R-9"}
    first = client.post("/staff/coupons/redeem/", sale).json()
    assert first == {
        "ok": True,
        "outcome": "redeemed",
        "message": "Coupon redeemed: 2.50 off this sale.",
        "discount": "2.50",
    }
    entry = DiscountEntry.objects.get(coupon=coupon, kind="consume")
    assert entry.channel == pos and entry.sale_reference == "R-9"
    again = client.post("/staff/coupons/redeem/", sale)
    assert again.status_code == 409
    assert again.json()["code"] == "coupon_already_used"
    assert "This coupon was used already" in again.json()["message"]
    bad = client.post("/staff/coupons/redeem/", {**sale, "items": "TEA-500 two"})
    assert bad.status_code == 422 and "Item line 1 should read" in bad.json()["message"]


def test_an_offline_redemption_is_recorded_once_and_a_replay_is_flagged(
    store_user: User,
    make_campaign: Callable[..., Campaign],
    make_member: Callable[..., Member],
    store: Location,
):
    coupon, other = _issued(make_campaign, make_member, store)
    client = client_for(store_user)
    upload = {
        "client_id": "till-1",
        "code": coupon_code(coupon),
        "discount": "3.00",
        "accepted_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
        "sale_reference": "R-1",
    }
    assert client.post("/staff/coupons/sync/", upload).json()["outcome"] == "accepted"
    assert client.post("/staff/coupons/sync/", upload).json()["outcome"] == "accepted"
    assert DiscountEntry.objects.filter(coupon=coupon, kind="consume").count() == 1
    assert Coupon.objects.get(pk=coupon.pk).status == CouponStatus.REDEEMED

    replay = client.post("/staff/coupons/sync/", {**upload, "client_id": "till-2"}).json()
    assert replay["outcome"] == "discrepancy" and replay["code"] == "coupon_already_used"
    assert "a person must look at it" in replay["message"]
    page = client.get("/staff/coupons/").content.decode()
    assert 'data-code="coupon_already_used"' in page
    incomplete = client.post("/staff/coupons/sync/", {"client_id": "x", "code": "OC1"})
    assert incomplete.status_code == 422
    assert other.status == CouponStatus.ISSUED
