"""Loyalty in a real browser (Debian's chromium through Playwright) on PostgreSQL: a campaign's
page with a few thousand members — the effect table treated vs holdout, its chart and its CSV —
and the counter's coupon page: a coupon redeemed, a replay refused, a forged code refused by the
browser alone, and a coupon accepted with the network cut, then uploaded on reconnect. Saved at
412 px and 1366 px to ``test-artifacts/screenshots/``. The folder's conftest checks the ledger
invariants after each test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page

from inventory.models import Location
from loyalty.effect_selectors import campaign_effect_report
from loyalty.models import Campaign, CampaignStatus, Coupon, CouponStatus, DiscountEntry
from loyalty.services import (
    CampaignRule,
    Segment,
    campaign_create,
    campaign_issue,
    coupon_code,
    member_create,
)
from loyalty.tests.effect_data import make_campaign, seed_campaign_history
from network.models import Channel
from omni.models import City, Role
from tests.factories import ProductFactory, ReceiptFactory, StoreUserFactory, UserFactory

from .test_browser import Shots, browser, log_in, playwright  # noqa: F401
from .test_browser_counter import DESKTOP, HANDHELD, NO_SIDEWAYS_SCROLL

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def context(browser: Browser) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(viewport=HANDHELD, locale="en-US")  # type: ignore[arg-type]
    context.set_default_timeout(30_000)  # a shared, busy machine: the live server is slow
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Page:
    return context.new_page()


@pytest.fixture
def shot(page: Page, request: pytest.FixtureRequest) -> Shots:
    return Shots(page, request.node.name.removeprefix("test_"))


def fits(page: Page, shot: Shots, step: str) -> None:
    assert page.evaluate(NO_SIDEWAYS_SCROLL), f"{step}: the page scrolls sideways at 412 px"
    shot(f"{step}-412")
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    shot(f"{step}-1366")
    page.set_viewport_size(HANDHELD)  # type: ignore[arg-type]


def test_campaign_page_shows_the_effect_of_a_campaign_with_thousands_of_members(
    live_server: Any,
    page: Page,
    shot: Shots,
    web: Channel,
    pos: Channel,
    store: Location,
    store2: Location,
) -> None:
    tea = ProductFactory.create(sku="TEA-500", price=Decimal("12.50"))
    campaign = make_campaign("spring-tea")
    seed_campaign_history(
        campaign=campaign,
        stores=[store, store2],
        channels=[web, pos],
        product=tea,
        members=3000,
        lift=0.2,
    )
    report = campaign_effect_report(campaign)
    overall = report.overall
    assert overall.treated.members + overall.holdout.members == 3000
    assert overall.revenue_uplift.excludes_zero  # a 20-point lift on 3,000 members shows
    marketer = UserFactory.create(username="marketer", role=Role.MARKETING)
    base = live_server.url

    log_in(page, base, marketer, shot)
    page.click("nav >> text=Campaigns")
    page.wait_for_selector("#campaigns")
    assert "Spring-Tea" in page.inner_text("#campaigns")
    fits(page, shot, "campaigns")

    page.click("#campaigns a")
    page.wait_for_selector("#effect")
    whole = page.locator('#effect tr[data-slice="campaign"]')
    assert whole.get_attribute("data-verdict") == "up"
    revenue = whole.locator('[data-figure="revenue-uplift"]').inner_text()
    uplift = overall.revenue_uplift
    assert revenue == f"{uplift.estimate:.2f} [{uplift.low:.2f}, {uplift.high:.2f}]"
    assert page.locator('#effect tr[data-slice="store"]').count() == 2
    assert page.locator('#effect tr[data-slice="channel"]').count() == 2
    assert page.locator("figure.chart svg[role=img]").count() == 1
    assert page.inner_text('[data-figure="treated"]') == str(overall.treated.members)
    fits(page, shot, "campaign")

    with page.expect_download() as download:
        page.click("#effect-csv")
    path = download.value.path()
    rows = Path(path).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("slice,label,treated_members,holdout_members")
    assert len(rows) == 1 + 1 + 2 + 2


def _coupon_campaign(city: City, store: Location) -> tuple[Campaign, list[Coupon]]:
    now = timezone.now()
    campaign = campaign_create(
        rule=CampaignRule(
            code="counter-10",
            name="10% at the counter",
            kind="percent_off",
            percent_off=Decimal("10"),
            starts_at=now - timedelta(minutes=5),
            ends_at=now + timedelta(days=7),
            budget=Decimal("1000.00"),
            holdout_share=Decimal("0"),
            status=CampaignStatus.ACTIVE,
        )
    )
    for i in range(3):
        member_create(phone=f"1380013{i:04d}", home_store=store)
    campaign_issue(campaign=campaign, segment=Segment())
    return campaign, list(Coupon.objects.filter(campaign=campaign).order_by("id"))


def _redeem(page: Page, code: str, items: str, receipt: str) -> tuple[str, str]:
    page.fill("input[name=code]", code)
    page.fill("textarea[name=items]", items)
    page.fill("input[name=sale_reference]", receipt)
    page.click("#coupon-form button[type=submit]")
    page.wait_for_function(
        "() => !['', 'checking'].includes("
        "document.querySelector('[data-coupon-result]').dataset.outcome || '')"
    )
    result = page.locator("[data-coupon-result]")
    return result.get_attribute("data-outcome") or "", result.inner_text()


def test_counter_redeems_refuses_a_replay_and_accepts_offline_then_syncs(
    live_server: Any,
    context: Any,
    page: Page,
    shot: Shots,
    pos: Channel,
    city: City,
    store: Location,
) -> None:
    tea = ProductFactory.create(sku="TEA-500", price=Decimal("12.50"))
    ReceiptFactory.create(location=store, lines={tea: 20})
    campaign, coupons = _coupon_campaign(city, store)
    first, second, third = (coupon_code(c) for c in coupons)
    clerk = StoreUserFactory.create(username="clerk", locations=[store])
    base = live_server.url

    log_in(page, base, clerk, shot)
    page.goto(f"{base}/staff/coupons/")
    page.wait_for_selector("#coupon-form")
    fits(page, shot, "coupon-page")

    # Online: checked in the browser, then redeemed by the server.
    outcome, text = _redeem(page, first, "TEA-500 2 12.50", "R-1")
    assert outcome == "redeemed", text
    assert "2.50 off" in text
    fits(page, shot, "redeemed")
    assert Coupon.objects.get(pk=coupons[0].pk).status == CouponStatus.REDEEMED

    # The same coupon again: this till remembers it and refuses it before asking anyone.
    outcome, text = _redeem(page, first, "TEA-500 1 12.50", "R-2")
    assert outcome == "refused" and "already used at this till" in text
    # Another till (a fresh browser memory) asks the server, which refuses it too.
    page.evaluate("() => window.localStorage.clear()")
    page.reload()
    outcome, text = _redeem(page, first, "TEA-500 1 12.50", "R-2")
    assert outcome == "refused"
    assert page.get_attribute("[data-coupon-result]", "data-code") == "coupon_already_used"
    fits(page, shot, "replay-refused")

    # A forged code (one character of the signature changed) is refused by the browser alone.
    forged = second[:-5] + ("A" if second[-5] != "A" else "B") + second[-4:]
    outcome, text = _redeem(page, forged, "TEA-500 1 12.50", "R-3")
    assert outcome == "refused"
    assert page.get_attribute("[data-coupon-result]", "data-code") in ("forged", "not_canonical")

    # The network is cut: the page checks the signature, accepts within the allowance, queues.
    context.set_offline(True)
    outcome, text = _redeem(page, second, "TEA-500 4 12.50", "R-4")
    assert outcome == "accepted_offline", text
    assert "5.00 off" in text
    assert page.get_attribute("[data-coupon-queue]", "data-count") == "1"
    fits(page, shot, "accepted-offline")
    assert Coupon.objects.get(pk=coupons[1].pk).status == CouponStatus.ISSUED

    # Back online: the queue is uploaded, the coupon recorded as redeemed offline.
    context.set_offline(False)
    page.wait_for_function(
        "() => document.querySelector('[data-coupon-queue]').dataset.count === '0'"
    )
    entry = DiscountEntry.objects.get(coupon=coupons[1], kind="consume")
    assert entry.offline and entry.amount == Decimal("5.00") and entry.sale_reference == "R-4"
    assert Coupon.objects.get(pk=coupons[1].pk).status == CouponStatus.REDEEMED
    fits(page, shot, "synced")
    assert third  # the third member's coupon stays unused
    campaign.refresh_from_db()
    assert campaign.granted == Decimal("7.50")
