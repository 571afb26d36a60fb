"""The reorder policy page in a real browser (Debian's chromium, headless, driven by Playwright)
against the app served by ``live_server`` on PostgreSQL: a planner opens a DC's policies (a few
hundred SKUs, classified), filters a class from the grid, sets a policy by hand (a refused one
first, corrected in the form that kept it), reverts it, at a desktop's width and a handheld's,
in English and in Chinese. Screenshots go to
``test-artifacts/screenshots/policies-<nn>-<step>.png``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import ViewportSize, expect

from inventory.models import Location
from omni.models import User
from purchasing.models import ReorderPolicy, SupplierItem
from purchasing.services import reorder_policies_classify
from purchasing.tests.fixtures import PolicySkus
from tests.factories import PlannerFactory, ProductFactory

# The browser and the screenshots are those of the staff pages' browser test.
from .test_browser import Shots, browser, log_in, open_page, playwright  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP: ViewportSize = {"width": 1366, "height": 768}
HANDHELD: ViewportSize = {"width": 412, "height": 915}
PAGE_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
EXTRA = 300


@pytest.fixture
def classified(dc: Location, policy_skus: PolicySkus) -> PolicySkus:
    """The four SKUs of known classes and 300 more the DC buys, never sold (CZ)."""
    SupplierItem.objects.bulk_create(
        SupplierItem(
            supplier=policy_skus.supplier,
            product=ProductFactory.create(sku=f"XT-{n:04d}"),
            cost=Decimal("1"),
            lead_time_days=7,
        )
        for n in range(EXTRA)
    )
    reorder_policies_classify(location=dc)
    return policy_skus


def test_a_planner_overrides_and_reverts_a_policy(
    live_server: Any,
    open_page: Any,  # noqa: F811
    classified: PolicySkus,
) -> None:
    planner: User = PlannerFactory.create(username="mei")
    base = live_server.url
    desk = open_page(DESKTOP)
    shot = Shots(desk, "policies")
    log_in(desk, base, planner, shot)
    desk.click("nav >> text=Reorder policies")
    # Waited for: the click returns once the page starts loading, before all 50 rows are parsed.
    expect(desk.locator("#policies tbody tr")).to_have_count(50)
    assert "Page 1 of 7" in desk.inner_text("main")
    shot("list")
    desk.click("#class-grid td[data-cell=BY] a")
    rows = desk.locator("#policies tbody tr")
    expect(rows).to_have_count(1)
    assert "CL-MID" in rows.first.inner_text()
    shot("by")

    row = desk.locator("tr[data-sku=CL-MID]")
    row.locator("details.edit summary").click()
    row.locator("select[name=kind]").select_option("min_max")
    row.locator("input[name=min_quantity]").fill("30")
    row.locator("input[name=max_quantity]").fill("5")
    row.locator("button.primary").click()
    refused = desk.locator("tr[data-sku=CL-MID] .notice.error")
    refused.wait_for()
    assert refused.get_attribute("data-code") == "reorder_policy_invalid"
    shot("refused")
    row = desk.locator("tr[data-sku=CL-MID]")
    assert row.locator("input[name=min_quantity]").input_value() == "30"  # kept to correct
    row.locator("input[name=max_quantity]").fill("80")
    row.locator("button.primary").click()
    desk.locator("tr[data-sku=CL-MID] .notice.ok").wait_for()
    assert "Set by mei" in desk.inner_text("tr[data-sku=CL-MID]")
    policy = ReorderPolicy.objects.get(product=classified.mid)
    assert (policy.kind, policy.min_quantity, policy.max_quantity) == ("min_max", 30, 80)
    shot("overridden")

    desk.click("tr[data-sku=CL-MID] >> text=Revert to the BY suggestion")
    desk.locator("tr[data-sku=CL-MID]", has_text="Suggested for class BY").wait_for()
    assert "Back to the suggestion" in desk.inner_text("tr[data-sku=CL-MID] .notice.ok")
    policy.refresh_from_db()
    assert not policy.overridden and policy.service_level == Decimal("0.93")
    shot("reverted")

    hand = open_page(HANDHELD, handheld=True)
    shot = Shots(hand, "policies-handheld")
    log_in(hand, base, planner, shot)
    hand.goto(f"{base}/staff/purchasing/policies/")
    hand.locator("tr[data-sku=CL-HIGH] details.edit summary").click()
    assert int(hand.evaluate(PAGE_OVERFLOW)) <= 0, "the page scrolls sideways on a handheld"
    shot("handheld")
    hand.click("button[name=language][value=zh-hans]")
    hand.wait_for_load_state()
    hand.goto(f"{base}/staff/purchasing/policies/")
    assert "补货策略" in hand.inner_text("main")
    assert int(hand.evaluate(PAGE_OVERFLOW)) <= 0
    shot("handheld-zh")
