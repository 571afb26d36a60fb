"""The campaign effect endpoints: JSON and CSV, who may read them, an unknown campaign."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inventory.models import Location, Product
from loyalty.effect_selectors import CSV_COLUMNS
from loyalty.tests.effect_data import assign, make_campaign, make_member
from network.models import Channel
from omni.models import Role, User
from tests.factories import OrderFactory, ReceiptFactory, UserFactory
from tests.helpers import ApiClient

pytestmark = pytest.mark.django_db


def test_the_effect_as_json_and_csv(
    api: Callable[[User | None], ApiClient],
    web: Channel,
    store: Location,
    skus: tuple[Product, Product, Product],
):
    a, _, _ = skus
    ReceiptFactory.create(location=store, lines={a: 20})
    campaign = make_campaign()
    for i in range(6):
        member = make_member(f"M{i:07d}", store)
        assign(campaign, member, "holdout" if i < 2 else "treated")
        OrderFactory.create(channel=web, lines={a: 1 + i % 2}, paid=True, member_id=member.number)
    marketer = UserFactory.create(role=Role.MARKETING)

    answer = api(marketer).get(f"/api/v1/loyalty/campaigns/{campaign.code}/effect")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    overall = body["overall"]
    assert (overall["treated"]["members"], overall["holdout"]["members"]) == (4, 2)
    assert overall["treated"]["revenue"] == 60.0  # members 2..5 bought 1, 2, 1, 2 at 10
    assert overall["holdout"]["revenue"] == 30.0
    assert overall["revenue_uplift"]["estimate"] == pytest.approx(15.0 - 15.0)
    assert overall["revenue_uplift"]["low"] < 0 < overall["revenue_uplift"]["high"]
    assert [s["label"] for s in body["by_store"]] == [store.code]
    assert [s["label"] for s in body["by_channel"]] == ["web"]

    csv = api(marketer).get(f"/api/v1/loyalty/campaigns/{campaign.code}/effect.csv")
    assert csv.status_code == 200
    assert csv["Content-Type"].startswith("text/csv")
    assert csv["Content-Disposition"] == 'attachment; filename="effect-spring.csv"'
    rows = csv.content.decode().splitlines()
    assert rows[0].split(",") == CSV_COLUMNS
    assert [r.split(",")[0] for r in rows[1:]] == ["campaign", "store", "channel"]


def test_store_staff_are_refused_and_an_unknown_campaign_is_404(
    api: Callable[[User | None], ApiClient], store_user: User, planner: User
):
    campaign = make_campaign()
    refused = api(store_user).get(f"/api/v1/loyalty/campaigns/{campaign.code}/effect")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert api(planner).get(f"/api/v1/loyalty/campaigns/{campaign.code}/effect").status_code == 200
    missing = api(planner).get("/api/v1/loyalty/campaigns/nope/effect.csv")
    assert missing.status_code == 404
    assert set(missing.json()) == {"code", "message", "detail"}
