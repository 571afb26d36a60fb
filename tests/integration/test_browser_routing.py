"""The routing pages in a real browser (Debian's chromium, headless, driven by Playwright) against
the app served by ``live_server`` on PostgreSQL: a planner finds a parked order in the waiting
queue, reads why it was routed that way, activates a draft profile that lets stores ship, and
presses "Retry now"; the order leaves the queue, reserved at the store. A store clerk sees the
store's capacity for the day on the home and pickups pages.

The page shows the counts of the retry run it started, which needs the run to happen in the
request: the tests run Celery eagerly even when ``make test-integration`` gives them a broker
(the broker answer of the page is covered by ``fulfillment/tests/test_pages_routing.py``).
Screenshots go to ``test-artifacts/screenshots/routing-<nn>-<step>.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import Page

from inventory.models import Location, Product, StockLevel
from network.models import Channel, ConfigChange, RoutingProfile, RoutingProfileStatus, Service
from network.services import location_capacity_set, routing_profile_activate, routing_profile_create
from omni.celery import app as celery_app
from omni.models import User
from orders.models import OrderStatus
from orders.services import LineIn, order_place
from tests.factories import PlannerFactory, ReceiptFactory, StoreUserFactory
from tests.helpers import held_at

# The browser, its pages and the screenshots are those of the staff pages' browser test.
from .test_browser import (  # noqa: F401
    NEAR_DC,
    Shots,
    browser,
    log_in,
    oolong,
    page,
    playwright,
    tea,
    web,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _eager_celery() -> Iterator[None]:
    """Run tasks in the process (the live server's thread) even with a broker configured."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def figure(tab: Page, name: str) -> str:
    return tab.inner_text(f'[data-figure="{name}"]').strip()


@pytest.fixture
def planner_user(db: Any) -> User:
    return PlannerFactory.create(username="lin")


@pytest.fixture
def routing_setup(
    web: Channel,  # noqa: F811
    dc: Location,
    store: Location,
    planner_user: User,
) -> Channel:
    """The web shop ships from the DC only (v1, active); v2, a draft, lets stores ship too.
    S01 takes 25 ship-from-store and 60 pickup orders a day."""
    location_capacity_set(location=store, service=Service.SHIP, daily_capacity=25, source="rollout")
    location_capacity_set(
        location=store,
        service=Service.PICKUP,
        daily_capacity=60,
        opens_at=time(9),
        closes_at=time(21),
        source="rollout",
    )
    dc_only = routing_profile_create(
        channel=web,
        city=None,
        rules=[{"rule": "exclude_kinds", "kinds": ["store"]}, "keep_together"],
        when_short="park",
        note="Stores keep their stock for walk-in customers",
        actor=planner_user,
    )
    routing_profile_activate(profile=dc_only, actor=planner_user, source="api")
    routing_profile_create(
        channel=web,
        city=None,
        rules=["keep_together", "nearest_first"],
        when_short="park",
        note="Stores may ship when the DC is short",
        actor=planner_user,
    )
    return web


# --------------------------------------------------------------------------- the planner


def test_planner_unparks_an_order_by_activating_a_draft_and_retrying(
    live_server: Any,
    page: Page,  # noqa: F811
    routing_setup: Channel,
    planner_user: User,
    dc: Location,
    store: Location,
    tea: Product,  # noqa: F811
    oolong: Product,  # noqa: F811
) -> None:
    channel = routing_setup
    shot = Shots(page, "routing")
    ReceiptFactory.create(location=dc, lines={"TEA-500": 1})
    waiting, _ = order_place(
        channel=channel,
        external_id="WEB-3001",
        mode="delivery",
        delivery=NEAR_DC,
        customer_name="Zhao Min",
        lines=[LineIn(product=tea, quantity=4, unit_price=Decimal("39.90"))],
    )
    other, _ = order_place(
        channel=channel,
        external_id="WEB-3002",
        mode="delivery",
        delivery=NEAR_DC,
        promised_at=timezone.now() + timedelta(days=2),
        lines=[LineIn(product=oolong, quantity=1, unit_price=Decimal("88.00"))],
    )
    assert waiting.status == other.status == OrderStatus.PARKED
    base = live_server.url

    log_in(page, base, planner_user, shot)
    assert "2 orders waiting for stock" in page.inner_text("main")
    page.click("nav >> text=Routing")
    page.wait_for_url(f"{base}/staff/routing/")
    assert figure(page, "waiting") == "2" and figure(page, "parked") == "2"
    assert figure(page, "units") == "5" and figure(page, "value") == "247.60"
    row = page.locator(f"#waiting-{waiting.pk}")
    assert "WEB-3001" in row.inner_text() and "159.60" in row.inner_text()
    assert "not enough stock at the nodes the rules allow" in row.inner_text()
    # served first: placed before the other's promised time
    assert page.locator("#waiting tbody tr").first.get_attribute("id") == f"waiting-{waiting.pk}"
    capacity = page.inner_text(f"#capacity-{store.code}-pickup")
    assert "60" in capacity and "09:00–21:00" in capacity
    assert "Stores may ship when the DC is short" in page.inner_text("#profiles")
    assert "rollout file" in page.inner_text("#changes")
    shot("queue")

    row.locator("a").first.click()
    page.wait_for_url(f"{base}/staff/orders/{waiting.pk}/routing/")
    assert f"Why was order {waiting.pk} routed this way?" in page.inner_text("h1")
    decision = page.locator("#decision-1")
    assert "never nodes of these kinds: store" in decision.inner_text()
    assert "Parked until stock arrives" in decision.inner_text()
    s01 = decision.locator('tr[data-location="S01"]').inner_text()
    assert "exclude_kinds: a store; this channel excludes store" in s01
    dc1 = decision.locator('tr[data-location="DC1"]').inner_text()
    assert "TEA-500: 1" in dc1
    assert "has part of the order; the rules need the whole order served" in dc1
    shot("explain")

    page.go_back()
    page.wait_for_url(f"{base}/staff/routing/")

    # S01 receives the tea. Stock coming free routes the waiting orders again at once, but the
    # active version keeps stores out: the order stays parked.
    ReceiptFactory.create(location=store, lines={"TEA-500": 6})
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.PARKED
    page.reload()
    assert page.locator(f"#waiting-{waiting.pk}").count() == 1
    shot("stock-at-store")

    draft = RoutingProfile.objects.get(channel=channel, status=RoutingProfileStatus.DRAFT)
    card = page.locator(f"#profile-{draft.pk}")
    card.locator("button", has_text="Activate").click()
    page.wait_for_selector(".notice.ok")
    assert "Web now routes by version 2 (every city)." in page.inner_text(".notices")
    assert page.get_attribute(f"#profile-{draft.pk}", "data-status") == "active"
    assert "1 retired version" in page.inner_text(f"#channel-{channel.code}")
    changes = page.locator("#changes tbody tr").first.inner_text()
    assert "lin" in changes and "staff page" in changes and "v1" in changes and "v2" in changes
    shot("activated")

    page.click("button:has-text('Retry now')")
    page.locator("#routing-live .notice.ok", has_text="tried").wait_for()
    notice = page.inner_text("#routing-live .notices")
    assert "2 tried, 1 filled, 0 partly filled, 1 still waiting, 0 failed" in notice
    assert page.locator(f"#waiting-{waiting.pk}").count() == 0
    assert page.locator(f"#waiting-{other.pk}").count() == 1
    assert figure(page, "waiting") == "1" and figure(page, "value") == "88.00"
    shot("retried")

    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.RESERVED and waiting.waiting_since is None
    assert waiting.routing_profile_id == draft.pk
    assert held_at(waiting) == {"S01": 4}
    assert StockLevel.objects.get(location=store, product=tea).reserved == 4
    draft.refresh_from_db()
    assert draft.status == RoutingProfileStatus.ACTIVE and draft.activated_by == planner_user
    change = ConfigChange.objects.order_by("-at", "-id").first()
    assert change is not None and (change.source, change.old, change.new) == ("page", 1, 2)

    page.goto(f"{base}/staff/orders/{waiting.pk}/routing/")
    second = page.locator("#decision-2")
    assert "Retried: stock came free" in second.inner_text()
    assert 'data-used="yes"' in second.locator('tr[data-location="S01"]').evaluate(
        "el => el.outerHTML"
    )
    shot("explain-after")

    # The same page in Chinese.
    page.goto(f"{base}/staff/routing/")
    page.click("button:has-text('简体中文')")
    page.wait_for_selector("html[lang='zh-hans']")
    assert "等待库存" in page.inner_text("main") and "立即重试" in page.inner_text("main")
    shot("zh")


# --------------------------------------------------------------------------- the store


def test_store_clerk_sees_the_days_capacity(
    live_server: Any,
    page: Page,  # noqa: F811
    routing_setup: Channel,
    store: Location,
    tea: Product,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Mid-morning where the store is: a pickup placed after its closing time would count on
    # tomorrow's capacity, and the test would depend on the hour it runs at.
    assert store.city is not None
    local = timezone.localtime(timezone.now(), ZoneInfo(store.city.timezone))
    morning = local.replace(hour=10, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: morning.astimezone(UTC))
    clerk = StoreUserFactory.create(username="mei", locations=[store])
    ReceiptFactory.create(location=store, lines={"TEA-500": 3})
    order_place(
        channel=routing_setup,
        external_id="WEB-4001",
        mode="pickup",
        store=store,
        lines=[LineIn(product=tea, quantity=1)],
    )
    shot = Shots(page, "routing-store")
    base = live_server.url

    log_in(page, base, clerk, shot)
    line = page.inner_text("#capacity-today")
    assert "Pickups today: 1 of 60, 59 left" in line
    assert "Ship from store: 0 of 25, 25 left" in line
    page.click("nav >> text=Pickups")
    page.wait_for_url("**/staff/pickups/**")
    assert "Pickups today: 1 of 60, 59 left" in page.inner_text("#capacity-today")
    shot("pickups")

    assert page.locator("nav >> text=Routing").count() == 0
    page.goto(f"{base}/staff/routing/")
    assert "Your role cannot use this page." in page.inner_text("main")
    shot("refused")


def test_pickup_order_explained_to_its_store(
    live_server: Any,
    page: Page,  # noqa: F811
    routing_setup: Channel,
    store: Location,
    tea: Product,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Mid-morning where the store is: a pickup placed after its closing time would count on
    # tomorrow's capacity, and the test would depend on the hour it runs at.
    assert store.city is not None
    local = timezone.localtime(timezone.now(), ZoneInfo(store.city.timezone))
    morning = local.replace(hour=10, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: morning.astimezone(UTC))
    clerk = StoreUserFactory.create(username="mei", locations=[store])
    ReceiptFactory.create(location=store, lines={"TEA-500": 3})
    order, _ = order_place(
        channel=routing_setup,
        external_id="WEB-4002",
        mode="pickup",
        store=store,
        lines=[LineIn(product=tea, quantity=2)],
    )
    shot = Shots(page, "routing-pickup")
    base = live_server.url
    log_in(page, base, clerk, shot)
    page.goto(f"{base}/staff/pickups/")
    page.click(f"#pickup-{order.pk} a[href*='/routing/']")
    page.wait_for_url(f"{base}/staff/orders/{order.pk}/routing/**")
    body = page.inner_text("main")
    assert "S01 is the customer's choice and has every line" in body
    assert "Reserved: 2 × TEA-500 @ S01" in body
    shot("explain")
