"""The planner's purchasing pages: proposals (start, review, edit a line inline, approve into
purchase orders once, reject), purchase orders (list, detail, send, cancel) and suppliers;
planners and admins only; a refusal is a sentence on the page, never a 500."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import Location, Product
from omni.models import User
from purchasing.models import PurchaseOrder, PurchaseOrderStatus
from purchasing.proposal_models import ProposalDecision, ProposalLine, ReplenishmentRun
from purchasing.services import (
    OrderLine,
    exchange_rate_set,
    purchase_order_create,
    supplier_item_save,
    supplier_save,
)
from purchasing.tests.proposal_fixtures import ProposalCity
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
PAGES = "/staff/purchasing/"


def test_a_planner_proposes_edits_approves_and_sends(
    proposal_city: ProposalCity, planner: User, django_capture_on_commit_callbacks
) -> None:
    client = client_for(planner)
    page = client.get(f"{PAGES}proposals/")
    assert page.status_code == 200 and "Propose now" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(
            f"{PAGES}proposals/",
            {"city": proposal_city.city.code, "service_level": 0.95, "review_days": 7},
        )
    run = ReplenishmentRun.objects.get()
    assert started.status_code == 302 and started["Location"] == f"{PAGES}proposals/{run.pk}/"
    text = client.get(f"{PAGES}proposals/{run.pk}/").content.decode()
    assert 'id="lines"' in text and "on hand +" in text and "Approve" in text
    line = ProposalLine.objects.filter(run=run, quantity__gt=0).order_by("id").first()
    assert line is not None and f'id="line-{line.pk}"' in text

    url = f"{PAGES}proposals/{run.pk}/lines/{line.pk}/"
    bad = client.post(url, {"quantity": "13"}, headers={"HX-Request": "true"})
    body = bad.content.decode()
    assert bad.status_code == 422 and body.lstrip().startswith("<tr")
    assert 'data-code="proposal_quantity_not_orderable"' in body and "18" in body
    ok = client.post(url, {"quantity": "30"}, headers={"HX-Request": "true"})
    assert ok.status_code == 200 and 'value="30"' in ok.content.decode()
    line.refresh_from_db()
    assert line.edited_quantity == 30

    assert client.post(f"{PAGES}proposals/{run.pk}/approve/").status_code == 302
    again = client.post(f"{PAGES}proposals/{run.pk}/approve/")
    assert again.status_code == 409 and "approved already" in again.content.decode()
    orders = PurchaseOrder.objects.filter(reference=run.reference)
    assert orders.count() == 2
    run.refresh_from_db()
    assert run.decision == ProposalDecision.APPROVED

    listing = client.get(f"{PAGES}orders/").content.decode()
    assert all(o.number in listing for o in orders)
    order = orders.first()
    assert order is not None
    detail = client.get(f"{PAGES}orders/{order.pk}/").content.decode()
    assert 'id="po-lines"' in detail and "Send to the supplier" in detail
    assert client.post(f"{PAGES}orders/{order.pk}/send/").status_code == 302
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.SENT and order.expected_arrival is not None
    assert client.post(f"{PAGES}orders/{order.pk}/cancel/", {"reason": "test"}).status_code == 302
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.CANCELLED
    refused = client.post(f"{PAGES}orders/{order.pk}/send/")
    assert refused.status_code == 409 and "data-code" in refused.content.decode()

    suppliers = client.get(f"{PAGES}suppliers/").content.decode()
    assert "SUP-N" in suppliers and "SUP-S" in suppliers
    one = client.get(f"{PAGES}suppliers/SUP-N/").content.decode()
    assert 'id="supplier-items"' in one and proposal_city.products[0].sku in one
    assert client.get(f"{PAGES}suppliers/NOPE/").status_code == 404


def test_other_roles_are_refused(proposal_city: ProposalCity, store_user: User) -> None:
    client = client_for(store_user)
    for url in ("proposals/", "orders/", "suppliers/"):
        assert client.get(f"{PAGES}{url}").status_code == 403


def test_the_pages_speak_chinese(proposal_city: ProposalCity, planner: User) -> None:
    client = client_for(planner)
    client.cookies["django_language"] = "zh-hans"
    text = client.get(f"{PAGES}proposals/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "补货建议" in text


def test_a_po_in_a_foreign_currency_shows_its_rate_and_needs_one_to_be_sent(
    planner: User, dc: Location, product: Product
) -> None:
    supplier = supplier_save(code="IMP", name="Import Co", currency="USD")
    supplier_item_save(supplier=supplier, product=product, cost=Decimal("6"), lead_time_days=14)
    order = purchase_order_create(
        supplier=supplier, ship_to=dc, lines=[OrderLine(product=product, quantity=10)]
    )
    client = client_for(planner)
    draft = client.get(f"{PAGES}orders/{order.pk}/").content.decode()
    assert "60.00 USD" in draft and 'id="po-rate"' in draft and "fixed when sent" in draft
    refused = client.post(f"{PAGES}orders/{order.pk}/send/")
    text = refused.content.decode()
    assert refused.status_code == 409 and 'data-code="exchange_rate_missing"' in text
    assert "There is no exchange rate for USD" in text
    order.refresh_from_db()
    assert order.status == PurchaseOrderStatus.DRAFT

    exchange_rate_set(currency="USD", rate="7.1", valid_from=timezone.localdate())
    assert client.post(f"{PAGES}orders/{order.pk}/send/").status_code == 302
    sent = client.get(f"{PAGES}orders/{order.pk}/").content.decode()
    assert "1 USD = 7.1000 CNY" in sent and "426.00 CNY" in sent
