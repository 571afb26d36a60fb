"""Twenty simultaneous retries of one stock-changing POST with one ``Idempotency-Key``: one
movement, twenty identical answers (omni/idempotency.py)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from django.test import Client

from inventory import services
from inventory.models import (
    Location,
    Product,
    Receipt,
    Reservation,
    StockLevel,
    StockMove,
)
from omni.models import IdempotencyRecord, User
from tests.helpers import ApiClient

from .threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

RETRIES = 20


def post_together(path: str, body: dict[str, Any], headers: dict[str, str]) -> list[Any]:
    """POST the same request from RETRIES threads at once, each with its own client."""
    data = json.dumps(body)

    def work(_: int) -> Any:
        return Client().post(path, data=data, content_type="application/json", headers=headers)

    return run_together(work, threads=RETRIES)


def assert_one_answer(responses: list[Any], status: int) -> None:
    assert Counter(r.status_code for r in responses) == {status: RETRIES}
    bodies = {r.content for r in responses}
    assert len(bodies) == 1, bodies
    # One request did the work; the others waited for it and replayed its stored answer.
    assert Counter(r["Idempotent-Replayed"] for r in responses) == {
        "false": 1,
        "true": RETRIES - 1,
    }


def test_concurrent_retries_of_a_reservation_hold_stock_once(
    dc: Location, product: Product, warehouse_user: User
) -> None:
    services.stock_receive(location=dc, lines=[(product, 50)])
    headers = {**ApiClient(warehouse_user).headers, "Idempotency-Key": "order-77-hold"}
    body = {
        "location": dc.code,
        "lines": [{"sku": product.sku, "quantity": 5}],
        "owner_type": "order_line",
        "owner_id": "77",
    }

    responses = post_together("/api/v1/reservations", body, headers)

    assert_one_answer(responses, 201)
    reservation = Reservation.objects.get()
    assert json.loads(responses[0].content)[0]["id"] == reservation.pk
    assert StockLevel.objects.get(product=product, location=dc).reserved == 5
    assert IdempotencyRecord.objects.count() == 1


def test_concurrent_retries_of_a_receipt_move_stock_once(
    dc: Location, product: Product, warehouse_user: User
) -> None:
    headers = {**ApiClient(warehouse_user).headers, "Idempotency-Key": "asn-2024-001"}
    body = {
        "location": dc.code,
        "supplier": "Acme",
        "supplier_reference": "ASN-1",
        "lines": [{"sku": product.sku, "quantity": 12}],
    }

    responses = post_together("/api/v1/receipts", body, headers)

    assert_one_answer(responses, 201)
    receipt = Receipt.objects.get()
    assert json.loads(responses[0].content)["id"] == receipt.pk
    assert StockMove.objects.count() == 1
    assert StockLevel.objects.get(product=product, location=dc).on_hand == 12


def test_concurrent_retries_of_a_refused_reservation_all_get_the_same_refusal(
    dc: Location, product: Product, warehouse_user: User
) -> None:
    services.stock_receive(location=dc, lines=[(product, 3)])
    headers = {**ApiClient(warehouse_user).headers, "Idempotency-Key": "too-many"}
    body = {"location": dc.code, "lines": [{"sku": product.sku, "quantity": 4}]}

    responses = post_together("/api/v1/reservations", body, headers)

    assert_one_answer(responses, 409)
    assert json.loads(responses[0].content)["code"] == "insufficient_stock"
    assert not Reservation.objects.exists()
    assert StockLevel.objects.get(product=product, location=dc).reserved == 0
