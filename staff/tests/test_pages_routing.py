"""The routing pages through Django's test client: the planners' waiting queue with its totals,
today's capacity, the routing profiles and the audit of setting changes; "Retry now" and
"Activate"; why an order was routed the way it was, for whoever may see the order; and the
store's own capacity on its home and pickups pages."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from inventory.models import Location, Product
from network.models import Channel, ConfigChange, RoutingProfileStatus, Service
from network.services import location_capacity_set
from orders.models import Order, OrderStatus
from orders.services import LineIn, order_place
from staff.views import routing as routing_views
from tests.factories import (
    NEAR_DC,
    ChannelUserFactory,
    OrderFactory,
    ProductFactory,
    ReceiptFactory,
    RoutingProfileFactory,
)
from tests.helpers import client_for, text

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def tea(db: Any) -> Product:
    return ProductFactory.create(sku="TEA-500", name="Green tea 500 ml")


@pytest.fixture
def parked(web: Channel, dc: Location, tea: Product) -> Order:
    """5 of the tea wanted, 2 at the DC and none in the stores: the order waits, whole."""
    RoutingProfileFactory.create(channel=web, rules=["keep_together"])
    ReceiptFactory.create(location=dc, lines={"TEA-500": 2})
    order = OrderFactory.create(
        channel=web,
        external_id="W-1",
        lines={tea: 5},
        delivery=NEAR_DC,
        unit_price=Decimal("12.50"),
    )
    assert order.status == OrderStatus.PARKED and order.waiting_since is not None
    return order


# --------------------------------------------------------------------------- who may see what


def test_planner_sees_queue_totals_capacity_profiles_and_audit(planner, parked, store, web):
    location_capacity_set(
        location=store,
        service=Service.PICKUP,
        daily_capacity=60,
        opens_at=time(9),
        closes_at=time(21),
        actor=planner,
        source="admin",
    )
    draft = RoutingProfileFactory.create(
        channel=web, rules=["stay_in_city", "nearest_first"], active=False
    )
    page = client_for(planner).get("/staff/routing/")
    body = text(page)
    assert page.status_code == 200
    # the queue: one parked order, 5 units worth 62.50, linked to its explanation
    assert 'data-figure="waiting">1<' in body
    assert 'data-figure="parked">1<' in body and 'data-figure="backordered">0<' in body
    assert 'data-figure="units">5<' in body and 'data-figure="value">62.50<' in body
    assert f'id="waiting-{parked.pk}" data-status="parked"' in body
    assert f"/staff/orders/{parked.pk}/routing/" in body
    assert "not enough stock at the nodes the rules allow; parked until stock arrives" in body
    # capacity today: S01's pickups, 0 of 60, with its hours
    row = body.split(f'id="capacity-{store.code}-pickup"')[1].split("</tr>")[0]
    assert ">0<" in row and ">60<" in row and "09:00–21:00" in row
    # the profiles: the active version in words, the draft with its button
    assert "the fewest nodes win over rank" in body
    assert f'id="profile-{draft.pk}"' in body
    assert f"/staff/routing/profiles/{draft.pk}/activate/" in body
    assert "only nodes in the customer&#x27;s city" in body
    # the audit: the capacity change, by whom and from where
    changes = body.split('id="changes"')[1]
    assert "plan" in changes and "admin site" in changes and "S01/pickup" in changes
    assert "daily_capacity: 60" in changes


def test_routing_is_in_the_nav_of_planners_and_admins_only(planner, admin_user, store_user):
    for user in (planner, admin_user):
        assert 'href="/staff/routing/"' in text(client_for(user).get("/staff/"))
    assert 'href="/staff/routing/"' not in text(client_for(store_user).get("/staff/"))


@pytest.mark.parametrize("who", ["store_user", "warehouse_user", "channel"])
def test_other_roles_are_refused_the_routing_page(who, request, store, parked):
    user = (
        ChannelUserFactory.create(username="shop", locations=[store])
        if who == "channel"
        else request.getfixturevalue(who)
    )
    client = client_for(user)
    assert client.get("/staff/routing/").status_code == 403
    assert client.post("/staff/routing/retry/").status_code == 403
    draft = RoutingProfileFactory.create(
        channel=parked.channel, rules=["nearest_first"], active=False
    )
    assert client.post(f"/staff/routing/profiles/{draft.pk}/activate/").status_code == 403
    draft.refresh_from_db()
    assert draft.status == RoutingProfileStatus.DRAFT


def test_the_routing_page_needs_a_login(db):
    response = Client().get("/staff/routing/")
    assert response.status_code == 302 and response["Location"].startswith("/staff/login/")


def test_store_staff_see_their_capacity_on_home_and_pickups(store_user, store, live_city):
    location_capacity_set(
        location=store,
        service=Service.PICKUP,
        daily_capacity=60,
        opens_at=time(9),
        closes_at=time(21),
    )
    location_capacity_set(location=store, service=Service.SHIP, daily_capacity=25)
    client = client_for(store_user)
    for path in ("/staff/", "/staff/pickups/"):
        body = text(client.get(path))
        assert "Pickups today: 0 of 60, 60 left" in body, path
        assert "Ship from store: 0 of 25, 25 left" in body, path
        assert "open 09:00–21:00" in body


# --------------------------------------------------------------------------- why this routing


def test_explain_page_shows_rules_outcome_and_skipped_reasons(planner, web, dc, store, tea):
    RoutingProfileFactory.create(
        channel=web, rules=[{"rule": "exclude_kinds", "kinds": ["store"]}, "keep_together"]
    )
    ReceiptFactory.create(location=store, lines={"TEA-500": 9})
    order = OrderFactory.create(
        channel=web,
        external_id="W-1",
        lines={tea: 3},
        delivery=NEAR_DC,
        unit_price=Decimal("12.50"),
    )
    assert order.status == OrderStatus.PARKED
    page = client_for(planner).get(f"/staff/orders/{order.pk}/routing/")
    body = text(page)
    assert page.status_code == 200
    assert f"Why was order {order.pk} routed this way?" in body
    assert "Profile version 1" in body and "never nodes of these kinds: store" in body
    assert "took out: S01, S02" in body
    assert "Parked until stock arrives" in body
    s01 = body.split('data-location="S01"')[1].split("</tr>")[0]
    assert "exclude_kinds: a store; this channel excludes store" in s01
    assert "TEA-500: <strong>9</strong>" in s01
    dc1 = body.split('data-location="DC1"')[1].split("</tr>")[0]
    assert "has none of the order&#x27;s units to give" in dc1


def test_explain_page_marks_the_node_used(planner, web, dc, tea):
    ReceiptFactory.create(location=dc, lines={"TEA-500": 9})
    # no profile: the default rules
    order = OrderFactory.create(
        channel=web,
        external_id="W-1",
        lines={tea: 3},
        delivery=NEAR_DC,
        unit_price=Decimal("12.50"),
    )
    body = text(client_for(planner).get(f"/staff/orders/{order.pk}/routing/"))
    assert "Default rules: no routing profile was active" in body
    assert 'data-location="DC1" data-used="yes"' in body
    assert "Reserved: 3 × TEA-500 @ DC1" in body


def test_explain_page_is_for_staff_who_may_see_the_order(parked, store_user, warehouse_user):
    # A parked delivery holds nothing anywhere: no store's or DC's staff see it.
    assert client_for(store_user).get(f"/staff/orders/{parked.pk}/routing/").status_code == 404
    assert client_for(warehouse_user).get(f"/staff/orders/{parked.pk}/routing/").status_code == 404


def test_store_staff_see_why_of_a_pickup_at_their_store(store_user, store2_user, web, store, tea):
    ReceiptFactory.create(location=store, lines={"TEA-500": 4})
    order, _ = order_place(
        channel=web,
        external_id="P-1",
        mode="pickup",
        store=store,
        lines=[LineIn(product=tea, quantity=2)],
    )
    client = client_for(store_user)
    body = text(client.get(f"/staff/orders/{order.pk}/routing/"))
    assert "S01 is the customer&#x27;s choice and has every line" in body
    assert "no rule chooses the node" in body
    # the pickups queue links the order to its explanation
    assert f"/staff/orders/{order.pk}/routing/" in text(client.get("/staff/pickups/"))
    assert client_for(store2_user).get(f"/staff/orders/{order.pk}/routing/").status_code == 404


# --------------------------------------------------------------------------- buttons


def test_activate_button_activates_a_draft_and_audits_it_from_the_page(planner, parked, web):
    active = parked.routing_profile
    draft = RoutingProfileFactory.create(channel=web, rules=["nearest_first"], active=False)
    client = client_for(planner)
    response = client.post(f"/staff/routing/profiles/{draft.pk}/activate/?city=testcity")
    assert response.status_code == 302 and response["Location"] == "/staff/routing/?city=testcity"
    assert "Web now routes by version 2 (every city)." in text(client.get(response["Location"]))
    draft.refresh_from_db()
    active.refresh_from_db()
    assert draft.status == RoutingProfileStatus.ACTIVE and draft.activated_by == planner
    assert active.status == RoutingProfileStatus.RETIRED
    change = ConfigChange.objects.order_by("-at", "-id").first()
    assert change is not None
    assert (change.kind, change.source, change.actor, change.old, change.new) == (
        "routing_profile",
        "page",
        planner,
        1,
        2,
    )
    # the retired version is folded away, with a button to roll back to it; the notice is gone
    body = text(client.get("/staff/routing/"))
    assert "1 retired version" in body and "Activate again" in body
    assert "now routes by" not in body


def test_retire_button_goes_back_to_the_default_rules(planner, parked):
    active = parked.routing_profile
    response = client_for(planner).post(
        f"/staff/routing/profiles/{active.pk}/deactivate/", follow=True
    )
    assert response.status_code == 200 and "Version 1 of Web is retired." in text(response)
    active.refresh_from_db()
    assert active.status == RoutingProfileStatus.RETIRED
    assert "No active version: the default rules route this channel." in text(response)


def test_an_unknown_profile_is_a_404(planner, db):
    assert client_for(planner).post("/staff/routing/profiles/999/activate/").status_code == 404


def test_retry_now_fills_a_parked_order_once_stock_arrived(planner, parked, dc):
    ReceiptFactory.create(location=dc, lines={"TEA-500": 10})
    # Stock arriving queues a routing run after commit; a test's transaction never commits,
    # so the order still waits for someone to press the button.
    parked.refresh_from_db()
    assert parked.status == OrderStatus.PARKED
    client = client_for(planner)
    response = client.post("/staff/routing/retry/", headers=HTMX)
    body = text(response)
    assert response.status_code == 200 and body.startswith('<div id="routing-live">')
    assert "1 tried, 1 filled, 0 partly filled, 0 still waiting, 0 failed" in body
    assert "No order waits for stock in this city." in body
    parked.refresh_from_db()
    assert parked.status == OrderStatus.RESERVED and parked.waiting_since is None
    assert sum(a.quantity for line in parked.lines.all() for a in line.allocations.all()) == 5
    # the explanation now has the retry as its second decision
    why = text(client.get(f"/staff/orders/{parked.pk}/routing/"))
    assert "2 routing decisions, oldest first" in why and "Retried: stock came free" in why


def test_retry_without_htmx_comes_back_to_the_page_with_the_counts(planner, parked):
    response = client_for(planner).post("/staff/routing/retry/", follow=True)
    assert response.redirect_chain == [("/staff/routing/", 302)]
    body = text(response)
    assert "<html" in body and "1 tried, 0 filled, 0 partly filled, 1 still waiting" in body
    parked.refresh_from_db()
    assert parked.status == OrderStatus.PARKED


def test_with_a_broker_retry_says_the_run_is_queued(planner, parked, monkeypatch):
    class Queued:
        def ready(self) -> bool:
            return False

    monkeypatch.setattr(routing_views.orders_route_waiting_task, "delay", lambda **kwargs: Queued())
    body = text(client_for(planner).post("/staff/routing/retry/", headers=HTMX))
    assert "being routed again; reload the page in a moment" in body


def test_a_city_is_picked_and_an_unknown_one_is_a_404(planner, parked, live_city):
    client = client_for(planner)
    assert client.get("/staff/routing/", {"city": live_city.code}).status_code == 200
    assert client.get("/staff/routing/", {"city": "atlantis"}).status_code == 404


def test_the_routing_page_in_chinese(planner, parked):
    body = text(client_for(planner).get("/staff/routing/", headers={"Accept-Language": "zh-hans"}))
    assert "等待库存" in body and "立即重试" in body
