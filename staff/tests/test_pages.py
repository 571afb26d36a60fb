"""The staff pages through Django's test client: login, role and location scoping, and that
every form changes the ledger exactly as the service it calls (or, refused, not at all)."""

from __future__ import annotations

import pytest
from django.test import Client

from inventory.models import (
    StockCountLine,
    StockMove,
)
from inventory.services import (
    stock_receive,
    stock_reserve,
    transfer_approve,
    transfer_create,
    transfer_dispatch,
)
from network.models import Service
from tests.factories import (
    ChannelUserFactory,
    LocationServiceFactory,
    StoreFactory,
    StoreUserFactory,
)
from tests.helpers import client_for, level, text

pytestmark = pytest.mark.django_db

PAGES = ["/staff/", "/staff/stock/", "/staff/reserve/", "/staff/receiving/", "/staff/count/"]
HTMX = {"HX-Request": "true"}


# --------------------------------------------------------------------------- login and access


def test_login_page_logs_staff_in_and_lands_on_home(store_user):
    client = Client()
    page = client.get("/staff/login/")
    assert page.status_code == 200 and 'name="password"' in text(page)
    response = client.post("/staff/login/", {"username": "clerk1", "password": "pw-clerk1"})
    assert response.status_code == 302 and response["Location"] == "/staff/"
    home = client.get("/staff/")
    assert home.status_code == 200 and "clerk1" in text(home) and "S01" in text(home)


def test_wrong_password_is_refused_on_the_page(store_user):
    response = Client().post("/staff/login/", {"username": "clerk1", "password": "nope"})
    assert response.status_code == 200 and "field-error" in text(response)


def test_channel_account_cannot_log_in_to_staff_pages(db):
    ChannelUserFactory.create(username="shop")
    response = Client().post("/staff/login/", {"username": "shop", "password": "pw-shop"})
    assert response.status_code == 200 and "channel integration" in text(response)
    assert "_auth_user_id" not in Client().session


def test_logout_is_a_post_and_ends_the_session(store_user):
    client = client_for(store_user)
    response = client.post("/staff/logout/")
    assert response.status_code == 302 and response["Location"] == "/staff/login/"
    assert client.get("/staff/").status_code == 302


def test_root_sends_staff_home_and_strangers_to_the_login(store_user):
    assert Client().get("/")["Location"] == "/staff/login/"
    assert client_for(store_user).get("/")["Location"] == "/staff/"


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_login(path, db):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/login/?next=")


def test_an_expired_session_reloads_htmx_requests_at_the_login(db):
    response = Client().post("/staff/count/", {"code": "X"}, headers=HTMX)
    assert response["HX-Redirect"].startswith("/staff/login/")


@pytest.mark.parametrize("path", PAGES)
def test_channel_user_gets_403_on_every_page(path, store):
    shop = ChannelUserFactory.create(username="shop", locations=[store])
    client = client_for(shop)
    assert client.get(path).status_code == 403
    assert client.post(path, {"code": "SKU-1"}).status_code in (403, 405)


@pytest.mark.parametrize("path", PAGES[1:])
def test_another_stores_location_is_a_404(path, store_user, store2):
    response = client_for(store_user).get(path, {"at": "S02"})
    assert response.status_code == 404


def test_an_unknown_location_is_the_same_404(store_user):
    assert client_for(store_user).get("/staff/stock/", {"at": "NOPE"}).status_code == 404


def test_warehouse_staff_see_no_store(warehouse_user, store):
    assert client_for(warehouse_user).get("/staff/count/", {"at": "S01"}).status_code == 404


def test_planner_reads_stock_but_gets_403_on_every_write(planner, store, product):
    stock_receive(location=store, lines=[(product, 5)])
    client = client_for(planner)
    lookup = client.get("/staff/stock/", {"at": "S01", "code": "SKU-1"})
    assert lookup.status_code == 200 and 'data-figure="on_hand">5<' in text(lookup)
    for path in PAGES[2:]:
        assert client.get(path, {"at": "S01"}).status_code == 403, path
    assert client.post("/staff/count/?at=S01", {"code": "SKU-1", "counted": 0}).status_code == 403
    assert client.post("/staff/receiving/?at=S01", {"supplier": "ACME"}).status_code == 403
    assert level(store, product) == (5, 0)


def test_warehouse_staff_cannot_use_the_counter_page(warehouse_user):
    assert client_for(warehouse_user).get("/staff/reserve/").status_code == 403


# --------------------------------------------------------------------------- home and nav


def test_home_links_follow_the_role(warehouse_user, store_user, planner, dc, store):
    warehouse = text(client_for(warehouse_user).get("/staff/"))
    assert "/staff/receiving/" in warehouse and "/staff/count/" in warehouse
    assert "/staff/reserve/" not in warehouse and "/admin/" not in warehouse
    shop = text(client_for(store_user).get("/staff/"))
    for path in ("/staff/stock/", "/staff/reserve/", "/staff/receiving/", "/staff/count/"):
        assert path in shop
    plans = text(client_for(planner).get("/staff/"))
    assert "/staff/stock/" in plans and "/admin/" in plans and "/api/docs" in plans
    assert "/staff/count/" not in plans and "/staff/reserve/" not in plans


def test_home_shows_transfers_arriving(warehouse_user, store_user, dc, store, product):
    stock_receive(location=dc, lines=[(product, 10)])
    transfer = transfer_create(source=dc, destination=store, lines=[(product, 4)])
    transfer_dispatch(transfer=transfer_approve(transfer=transfer))
    assert "1 transfer arriving" in text(client_for(store_user).get("/staff/"))


def test_a_user_at_two_stores_picks_one(store, store2, product):
    both = StoreUserFactory.create(username="float", locations=[store, store2])
    stock_receive(location=store2, lines=[(product, 7)])
    client = client_for(both)
    first = client.get("/staff/stock/", {"code": "SKU-1"})
    assert 'name="at"' in text(first) and 'data-figure="on_hand">0<' in text(first)
    second = client.get("/staff/stock/", {"code": "SKU-1", "at": "S02"})
    assert 'data-figure="on_hand">7<' in text(second)
    assert 'href="/staff/count/?at=S02"' in text(second)


# --------------------------------------------------------------------------- stock lookup


def test_stock_lookup_shows_figures_here_and_nearby_stores(store_user, store, store2, product):
    far = StoreFactory.create(
        code="S99", name="Far away", city=store.city, latitude=31.23, longitude=121.47
    )
    for each in (store2, far):
        LocationServiceFactory.create(location=each, service=Service.PICKUP)
    stock_receive(location=store, lines=[(product, 10)])
    stock_receive(location=store2, lines=[(product, 4)])
    stock_receive(location=far, lines=[(product, 9)])
    stock_reserve(product=product, location=store, quantity=3, owner_type="test", owner_id="1")
    page = client_for(store_user).get("/staff/stock/", {"code": "6900000000017"})
    body = text(page)
    assert page.status_code == 200 and "SKU-1" in body
    assert 'data-figure="on_hand">10<' in body
    assert 'data-figure="reserved">3<' in body
    assert 'data-figure="available">7<' in body
    assert "S02" in body and " km" in body  # 4.9 km away
    assert "S99" not in body  # outside 20 km


def test_stock_lookup_of_an_unknown_code_says_so(store_user, product):
    page = client_for(store_user).get("/staff/stock/", {"code": "NOPE-1"})
    assert page.status_code == 200
    assert "unknown_product" in text(page) and "notice error" in text(page)


def test_stock_lookup_suggests_products_for_a_partial_code(store_user, product):
    page = client_for(store_user).get("/staff/stock/", {"code": "SKU"})
    assert "unknown_product" in text(page) and "code=SKU-1" in text(page)


def test_htmx_gets_only_the_panel(store_user, product):
    page = client_for(store_user).get("/staff/stock/", {"code": "SKU-1"}, headers=HTMX)
    assert text(page).startswith('<section id="panel">') and "<html" not in text(page)


# --------------------------------------------------------------------------- reserve
# Walk-in hold tickets have their own file: test_pages_counter.py.


# --------------------------------------------------------------------------- count


def test_count_scan_then_quantity_posts_the_difference(store_user, store, product):
    stock_receive(location=store, lines=[(product, 10)])
    client = client_for(store_user)
    prompt = client.post("/staff/count/", {"code": "6900000000017"}, headers=HTMX)
    assert "Counting" in text(prompt) and "data-focus" in text(prompt)
    assert not StockCountLine.objects.exists()

    page = client.post(
        "/staff/count/", {"code": "6900000000017", "counted": 8, "note": "shelf A"}, headers=HTMX
    )
    body = text(page)
    assert 'data-figure="expected">10<' in body
    assert 'data-figure="counted">8<' in body
    assert 'data-figure="difference">-2<' in body
    assert level(store, product) == (8, 0)
    move = StockMove.objects.get(reason="count")
    assert (move.quantity, move.from_location, move.note) == (2, store, "shelf A")


def test_counting_below_the_reserved_is_refused_with_the_figure(store_user, store, product):
    stock_receive(location=store, lines=[(product, 10)])
    stock_reserve(product=product, location=store, quantity=3, owner_type="test", owner_id="1")
    client = client_for(store_user)
    page = client.post("/staff/count/", {"code": "SKU-1", "counted": 1})
    assert "count_below_reserved" in text(page)
    assert "3 of SKU-1 are reserved here, you counted 1" in text(page)
    assert level(store, product) == (10, 3) and not StockMove.objects.filter(reason="count")

    client.post("/staff/count/", {"code": "SKU-1", "counted": 1, "release_holds": "on"})
    assert level(store, product) == (1, 0)


def test_count_with_an_unknown_scan_writes_nothing(store_user, store, product):
    page = client_for(store_user).post("/staff/count/", {"code": "NOPE", "counted": 3})
    assert page.status_code == 200 and "unknown_product" in text(page)
    assert not StockMove.objects.exists()


def test_a_count_with_a_bad_quantity_is_shown_with_its_error(store_user, store, product):
    page = client_for(store_user).post("/staff/count/", {"code": "SKU-1", "counted": -1})
    assert page.status_code == 200 and "field-error" in text(page)
    assert not StockMove.objects.exists()


def test_admin_counts_anywhere(admin_user, store, product):
    client = client_for(admin_user)
    client.post("/staff/count/?at=S01", {"code": "SKU-1", "counted": 2})
    assert level(store, product) == (2, 0)


# --------------------------------------------------------------------------- language


def test_chinese_interface_by_accept_language(store_user):
    page = client_for(store_user).get("/staff/stock/", headers={"Accept-Language": "zh-hans"})
    assert '<html lang="zh-hans">' in text(page)
    assert "库存查询" in text(page)


def test_chinese_interface_by_language_cookie(store_user):
    client = client_for(store_user)
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/staff/"})
    assert response.status_code == 302
    assert "盘点" in text(client.get("/staff/"))


def test_a_refusal_to_an_htmx_request_replaces_the_content(planner, store):
    response = client_for(planner).post("/staff/count/?at=S01", {"code": "X"}, headers=HTMX)
    assert response.status_code == 403
    assert response["HX-Retarget"] == "#content" and response["HX-Reswap"] == "innerHTML"
    assert "<html" not in text(response)
