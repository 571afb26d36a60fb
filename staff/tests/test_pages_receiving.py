"""The receiving and count pages through Django's test client: what is expected here, one
delivery opened with its own scan box, scans counted once, a reason for every difference,
drafts that outlive the session, and count tasks on the count page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from inventory.models import (
    DiscrepancyStatus,
    ReceivingDraft,
    StockDiscrepancy,
    StockMove,
    Transfer,
    TransferStatus,
)
from inventory.services import (
    ReceivedLine,
    stock_receive,
    transfer_approve,
    transfer_create,
    transfer_dispatch,
    transfer_receive,
)
from tests.factories import ProductFactory, StoreUserFactory, WarehouseUserFactory
from tests.helpers import client_for, level, text

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def arriving(dc, store, product, product2) -> Transfer:
    stock_receive(location=dc, lines=[(product, 10), (product2, 10)])
    transfer = transfer_create(source=dc, destination=store, lines=[(product, 6), (product2, 2)])
    return transfer_dispatch(transfer=transfer_approve(transfer=transfer))


def open_transfer(client: Client, transfer: Transfer, **data: str) -> ReceivingDraft:
    response = client.post(f"/staff/receiving/transfers/{transfer.pk}/open/", data)
    assert response.status_code == 302
    draft = ReceivingDraft.objects.get(transfer=transfer, status="open")
    assert response["Location"].startswith(f"/staff/receiving/{draft.pk}/")
    return draft


def scan(client: Client, draft: ReceivingDraft, code: str, scan_id: str, quantity: str = ""):
    return client.post(
        f"/staff/receiving/{draft.pk}/scan/",
        {"code": code, "scan_id": scan_id, "quantity": quantity},
        headers=HTMX,
    )


def counted(draft: ReceivingDraft, sku: str) -> int:
    assert draft.created_by is not None
    page = text(client_for(draft.created_by).get(f"/staff/receiving/{draft.pk}/"))
    found = re.search(rf'data-sku="{sku}" data-counted="(\d+)"', page)
    assert found, page
    return int(found.group(1))


def test_the_list_shows_what_is_expected_and_takes_no_scans(store_user, arriving):
    page = text(client_for(store_user).get("/staff/receiving/"))
    assert f"Transfer {arriving.pk} from DC1" in page and "8 units" in page
    assert "Start receiving" in page and 'class="scan"' not in page


def test_the_opened_transfer_owns_the_scan_box_and_counts_start_at_zero(store_user, arriving):
    client = client_for(store_user)
    draft = open_transfer(client, arriving)
    page = text(client.get(f"/staff/receiving/{draft.pk}/"))
    assert page.count('class="scan"') == 1 and f"/staff/receiving/{draft.pk}/scan/" in page
    assert 'data-sku="SKU-1" data-counted="0"' in page and "<strong>0</strong> of 8" in page


def test_each_scan_id_counts_once_and_the_answer_is_the_lines_only(store_user, arriving):
    client = client_for(store_user)
    draft = open_transfer(client, arriving)
    first = scan(client, draft, "6900000000017", "a")
    assert first.status_code == 200 and 'class="scan"' not in text(first)
    assert "Counted 1 × SKU-1" in text(first)
    repeated = scan(client, draft, "6900000000017", "a")
    assert "already counted" in text(repeated)
    scan(client, draft, "SKU-1", "b", quantity="3")
    assert counted(draft, "SKU-1") == 4
    assert not StockMove.objects.filter(to_location=draft.location).exists()


def test_a_bad_scan_says_what_to_do_and_counts_nothing(store_user, arriving):
    client = client_for(store_user)
    draft = open_transfer(client, arriving)
    ProductFactory.create(sku="STRAY-1", name="Stray mug")
    unknown = scan(client, draft, "NOPE-404", "a")
    assert unknown.status_code == 422 and "No item has the code “NOPE-404”" in text(unknown)
    stranger = scan(client, draft, "STRAY-1", "b")
    assert stranger.status_code == 422
    assert (
        f"STRAY-1 Stray mug is not on transfer {arriving.pk} from DC1. Put it aside and call a"
        " supervisor, or scan the next item." in text(stranger)
    )
    bad_quantity = scan(client, draft, "SKU-1", "c", quantity="-2")
    assert "whole number" in text(bad_quantity)
    assert counted(draft, "SKU-1") == 0 and counted(draft, "SKU-2") == 0


def test_a_blind_count_hides_the_expected_quantities_until_finishing(store_user, arriving):
    client = client_for(store_user)
    draft = open_transfer(client, arriving, blind="1")
    scan(client, draft, "SKU-1", "a")
    page = text(client.get(f"/staff/receiving/{draft.pk}/"))
    assert ">Expected<" not in page and "of 8" not in page
    review = text(client.get(f"/staff/receiving/{draft.pk}/finish/"))
    assert ">Expected<" in review


def test_finishing_asks_a_reason_per_differing_line_then_books_once(
    dc, store, store_user, product, product2, arriving
):
    client = client_for(store_user)
    draft = open_transfer(client, arriving)
    for n in range(5):
        scan(client, draft, "SKU-1", f"p{n}")
    scan(client, draft, "SKU-2", "q", quantity="2")
    url = f"/staff/receiving/{draft.pk}/finish/"
    review = client.post(url, {})
    assert review.status_code == 422 and "field-error" in text(review)
    assert f'name="cause_{product.pk}"' in text(review)
    assert f'name="cause_{product2.pk}"' not in text(review)  # counted as expected
    assert level(store, product) == (0, 0)

    other_without_words = client.post(url, {f"cause_{product.pk}": "other"})
    assert "Say in a few words" in text(other_without_words)

    done = client.post(url, {f"cause_{product.pk}": "short_in_transit", f"note_{product.pk}": ""})
    assert done.status_code == 302
    arriving.refresh_from_db()
    assert arriving.status == TransferStatus.RECEIVED
    assert level(store, product) == (5, 0) and level(store, product2) == (2, 0)
    listing = text(client.get("/staff/receiving/"))
    assert "7 units booked, 1 line with a difference recorded" in listing
    again = client.post(url, {f"cause_{product.pk}": "short_in_transit"})
    assert again.status_code == 302 and level(store, product) == (5, 0)  # booked once


def test_a_draft_outlives_the_session_and_another_clerk_continues_it(store, store_user, arriving):
    first = client_for(store_user)
    draft = open_transfer(first, arriving)
    scan(first, draft, "SKU-1", "a", quantity="2")
    first.post("/staff/logout/")
    colleague = StoreUserFactory.create(username="clerk9", locations=[store])
    second = client_for(colleague)
    listing = text(second.get("/staff/receiving/"))
    assert "Being counted: 2 units so far" in listing and "Continue receiving" in listing
    assert open_transfer(second, arriving).pk == draft.pk
    scan(second, draft, "SKU-1", "b")
    assert counted(draft, "SKU-1") == 3


def test_another_location_cannot_see_or_scan_the_draft(store2_user, store_user, arriving):
    draft = open_transfer(client_for(store_user), arriving)
    other = client_for(store2_user)
    assert other.get(f"/staff/receiving/{draft.pk}/").status_code == 404
    assert scan(other, draft, "SKU-1", "x").status_code == 404
    assert other.post(f"/staff/receiving/transfers/{arriving.pk}/open/").status_code == 404


def test_a_supplier_delivery_is_opened_scanned_and_booked(store, store_user, product):
    client = client_for(store_user)
    refused = client.post("/staff/receiving/", {"supplier": ""})
    assert refused.status_code == 422 and "field-error" in text(refused)
    opened = client.post("/staff/receiving/", {"supplier": "ACME Tea", "reference": "DN-1"})
    draft = ReceivingDraft.objects.get(supplier="ACME Tea")
    assert opened["Location"].startswith(f"/staff/receiving/{draft.pk}/")
    scan(client, draft, "6900000000017", "a", quantity="12")
    reset = client.post(
        f"/staff/receiving/{draft.pk}/lines/{product.pk}/reset/", {"scan_id": "r"}, headers=HTMX
    )
    assert "back at 0" in text(reset)
    scan(client, draft, "6900000000017", "b", quantity="10")
    assert client.post(f"/staff/receiving/{draft.pk}/finish/").status_code == 302
    assert level(store, product) == (10, 0)
    assert StockMove.objects.get(reason="receipt").note == "DN-1"


def test_discarding_a_count_books_nothing(store_user, arriving):
    client = client_for(store_user)
    draft = open_transfer(client, arriving)
    scan(client, draft, "SKU-1", "a")
    client.post(f"/staff/receiving/{draft.pk}/discard/")
    assert "thrown away" in text(client.get("/staff/receiving/"))
    assert open_transfer(client, arriving).pk != draft.pk  # a fresh count


# --------------------------------------------------------------------------- count tasks


def test_a_transfer_shortfall_is_a_count_task_at_the_source_until_counted(
    dc, store, product, arriving
):
    transfer_receive(
        transfer=arriving, lines=[ReceivedLine(product=product, received=4, cause="wrong_item")]
    )
    counter = client_for(WarehouseUserFactory.create(username="dc-clerk", locations=[dc]))
    page = text(counter.get("/staff/count/"))
    assert (
        f"Transfer {arriving.pk} to S01 arrived short: 4 of 6. Check whether the rest is still on"
        " the shelf here." in page
    )
    assert "Count it" in page and "To count here" in page

    prompt = text(counter.get("/staff/count/", {"code": "SKU-1"}))
    assert "Counting" in prompt and 'value="SKU-1"' in prompt
    posted = text(counter.post("/staff/count/", {"code": "SKU-1", "counted": 4}, headers=HTMX))
    assert "This closed 1 count task for it." in posted
    assert StockDiscrepancy.objects.get().status == DiscrepancyStatus.RESOLVED
    assert "Nothing is waiting to be counted here." in text(counter.get("/staff/count/"))


def test_a_scan_between_review_and_booking_asks_for_the_new_difference(
    store, store_user, product, product2, arriving
):
    client = client_for(store_user)
    draft = open_transfer(client, arriving)
    scan(client, draft, "SKU-1", "a", quantity="5")
    scan(client, draft, "SKU-2", "b", quantity="2")
    url = f"/staff/receiving/{draft.pk}/finish/"
    assert f'name="cause_{product2.pk}"' not in text(client.get(url))
    scan(client_for(store_user), draft, "SKU-2", "c")  # a colleague's late scan: 3 of 2
    page = client.post(url, {f"cause_{product.pk}": "short_in_transit"})
    assert page.status_code == 422 and f'name="cause_{product2.pk}"' in text(page)
    arriving.refresh_from_db()
    assert arriving.status == TransferStatus.DISPATCHED and level(store, product2) == (0, 0)
