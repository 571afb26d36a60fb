"""The picking, packing and pickup pages through Django's test client: a wave, scans (right and
wrong), a short pick, the printed list; pack and ship; a store pickup from prepare to handover,
every refused code by its own code; and who may see and do what."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment import pickup_codes, services
from fulfillment.models import (
    Package,
    PackageStatus,
    PickLine,
    PickList,
    PickListStatus,
    PickScan,
    PickTaskStatus,
    PickupAttempt,
    PickupCode,
)
from fulfillment.tests.fixtures import A_BARCODE, B_BARCODE, pickup_ready
from inventory.invariants import assert_invariants
from inventory.models import Location, Product, StockDiscrepancy, StockMove
from inventory.services import transfer_approve, transfer_create
from network.models import Channel
from orders.models import Order, OrderStatus
from tests.factories import (
    NEAR_DC,
    HomeBinFactory,
    OrderFactory,
    PickupOrderFactory,
    ReceiptFactory,
    StoreUserFactory,
    WarehouseUserFactory,
)
from tests.helpers import client_for, level, text

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def ready_code(web: Channel, store: Location, product: Product, ext: str = "p1") -> PickupCode:
    return pickup_ready(
        PickupOrderFactory.create(
            channel=web, external_id=ext, store=store, customer_name="Li Lei", lines={product: 2}
        )
    )


@pytest.fixture
def wave(web: Channel, dc: Location, goods: tuple[Product, Product]) -> PickList:
    """A DC wave of one paid delivery: 3 × A and 1 × B."""
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 5})
    OrderFactory.create(
        channel=web,
        external_id="w1",
        lines={a: 3, b: 1},
        delivery=NEAR_DC,
        customer_name="Wang Fang",
        paid=True,
    )
    return services.pick_wave_create(location=dc)


def scan(
    client: Client,
    pick_list: PickList,
    code: str,
    quantity: int | str = "",
    scan_id: uuid.UUID | None = None,
) -> Any:
    """One scan as the page's scan queue sends it: its own id, the code, the units."""
    return client.post(
        f"/staff/picking/{pick_list.pk}/scan/",
        {"scan_id": str(scan_id or uuid.uuid4()), "code": code, "quantity": quantity},
        headers=HTMX,
    )


def picked(pick_list: PickList) -> list[tuple[str, int, str]]:
    return [
        (ln.product.sku, ln.picked, ln.status)
        for ln in pick_list.lines.select_related("product").order_by("product__sku")
    ]


def wait_in_line(web: Channel, dc: Location, goods: tuple[Product, Product], orders: int) -> None:
    a, b = goods
    ReceiptFactory.create(location=dc, lines={"A": 50, "B": 50})
    for n in range(orders):
        OrderFactory.create(
            channel=web,
            external_id=f"w{n + 1}",
            lines={a: 1 + n % 3, b: 1},
            delivery=NEAR_DC,
            customer_name="Wang Fang",
            paid=True,
        )


# --------------------------------------------------------------------------- waves


def test_the_picking_page_previews_the_next_wave_and_starts_it(warehouse_user, web, dc, goods):
    wait_in_line(web, dc, goods, orders=1)
    client = client_for(warehouse_user)
    page = text(client.get("/staff/picking/"))
    assert "2 lines wait to be picked here." in page
    assert 'data-figure="plan-orders">1<' in page and 'data-figure="plan-lines">2<' in page
    assert 'data-figure="plan-units">2<' in page and 'data-figure="plan-tasks">2<' in page
    assert 'value="create"' in page and 'name="max_lines" value="120"' in page
    assert not PickList.objects.exists()  # a preview writes nothing

    response = client.post("/staff/picking/", {"action": "create", "max_lines": 120})
    pick_list = PickList.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/picking/{pick_list.pk}/?at=DC1"
    assert pick_list.location == dc and pick_list.assigned_to == warehouse_user
    assert (pick_list.lines_count, pick_list.tasks_total, pick_list.max_lines) == (2, 2, 120)
    assert Order.objects.get().status == OrderStatus.PROCESSING

    listing = text(client.get("/staff/picking/"))
    assert f"/staff/picking/{pick_list.pk}/?at=DC1" in listing
    assert f"/staff/picking/{pick_list.pk}/print/?at=DC1" in listing
    assert "0/2 stops" in listing and "0/2 units" in listing
    assert "0 lines wait to be picked here." in listing
    assert "Nothing waiting here fits these limits" in listing


def test_a_wave_within_limits_leaves_the_rest_waiting(warehouse_user, web, dc, goods):
    wait_in_line(web, dc, goods, orders=5)
    client = client_for(warehouse_user)
    preview = text(client.post("/staff/picking/", {"action": "preview", "max_orders": 2}))
    assert 'data-figure="plan-orders">2<' in preview and 'data-figure="plan-lines">4<' in preview
    assert "6 waiting lines stay for a later wave." in preview
    assert not PickList.objects.exists()

    client.post("/staff/picking/", {"action": "create", "max_orders": 2})
    pick_list = PickList.objects.get()
    assert (pick_list.orders_count, pick_list.lines_count) == (2, 4)
    assert "6 lines wait to be picked here." in text(client.get("/staff/picking/"))


def test_wave_limits_that_make_no_sense_are_field_errors(warehouse_user, web, dc, goods):
    wait_in_line(web, dc, goods, orders=1)
    client = client_for(warehouse_user)
    page = client.post(
        "/staff/picking/", {"action": "create", "max_orders": 0, "max_units": "lots"}
    )
    assert page.status_code == 200 and text(page).count('class="field-error"') == 2
    only_transfers = text(client.post("/staff/picking/", {"action": "create", "mode": "nope"}))
    assert "field-error" in only_transfers
    assert not PickList.objects.exists()


def test_nothing_to_pick_is_a_notice_not_an_error_page(warehouse_user, dc):
    client = client_for(warehouse_user)
    assert "Start this wave" not in text(client.get("/staff/picking/"))
    page = client.post("/staff/picking/", {"action": "create"})
    assert page.status_code == 200 and "notice error" in text(page)
    assert "<h1>Pick lists</h1>" in text(page) and not PickList.objects.exists()


# --------------------------------------------------------------------------- the handheld


def test_the_pick_page_shows_one_stop_and_the_next(warehouse_user, wave):
    page = text(client_for(warehouse_user).get(f"/staff/picking/{wave.pk}/"))
    assert page.count('data-scan=""') == 1 and "autofocus" in page
    assert "data-scan-queue" in page and f'data-endpoint="/staff/picking/{wave.pk}/scan/' in page
    assert 'data-target="#pick-task"' in page and "staff/scan.js" in page
    assert 'Take <span class="qty-big">3</span> × <span class="sku">A</span>' in page
    assert "3 × A from —" in page and "Product A" in page and A_BARCODE in page
    assert 'data-figure="next">Next:' in page and ">B</strong>" in page
    assert "0 of 2 stops done · 0 of 4 units picked" in page
    assert 'data-tote="1"' in page and "order " in page


def test_scan_right_and_wrong_items(warehouse_user, wave, dc, goods):
    client = client_for(warehouse_user)
    first = scan(client, wave, A_BARCODE)
    body = text(first)
    assert first.status_code == 200 and body.startswith('<section id="pick-task"')
    assert "notice ok" in body and "Picked 1 × A: 1 of 3." in body
    assert "1 of 3 picked at this stop." in body
    assert picked(wave) == [("A", 1, "open"), ("B", 0, "open")]

    wrong = text(scan(client, wave, "6900000000999"))
    assert "notice error" in wrong and 'data-code="wrong_item"' in wrong
    assert "6900000000999 is not wanted at this stop." in wrong
    assert "Scan A Product A from bin —, or type its SKU." in wrong
    assert ">wrong_item<" not in wrong  # the code is for support, not for the picker
    assert picked(wave) == [("A", 1, "open"), ("B", 0, "open")]  # nothing changed

    too_many = text(scan(client, wave, "a", 5))
    assert "Too many: this stop wants 2 more × A." in too_many
    assert 'data-code="over_pick"' in too_many and picked(wave)[0] == ("A", 1, "open")

    stop_done = text(scan(client, wave, "a", 2))  # the SKU in any case, units at once
    assert "this stop is done (3 of 3)" in stop_done
    assert picked(wave)[0] == ("A", 3, "picked")
    assert 'Take <span class="qty-big">1</span> × <span class="sku">B</span>' in stop_done

    empty = text(scan(client, wave, ""))
    assert "notice error" in empty and picked(wave)[1] == ("B", 0, "open")

    last = text(scan(client, wave, B_BARCODE))
    assert "Pick list done" in last and 'data-status="done"' in last
    assert "/staff/packing/?at=DC1" in last
    assert '<div id="scan-form" hx-swap-oob="true">' in last  # the scan box goes
    assert "/staff/pickups/" not in last  # a delivery: nothing for the counter
    wave.refresh_from_db()
    assert wave.status == PickListStatus.DONE and wave.units_picked == 4
    assert level(dc, goods[0]) == (10, 3)  # picking moves no stock


def test_a_scan_sent_twice_counts_once(warehouse_user, wave):
    client = client_for(warehouse_user)
    scan_id = uuid.uuid4()
    first = text(scan(client, wave, A_BARCODE, scan_id=scan_id))
    again = text(scan(client, wave, A_BARCODE, scan_id=scan_id))
    assert "Picked 1 × A: 1 of 3." in first and "Picked 1 × A: 1 of 3." in again
    assert picked(wave)[0] == ("A", 1, "open")
    assert PickScan.objects.filter(scan_id=scan_id).count() == 1
    wrong_id = uuid.uuid4()
    scan(client, wave, "B", scan_id=wrong_id)
    repeat = text(scan(client, wave, "B", scan_id=wrong_id))
    assert 'data-code="wrong_item"' in repeat and PickScan.objects.count() == 2


def test_a_scan_without_the_queue_answers_the_whole_page(warehouse_user, wave):
    page = client_for(warehouse_user).post(f"/staff/picking/{wave.pk}/scan/", {"code": "A"})
    assert "<html" in text(page) and "notice ok" in text(page)
    assert picked(wave)[0] == ("A", 1, "open")


def test_short_pick_from_the_page(warehouse_user, wave, dc, goods):
    a, _ = goods
    client = client_for(warehouse_user)
    scan(client, wave, A_BARCODE)
    task = wave.tasks.get(product=a)
    url = f"/staff/picking/{wave.pk}/tasks/{task.pk}/short/"
    page = text(client.get(f"/staff/picking/{wave.pk}/"))
    assert url in page and 'min="1"' in page and "Found fewer?" in page

    refused = text(client.post(url, {"found": 3}, headers=HTMX))
    assert "notice error" in refused and "Enter how many units you found in all" in refused
    task.refresh_from_db()
    assert task.status == PickTaskStatus.OPEN

    done = text(client.post(url, {"found": 1}, headers=HTMX))
    assert "notice ok" in done and "Short pick recorded: 1 of 3 × A found." in done
    task.refresh_from_db()
    assert (task.status, task.picked) == (PickTaskStatus.SHORT, 1)
    assert StockDiscrepancy.objects.filter(location=dc, product=a).exists()
    assert level(dc, a) == (8, 1)  # 2 missing left the ledger; the hold shrank to 1
    assert "1 of 2 stops done · 1 of 4 units picked" in done
    assert_invariants()


def test_the_printed_pick_list(warehouse_user, wave):
    client = client_for(warehouse_user)
    scan(client, wave, "A", 3)
    page = client.get(f"/staff/picking/{wave.pk}/print/")
    body = text(page)
    assert page.status_code == 200
    assert 'onclick="window.print()"' in body and 'class="print-list stops"' in body
    assert 'class="nav"' not in body and 'data-scan=""' not in body
    assert body.count('<span class="box') == 2 and body.count('class="box ticked"') == 1
    assert f"Pick list {wave.pk}" in body and "4 units" in body and "2 stops" in body
    assert "<strong>1</strong>&nbsp;×3" in body  # A's units go to tote 1
    order = Order.objects.get(external_id="w1")
    legend = body.split('class="print-list totes-legend"')[1]
    assert f"Order {order.pk}" in legend and "w1" in legend  # tote 1 is that order


def test_bins_are_printed_and_walked_in_order(warehouse_user, web, dc, goods):
    a, b = goods
    HomeBinFactory.create(location=dc, product=a, code="C-09-1", sequence=9)
    HomeBinFactory.create(location=dc, product=b, code="A-01-2", sequence=1)
    ReceiptFactory.create(location=dc, lines={"A": 10, "B": 5})
    OrderFactory.create(
        channel=web,
        external_id="w1",
        lines={a: 3, b: 1},
        delivery=NEAR_DC,
        customer_name="Wang Fang",
        paid=True,
    )
    pick_list = services.pick_wave_create(location=dc)
    client = client_for(warehouse_user)
    body = text(client.get(f"/staff/picking/{pick_list.pk}/print/"))
    assert body.index("A-01-2") < body.index("C-09-1")
    handheld = text(client.get(f"/staff/picking/{pick_list.pk}/"))
    assert '<p class="bin-code" data-figure="bin">A-01-2</p>' in handheld
    assert "1 × B from A-01-2 → totes 1" in handheld


def test_one_sku_for_several_orders_is_one_stop_into_their_totes(warehouse_user, web, dc, goods):
    wait_in_line(web, dc, goods, orders=3)  # A: 1, 2, 3 units; B: 1 each
    pick_list = services.pick_wave_create(location=dc)
    client = client_for(warehouse_user)
    page = text(client.get(f"/staff/picking/{pick_list.pk}/"))
    assert "6 × A from — → totes 1, 2, 3" in page
    assert page.count("data-tote=") == 3
    done = text(scan(client, pick_list, "A", 6))
    assert "this stop is done (6 of 6)" in done and "3 × B from — → totes 1, 2, 3" in done
    assert sorted(picked(pick_list)) == sorted(
        [("A", 1, "picked"), ("A", 2, "picked"), ("A", 3, "picked")] + [("B", 0, "open")] * 3
    )


def test_all_stops_are_paginated_for_the_supervisor(warehouse_user, dc, store):
    products = Product.objects.bulk_create(
        [Product(sku=f"S{n:03d}", name=f"Item {n}") for n in range(60)]
    )
    ReceiptFactory.create(location=dc, lines=dict.fromkeys(products, 2))
    transfer_approve(
        transfer=transfer_create(source=dc, destination=store, lines=[(p, 1) for p in products])
    )
    pick_list = services.pick_wave_create(location=dc, limits=services.WaveLimits.none())
    client = client_for(warehouse_user)
    first = text(client.get(f"/staff/picking/{pick_list.pk}/tasks/"))
    assert first.count("data-task=") == 50 and "Page 1 of 2" in first
    assert "S000" in first and "S059" not in first
    second = text(client.get(f"/staff/picking/{pick_list.pk}/tasks/", {"page": 2}))
    assert second.count("data-task=") == 10 and "S059" in second


def test_the_pick_page_costs_the_same_for_a_big_wave(warehouse_user, dc, store):
    """The handheld page and a scan's answer read a fixed number of rows: the same number of
    queries, and about the same bytes, for a wave of 3 lines and one of 300."""
    products = Product.objects.bulk_create(
        [Product(sku=f"S{n:03d}", name=f"Item {n}", barcode=f"69{n:011d}") for n in range(100)]
    )
    ReceiptFactory.create(location=dc, lines=dict.fromkeys(products, 10))
    client = client_for(warehouse_user)
    figures = []
    for size in (1, 100):
        for _ in range(3):
            transfer_approve(
                transfer=transfer_create(
                    source=dc, destination=store, lines=[(p, 1) for p in products[:size]]
                )
            )
        pick_list = services.pick_wave_create(location=dc, limits=services.WaveLimits.none())
        with CaptureQueriesContext(connection) as page_queries:
            page = client.get(f"/staff/picking/{pick_list.pk}/")
        with CaptureQueriesContext(connection) as scan_queries:
            answer = scan(client, pick_list, "S000")
        assert "Picked 1 × S000" in text(answer)
        figures.append(
            (len(page_queries), len(scan_queries), len(page.content), len(answer.content))
        )
    (small_pq, small_sq, small_pb, small_sb), (big_pq, big_sq, big_pb, big_sb) = figures
    assert (big_pq, big_sq) == (small_pq, small_sq)
    assert abs(big_pb - small_pb) < 300 and abs(big_sb - small_sb) < 300


# --------------------------------------------------------------------------- pack and ship


def pick_everything(client: Client, pick_list: PickList) -> None:
    for task in pick_list.tasks.select_related("product").order_by("sequence"):
        scan(client, pick_list, task.product.barcode or task.product.sku, task.quantity)


def pack(client: Client, order: Order, code: str, scan_id: str, query: str = "?at=DC1") -> str:
    url = f"/staff/packing/orders/{order.pk}/scan/{query}"
    return text(client.post(url, {"code": code, "scan_id": scan_id}, headers=HTMX))


def test_pack_by_scanning_close_print_and_ship(warehouse_user, wave, dc, goods):
    a, b = goods
    client = client_for(warehouse_user)
    assert "Nothing picked here waits to be packed." in text(client.get("/staff/packing/"))
    pick_everything(client, wave)
    order = Order.objects.get(external_id="w1")
    station = text(client.get("/staff/packing/"))
    assert f'id="order-{order.pk}"' in station and "Wang Fang" in station
    assert "all picked" in station and f"/staff/packing/orders/{order.pk}/" in station
    assert station.count('data-scan=""') == 1  # the station's one scan box

    page = text(client.get(f"/staff/packing/orders/{order.pk}/?at=DC1"))
    assert "4 of 4 units picked here" in page and page.count('data-scan=""') == 1
    body = pack(client, order, A_BARCODE, "d-1")
    assert body.startswith('<section id="panel"') and "notice ok" in body
    assert "A → order" in body and "(1 of 3)" in body
    again = pack(client, order, A_BARCODE, "d-1")  # the same scan sent again
    assert "counted already" in again
    assert PickLine.objects.get(product=a).packed == 1
    pack(client, order, "a", "d-2")
    pack(client, order, "A", "d-3")
    over = pack(client, order, "A", "d-4")
    assert "over_pack" in over and f"Order {order.pk} needs no more A" in over
    pack(client, order, B_BARCODE, "d-5")
    package = Package.objects.get()
    assert package.status == PackageStatus.OPEN

    close = f"/staff/packing/orders/{order.pk}/close/?at=DC1"
    bad = text(
        client.post(close, {"close-carrier": "SF Express", "close-service": "x"}, headers=HTMX)
    )
    assert "notice error" in bad and Package.objects.get().status == PackageStatus.OPEN
    closed = text(
        client.post(
            close,
            {
                "close-carrier": "SF Express",
                "close-service": "express",
                "close-weight_kg": "1.25",
                "close-tracking_number": "SF1234567890",
            },
            headers=HTMX,
        )
    )
    assert "closed (1 of 1), tracking number SF1234567890" in closed
    package.refresh_from_db()
    assert (package.status, package.weight_grams, package.service) == ("packed", 1250, "express")
    for kind in ("label", "slip"):
        pdf = client.get(f"/staff/packing/packages/{package.pk}/{kind}.pdf?at=DC1")
        assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
    assert f"/staff/packing/packages/{package.pk}/label.pdf" in closed

    shipped = client.post(f"/staff/packing/orders/{order.pk}/ship/?at=DC1", headers=HTMX)
    assert shipped.status_code == 200 and "shipped=" in shipped["HX-Redirect"]
    after = text(client.get(shipped["HX-Redirect"]))
    assert f"Order {order.pk}: 1 package(s) shipped. The order is shipped." in after
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    moves = StockMove.objects.filter(reference=order.reference, reason="ship")
    assert sorted((m.product.sku, m.quantity) for m in moves) == [("A", 3), ("B", 1)]
    assert level(dc, a) == (7, 0) and level(dc, b) == (4, 0)
    assert_invariants()


def test_a_partly_picked_order_ships_what_is_picked_only_when_the_packer_says_so(
    warehouse_user, wave
):
    client = client_for(warehouse_user)
    scan(client, wave, "A", 3)  # B not picked yet
    order = Order.objects.get(external_id="w1")
    station = text(client.get("/staff/packing/?at=DC1"))
    assert 'data-ready="0"' in station and "3</strong>/4" in station and "Ship picked" in station
    refused = pack(client, order, "A", "p-1")
    assert "not_fully_picked" in refused and "3 of 4 units" in refused
    assert not Package.objects.exists()
    pack(client, order, "A", "p-2", query="?at=DC1&partial=1")
    pack(client, order, "A", "p-3")  # the package is open: the packer chose already
    assert PickLine.objects.get(product__sku="A").packed == 2
    client.post(
        f"/staff/packing/orders/{order.pk}/close/?at=DC1",
        {"close-carrier": "other", "close-service": "standard"},
    )
    client.post(f"/staff/packing/orders/{order.pk}/ship/?at=DC1")
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    package = Package.objects.get()
    assert package.carrier == "" and package.tracking_number.startswith("DC1")
    # The third A stays picked and waits to be packed; B is still to pick.
    station = text(client.get("/staff/packing/?at=DC1"))
    assert f'id="order-{order.pk}"' in station and 'data-ready="0"' in station
    assert_invariants()


def test_a_scan_at_the_station_sorts_the_item_to_its_order(warehouse_user, wave, dc):
    client = client_for(warehouse_user)
    pick_everything(client, wave)
    order = Order.objects.get(external_id="w1")
    url = "/staff/packing/scan/?at=DC1"
    body = text(client.post(url, {"code": B_BARCODE, "scan_id": "s-1"}, headers=HTMX))
    assert f"B → order {order.pk}" in body and f'data-sorted-order="{order.pk}"' in body
    assert PickLine.objects.get(product__sku="B").packed == 1
    nothing = text(client.post(url, {"code": B_BARCODE, "scan_id": "s-2"}, headers=HTMX))
    assert "nothing_to_sort" in nothing and "No order here waits for B" in nothing
    unknown = text(client.post(url, {"code": "999", "scan_id": "s-3"}, headers=HTMX))
    assert "notice error" in unknown
    opened = client.post(url, {"code": "w1", "scan_id": "s-4"}, headers=HTMX)
    assert opened["HX-Redirect"] == f"/staff/packing/orders/{order.pk}/?at=DC1"
    tote = PickLine.objects.filter(pick_list=wave).values_list("tote", flat=True).first()
    for code in (f"{wave.pk}-{tote}", f"t{wave.pk}-{tote}"):  # the tote: list and number
        opened = client.post(url, {"code": code, "scan_id": code}, headers=HTMX)
        assert opened["HX-Redirect"] == f"/staff/packing/orders/{order.pk}/?at=DC1"
    elsewhere = text(client.post(url, {"code": f"{wave.pk}-99", "scan_id": "s-5"}, headers=HTMX))
    assert "notice error" in elsewhere


def test_a_packed_parcel_is_listed_and_shipped_with_its_button(warehouse_user, wave, dc):
    client = client_for(warehouse_user)
    pick_everything(client, wave)
    order = Order.objects.get(external_id="w1")
    package = services.package_create(order=order, location=dc, carrier="ZTO Express")
    page = text(client.get("/staff/packing/"))
    assert (
        "Packed, not shipped yet" in page and f"/staff/packing/packages/{package.pk}/ship/" in page
    )
    assert "Nothing picked here waits to be packed." in page

    shipped = text(
        client.post(
            f"/staff/packing/packages/{package.pk}/ship/",
            {"tracking_number": "ZTO77"},
            headers=HTMX,
        )
    )
    assert "notice ok" in shipped and "The order is shipped." in shipped
    package.refresh_from_db()
    assert (package.status, package.tracking_number) == (PackageStatus.SHIPPED, "ZTO77")
    again = text(client.post(f"/staff/packing/packages/{package.pk}/ship/", headers=HTMX))
    assert "package_invalid_state" in again


# --------------------------------------------------------------------------- store pickup


def test_pickup_prepare_pick_ready_and_hand_over_by_code(store_user, web, store, product):
    ReceiptFactory.create(location=store, lines={"SKU-1": 5})
    order = PickupOrderFactory.create(
        channel=web, external_id="p1", store=store, customer_name="Li Lei", lines={product: 2}
    )
    client = client_for(store_user)
    queue = text(client.get("/staff/pickups/"))
    assert "To prepare" in queue and f"/staff/pickups/{order.pk}/prepare/" in queue
    assert queue.count('data-scan=""') == 1  # the handover box

    prepared = client.post(f"/staff/pickups/{order.pk}/prepare/?at=S01")
    pick_list = PickList.objects.get()
    assert prepared.status_code == 302
    assert prepared["Location"] == f"/staff/picking/{pick_list.pk}/?at=S01"
    order.refresh_from_db()
    assert order.status == OrderStatus.PROCESSING
    being_picked = text(client.get("/staff/pickups/"))
    assert f"/staff/picking/{pick_list.pk}/" in being_picked
    assert f"/staff/pickups/{order.pk}/ready/" not in being_picked  # not picked yet

    scan(client, pick_list, "6900000000017")
    early = text(client.post(f"/staff/pickups/{order.pk}/ready/", headers=HTMX))
    assert "pickup_not_ready" in early
    last = text(scan(client, pick_list, "6900000000017"))
    assert "/staff/pickups/?at=S01" in last  # the done card sends the clerk back
    ready_button = text(client.get("/staff/pickups/"))
    assert f"/staff/pickups/{order.pk}/ready/" in ready_button

    ready = text(client.post(f"/staff/pickups/{order.pk}/ready/", headers=HTMX))
    assert ready.startswith('<section id="pickup-panel">') and "notice ok" in ready
    assert "is ready for pickup" in ready and "13800000000" in ready and "Li Lei" in ready
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_PICKUP

    code_page = text(client.get(f"/staff/pickups/{order.pk}/code/"))
    token = services.pickup_token(order.pickup_code)
    assert "<svg" in code_page and token in code_page

    handed = text(client.post("/staff/pickups/handover/", {"code": token}, headers=HTMX))
    assert 'data-result="redeemed"' in handed
    assert f"Hand over order {order.pk}: 2 × SKU-1 Product SKU-1" in handed
    order.refresh_from_db()
    assert (order.status, order.payment_status) == (OrderStatus.COMPLETED, "paid")
    assert StockMove.objects.get(reference=order.reference, reason="pickup").quantity == 2
    assert level(store, product) == (3, 0)

    replay = text(client.post("/staff/pickups/handover/", {"code": token}, headers=HTMX))
    assert 'data-result="pickup_code_used"' in replay and "Do not hand over" in replay
    assert level(store, product) == (3, 0)
    assert_invariants()


def test_enter_in_an_empty_handover_box_says_nothing(store_user, store):
    page = text(client_for(store_user).post("/staff/pickups/handover/", {"code": " "}))
    assert "data-result" not in page and not PickupAttempt.objects.exists()


def refused_tokens(code: PickupCode, store2: Location) -> dict[str, tuple[str, Location | None]]:
    """Each way a shown code can be wrong, by the error code it must get."""
    token = services.pickup_token(code)
    prefix, _body, signature = token.split(".")
    payload = services._payload(code)
    forged = pickup_codes.sign(
        pickup_codes.Payload(payload.order, payload.store, payload.expires, "never-issued"),
        Ed25519PrivateKey.generate(),
    )
    longer = pickup_codes.Payload(
        payload.order, payload.store, payload.expires + 86400 * 30, payload.nonce
    )
    return {
        "pickup_code_malformed": ("hello", None),
        "pickup_code_forged": (forged, None),
        "pickup_code_tampered": (
            f"{prefix}.{pickup_codes._b64(longer.encode())}.{signature}",
            None,
        ),
        "pickup_code_wrong_store": (token, store2),
    }


@pytest.mark.parametrize(
    "refusal",
    [
        "pickup_code_malformed",
        "pickup_code_forged",
        "pickup_code_tampered",
        "pickup_code_wrong_store",
    ],
)
def test_each_refused_code_says_what_to_do_and_keeps_the_code_for_support(
    refusal, web, store, store2, product, store_user
):
    ReceiptFactory.create(location=store, lines={"SKU-1": 5})
    code = ready_code(web, store, product)
    shown, where = refused_tokens(code, store2)[refusal]
    user = (
        store_user
        if where is None
        else StoreUserFactory.create(username="clerk2", locations=[store2])
    )
    page = client_for(user).post("/staff/pickups/handover/", {"code": shown}, headers=HTMX)
    body = text(page)
    assert page.status_code == 200
    assert f'data-result="{refusal}"' in body and "<code" not in body
    assert "handover-result refused" in body and "Do not hand over" in body
    headline = body.split('<p class="headline">')[1].split("</p>")[0]
    assert refusal not in headline and headline.strip().endswith(".")
    code.order.refresh_from_db()
    assert code.order.status == OrderStatus.READY_FOR_PICKUP
    assert level(store, product) == (5, 2)
    assert PickupAttempt.objects.get().result == refusal


def test_an_expired_code_is_refused_as_expired(web, store, product, store_user):
    ReceiptFactory.create(location=store, lines={"SKU-1": 5})
    code = ready_code(web, store, product)
    code.expires_at = timezone.now() - timedelta(minutes=1)
    code.payload_hash = services._payload(code).digest()
    code.save(update_fields=["expires_at", "payload_hash"])
    client = client_for(store_user)
    body = text(client.post("/staff/pickups/handover/", {"code": services.pickup_token(code)}))
    assert 'data-result="pickup_code_expired"' in body and "The pickup time is over" in body
    assert "badge" in text(client.get("/staff/pickups/"))  # the shelf shows it expired


def test_a_ready_pickup_shows_customer_and_expiry(web, store, product, store_user):
    ReceiptFactory.create(location=store, lines={"SKU-1": 5})
    code = ready_code(web, store, product)
    page = text(client_for(store_user).get("/staff/pickups/"))
    ready_part = page.split("Ready on the pickup shelf")[1].split("Being picked")[0]
    assert "Li Lei" in ready_part and "13800000000" in ready_part
    assert timezone.localtime(code.expires_at).strftime("%m-%d %H:%M") in ready_part
    assert f"/staff/pickups/{code.order_id}/code/?at=S01" in ready_part


# --------------------------------------------------------------------------- who may do what


def test_another_stores_pick_list_print_page_code_and_handover_are_404(
    web, store, store2, product, store2_user
):
    ReceiptFactory.create(location=store, lines={"SKU-1": 5})
    code = ready_code(web, store, product)
    pick_list = PickList.objects.get()
    task = pick_list.tasks.get()
    token = services.pickup_token(code)
    other = client_for(store2_user)
    assert other.get(f"/staff/picking/{pick_list.pk}/").status_code == 404
    assert other.post(f"/staff/picking/{pick_list.pk}/scan/", {"code": "SKU-1"}).status_code == 404
    assert other.get(f"/staff/picking/{pick_list.pk}/print/").status_code == 404
    assert other.get(f"/staff/picking/{pick_list.pk}/tasks/").status_code == 404
    short = other.post(f"/staff/picking/{pick_list.pk}/tasks/{task.pk}/short/", {"found": 0})
    assert short.status_code == 404
    assert other.get(f"/staff/pickups/{code.order_id}/code/").status_code == 404
    assert other.get("/staff/pickups/", {"at": "S01"}).status_code == 404
    handover = other.post("/staff/pickups/handover/?at=S01", {"code": token})
    assert handover.status_code == 404
    assert other.post(f"/staff/pickups/{code.order_id}/ready/").status_code == 404
    assert other.post(f"/staff/pickups/{code.order_id}/prepare/").status_code == 404
    assert other.get("/staff/picking/", {"at": "S01"}).status_code == 404
    code.order.refresh_from_db()
    assert code.order.status == OrderStatus.READY_FOR_PICKUP
    assert not PickupAttempt.objects.exists()


def test_another_locations_order_cannot_be_shipped(store_user, wave):
    order = Order.objects.get(external_id="w1")
    response = client_for(store_user).post(
        f"/staff/packing/orders/{order.pk}/ship/", {f"o{order.pk}-carrier": "other"}
    )
    assert response.status_code == 404 and not Package.objects.exists()


def test_planner_views_pick_lists_but_every_post_is_403(planner, wave, dc, goods):
    client = client_for(planner)
    page = client.get(f"/staff/picking/{wave.pk}/")
    assert page.status_code == 200 and 'data-scan=""' not in text(page)
    assert "Record short" not in text(page)
    lists = text(client.get("/staff/picking/", {"at": "DC1"}))
    assert "Start this wave" not in lists and "Preview the wave" not in lists
    assert client.get(f"/staff/picking/{wave.pk}/print/").status_code == 200
    assert client.get(f"/staff/picking/{wave.pk}/tasks/").status_code == 200
    task = wave.tasks.first()
    assert task is not None
    order = Order.objects.get(external_id="w1")
    posts = [
        ("/staff/picking/?at=DC1", {"action": "create"}),
        (f"/staff/picking/{wave.pk}/scan/", {"code": "A"}),
        (f"/staff/picking/{wave.pk}/tasks/{task.pk}/short/", {"found": 0}),
        (f"/staff/packing/orders/{order.pk}/ship/?at=DC1", {f"o{order.pk}-carrier": "other"}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 403, path
    assert client.post("/staff/pickups/handover/?at=S01", {"code": "x"}).status_code == 403
    assert client.get("/staff/pickups/", {"at": "S01"}).status_code == 403
    assert picked(wave) == [("A", 0, "open"), ("B", 0, "open")]
    assert level(dc, goods[0]) == (10, 3)


def test_the_code_page_is_for_the_stores_staff_and_admins(web, store, product, admin_user):
    ReceiptFactory.create(location=store, lines={"SKU-1": 5})
    code = ready_code(web, store, product)
    url = f"/staff/pickups/{code.order_id}/code/"
    assert client_for(admin_user).get(url).status_code == 200
    floater = WarehouseUserFactory.create(username="wh-s01", locations=[store])
    assert client_for(floater).get(url).status_code == 403  # counter pages are not theirs
    unready = PickupOrderFactory.create(
        channel=web, external_id="p2", store=store, customer_name="Li Lei", lines={product: 2}
    )
    clerk = StoreUserFactory.create(username="clerk9", locations=[store])
    assert client_for(clerk).get(f"/staff/pickups/{unready.pk}/code/").status_code == 404


def test_warehouse_staff_have_no_pickup_counter(warehouse_user):
    assert client_for(warehouse_user).get("/staff/pickups/").status_code == 403


# --------------------------------------------------------------------------- home, nav, language


def test_home_and_nav_link_the_new_pages_by_role(warehouse_user, store_user, wave):
    warehouse = text(client_for(warehouse_user).get("/staff/"))
    assert "/staff/picking/" in warehouse and "/staff/packing/" in warehouse
    assert "/staff/pickups/" not in warehouse
    assert "1 open pick list" in warehouse
    shop = text(client_for(store_user).get("/staff/"))
    assert shop.index("/staff/pickups/") < shop.index("/staff/picking/")
    assert "0 ready on the shelf" in shop
    nav = text(client_for(warehouse_user).get("/staff/packing/")).split('class="nav"')[1]
    assert 'href="/staff/packing/?at=DC1" aria-current="page"' in nav


def test_the_pick_page_in_chinese(warehouse_user, wave):
    page = text(
        client_for(warehouse_user).get(
            f"/staff/picking/{wave.pk}/", headers={"Accept-Language": "zh-hans"}
        )
    )
    assert f"拣货单 {wave.pk}" in page and "扫描商品" in page and "前往货位" in page


def test_a_pick_line_of_a_transfer_says_where_it_goes(warehouse_user, dc, store, goods):
    a, _ = goods
    ReceiptFactory.create(location=dc, lines={"A": 4})
    transfer = transfer_create(source=dc, destination=store, lines=[(a, 2)])
    transfer_approve(transfer=transfer)
    pick_list = services.pick_wave_create(location=dc)
    page = text(client_for(warehouse_user).get(f"/staff/picking/{pick_list.pk}/"))
    assert f"transfer {transfer.pk}" in page and "2 × A from — → totes 1" in page
    assert PickLine.objects.get().transfer_id == transfer.pk
