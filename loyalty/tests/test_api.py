"""The loyalty API: bad campaigns refused naming the field with nothing written, the roles,
members found by the full phone and shown masked, a claim, the counter's verify and redeem,
an offline upload and its discrepancy, and orders taking coupon codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from inventory.models import Location, Product
from loyalty.models import Campaign, Coupon, CouponStatus, Member, RedemptionDiscrepancy
from loyalty.services import campaign_print, coupon_code, member_card_code
from network.models import Channel
from omni.models import Role, User
from tests.factories import NEAR_S01, ReceiptFactory, UserFactory
from tests.helpers import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketing(db: object) -> User:
    return UserFactory.create(username="mkt", role=Role.MARKETING)


def campaign_body(**fields: Any) -> dict[str, Any]:
    now = timezone.now()
    body = {
        "code": "spring",
        "name": "Spring",
        "kind": "percent_off",
        "percent_off": 10,
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
        "budget": 1000,
        "holdout_share": 0.1,
        "status": "active",
    }
    body.update(fields)
    return body


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"percent_off": 120}, "percent_off"),
        ({"percent_off": 0}, "percent_off"),
        ({"ends_at": (timezone.now() - timedelta(days=2)).isoformat()}, "ends_at"),
        ({"budget": -1}, "budget"),
        ({"skus": ["A", "NOPE"]}, "skus"),
        ({"kind": "free_item", "free_sku": "NOPE"}, "free_sku"),
        ({"kind": "amount_off"}, "amount_off"),
        ({"holdout_share": 0.9}, "holdout_share"),
        ({"per_member_limit": 0}, "per_member_limit"),
        ({"stores": ["NOWHERE"]}, "stores"),
        ({"channels": ["nochannel"]}, "channels"),
        ({"categories": ["ZZZ"]}, "categories"),
    ],
)
def test_bad_campaigns_are_refused_naming_the_field_and_nothing_is_written(
    marketing: User, skus: tuple[Product, ...], fields: dict[str, Any], field: str
) -> None:
    response = ApiClient(marketing).post("/api/v1/loyalty/campaigns", campaign_body(**fields))
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "campaign_invalid"
    assert body["detail"]["field"] == field
    assert not Campaign.objects.exists()


def test_only_marketing_planners_and_admins_create_campaigns(
    marketing: User, store_user: User, planner: User, skus: tuple[Product, ...]
) -> None:
    assert (
        ApiClient(store_user).post("/api/v1/loyalty/campaigns", campaign_body()).status_code == 403
    )
    made = ApiClient(marketing).post("/api/v1/loyalty/campaigns", campaign_body(skus=["A"]))
    assert made.status_code == 201, made.content
    assert made.json()["skus"] == ["A"] and made.json()["holdout_seed"] >= 0
    assert len(ApiClient(planner).get("/api/v1/loyalty/campaigns").json()["results"]) == 1


def test_members_found_by_full_phone_shown_masked(
    marketing: User, store_user: User, store: Location
) -> None:
    made = ApiClient(store_user).post(
        "/api/v1/loyalty/members", {"phone": "138-0013-8000", "joined_store": "S01"}
    )
    assert made.status_code == 201, made.content
    member = made.json()
    assert member["phone"] == "*******8000" and "13800138000" not in json.dumps(member)
    assert member["home_store"] == "S01"
    found = ApiClient(store_user).get("/api/v1/loyalty/members", phone="13800138000").json()
    assert [m["number"] for m in found["results"]] == [member["number"]]
    assert not ApiClient(store_user).get("/api/v1/loyalty/members").json()["results"]
    assert len(ApiClient(marketing).get("/api/v1/loyalty/members").json()["results"]) == 1
    again = ApiClient(marketing).post("/api/v1/loyalty/members", {"phone": "13800138000"})
    assert again.status_code == 409 and again.json()["code"] == "member_phone_taken"
    bad = ApiClient(marketing).post("/api/v1/loyalty/members", {"phone": "12ab"})
    assert bad.json()["code"] == "member_phone_invalid"
    assert "138001" not in str(list(Member.objects.values()))


def test_claim_verify_redeem_at_the_counter_and_offline(
    marketing: User,
    store_user: User,
    store: Location,
    web: Channel,
    skus: tuple[Product, ...],
    make_campaign: Callable[..., Campaign],
    make_member: Callable[..., Member],
) -> None:
    campaign = make_campaign()
    member = make_member()
    claimed = ApiClient(marketing).post(
        f"/api/v1/loyalty/campaigns/{campaign.code}/claim",
        {"member": member.number, "channel": "web"},
    )
    assert claimed.status_code == 201, claimed.content
    code = claimed.json()["code"]
    clerk = ApiClient(store_user)
    lines = [{"sku": "A", "quantity": 2, "unit_price": 10}]
    checked = clerk.post(
        "/api/v1/loyalty/coupons/verify", {"code": code, "store": "S01", "lines": lines}
    )
    assert checked.status_code == 200, checked.content
    assert checked.json()["discount"] == "2.00"
    assert (
        clerk.post("/api/v1/loyalty/coupons/verify", {"code": code.lower(), "store": "S01"}).json()[
            "code"
        ]
        == "coupon_code_not_canonical"
    )
    body = {"code": code, "store": "S01", "lines": lines, "card_code": member_card_code(member)}
    done = clerk.post("/api/v1/loyalty/coupons/redeem", body, key="r1")
    assert done.status_code == 200, done.content
    assert done.json()["discount"] == "2.00"
    replay = clerk.post("/api/v1/loyalty/coupons/redeem", body, key="r2")
    assert replay.status_code == 409 and replay.json()["code"] == "coupon_already_used"
    # The same coupon had been accepted offline at the till: flagged for a person.
    upload = clerk.post(
        "/api/v1/loyalty/coupons/offline",
        {
            "store": "S01",
            "redemptions": [
                {
                    "client_id": "t1",
                    "code": code,
                    "amount": 2,
                    "accepted_at": timezone.now().isoformat(),
                },
                {
                    "client_id": "t2",
                    "code": "OC1AAAA",
                    "amount": 1,
                    "accepted_at": timezone.now().isoformat(),
                },
            ],
        },
    )
    assert upload.status_code == 200, upload.content
    assert [(r["result"], r["reason"]) for r in upload.json()] == [
        ("discrepancy", "coupon_already_used"),
        ("discrepancy", "coupon_code_malformed"),
    ]
    cases = ApiClient(marketing).get("/api/v1/loyalty/discrepancies").json()
    assert len(cases["results"]) == 2
    first = cases["results"][-1]["id"]
    resolved = ApiClient(marketing).post(
        f"/api/v1/loyalty/discrepancies/{first}/resolve", {"note": "refunded"}
    )
    assert resolved.json()["status"] == "resolved"
    assert RedemptionDiscrepancy.objects.filter(status="open").count() == 1
    key = ApiClient(None).get("/api/v1/loyalty/public-key")
    assert key.status_code in (200, 401)


def test_orders_take_coupon_codes(
    web: Channel, dc: Location, skus: tuple[Product, ...], make_campaign: Callable[..., Campaign]
) -> None:
    ReceiptFactory.create(location=dc, lines={"A": 10})
    campaign = make_campaign()
    (coupon,) = campaign_print(campaign=campaign, count=1)
    channel = ApiClient(web.user)
    body = {
        "external_id": "w1",
        "mode": "delivery",
        "delivery": {"latitude": NEAR_S01.latitude, "longitude": NEAR_S01.longitude},
        "lines": [{"sku": "A", "quantity": 2, "unit_price": 10}],
        "coupon_codes": [coupon_code(coupon)],
    }
    placed = channel.post("/api/v1/orders", body)
    assert placed.status_code == 201, placed.content
    assert placed.json()["lines"][0]["discount"] == 2.0
    assert Coupon.objects.get().status == CouponStatus.HELD
    body["external_id"] = "w2"
    refused = channel.post("/api/v1/orders", body)
    assert refused.status_code == 409 and refused.json()["code"] == "coupon_already_used"
