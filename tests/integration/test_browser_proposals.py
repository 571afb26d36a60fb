"""The replenishment proposal pages in a real browser (Debian's chromium, headless, driven by
Playwright) against the app served by ``live_server`` on PostgreSQL: a planner reviews a
proposal of a few hundred lines at a desktop's width and at a handheld's, edits a quantity
inline (a refused one first, then one the supplier sells), approves, and finds the purchase
orders. Screenshots go to ``test-artifacts/screenshots/proposals-<nn>-<step>.png``."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import ViewportSize

from inventory.models import Location
from omni.models import City, User
from purchasing.models import PurchaseOrder
from purchasing.proposal_models import ProposalLine, ReplenishmentRun
from purchasing.proposals import services
from purchasing.tests.proposal_fixtures import make_proposal_city
from tests.factories import PlannerFactory

# The browser and the screenshots are those of the staff pages' browser test.
from .test_browser import Shots, browser, log_in, open_page, playwright  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

DESKTOP: ViewportSize = {"width": 1366, "height": 768}
HANDHELD: ViewportSize = {"width": 412, "height": 915}
PAGE_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
SKUS = 300


@pytest.fixture
def proposal(city: City, dc: Location, store: Location, store2: Location) -> ReplenishmentRun:
    make_proposal_city(city, dc, [store, store2], skus=SKUS, days=70)
    run = services.replenishment_run_execute(run=services.replenishment_run_create(city=city))
    assert run.status == "ready", run.message
    return run


def test_a_planner_reviews_edits_and_approves_a_proposal(
    live_server: Any,
    open_page: Any,  # noqa: F811
    proposal: ReplenishmentRun,
) -> None:
    planner: User = PlannerFactory.create(username="lin")
    base = live_server.url
    url = f"{base}/staff/purchasing/proposals/{proposal.pk}/"
    assert ProposalLine.objects.filter(run=proposal).count() == SKUS
    buying = ProposalLine.objects.filter(run=proposal, quantity__gt=0).count()
    assert buying > 100, "a few hundred lines, most of them buying"

    desk = open_page(DESKTOP)
    shot = Shots(desk, "proposals")
    log_in(desk, base, planner, shot)
    desk.click("nav >> text=Proposals")
    assert f"#{proposal.pk}" in desk.inner_text("#proposals")
    desk.goto(url)
    rows = desk.locator("#lines tbody tr")
    assert rows.count() == min(100, buying)
    assert "on hand +" in rows.first.inner_text()
    assert int(desk.inner_text("[data-figure=buying]").split("/")[0]) == buying
    shot("review")

    line = ProposalLine.objects.filter(run=proposal, quantity__gt=0).order_by(
        "location__code", "supplier__code", "product__sku"
    )[0]
    row = desk.locator(f"#line-{line.pk}")
    row.locator("input[name=quantity]").fill(str(line.quantity + 1))
    row.locator("button[type=submit]").click()
    refused = desk.locator(f"#line-{line.pk} .notice.error")
    refused.wait_for()
    assert refused.get_attribute("data-code") == "proposal_quantity_not_orderable"
    assert str(line.quantity + line.multiple) in refused.inner_text()
    shot("refused")
    row = desk.locator(f"#line-{line.pk}")
    row.locator("input[name=quantity]").fill(str(line.quantity + line.multiple))
    row.locator("button[type=submit]").click()
    desk.locator(f"#line-{line.pk} .notice:not(.error)").wait_for()
    line.refresh_from_db()
    assert line.edited_quantity == line.quantity + line.multiple
    shot("edited")

    desk.click("#approve")
    desk.locator("#orders").wait_for()
    orders = PurchaseOrder.objects.filter(reference=proposal.reference)
    assert orders.count() == 2
    assert all(o.number in desk.inner_text("#orders") for o in orders)
    ordered = orders.get(supplier=line.supplier).lines.get(product=line.product)
    assert ordered.quantity_ordered == line.quantity + line.multiple
    assert desk.locator("#approve").count() == 0
    shot("approved")
    desk.click("nav >> text=Purchase orders")
    assert all(o.number in desk.inner_text("#purchase-orders") for o in orders)
    shot("orders")

    hand = open_page(HANDHELD, handheld=True)
    shot = Shots(hand, "proposals-handheld")
    log_in(hand, base, planner, shot)
    hand.goto(url)
    assert hand.locator("#lines tbody tr").count() >= 1
    assert int(hand.evaluate(PAGE_OVERFLOW)) <= 0, "the page scrolls sideways on a handheld"
    shot("handheld")
    hand.goto(f"{base}/staff/purchasing/orders/{orders[0].pk}/")
    assert int(hand.evaluate(PAGE_OVERFLOW)) <= 0
    shot("order-handheld")
    hand.click("button[name=language][value=zh-hans]")
    hand.wait_for_load_state()
    hand.goto(url)
    assert "补货建议" in hand.inner_text("main")
    assert int(hand.evaluate(PAGE_OVERFLOW)) <= 0
    shot("handheld-zh")
