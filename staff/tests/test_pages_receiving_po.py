"""Receiving a purchase order on the Receive page: listed where it ships to, opened into a
scan box, items not on it refused, and finished with the rest on backorder or closed short."""

from __future__ import annotations

import pytest
from django.utils import translation

from inventory.models import Location, Product, ReceivingDraft
from omni.models import User
from purchasing.models import PurchaseOrder, PurchaseOrderStatus
from tests.factories import ProductFactory
from tests.helpers import client_for, level, text

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def open_po(client, order: PurchaseOrder) -> ReceivingDraft:
    response = client.post(f"/staff/receiving/purchase-orders/{order.pk}/open/")
    assert response.status_code == 302, response
    draft = ReceivingDraft.objects.get(purchase_order_link__purchase_order=order, status="open")
    assert response["Location"].startswith(f"/staff/receiving/{draft.pk}/")
    return draft


def test_the_po_is_listed_where_it_ships_to_only(
    warehouse_user: User, store_user: User, sent_order: PurchaseOrder
) -> None:
    page = text(client_for(warehouse_user).get("/staff/receiving/"))
    assert f"{sent_order.number} from Acme Trading" in page and "34 units to come" in page
    assert sent_order.number not in text(client_for(store_user).get("/staff/receiving/"))
    hidden = client_for(store_user).post(f"/staff/receiving/purchase-orders/{sent_order.pk}/open/")
    assert hidden.status_code == 404


def test_scan_and_finish_a_po_with_a_backorder_and_a_line_closed_short(
    warehouse_user: User,
    sent_order: PurchaseOrder,
    dc: Location,
    product: Product,
    product2: Product,
) -> None:
    client = client_for(warehouse_user)
    draft = open_po(client, sent_order)
    page = text(client.get(f"/staff/receiving/{draft.pk}/"))
    assert f"purchase order {sent_order.number} from Acme Trading" in page
    assert page.count('class="scan"') == 1
    answer = client.post(
        f"/staff/receiving/{draft.pk}/scan/",
        {"code": "SKU-1", "scan_id": "a", "quantity": "18"},
        headers=HTMX,
    )
    assert answer.status_code == 200 and "18 so far" in text(answer)
    client.post(
        f"/staff/receiving/{draft.pk}/scan/",
        {"code": "SKU-2", "scan_id": "b", "quantity": "4"},
        headers=HTMX,
    )
    ProductFactory.create(sku="STRAY")
    stray = client.post(
        f"/staff/receiving/{draft.pk}/scan/", {"code": "STRAY", "scan_id": "c"}, headers=HTMX
    )
    assert stray.status_code == 422
    assert "is not on purchase order" in text(stray)

    review = client.get(f"/staff/receiving/{draft.pk}/finish/")
    assert review.status_code == 200
    assert "Still to come" in text(review) and "close the line short" in text(review)
    refused = client.post(
        f"/staff/receiving/{draft.pk}/finish/",
        {f"rest_{product.pk}": "backorder", f"rest_{product2.pk}": "close"},
    )
    assert refused.status_code == 422 and "Say in a few words" in text(refused)
    assert level(dc, product) == (0, 0)
    done = client.post(
        f"/staff/receiving/{draft.pk}/finish/",
        {
            f"rest_{product.pk}": "backorder",
            f"rest_{product2.pk}": "close",
            f"note_{product2.pk}": "discontinued",
        },
    )
    assert done.status_code == 302
    assert level(dc, product) == (18, 0) and level(dc, product2) == (4, 0)
    sent_order.refresh_from_db()
    assert sent_order.status == PurchaseOrderStatus.PARTIALLY_RECEIVED
    line2 = sent_order.lines.get(product=product2)
    assert line2.quantity_cancelled == 6 and line2.open_quantity == 0
    listed = text(client.get("/staff/receiving/"))
    assert "22 units booked" in listed and "6 units are still to come" in listed
    assert "6 units to come" in listed  # the backorder is expected still


def test_over_the_tolerance_is_refused_on_the_page(
    warehouse_user: User, sent_order: PurchaseOrder, dc: Location, product: Product
) -> None:
    client = client_for(warehouse_user)
    draft = open_po(client, sent_order)
    client.post(
        f"/staff/receiving/{draft.pk}/scan/",
        {"code": "SKU-1", "scan_id": "a", "quantity": "30"},
        headers=HTMX,
    )
    with translation.override("en"):
        answer = client.post(
            f"/staff/receiving/{draft.pk}/finish/",
            {f"note_{product.pk}": "extra case"}
            | {
                f"rest_{p.pk}": "backorder"
                for p in [sent_order.lines.get(product__sku="SKU-2").product]
            },
        )
    assert answer.status_code == 422
    assert "You counted 30 of SKU-1" in text(answer)
    assert "at most 24 more can be received" in text(answer)
    assert level(dc, product) == (0, 0)
