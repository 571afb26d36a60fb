"""The counter's pages: a pickup handed over by its short code (and a wrong one refused with a
sentence), and a walk-in hold ticket written from the stock lookup, held, sold or released."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from fulfillment import services
from fulfillment.models import PickupAttempt, PickupCode
from fulfillment.tests.fixtures import pickup_ready
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, StockMove, Transfer
from inventory.services import stock_receive
from network.models import Channel
from omni.models import User
from orders.models import HoldTicket, HoldTicketStatus, Order, OrderStatus
from tests.factories import PickupOrderFactory, ProductFactory, ReceiptFactory
from tests.helpers import client_for, level, text

HTMX = {"HX-Request": "true"}


@pytest.fixture
def ready(web: Channel, store: Location, product: Product) -> PickupCode:
    ReceiptFactory.create(location=store, lines={"SKU-1": 5})
    return pickup_ready(
        PickupOrderFactory.create(
            channel=web,
            external_id="p1",
            store=store,
            customer_name="Li Lei",
            customer_phone="13800001234",
            lines={product: 2},
        )
    )


def wrong(digits: str) -> str:
    return str((int(digits) + 1) % 1_000_000).zfill(6)


def test_the_code_page_shows_the_short_code_beside_the_qr(
    ready: PickupCode, store_user: User
) -> None:
    digits = services.pickup_short_code(ready)
    page = text(client_for(store_user).get(f"/staff/pickups/{ready.order_id}/code/"))
    assert f"{digits[:3]} {digits[3:]}" in page and "<svg" in page
    assert f"Read it out with order number {ready.order_id}." in page


def test_a_pickup_is_handed_over_by_short_code_and_a_wrong_one_is_refused_in_words(
    ready: PickupCode, store_user: User, store: Location, product: Product
) -> None:
    client = client_for(store_user)
    queue = text(client.get("/staff/pickups/"))
    assert "Type the short code" in queue and "/staff/pickups/handover/short-code/" in queue
    digits = services.pickup_short_code(ready)
    url = "/staff/pickups/handover/short-code/?at=S01"
    refused = text(
        client.post(url, {"short_code": wrong(digits), "order": str(ready.order_id)}, headers=HTMX)
    )
    assert 'data-result="pickup_short_code_wrong"' in refused and "Do not hand over" in refused
    assert "Check the digits and the order number with the customer" in refused
    assert '<details class="short-code-box" open>' in refused  # the typed box stays open
    assert level(store, product) == (5, 2)
    handed = text(client.post(url, {"short_code": digits, "phone_last4": "1234"}, headers=HTMX))
    assert 'data-result="redeemed"' in handed
    assert f"Hand over order {ready.order_id}: 2 × SKU-1" in handed
    assert Order.objects.get(pk=ready.order_id).status == OrderStatus.COMPLETED
    assert level(store, product) == (3, 0)
    methods = list(PickupAttempt.objects.order_by("id").values_list("result", "method"))
    assert methods == [("pickup_short_code_wrong", "short_code"), ("redeemed", "short_code")]
    assert_invariants()


def test_short_codes_paused_at_the_store_answer_429_with_what_to_do(
    ready: PickupCode, store_user: User, settings: Any
) -> None:
    settings.RATELIMIT_ENABLE = True
    settings.OMNI_PICKUP_SHORT_CODE_STORE_RATE = "2/h"
    cache.clear()
    try:
        client = client_for(store_user)
        digits = services.pickup_short_code(ready)
        form = {"short_code": wrong(digits), "order": str(ready.order_id)}
        url = "/staff/pickups/handover/short-code/?at=S01"
        for _ in range(2):
            assert client.post(url, form, headers=HTMX).status_code == 200
        paused = client.post(url, {**form, "short_code": digits}, headers=HTMX)
        assert paused.status_code == 429 and int(paused["Retry-After"]) > 0
        body = text(paused)
        assert "typing short codes is paused" in body and "Scan the customer" in body
        # The QR code still hands over.
        token = services.pickup_token(ready)
        handed = client.post("/staff/pickups/handover/?at=S01", {"code": token}, headers=HTMX)
        assert 'data-result="redeemed"' in text(handed)
    finally:
        cache.clear()


# --------------------------------------------------------------------------- hold tickets


@pytest.fixture
def three(store: Location, store2: Location) -> list[Product]:
    products = [
        ProductFactory.create(sku=f"T-{n}", name=f"Tea {n}", barcode=f"69100000000{n}")
        for n in range(3)
    ]
    stock_receive(location=store, lines=[(products[0], 5), (products[1], 5), (products[2], 1)])
    stock_receive(location=store2, lines=[(products[2], 6)])
    return products


def add_from_lookup(client: Any, sku: str, quantity: int) -> str:
    lookup = text(client.get("/staff/stock/", {"code": sku, "at": "S01"}))
    assert "Hold for a customer" in lookup and "/staff/reserve/add/" in lookup
    added = client.post(
        "/staff/reserve/add/?at=S01", {"code": sku, "quantity": quantity}, headers=HTMX
    )
    assert added.status_code == 200
    return text(added)


def test_a_ticket_of_three_items_from_the_stock_lookup_is_held_and_sold(
    store_user: User, store: Location, pos: Channel, three: list[Product]
) -> None:
    client = client_for(store_user)
    for product, quantity in zip(three, (2, 1, 1), strict=True):
        page = add_from_lookup(client, product.sku, quantity)
        assert f"{product.sku} is on the ticket" in page
    assert "Hold ticket: 3 items" in page
    ticket = HoldTicket.objects.get(status=HoldTicketStatus.DRAFT)
    reserve_page = text(client.get("/staff/reserve/"))
    assert reserve_page.count('class="ticket-line"') == 3
    held = text(
        client.post(
            "/staff/reserve/hold/?at=S01",
            {"customer_name": "Wang Fang", "customer_phone": "13900000000", "hours": 4},
            headers=HTMX,
        )
    )
    assert f"Ticket {ticket.number} is held until" in held
    assert [level(store, p) for p in three] == [(5, 2), (5, 1), (1, 1)]
    sell_page = text(client.get(f"/staff/reserve/tickets/{ticket.pk}/sell/"))
    lines = {ln.product.sku: ln for ln in ticket.lines.select_related("product")}
    assert all(f'name="line-{ln.pk}"' in sell_page for ln in lines.values())
    sold = client.post(
        f"/staff/reserve/tickets/{ticket.pk}/sell/?at=S01",
        {
            f"line-{lines['T-0'].pk}": "2",
            f"line-{lines['T-1'].pk}": "1",
            f"line-{lines['T-2'].pk}": "0",
        },
    )
    body = text(sold)
    assert sold.status_code == 200 and f"Sold ticket {ticket.number} as order" in body
    assert "The 1 unit not taken went back to stock." in body
    assert [level(store, p) for p in three] == [(3, 0), (4, 0), (1, 0)]
    assert StockMove.objects.filter(reason="sale").count() == 2
    again = client.post(
        f"/staff/reserve/tickets/{ticket.pk}/sell/?at=S01", {f"line-{lines['T-0'].pk}": "2"}
    )
    assert "was sold already" in text(again)
    assert StockMove.objects.filter(reason="sale").count() == 2
    assert_invariants()


def test_a_short_item_offers_nearby_stores_to_send_it_or_hold_it_there(
    store_user: User, store: Location, store2: Location, web: Channel, three: list[Product]
) -> None:
    client = client_for(store_user)
    add_from_lookup(client, "T-0", 1)
    add_from_lookup(client, "T-2", 3)  # one free here, six at S02
    page = text(client.get("/staff/reserve/"))
    assert "only 1 free here" in page and "Ask S02 to send it here" in page
    assert "Hold it at S02" in page
    refused = text(
        client.post(
            "/staff/reserve/hold/?at=S01", {"customer_name": "Li", "hours": 4}, headers=HTMX
        )
    )
    assert "Nothing was held: only 1 × T-2 is free at S01" in refused
    line = HoldTicket.objects.get(status="draft").lines.get(product=three[2])
    there = text(
        client.post(
            f"/staff/reserve/lines/{line.pk}/hold-there/?at=S01",
            {"store": "S02", "customer_name": "Li", "customer_phone": "", "hours": 4},
            headers=HTMX,
        )
    )
    assert "Held 3 × T-2 at S02" in there and "the customer collects it there" in there
    assert level(store2, three[2]) == (6, 3)
    # A store that is not offered is a 404.
    add_from_lookup(client, "T-2", 2)
    line = HoldTicket.objects.get(status="draft").lines.get(product=three[2])
    nowhere = client.post(
        f"/staff/reserve/lines/{line.pk}/transfer/?at=S01", {"store": "DC1"}, headers=HTMX
    )
    assert nowhere.status_code == 404
    asked = text(
        client.post(
            f"/staff/reserve/lines/{line.pk}/transfer/?at=S01", {"store": "S02"}, headers=HTMX
        )
    )
    assert "Asked S02 to send 2 × T-2 here" in asked
    assert Transfer.objects.get().destination == store
    assert_invariants()


def test_release_and_another_stores_ticket(
    store_user: User, store2_user: User, store: Location, three: list[Product]
) -> None:
    client = client_for(store_user)
    add_from_lookup(client, "T-0", 2)
    client.post("/staff/reserve/hold/?at=S01", {"customer_name": "Li", "hours": 2})
    ticket = HoldTicket.objects.get(status="held")
    other = client_for(store2_user)
    assert other.post(f"/staff/reserve/tickets/{ticket.pk}/release/").status_code == 404
    assert other.get(f"/staff/reserve/tickets/{ticket.pk}/sell/").status_code == 404
    released = text(
        client.post(f"/staff/reserve/tickets/{ticket.pk}/release/?at=S01", headers=HTMX)
    )
    assert f"Released ticket {ticket.number}: its items are back in stock." in released
    assert level(store, three[0]) == (5, 0)
    assert_invariants()
